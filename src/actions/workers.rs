//! The queue managers holding picked jobs (`pgq workers`, the console's
//! Workers tab), with the jobs each holds and how fresh their heartbeats are.
//!
//! A worker is what PGQueuer's `active_workers` calls one: a
//! `queue_manager_id` on picked rows of the queue table. The log table has no
//! `queue_manager_id`, so how many jobs a worker finished or failed cannot be
//! told from PGQueuer's tables; this report does not pretend to.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::reports::query;
use super::{ActionError, Session};
use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

/// The default stale threshold, as `pgq stale` has it (seconds).
pub const STALE_AFTER: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkerJob {
    pub id: i64,
    pub entrypoint: String,
    pub priority: i32,
    /// When it was picked (its `updated`, which dequeue sets).
    pub picked: DateTime<Utc>,
    pub heartbeat: DateTime<Utc>,
    pub picked_age_seconds: f64,
    pub heartbeat_age_seconds: f64,
    /// Its heartbeat is older than the stale threshold.
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkerRow {
    pub queue_manager_id: Uuid,
    /// Picked jobs it holds now (all of them, not only those in `jobs`).
    pub active_jobs: i64,
    pub oldest_heartbeat: DateTime<Utc>,
    pub newest_heartbeat: DateTime<Utc>,
    pub entrypoints: Vec<String>,
    /// Age of the freshest heartbeat among its jobs.
    pub newest_heartbeat_age_seconds: f64,
    /// Age of the stalest heartbeat among its jobs.
    pub oldest_heartbeat_age_seconds: f64,
    /// Held jobs whose heartbeat is older than the threshold (what
    /// `pgq stale` lists for this worker).
    pub stale_jobs: i64,
    /// The worker holds at least one stale job.
    pub stale: bool,
    /// Its jobs by id, the first `job_limit` of them.
    pub jobs: Vec<WorkerJob>,
}

/// Workers by id with their first `$2` jobs by id; stale means a
/// heartbeat older than `$1` seconds.
pub fn workers_sql(n: &ObjectNames) -> String {
    Statement::Workers.render(n)
}

/// One statement, so the counts and the jobs describe the same moment.
pub async fn workers(
    session: &Session,
    stale_after: Duration,
    job_limit: u32,
) -> Result<Vec<WorkerRow>, ActionError> {
    let sql = workers_sql(&session.names);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [
        &stale_after.as_secs_f64(),
        &i32::try_from(job_limit).unwrap_or(i32::MAX),
    ];
    let rows = query(session, &sql, &params, "reading workers").await?;
    Ok(rows.iter().map(WorkerRow::from_row).collect())
}

impl WorkerRow {
    fn from_row(r: &tokio_postgres::Row) -> WorkerRow {
        let stale_jobs: i64 = r.get(7);
        let ids: Vec<i64> = r.get(8);
        let entrypoints: Vec<String> = r.get(9);
        let priorities: Vec<i32> = r.get(10);
        let picked: Vec<f64> = r.get(11);
        let heartbeats: Vec<f64> = r.get(12);
        let stale: Vec<bool> = r.get(13);
        let picked_at: Vec<DateTime<Utc>> = r.get(14);
        let heartbeat_at: Vec<DateTime<Utc>> = r.get(15);
        let jobs = (0..ids.len())
            .map(|i| WorkerJob {
                id: ids[i],
                entrypoint: entrypoints[i].clone(),
                priority: priorities[i],
                picked: picked_at[i],
                heartbeat: heartbeat_at[i],
                picked_age_seconds: picked[i],
                heartbeat_age_seconds: heartbeats[i],
                stale: stale[i],
            })
            .collect();
        WorkerRow {
            queue_manager_id: r.get(0),
            active_jobs: r.get(1),
            oldest_heartbeat: r.get(2),
            newest_heartbeat: r.get(3),
            entrypoints: r.get(4),
            newest_heartbeat_age_seconds: r.get(5),
            oldest_heartbeat_age_seconds: r.get(6),
            stale_jobs,
            stale: stale_jobs > 0,
            jobs,
        }
    }
}

/// How far back [`last_picked`] looks: the log's `created` index keeps it
/// cheap, and an entrypoint idle longer than this reads "not in the last hour".
pub const LAST_PICKED_WINDOW: Duration = Duration::from_secs(3600);

/// When an entrypoint's job was last picked (its newest `picked` log row).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntrypointPicked {
    pub entrypoint: String,
    pub last_picked: DateTime<Utc>,
}

/// Per entrypoint, the newest `picked` log row within `window`: which work
/// the workers, idle now or not, were taking lately.
pub async fn last_picked(
    session: &Session,
    window: Duration,
) -> Result<Vec<EntrypointPicked>, ActionError> {
    let sql = Statement::LastPicked.render(&session.names);
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&window.as_secs_f64()];
    let rows = query(
        session,
        &sql,
        &params,
        "reading when entrypoints were last picked",
    )
    .await?;
    Ok(rows
        .iter()
        .map(|r| EntrypointPicked {
            entrypoint: r.get(0),
            last_picked: r.get(1),
        })
        .collect())
}
