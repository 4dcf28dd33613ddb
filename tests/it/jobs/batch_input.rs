//! `queue --batch` input checks (dedupe keys repeated in the file, keys
//! already held, invalid UTF-8) and the ANALYZE after a large batch, against
//! a real PostgreSQL and the real binary.

use crate::common;

use std::time::Duration;

use common::{TestDb, assert_exit, stderr};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    let text = common::stdout(out);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn ndjson(lines: &[String]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    file
}

/// `n` jobs without dedupe keys, payload "line N" (N counted from 1).
fn plain_lines(n: usize) -> Vec<String> {
    (1..=n)
        .map(|line| format!(r#"{{"entrypoint": "bulk", "payload": "line {line}"}}"#))
        .collect()
}

fn keyed(payload: &str, priority: i32, key: &str) -> String {
    format!(
        r#"{{"entrypoint": "bulk", "payload": "{payload}", "priority": {priority}, "dedupe_key": "{key}"}}"#
    )
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

/// (jobs, log rows) in the queue.
fn sizes(db: &TestDb) -> (i64, i64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        (
            count(db, "SELECT count(*) FROM pgqueuer").await,
            count(db, "SELECT count(*) FROM pgqueuer_log").await,
        )
    })
}

#[test]
fn raise_refuses_a_key_repeated_in_the_file_before_writing_anything() {
    let db = TestDb::installed();
    // Lines 100 and 2501 share a key (chunks 1 and 3), so do 4000 and 4500.
    let mut lines = plain_lines(5000);
    lines[99] = keyed("line 100", 0, "dup");
    lines[2500] = keyed("line 2501", 0, "dup");
    lines[3999] = keyed("line 4000", 0, "it's");
    lines[4499] = keyed("line 4500", 0, "it's");
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{path}:2501: duplicate dedupe_key 'dup', first on line 100\n\
             {path}:4500: duplicate dedupe_key 'it\\'s', first on line 4000\n\
             Nothing was enqueued."
        )),
        "{err}"
    );
    assert!(err.contains("--on-conflict skip"), "{err}");
    assert_eq!(sizes(&db), (0, 0), "nothing written, not even chunks 1-2");
}

#[test]
fn skip_keeps_the_first_line_of_a_repeated_key_and_counts_the_rest_skipped() {
    // 'a' three times (twice in chunk 1, once in chunk 2); 'held' is held
    // already and comes twice.
    let mut lines = plain_lines(2500);
    lines[0] = keyed("a first", 1, "a");
    lines[1] = keyed("a second", 7, "a");
    lines[1500] = keyed("a third", 9, "a");
    lines[2] = keyed("held first", 0, "held");
    lines[2400] = keyed("held second", 0, "held");
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    for connections in ["1", "2"] {
        let db = TestDb::installed();
        assert_exit(&db.pgq(&["queue", "other", "--dedupe-key", "held"]), 0);
        let out = db.pgq_env(
            &["--json", "queue", "--batch", path, "--on-conflict", "skip"],
            &[("PGQ_BATCH_CONNECTIONS", connections)],
        );
        assert_exit(&out, 0);
        assert_eq!(json(&out)["enqueued"], 2496, "{connections} connection(s)");
        assert_eq!(json(&out)["skipped"], 4);
        assert_eq!(json(&out)["updated"], 0);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let a: (String, i32) = rt.block_on(async {
            let row = db
                .client()
                .await
                .query_one(
                    "SELECT convert_from(payload, 'UTF8'), priority FROM pgqueuer WHERE dedupe_key = 'a'",
                    &[],
                )
                .await
                .unwrap();
            (row.get(0), row.get(1))
        });
        assert_eq!(a, ("a first".to_string(), 1));
        assert_eq!(sizes(&db), (2497, 2497));
    }
}

