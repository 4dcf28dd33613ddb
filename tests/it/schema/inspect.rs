//! `pgq size`, `throughput`, `log` and `tables` (PGQueuer 2.2's read-only
//! commands, pgq's own shapes): the real binary on a seeded database, JSON
//! checked number by number, text checked to be a table.

use serde_json::Value;

use crate::common::{TestDb, assert_exit, stderr, stdout};

/// Queue: alpha 3 queued + 2 picked, beta 1 held. Log, not aggregated:
/// alpha 4 successful, 2 queued and 1 picked (not finishes) a minute ago,
/// then one exception (the newest row); beta 2 canceled ten minutes ago and
/// 1 deleted a minute ago; gamma 5 successful two hours ago. Statistics:
/// alpha 6 successful twenty minutes ago.
async fn seed(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint)
             SELECT 0, s::pgqueuer_status, e FROM (VALUES
               ('queued', 'alpha'), ('queued', 'alpha'), ('queued', 'alpha'),
               ('picked', 'alpha'), ('picked', 'alpha'), ('failed', 'beta')) AS v(s, e);
             INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint)
             SELECT now() - make_interval(mins => m), j, s::pgqueuer_status, 0, e FROM (VALUES
               (0, 120, 90, 'successful', 'gamma'),
               (1, 120, 91, 'successful', 'gamma'),
               (2, 120, 92, 'successful', 'gamma'),
               (3, 120, 93, 'successful', 'gamma'),
               (4, 120, 94, 'successful', 'gamma'),
               (5, 10, 80, 'canceled', 'beta'),
               (6, 10, 81, 'canceled', 'beta'),
               (7, 1, 82, 'deleted', 'beta'),
               (8, 1, 70, 'queued', 'alpha'),
               (9, 1, 71, 'queued', 'alpha'),
               (10, 1, 71, 'picked', 'alpha'),
               (11, 1, 70, 'successful', 'alpha'),
               (12, 1, 71, 'successful', 'alpha'),
               (13, 1, 72, 'successful', 'alpha'),
               (14, 1, 73, 'successful', 'alpha'))
               AS v(n, m, j, s, e) ORDER BY n;
             INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback)
             VALUES (74, 'exception', 3, 'alpha',
                     '{\"exception_type\": \"ValueError\", \"exception_message\": \"bad input\"}');
             INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
             VALUES (date_trunc('sec', now() - interval '20 minutes'), 6, 0, 'successful', 'alpha');",
        )
        .await
        .expect("seed");
}

#[track_caller]
fn json(db: &TestDb, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = db.pgq(&all);
    assert_exit(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// Text output is a comfy table with these column titles in its header.
#[track_caller]
fn assert_table(db: &TestDb, args: &[&str], titles: &[&str]) -> String {
    let out = db.pgq(args);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let header = text
        .lines()
        .find(|l| l.starts_with("| "))
        .unwrap_or_else(|| panic!("no table:\n{text}"));
    for title in titles {
        assert!(header.contains(title), "{title} missing:\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("+--")), "{text}");
    text
}

#[tokio::test]
async fn size_reports_every_table_and_the_queue_counts() {
    let db = TestDb::installed();
    seed(&db).await;
    let size = json(&db, &["size"]);
    assert_eq!(size["queued"], 3, "{size}");
    assert_eq!(size["picked"], 2, "{size}");
    assert_eq!(size["failed"], 1, "{size}");
    let tables = size["tables"].as_array().unwrap();
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pgqueuer",
            "pgqueuer_log",
            "pgqueuer_statistics",
            "pgqueuer_schedules"
        ]
    );
    let mut sum = 0;
    for t in tables {
        let total = t["total_bytes"].as_i64().unwrap();
        assert!(total > 0, "{t}");
        assert_eq!(
            total,
            t["table_bytes"].as_i64().unwrap() + t["index_bytes"].as_i64().unwrap(),
            "{t}"
        );
        sum += total;
    }
    assert_eq!(size["total_bytes"], sum, "{size}");

    let text = assert_table(
        &db,
        &["size"],
        &["Table", "Rows (estimate)", "Indexes", "Total"],
    );
    assert!(
        text.contains("Queue: 3 queued, 2 picked, 1 failed (held)."),
        "{text}"
    );
}

#[tokio::test]
async fn throughput_counts_finishes_in_the_window_from_statistics_and_log() {
    let db = TestDb::installed();
    seed(&db).await;
    let hour = json(&db, &["throughput", "--window", "1h"]);
    assert_eq!(hour["window_seconds"], 3600.0, "{hour}");
    assert_eq!(hour["total"], 14, "{hour}");
    let rate = hour["per_second"].as_f64().unwrap();
    assert!((rate - 14.0 / 3600.0).abs() < 1e-9, "{hour}");
    let eps = hour["entrypoints"].as_array().unwrap();
    assert_eq!(eps.len(), 2, "gamma finished outside the window: {hour}");
    assert_eq!(eps[0]["entrypoint"], "alpha");
    assert_eq!(eps[0]["total"], 11);
    assert_eq!(
        eps[0]["statuses"],
        serde_json::json!({"successful": 10, "exception": 1}),
        "queued and picked rows are not finishes"
    );
    assert_eq!(eps[1]["entrypoint"], "beta");
    assert_eq!(
        eps[1]["statuses"],
        serde_json::json!({"canceled": 2, "deleted": 1})
    );

    let five = json(&db, &["throughput"]);
    assert_eq!(five["window_seconds"], 300.0, "the default window is 5m");
    assert_eq!(five["total"], 6, "{five}");

    let text = assert_table(
        &db,
        &["throughput", "-w", "1h"],
        &["Entrypoint", "Finished", "Jobs/s", "Successful", "Canceled"],
    );
    let total = text.lines().find(|l| l.starts_with("| total")).unwrap();
    assert!(total.contains("| 14 "), "{text}");
}

#[tokio::test]
async fn log_lists_the_newest_rows_with_filters() {
    let db = TestDb::installed();
    seed(&db).await;
    let newest = json(&db, &["log", "-n", "2"]);
    let rows = newest.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["job_id"], 74);
    assert_eq!(rows[0]["status"], "exception");
    assert_eq!(rows[0]["priority"], 3);
    assert_eq!(rows[0]["traceback"]["exception_type"], "ValueError");
    assert_eq!(rows[1]["job_id"], 73, "newest first");
    assert!(rows[0]["id"].as_i64() > rows[1]["id"].as_i64());

    let all = json(&db, &["log", "-n", "10000"]);
    assert_eq!(all.as_array().unwrap().len(), 16);
    let beta = json(&db, &["log", "--entrypoint", "beta"]);
    assert_eq!(beta.as_array().unwrap().len(), 3, "{beta}");
    let canceled = json(
        &db,
        &["log", "-e", "beta", "-e", "gamma", "--status", "canceled"],
    );
    let jobs: Vec<i64> = canceled
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_id"].as_i64().unwrap())
        .collect();
    assert_eq!(jobs, [81, 80]);
    let job = json(&db, &["log", "--job", "71"]);
    let statuses: Vec<&str> = job
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["successful", "picked", "queued"]);

    let text = assert_table(
        &db,
        &["log", "-n", "1"],
        &["ID", "Job", "Created", "Status", "Entrypoint", "Traceback"],
    );
    assert!(text.contains("ValueError: bad input"), "{text}");
    let none = db.pgq(&["log", "--job", "999"]);
    assert_exit(&none, 0);
    assert_eq!(stdout(&none), "No log rows.\n");
}

