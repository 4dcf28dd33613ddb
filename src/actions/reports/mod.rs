//! Read-only reports: dashboard statistics, held, stale, backlog.
//!
//! Unlike PGQueuer's dashboard these never write: the statistics view merges
//! the statistics table with the log rows not yet aggregated, computing the
//! same per-second buckets the aggregation would, so a read-only role can use it.

pub mod activity;
pub mod check;
pub mod latency;
pub mod live_workers;
pub mod metrics;
pub mod reasons;
pub mod stats;
pub mod why;
pub mod workers;

// The report actions (registered in `actions::kinds`).
pub mod backlog;
pub mod dashboard;
pub mod last_picked;
pub mod queue_metrics;
pub mod queue_stats;
pub mod throughput;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::jobs::queue_row::QueueRow;
use super::{ActionError, Session};
use crate::db::rows::{FromRow, by_name};
use crate::db::statements::Statement;

by_name! {
    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct StatisticsRow {
        pub created: DateTime<Utc>,
        pub count: i64,
        pub entrypoint: String,
        pub status: String,
        pub priority: i32,
    }
}

by_name! {
    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct EntrypointSummary {
        pub entrypoint: String,
        pub queued: i64,
        pub picked: i64,
        pub failed: i64,
        pub oldest_queued_age_seconds: Option<f64>,
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DashboardReport {
    pub statistics: Vec<StatisticsRow>,
    pub summary: Vec<EntrypointSummary>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailedJob {
    pub id: i64,
    pub priority: i32,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub heartbeat: DateTime<Utc>,
    pub execute_after: DateTime<Utc>,
    pub status: String,
    pub entrypoint: String,
    pub attempts: i32,
    pub queue_manager_id: Option<Uuid>,
    pub slot: Option<i64>,
    pub headers: Option<serde_json::Value>,
    pub payload_bytes: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StaleJob {
    pub id: i64,
    pub priority: i32,
    pub queue_manager_id: Option<Uuid>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub heartbeat: DateTime<Utc>,
    pub execute_after: DateTime<Utc>,
    pub status: String,
    pub entrypoint: String,
    pub seconds_since_heartbeat: f64,
}

by_name! {
    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct BacklogRow {
        pub entrypoint: String,
        pub queued_count: i64,
        pub oldest_created: DateTime<Utc>,
        pub oldest_age_seconds: f64,
        pub avg_age_seconds: f64,
    }
}

pub(super) async fn dashboard(
    session: &Session,
    limit: u32,
) -> Result<DashboardReport, ActionError> {
    // The newest statistics rows (by id, as PGQueuer orders them) merged with
    // the buckets the next aggregation would add. Buckets not yet in the
    // statistics table sort first, as the aggregation would give them new ids.
    let limit = i64::from(limit);
    let statistics = session
        .read(
            Statement::DashboardStatistics,
            &[&limit],
            "reading statistics",
        )
        .await?;
    let summary = session
        .read(Statement::DashboardSummary, &[], "reading the queue")
        .await?;
    Ok(DashboardReport {
        statistics,
        summary,
    })
}

pub(super) async fn failed(session: &Session, limit: u32) -> Result<Vec<FailedJob>, ActionError> {
    session
        .read(
            Statement::FailedJobs,
            &[&i64::from(limit)],
            "reading held jobs",
        )
        .await
}

impl From<QueueRow> for FailedJob {
    fn from(row: QueueRow) -> FailedJob {
        FailedJob {
            id: row.id,
            priority: row.priority,
            created: row.created,
            updated: row.updated,
            heartbeat: row.heartbeat,
            execute_after: row.execute_after,
            status: row.status,
            entrypoint: row.entrypoint,
            attempts: row.attempts,
            queue_manager_id: row.queue_manager_id,
            slot: row.slot,
            headers: row.headers,
            payload_bytes: row.payload_bytes.unwrap_or(0),
        }
    }
}

impl FromRow for FailedJob {
    fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        QueueRow::from_row(row).map(FailedJob::from)
    }
}

impl FromRow for StaleJob {
    fn from_row(r: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        let row = QueueRow::from_row(r)?;
        Ok(StaleJob {
            id: row.id,
            priority: row.priority,
            queue_manager_id: row.queue_manager_id,
            created: row.created,
            updated: row.updated,
            heartbeat: row.heartbeat,
            execute_after: row.execute_after,
            status: row.status,
            entrypoint: row.entrypoint,
            seconds_since_heartbeat: r.try_get("seconds_since_heartbeat")?,
        })
    }
}

pub(super) async fn stale(
    session: &Session,
    threshold: std::time::Duration,
    limit: u32,
) -> Result<Vec<StaleJob>, ActionError> {
    session
        .read(
            Statement::StaleJobs,
            &[&threshold.as_secs_f64(), &i64::from(limit)],
            "reading stale jobs",
        )
        .await
}

pub(super) async fn backlog(session: &Session) -> Result<Vec<BacklogRow>, ActionError> {
    session
        .read(Statement::Backlog, &[], "reading the backlog")
        .await
}