/// Queue rows and log rows, comparable across two databases.
async fn queue_contents(db: &TestDb) -> (Vec<String>, Vec<String>) {
    let client = db.client().await;
    let rows = |sql: &'static str| {
        let client = &client;
        async move {
            client
                .query(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    (
        rows("SELECT concat_ws('|', entrypoint, convert_from(payload, 'UTF8'), priority, dedupe_key, status, headers::text) FROM pgqueuer ORDER BY id").await,
        rows("SELECT concat_ws('|', status, entrypoint, priority) FROM pgqueuer_log ORDER BY id").await,
    )
}

#[tokio::test]
async fn update_priority_with_a_repeated_key_matches_enqueuing_line_by_line() {
    // (payload, priority, key) per line; 'b' is held beforehand at priority 4.
    let jobs = [
        ("a1", 1, Some("a")),
        ("a2", 5, Some("a")),
        ("a3", 3, Some("a")),
        ("b1", 2, Some("b")),
        ("plain", 0, None),
        ("b2", 9, Some("b")),
    ];
    let lines: Vec<String> = jobs
        .iter()
        .map(|(payload, priority, key)| match key {
            Some(key) => keyed(payload, *priority, key),
            None => format!(r#"{{"entrypoint": "bulk", "payload": "{payload}"}}"#),
        })
        .collect();
    let file = ndjson(&lines);
    let held = [
        "queue",
        "bulk",
        "held",
        "--dedupe-key",
        "b",
        "--priority",
        "4",
    ];

    let batch = TestDb::installed();
    assert_exit(&batch.pgq(&held), 0);
    let path = file.path().to_str().unwrap();
    let out = batch.pgq(&[
        "--json",
        "queue",
        "--batch",
        path,
        "--on-conflict",
        "update-priority",
    ]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enqueued"], 2, "a1 and plain");
    assert_eq!(json(&out)["updated"], 4);

    let one_by_one = TestDb::installed();
    assert_exit(&one_by_one.pgq(&held), 0);
    for (payload, priority, key) in jobs {
        let priority = priority.to_string();
        let mut args = vec!["queue", "bulk", payload, "--priority", &priority];
        if let Some(key) = key {
            args.extend(["--dedupe-key", key, "--on-conflict", "update-priority"]);
        }
        assert_exit(&one_by_one.pgq(&args), 0);
    }

    let (queue, log) = queue_contents(&batch).await;
    assert_eq!(
        (queue.clone(), log.clone()),
        queue_contents(&one_by_one).await
    );
    assert_eq!(
        queue,
        [
            "bulk|held|9|b|queued|null",
            "bulk|a1|5|a|queued|null",
            "bulk|plain|0|queued|null"
        ]
    );
    // The log keeps each new job's own priority, as line-by-line calls do.
    assert_eq!(log, ["queued|bulk|4", "queued|bulk|1", "queued|bulk|0"]);
}

#[test]
fn invalid_utf8_is_reported_with_its_line_and_column() {
    let db = TestDb::installed();
    let mut text = plain_lines(6).join("\n").into_bytes();
    // Line 3: "café" in Latin-1; line 5: two stray bytes up front.
    let line3 = br#"{"entrypoint": "bulk", "payload": "caf"#;
    let mut bad3 = line3.to_vec();
    bad3.extend(b"\xE9\"}");
    let column3 = line3.len() + 1;
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let mut patched: Vec<Vec<u8>> = lines.iter().map(|l| l.to_vec()).collect();
    patched[2] = bad3;
    patched[4] = [b"\xFF\xFE".as_slice(), lines[4]].concat();
    text = patched.join(&b'\n');
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &text).unwrap();
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{path}:3:{column3}: invalid UTF-8 (byte 0xE9)\n{path}:5:1: invalid UTF-8 (byte 0xFF)\nNothing was enqueued."
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // The same from standard input.
    let mut child = common::pgq_cmd(&["queue", "--batch", "-"], &[("PGDSN", &db.dsn())])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&text).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(&format!("<stdin>:3:{column3}: invalid UTF-8")),
        "{}",
        stderr(&out)
    );
    assert_eq!(sizes(&db), (0, 0));
}

#[tokio::test]
async fn raise_writes_nothing_for_a_held_key_and_says_what_stays_when_one_is_taken_meanwhile() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "other", "--dedupe-key", "taken"]), 0);
    let mut lines = plain_lines(5000);
    lines[2500] = keyed("line 2501", 0, "taken");
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{path}:2501: duplicate dedupe_key 'taken' (a queued or picked job holds it); nothing was enqueued."
        )),
        "{err}"
    );
    let jobs = count(&db, "SELECT count(*) FROM pgqueuer").await;
    assert_eq!(jobs, 1, "only the job held before");

    // A key taken after the check, while chunks are written (here by a
    // trigger on line 10's row, as another producer would): the chunks
    // before the conflict stay, and the error says how many.
    let db = TestDb::installed();
    db.client()
        .await
        .batch_execute(
            "CREATE FUNCTION plant() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               INSERT INTO pgqueuer (priority, entrypoint, dedupe_key, status)
               VALUES (0, 'planted', 'late', 'queued');
               RETURN NULL;
             END $$;
             CREATE TRIGGER plant AFTER INSERT ON pgqueuer FOR EACH ROW
               WHEN (NEW.entrypoint = 'plant') EXECUTE FUNCTION plant();",
        )
        .await
        .unwrap();
    let mut lines = plain_lines(5000);
    lines[9] = r#"{"entrypoint": "plant"}"#.to_string();
    lines[2500] = keyed("line 2501", 0, "late");
    let file = ndjson(&lines);
    let path = file.path().to_str().unwrap();
    let out = db.pgq(&["queue", "--batch", path]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{path}:2501: duplicate dedupe_key 'late' (taken while this batch was being written); \
             this chunk of 1000 jobs (lines 2001-3000) was not written, nor anything after it; \
             2000 jobs (lines 1-2000) were written before the conflict and stay queued."
        )),
        "{err}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM pgqueuer").await,
        2001,
        "lines 1-2000 and the planted job"
    );
}