#[tokio::test]
async fn tables_report_persistence_and_autovacuum_settings() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["alter-durability", "balanced"]), 0);
    assert_exit(&db.pgq(&["autovac"]), 0);
    let tables = json(&db, &["tables"]);
    let tables = tables.as_array().unwrap();
    let persistence: Vec<(&str, &str)> = tables
        .iter()
        .map(|t| {
            assert_eq!(t["exists"], true, "{t}");
            (
                t["role"].as_str().unwrap(),
                t["persistence"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        persistence,
        [
            ("queue", "logged"),
            ("log", "unlogged"),
            ("statistics", "unlogged"),
            ("schedules", "logged")
        ]
    );
    let queue_settings = tables[0]["autovacuum"].as_array().unwrap();
    assert!(!queue_settings.is_empty(), "{tables:?}");
    assert!(
        queue_settings
            .iter()
            .all(|s| s.as_str().unwrap().starts_with("autovacuum")),
        "{queue_settings:?}"
    );
    assert_table(
        &db,
        &["tables"],
        &[
            "Table",
            "Exists",
            "Persistence",
            "Rows (estimate)",
            "Autovacuum",
        ],
    );
}

#[test]
fn they_only_read_so_a_read_only_session_runs_them() {
    let db = TestDb::installed();
    for args in [["size"].as_slice(), &["throughput"], &["log"], &["tables"]] {
        let mut all = vec!["--read-only", "--json"];
        all.extend_from_slice(args);
        let out = db.pgq(&all);
        assert_exit(&out, 0);
        assert!(
            serde_json::from_str::<Value>(&stdout(&out)).is_ok(),
            "{args:?}"
        );
    }
}

#[test]
fn without_pgqueuer_tables_say_missing_and_the_others_fail_in_one_line() {
    let db = TestDb::new();
    let tables = json(&db, &["tables"]);
    assert!(
        tables
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["exists"] == false && t["persistence"].is_null()),
        "{tables}"
    );
    // Every reader says the same: what is missing, by name, and what to run.
    for (command, table) in [
        ("size", "pgqueuer"),
        ("throughput", "pgqueuer_statistics"),
        ("log", "pgqueuer_log"),
        ("schedules", "pgqueuer_schedules"),
        ("jobs", "pgqueuer"),
    ] {
        let out = db.pgq(&[command]);
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{command}: {err}");
        assert!(
            err.contains(&format!(
                "is not installed (prefix='', schema=None): missing relation \"{table}\". Run 'pgq install' first."
            )),
            "{command}: {err}"
        );
        assert!(!err.contains("SQLSTATE"), "{err}");
    }
}

#[test]
fn bad_values_are_usage_errors() {
    let db = TestDb::installed();
    // Each error names the option (or argument) that was wrong.
    for (args, names) in [
        (["throughput", "--window", "0"].as_slice(), "--window"),
        (&["throughput", "--window=-5m"], "--window"),
        (&["throughput", "--window", "400d"], "at most 366d"),
        (&["throughput", "--window", "soon"], "--window"),
        (&["log", "-n", "0"], "--limit"),
        (&["log", "-n", "10001"], "--limit"),
        (&["log", "--status", "done"], "--status"),
        (&["log", "--job", "0"], "--job"),
        (&["log", "--job", "x"], "--job"),
        (&["log", "--entrypoint", " "], "cannot be blank"),
        (&["size", "extra"], "unexpected argument 'extra'"),
        (
            &["tables", "--window", "5m"],
            "unexpected argument '--window'",
        ),
    ] {
        let out = db.pgq(args);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains(names), "{args:?}: {err}");
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}
