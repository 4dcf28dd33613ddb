//! `pgq run` against a real PostgreSQL: each PGQueuer 1.6 worker semantic in
//! its own test (priority order, execute_after, dedupe release, retries,
//! hold + requeue, cancellation, drain, heartbeat re-pick after kill -9,
//! graceful and forced shutdown, a terminated backend, schedules with two
//! schedulers, broken manifests).

use crate::common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{Spawned, TestDb, assert_exit, log_statuses, manifest_file, path, stderr, wait_for};

const WAIT: Duration = Duration::from_secs(20);

/// Run a worker in drain mode to completion.
fn drain(db: &TestDb, manifest: &tempfile::NamedTempFile, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", path(manifest), "--mode", "drain"];
    args.extend_from_slice(extra);
    db.pgq(&args)
}

fn spawn_worker(db: &TestDb, manifest: &tempfile::NamedTempFile, extra: &[&str]) -> Spawned {
    let mut args = vec!["run", path(manifest)];
    args.extend_from_slice(extra);
    db.spawn_pgq(&args, &[])
}

async fn statuses_of(db: &TestDb, job: i64) -> Vec<String> {
    log_statuses(&db.client().await)
        .await
        .into_iter()
        .filter(|(id, _)| *id == job)
        .map(|(_, s)| s)
        .collect()
}

/// Wait until `n` queue rows are `picked`.
async fn wait_picked(db: &TestDb, n: i64) {
    let client = db.client().await;
    let seen = wait_for(WAIT, || async {
        let row = client
            .query_one("SELECT count(*) FROM pgqueuer WHERE status = 'picked'", &[])
            .await
            .expect("count picked");
        (row.get::<_, i64>(0) >= n).then_some(())
    })
    .await;
    assert!(seen.is_some(), "{n} job(s) were never picked");
}

async fn wait_status(db: &TestDb, job: i64, status: &str) {
    let found = wait_for(WAIT, || async {
        statuses_of(db, job)
            .await
            .iter()
            .any(|s| s == status)
            .then_some(())
    })
    .await;
    assert!(
        found.is_some(),
        "job {job} never logged {status}: {:?}",
        statuses_of(db, job).await
    );
}

const NOOP: &str = "[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n";

#[tokio::test]
async fn jobs_are_picked_by_priority_then_id() {
    let db = TestDb::installed();
    let ids: Vec<i64> = [1, 5, 3, 5, -2]
        .iter()
        .map(|p| db.enqueue(&["ping", "-p", &p.to_string()]))
        .collect();
    let manifest = manifest_file(NOOP);
    assert_exit(&drain(&db, &manifest, &["--batch-size", "1"]), 0);
    let picked: Vec<i64> = log_statuses(&db.client().await)
        .await
        .into_iter()
        .filter(|(_, s)| s == "picked")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(picked, vec![ids[1], ids[3], ids[2], ids[0], ids[4]]);
}

#[tokio::test]
async fn execute_after_defers_a_job_and_drain_waits_for_it() {
    let db = TestDb::installed();
    // Deferred long enough that the worker is surely running before it is
    // due, even on a loaded machine (1.5 s was missed in CI).
    let later = db.enqueue(&["ping", "--execute-after", "4"]);
    let now = db.enqueue(&["ping"]);
    let client = db.client().await;
    let due: DateTime<Utc> = client
        .query_one(
            "SELECT execute_after FROM pgqueuer WHERE id = $1",
            &[&later],
        )
        .await
        .unwrap()
        .get(0);
    let manifest = manifest_file(NOOP);
    let started = Instant::now();
    assert_exit(&drain(&db, &manifest, &[]), 0);
    assert!(started.elapsed() >= Duration::from_millis(3000));
    let picked_at = |job: i64| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT created FROM pgqueuer_log WHERE job_id = $1 AND status = 'picked'",
                    &[&job],
                )
                .await
                .expect("one picked row")
                .get::<_, DateTime<Utc>>(0)
        }
    };
    assert!(picked_at(later).await >= due, "picked before execute_after");
    assert!(
        picked_at(now).await < due,
        "the due job waited for the deferred one"
    );
    assert_eq!(
        statuses_of(&db, later).await,
        ["queued", "picked", "successful"]
    );
}

