//! A worker write that loses a deadlock to another transaction (issue 19):
//! the worker runs the statement again instead of giving up, and every job
//! ends logged exactly once.

use crate::common;

use std::time::Duration;

use common::{TestDb, count, manifest_file, wait_for};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

const WAIT: Duration = Duration::from_secs(30);
/// Jobs that run long enough for the test to lock one of them while it runs.
const NAP: &str = "[[entrypoint]]\nname = \"nap\"\nbuiltin = \"sleep\"\n";
const JOBS_PER_ROUND: i64 = 10;
/// Rounds the test may need before its timing lets the worker lose the
/// deadlock (each round is a fresh set of jobs).
const ROUNDS: usize = 4;

/// Queue `JOBS_PER_ROUND` jobs that sleep 3 s; their ids, ascending.
async fn enqueue_naps(client: &Client) -> Vec<i64> {
    client
        .query(
            "INSERT INTO pgqueuer (priority, status, entrypoint, payload)
             SELECT 0, 'queued', 'nap', convert_to('3', 'UTF8')
             FROM generate_series(1, $1::bigint) RETURNING id",
            &[&JOBS_PER_ROUND],
        )
        .await
        .expect("enqueue")
        .iter()
        .map(|r| r.get(0))
        .collect::<std::collections::BTreeSet<i64>>()
        .into_iter()
        .collect()
}

/// One attempt at a deadlock with the worker's completion of `ids`, which
/// the worker has picked and runs. `locker` holds job B (the last id) in a
/// transaction, so the completion statement, having deleted (locked) some
/// other job A of the batch, waits on B; `locker` then asks for A, and
/// PostgreSQL has to abort one side. True when it aborted the worker's side.
async fn deadlock_the_completion(locker: &Client, observer: &Client, ids: &[i64]) -> bool {
    let b = *ids.last().expect("jobs");
    locker.batch_execute("BEGIN").await.expect("begin");
    let held = locker
        .query("SELECT id FROM pgqueuer WHERE id = $1 FOR UPDATE", &[&b])
        .await
        .expect("lock job B");
    if held.is_empty() {
        // The jobs ended before the lock: nothing to collide with.
        locker.batch_execute("ROLLBACK").await.expect("rollback");
        return false;
    }
    let locker_pid: i32 = locker
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    // The worker's completion, blocked by the lock on B: its transaction id,
    // which marks the rows it has deleted so far.
    let worker_xid = wait_for(WAIT, || async {
        observer
            .query_opt(
                "SELECT backend_xid::text FROM pg_stat_activity
                 WHERE $1 = ANY(pg_blocking_pids(pid)) AND backend_xid IS NOT NULL",
                &[&locker_pid],
            )
            .await
            .expect("pg_stat_activity")
            .map(|r| r.get::<_, String>(0))
    })
    .await
    .expect("the worker's completion never waited on job B");
    let a: Option<i64> = observer
        .query_one(
            "SELECT min(id) FROM pgqueuer WHERE xmax::text = $1 AND id <> $2",
            &[&worker_xid, &b],
        )
        .await
        .expect("rows the completion holds")
        .get(0);
    let Some(a) = a else {
        // B was completed on its own: the worker holds nothing we could want.
        locker.batch_execute("ROLLBACK").await.expect("rollback");
        return false;
    };
    // The worker waited first, so its detection (3 s) runs while this
    // session waits (its own detection is 20 s away): the worker's
    // statement is the one aborted, and A is ours once it rolled back.
    match locker
        .query("SELECT id FROM pgqueuer WHERE id = $1 FOR UPDATE", &[&a])
        .await
    {
        Ok(rows) => {
            assert_eq!(rows.len(), 1, "job {a} vanished: the completion committed");
            locker.batch_execute("COMMIT").await.expect("commit");
            true
        }
        // This session reached its wait too late (a stalled machine) and
        // detected the deadlock itself: try again with new jobs.
        Err(e) if e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED) => {
            locker.batch_execute("ROLLBACK").await.expect("rollback");
            false
        }
        Err(e) => panic!("locking job {a}: {e}"),
    }
}

#[tokio::test]
async fn a_completion_that_loses_a_deadlock_is_written_again_and_the_worker_keeps_running() {
    let db = TestDb::installed();
    let locker = db.client().await;
    let observer = db.client().await;
    // deadlock_timeout is per session, and the session whose timer fires
    // first runs the detection and aborts itself: the worker's sessions
    // (opened after this) check after 3 s, the locker after 20 s.
    locker
        .batch_execute(&format!(
            "ALTER DATABASE \"{}\" SET deadlock_timeout = '3s'; SET deadlock_timeout = '20s'",
            db.name
        ))
        .await
        .expect("deadlock timeouts");
    let manifest = manifest_file(NAP);
    let path = manifest.path().to_str().expect("utf-8 temp path");
    let mut worker = db.spawn_pgq(&["run", path, "--batch-size", "10"], &[]);

    let mut all_ids = Vec::new();
    let mut deadlocked = false;
    for _ in 0..ROUNDS {
        let ids = enqueue_naps(&observer).await;
        all_ids.extend_from_slice(&ids);
        let picked = wait_for(WAIT, || async {
            let n = count(
                &observer,
                "SELECT count(*) FROM pgqueuer WHERE status = 'picked'",
            )
            .await;
            (n == JOBS_PER_ROUND).then_some(())
        })
        .await;
        assert!(picked.is_some(), "the worker never picked the jobs");
        if deadlock_the_completion(&locker, &observer, &ids).await {
            deadlocked = true;
            break;
        }
        // Let this round end before the next one queues more.
        let idle = wait_for(WAIT, || async {
            (count(&observer, "SELECT count(*) FROM pgqueuer").await == 0).then_some(())
        })
        .await;
        assert!(idle.is_some(), "the round's jobs never finished");
    }
    assert!(deadlocked, "no round made the worker lose a deadlock");

    let total = all_ids.len() as i64;
    let finished = wait_for(WAIT, || async {
        let done = count(
            &observer,
            "SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'",
        )
        .await;
        (done == total).then_some(())
    })
    .await;
    let lines: Vec<String> = worker.stderr.try_iter().collect();
    let log = lines.join("\n");
    assert!(
        finished.is_some(),
        "not every job was logged successful:\n{log}"
    );
    assert!(
        matches!(worker.child.try_wait(), Ok(None)) && !log.contains("Worker failed"),
        "the worker gave up:\n{log}"
    );
    let rows = observer
        .query(
            "SELECT job_id, count(*) FILTER (WHERE status = 'successful')
             FROM pgqueuer_log GROUP BY job_id ORDER BY job_id",
            &[],
        )
        .await
        .expect("log counts");
    assert_eq!(rows.len(), all_ids.len(), "log rows for unknown jobs");
    for row in &rows {
        let (job, n): (i64, i64) = (row.get(0), row.get(1));
        assert_eq!(n, 1, "job {job} logged successful {n} times");
    }
    assert_eq!(count(&observer, "SELECT count(*) FROM pgqueuer").await, 0);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARNING: logging finished jobs failed (attempt 1 of 5), trying again: deadlock detected")),
        "no warning about the retried completion:\n{log}"
    );
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(WAIT), Some(0), "exit status");
}
