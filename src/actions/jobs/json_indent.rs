//! JSON re-indented token by token, as serde_json's pretty printer lays it
//! out (two spaces, `"key": value`, `{}` / `[]` when empty), without
//! building a tree.
//!
//! Decoding a 10 MB payload into a `serde_json::Value` to print it costs
//! hundreds of megabytes for a moment; re-indenting the bytes costs the
//! result and nothing else. Tokens are kept as stored: the payload's key
//! order, its numbers and its string escapes are what the producer wrote.

use serde::de::IgnoredAny;

/// Indentation may make a document at most this many times larger (plus
/// [`GROWTH_ALLOWANCE`]); deeper nesting is shown as stored. Real payloads
/// grow two to four times; a 10 MB `[[[[…]]]]` would grow to terabytes.
const MAX_GROWTH: usize = 8;
const GROWTH_ALLOWANCE: usize = 1 << 20;

/// `bytes` pretty-printed when they are one valid JSON document (as stored
/// when indenting would blow it up), else `None`.
pub fn indent_json(bytes: &[u8]) -> Option<String> {
    // serde_json checks the syntax without keeping anything; strings it
    // skips are not checked for UTF-8, so that is checked first.
    let stored = std::str::from_utf8(bytes).ok()?;
    serde_json::from_slice::<IgnoredAny>(bytes).ok()?;
    // Measured first so the text is allocated once, at its final size.
    let mut size = Measure(0);
    relayout(bytes, &mut size);
    if size.0
        > bytes
            .len()
            .saturating_mul(MAX_GROWTH)
            .saturating_add(GROWTH_ALLOWANCE)
    {
        return Some(stored.to_string());
    }
    let mut text = Vec::with_capacity(size.0);
    relayout(bytes, &mut text);
    debug_assert_eq!(text.len(), size.0);
    // Valid UTF-8: whole tokens of valid UTF-8 input, plus ASCII layout.
    String::from_utf8(text).ok()
}

/// Where the re-indented text goes: counted, then written.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn newline(&mut self, depth: usize);
}

struct Measure(usize);

impl Sink for Measure {
    fn put(&mut self, bytes: &[u8]) {
        self.0 = self.0.saturating_add(bytes.len());
    }
    fn newline(&mut self, depth: usize) {
        self.0 = self.0.saturating_add(1 + INDENT.len() * depth);
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn newline(&mut self, depth: usize) {
        self.push(b'\n');
        for _ in 0..depth {
            self.extend_from_slice(INDENT);
        }
    }
}

const INDENT: &[u8] = b"  ";

/// Lays out `json`, which must be valid JSON (the caller checked).
fn relayout(json: &[u8], out: &mut impl Sink) {
    let mut depth = 0usize;
    // After `{` or `[`: the first member goes on a new line, unless the
    // container is empty.
    let mut opened = false;
    let mut i = 0;
    while i < json.len() {
        let c = json[i];
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
            continue;
        }
        if matches!(c, b'}' | b']') {
            depth -= 1;
            if !opened {
                out.newline(depth);
            }
            opened = false;
            out.put(&[c]);
            i += 1;
            continue;
        }
        if opened {
            out.newline(depth);
            opened = false;
        }
        match c {
            b'{' | b'[' => {
                out.put(&[c]);
                depth += 1;
                opened = true;
                i += 1;
            }
            b',' => {
                out.put(b",");
                out.newline(depth);
                i += 1;
            }
            b':' => {
                out.put(b": ");
                i += 1;
            }
            b'"' => {
                let end = string_end(json, i);
                out.put(&json[i..end]);
                i = end;
            }
            // A number, true, false or null: up to the next delimiter.
            _ => {
                let end = json[i..]
                    .iter()
                    .position(|b| {
                        matches!(b, b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\n' | b'\r')
                    })
                    .map_or(json.len(), |n| i + n);
                out.put(&json[i..end]);
                i = end;
            }
        }
    }
}

/// The index just past the string that starts with the quote at `start`.
fn string_end(json: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < json.len() {
        match json[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    json.len()
}

#[cfg(test)]
mod tests {
    use super::indent_json;

    /// The layout of serde_json's pretty printer (keys here already sorted
    /// and tokens already normal, so a `Value` prints them the same).
    #[test]
    fn lays_out_as_serde_json_pretty() {
        for json in [
            r#"{"a":1}"#,
            r#"{"account": 17, "full": true}"#,
            r#" [1, [], {}, [[]], {"b": {"c": [null, false, "x"]}}, -2.5, "é\n"] "#,
            r#""just a string""#,
            "42",
            "[]",
            "{ }",
            r#"{"a":[{"b":[]},{"c":{}}],"d":"q\"uo,te}]"}"#,
        ] {
            let value: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(
                indent_json(json.as_bytes()).as_deref(),
                Some(serde_json::to_string_pretty(&value).unwrap().as_str()),
                "{json}"
            );
        }
    }

    #[test]
    fn keeps_tokens_and_key_order_as_stored() {
        assert_eq!(
            indent_json(br#"{"z":1.50,"a":"\u00e9\/","m":1e2}"#).unwrap(),
            "{\n  \"z\": 1.50,\n  \"a\": \"\\u00e9\\/\",\n  \"m\": 1e2\n}"
        );
    }

    #[test]
    fn anything_but_one_json_document_is_refused() {
        for bad in [
            &b"{"[..],
            b"{\"a\":1} x",
            b"hello",
            b"",
            b"[1,]",
            b"\"\xff\"",
        ] {
            assert_eq!(indent_json(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn nesting_that_would_blow_up_is_shown_as_stored() {
        let deep = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
        assert_eq!(indent_json(deep.as_bytes()), Some(deep));
        let nested = format!("{}{}", "[".repeat(20), "]".repeat(20));
        assert!(indent_json(nested.as_bytes()).unwrap().contains("\n    ["));
    }
}
