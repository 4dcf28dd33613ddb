//! Read-only reports: dashboard statistics, held, stale, backlog.
//!
//! Unlike PGQueuer's dashboard these never write: the statistics view merges
//! the statistics table with the log rows not yet aggregated, computing the
//! same per-second buckets the aggregation would, so a read-only role can use it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::jobs::missing_schema_or;
use super::{ActionError, Session};
use crate::db::statements::Statement;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatisticsRow {
    pub created: DateTime<Utc>,
    pub count: i64,
    pub entrypoint: String,
    pub status: String,
    pub priority: i32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntrypointSummary {
    pub entrypoint: String,
    pub queued: i64,
    pub picked: i64,
    pub failed: i64,
    pub oldest_queued_age_seconds: Option<f64>,
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BacklogRow {
    pub entrypoint: String,
    pub queued_count: i64,
    pub oldest_created: DateTime<Utc>,
    pub oldest_age_seconds: f64,
    pub avg_age_seconds: f64,
}

pub(super) async fn query(
    session: &Session,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    context: &str,
) -> Result<Vec<tokio_postgres::Row>, ActionError> {
    session
        .client()
        .query(sql, params)
        .await
        .map_err(|e| missing_schema_or(session, e, context))
}

pub(super) async fn dashboard(
    session: &Session,
    limit: u32,
) -> Result<DashboardReport, ActionError> {
    // The newest statistics rows (by id, as PGQueuer orders them) merged with
    // the buckets the next aggregation would add. Buckets not yet in the
    // statistics table sort first, as the aggregation would give them new ids.
    let stats_sql = Statement::DashboardStatistics.render(&session.names);
    let limit = i64::from(limit);
    let rows = query(session, &stats_sql, &[&limit], "reading statistics").await?;
    let statistics = rows
        .iter()
        .map(|r| StatisticsRow {
            created: r.get(0),
            count: r.get(1),
            entrypoint: r.get(2),
            status: r.get(3),
            priority: r.get(4),
        })
        .collect();
    let summary_sql = Statement::DashboardSummary.render(&session.names);
    let rows = query(session, &summary_sql, &[], "reading the queue").await?;
    let summary = rows
        .iter()
        .map(|r| EntrypointSummary {
            entrypoint: r.get(0),
            queued: r.get(1),
            picked: r.get(2),
            failed: r.get(3),
            oldest_queued_age_seconds: r.get(4),
        })
        .collect();
    Ok(DashboardReport {
        statistics,
        summary,
    })
}

pub(super) async fn failed(session: &Session, limit: u32) -> Result<Vec<FailedJob>, ActionError> {
    let sql = Statement::FailedJobs.render(&session.names);
    let rows = query(session, &sql, &[&i64::from(limit)], "reading held jobs").await?;
    Ok(rows.iter().map(FailedJob::from_row).collect())
}

impl FailedJob {
    /// The first 13 columns of the held-jobs queries, in their order.
    pub(super) fn from_row(r: &tokio_postgres::Row) -> FailedJob {
        FailedJob {
            id: r.get(0),
            priority: r.get(1),
            created: r.get(2),
            updated: r.get(3),
            heartbeat: r.get(4),
            execute_after: r.get(5),
            status: r.get(6),
            entrypoint: r.get(7),
            attempts: r.get(8),
            queue_manager_id: r.get(9),
            slot: r.get(10),
            headers: r.get(11),
            payload_bytes: r.get(12),
        }
    }
}

pub(super) async fn stale(
    session: &Session,
    threshold: std::time::Duration,
    limit: u32,
) -> Result<Vec<StaleJob>, ActionError> {
    let sql = Statement::StaleJobs.render(&session.names);
    let rows = query(
        session,
        &sql,
        &[&threshold.as_secs_f64(), &i64::from(limit)],
        "reading stale jobs",
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| StaleJob {
            id: r.get(0),
            priority: r.get(1),
            queue_manager_id: r.get(2),
            created: r.get(3),
            updated: r.get(4),
            heartbeat: r.get(5),
            execute_after: r.get(6),
            status: r.get(7),
            entrypoint: r.get(8),
            seconds_since_heartbeat: r.get(9),
        })
        .collect())
}

pub(super) async fn backlog(session: &Session) -> Result<Vec<BacklogRow>, ActionError> {
    let sql = Statement::Backlog.render(&session.names);
    let rows = query(session, &sql, &[], "reading the backlog").await?;
    Ok(rows
        .iter()
        .map(|r| BacklogRow {
            entrypoint: r.get(0),
            queued_count: r.get(1),
            oldest_created: r.get(2),
            oldest_age_seconds: r.get(3),
            avg_age_seconds: r.get(4),
        })
        .collect())
}
