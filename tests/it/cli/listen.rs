//! `pgq listen` against a real PostgreSQL and real PGQueuer 1.6.0 senders:
//! trigger events from Python and SQL enqueues, health checks from a running
//! Python worker, raw unknown payloads, reconnects and signals.

use crate::common;

use std::time::Duration;

use common::{Spawned, TestDb, assert_exit, stderr};

const WAIT: Duration = Duration::from_secs(10);

fn install(db: &TestDb, prefix: &[&str]) {
    let args: Vec<&str> = prefix.iter().copied().chain(["install"]).collect();
    assert_exit(&db.pgq(&args), 0);
}

/// Start `pgq … listen …` and wait until its LISTEN is in place.
async fn listen(db: &TestDb, args: &[&str]) -> Spawned {
    let listener = db.spawn_pgq(args, &[]);
    let pids = db.wait_for_listener(WAIT).await;
    assert!(!pids.is_empty(), "the listener never issued LISTEN");
    listener
}

fn json(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

fn is_insert(line: &str) -> bool {
    line.contains("\"insert\"")
}

async fn sql_insert(db: &TestDb, table: &str) {
    db.client()
        .await
        .batch_execute(&format!(
            "INSERT INTO {table} (priority, entrypoint, status) VALUES (0, 'sql_job', 'queued')"
        ))
        .await
        .expect("plain INSERT");
}

#[tokio::test]
async fn json_receives_insert_events_from_python_and_sql() {
    let db = TestDb::installed();
    let listener = listen(&db, &["--json", "listen"]).await;

    let out = db.python(common::fixtures::ENQUEUE_ONE, &[]);
    assert_exit(&out, 0);
    let line = listener
        .stdout_line(WAIT, is_insert)
        .expect("insert event after the Python enqueue");
    let event = json(&line);
    assert_eq!(event["type"], "table_changed_event");
    assert_eq!(event["channel"], "ch_pgqueuer");
    assert_eq!(event["table"], "pgqueuer");
    assert_eq!(event["operation"], "insert");
    assert!(event["sent_at"].is_string(), "{line}");

    sql_insert(&db, "pgqueuer").await;
    let line = listener
        .stdout_line(WAIT, is_insert)
        .expect("insert event after a plain SQL INSERT");
    let event = json(&line);
    assert_eq!(event["table"], "pgqueuer");
    assert_eq!(event["channel"], "ch_pgqueuer");
}

#[tokio::test]
async fn text_mode_prints_readable_lines() {
    let db = TestDb::installed();
    let listener = listen(&db, &["listen"]).await;
    sql_insert(&db, "pgqueuer").await;
    let line = listener
        .stdout_line(WAIT, |l| l.contains("table_changed_event"))
        .expect("text line");
    assert!(
        line.contains("channel=ch_pgqueuer operation=insert table=pgqueuer delay="),
        "{line}"
    );
}

#[tokio::test]
async fn listen_honours_prefix() {
    let db = TestDb::new();
    install(&db, &["--prefix", "app_"]);
    let listener = listen(&db, &["--prefix", "app_", "--json", "listen"]).await;
    sql_insert(&db, "app_pgqueuer").await;
    let event = json(&listener.stdout_line(WAIT, is_insert).expect("event"));
    assert_eq!(event["channel"], "app_ch_pgqueuer");
    assert_eq!(event["table"], "app_pgqueuer");
}

#[tokio::test]
async fn health_checks_from_a_running_python_worker() {
    let db = TestDb::installed();
    let listener = listen(&db, &["--json", "listen"]).await;
    let out = db.python(common::fixtures::HEALTH_CHECK_WORKER, &[]);
    assert_exit(&out, 0);
    let mut ids = Vec::new();
    while let Some(line) = listener.stdout_line(Duration::from_millis(500), |l| {
        l.contains("health_check_event")
    }) {
        let event = json(&line);
        assert_eq!(event["channel"], "ch_pgqueuer");
        let id = event["id"].as_str().expect("id").to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{line}");
        ids.push(id);
    }
    assert!(
        !ids.is_empty(),
        "no health_check_event in 12 s of a running worker"
    );
}

#[tokio::test]
async fn unknown_payloads_are_printed_raw() {
    let db = TestDb::installed();
    let listener = listen(&db, &["listen"]).await;
    db.client()
        .await
        .batch_execute("SELECT pg_notify('ch_pgqueuer', 'not json')")
        .await
        .expect("notify");
    let line = listener
        .stdout_line(WAIT, |l| l.contains("not json"))
        .expect("raw payload line");
    assert!(line.ends_with(" unknown not json"), "{line}");
}

#[tokio::test]
async fn invalid_channel_is_rejected() {
    let db = TestDb::new();
    let out = db.pgq(&["listen", "--channel", "bad channel;"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("invalid channel"), "{}", stderr(&out));
    let long = "c".repeat(64);
    let out = db.pgq(&["listen", "--channel", &long]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("63 bytes"), "{}", stderr(&out));
}

#[tokio::test]
async fn reconnects_after_the_backend_is_terminated() {
    let db = TestDb::installed();
    let listener = db.spawn_pgq(&["--json", "listen", "--channel", "ch_pgqueuer"], &[]);
    let pids = db.wait_for_listener(WAIT).await;
    assert_eq!(pids.len(), 1, "one listener backend");
    db.client()
        .await
        .execute("SELECT pg_terminate_backend($1)", &[&pids[0]])
        .await
        .expect("terminate");
    listener
        .stderr_line(WAIT, |l| {
            l.starts_with("listen: connection lost (") && l.contains("reconnecting in 0.5s")
        })
        .expect("connection-lost message");
    listener
        .stderr_line(WAIT, |l| l == "listen: reconnected")
        .expect("reconnected message");
    let again = db.wait_for_listener(WAIT).await;
    assert!(
        again.iter().any(|p| *p != pids[0]),
        "a new backend listens: {again:?}"
    );
    sql_insert(&db, "pgqueuer").await;
    listener
        .stdout_line(WAIT, is_insert)
        .expect("events still arrive after reconnecting");
}

#[tokio::test]
async fn sigterm_and_sigint_exit_zero() {
    let db = TestDb::new();
    for sig in ["TERM", "INT"] {
        let mut listener = listen(&db, &["listen"]).await;
        listener.signal(sig);
        assert_eq!(listener.wait_exit(WAIT), Some(0), "SIG{sig}");
        // The next round must not mistake this backend, still on its way
        // out, for the next listener.
        assert!(db.wait_for_no_listener(WAIT).await, "the backend stayed");
    }
}

#[tokio::test]
async fn closed_stdout_ends_quietly() {
    let db = TestDb::installed();
    let mut child = common::pgq_cmd(&["--json", "listen"], &[])
        .env("PGDSN", db.dsn())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    assert!(!db.wait_for_listener(WAIT).await.is_empty());
    drop(child.stdout.take());
    sql_insert(&db, "pgqueuer").await;
    let deadline = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "listen kept running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let out = child.wait_with_output().expect("output");
    assert_eq!(status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}