#[tokio::test]
async fn a_finished_job_releases_its_dedupe_key() {
    let db = TestDb::installed();
    let first = db.enqueue(&["ping", "--dedupe-key", "nightly"]);
    assert_exit(&db.pgq(&["queue", "ping", "--dedupe-key", "nightly"]), 1);
    let manifest = manifest_file(NOOP);
    assert_exit(&drain(&db, &manifest, &[]), 0);
    let second = db.enqueue(&["ping", "--dedupe-key", "nightly"]);
    assert!(second > first);
}

#[tokio::test]
async fn retries_requeue_with_backoff_then_fail_with_python_shaped_log_rows() {
    let db = TestDb::installed();
    let job = db.enqueue(&["flaky", "boom"]);
    let manifest = manifest_file(
        "[[entrypoint]]\nname = \"flaky\"\nbuiltin = \"fail\"\nmax_attempts = 2\ninitial_delay = 0.2\nmultiplier = 2\n",
    );
    assert_exit(&drain(&db, &manifest, &[]), 0);
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT status::text, traceback, created FROM pgqueuer_log WHERE job_id = $1 ORDER BY id",
            &[&job],
        )
        .await
        .unwrap();
    let statuses: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        statuses,
        [
            "queued",
            "picked",
            "queued",
            "picked",
            "queued",
            "picked",
            "exception"
        ]
    );
    let tb = |i: usize| rows[i].get::<_, serde_json::Value>(1);
    for (row, attempt, delay) in [(2, 0, "0:00:00.200000"), (4, 1, "0:00:00.400000")] {
        let t = tb(row);
        assert_eq!(t["exception_type"], "RetryRequested");
        assert_eq!(t["exception_message"], "boom");
        assert_eq!(t["job_id"], job);
        assert_eq!(t["additional_context"]["attempt"], attempt);
        assert_eq!(t["additional_context"]["retry_delay"], delay);
        assert_eq!(t["additional_context"]["reason"], "boom");
        assert_eq!(t["additional_context"]["entrypoint"], "flaky");
    }
    let last = tb(6);
    assert_eq!(last["exception_type"], "JobFailed");
    assert_eq!(last["exception_message"], "boom");
    assert!(last["additional_context"]["queue_manager_id"].is_string());
    // The retry delay was honoured before each re-pick.
    let at = |i: usize| rows[i].get::<_, DateTime<Utc>>(2);
    assert!(at(3) - at(2) >= chrono::Duration::milliseconds(200));
    assert!(at(5) - at(4) >= chrono::Duration::milliseconds(400));
    let attempts: i64 = client
        .query_one("SELECT count(*) FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(attempts, 0, "an exception deletes the row");
}

#[tokio::test]
async fn held_jobs_stay_failed_until_requeued() {
    let db = TestDb::installed();
    let job = db.enqueue(&["fragile", "broken input"]);
    let failing = manifest_file(
        "[[entrypoint]]\nname = \"fragile\"\nbuiltin = \"fail\"\non_failure = \"hold\"\n",
    );
    assert_exit(&drain(&db, &failing, &[]), 0);
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT status::text, queue_manager_id IS NULL FROM pgqueuer WHERE id = $1",
            &[&job],
        )
        .await
        .expect("the held row stays");
    assert_eq!(row.get::<_, String>(0), "failed");
    assert!(row.get::<_, bool>(1));
    let tb: serde_json::Value = client
        .query_one(
            "SELECT traceback FROM pgqueuer_log WHERE job_id = $1 AND status = 'failed'",
            &[&job],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tb["exception_message"], "broken input");

    assert_exit(&db.pgq(&["requeue", &job.to_string()]), 0);
    let fixed = manifest_file("[[entrypoint]]\nname = \"fragile\"\nbuiltin = \"noop\"\n");
    assert_exit(&drain(&db, &fixed, &[]), 0);
    assert_eq!(
        statuses_of(&db, job).await,
        [
            "queued",
            "picked",
            "failed",
            "queued",
            "picked",
            "successful"
        ]
    );
}

