//! Job commands against a real PostgreSQL and the real Python PGQueuer 1.6.0:
//! queue (single and --batch), dashboard, failed, requeue, stale, workers, backlog.

use crate::common;

use common::{TestDb, assert_exit, python_drain, stderr, stdout};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

#[test]
fn queue_dedupe_and_on_conflict_follow_pgqueuer() {
    let db = TestDb::installed();
    let out = db.pgq(&["queue", "ep", "hello", "--dedupe-key", "k"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Enqueued job 1.\n");
    let out = db.pgq(&[
        "queue",
        "ep",
        "again",
        "--dedupe-key",
        "k",
        "--on-conflict",
        "skip",
    ]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Skipped: duplicate dedupe_key 'k'.\n");
    let out = db.pgq(&["queue", "ep", "again", "--dedupe-key", "k"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "");
    assert!(stderr(&out).contains("duplicate dedupe_key 'k'"));
    let out = db.pgq(&[
        "--json",
        "queue",
        "ep",
        "--dedupe-key",
        "k",
        "--on-conflict",
        "update-priority",
        "-p",
        "7",
    ]);
    assert_exit(&out, 0);
    assert_eq!(
        json(&out),
        serde_json::json!({"status": "updated", "id": 1, "dedupe_key": "k"})
    );
    let out = db.pgq(&["--json", "backlog"]);
    assert_eq!(json(&out)[0]["queued_count"], 1, "only one row exists");
}

#[tokio::test]
async fn queue_writes_rows_exactly_as_python_does() {
    let db = TestDb::installed();
    let payload_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(payload_file.path(), [0x80u8, 0xff, 0x00]).unwrap();
    let at_file = format!("@{}", payload_file.path().display());
    assert_exit(&db.pgq(&["queue", "bin", &at_file]), 0);
    assert_exit(&db.pgq(&["queue", "plain"]), 0);
    let out = db.pgq(&[
        "queue",
        "hdr",
        "x",
        "--headers",
        r#"{"a": {"b": 1}}"#,
        "--header",
        "trace=abc",
        "--execute-after",
        "1h",
        "-p",
        "-3",
    ]);
    assert_exit(&out, 0);
    let mut child = common::pgq_cmd(&["queue", "stdin", "-"], &[])
        .env("PGDSN", db.dsn())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"from stdin")
        .unwrap();
    assert!(child.wait().unwrap().success());

    let client = db.client().await;
    let rows = client
        .query(
            "SELECT entrypoint, payload, headers, priority, status::text,
                    execute_after > now() + interval '59 minutes', attempts, queue_manager_id IS NULL
             FROM pgqueuer ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let get = |i: usize| -> (String, Option<Vec<u8>>, Option<Value>, i32) {
        (
            rows[i].get(0),
            rows[i].get(1),
            rows[i].get(2),
            rows[i].get(3),
        )
    };
    assert_eq!(
        get(0),
        (
            "bin".into(),
            Some(vec![0x80, 0xff, 0x00]),
            Some(Value::Null),
            0
        )
    );
    assert_eq!(get(1), ("plain".into(), None, Some(Value::Null), 0));
    assert_eq!(
        get(2),
        (
            "hdr".into(),
            Some(b"x".to_vec()),
            Some(serde_json::json!({"a": {"b": 1}, "trace": "abc"})),
            -3
        )
    );
    assert_eq!(get(3).1, Some(b"from stdin".to_vec()));
    assert!(rows[2].get::<_, bool>(5), "execute_after honoured");
    assert!(rows.iter().all(|r| r.get::<_, String>(4) == "queued"
        && r.get::<_, i32>(6) == 0
        && r.get::<_, bool>(7)));
    let logged: i64 = client
        .query_one(
            "SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 4, "one queued log row per job");
}

#[test]
fn bad_input_is_refused_with_a_clear_message_and_nothing_written() {
    let db = TestDb::installed();
    for (args, code, needle) in [
        (
            vec!["queue", "e", "--headers", "{nope"],
            1,
            "not valid JSON",
        ),
        (
            vec!["queue", "e", "--headers", "[1,2]"],
            1,
            "must be a JSON object",
        ),
        (vec!["queue", "e", "--header", "novalue"], 1, "KEY=VALUE"),
        (
            vec!["queue", "e", "--execute-after", "-5s"],
            2,
            "cannot be negative",
        ),
        (
            vec!["queue", "e", "--execute-after", "soon"],
            2,
            "not a duration",
        ),
        (
            vec!["queue", "e", "--on-conflict", "explode"],
            2,
            "invalid value",
        ),
        (
            vec!["queue", "e", "@/nonexistent/file"],
            1,
            "/nonexistent/file",
        ),
        (vec!["requeue", "abc"], 2, "invalid value"),
        (vec!["requeue"], 2, "refusing an empty filter"),
    ] {
        let out = db.pgq(&args);
        assert_exit(&out, code);
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
    assert_eq!(stdout(&db.pgq(&["backlog"])), "No queued jobs.\n");
}

#[test]
fn batch_with_a_broken_line_500_writes_nothing() {
    let db = TestDb::installed();
    let mut lines: Vec<String> = (1..=1000)
        .map(|i| {
            format!(
                r#"{{"entrypoint": "bulk", "payload": "job {i}", "priority": {}}}"#,
                i % 5
            )
        })
        .collect();
    lines[499] = r#"{"entrypoint": "bulk", "payload": "#.to_string();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(&format!("{path}:500: invalid JSON")),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Nothing was enqueued."));
    assert_eq!(stdout(&db.pgq(&["backlog"])), "No queued jobs.\n");
}

#[test]
fn batch_raise_rolls_back_the_chunk_with_a_duplicate() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "e", "--dedupe-key", "taken"]), 0);
    let text = [
        r#"{"entrypoint": "e", "payload": "a"}"#,
        r#"{"entrypoint": "e", "dedupe_key": "taken"}"#,
        r#"{"entrypoint": "e", "payload": "b"}"#,
    ]
    .join("\n");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &text).unwrap();
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(":2: duplicate dedupe_key 'taken'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&db.pgq(&["--json", "backlog"]))[0]["queued_count"], 1);
    let out = db.pgq(&["--json", "queue", "--batch", path, "--on-conflict", "skip"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enqueued"], 2);
    assert_eq!(json(&out)["skipped"], 1);
}

#[test]
fn commands_on_a_database_without_pgqueuer_say_to_install() {
    let db = TestDb::new();
    for args in [
        vec!["queue", "e"],
        vec!["failed"],
        vec!["backlog"],
        vec!["dashboard"],
        vec!["requeue", "1"],
    ] {
        let out = db.pgq(&args);
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("pgq install"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn reports_on_an_empty_queue() {
    let db = TestDb::installed();
    for (cmd, empty) in [
        ("failed", "No failed jobs.\n"),
        ("stale", "No stale jobs.\n"),
        ("workers", "No workers are holding picked jobs.\n"),
        ("backlog", "No queued jobs.\n"),
    ] {
        let out = db.pgq(&[cmd]);
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), empty);
        let out = db.pgq(&["--json", cmd]);
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), "[]\n");
    }
}

#[tokio::test]
async fn stale_workers_and_backlog_report_seeded_rows() {
    let db = TestDb::installed();
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat, created)
             VALUES (0, 'picked', 'a', '11111111-1111-1111-1111-111111111111', now() - interval '10 minutes', now() - interval '1 hour'),
                    (0, 'picked', 'b', '11111111-1111-1111-1111-111111111111', now(), now()),
                    (0, 'queued', 'a', NULL, now(), now() - interval '100 seconds'),
                    (0, 'queued', 'a', NULL, now(), now() - interval '50 seconds');",
        )
        .await
        .unwrap();
    let stale = json(&db.pgq(&["--json", "stale", "-t", "60"]));
    assert_eq!(stale.as_array().unwrap().len(), 1);
    assert_eq!(stale[0]["entrypoint"], "a");
    assert!(stale[0]["seconds_since_heartbeat"].as_f64().unwrap() >= 600.0);
    let workers = json(&db.pgq(&["--json", "workers"]));
    assert_eq!(workers[0]["active_jobs"], 2);
    assert_eq!(workers[0]["entrypoints"], serde_json::json!(["a", "b"]));
    let backlog = json(&db.pgq(&["--json", "backlog"]));
    assert_eq!(backlog[0]["queued_count"], 2);
    let oldest = backlog[0]["oldest_age_seconds"].as_f64().unwrap();
    assert!((100.0..110.0).contains(&oldest), "{oldest}");
    let text = stdout(&db.pgq(&["stale", "-t", "60"]));
    assert!(
        text.contains("Seconds since heartbeat") && text.contains("11111111-1111"),
        "{text}"
    );
}

#[test]
fn python_worker_processes_single_and_bulk_jobs_from_pgq() {
    let db = TestDb::installed();
    assert_exit(
        &db.pgq(&["queue", "work", "low", "-p", "1", "--header", "trace=t1"]),
        0,
    );
    assert_exit(&db.pgq(&["queue", "work", "high", "-p", "9"]), 0);
    assert_exit(
        &db.pgq(&["queue", "later", "deferred", "--execute-after", "2s"]),
        0,
    );
    let text = (0..50)
        .map(|i| format!(r#"{{"entrypoint": "work", "payload": "bulk {i}", "priority": 5, "headers": {{"n": {i}}}}}"#))
        .collect::<Vec<_>>()
        .join("\n");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    assert_exit(
        &db.pgq(&["queue", "--batch", file.path().to_str().unwrap()]),
        0,
    );

    let started = std::time::Instant::now();
    let seen = python_drain(&db, "work,later", false);
    assert_eq!(seen.len(), 53);
    let work: Vec<&Value> = seen.iter().filter(|j| j["ep"] == "work").collect();
    assert_eq!(
        work[0]["payload"],
        serde_json::json!(b"high".to_vec()),
        "priority order"
    );
    assert_eq!(
        work.last().unwrap()["payload"],
        serde_json::json!(b"low".to_vec())
    );
    assert_eq!(
        work.last().unwrap()["headers"],
        serde_json::json!({"trace": "t1"})
    );
    assert!(work[1..51].iter().all(|j| j["priority"] == 5));
    assert_eq!(
        seen.last().unwrap()["ep"],
        "later",
        "the deferred job runs last"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
}

#[test]
fn held_jobs_show_in_failed_and_run_again_after_requeue() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "flaky", "one"]), 0);
    assert_exit(&db.pgq(&["queue", "flaky", "two"]), 0);
    let seen = python_drain(&db, "flaky", true);
    assert_eq!(seen.len(), 2);

    let failed = json(&db.pgq(&["--json", "failed"]));
    let failed = failed.as_array().unwrap();
    assert_eq!(failed.len(), 2);
    assert!(
        failed.iter().all(|j| j["status"] == "failed"
            && j["payload_bytes"] == 3
            && j.get("payload").is_none())
    );
    let text = stdout(&db.pgq(&["failed"]));
    assert!(
        text.contains("Payload bytes") && text.contains("flaky"),
        "{text}"
    );

    let ids: Vec<String> = failed.iter().map(|j| j["id"].to_string()).collect();
    let mut args = vec!["requeue"];
    args.extend(ids.iter().map(String::as_str));
    args.push("999999");
    let out = db.pgq(&args);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Re-queued 2 jobs.\n");
    assert_eq!(stdout(&db.pgq(&["failed"])), "No failed jobs.\n");

    let seen = python_drain(&db, "flaky", false);
    assert_eq!(seen.len(), 2, "requeued jobs are processed again");
    assert_eq!(stdout(&db.pgq(&["backlog"])), "No queued jobs.\n");
}

