//! A payload as a person reads it: JSON pretty-printed, UTF-8 text as is,
//! anything else as a hex dump. PGQueuer stores payloads as bytes, so any of
//! the three can be in the queue (Python's `queue(…, payload=b"…")`).

use serde::Serialize;

use crate::actions::jobs::json_indent::indent_json;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "text", rename_all = "lowercase")]
pub enum PayloadView {
    /// NULL payload.
    None,
    /// Valid JSON (an object, array or scalar), re-indented.
    Json(String),
    /// Valid UTF-8 that is not JSON.
    Text(String),
    /// Anything else, as `hexdump -C` would show it.
    Binary(String),
}

impl PayloadView {
    pub fn of(payload: Option<&[u8]>) -> PayloadView {
        let Some(bytes) = payload else {
            return PayloadView::None;
        };
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes)
            && let Ok(pretty) = serde_json::to_string_pretty(&json)
        {
            return PayloadView::Json(pretty);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => PayloadView::Text(text.to_string()),
            Err(_) => PayloadView::Binary(hex_dump(bytes)),
        }
    }

    /// For a screen that keeps the view of a payload that may be large:
    /// JSON re-indented without decoding it (key order, numbers and escapes
    /// as stored, see [`indent_json`]), text without copying it. `of`, which
    /// `pgq job` prints, normalizes JSON through a `serde_json::Value`.
    pub fn as_stored(payload: Option<Vec<u8>>) -> PayloadView {
        let Some(bytes) = payload else {
            return PayloadView::None;
        };
        if let Some(pretty) = indent_json(&bytes) {
            return PayloadView::Json(pretty);
        }
        match String::from_utf8(bytes) {
            Ok(text) => PayloadView::Text(text),
            Err(e) => PayloadView::Binary(hex_dump(e.as_bytes())),
        }
    }

    /// Bytes it holds on the heap.
    pub fn capacity(&self) -> usize {
        match self {
            PayloadView::None => 0,
            PayloadView::Json(t) | PayloadView::Text(t) | PayloadView::Binary(t) => t.capacity(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            PayloadView::None => "none",
            PayloadView::Json(_) => "json",
            PayloadView::Text(_) => "text",
            PayloadView::Binary(_) => "binary",
        }
    }

    pub fn text(&self) -> &str {
        match self {
            PayloadView::None => "",
            PayloadView::Json(t) | PayloadView::Text(t) | PayloadView::Binary(t) => t,
        }
    }
}

/// Offset, 16 bytes in hex, and their printable ASCII.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (n, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:08x}  {:<47}  |{ascii}|\n",
            n * 16,
            hex.join(" ")
        ));
    }
    out.pop();
    out
}

/// One line for a list column: JSON compact, text with control characters
/// shown as spaces, binary as `<N bytes>`.
pub fn preview(head: &[u8], total: i64) -> String {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text.to_string(),
        // A cut in the middle of a character is still text.
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&head[..e.valid_up_to()]).into_owned()
        }
        Err(_) => return format!("<{total} bytes>"),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_and_binary() {
        assert_eq!(
            PayloadView::of(Some(br#"{"a":1}"#)),
            PayloadView::Json("{\n  \"a\": 1\n}".into())
        );
        assert_eq!(
            PayloadView::of(Some("héllo".as_bytes())),
            PayloadView::Text("héllo".into())
        );
        assert_eq!(
            PayloadView::of(Some(&[0xff, 0x00, b'A'])),
            PayloadView::Binary(format!("00000000  {:<47}  |..A|", "ff 00 41"))
        );
        assert_eq!(PayloadView::of(None), PayloadView::None);
    }

    #[test]
    fn as_stored_tells_the_same_kinds_apart() {
        for payload in [
            Some(br#"{"a":1}"#.to_vec()),
            Some("héllo".as_bytes().to_vec()),
            Some(vec![0xff, 0x00, b'A']),
            None,
        ] {
            assert_eq!(
                PayloadView::as_stored(payload.clone()),
                PayloadView::of(payload.as_deref())
            );
        }
        // Only the layout changes: the key order is the producer's.
        assert_eq!(
            PayloadView::as_stored(Some(br#"{"b":1,"a":2}"#.to_vec())).text(),
            "{\n  \"b\": 1,\n  \"a\": 2\n}"
        );
    }

    #[test]
    fn preview_survives_a_cut_character_and_binary() {
        let bytes = "aé".as_bytes();
        assert_eq!(preview(&bytes[..2], 3), "a");
        assert_eq!(preview(&[0xff, 0xfe], 2), "<2 bytes>");
        assert_eq!(preview(b"a\nb", 3), "a b");
    }
}