#[tokio::test]
async fn a_cancellation_event_stops_a_running_command() {
    let db = TestDb::installed();
    let manifest = manifest_file(
        r#"[[entrypoint]]
name = "long"
command = ["sh", "-c", "trap 'echo got-sigterm; exit 3' TERM; sleep 30 & wait"]
"#,
    );
    let mut worker = spawn_worker(&db, &manifest, &[]);
    let job = db.enqueue(&["long"]);
    wait_picked(&db, 1).await;
    let started = Instant::now();
    // The real PGQueuer 1.6.0 cancel: log `canceled` + cancellation_event.
    let out = db.python(
        r#"
import asyncio, os, asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    await Queries(AsyncpgDriver(conn)).mark_job_as_cancelled([int(os.environ["JOB"])])
    await conn.close()

asyncio.run(main())
"#,
        &[("JOB", &job.to_string())],
    );
    assert_exit(&out, 0);
    assert!(
        worker
            .stderr_line(WAIT, |l| l.contains("got-sigterm"))
            .is_some(),
        "the command never got SIGTERM"
    );
    assert!(
        worker
            .stderr_line(WAIT, |l| l.contains("Job canceled"))
            .is_some(),
        "the worker did not log the cancellation"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    assert_eq!(
        statuses_of(&db, job).await,
        ["queued", "picked", "canceled"]
    );
}

#[tokio::test]
async fn drain_mode_exits_when_its_entrypoints_are_empty() {
    let db = TestDb::installed();
    for _ in 0..3 {
        db.enqueue(&["ping"]);
    }
    let other = db.enqueue(&["not_served"]);
    let manifest = manifest_file(NOOP);
    let started = Instant::now();
    let out = drain(&db, &manifest, &[]);
    assert_exit(&out, 0);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(stderr(&out).contains("Drain mode: the queue is empty"));
    let client = db.client().await;
    let left: Vec<i64> = client
        .query("SELECT id FROM pgqueuer", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, [other]);
    let done = log_statuses(&client)
        .await
        .iter()
        .filter(|(_, s)| s == "successful")
        .count();
    assert_eq!(done, 3);
}

#[tokio::test]
async fn a_killed_workers_job_is_repicked_after_the_heartbeat_timeout() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let stuck = manifest_file(&format!(
        "[[entrypoint]]\nname = \"job\"\ncommand = [\"sh\", \"-c\", \"echo $$ > {}; exec sleep 60\"]\n",
        pid_file.display()
    ));
    let mut first = spawn_worker(&db, &stuck, &["--heartbeat-timeout", "1"]);
    let job = db.enqueue(&["job"]);
    wait_picked(&db, 1).await;
    let pid = wait_for(WAIT, || async {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok())
    })
    .await
    .expect("the command started");
    first.signal("KILL");
    let _ = first.wait_exit(WAIT);
    // The orphaned command does not keep running beside the re-pick.
    let gone = wait_for(WAIT, || async {
        (!std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")))
        .then_some(())
    })
    .await;
    assert!(
        gone.is_some(),
        "the command of the killed worker kept running"
    );

    let healthy = manifest_file("[[entrypoint]]\nname = \"job\"\nbuiltin = \"noop\"\n");
    let mut second = spawn_worker(
        &db,
        &healthy,
        &["--heartbeat-timeout", "1", "--dequeue-timeout", "0.2"],
    );
    wait_status(&db, job, "successful").await;
    second.signal("TERM");
    assert_eq!(second.wait_exit(WAIT), Some(0));
    assert_eq!(
        statuses_of(&db, job).await,
        ["queued", "picked", "picked", "successful"]
    );
    let client = db.client().await;
    let picks: Vec<DateTime<Utc>> = client
        .query(
            "SELECT created FROM pgqueuer_log WHERE job_id = $1 AND status = 'picked' ORDER BY id",
            &[&job],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        picks[1] - picks[0] >= chrono::Duration::seconds(1),
        "re-picked before the heartbeat timeout"
    );
}

