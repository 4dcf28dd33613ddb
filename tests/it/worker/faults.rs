//! Worker faults around stopping (issue 11): a stop during a fast drain must
//! run or return every job the worker claimed, including the claims of
//! dequeues still in flight when the signal came; a worker that gives up
//! after a database failure returns its stopped jobs when the database
//! answers, and says truthfully that they stay `picked` when it does not.
//! Every test counts every job afterwards.

use crate::common;

use std::time::Duration;

use common::{Spawned, TestDb, count, log_statuses, manifest_file, wait_for};
use tokio_postgres::Client;

const WAIT: Duration = Duration::from_secs(30);
const NOOP: &str = "[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n";
const SLOW: &str = "[[entrypoint]]\nname = \"slow\"\ncommand = [\"sleep\", \"30\"]\n";
/// Enough no-op jobs that a drain is still claiming batches when it is stopped.
const DRAIN_JOBS: i64 = 30_000;

fn spawn_worker(db: &TestDb, manifest: &tempfile::NamedTempFile, extra: &[&str]) -> Spawned {
    let mut args = vec![
        "run",
        manifest.path().to_str().expect("utf-8 temp path"),
        "--log-level",
        "info",
    ];
    args.extend_from_slice(extra);
    db.spawn_pgq(&args, &[])
}

/// Start from an empty queue and log, then queue `n` jobs in one statement.
async fn refill(client: &Client, entrypoint: &str, n: i64) {
    client
        .batch_execute("TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics")
        .await
        .expect("truncate");
    client
        .execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint, payload)
             SELECT 0, 'queued', $1, NULL FROM generate_series(1, $2::bigint)",
            &[&entrypoint, &n],
        )
        .await
        .expect("enqueue");
}

/// Where every job is after a worker ended.
#[derive(Debug)]
struct Tally {
    /// Distinct jobs logged `successful` (their rows are deleted).
    successful: i64,
    queued: i64,
    picked: i64,
    /// Rows in any other status (none expected from no-op jobs).
    other: i64,
}

async fn tally(client: &Client) -> Tally {
    let row = client
        .query_one(
            "SELECT (SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'),
                    (SELECT count(*) FROM pgqueuer WHERE status = 'queued'),
                    (SELECT count(*) FROM pgqueuer WHERE status = 'picked'),
                    (SELECT count(*) FROM pgqueuer WHERE status NOT IN ('queued', 'picked'))",
            &[],
        )
        .await
        .expect("tally");
    Tally {
        successful: row.get(0),
        queued: row.get(1),
        picked: row.get(2),
        other: row.get(3),
    }
}

/// Drain `DRAIN_JOBS` no-op jobs, send `signals` SIGTERMs once `after` jobs
/// were logged successful, and check that the worker ran or returned every
/// job it claimed: each job is logged successful or still `queued`.
async fn stop_mid_drain(db: &TestDb, client: &Client, extra: &[&str], after: i64, signals: usize) {
    refill(client, "ping", DRAIN_JOBS).await;
    let manifest = manifest_file(NOOP);
    let mut worker = spawn_worker(db, &manifest, extra);
    let started = wait_for(WAIT, || async {
        let done = count(
            client,
            "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'",
        )
        .await;
        (done >= after).then_some(())
    })
    .await;
    assert!(started.is_some(), "{extra:?}: {after} jobs never finished");
    for _ in 0..signals {
        worker.signal("TERM");
    }
    assert_eq!(worker.wait_exit(WAIT), Some(0), "{extra:?}: exit status");
    let t = tally(client).await;
    let case = format!("{extra:?}, stopped after {after} jobs, {signals} signal(s): {t:?}");
    assert_eq!(t.picked, 0, "jobs left picked by a stopped worker; {case}");
    assert_eq!(t.other, 0, "{case}");
    assert_eq!(t.successful + t.queued, DRAIN_JOBS, "jobs lost; {case}");
    // Otherwise the stop came too late to test anything.
    assert!(t.queued > 0, "the drain finished before the stop; {case}");
}

#[tokio::test]
async fn a_stop_during_a_fast_drain_runs_or_returns_every_claimed_job() {
    let db = TestDb::installed();
    let client = db.client().await;
    let parallel = ["--batch-size", "100", "--dequeue-connections", "2"];
    // Different moments in the drain, and a second (fast-stop) signal.
    for (after, signals) in [(1, 1), (2_000, 1), (5_000, 2), (500, 1), (3_000, 2)] {
        stop_mid_drain(&db, &client, &parallel, after, signals).await;
    }
}