/// Sum a dashboard into (entrypoint, status) -> count.
fn totals(
    rows: impl Iterator<Item = (String, String, i64)>,
) -> std::collections::BTreeMap<(String, String), i64> {
    let mut map = std::collections::BTreeMap::new();
    for (ep, status, count) in rows {
        *map.entry((ep, status)).or_insert(0) += count;
    }
    map
}

#[test]
fn dashboard_is_read_only_and_agrees_with_python() {
    let db = TestDb::installed();
    for i in 0..20 {
        assert_exit(
            &db.pgq(&["queue", if i % 2 == 0 { "even" } else { "odd" }, "x"]),
            0,
        );
    }
    python_drain(&db, "even,odd", false);

    let ours = json(&db.pgq(&["--json", "dashboard", "-n", "1000"]));
    let ours = totals(ours["statistics"].as_array().unwrap().iter().map(|r| {
        (
            r["entrypoint"].as_str().unwrap().to_string(),
            r["status"].as_str().unwrap().to_string(),
            r["count"].as_i64().unwrap(),
        )
    }));
    assert_eq!(ours.get(&("even".into(), "successful".into())), Some(&10));

    // Python's dashboard aggregates (writes) and prints a pretty table.
    let out = db.python_pgq(&["dashboard", "-n", "1000"], &[]);
    assert_exit(&out, 0);
    let theirs = totals(
        stdout(&out)
            .lines()
            .filter(|l| l.starts_with('|') && !l.contains("Created"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (
                    cells[3].to_string(),
                    cells[4].to_string(),
                    cells[2].parse().unwrap(),
                )
            }),
    );
    assert_eq!(ours, theirs);
    // After Python's aggregation our numbers are unchanged.
    let after = json(&db.pgq(&["--json", "dashboard", "-n", "1000"]));
    let after = totals(after["statistics"].as_array().unwrap().iter().map(|r| {
        (
            r["entrypoint"].as_str().unwrap().to_string(),
            r["status"].as_str().unwrap().to_string(),
            r["count"].as_i64().unwrap(),
        )
    }));
    assert_eq!(after, theirs);
}