#[tokio::test]
async fn a_running_worker_keeps_its_jobs_alive_with_heartbeats() {
    let db = TestDb::installed();
    let slow = manifest_file("[[entrypoint]]\nname = \"job\"\ncommand = [\"sleep\", \"2.5\"]\n");
    let mut first = spawn_worker(&db, &slow, &["--heartbeat-timeout", "1"]);
    let job = db.enqueue(&["job"]);
    wait_picked(&db, 1).await;
    // A second worker polling fast must not steal the job while it beats.
    let mut second = spawn_worker(
        &db,
        &slow,
        &["--heartbeat-timeout", "1", "--dequeue-timeout", "0.1"],
    );
    wait_status(&db, job, "successful").await;
    assert_eq!(
        statuses_of(&db, job).await,
        ["queued", "picked", "successful"]
    );
    for w in [&mut first, &mut second] {
        w.signal("TERM");
        assert_eq!(w.wait_exit(WAIT), Some(0));
    }
}

#[tokio::test]
async fn sigterm_lets_running_jobs_finish_and_exits_zero() {
    let db = TestDb::installed();
    let manifest = manifest_file("[[entrypoint]]\nname = \"slow\"\ncommand = [\"sleep\", \"1\"]\n");
    let mut worker = spawn_worker(&db, &manifest, &[]);
    let jobs: Vec<i64> = (0..3).map(|_| db.enqueue(&["slow"])).collect();
    wait_picked(&db, 3).await;
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    for job in jobs {
        assert_eq!(
            statuses_of(&db, job).await,
            ["queued", "picked", "successful"]
        );
    }
    let left: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

/// Jobs still running when the stop is forced go back to `queued`.
async fn forced_stop_returns_jobs(extra: &[&str], signals: usize) {
    let db = TestDb::installed();
    let manifest =
        manifest_file("[[entrypoint]]\nname = \"slow\"\ncommand = [\"sleep\", \"30\"]\n");
    let mut worker = spawn_worker(&db, &manifest, extra);
    let jobs: Vec<i64> = (0..2).map(|_| db.enqueue(&["slow"])).collect();
    wait_picked(&db, 2).await;
    let started = Instant::now();
    for n in 0..signals {
        worker.signal("TERM");
        // Each signal is handled before the next is sent: two sent at once
        // may arrive as one.
        let said = if n == 0 {
            "received, shutting down"
        } else {
            "received again"
        };
        worker
            .stderr_line(WAIT, |l| l.contains(said))
            .unwrap_or_else(|| panic!("no {said:?} after signal {}", n + 1));
    }
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    assert!(started.elapsed() < Duration::from_secs(10));
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT status::text, queue_manager_id IS NULL, slot IS NULL FROM pgqueuer ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for r in rows {
        assert_eq!(r.get::<_, String>(0), "queued");
        assert!(r.get::<_, bool>(1) && r.get::<_, bool>(2));
    }
    for job in jobs {
        assert_eq!(statuses_of(&db, job).await, ["queued", "picked", "queued"]);
    }
    // And another worker runs them.
    let quick = manifest_file("[[entrypoint]]\nname = \"slow\"\nbuiltin = \"noop\"\n");
    assert_exit(&drain(&db, &quick, &[]), 0);
}

#[tokio::test]
async fn shutdown_timeout_returns_unfinished_jobs_to_the_queue() {
    forced_stop_returns_jobs(&["--shutdown-timeout", "0.5"], 1).await;
}

#[tokio::test]
async fn a_second_signal_returns_unfinished_jobs_at_once() {
    forced_stop_returns_jobs(&[], 2).await;
}

/// Wait until a worker holds its two connections (control and writer).
async fn wait_connected(db: &TestDb) {
    let client = db.client().await;
    let up = wait_for(WAIT, || async {
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&db.name],
            )
            .await
            .unwrap()
            .get(0);
        (n >= 2).then_some(())
    })
    .await;
    assert!(up.is_some(), "the worker never connected");
}

