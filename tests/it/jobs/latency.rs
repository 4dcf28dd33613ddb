//! Latency percentiles (actions/reports/latency.rs): execution time as PGQueuer
//! 1.6.0's insights define it, checked against the real Python package on
//! the same rows, and wait time (queued → picked) checked by hand.

use crate::common;

use std::time::Duration;

use common::{TestDb, assert_exit, stdout};
use pgq::actions::reports::latency::Percentiles;
use pgq::actions::{kinds, run};

const DURATION_PERCENTILES: &str = include_str!("../../fixtures/duration_percentiles.py");

/// Log rows `(job_id, entrypoint, status, seconds before now)`, in one
/// statement (one `now()`, so equal offsets are equal instants) and in the
/// order given (ids ascending, which breaks ties of equal `created`).
async fn log(db: &TestDb, rows: &[(i64, &str, &str, f64)]) {
    let client = db.client().await;
    let jobs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let entrypoints: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let statuses: Vec<&str> = rows.iter().map(|r| r.2).collect();
    let ago: Vec<f64> = rows.iter().map(|r| r.3).collect();
    client
        .execute(
            "INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint)
             SELECT date_trunc('milliseconds', now()) - make_interval(secs => a),
                    j, s::pgqueuer_status, 0, e
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[])
                  WITH ORDINALITY AS r(j, e, s, a, n)
             ORDER BY n",
            &[&jobs, &entrypoints, &statuses, &ago],
        )
        .await
        .unwrap();
}

