//! The worker's event lines, byte for byte (bar the clock, the worker's id
//! and timings): PGQueuer's text shape and the JSON shape, whichever logging
//! machinery writes them.

use crate::common;

use common::{TestDb, assert_exit, manifest_file, stderr};

const FAILING_COMMAND: &str = "[[entrypoint]]\nname = \"sh\"\n\
    command = [\"sh\", \"-c\", \"echo out line; exit 3\"]\n";

/// Run one failing command job in drain mode at DEBUG; stderr with the
/// timestamps, the queue manager id and the elapsed times replaced.
fn worker_lines(format: &str) -> Vec<String> {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "sh", "y"]), 0);
    let manifest = manifest_file(FAILING_COMMAND);
    let path = manifest.path().to_str().unwrap();
    let args = [
        "run",
        path,
        "--mode",
        "drain",
        "--log-level",
        "debug",
        "--log-format",
        format,
    ];
    let out = db.pgq(&args);
    assert_exit(&out, 0);
    stderr(&out).lines().map(normalise).collect()
}

fn normalise(line: &str) -> String {
    // Text lines start with the time; JSON lines hold it under "ts".
    let mut line = match line.split_once(" [pgq] ") {
        Some((ts, rest)) => {
            assert!(
                chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.len() == 29,
                "local ISO-8601 time with milliseconds: {line}"
            );
            format!("TS [pgq] {rest}")
        }
        None => line.to_string(),
    };
    for key in ["\"ts\":\"", "queue_manager_id=", "\"queue_manager_id\":\""] {
        if let Some(start) = line.find(key).map(|i| i + key.len()) {
            let end = line[start..]
                .find(['"', ' '])
                .map_or(line.len(), |n| start + n);
            line.replace_range(start..end, "X");
        }
    }
    for key in ["elapsed_ms=", "\"elapsed_ms\":"] {
        if let Some(start) = line.find(key).map(|i| i + key.len()) {
            let end = line[start..]
                .find([',', ' ', '}'])
                .map_or(line.len(), |n| start + n);
            line.replace_range(start..end, "N");
        }
    }
    line
}

#[test]
fn text_lines_keep_pgqueuers_shape() {
    assert_eq!(
        worker_lines("text"),
        [
            "TS [pgq] INFO: Worker starting queue_manager_id=X entrypoints=[\"sh\"] schedules=0 batch_size=10 mode=drain",
            "TS [pgq] DEBUG: Dispatching job job_id=1 entrypoint=sh attempts=0",
            "TS [pgq] INFO: out line job_id=1 entrypoint=sh stream=stdout",
            "TS [pgq] ERROR: Exception while processing job: CommandFailed: exit status 3 job_id=1 entrypoint=sh elapsed_ms=N",
            "TS [pgq] INFO: Drain mode: the queue is empty",
            "TS [pgq] INFO: Stopping: no more dequeues; waiting for running jobs running=0 shutdown_timeout_s=null",
            "TS [pgq] INFO: Worker stopped",
        ]
    );
}

#[test]
fn json_lines_keep_their_shape() {
    assert_eq!(
        worker_lines("json"),
        [
            r#"{"batch_size":10,"entrypoints":["sh"],"level":"INFO","logger":"pgq","message":"Worker starting","mode":"drain","queue_manager_id":"X","schedules":0,"ts":"X"}"#,
            r#"{"attempts":0,"entrypoint":"sh","job_id":1,"level":"DEBUG","logger":"pgq","message":"Dispatching job","ts":"X"}"#,
            r#"{"entrypoint":"sh","job_id":1,"level":"INFO","logger":"pgq","message":"out line","stream":"stdout","ts":"X"}"#,
            r#"{"elapsed_ms":N,"entrypoint":"sh","job_id":1,"level":"ERROR","logger":"pgq","message":"Exception while processing job: CommandFailed: exit status 3","ts":"X"}"#,
            r#"{"level":"INFO","logger":"pgq","message":"Drain mode: the queue is empty","ts":"X"}"#,
            r#"{"level":"INFO","logger":"pgq","message":"Stopping: no more dequeues; waiting for running jobs","running":0,"shutdown_timeout_s":null,"ts":"X"}"#,
            r#"{"level":"INFO","logger":"pgq","message":"Worker stopped","ts":"X"}"#,
        ]
    );
}