async fn terminate_backends(db: &TestDb) -> u64 {
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db.name],
        )
        .await
        .unwrap();
    rows.len() as u64
}

#[tokio::test]
async fn a_terminated_backend_is_survived_with_restart_on_failure() {
    let db = TestDb::installed();
    let manifest = manifest_file("[[entrypoint]]\nname = \"slow\"\ncommand = [\"sleep\", \"1\"]\n");
    let worker = spawn_worker(
        &db,
        &manifest,
        &["--restart-on-failure", "--restart-delay", "0.2"],
    );
    wait_connected(&db).await;
    let first = db.enqueue(&["slow"]);
    wait_picked(&db, 1).await;
    assert!(terminate_backends(&db).await >= 2);
    // The job finishes while disconnected; its completion is written after
    // the reconnect, exactly once.
    wait_status(&db, first, "successful").await;
    assert!(
        worker
            .stderr_line(WAIT, |l| l.contains("Reconnected"))
            .is_some()
    );
    let second = db.enqueue(&["slow"]);
    wait_status(&db, second, "successful").await;
    assert_eq!(
        statuses_of(&db, first).await,
        ["queued", "picked", "successful"]
    );
    let mut worker = worker;
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(WAIT), Some(0));
}

#[tokio::test]
async fn a_terminated_backend_exits_one_without_restart_on_failure() {
    let db = TestDb::installed();
    let manifest = manifest_file(NOOP);
    let mut worker = spawn_worker(&db, &manifest, &[]);
    wait_connected(&db).await;
    terminate_backends(&db).await;
    assert_eq!(worker.wait_exit(WAIT), Some(1));
}

#[tokio::test]
async fn two_schedulers_run_each_fire_once() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let fires = dir.path().join("fires");
    let manifest = manifest_file(&format!(
        r#"[[schedule]]
entrypoint = "tick"
expression = "* * * * * *"
command = ["sh", "-c", "echo $PGQ_SCHEDULE_NEXT_RUN $PGQ_QUEUE_MANAGER_ID >> {}"]
"#,
        fires.display()
    ));
    let mut a = spawn_worker(&db, &manifest, &[]);
    let mut b = spawn_worker(&db, &manifest, &[]);
    let lines = wait_for(WAIT, || async {
        let text = std::fs::read_to_string(&fires).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(String::from).collect();
        (lines.len() >= 5).then_some(lines)
    })
    .await
    .expect("the schedule fired fewer than 5 times");
    for w in [&mut a, &mut b] {
        w.signal("TERM");
        assert_eq!(w.wait_exit(WAIT), Some(0));
    }
    let text = std::fs::read_to_string(&fires).unwrap();
    let all: Vec<&str> = text.lines().collect();
    let mut fire_ids: Vec<&str> = all.iter().map(|l| l.split(' ').next().unwrap()).collect();
    let total = fire_ids.len();
    fire_ids.sort_unstable();
    fire_ids.dedup();
    assert_eq!(fire_ids.len(), total, "a fire ran twice: {all:?}");
    assert!(lines.len() >= 5);
    let rows: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pgqueuer_schedules WHERE entrypoint = 'tick' AND status = 'queued' AND last_run IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "one schedule row, released after its fires");
}