/// Jobs whose timings make every path of the definition count: all four
/// terminal statuses, a retry (picked twice), a job still running, a job
/// whose pick is before the window, a terminal row at the same instant as
/// its pick (ordered by id), and rows outside the window.
fn varied_jobs() -> Vec<(i64, &'static str, &'static str, f64)> {
    let mut rows = Vec::new();
    // 40 plain jobs on two entrypoints, execution 0.1 s … 4 s, wait 0.05 s …
    for i in 0..40i64 {
        let ep = if i % 2 == 0 { "fast" } else { "slow" };
        let run = if ep == "fast" { 0.1 } else { 1.0 } * (1 + i % 7) as f64;
        let wait = 0.05 * (1 + i % 5) as f64;
        let end = 100.0 + i as f64;
        let terminal = ["successful", "exception", "canceled", "failed"][(i % 4) as usize];
        rows.push((i + 1, ep, "queued", end + run + wait));
        rows.push((i + 1, ep, "picked", end + run));
        rows.push((i + 1, ep, terminal, end));
    }
    // A retried job: queued, picked, queued again, picked, done.
    rows.extend([
        (100, "fast", "queued", 50.0),
        (100, "fast", "picked", 49.0),
        (100, "fast", "queued", 40.0),
        (100, "fast", "picked", 39.5),
        (100, "fast", "successful", 30.0),
    ]);
    // Still running: a wait, no execution.
    rows.extend([(101, "slow", "queued", 20.0), (101, "slow", "picked", 19.0)]);
    // Picked at the same instant as logged done (ordered by id).
    rows.extend([
        (102, "fast", "picked", 10.0),
        (102, "fast", "successful", 10.0),
    ]);
    // Picked before the window (600 s), finished inside: not paired.
    rows.extend([
        (103, "slow", "picked", 700.0),
        (103, "slow", "successful", 500.0),
    ]);
    // Entirely before the window.
    rows.extend([
        (104, "old", "queued", 900.0),
        (104, "old", "picked", 800.0),
        (104, "old", "successful", 700.0),
    ]);
    rows
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

#[tokio::test]
async fn execution_percentiles_match_python_pgqueuer() {
    let db = TestDb::installed();
    log(&db, &varied_jobs()).await;
    let session = db.session(true).await;
    let window = Duration::from_secs(600);
    let report = run(&session, &kinds::LatencyPercentiles { window }, false)
        .await
        .unwrap();

    let out = db.python(DURATION_PERCENTILES, &[("WINDOW_SECONDS", "600")]);
    assert_exit(&out, 0);
    let python: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(python.len(), 2, "{python:?}");
    let mut names: Vec<&String> = report
        .entrypoints
        .iter()
        .filter(|(_, l)| l.execution.is_some())
        .map(|(name, _)| name)
        .collect();
    names.sort();
    assert_eq!(names, ["fast", "slow"]);
    for row in &python {
        let name = row["entrypoint"].as_str().unwrap();
        let ours: Percentiles = report.entrypoints[name].execution.unwrap();
        assert_eq!(ours.count, row["completed"].as_i64().unwrap(), "{name}");
        for (value, key) in [
            (ours.p50, "p50_seconds"),
            (ours.p95, "p95_seconds"),
            (ours.p99, "p99_seconds"),
            (ours.max, "max_seconds"),
        ] {
            let theirs = row[key].as_f64().unwrap();
            assert!(
                close(value, theirs),
                "{name} {key}: pgq {value}, Python {theirs}"
            );
        }
    }
    // 20 plain jobs + the retried job + the zero-length one on "fast".
    assert_eq!(report.entrypoints["fast"].execution.unwrap().count, 22);
    assert_eq!(report.entrypoints["slow"].execution.unwrap().count, 20);
    assert!(!report.entrypoints.contains_key("old"));
    let overall = report.overall.execution.unwrap();
    assert_eq!(overall.count, 42);
    // The retried job: picked 39.5 s ago, done 30 s ago.
    assert!(close(overall.max, 9.5), "{overall:?}");
}

#[tokio::test]
async fn wait_is_queued_to_picked_per_pick() {
    let db = TestDb::installed();
    // Waits 1, 2, …, 10 s on one entrypoint; one job retried (two waits).
    let mut rows = Vec::new();
    for i in 1..=10i64 {
        rows.push((i, "w", "queued", 100.0 + i as f64));
        rows.push((i, "w", "picked", 100.0));
        rows.push((i, "w", "successful", 99.0));
    }
    rows.extend([
        (11, "w", "queued", 50.0),
        (11, "w", "picked", 39.0),
        (11, "w", "queued", 30.0),
        (11, "w", "picked", 18.0),
        (11, "w", "exception", 17.0),
    ]);
    log(&db, &rows).await;
    let session = db.session(true).await;
    let report = run(
        &session,
        &kinds::LatencyPercentiles {
            window: Duration::from_secs(600),
        },
        false,
    )
    .await
    .unwrap();
    let wait = report.entrypoints["w"].wait.unwrap();
    // 1 … 10, 11, 12: percentile_cont interpolates.
    assert_eq!(wait.count, 12);
    assert!(close(wait.p50, 6.5), "{wait:?}");
    assert!(close(wait.p95, 11.45), "{wait:?}");
    assert!(close(wait.max, 12.0), "{wait:?}");
    assert_eq!(report.entrypoints["w"].execution.unwrap().count, 11);
}

#[tokio::test]
async fn the_stats_refresh_slices_p95_over_the_window() {
    let db = TestDb::installed();
    // Executions of 2 s ending 10 s ago and of 8 s ending 50 min ago.
    log(
        &db,
        &[
            (1, "e", "picked", 12.0),
            (1, "e", "successful", 10.0),
            (2, "e", "picked", 3_008.0),
            (2, "e", "successful", 3_000.0),
        ],
    )
    .await;
    let session = db.session(true).await;
    let stats = run(
        &session,
        &kinds::QueueStats {
            window: pgq::actions::reports::stats::StatsWindow::OneHour,
            latency: true,
        },
        false,
    )
    .await
    .unwrap();
    let series = &stats.latency.series;
    assert_eq!(series.slices, 60);
    let exec = &series.entrypoints["e"].execution;
    // One-minute slices, oldest first: 50 min ago is slice 9, now is 59.
    assert_eq!(exec[59], Some(2.0));
    assert_eq!(exec[9], Some(8.0));
    assert_eq!(exec.iter().filter(|v| v.is_some()).count(), 2);
    assert_eq!(series.overall.execution, *exec);
    assert_eq!(stats.latency.overall.execution.unwrap().count, 2);
}
