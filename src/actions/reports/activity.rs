//! What the queue has been doing: finished jobs per entrypoint and status
//! over a window (`pgq throughput`) and the newest log rows (`pgq log`).
//! Reads only.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::jobs::filter::JobStatus;
use crate::actions::reports::metrics::LogCount;
use crate::actions::{ActionError, Session};
use crate::db::rows::by_name;
use crate::db::statements::Statement;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EntrypointThroughput {
    pub entrypoint: String,
    pub total: i64,
    pub per_second: f64,
    /// Finished jobs by log status (successful, exception, canceled,
    /// deleted, failed); statuses without jobs are left out.
    pub statuses: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ThroughputReport {
    pub window_seconds: f64,
    pub total: i64,
    pub per_second: f64,
    pub entrypoints: Vec<EntrypointThroughput>,
}

/// Log statuses of a job that is still in the queue: not a finish.
const NOT_FINISHED: [&str; 2] = ["queued", "picked"];

/// The finishes `pgqueuer_logs_count` counts over `window` (the statistics
/// table plus the log rows not aggregated yet: the same statement as the
/// metrics endpoint), per entrypoint and status.
pub(in crate::actions) async fn throughput(
    session: &Session,
    window: Duration,
) -> Result<ThroughputReport, ActionError> {
    let seconds = window.as_secs_f64();
    let rows: Vec<LogCount> = session
        .read(Statement::MetricsLogs, &[&seconds], "reading finished jobs")
        .await?;
    let mut by_name: BTreeMap<String, EntrypointThroughput> = BTreeMap::new();
    for LogCount {
        entrypoint: name,
        status,
        count,
    } in rows
    {
        if NOT_FINISHED.contains(&status.as_str()) {
            continue;
        }
        let entry = by_name
            .entry(name.clone())
            .or_insert_with(|| EntrypointThroughput {
                entrypoint: name,
                ..Default::default()
            });
        entry.total += count;
        *entry.statuses.entry(status).or_default() += count;
    }
    let rate = |n: i64| n as f64 / seconds;
    let mut entrypoints: Vec<EntrypointThroughput> = by_name.into_values().collect();
    for e in &mut entrypoints {
        e.per_second = rate(e.total);
    }
    let total = entrypoints.iter().map(|e| e.total).sum();
    Ok(ThroughputReport {
        window_seconds: seconds,
        total,
        per_second: rate(total),
        entrypoints,
    })
}

/// Which log rows `pgq log` shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogQuery {
    pub limit: u32,
    /// Any of these entrypoints (empty: all).
    pub entrypoints: Vec<String>,
    pub status: Option<JobStatus>,
    pub job_id: Option<i64>,
}

by_name! {
    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct LogRow {
        pub id: i64,
        pub job_id: i64,
        pub created: DateTime<Utc>,
        pub status: String,
        pub priority: i32,
        pub entrypoint: String,
        /// PGQueuer's traceback object, when the row has one.
        pub traceback: Option<serde_json::Value>,
    }
}

/// The newest log rows (by id) matching `query`.
pub(in crate::actions) async fn log_rows(
    session: &Session,
    query: &LogQuery,
) -> Result<Vec<LogRow>, ActionError> {
    let entrypoints = (!query.entrypoints.is_empty()).then_some(&query.entrypoints);
    let status = query.status.map(JobStatus::label);
    session
        .read(
            Statement::LogRows,
            &[
                &i64::from(query.limit),
                &entrypoints,
                &status,
                &query.job_id,
            ],
            "reading the log",
        )
        .await
}