#[test]
fn broken_manifests_are_rejected_before_connecting() {
    // A DSN nothing listens on: reaching the database would fail differently.
    let unreachable = "postgres://nobody@127.0.0.1:1/none";
    let cases = [
        (
            "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\ncolour = \"red\"\n",
            4,
            "unknown field `colour`",
        ),
        (
            "[[entrypoint]]\nname = \"a\"\ncommand = []\n",
            3,
            "command is empty",
        ),
        (
            "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\n\n[[entrypoint]]\nname = \"a\"\nbuiltin = \"echo\"\n",
            6,
            "duplicate entrypoint \"a\"",
        ),
        (
            "[[schedule]]\nentrypoint = \"s\"\nexpression = \"* * * *\"\nbuiltin = \"noop\"\n",
            3,
            "4 fields",
        ),
        (
            "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\non_failure = \"retry\"\n",
            4,
            "on_failure",
        ),
    ];
    for (text, line, needle) in cases {
        let file = manifest_file(text);
        let out = common::pgq_cmd(&["--dsn", unreachable, "run", path(&file)], &[])
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let err = stderr(&out);
        let prefix = format!("error: {}:{line}:", file.path().display());
        assert!(err.starts_with(&prefix), "{text}\n{err}");
        assert!(err.contains(needle), "{text}\n{err}");
        assert!(!err.contains("cannot connect"), "{err}");
    }
    let out = common::pgq_cmd(&["--dsn", unreachable, "run", "/nonexistent/w.toml"], &[])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("cannot read the manifest"));
    let file = manifest_file(NOOP);
    let out = common::pgq_cmd(
        &[
            "--dsn",
            unreachable,
            "run",
            path(&file),
            "--batch-size",
            "10",
            "--max-concurrent-tasks",
            "5",
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("at least twice the batch size"));
}

#[tokio::test]
async fn command_executors_get_the_payload_metadata_and_extra_args() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out");
    let manifest = manifest_file(&format!(
        r#"[[entrypoint]]
name = "show"
command = ["sh", "-c", "echo \"$(cat)|$PGQ_JOB_ID|$PGQ_ENTRYPOINT|$PGQ_PRIORITY|$PGQ_ATTEMPTS|$PGQ_HEADERS|$*\" > {}; echo to-stderr >&2", "sh"]
"#,
        out_file.display()
    ));
    let job = db.enqueue(&["show", "payload text", "-p", "7", "--header", "trace=abc"]);
    let out = db.pgq(&["run", path(&manifest), "--mode", "drain", "--", "x", "y z"]);
    assert_exit(&out, 0);
    let line = std::fs::read_to_string(&out_file).unwrap();
    assert_eq!(
        line.trim(),
        format!("payload text|{job}|show|7|0|{{\"trace\":\"abc\"}}|x y z")
    );
    assert!(
        stderr(&out)
            .lines()
            .any(|l| l.contains("to-stderr") && l.contains(&format!("job_id={job}"))),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn json_log_format_writes_one_object_per_line() {
    let db = TestDb::installed();
    db.enqueue(&["ping"]);
    let manifest = manifest_file(NOOP);
    let out = drain(
        &db,
        &manifest,
        &["--log-format", "json", "--log-level", "debug"],
    );
    assert_exit(&out, 0);
    let lines: Vec<serde_json::Value> = stderr(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["message"] == "Job successful" && l["level"] == "DEBUG")
    );
    assert!(lines.iter().all(|l| l["ts"].is_string()));
}

#[tokio::test]
async fn drain_mode_also_stops_the_scheduler() {
    let db = TestDb::installed();
    db.enqueue(&["ping"]);
    let manifest = manifest_file(&format!(
        "{NOOP}\n[[schedule]]\nentrypoint = \"hourly\"\nexpression = \"@hourly\"\nbuiltin = \"noop\"\n"
    ));
    let started = Instant::now();
    assert_exit(&drain(&db, &manifest, &[]), 0);
    assert!(started.elapsed() < Duration::from_secs(10));
    let expression: String = db
        .client()
        .await
        .query_one(
            "SELECT expression FROM pgqueuer_schedules WHERE entrypoint = 'hourly'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        expression, "0 * * * *",
        "stored normalised, as PGQueuer does"
    );
}

