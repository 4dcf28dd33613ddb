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

use crate::actions::{Act, ActionError, Session, pgq};
use crate::db::rows::{FromRow, by_name};
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
    session.read_sql(&sql, &params, "reading workers").await
}

impl FromRow for WorkerRow {
    fn from_row(r: &tokio_postgres::Row) -> Result<WorkerRow, tokio_postgres::Error> {
        let stale_jobs: i64 = r.try_get("stale_jobs")?;
        let ids: Vec<i64> = r.try_get("job_ids")?;
        let entrypoints: Vec<String> = r.try_get("job_entrypoints")?;
        let priorities: Vec<i32> = r.try_get("job_priorities")?;
        let picked: Vec<f64> = r.try_get("job_picked_ages")?;
        let heartbeats: Vec<f64> = r.try_get("job_heartbeat_ages")?;
        let stale: Vec<bool> = r.try_get("job_stale")?;
        let picked_at: Vec<DateTime<Utc>> = r.try_get("job_picked")?;
        let heartbeat_at: Vec<DateTime<Utc>> = r.try_get("job_heartbeats")?;
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
        Ok(WorkerRow {
            queue_manager_id: r.try_get("queue_manager_id")?,
            active_jobs: r.try_get("active_jobs")?,
            oldest_heartbeat: r.try_get("oldest_heartbeat")?,
            newest_heartbeat: r.try_get("newest_heartbeat")?,
            entrypoints: r.try_get("entrypoints")?,
            newest_heartbeat_age_seconds: r.try_get("newest_heartbeat_age_seconds")?,
            oldest_heartbeat_age_seconds: r.try_get("oldest_heartbeat_age_seconds")?,
            stale_jobs,
            stale: stale_jobs > 0,
            jobs,
        })
    }
}

/// How far back [`last_picked`] looks: the log's `created` index keeps it
/// cheap, and an entrypoint idle longer than this reads "not in the last hour".
pub const LAST_PICKED_WINDOW: Duration = Duration::from_secs(3600);

by_name! {
    /// When an entrypoint's job was last picked (its newest `picked` log row).
    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct EntrypointPicked {
        pub entrypoint: String,
        pub last_picked: DateTime<Utc>,
    }
}

/// Per entrypoint, the newest `picked` log row within `window`: which work
/// the workers, idle now or not, were taking lately.
pub async fn last_picked(
    session: &Session,
    window: Duration,
) -> Result<Vec<EntrypointPicked>, ActionError> {
    session
        .read(
            Statement::LastPicked,
            &[&window.as_secs_f64()],
            "reading when entrypoints were last picked",
        )
        .await
}

// The action: `pgq workers`: the queue managers holding picked jobs, with their jobs.

#[derive(Debug, Clone, PartialEq)]
pub struct Workers {
    /// A held job whose heartbeat is older than this is stale.
    pub stale_after: Duration,
    /// Jobs listed per worker (the count covers all of them).
    pub job_limit: u32,
}

impl Act for Workers {
    type Output = Vec<WorkerRow>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Workers {
            stale_after: STALE_AFTER,
            job_limit: 20,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let seconds = self.stale_after.as_secs_f64();
        pgq(
            names,
            &format!("workers -t {seconds} --jobs {}", self.job_limit),
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<WorkerRow>, ActionError> {
        workers(session, self.stale_after, self.job_limit).await
    }
}
