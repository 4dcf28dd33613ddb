//! The NOTIFY events PGQueuer 1.6.0 sends on its channel.
//!
//! Every payload is a JSON object with `channel`, `sent_at` (timezone-aware
//! ISO-8601) and a `type` discriminator; extra keys (such as `received_at`)
//! are ignored, as Python's receivers ignore them. The trigger writes
//! `sent_at` with a `+HH:MM` offset in the session time zone, Python with `Z`.
//! Anything else — unknown `type`, the pre-1.0 `requests_per_second_event`,
//! non-JSON text — is kept as [`Event::Unknown`] with the raw payload, so a
//! listener can show it instead of dropping it silently as Python does.

use chrono::{DateTime, FixedOffset, Local, SecondsFormat, Utc};
use serde::Deserialize;
use uuid::Uuid;

/// What a `table_changed_event` reports (`lower(TG_OP)` in the trigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "insert",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Truncate => "truncate",
        }
    }
}

/// The `pgq_probe` value a listener's one-off echo probe carries.
pub const LISTENER_PROBE: &str = "listener";

/// One parsed payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    TableChanged {
        channel: String,
        sent_at: DateTime<FixedOffset>,
        operation: Operation,
        table: String,
    },
    Cancellation {
        channel: String,
        sent_at: DateTime<FixedOffset>,
        ids: Vec<i64>,
    },
    HealthCheck {
        channel: String,
        sent_at: DateTime<FixedOffset>,
        id: Uuid,
        /// Sent by a one-off check of a LISTEN (the console, `pgq listen`),
        /// not by a worker: such a probe carries `"pgq_probe": "listener"`,
        /// a key Python's receivers ignore.
        from_listener: bool,
    },
    /// Not a 1.6.0 event: the payload text as received.
    Unknown(String),
}

/// The wire shape; serde's internally tagged enums ignore unknown keys.
#[derive(Deserialize)]
#[serde(tag = "type")]
enum Wire {
    #[serde(rename = "table_changed_event")]
    TableChanged {
        channel: String,
        #[serde(deserialize_with = "de_timestamp")]
        sent_at: DateTime<FixedOffset>,
        operation: Operation,
        table: String,
    },
    #[serde(rename = "cancellation_event")]
    Cancellation {
        channel: String,
        #[serde(deserialize_with = "de_timestamp")]
        sent_at: DateTime<FixedOffset>,
        ids: Vec<i64>,
    },
    #[serde(rename = "health_check_event")]
    HealthCheck {
        channel: String,
        #[serde(deserialize_with = "de_timestamp")]
        sent_at: DateTime<FixedOffset>,
        id: Uuid,
        #[serde(default)]
        pgq_probe: Option<String>,
    },
}

impl Event {
    /// Parse a NOTIFY payload; never fails (unparseable → [`Event::Unknown`]).
    pub fn parse(payload: &str) -> Event {
        match serde_json::from_str::<Wire>(payload) {
            Ok(Wire::TableChanged {
                channel,
                sent_at,
                operation,
                table,
            }) => Event::TableChanged {
                channel,
                sent_at,
                operation,
                table,
            },
            Ok(Wire::Cancellation {
                channel,
                sent_at,
                ids,
            }) => Event::Cancellation {
                channel,
                sent_at,
                ids,
            },
            Ok(Wire::HealthCheck {
                channel,
                sent_at,
                id,
                pgq_probe,
            }) => Event::HealthCheck {
                channel,
                sent_at,
                id,
                from_listener: pgq_probe.as_deref() == Some(LISTENER_PROBE),
            },
            Err(_) => Event::Unknown(payload.to_string()),
        }
    }