#[tokio::test]
async fn parallel_dequeue_connections_pick_each_job_once() {
    let db = TestDb::installed();
    let batch = common::manifest_file(""); // a throwaway file for the job list
    let lines: String = (0..60)
        .map(|i| format!("{{\"entrypoint\": \"ping\", \"priority\": {}}}\n", i % 3))
        .collect();
    std::fs::write(batch.path(), lines).unwrap();
    assert_exit(&db.pgq(&["queue", "--batch", path(&batch)]), 0);
    let manifest = manifest_file(NOOP);
    let out = drain(
        &db,
        &manifest,
        &["--dequeue-connections", "3", "--batch-size", "4"],
    );
    assert_exit(&out, 0);
    let log = log_statuses(&db.client().await).await;
    for status in ["picked", "successful"] {
        let mut ids: Vec<i64> = log
            .iter()
            .filter(|(_, s)| s == status)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 60, "{status}");
        assert_eq!(
            log.iter().filter(|(_, s)| s == status).count(),
            60,
            "{status} twice"
        );
    }
}

#[test]
fn a_missing_schema_exits_one_naming_what_is_missing() {
    let db = TestDb::new();
    let manifest = manifest_file(NOOP);
    let out = db.pgq(&["run", path(&manifest)]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("table pgqueuer,") && err.contains("pgq upgrade"),
        "{err}"
    );
}

#[tokio::test]
async fn max_concurrent_tasks_caps_this_workers_picked_jobs() {
    let db = TestDb::installed();
    for _ in 0..12 {
        db.enqueue(&["slow"]);
    }
    let manifest =
        manifest_file("[[entrypoint]]\nname = \"slow\"\ncommand = [\"sleep\", \"0.3\"]\n");
    let mut worker = spawn_worker(
        &db,
        &manifest,
        &[
            "--mode",
            "drain",
            "--batch-size",
            "2",
            "--max-concurrent-tasks",
            "4",
            "--dequeue-connections",
            "3",
            "--dequeue-timeout",
            "0.2",
        ],
    );
    let client = db.client().await;
    let mut most = 0i64;
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < WAIT,
            "the queue was not drained in time"
        );
        let row = client
            .query_one(
                "SELECT count(*) FILTER (WHERE status = 'picked'), count(*) FROM pgqueuer",
                &[],
            )
            .await
            .unwrap();
        most = most.max(row.get(0));
        if row.get::<_, i64>(1) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    assert!(most <= 4, "{most} jobs picked at once");
    assert_eq!(
        most, 4,
        "the cap was never reached; the test proves nothing"
    );
}

#[tokio::test]
async fn a_schema_and_prefix_installation_works_end_to_end() {
    let db = TestDb::new();
    let g = ["--schema", "jobs", "--prefix", "app_"];
    let with =
        |rest: &[&str]| -> Vec<String> { g.iter().chain(rest).map(|s| s.to_string()).collect() };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        db.pgq(&refs)
    };
    assert_exit(&run(with(&["install"])), 0);
    for ep in ["ok", "held", "again"] {
        assert_exit(&run(with(&["queue", ep, "x"])), 0);
    }
    let manifest = manifest_file(
        r#"
[[entrypoint]]
name = "ok"
builtin = "noop"
concurrency_limit = 3

[[entrypoint]]
name = "held"
builtin = "fail"
on_failure = "hold"

[[entrypoint]]
name = "again"
builtin = "fail"
max_attempts = 1
initial_delay = 0
"#,
    );
    let out = run(with(&[
        "run",
        path(&manifest),
        "--mode",
        "drain",
        "--max-concurrent-tasks",
        "20",
    ]));
    assert_exit(&out, 0);
    let client = db.client().await;
    let rows: Vec<(String, String)> = client
        .query(
            "SELECT entrypoint, string_agg(status::text, ',' ORDER BY id) FROM jobs.app_pgqueuer_log GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "again".to_string(),
                "queued,picked,queued,picked,exception".to_string()
            ),
            ("held".to_string(), "queued,picked,failed".to_string()),
            ("ok".to_string(), "queued,picked,successful".to_string()),
        ]
    );
    let held: String = client
        .query_one("SELECT status::text FROM jobs.app_pgqueuer", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, "failed");
    // The worker folded what it logged into statistics before exiting.
    let counted: i64 = client
        .query_one(
            "SELECT coalesce(sum(count), 0)::bigint FROM jobs.app_pgqueuer_statistics",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(counted, 11, "every log row is counted once");
}

