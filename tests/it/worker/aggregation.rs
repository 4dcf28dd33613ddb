//! The worker folds the log into the statistics table a bounded batch per
//! statement (so outcomes written on the same connection never wait behind
//! one long statement); the statistics must come out exactly as Python
//! PGQueuer 1.6.0's one-statement `aggregate_logs` leaves them.

use crate::common;

use tokio_postgres::Client;

use common::{TestDb, assert_exit, manifest_file};

/// 3,500 unaggregated log rows (several of pgq's batches) over 70 seconds,
/// four entrypoints, three priorities and every status; rows already
/// aggregated or with `aggregated` NULL, which both must leave alone; and
/// statistics rows the aggregation adds to and rows it must not touch.
const SEED: &str = "
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
SELECT timestamptz '2026-11-30 00:00:00+00' + (g % 70) * interval '1 second'
         + (g % 997) * interval '1 millisecond',
       g,
       (ARRAY['successful', 'exception', 'queued', 'canceled', 'deleted', 'failed', 'picked'])[1 + g % 7]::pgqueuer_status,
       g % 3, 'ep_' || (g % 4), false
  FROM generate_series(1, 3500) g;
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
VALUES (timestamptz '2026-11-30 00:00:14+00', 1, 'successful', 0, 'ep_0', NULL),
       (timestamptz '2026-11-30 00:00:14+00', 2, 'successful', 0, 'ep_0', true);
INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
VALUES (timestamptz '2026-11-30 00:00:14+00', 5, 0, 'successful', 'ep_0'),
       (timestamptz '2026-11-29 00:00:00+00', 100, 1, 'exception', 'ep_1');
";

const PYTHON_AGGREGATE: &str = r#"
import asyncio, asyncpg, os
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries
async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    await Queries(AsyncpgDriver(conn)).aggregate_logs()
asyncio.run(main())
"#;

/// The statistics rows, and the log's aggregated flags, of the seeded
/// entrypoints (not the worker's own job).
async fn folded(client: &Client) -> (Vec<String>, Vec<String>) {
    let stats = client
        .query(
            "SELECT format('%s %s %s %s %s', to_char(created AT TIME ZONE 'UTC', 'HH24:MI:SS.US'),
                           entrypoint, priority, status, count)
               FROM pgqueuer_statistics WHERE entrypoint LIKE 'ep\\_%'
              ORDER BY created, entrypoint, priority, status",
            &[],
        )
        .await
        .expect("statistics");
    let flags = client
        .query(
            "SELECT format('%s %s', coalesce(aggregated::text, 'null'), count(*))
               FROM pgqueuer_log WHERE entrypoint LIKE 'ep\\_%'
              GROUP BY aggregated ORDER BY aggregated",
            &[],
        )
        .await
        .expect("flags");
    let text = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get(0)).collect();
    (text(stats), text(flags))
}

#[tokio::test]
async fn batched_aggregation_leaves_the_statistics_python_leaves() {
    let python_db = TestDb::installed();
    let pgq_db = TestDb::installed();
    for db in [&python_db, &pgq_db] {
        db.client().await.batch_execute(SEED).await.expect("seed");
    }

    assert_exit(&python_db.python(PYTHON_AGGREGATE, &[]), 0);

    // A worker aggregates only once it has logged a job of its own: one job
    // on another entrypoint, drained; the worker folds the log as it stops.
    assert_exit(&pgq_db.pgq(&["queue", "trigger", "x"]), 0);
    let manifest = manifest_file("[[entrypoint]]\nname = \"trigger\"\nbuiltin = \"noop\"\n");
    let path = manifest.path().to_str().expect("utf-8 temp path");
    assert_exit(&pgq_db.pgq(&["run", path, "--mode", "drain"]), 0);

    let (python_stats, python_flags) = folded(&python_db.client().await).await;
    let (pgq_stats, pgq_flags) = folded(&pgq_db.client().await).await;
    // Python's statement folded every row (3,500 and the one already
    // flagged; NULL stays NULL), and added the nine rows of one second to
    // the statistics row that was there: the comparison means something.
    assert_eq!(python_flags, ["true 3501", "null 1"]);
    assert!(python_stats.len() > 400, "{}", python_stats.len());
    assert!(
        python_stats.contains(&"00:00:14.000000 ep_0 0 successful 14".to_string()),
        "{python_stats:?}"
    );
    assert_eq!(pgq_stats, python_stats);
    assert_eq!(pgq_flags, python_flags);
}
