//! What the metrics endpoint reports about the queue, read in one short
//! READ ONLY transaction so a role that can only SELECT can scrape it.
//!
//! PGQueuer's `collect_metrics` first folds the log into the statistics
//! table (a write), then counts the statistics rows of the window. pgq counts
//! the same rows without writing: the statistics rows of the window plus the
//! log rows not yet aggregated, bucketed by second as the aggregation would.

use std::time::Duration;

use crate::actions::reports::latency::{self, LatencyReport};
use crate::actions::schema::tables::{self, TableInfo};
use crate::actions::{ActionError, Session};
use crate::db::rows::by_name;
use crate::db::statements::Statement;

by_name! {
    /// Jobs in the queue table for one (entrypoint, status).
    #[derive(Debug, Clone, PartialEq)]
    pub struct QueueCount {
        pub entrypoint: String,
        pub status: String,
        pub count: i64,
        /// Age of the oldest `queued` job (only for status `queued`).
        pub oldest_queued_seconds: Option<f64>,
        /// `picked` jobs whose heartbeat is older than the stale threshold.
        pub stale: i64,
    }
}

by_name! {
    /// Log transitions for one (entrypoint, status) within the window.
    #[derive(Debug, Clone, PartialEq)]
    pub struct LogCount {
        pub entrypoint: String,
        pub status: String,
        pub count: i64,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricsReport {
    pub queue: Vec<QueueCount>,
    pub logs: Vec<LogCount>,
    pub unaggregated_log_rows: i64,
    pub tables: Vec<TableInfo>,
    /// Execution and wait percentiles per entrypoint over the window (the
    /// Stats tab's statement, one slice); `None` when not asked for.
    pub latency: Option<LatencyReport>,
}

/// A scrape that hangs must not hold the connection (or the scrapers) for long.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// Three round trips: the reads are sent together (the connection
/// pipelines them) right behind BEGIN and the timeout, so the first round
/// trip begins and prepares them all, the second runs them all, the third
/// commits (behind a transaction pooler, whose statements are unnamed and
/// prepared as they run, two). Repeatable read: every statement of the
/// scrape sees one snapshot.
pub(in crate::actions) async fn collect(
    session: &Session,
    window: Duration,
    stale_after: Duration,
    latency: bool,
) -> Result<MetricsReport, ActionError> {
    let stale_secs = stale_after.as_secs_f64();
    let window_secs = window.as_secs_f64();
    let context = "reading metrics";
    type Params<'a> = [&'a (dyn tokio_postgres::types::ToSql + Sync); 1];
    let (queue_params, logs_params): (Params, Params) = ([&stale_secs], [&window_secs]);
    session
        .read_only(STATEMENT_TIMEOUT, "the metrics transaction", async || {
            let (queue, logs, unaggregated_log_rows, tables, latency) = tokio::try_join!(
                session.read(Statement::MetricsQueue, &queue_params, context),
                session.read(Statement::MetricsLogs, &logs_params, context),
                session.read_one(Statement::MetricsUnaggregated, &[], context),
                // Sizes only: the retention facts the Durability tab adds are not served.
                tables::table_sizes(session),
                async {
                    match latency {
                        true => latency::percentiles(session, window, 1).await.map(Some),
                        false => Ok(None),
                    }
                },
            )?;
            Ok(MetricsReport {
                queue,
                logs,
                unaggregated_log_rows,
                tables,
                latency,
            })
        })
        .await
}

/// The installation's tables that do not exist (empty: the schema is present).
pub(in crate::actions) async fn missing_tables(
    session: &Session,
) -> Result<Vec<String>, ActionError> {
    session
        .read(
            Statement::MissingTables,
            &[],
            "checking the PgQueuer tables",
        )
        .await
}