#[tokio::test]
async fn the_worker_sends_health_check_events_on_the_channel() {
    let db = TestDb::installed();
    let listener = db.spawn_pgq(&["--json", "listen"], &[]);
    assert!(!db.wait_for_listener(WAIT).await.is_empty());
    let manifest = manifest_file(NOOP);
    let mut worker = spawn_worker(&db, &manifest, &[]);
    let line = listener
        .stdout_line(WAIT, |l| l.contains("health_check_event"))
        .expect("a health_check_event from the worker");
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["channel"], "ch_pgqueuer");
    assert!(
        uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok(),
        "{line}"
    );
    worker.signal("INT");
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    assert!(
        worker
            .stderr_line(WAIT, |l| l.contains("Signal 2 received, shutting down."))
            .is_some()
    );
}

/// The most jobs in `picked` seen while polling for `window` (every 50 ms).
async fn most_picked_during(client: &tokio_postgres::Client, window: Duration) -> i64 {
    let until = Instant::now() + window;
    let mut most = 0;
    while Instant::now() < until {
        let row = client
            .query_one("SELECT count(*) FROM pgqueuer WHERE status = 'picked'", &[])
            .await
            .expect("count picked");
        most = most.max(row.get::<_, i64>(0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    most
}

/// PGQueuer 2.1: without --max-concurrent-tasks a worker claims at most
/// max(100, 2 × batch size) jobs (100 at batch 10), not the whole backlog;
/// `--max-concurrent-tasks 0` still means no cap.
#[tokio::test]
async fn the_default_cap_bounds_picked_jobs_and_zero_lifts_it() {
    let db = TestDb::installed();
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint, payload)
             SELECT 0, 'queued', 'slow', '600'::bytea FROM generate_series(1, 500)",
        )
        .await
        .unwrap();
    let manifest = manifest_file("[[entrypoint]]\nname = \"slow\"\nbuiltin = \"sleep\"\n");

    let mut capped = spawn_worker(&db, &manifest, &["--batch-size", "10"]);
    wait_picked(&db, 100).await;
    // Every job sleeps ten minutes, so nothing frees a slot: an uncapped
    // worker would go on to all 500 within this window.
    let most = most_picked_during(&client, Duration::from_secs(2)).await;
    assert_eq!(most, 100, "the default cap at batch size 10 is 100");
    // Two signals sent back to back can merge into one pending signal:
    // the second is sent once the worker says the first stopped it.
    capped.signal("TERM");
    assert!(
        capped
            .stderr_line(WAIT, |l| l.contains("Stopping: no more dequeues"))
            .is_some(),
        "the worker did not say it was stopping"
    );
    capped.signal("TERM");
    assert_eq!(capped.wait_exit(WAIT), Some(0));
    wait_for(WAIT, || async {
        let row = client
            .query_one("SELECT count(*) FROM pgqueuer WHERE status = 'picked'", &[])
            .await
            .unwrap();
        (row.get::<_, i64>(0) == 0).then_some(())
    })
    .await
    .expect("the stopped worker returned its jobs");

    let uncapped = spawn_worker(&db, &manifest, &["--max-concurrent-tasks", "0"]);
    wait_picked(&db, 500).await;
    drop(uncapped);
}