#[tokio::test]
async fn dashboard_works_for_a_read_only_role() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "e", "x"]), 0);
    let client = db.client().await;
    let role = format!("ro_{}", &db.name[7..]);
    client
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
        ))
        .await
        .unwrap();
    let mut url = url::Url::parse(&db.dsn()).unwrap();
    url.set_username(&role).unwrap();
    let out = common::pgq_cmd(&["--json", "dashboard"], &[("PGDSN", url.as_str())])
        .output()
        .unwrap();
    client
        .batch_execute(&format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"
        ))
        .await
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(json(&out)["summary"][0]["queued"], 1);
    // Roles are cluster-wide; drop it after the database is gone.
    drop(client);
    drop(db);
    let admin = common::connect(&common::admin_dsn()).await;
    admin
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .await
        .unwrap();
}

// ---- queue --batch: bulk path (fast path, several connections, failures) ----

/// Write NDJSON lines to a temp file.
fn ndjson(lines: &[String]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    file
}

/// Collects the payloads of NOTIFY messages on `channel` until dropped.
struct Listener {
    client: tokio_postgres::Client,
    channel: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// A payload no pgq statement sends: marks the end of what came before it.
const END_MARKER: &str = "end-of-test-events";

impl Listener {
    async fn start(dsn: &str, channel: &str) -> Listener {
        use futures_util::StreamExt;
        let (client, mut connection) = tokio_postgres::connect(dsn, tokio_postgres::NoTls)
            .await
            .unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let sink = seen.clone();
        tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(Ok(message)) = messages.next().await {
                if let tokio_postgres::AsyncMessage::Notification(n) = message {
                    sink.lock().unwrap().push(n.payload().to_string());
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {channel}"))
            .await
            .unwrap();
        Listener {
            client,
            channel: channel.to_string(),
            seen,
        }
    }

    /// Operations (`insert`, …) of every event committed before this call.
    /// PostgreSQL delivers notifications in commit order, so once a marker
    /// sent now has arrived, every earlier event has too (no guessed pause).
    async fn operations(&self) -> Vec<String> {
        self.client
            .batch_execute(&format!("NOTIFY {}, '{END_MARKER}'", self.channel))
            .await
            .unwrap();
        let seen = common::wait_for(std::time::Duration::from_secs(10), || async {
            let seen = self.seen.lock().unwrap();
            let end = seen.iter().position(|p| p == END_MARKER)?;
            Some(seen[..end].to_vec())
        })
        .await
        .expect("the end marker never arrived");
        seen.iter()
            .map(|p| {
                serde_json::from_str::<Value>(p).unwrap()["operation"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }
}

/// pgq run off the test's runtime thread (so a listener keeps reading).
async fn pgq_async(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let dsn = db.dsn();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        common::pgq_cmd(&args, &env)
            .env("PGDSN", dsn)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// The expected stored form of line `i` of [`mixed_lines`].
fn mixed_line(i: usize) -> (String, Option<Vec<u8>>, i32, Value, i64) {
    let payload = match i % 4 {
        0 => Some(format!("job {i} ü").into_bytes()),
        1 => Some(format!(r#"{{"i":{i}}}"#).into_bytes()),
        2 => None,
        _ => Some(vec![]),
    };
    // Chunk 1: no delays, no headers; chunk 2: some delays; chunk 3: some
    // headers; chunk 4: both (pgq words each chunk's statement by what the
    // chunk holds).
    let headers = if i >= 2000 && i.is_multiple_of(3) {
        serde_json::json!({"n": i, "trace": {"id": format!("t{i}")}})
    } else {
        Value::Null
    };
    let delay_us = if (1000..2000).contains(&i) || i >= 3000 {
        if i.is_multiple_of(5) { 90_500_000 } else { 0 }
    } else {
        0
    };
    (
        format!("ep{}", i % 3),
        payload,
        (i % 7) as i32 - 3,
        headers,
        delay_us,
    )
}

/// NDJSON for [`mixed_line`]: string / object / null / empty payloads,
/// negative priorities, headers on every third line and delays on every fifth
/// in some chunks.
fn mixed_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (ep, _, priority, headers, delay) = mixed_line(i);
            let mut obj = serde_json::json!({"entrypoint": ep, "priority": priority});
            match i % 4 {
                0 => obj["payload"] = Value::String(format!("job {i} ü")),
                1 => obj["payload"] = serde_json::json!({"i": i}),
                2 => obj["payload"] = Value::Null,
                _ => obj["payload"] = Value::String(String::new()),
            }
            if !headers.is_null() {
                obj["headers"] = headers;
            }
            if delay != 0 {
                obj["execute_after"] = Value::String("90.5s".into());
            }
            obj.to_string()
        })
        .collect()
}

/// Every stored job in id order as (entrypoint, payload, priority, headers,
/// execute_after - created in µs), plus the log rows that do not match
/// their job exactly.
async fn stored_jobs(
    client: &tokio_postgres::Client,
) -> (Vec<(String, Option<Vec<u8>>, i32, Value, i64)>, i64) {
    let rows = client
        .query(
            "SELECT entrypoint, payload, priority, headers,
                    (extract(epoch FROM execute_after - created) * 1000000)::bigint,
                    status::text, attempts, created = updated AND created = heartbeat
             FROM pgqueuer ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.get::<_, String>(5) == "queued"
        && r.get::<_, i32>(6) == 0
        && r.get::<_, bool>(7)));
    let jobs = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let unmatched: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM pgqueuer_log l
                     WHERE l.status <> 'queued' OR NOT EXISTS (
                         SELECT 1 FROM pgqueuer q WHERE q.id = l.job_id
                            AND q.entrypoint = l.entrypoint AND q.priority = l.priority))
                  + abs((SELECT count(*) FROM pgqueuer_log) - (SELECT count(*) FROM pgqueuer))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    (jobs, unmatched)
}

#[tokio::test]
async fn batch_without_dedupe_keys_writes_every_row_in_file_order() {
    let db = TestDb::installed();
    let lines = mixed_lines(3500);
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let events = Listener::start(&db.dsn(), "ch_pgqueuer").await;
    let out = pgq_async(&db, &["--json", "queue", "--batch", path], &[]).await;
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enqueued"], 3500);
    assert_eq!(
        events.operations().await,
        vec!["insert"; 4],
        "one NOTIFY per chunk of 1000, as one statement per chunk sends"
    );
    let client = db.client().await;
    let (jobs, unmatched) = stored_jobs(&client).await;
    assert_eq!(unmatched, 0, "one matching 'queued' log row per job");
    assert_eq!(jobs.len(), 3500);
    for (i, job) in jobs.iter().enumerate() {
        assert_eq!(*job, mixed_line(i), "job at id rank {i} is line {}", i + 1);
    }
    // Ids increase in file order across chunks, with no gaps.
    let row = client
        .query_one("SELECT max(id) - min(id) + 1 FROM pgqueuer", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 3500);

    // One connection leaves exactly the same rows.
    let single = TestDb::installed();
    let out = single.pgq_env(
        &["queue", "--batch", path],
        &[("PGQ_BATCH_CONNECTIONS", "1")],
    );
    assert_exit(&out, 0);
    let (single_jobs, unmatched) = stored_jobs(&single.client().await).await;
    assert_eq!(unmatched, 0);
    assert_eq!(single_jobs, jobs);
}

#[test]
fn batch_dedupe_keys_across_chunks_behave_as_one_connection_would() {
    // Keys k0..k1199 on lines i % 1200: each key first appears in chunk 1 or
    // 2 and comes back once or twice in later chunks (never twice in one).
    let lines: Vec<String> = (0..3000)
        .map(|i| {
            format!(
                r#"{{"entrypoint": "d", "payload": "line {i}", "priority": {}, "dedupe_key": "k{}"{}}}"#,
                i,
                i % 1200,
                if i % 2 == 0 { r#", "headers": {"h": 1}"# } else { "" }
            )
        })
        .collect();
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    for connections in ["3", "1"] {
        let env = [("PGQ_BATCH_CONNECTIONS", connections)];
        let db = TestDb::installed();
        let out = db.pgq_env(
            &["--json", "queue", "--batch", path, "--on-conflict", "skip"],
            &env,
        );
        assert_exit(&out, 0);
        assert_eq!(json(&out)["enqueued"], 1200, "{connections} connections");
        assert_eq!(json(&out)["skipped"], 1800);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let rows = rt.block_on(async {
            let client = db.client().await;
            client
                .query(
                    "SELECT convert_from(payload, 'UTF8'), priority, dedupe_key FROM pgqueuer ORDER BY id",
                    &[],
                )
                .await
                .unwrap()
        });
        assert_eq!(rows.len(), 1200);
        for (i, row) in rows.iter().enumerate() {
            // The first occurrence of each key is kept, in file order.
            assert_eq!(row.get::<_, String>(0), format!("line {i}"));
            assert_eq!(row.get::<_, i32>(1), i as i32);
            assert_eq!(row.get::<_, String>(2), format!("k{i}"));
        }

        // update-priority on top: every key is held, so each line raises the
        // held job's priority to its own when higher; no new rows, no log rows.
        let out = db.pgq_env(
            &[
                "--json",
                "queue",
                "--batch",
                path,
                "--on-conflict",
                "update-priority",
            ],
            &env,
        );
        assert_exit(&out, 0);
        assert_eq!(json(&out)["enqueued"], 0);
        assert_eq!(json(&out)["updated"], 3000);
        let (priorities, logged) = rt.block_on(async {
            let client = db.client().await;
            let p: Vec<i32> = client
                .query("SELECT priority FROM pgqueuer ORDER BY id", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            let l: i64 = client
                .query_one("SELECT count(*) FROM pgqueuer_log", &[])
                .await
                .unwrap()
                .get(0);
            (p, l)
        });
        assert_eq!(logged, 1200);
        for (i, p) in priorities.iter().enumerate() {
            // key k{i} is on lines i, i+1200 and (if < 3000) i+2400.
            let last = if i + 2400 < 3000 { i + 2400 } else { i + 1200 };
            assert_eq!(*p, last as i32, "k{i}");
        }
    }
}

#[test]
fn batch_update_priority_across_chunks_in_a_fresh_queue() {
    // The same key in chunk 1 and chunk 3: the later chunk must see the
    // earlier one committed (updated, not a second row, not a deadlock).
    let mut lines: Vec<String> = (0..3000)
        .map(|i| format!(r#"{{"entrypoint": "u", "payload": "p{i}"}}"#))
        .collect();
    lines[10] =
        r#"{"entrypoint": "u", "payload": "first", "priority": 1, "dedupe_key": "same"}"#.into();
    lines[2500] =
        r#"{"entrypoint": "u", "payload": "second", "priority": 8, "dedupe_key": "same"}"#.into();
    let file = ndjson(&lines);
    let db = TestDb::installed();
    let out = db.pgq(&[
        "--json",
        "queue",
        "--batch",
        file.path().to_str().unwrap(),
        "--on-conflict",
        "update-priority",
    ]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enqueued"], 2999);
    assert_eq!(json(&out)["updated"], 1);
    let backlog = json(&db.pgq(&["--json", "backlog"]));
    assert_eq!(backlog[0]["queued_count"], 2999);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let row = rt.block_on(async {
        db.client()
            .await
            .query_one(
                "SELECT convert_from(payload, 'UTF8'), priority FROM pgqueuer WHERE dedupe_key = 'same'",
                &[],
            )
            .await
            .unwrap()
    });
    assert_eq!(row.get::<_, String>(0), "first");
    assert_eq!(row.get::<_, i32>(1), 8);
}

/// (rows in the queue, log rows, payloads of the batch rows in id order)
fn queue_state(db: &TestDb) -> (i64, i64, Vec<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = db.client().await;
        let count = |sql: &'static str| {
            let client = &client;
            async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
        };
        let jobs = count("SELECT count(*) FROM pgqueuer").await;
        let logs = count("SELECT count(*) FROM pgqueuer_log").await;
        let payloads = client
            .query(
                "SELECT convert_from(payload, 'UTF8') FROM pgqueuer WHERE entrypoint = 'bulk' ORDER BY id",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        (jobs, logs, payloads)
    })
}

fn bulk_lines(n: usize) -> Vec<String> {
    (1..=n)
        .map(|line| {
            let key = if line % 10 == 0 && line > 3000 {
                format!(r#", "dedupe_key": "u{line}""#)
            } else {
                String::new()
            };
            format!(
                r#"{{"entrypoint": "bulk", "payload": "line {line}", "priority": {}{key}}}"#,
                line % 4
            )
        })
        .collect()
}

#[test]
fn batch_raise_with_a_duplicate_in_the_third_chunk_writes_nothing() {
    // (Keys taken while the chunks are written: tests/batch_input.rs.)
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "other", "--dedupe-key", "taken"]), 0);
    // Chunks 1-2 have no dedupe keys (fast path); line 2500 duplicates a
    // held key; chunks 4-5 hold unique keys.
    let mut lines = bulk_lines(5000);
    lines[2499] = r#"{"entrypoint": "bulk", "payload": "line 2500", "dedupe_key": "taken"}"#.into();
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{path}:2500: duplicate dedupe_key 'taken' (a queued or picked job holds it); nothing was enqueued."
        )),
        "{err}"
    );
    assert_eq!(queue_state(&db), (1, 1, vec![]), "only the held job");

    // A key repeated in the file itself, chunks 1 and 4.
    let db = TestDb::installed();
    let mut lines = bulk_lines(5000);
    lines[99] = r#"{"entrypoint": "bulk", "payload": "line 100", "dedupe_key": "dup"}"#.into();
    lines[3504] = r#"{"entrypoint": "bulk", "payload": "line 3505", "dedupe_key": "dup"}"#.into();
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(&format!(
            "{path}:3505: duplicate dedupe_key 'dup', first on line 100\nNothing was enqueued."
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(queue_state(&db), (0, 0, vec![]));

    // skip carries on: line 3505 (the key of line 100) is skipped.
    let out = db.pgq(&["--json", "queue", "--batch", path, "--on-conflict", "skip"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["skipped"], 1);
    assert_eq!(json(&out)["enqueued"], 4999);
}

#[test]
fn batch_database_error_mid_file_names_the_failed_line_range() {
    let db = TestDb::installed();
    let mut lines = bulk_lines(2600);
    // Valid JSON, refused by PostgreSQL (text cannot hold NUL).
    lines[2100] = r#"{"entrypoint": "bulk\u0000", "payload": "line 2101"}"#.into();
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{path}:2001-2600: enqueueing: ")),
        "{err}"
    );
    assert!(
        err.contains("this chunk of 600 jobs was not written, nor anything after it (2000 jobs enqueued before it)."),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let (jobs, logs, payloads) = queue_state(&db);
    assert_eq!((jobs, logs), (2000, 2000));
    assert_eq!(payloads.last().map(String::as_str), Some("line 2000"));

    // The first chunk failing late, after the chunks running beside it on
    // the other connections have inserted: they are rolled back, nothing is
    // written, and that is said plainly.
    let db = TestDb::installed();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        db.client()
            .await
            .batch_execute(
                "CREATE FUNCTION boom(ep text) RETURNS boolean LANGUAGE plpgsql AS $$
                 BEGIN
                   IF ep = 'boom' THEN PERFORM pg_sleep(1); RAISE EXCEPTION 'boom at last'; END IF;
                   RETURN true;
                 END $$;
                 ALTER TABLE pgqueuer ADD CONSTRAINT no_boom CHECK (boom(entrypoint));",
            )
            .await
            .unwrap()
    });
    let mut lines = bulk_lines(2500);
    lines[999] = r#"{"entrypoint": "boom"}"#.into();
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{path}:1-1000: enqueueing: boom at last")),
        "{err}"
    );
    assert!(
        err.contains("was not written, nor anything after it (nothing was enqueued)."),
        "{err}"
    );
    assert_eq!(queue_state(&db), (0, 0, vec![]));
}

#[test]
fn batch_is_refused_in_read_only_mode_and_an_empty_file_writes_nothing() {
    let db = TestDb::installed();
    let file = ndjson(&bulk_lines(1200));
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["--read-only", "queue", "--batch", path]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    let empty = ndjson(&["".to_string()]);
    let out = db.pgq(&["--json", "queue", "--batch", empty.path().to_str().unwrap()]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enqueued"], 0);
    assert_eq!(queue_state(&db).0, 0);
}
