//! Read-only facts about the installation's tables (console Durability tab)
//! and held jobs with their last traceback (console Held tab).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::jobs::missing_schema_or;
use super::prune::{RetentionInfo, retention_info};
use super::reports::FailedJob;
use super::{ActionError, Session, db_err};
use crate::db::statements::Statement;
use crate::schema::render::{DURABILITY_ORDER, table_of};
use crate::settings::durability::{Durability, TableRole};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableInfo {
    pub table: String,
    #[serde(skip)]
    pub role: TableRole,
    /// `None` when the table does not exist.
    pub unlogged: Option<bool>,
    pub total_bytes: i64,
    pub estimated_rows: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TablesReport {
    pub tables: Vec<TableInfo>,
    /// Oldest log and statistics rows and the aggregation backlog; `None`
    /// while either table is missing.
    pub retention: Option<RetentionInfo>,
    /// The level whose mapping every table matches; `None` is "custom".
    pub level: Option<Durability>,
}

/// Persistence, size and estimated rows of the tables named in `$1`.
pub(super) fn table_info_sql(n: &ObjectNames) -> String {
    Statement::TableInfo.render(n)
}

/// The four tables, in the order the Durability tab lists them.
pub(super) fn table_names(n: &ObjectNames) -> Vec<String> {
    DURABILITY_ORDER
        .iter()
        .map(|r| table_of(n, *r).to_string())
        .collect()
}

pub(super) async fn table_info(session: &Session) -> Result<TablesReport, ActionError> {
    let tables = table_sizes(session).await?;
    let level = Durability::matching(|role| {
        tables
            .iter()
            .find(|t| t.role == role)
            .and_then(|t| t.unlogged)
    });
    let present = |role| {
        tables
            .iter()
            .any(|t| t.role == role && t.unlogged.is_some())
    };
    let retention = if present(TableRole::Log) && present(TableRole::Statistics) {
        Some(retention_info(session).await?)
    } else {
        None
    };
    Ok(TablesReport {
        tables,
        level,
        retention,
    })
}

/// Persistence, size and estimated rows of the four tables, in the
/// Durability tab's order (a missing table has `unlogged: None`).
pub(super) async fn table_sizes(session: &Session) -> Result<Vec<TableInfo>, ActionError> {
    let n = &session.names;
    let rows = session
        .client()
        .query(&table_info_sql(n), &[&table_names(n)])
        .await
        .map_err(db_err("reading table sizes"))?;
    let tables: Vec<TableInfo> = DURABILITY_ORDER
        .iter()
        .map(|role| {
            let name = table_of(n, *role);
            let row = rows.iter().find(|r| r.get::<_, String>(0) == name);
            TableInfo {
                table: name.to_string(),
                role: *role,
                unlogged: row.map(|r| r.get(1)),
                total_bytes: row.map_or(0, |r| r.get(2)),
                estimated_rows: row.map_or(0, |r| r.get(3)),
            }
        })
        .collect();
    Ok(tables)
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeldJob {
    pub job: FailedJob,
    /// The traceback of the job's newest log row that has one.
    pub traceback: Option<serde_json::Value>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// Held jobs with their newest traceback, newest first (`$1`: limit).
pub(super) fn held_jobs_sql(n: &ObjectNames) -> String {
    Statement::HeldJobs.render(n)
}

pub(super) async fn held_jobs(session: &Session, limit: u32) -> Result<Vec<HeldJob>, ActionError> {
    let rows = session
        .client()
        .query(&held_jobs_sql(&session.names), &[&i64::from(limit)])
        .await
        .map_err(|e| missing_schema_or(session, e, "reading held jobs"))?;
    Ok(rows
        .iter()
        .map(|r| HeldJob {
            job: FailedJob::from_row(r),
            traceback: r.get(13),
            failed_at: r.get(14),
        })
        .collect())
}