    /// The `type` discriminator (`unknown` for anything unparsed).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TableChanged { .. } => "table_changed_event",
            Event::Cancellation { .. } => "cancellation_event",
            Event::HealthCheck { .. } => "health_check_event",
            Event::Unknown(_) => "unknown",
        }
    }

    pub fn sent_at(&self) -> Option<DateTime<FixedOffset>> {
        match self {
            Event::TableChanged { sent_at, .. }
            | Event::Cancellation { sent_at, .. }
            | Event::HealthCheck { sent_at, .. } => Some(*sent_at),
            Event::Unknown(_) => None,
        }
    }

    /// Type-specific fields as `key=value` pairs.
    pub fn fields(&self) -> String {
        match self {
            Event::TableChanged {
                channel,
                operation,
                table,
                ..
            } => format!(
                "channel={channel} operation={} table={table}",
                operation.as_str()
            ),
            Event::Cancellation { channel, ids, .. } => {
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                format!("channel={channel} ids=[{}]", ids.join(","))
            }
            Event::HealthCheck { channel, id, .. } => format!("channel={channel} id={id}"),
            Event::Unknown(raw) => one_line(raw),
        }
    }
}

/// A payload as received: the event, the exact text, and when it arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub event: Event,
    pub raw: String,
    pub received_at: DateTime<Utc>,
    /// The backend process that sent the NOTIFY (PostgreSQL delivers it
    /// with every notification): a worker probes from one connection, so
    /// this tells workers apart where the probe's fresh UUID cannot.
    pub sender_pid: Option<i32>,
}

impl Received {
    pub fn new(payload: &str, received_at: DateTime<Utc>) -> Received {
        Received {
            event: Event::parse(payload),
            raw: payload.to_string(),
            received_at,
            sender_pid: None,
        }
    }

    /// The same, sent by backend `pid`.
    pub fn from_backend(mut self, pid: i32) -> Received {
        self.sender_pid = Some(pid);
        self
    }

    /// Milliseconds between `sent_at` and receipt (negative with clock skew
    /// between the database and this host).
    pub fn delay_ms(&self) -> Option<i64> {
        self.event
            .sent_at()
            .map(|sent| (self.received_at - sent.with_timezone(&Utc)).num_milliseconds())
    }

    /// One readable line (no newline): local receive time, type, fields,
    /// and the delivery delay.
    pub fn human(&self) -> String {
        let at = self
            .received_at
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S%.3f%:z");
        let mut line = format!("{at} {} {}", self.event.kind(), self.event.fields());
        if let Some(ms) = self.delay_ms() {
            line.push_str(&format!(" delay={ms}ms"));
        }
        line
    }

    /// One JSON line: the payload as received when it is a one-line JSON
    /// object; re-serialised compactly when it spans lines; otherwise an
    /// object wrapping the raw text, so every line stays a JSON object.
    pub fn json_line(&self, channel: &str) -> String {
        match serde_json::from_str::<serde_json::Value>(&self.raw) {
            Ok(value @ serde_json::Value::Object(_)) => {
                if self.raw.contains(['\n', '\r']) {
                    value.to_string()
                } else {
                    self.raw.trim().to_string()
                }
            }
            _ => serde_json::json!({
                "type": "unknown",
                "channel": channel,
                "received_at": self.received_at.to_rfc3339_opts(SecondsFormat::Micros, true),
                "payload": self.raw,
            })
            .to_string(),
        }
    }
}

/// PostgreSQL refuses a NOTIFY payload of 8000 bytes or more.
pub const MAX_PAYLOAD: usize = 7999;

/// `cancellation_event` payloads naming `ids`, shaped as Python 1.6.0 sends
/// them (compact JSON, `sent_at` in UTC with `Z`). Python sends one payload
/// whatever its size, which PostgreSQL refuses past its limit; here the ids
/// are split over as many payloads as needed, each under [`MAX_PAYLOAD`].
pub fn cancellation_payloads(channel: &str, ids: &[i64], sent_at: DateTime<Utc>) -> Vec<String> {
    let head = format!(
        r#"{{"channel":{},"sent_at":"{}","type":"cancellation_event","ids":["#,
        serde_json::Value::from(channel),
        sent_at.to_rfc3339_opts(SecondsFormat::Micros, true)
    );
    let mut payloads = Vec::new();
    let mut current = head.clone();
    for id in ids {
        let id = id.to_string();
        let empty = current.len() == head.len();
        // The id, a comma before it unless first, and the closing "]}".
        let grown = current.len() + id.len() + usize::from(!empty) + 2;
        if grown > MAX_PAYLOAD && !empty {
            current.push_str("]}");
            payloads.push(std::mem::replace(&mut current, head.clone()));
        } else if !empty {
            current.push(',');
        }
        current.push_str(&id);
    }
    if current.len() > head.len() {
        current.push_str("]}");
        payloads.push(current);
    }
    payloads
}

