//! Read-only facts about the installation's tables (console Durability tab)
//! and held jobs with their last traceback (console Held tab).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::reports::FailedJob;
use crate::actions::retention::prune::{RetentionInfo, retention_info};
use crate::actions::{ActionError, Session};
use crate::db::rows::{FromRow, by_name};
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

by_name! {
    /// One existing table's catalog facts (`table_info.sql`).
    struct CatalogTable {
        name: String,
        unlogged: bool,
        total_bytes: i64,
        estimated_rows: i64,
        table_bytes: i64,
        index_bytes: i64,
        autovacuum: Vec<String>,
    }
}

/// The catalog facts of the installation's tables that exist.
async fn catalog_tables(
    session: &Session,
    context: &str,
) -> Result<Vec<CatalogTable>, ActionError> {
    let n = &session.names;
    session
        .read(Statement::TableInfo, &[&table_names(n)], context)
        .await
}

/// Persistence, size and estimated rows of the tables named in `$1`.
pub(in crate::actions) fn table_info_sql(n: &ObjectNames) -> String {
    Statement::TableInfo.render(n)
}

/// The four tables, in the order the Durability tab lists them.
pub(in crate::actions) fn table_names(n: &ObjectNames) -> Vec<String> {
    DURABILITY_ORDER
        .iter()
        .map(|r| table_of(n, *r).to_string())
        .collect()
}

pub(in crate::actions) async fn table_info(session: &Session) -> Result<TablesReport, ActionError> {
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
pub(in crate::actions) async fn table_sizes(
    session: &Session,
) -> Result<Vec<TableInfo>, ActionError> {
    let n = &session.names;
    let rows = catalog_tables(session, "reading table sizes").await?;
    let tables: Vec<TableInfo> = DURABILITY_ORDER
        .iter()
        .map(|role| {
            let name = table_of(n, *role);
            let row = rows.iter().find(|r| r.name == name);
            TableInfo {
                table: name.to_string(),
                role: *role,
                unlogged: row.map(|r| r.unlogged),
                total_bytes: row.map_or(0, |r| r.total_bytes),
                estimated_rows: row.map_or(0, |r| r.estimated_rows),
            }
        })
        .collect();
    Ok(tables)
}

/// One PGQueuer table as `pgq tables` and `pgq size` report it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TableObject {
    pub table: String,
    /// queue, log, statistics or schedules.
    pub role: &'static str,
    pub exists: bool,
    /// `logged` or `unlogged`; `None` when the table does not exist.
    pub persistence: Option<&'static str>,
    /// The planner's estimate (`reltuples`, else the statistics collector's
    /// live rows): counting a log of millions of rows would take minutes.
    pub estimated_rows: i64,
    /// Table, TOAST and indexes.
    pub total_bytes: i64,
    /// Table and TOAST, without indexes.
    pub table_bytes: i64,
    pub index_bytes: i64,
    /// The table's own `autovacuum_*` storage parameters (`pgq autovac`).
    pub autovacuum: Vec<String>,
}

/// `pgq size`: the tables' sizes and the queue's counts by status.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SizeReport {
    pub tables: Vec<TableObject>,
    /// All four tables with their indexes.
    pub total_bytes: i64,
    pub queued: i64,
    pub picked: i64,
    /// Held jobs (`on_failure = hold`).
    pub failed: i64,
}

fn role_name(role: TableRole) -> &'static str {
    match role {
        TableRole::Queue => "queue",
        TableRole::Log => "log",
        TableRole::Statistics => "statistics",
        TableRole::Schedules => "schedules",
    }
}

/// The four tables in the Durability tab's order, present or not: the same
/// catalog query as [`table_sizes`], read to its last column.
pub(in crate::actions) async fn table_objects(
    session: &Session,
) -> Result<Vec<TableObject>, ActionError> {
    let n = &session.names;
    let rows = catalog_tables(session, "reading the tables").await?;
    Ok(DURABILITY_ORDER
        .iter()
        .map(|role| {
            let name = table_of(n, *role);
            let row = rows.iter().find(|r| r.name == name);
            TableObject {
                table: name.to_string(),
                role: role_name(*role),
                exists: row.is_some(),
                persistence: row.map(|r| if r.unlogged { "unlogged" } else { "logged" }),
                estimated_rows: row.map_or(0, |r| r.estimated_rows),
                total_bytes: row.map_or(0, |r| r.total_bytes),
                table_bytes: row.map_or(0, |r| r.table_bytes),
                index_bytes: row.map_or(0, |r| r.index_bytes),
                autovacuum: row.map_or_else(Vec::new, |r| r.autovacuum.clone()),
            }
        })
        .collect())
}

/// The tables' sizes, then the queue's exact counts (the queue table is
/// small next to the log; counting it is what `dashboard` does too).
pub(in crate::actions) async fn size(session: &Session) -> Result<SizeReport, ActionError> {
    let tables = table_objects(session).await?;
    let depth: Vec<crate::actions::reports::stats::Depth> = session
        .read(Statement::StatsDepth, &[], "counting the queue")
        .await?;
    Ok(SizeReport {
        total_bytes: tables.iter().map(|t| t.total_bytes).sum(),
        tables,
        queued: depth.iter().map(|d| d.queued).sum(),
        picked: depth.iter().map(|d| d.picked).sum(),
        failed: depth.iter().map(|d| d.failed).sum(),
    })
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HeldJob {
    pub job: FailedJob,
    /// The traceback of the job's newest log row that has one.
    pub traceback: Option<serde_json::Value>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// Held jobs with their newest traceback, newest first (`$1`: limit).
pub(in crate::actions) fn held_jobs_sql(n: &ObjectNames) -> String {
    Statement::HeldJobs.render(n)
}

pub(in crate::actions) async fn held_jobs(
    session: &Session,
    limit: u32,
) -> Result<Vec<HeldJob>, ActionError> {
    session
        .read(
            Statement::HeldJobs,
            &[&i64::from(limit)],
            "reading held jobs",
        )
        .await
}

impl FromRow for HeldJob {
    fn from_row(r: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
        Ok(HeldJob {
            job: FailedJob::from_row(r)?,
            traceback: r.try_get("traceback")?,
            failed_at: r.try_get("failed_at")?,
        })
    }
}
