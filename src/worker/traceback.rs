//! The traceback object PGQueuer 1.6 stores in `pgqueuer_log.traceback`
//! (facts §7.5). Python parses that column into a strict model when it reads
//! logs, so every row pgq writes has exactly these keys.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::JobError;

/// A terminal failure (`exception`, or `failed` for held jobs).
pub fn failure(job_id: i64, entrypoint: &str, qm: Uuid, error: &JobError) -> String {
    record(
        job_id,
        &error.kind,
        &error.message,
        &error.traceback_text(),
        json!({"entrypoint": entrypoint, "queue_manager_id": qm.to_string()}),
    )
}

/// A database retry (`queued` log row), shaped like Python's `RetryRequested`.
pub fn retry(
    job_id: i64,
    entrypoint: &str,
    qm: Uuid,
    attempt: i32,
    delay: Duration,
    error: &JobError,
) -> String {
    let reason = error.message.clone();
    record(
        job_id,
        "RetryRequested",
        &reason,
        &format!(
            "RetryRequested: {reason}\n\nCaused by:\n{}",
            error.traceback_text()
        ),
        json!({
            "entrypoint": entrypoint,
            "queue_manager_id": qm.to_string(),
            "attempt": attempt,
            "retry_delay": python_timedelta(delay),
            "reason": reason,
        }),
    )
}

fn record(job_id: i64, kind: &str, message: &str, traceback: &str, context: Value) -> String {
    json!({
        "job_id": job_id,
        "timestamp": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        "exception_type": kind,
        "exception_message": message,
        "traceback": traceback,
        "additional_context": context,
    })
    .to_string()
}

/// Python's `str(timedelta)`: `0:00:05`, `0:00:01.500000`, `1 day, 2:00:00`.
pub fn python_timedelta(d: Duration) -> String {
    let total_micros = d.as_micros();
    let micros = total_micros % 1_000_000;
    let secs = (total_micros / 1_000_000) as u64;
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let clock = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    let clock = if micros > 0 {
        format!("{clock}.{micros:06}")
    } else {
        clock
    };
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        n => format!("{n} days, {clock}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedelta_like_python() {
        assert_eq!(python_timedelta(Duration::from_secs(5)), "0:00:05");
        assert_eq!(
            python_timedelta(Duration::from_millis(1500)),
            "0:00:01.500000"
        );
        assert_eq!(python_timedelta(Duration::from_secs(300)), "0:05:00");
        assert_eq!(
            python_timedelta(Duration::from_secs(86_400 + 7200)),
            "1 day, 2:00:00"
        );
        assert_eq!(
            python_timedelta(Duration::from_secs(3 * 86_400)),
            "3 days, 0:00:00"
        );
    }

    #[test]
    fn record_has_the_python_keys() {
        let e = JobError::new("CommandFailed", "exit status 3");
        let v: Value = serde_json::from_str(&failure(7, "ep", Uuid::nil(), &e)).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "additional_context",
                "exception_message",
                "exception_type",
                "job_id",
                "timestamp",
                "traceback"
            ]
        );
        assert!(v["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
