//! What the metrics endpoint reports about the queue, read in one short
//! READ ONLY transaction so a role that can only SELECT can scrape it.
//!
//! PGQueuer's `collect_metrics` first folds the log into the statistics
//! table (a write), then counts the statistics rows of the window. pgq counts
//! the same rows without writing: the statistics rows of the window plus the
//! log rows not yet aggregated, bucketed by second as the aggregation would.

use std::time::Duration;

use super::latency::{self, LatencyReport};
use super::reports;
use super::tables::{self, TableInfo};
use super::{ActionError, Session, db_err};
use crate::db::statements::Statement;

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

/// Log transitions for one (entrypoint, status) within the window.
#[derive(Debug, Clone, PartialEq)]
pub struct LogCount {
    pub entrypoint: String,
    pub status: String,
    pub count: i64,
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
const STATEMENT_TIMEOUT: &str = "SET LOCAL statement_timeout = '10s'";

pub(super) async fn collect(
    session: &Session,
    window: Duration,
    stale_after: Duration,
    latency: bool,
) -> Result<MetricsReport, ActionError> {
    let client = session.client();
    // Repeatable read: every statement of the scrape sees one snapshot.
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .map_err(db_err("starting the metrics transaction"))?;
    let result = read(session, window, stale_after, latency).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = client.batch_execute(end).await;
    let report = result?;
    ended.map_err(db_err("ending the metrics transaction"))?;
    Ok(report)
}

async fn read(
    session: &Session,
    window: Duration,
    stale_after: Duration,
    latency: bool,
) -> Result<MetricsReport, ActionError> {
    session
        .client()
        .batch_execute(STATEMENT_TIMEOUT)
        .await
        .map_err(db_err("setting the statement timeout"))?;
    let stale_secs = stale_after.as_secs_f64();
    let window_secs = window.as_secs_f64();
    let queue = query(session, Statement::MetricsQueue, &[&stale_secs])
        .await?
        .iter()
        .map(|r| QueueCount {
            entrypoint: r.get(0),
            status: r.get(1),
            count: r.get(2),
            oldest_queued_seconds: r.get(3),
            stale: r.get(4),
        })
        .collect();
    let logs = query(session, Statement::MetricsLogs, &[&window_secs])
        .await?
        .iter()
        .map(|r| LogCount {
            entrypoint: r.get(0),
            status: r.get(1),
            count: r.get(2),
        })
        .collect();
    let unaggregated_log_rows = query(session, Statement::MetricsUnaggregated, &[])
        .await?
        .first()
        .map_or(0, |r| r.get(0));
    // Sizes only: the retention facts the Durability tab adds are not served.
    let tables = tables::table_sizes(session).await?;
    let latency = if latency {
        Some(latency::percentiles(session, window, 1).await?)
    } else {
        None
    };
    Ok(MetricsReport {
        queue,
        logs,
        unaggregated_log_rows,
        tables,
        latency,
    })
}

async fn query(
    session: &Session,
    statement: Statement,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, ActionError> {
    let sql = statement.render(&session.names);
    reports::query(session, &sql, params, "reading metrics").await
}

/// The installation's tables that do not exist (empty: the schema is present).
pub(super) async fn missing_tables(session: &Session) -> Result<Vec<String>, ActionError> {
    let rows = session
        .client()
        .query(&Statement::MissingTables.render(&session.names), &[])
        .await
        .map_err(db_err("checking the PgQueuer tables"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
