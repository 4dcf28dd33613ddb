//! `pgq prune`: old log and statistics rows go in whole batches; log rows not
//! aggregated into statistics never go; SIGINT stops between batches.

use std::time::Duration;

use crate::common::{TestDb, assert_exit, stderr, stdout, wait_for};

/// `n` log rows of entrypoint `ep`, created `days_old` days ago (one
/// millisecond apart), aggregated or not.
async fn seed_log(db: &TestDb, n: i64, ep: &str, days_old: i64, aggregated: bool) {
    db.client()
        .await
        .execute(
            "INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
             SELECT now() - make_interval(days => $2::int) + g * interval '1 ms', g,
                    'successful', 0, $3, $4
             FROM generate_series(1, $1::bigint) AS g",
            &[&n, &(days_old as i32), &ep, &aggregated],
        )
        .await
        .unwrap();
}

async fn seed_statistics(db: &TestDb, n: i64, days_old: i64) {
    db.client()
        .await
        .execute(
            "INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
             SELECT now() - make_interval(days => $2::int) + g * interval '1 s', 1, 0, 'successful', 'e'
             FROM generate_series(1, $1::bigint) AS g",
            &[&n, &(days_old as i32)],
        )
        .await
        .unwrap();
}

/// Log rows by (entrypoint, older than 30 days, aggregated).
async fn log_rows(db: &TestDb) -> Vec<(String, bool, bool, i64)> {
    db.client()
        .await
        .query(
            "SELECT entrypoint, created < now() - interval '30 days', aggregated, count(*)
             FROM pgqueuer_log GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    db.client().await.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn without_an_age_nothing_is_deleted_and_it_says_why() {
    let db = TestDb::installed();
    seed_log(&db, 10, "e", 40, true).await;
    let out = db.pgq(&["prune"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("--log-older-than") && stderr(&out).contains("never deletes"),
        "{}",
        stderr(&out)
    );
    let out = db.pgq(&["prune", "--entrypoint", "e"]);
    assert_exit(&out, 2);
    assert_eq!(count(&db, "SELECT count(*) FROM pgqueuer_log").await, 10);
    let out = db.pgq(&["prune", "--log-older-than", "soon"]);
    assert_exit(&out, 2);
}

#[tokio::test]
async fn old_aggregated_rows_go_and_unaggregated_ones_are_kept_and_counted() {
    let db = TestDb::installed();
    seed_log(&db, 2_500, "a", 40, true).await;
    seed_log(&db, 300, "a", 40, false).await;
    seed_log(&db, 400, "b", 40, true).await;
    seed_log(&db, 200, "a", 1, true).await;

    let out = db.pgq(&["prune", "--log-older-than", "30d", "--batch-size", "1000"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("Deleted 2900 log rows older than"), "{text}");
    assert!(text.contains("3 batches"), "{text}");
    let note = stderr(&out);
    assert!(
        note.contains("300 log rows older than the cut-off were kept")
            && note.contains("not aggregated"),
        "{note}"
    );
    assert_eq!(
        log_rows(&db).await,
        [
            ("a".to_string(), false, true, 200),
            ("a".to_string(), true, false, 300),
        ]
    );
}

#[tokio::test]
async fn entrypoints_limit_what_goes() {
    let db = TestDb::installed();
    seed_log(&db, 50, "a", 40, true).await;
    seed_log(&db, 60, "b", 40, true).await;
    seed_log(&db, 70, "c", 40, true).await;
    let out = db.pgq(&[
        "prune",
        "--log-older-than",
        "30d",
        "--entrypoint",
        "a",
        "--entrypoint",
        "c",
    ]);
    assert_exit(&out, 0);
    assert_eq!(log_rows(&db).await, [("b".to_string(), true, true, 60)]);
}

#[tokio::test]
async fn a_dry_run_prints_the_statements_and_counts_and_deletes_nothing() {
    let db = TestDb::installed();
    seed_log(&db, 120, "a", 40, true).await;
    seed_log(&db, 5, "a", 40, false).await;
    seed_statistics(&db, 30, 100).await;
    let out = db.pgq(&[
        "prune",
        "--log-older-than",
        "30d",
        "--statistics-older-than",
        "90d",
        "--dry-run",
    ]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("DELETE FROM pgqueuer_log"), "{text}");
    assert!(text.contains("DELETE FROM pgqueuer_statistics"), "{text}");
    assert!(
        text.contains("Would delete 120 log rows older than")
            && text.contains("and 30 statistics rows older than"),
        "{text}"
    );
    assert!(stderr(&out).contains("5 log rows"), "{}", stderr(&out));
    assert_eq!(count(&db, "SELECT count(*) FROM pgqueuer_log").await, 125);
    assert_eq!(
        count(&db, "SELECT count(*) FROM pgqueuer_statistics").await,
        30
    );
}

#[tokio::test]
async fn statistics_are_pruned_in_batches_and_json_reports_each_table() {
    let db = TestDb::installed();
    seed_statistics(&db, 250, 100).await;
    seed_statistics(&db, 20, 10).await;
    let out = db.pgq(&[
        "--json",
        "prune",
        "--statistics-older-than",
        "90d",
        "--batch-size",
        "100",
    ]);
    assert_exit(&out, 0);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(report["log"], serde_json::Value::Null);
    assert_eq!(report["statistics"]["eligible"], 250);
    assert_eq!(report["statistics"]["deleted"], 250);
    assert_eq!(report["statistics"]["batches"], 3);
    assert_eq!(report["interrupted"], false);
    assert!(report["statistics"]["max_batch_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM pgqueuer_statistics").await,
        20
    );
}

#[tokio::test]
async fn read_only_refuses_it() {
    let db = TestDb::installed();
    seed_log(&db, 10, "a", 40, true).await;
    let out = db.pgq(&["--read-only", "prune", "--log-older-than", "1d"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    assert_eq!(count(&db, "SELECT count(*) FROM pgqueuer_log").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_after_whole_batches() {
    const BATCH: i64 = 50;
    let db = TestDb::installed();
    seed_log(&db, 200_000, "old", 40, true).await;
    seed_log(&db, 1_000, "new", 1, true).await;
    let before = count(&db, "SELECT count(*) FROM pgqueuer_log").await;

    let mut prune = db.spawn_pgq(
        &[
            "--json",
            "prune",
            "--log-older-than",
            "30d",
            "--batch-size",
            &BATCH.to_string(),
        ],
        &[],
    );
    // Interrupt once some batches are committed.
    let client = db.client().await;
    wait_for(Duration::from_secs(60), || async {
        let left: i64 = client
            .query_one("SELECT count(*) FROM pgqueuer_log", &[])
            .await
            .unwrap()
            .get(0);
        (left < before - 10 * BATCH).then_some(())
    })
    .await
    .expect("the prune deleted some batches");
    prune.signal("INT");
    let report = prune
        .stdout_line(Duration::from_secs(30), |l| l.starts_with('{'))
        .expect("a JSON summary");
    assert_eq!(prune.wait_exit(Duration::from_secs(30)), Some(130));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["interrupted"], true);

    let after = count(&db, "SELECT count(*) FROM pgqueuer_log").await;
    let deleted = report["log"]["deleted"].as_i64().unwrap();
    assert!(
        deleted > 0 && deleted < 200_000,
        "stopped part-way: {deleted}"
    );
    assert_eq!(deleted + after, before, "deleted + remaining = before");
    assert_eq!(deleted % BATCH, 0, "whole batches only");
    assert_eq!(deleted / BATCH, report["log"]["batches"].as_i64().unwrap());
    // Every deleted row was older than the cut-off: the newer ones all remain.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'new'"
        )
        .await,
        1_000
    );
    // The oldest went first: what remains of the old rows is the newest part
    // (job_id follows `created` in the seed).
    let old_left = count(
        &db,
        "SELECT count(*) FROM pgqueuer_log WHERE entrypoint = 'old'",
    )
    .await;
    assert_eq!(old_left, 200_000 - deleted);
    let first_left = count(
        &db,
        "SELECT min(job_id) FROM pgqueuer_log WHERE entrypoint = 'old'",
    )
    .await;
    assert_eq!(first_left, deleted + 1);
}