async fn analyze_count(db: &TestDb) -> i64 {
    count(
        db,
        "SELECT coalesce(max(analyze_count), 0) FROM pg_stat_user_tables WHERE relname = 'pgqueuer'",
    )
    .await
}

#[tokio::test]
async fn a_batch_of_10000_jobs_analyzes_the_queue_table_unless_told_not_to() {
    let db = TestDb::installed();
    let big = ndjson(&plain_lines(10_000));
    let small = ndjson(&plain_lines(9_999));
    let (big, small) = (big.path().to_str().unwrap(), small.path().to_str().unwrap());

    let out = db.pgq(&["--json", "queue", "--batch", big, "--no-analyze"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enqueued"], 10_000);
    assert_eq!(json(&out)["analyzed"], false);
    let out = db.pgq(&["--json", "queue", "--batch", small]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["analyzed"], false, "below the threshold");
    assert_eq!(analyze_count(&db).await, 0);

    let out = db.pgq(&["queue", "--batch", big]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("Analyzed pgqueuer so the next dequeues plan with the new rows"),
        "{}",
        stderr(&out)
    );
    let seen = common::wait_for(Duration::from_secs(10), || async {
        let n = analyze_count(&db).await;
        (n > 0).then_some(n)
    })
    .await;
    // Exactly one: the runs before did not analyze.
    assert_eq!(seen, Some(1));

    // A usage error without --batch.
    assert_exit(&db.pgq(&["queue", "e", "--no-analyze"]), 2);
}

#[tokio::test]
async fn a_role_that_may_not_analyze_gets_a_note_and_the_batch_stands() {
    let db = TestDb::installed();
    let client = db.client().await;
    let role = format!("writer_{}", &db.name[7..]);
    client
        .batch_execute(&format!(
            "CREATE ROLE {role} LOGIN;
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {role};
             GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};"
        ))
        .await
        .unwrap();
    let mut url = url::Url::parse(&db.dsn()).unwrap();
    url.set_username(&role).unwrap();
    let big = ndjson(&plain_lines(10_000));
    let path = big.path().to_str().unwrap();
    let out = common::pgq_cmd(
        &["--json", "queue", "--batch", path],
        &[("PGDSN", url.as_str())],
    )
    .output()
    .unwrap();
    let text = common::pgq_cmd(&["queue", "--batch", path], &[("PGDSN", url.as_str())])
        .output()
        .unwrap();
    let analyzed = analyze_count(&db).await;
    let jobs = count(&db, "SELECT count(*) FROM pgqueuer").await;
    // Roles are cluster-wide: drop it after the database is gone.
    drop(client);
    drop(db);
    common::connect(&common::admin_dsn())
        .await
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .await
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(json(&out)["enqueued"], 10_000);
    assert_eq!(json(&out)["analyzed"], false);
    assert_exit(&text, 0);
    assert!(
        stderr(&text).contains(&format!(
            "note: pgqueuer was not analyzed: role '{role}' may not (only its owner may)"
        )),
        "{}",
        stderr(&text)
    );
    assert_eq!(analyzed, 0);
    assert_eq!(jobs, 20_000);
}