#[tokio::test]
async fn a_stop_during_a_fast_drain_on_one_connection_leaves_nothing_picked() {
    let db = TestDb::installed();
    let client = db.client().await;
    for (batch, after, signals) in [("100", 1_000, 1), ("10", 300, 1), ("10", 1_500, 2)] {
        stop_mid_drain(&db, &client, &["--batch-size", batch], after, signals).await;
    }
}

/// Queue three `sleep 30` jobs and wait until a running worker picked them.
async fn three_running_jobs(db: &TestDb, client: &Client) -> Spawned {
    refill(client, "slow", 3).await;
    let manifest = manifest_file(SLOW);
    let worker = spawn_worker(db, &manifest, &[]);
    let picked = wait_for(WAIT, || async {
        let n = count(
            client,
            "SELECT count(*) FROM pgqueuer WHERE status = 'picked'",
        )
        .await;
        (n == 3).then_some(())
    })
    .await;
    assert!(picked.is_some(), "the worker never picked its three jobs");
    // The manifest file may go now: the worker read it before picking.
    worker
}

/// End every connection to the test database but `client`'s own: the
/// worker sees its connections fail and, without `--restart-on-failure`,
/// gives up.
async fn terminate_worker_backends(db: &TestDb, client: &Client) {
    let ended = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db.name],
        )
        .await
        .expect("terminate the worker's backends")
        .len();
    assert!(ended >= 2, "the worker's connections were not found");
}

/// Everything the (exited) worker wrote on stderr: read until the pipe closes.
fn stderr_lines(worker: &Spawned) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = worker.stderr.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }
    lines
}

#[tokio::test]
async fn a_worker_that_gives_up_returns_its_jobs_when_the_database_answers() {
    let db = TestDb::installed();
    let client = db.client().await;
    let mut worker = three_running_jobs(&db, &client).await;
    terminate_worker_backends(&db, &client).await;
    assert_eq!(worker.wait_exit(WAIT), Some(1));
    let rows = client
        .query(
            "SELECT id, status::text, queue_manager_id IS NULL FROM pgqueuer ORDER BY id",
            &[],
        )
        .await
        .expect("read the queue");
    assert_eq!(rows.len(), 3);
    for row in &rows {
        let id: i64 = row.get(0);
        assert_eq!(row.get::<_, String>(1), "queued", "job {id}");
        assert!(row.get::<_, bool>(2), "job {id} still names the worker");
    }
    let log = log_statuses(&client).await;
    for row in &rows {
        let id: i64 = row.get(0);
        let statuses: Vec<&str> = log
            .iter()
            .filter(|(job, _)| *job == id)
            .map(|(_, s)| s.as_str())
            .collect();
        assert_eq!(statuses, ["picked", "queued"], "log of job {id}");
    }
    let lines = stderr_lines(&worker);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Returned stopped jobs to the queue") && l.contains("jobs=3")),
        "no truthful return line:\n{}",
        lines.join("\n")
    );
}

#[tokio::test]
async fn a_worker_that_gives_up_without_a_database_says_its_jobs_stay_picked() {
    let db = TestDb::installed();
    let client = db.client().await;
    let mut worker = three_running_jobs(&db, &client).await;
    // Refuse new connections (superusers included), so the worker cannot
    // write anything back after its own connections end.
    // (A database cannot refuse connections from a session inside it.)
    let admin = common::connect(&common::admin_dsn()).await;
    let allow = |on: bool| format!("ALTER DATABASE {} ALLOW_CONNECTIONS {on}", db.name);
    admin.batch_execute(&allow(false)).await.expect("refuse");
    terminate_worker_backends(&db, &client).await;
    let status = worker.wait_exit(WAIT);
    admin.batch_execute(&allow(true)).await.expect("allow");
    assert_eq!(status, Some(1));
    let picked = count(
        &client,
        "SELECT count(*) FROM pgqueuer WHERE status = 'picked'",
    )
    .await;
    assert_eq!(picked, 3, "the rows could not have been written");
    let lines = stderr_lines(&worker);
    let all = lines.join("\n");
    assert!(
        !all.contains("eturning it to the queue") && !all.contains("Returned stopped jobs"),
        "a line claims the jobs went back:\n{all}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("jobs left picked") && l.contains("jobs=3")),
        "no line says the jobs stay picked:\n{all}"
    );
}
