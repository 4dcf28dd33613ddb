//! Cancel and purge while workers drain (the second fault audit): two
//! `pgq run` workers (batch 100; batch 10 with two dequeue connections) and a
//! Python 1.6.0 worker drain no-op jobs while `pgq cancel` and `pgq purge`
//! take the same entrypoint's jobs, ten rounds. Before, the removal locked
//! queued and picked rows in no order while completions deleted them in
//! another: PostgreSQL aborted one side (SQLSTATE 40P01), the cancel exited 1
//! half-way and a worker without --restart-on-failure died. Now a removal
//! takes rows in id order and skips what a worker holds; every round must
//! end with no deadlock, every worker alive, and every job logged once.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Spawned, TestDb, count, manifest_file, stderr, stdout, wait_for};

const WAIT: Duration = Duration::from_secs(60);
const NOOP_WORKER: &str = include_str!("../../fixtures/noop_worker.py");
const FAST: &str = "[[entrypoint]]\nname = \"fast\"\nbuiltin = \"noop\"\n";
const ROUNDS: usize = 10;
/// Jobs per round: enough that the removal runs while all three drain.
const JOBS: i64 = 20_000;

fn spawn_python(db: &TestDb) -> Child {
    Command::new(common::python_venv().join("bin/python"))
        .arg("-c")
        .arg(NOOP_WORKER)
        .env("PGDSN", db.dsn())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn python")
}

fn alive(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_purge_beside_draining_pgq_and_python_workers_never_deadlock() {
    let db = TestDb::installed();
    let client = db.client().await;
    let manifest = manifest_file(FAST);
    let path = manifest.path().to_str().expect("utf-8 path");
    let mut workers: Vec<Spawned> = vec![
        db.spawn_pgq(&["run", path, "--batch-size", "100"], &[]),
        db.spawn_pgq(
            &[
                "run",
                path,
                "--batch-size",
                "10",
                "--dequeue-connections",
                "2",
            ],
            &[],
        ),
    ];
    let mut python = spawn_python(&db);
    let mut inserted = 0i64;
    let mut removed_total = 0i64;
    for round in 0..ROUNDS {
        let newest_before = count(
            &client,
            "SELECT greatest((SELECT coalesce(max(id), 0) FROM pgqueuer),
                             (SELECT coalesce(max(job_id), 0) FROM pgqueuer_log))",
        )
        .await;
        client
            .execute(
                "INSERT INTO pgqueuer (priority, status, entrypoint, payload)
                 SELECT g % 3, 'queued', 'fast', NULL FROM generate_series(1, $1::bigint) g",
                &[&JOBS],
            )
            .await
            .expect("enqueue");
        inserted += JOBS;
        // Act once the workers are draining this round's jobs.
        let done_sql = "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'";
        let done_before = count(&client, done_sql).await;
        wait_for(WAIT, || async {
            (count(&client, done_sql).await >= done_before + 300).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("round {round}: the workers drain"));
        // Alternate the two statements (fixed selection, composed filter),
        // cancel and purge, and a cancel of queued jobs only.
        let args: Vec<&str> = match round % 4 {
            0 => vec!["--json", "cancel", "--entrypoint", "fast", "--yes"],
            1 => vec!["--json", "purge", "--entrypoint", "fast", "--yes"],
            2 => vec![
                "--json",
                "cancel",
                "--entrypoint",
                "fast",
                "--priority-min",
                "0",
                "--yes",
            ],
            _ => vec![
                "--json",
                "cancel",
                "--entrypoint",
                "fast",
                "--status",
                "queued",
                "--yes",
            ],
        };
        let out = db.pgq(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {args:?} failed: {}",
            stderr(&out)
        );
        let report: serde_json::Value =
            serde_json::from_str(stdout(&out).trim()).expect("a JSON summary");
        removed_total += report["count"].as_i64().expect("a count");
        assert_eq!(report["left"], 0, "round {round}: {report}");
        // The workers finish what they held; the queue empties.
        wait_for(WAIT, || async {
            (count(&client, "SELECT count(*) FROM pgqueuer").await == 0).then_some(())
        })
        .await
        .unwrap_or_else(|| panic!("round {round}: jobs left in the queue"));
        for (i, w) in workers.iter_mut().enumerate() {
            assert!(alive(&mut w.child), "round {round}: pgq worker {i} died");
        }
        assert!(alive(&mut python), "round {round}: the Python worker died");
        // Every job of the round is logged with exactly one outcome.
        let terminal = format!(
            "SELECT count(DISTINCT job_id) FROM pgqueuer_log
              WHERE job_id > {newest_before}
                AND status IN ('successful', 'canceled', 'deleted', 'exception')"
        );
        assert_eq!(count(&client, &terminal).await, JOBS, "round {round}");
    }
    let twice = "SELECT count(*) FROM (
                   SELECT job_id FROM pgqueuer_log
                    WHERE status IN ('successful', 'canceled', 'deleted', 'exception')
                    GROUP BY job_id HAVING count(*) > 1) twice";
    assert_eq!(count(&client, twice).await, 0, "a job logged twice");
    let removed = "SELECT count(*) FROM pgqueuer_log WHERE status IN ('canceled', 'deleted')";
    assert_eq!(count(&client, removed).await, removed_total);
    assert!(removed_total > 0, "the removals took nothing");
    let exceptions = "SELECT count(*) FROM pgqueuer_log WHERE status = 'exception'";
    assert_eq!(count(&client, exceptions).await, 0);
    assert_eq!(
        count(&client, "SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status IN ('successful', 'canceled', 'deleted')").await,
        inserted
    );

    // Stop everyone, then read the server's own deadlock counter once their
    // backends are gone (a backend flushes its statistics when it exits).
    for w in &mut workers {
        w.signal("TERM");
        assert_eq!(w.wait_exit(WAIT), Some(0), "a pgq worker stops cleanly");
    }
    let _ = python.kill();
    let _ = python.wait();
    let others = "SELECT count(*) FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()";
    wait_for(WAIT, || async {
        (count(&client, others).await == 0).then_some(())
    })
    .await
    .expect("the workers' backends exit");
    client
        .batch_execute("SELECT pg_stat_clear_snapshot()")
        .await
        .unwrap();
    let deadlocks = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()";
    assert_eq!(count(&client, deadlocks).await, 0, "deadlocks detected");
}
