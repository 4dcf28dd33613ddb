//! Latency of a worker with no backlog: a job that arrives alone is picked
//! and its completion written promptly, not at the next periodic flush.

use crate::common;

use std::time::Duration;

use common::{TestDb, assert_exit, manifest_file};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_lone_job_is_completed_without_waiting_for_the_flush_timer() {
    let db = TestDb::installed();
    let manifest = manifest_file("[[entrypoint]]\nname = \"lone\"\nbuiltin = \"noop\"\n");
    let path = manifest.path().to_str().expect("utf-8 temp path");
    let _worker = db.spawn_pgq(&["run", path], &[]);
    let client = db.client().await;
    // One job at a time, each enqueued once the previous one is written:
    // every job meets an idle worker.
    for n in 1..=15_i64 {
        assert_exit(&db.pgq(&["queue", "lone", "x"]), 0);
        assert!(
            common::wait_for_successful(&client, n, WAIT).await,
            "job {n} was never completed"
        );
    }
    // From the pick to the written completion, per job (log timestamps are
    // the statements' transaction starts). Waiting for a ~0.1 s periodic
    // flush put the median at 50–80 ms here; written at once, it is the
    // pipelined dequeue and the completion statement (~25 ms on a loaded
    // 2-core machine, a few ms on a quiet one).
    let median: f64 = client
        .query_one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done - picked) * 1000)
             FROM (SELECT min(created) FILTER (WHERE status = 'picked') AS picked,
                          min(created) FILTER (WHERE status = 'successful') AS done
                   FROM pgqueuer_log GROUP BY job_id) j",
            &[],
        )
        .await
        .expect("median")
        .get(0);
    assert!(
        median < 40.0,
        "pick → completion median {median:.1} ms: the completion waited for the flush timer"
    );
}