/// Control characters escaped so a payload cannot break the one-line format.
fn one_line(raw: &str) -> String {
    raw.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

fn de_timestamp<'de, D>(deserializer: D) -> Result<DateTime<FixedOffset>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    parse_timestamp(&text).ok_or_else(|| {
        serde::de::Error::custom(format!("not a timezone-aware timestamp: {text:?}"))
    })
}

/// ISO-8601 with an offset (`Z`, `+HH:MM`, `+HH`, `+HHMM`); a space is
/// accepted for the `T`. Naive timestamps are refused, as in Python.
pub fn parse_timestamp(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    // PostgreSQL writes whole-hour offsets without minutes in some styles.
    let bytes = text.as_bytes();
    if bytes.len() > 3 && matches!(bytes[bytes.len() - 3], b'+' | b'-') {
        return DateTime::parse_from_rfc3339(&format!("{text}:00")).ok();
    }
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(text: &str) -> DateTime<FixedOffset> {
        parse_timestamp(text).expect("valid timestamp")
    }

    #[test]
    fn cancellation_payloads_parse_and_stay_under_the_limit() {
        let sent = Utc.with_ymd_and_hms(2026, 11, 27, 18, 33, 52).unwrap();
        let one = cancellation_payloads("ch_pgqueuer", &[1, 2], sent);
        assert_eq!(
            one,
            vec![
                r#"{"channel":"ch_pgqueuer","sent_at":"2026-11-27T18:33:52.000000Z","type":"cancellation_event","ids":[1,2]}"#
            ]
        );
        assert!(cancellation_payloads("c", &[], sent).is_empty());
        let ids: Vec<i64> = (0..5000).map(|i| i64::MAX - i).collect();
        let many = cancellation_payloads("ch_pgqueuer", &ids, sent);
        assert!(many.len() > 1);
        let mut seen = Vec::new();
        for payload in &many {
            assert!(payload.len() <= MAX_PAYLOAD, "{}", payload.len());
            match Event::parse(payload) {
                Event::Cancellation { ids, .. } => seen.extend(ids),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, ids);
    }

    #[test]
    fn trigger_payload_with_json_build_object_spacing() {
        let raw = r#"{"channel" : "ch_pgqueuer", "operation" : "insert", "sent_at" : "2026-11-27T18:30:30.946152+00:00", "table" : "pgqueuer", "type" : "table_changed_event"}"#;
        assert_eq!(
            Event::parse(raw),
            Event::TableChanged {
                channel: "ch_pgqueuer".into(),
                sent_at: at("2026-11-27T18:30:30.946152Z"),
                operation: Operation::Insert,
                table: "pgqueuer".into(),
            }
        );
    }

    #[test]
    fn every_operation_parses() {
        for op in ["insert", "update", "delete", "truncate"] {
            let raw = format!(
                r#"{{"channel":"c","operation":"{op}","sent_at":"2026-01-01T00:00:00Z","table":"t","type":"table_changed_event"}}"#
            );
            match Event::parse(&raw) {
                Event::TableChanged { operation, .. } => assert_eq!(operation.as_str(), op),
                other => panic!("{op}: {other:?}"),
            }
        }
        let bad = r#"{"channel":"c","operation":"merge","sent_at":"2026-01-01T00:00:00Z","table":"t","type":"table_changed_event"}"#;
        assert!(matches!(Event::parse(bad), Event::Unknown(_)));
    }

    #[test]
    fn cancellation_with_received_at_and_extra_keys() {
        let raw = r#"{"channel":"ch_pgqueuer","sent_at":"2026-11-27T18:33:52.897037Z","type":"cancellation_event","received_at":"2026-11-27T18:33:52.9Z","ids":[1,2],"extra":true}"#;
        assert_eq!(
            Event::parse(raw),
            Event::Cancellation {
                channel: "ch_pgqueuer".into(),
                sent_at: at("2026-11-27T18:33:52.897037+00:00"),
                ids: vec![1, 2],
            }
        );
    }

    #[test]
    fn health_check_with_uuid() {
        let raw = r#"{"channel":"ch","sent_at":"2026-11-27T18:33:52.8Z","type":"health_check_event","id":"3f2504e0-4f89-11d3-9a0c-0305e82c3301"}"#;
        match Event::parse(raw) {
            Event::HealthCheck { id, .. } => {
                assert_eq!(id.to_string(), "3f2504e0-4f89-11d3-9a0c-0305e82c3301");
            }
            other => panic!("{other:?}"),
        }
        let bad = r#"{"channel":"ch","sent_at":"2026-11-27T18:33:52.8Z","type":"health_check_event","id":"nope"}"#;
        assert!(matches!(Event::parse(bad), Event::Unknown(_)));
    }

    #[test]
    fn timestamp_offsets_and_fractions() {
        let utc = |t: &str| at(t).with_timezone(&Utc);
        let base = Utc
            .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .expect("date");
        assert_eq!(utc("2026-01-01T12:00:00Z"), base);
        assert_eq!(utc("2026-01-01T13:00:00+01:00"), base);
        assert_eq!(utc("2026-01-01T13:00:00+01"), base);
        assert_eq!(utc("2026-01-01T06:30:00-05:30"), base);
        assert_eq!(utc("2026-01-01T17:30:00+0530"), base);
        let frac = |t: &str| at(t).timestamp_subsec_micros();
        assert_eq!(frac("2026-01-01T12:00:00.5Z"), 500_000);
        assert_eq!(frac("2026-01-01T12:00:00.12+00:00"), 120_000);
        assert_eq!(frac("2026-01-01T12:00:00.123456+00"), 123_456);
        assert!(parse_timestamp("2026-01-01T12:00:00").is_none(), "naive");
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn unknown_payloads_keep_their_text() {
        for raw in [
            "not json",
            "[1,2]",
            r#"{"channel":"c","sent_at":"2026-01-01T00:00:00Z","type":"requests_per_second_event","entrypoint_count":{"a":1}}"#,
            r#"{"channel":"c","sent_at":"2026-01-01T00:00:00","type":"cancellation_event","ids":[1]}"#,
            r#"{"channel":"c","type":"cancellation_event","ids":[1]}"#,
            r#"{"sent_at":"2026-01-01T00:00:00Z","type":"cancellation_event","ids":[1]}"#,
        ] {
            assert_eq!(Event::parse(raw), Event::Unknown(raw.to_string()), "{raw}");
        }
    }

    #[test]
    fn human_line_has_type_fields_and_delay() {
        let raw = r#"{"channel" : "ch_pgqueuer", "operation" : "insert", "sent_at" : "2026-11-27T18:30:30.946+00:00", "table" : "pgqueuer", "type" : "table_changed_event"}"#;
        let received = at("2026-11-27T18:30:30.958Z").with_timezone(&Utc);
        let line = Received::new(raw, received).human();
        assert!(
            line.ends_with(
                " table_changed_event channel=ch_pgqueuer operation=insert table=pgqueuer delay=12ms"
            ),
            "{line}"
        );
        let line = Received::new("multi\nline", received).human();
        assert!(line.ends_with(" unknown multi\\nline"), "{line}");
    }

    #[test]
    fn json_lines_are_single_objects() {
        let received = Utc::now();
        let raw = r#"{"channel" : "c", "type" : "x"}"#;
        assert_eq!(Received::new(raw, received).json_line("c"), raw);
        let multi = "{\"a\":\n1}";
        assert_eq!(Received::new(multi, received).json_line("c"), r#"{"a":1}"#);
        let wrapped: serde_json::Value =
            serde_json::from_str(&Received::new("not json", received).json_line("c"))
                .expect("json");
        assert_eq!(wrapped["payload"], "not json");
        assert_eq!(wrapped["type"], "unknown");
        assert_eq!(wrapped["channel"], "c");
    }
}
