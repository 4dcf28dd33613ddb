//! Latency percentiles per entrypoint over a look-back window, from the log
//! table's transitions (read only; no index beyond PGQueuer's own).
//!
//! Execution time is PGQueuer 1.6.0's definition (its insights'
//! `job_duration_percentiles`): each terminal log row (successful,
//! exception, canceled, failed) paired with the job's previous log row when
//! that one is `picked`, rows ordered by (created, id) per job. Wait time is
//! the same pairing for a `picked` row whose previous row is `queued`. Only
//! rows created inside the window take part, so a job picked before the
//! window starts is left out rather than miscounted, as in PGQueuer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::actions::{Act, ActionError, Session, bind, psql};
use crate::db::rows::by_name;
use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

/// How old percentiles over `window` may get before they are computed
/// again. The statement reads every log row of the window: 0.25 s of a
/// server core for a 100,000-job drain in a 5-minute window, tens of seconds
/// on a log of millions of rows an hour, so it must not follow the counts
/// (which refresh with every queue event, or every scrape).
pub fn refresh_every(window: Duration) -> Duration {
    if window <= Duration::from_secs(300) {
        Duration::from_secs(30)
    } else {
        Duration::from_secs(120)
    }
}

/// Duration percentiles of one kind, in seconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Percentiles {
    /// How many durations were measured.
    pub count: i64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Execution (picked → terminal) and wait (queued → picked) percentiles;
/// `None` when nothing of that kind happened in the window.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Latency {
    pub execution: Option<Percentiles>,
    pub wait: Option<Percentiles>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LatencyReport {
    pub window_seconds: f64,
    /// Per entrypoint, by name.
    pub entrypoints: BTreeMap<String, Latency>,
    /// All entrypoints together (percentiles do not add up, so they are
    /// computed over every duration, not from the per-entrypoint rows).
    pub overall: Latency,
    /// p95 per slice of the window.
    pub series: LatencySeries,
    /// Why the percentiles are missing, when the statement failed (a
    /// statement timeout on a very large window) while the rest of a
    /// refresh did not.
    pub error: Option<String>,
}

/// p95 per slice of the window, oldest slice first; `None` where no
/// duration ended in a slice.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct P95Series {
    pub execution: Vec<Option<f64>>,
    pub wait: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct LatencySeries {
    pub slices: usize,
    pub entrypoints: BTreeMap<String, P95Series>,
    pub overall: P95Series,
}

impl Latency {
    fn slot(&mut self, execution: bool) -> &mut Option<Percentiles> {
        if execution {
            &mut self.execution
        } else {
            &mut self.wait
        }
    }
}

impl P95Series {
    fn empty(slices: usize) -> P95Series {
        P95Series {
            execution: vec![None; slices],
            wait: vec![None; slices],
        }
    }

    fn slot(&mut self, execution: bool) -> &mut Vec<Option<f64>> {
        if execution {
            &mut self.execution
        } else {
            &mut self.wait
        }
    }
}

/// Percentiles over the window `$1` (seconds) per entrypoint and overall,
/// and per slice of `$2` seconds of it (at most `$3` slices, slice 0 the
/// newest): one pass over the log for the table and the sparkline. The
/// groups are keyed by a boolean (true: execution) and by the entrypoint
/// under the "C" collation: the same groups, but sorted byte-wise, which
/// takes a quarter off the statement's time on a large window.
pub fn percentiles_sql(n: &ObjectNames) -> String {
    Statement::LatencyPercentiles.render(n)
}

by_name! {
    /// One grouping of `latency_percentiles.sql`: an entrypoint or all
    /// (`None`), a slice or the whole window (`None`).
    struct PercentilesRow {
        /// Execution (picked → terminal), else wait (queued → picked).
        execution: bool,
        entrypoint: Option<String>,
        slice: Option<i32>,
        count: i64,
        p50: f64,
        p95: f64,
        p99: f64,
        max: f64,
    }
}

/// The percentiles over `window`, and the p95 per slice of it (`slices`
/// equal slices; 1 when only the totals matter).
pub async fn percentiles(
    session: &Session,
    window: Duration,
    slices: usize,
) -> Result<LatencyReport, ActionError> {
    let sql = percentiles_sql(&session.names);
    let seconds = window.as_secs_f64();
    let slices = slices.max(1);
    let slice_seconds = seconds / slices as f64;
    let count = i32::try_from(slices).unwrap_or(i32::MAX);
    let rows: Vec<PercentilesRow> = session
        .read_sql(
            &sql,
            &[&seconds, &slice_seconds, &count],
            "reading latency percentiles",
        )
        .await?;
    let mut report = LatencyReport {
        window_seconds: seconds,
        series: LatencySeries {
            slices,
            entrypoints: BTreeMap::new(),
            overall: P95Series::empty(slices),
        },
        ..Default::default()
    };
    for r in rows {
        let (execution, entrypoint, slice) = (r.execution, r.entrypoint, r.slice);
        let percentiles = Percentiles {
            count: r.count,
            p50: r.p50,
            p95: r.p95,
            p99: r.p99,
            max: r.max,
        };
        match slice {
            None => {
                let latency = match entrypoint {
                    Some(name) => report.entrypoints.entry(name).or_default(),
                    None => &mut report.overall,
                };
                *latency.slot(execution) = Some(percentiles);
            }
            Some(age_slice) => {
                let series = match entrypoint {
                    Some(name) => report
                        .series
                        .entrypoints
                        .entry(name)
                        .or_insert_with(|| P95Series::empty(slices)),
                    None => &mut report.series.overall,
                };
                // Oldest first, like the throughput series.
                let at = slices - 1 - (age_slice.clamp(0, count - 1) as usize);
                series.slot(execution)[at] = Some(percentiles.p95);
            }
        }
    }
    Ok(report)
}

// The action: Execution and wait percentiles per entrypoint over a window, without the
// per-slice series (one slice), on their own: for a library user and the tests. The metrics
// endpoint gets them inside `QueueMetrics`, the Stats tab, sliced, inside `QueueStats`.

#[derive(Debug, Clone, PartialEq)]
pub struct LatencyPercentiles {
    pub window: Duration,
}

impl Act for LatencyPercentiles {
    type Output = LatencyReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        LatencyPercentiles {
            window: Duration::from_secs(3_600),
        }
    }

    /// No pgq command prints these numbers: the query itself.
    fn command_line(&self, names: &ObjectNames) -> String {
        let seconds = self.window.as_secs_f64();
        psql(&[bind(
            &percentiles_sql(names),
            &[seconds.to_string(), seconds.to_string(), "1".into()],
        )])
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<LatencyReport, ActionError> {
        percentiles(session, self.window, 1).await
    }
}
