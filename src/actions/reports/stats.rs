//! Queue statistics for the console's Stats tab: per-entrypoint depth and
//! age now, completions in a look-back window, and a throughput series.
//!
//! Reads only. Completions come from the statistics table plus the log rows
//! the next aggregation would add (as the dashboard does), so a read-only role
//! sees the same numbers a worker's aggregation will produce.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::reports::latency::{self, LatencyReport};
use crate::actions::{ActionError, Session};
use crate::db::rows::by_name;
use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

/// Look-back windows offered by the console (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StatsWindow {
    FiveMinutes,
    OneHour,
    SixHours,
    OneDay,
}

impl StatsWindow {
    pub const ALL: [StatsWindow; 4] = [
        StatsWindow::FiveMinutes,
        StatsWindow::OneHour,
        StatsWindow::SixHours,
        StatsWindow::OneDay,
    ];

    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            StatsWindow::FiveMinutes => 300,
            StatsWindow::OneHour => 3_600,
            StatsWindow::SixHours => 6 * 3_600,
            StatsWindow::OneDay => 24 * 3_600,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            StatsWindow::FiveMinutes => "5m",
            StatsWindow::OneHour => "1h",
            StatsWindow::SixHours => "6h",
            StatsWindow::OneDay => "24h",
        }
    }

    pub fn next(self) -> StatsWindow {
        let i = Self::ALL.iter().position(|w| *w == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

/// Number of equal slices the throughput series divides the window into.
pub const SERIES_BUCKETS: usize = 60;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Completions {
    pub successful: i64,
    pub exception: i64,
    pub canceled: i64,
    /// Held jobs (`on_failure = hold`), logged as `failed`.
    pub failed: i64,
}

impl Completions {
    pub fn total(&self) -> i64 {
        self.successful + self.exception + self.canceled + self.failed
    }

    /// PGQueuer's definition: (exception + failed) / all terminal outcomes;
    /// `None` when nothing finished in the window.
    pub fn failure_rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| (self.exception + self.failed) as f64 / total as f64)
    }

    fn add(&mut self, status: &str, count: i64) {
        match status {
            "successful" => self.successful += count,
            "exception" => self.exception += count,
            "canceled" => self.canceled += count,
            "failed" => self.failed += count,
            _ => {}
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EntrypointStats {
    pub entrypoint: String,
    pub queued: i64,
    pub picked: i64,
    /// Jobs held in `failed` status in the queue table.
    pub held: i64,
    pub oldest_queued_age_seconds: Option<f64>,
    pub done: Completions,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueStats {
    pub window: StatsWindow,
    pub as_of: DateTime<Utc>,
    pub entrypoints: Vec<EntrypointStats>,
    /// Oldest slice first; each slice is `window / SERIES_BUCKETS` long.
    pub series: Vec<Completions>,
    /// Execution and wait percentiles in the window, with their p95 per
    /// slice sliced like `series`; empty unless `latency_included`.
    pub latency: LatencyReport,
    /// Whether this refresh computed `latency` (the console asks for it less
    /// often than for the counts and keeps the last one meanwhile).
    pub latency_included: bool,
}

/// The sum of `rows` (the oldest queued age is the largest).
pub fn totals<'a>(rows: impl IntoIterator<Item = &'a EntrypointStats>) -> EntrypointStats {
    let mut t = EntrypointStats {
        entrypoint: "total".into(),
        ..Default::default()
    };
    for e in rows {
        t.queued += e.queued;
        t.picked += e.picked;
        t.held += e.held;
        t.oldest_queued_age_seconds =
            match (t.oldest_queued_age_seconds, e.oldest_queued_age_seconds) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
        t.done.successful += e.done.successful;
        t.done.exception += e.done.exception;
        t.done.canceled += e.done.canceled;
        t.done.failed += e.done.failed;
    }
    t
}

by_name! {
    /// One entrypoint's queue depth (`stats_depth.sql`; `pgq size` sums it).
    pub(in crate::actions) struct Depth {
        pub(in crate::actions) entrypoint: String,
        pub(in crate::actions) queued: i64,
        pub(in crate::actions) picked: i64,
        pub(in crate::actions) failed: i64,
        pub(in crate::actions) oldest_queued_age_seconds: Option<f64>,
    }
}

by_name! {
    /// Finished jobs of one entrypoint and status in one slice (`stats_done.sql`).
    struct Done {
        entrypoint: String,
        status: String,
        age_slice: i32,
        count: i64,
    }
}

/// Depth and age of the queue per entrypoint, now.
pub(in crate::actions) fn depth_sql(n: &ObjectNames) -> String {
    Statement::StatsDepth.render(n)
}

/// Terminal outcomes in the window (`$1` seconds), bucketed by age in slices
/// of `$2` seconds, at most `$3` of them: slice 0 is the newest.
pub(in crate::actions) fn done_sql(n: &ObjectNames) -> String {
    Statement::StatsDone.render(n)
}

pub(in crate::actions) async fn queue_stats(
    session: &Session,
    window: StatsWindow,
    with_latency: bool,
) -> Result<QueueStats, ActionError> {
    let seconds = window.duration().as_secs_f64();
    let bucket = seconds / SERIES_BUCKETS as f64;
    let buckets = SERIES_BUCKETS as i32;
    let done_params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&seconds, &bucket, &buckets];
    let context = "reading queue statistics";
    let counts = async {
        tokio::try_join!(
            session.read_sql::<DateTime<Utc>>("SELECT now()", &[], context),
            session.read::<Depth>(Statement::StatsDepth, &[], context),
            session.read::<Done>(Statement::StatsDone, &done_params, context),
        )
    };
    // Sent together: the connection pipelines them, one round trip. The
    // latency scans the window's log rows and can take seconds on a large
    // log: when it fails (a statement timeout) the counts still show.
    let latency = async {
        if !with_latency {
            return LatencyReport::default();
        }
        latency::percentiles(session, window.duration(), SERIES_BUCKETS)
            .await
            .unwrap_or_else(|e| LatencyReport {
                error: Some(e.to_string()),
                ..Default::default()
            })
    };
    let (counts, latency) = tokio::join!(counts, latency);
    let (now, depth, done) = counts?;

    let mut by_name: std::collections::BTreeMap<String, EntrypointStats> = Default::default();
    for d in depth {
        by_name.insert(
            d.entrypoint.clone(),
            EntrypointStats {
                entrypoint: d.entrypoint,
                queued: d.queued,
                picked: d.picked,
                held: d.failed,
                oldest_queued_age_seconds: d.oldest_queued_age_seconds,
                done: Completions::default(),
            },
        );
    }
    let mut series = vec![Completions::default(); SERIES_BUCKETS];
    for d in done {
        let entry = by_name
            .entry(d.entrypoint.clone())
            .or_insert_with(|| EntrypointStats {
                entrypoint: d.entrypoint,
                ..Default::default()
            });
        entry.done.add(&d.status, d.count);
        let slot = SERIES_BUCKETS - 1 - (d.age_slice.clamp(0, buckets - 1) as usize);
        series[slot].add(&d.status, d.count);
    }
    Ok(QueueStats {
        window,
        as_of: now.into_iter().next().unwrap_or_else(Utc::now),
        entrypoints: by_name.into_values().collect(),
        series,
        latency,
        latency_included: with_latency,
    })
}
