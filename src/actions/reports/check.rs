//! `pgq check`: the queue's health against thresholds, in one read-only
//! statement (`sql/check.sql`), one finding per threshold.

use serde::Serialize;
use serde_json::{Value, json};

use crate::actions::{Act, ActionError, Session, pgq};
use crate::db::rows::by_name;
use crate::db::statements::Statement;
use crate::output::escape_line;
use crate::settings::check::Thresholds;
use crate::settings::names::ObjectNames;

/// What the queue looks like, for every check at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The oldest queued job: id, entrypoint, age in seconds.
    pub oldest: Option<(i64, String, f64)>,
    /// Queued jobs per entrypoint.
    pub queued: Vec<(String, i64)>,
    pub held: i64,
    pub stale: i64,
    /// Jobs of the window that failed (exception, failed) and that finished.
    pub failed: i64,
    pub finished: i64,
    /// The latest schedule: entrypoint, expression, seconds late.
    pub late_schedule: Option<(String, String, f64)>,
}

pub(in crate::actions) async fn health(
    session: &Session,
    t: &Thresholds,
) -> Result<Health, ActionError> {
    let (stale, window) = (t.stale_after().as_secs_f64(), t.window().as_secs_f64());
    let r: HealthRow = session
        .read_one(Statement::Check, &[&stale, &window], "checking the queue")
        .await?;
    Ok(Health {
        oldest: r.oldest_id.map(|id| {
            (
                id,
                r.oldest_entrypoint.unwrap_or_default(),
                r.oldest_age.unwrap_or_default(),
            )
        }),
        queued: r
            .queued_entrypoints
            .into_iter()
            .zip(r.queued_counts)
            .collect(),
        held: r.held,
        stale: r.stale,
        failed: r.failed,
        finished: r.finished,
        late_schedule: r.late_entrypoint.map(|ep| {
            (
                ep,
                r.late_expression.unwrap_or_default(),
                r.lateness.unwrap_or_default(),
            )
        }),
    })
}

by_name! {
    /// `check.sql`'s one row; a missing oldest job or late schedule is NULLs.
    struct HealthRow {
        oldest_id: Option<i64>,
        oldest_entrypoint: Option<String>,
        oldest_age: Option<f64>,
        queued_entrypoints: Vec<String>,
        queued_counts: Vec<i64>,
        held: i64,
        stale: i64,
        failed: i64,
        finished: i64,
        late_entrypoint: Option<String>,
        late_expression: Option<String>,
        lateness: Option<f64>,
    }
}

/// One threshold as checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub value: Value,
    pub limit: Value,
    pub detail: String,
    #[serde(skip)]
    pub breached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub healthy: bool,
    pub breaches: Vec<Finding>,
    pub checked: Vec<Finding>,
}

/// `90s`, `14m`, `2h05m`, `3d`: short, as thresholds are written.
pub fn compact(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..120 => format!("{s}s"),
        120..3_600 if s.is_multiple_of(60) || s >= 600 => format!("{}m", s / 60),
        120..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..172_800 => match (s % 3_600) / 60 {
            0 => format!("{}h", s / 3_600),
            m => format!("{}h{m:02}m", s / 3_600),
        },
        _ => format!("{}d", s / 86_400),
    }
}

/// Every threshold of `t` against `h`.
pub fn evaluate(t: &Thresholds, h: &Health) -> CheckReport {
    let mut checked = Vec::new();
    if let Some(limit) = t.max_oldest_queued {
        let limit_s = limit.as_secs_f64();
        let (value, detail) = match &h.oldest {
            Some((id, ep, age)) => (
                *age,
                format!(
                    "oldest queued job is {} old (limit {}): entrypoint {}, job {id}",
                    compact(*age),
                    compact(limit_s),
                    escape_line(ep)
                ),
            ),
            None => (0.0, "no job is queued".to_string()),
        };
        checked.push(finding(
            "oldest_queued",
            json!(value),
            json!(limit_s),
            detail,
            value > limit_s,
        ));
    }
    for q in &t.max_queued {
        let (value, what) = match &q.entrypoint {
            Some(ep) => (
                h.queued
                    .iter()
                    .find(|(e, _)| e == ep)
                    .map_or(0, |(_, n)| *n),
                format!("queued jobs of {}", escape_line(ep)),
            ),
            None => (
                h.queued.iter().map(|(_, n)| n).sum(),
                "queued jobs".to_string(),
            ),
        };
        checked.push(finding(
            "queued",
            json!(value),
            json!(q.limit),
            format!("{what}: {value} (limit {})", q.limit),
            value as u64 > q.limit,
        ));
    }
    if let Some(limit) = t.max_held {
        checked.push(finding(
            "held",
            json!(h.held),
            json!(limit),
            format!(
                "held (failed) jobs: {} (limit {limit}); pgq failed lists them",
                h.held
            ),
            h.held as u64 > limit,
        ));
    }
    if let Some(limit) = t.max_stale {
        checked.push(finding(
            "stale",
            json!(h.stale),
            json!(limit),
            format!(
                "stale picked jobs (heartbeat older than {}): {} (limit {limit}); pgq stale lists them",
                compact(t.stale_after().as_secs_f64()),
                h.stale
            ),
            h.stale as u64 > limit,
        ));
    }
    if let Some(limit) = t.max_failure_rate {
        let window = compact(t.window().as_secs_f64());
        let rate = (h.finished > 0).then(|| 100.0 * h.failed as f64 / h.finished as f64);
        let detail = match rate {
            Some(rate) => format!(
                "failure rate is {rate:.1}% over the last {window} (limit {limit}%): {} of {} finished jobs failed",
                h.failed, h.finished
            ),
            None => format!("no job finished in the last {window}, so no failure rate"),
        };
        checked.push(finding(
            "failure_rate",
            json!(rate),
            json!(limit),
            detail,
            rate.is_some_and(|r| r > limit),
        ));
    }
    if let Some(limit) = t.max_schedule_lateness {
        let limit_s = limit.as_secs_f64();
        let (value, detail) = match &h.late_schedule {
            Some((ep, expr, late)) => (
                *late,
                format!(
                    "schedule {} ({}) is {} late (limit {}); pgq why --schedule {} says why",
                    escape_line(ep),
                    escape_line(expr),
                    compact(*late),
                    compact(limit_s),
                    escape_line(ep)
                ),
            ),
            None => (0.0, "no schedule is late".to_string()),
        };
        checked.push(finding(
            "schedule_lateness",
            json!(value),
            json!(limit_s),
            detail,
            value > limit_s,
        ));
    }
    let breaches: Vec<Finding> = checked.iter().filter(|f| f.breached).cloned().collect();
    CheckReport {
        healthy: breaches.is_empty(),
        breaches,
        checked,
    }
}

fn finding(
    check: &'static str,
    value: Value,
    limit: Value,
    detail: String,
    breached: bool,
) -> Finding {
    Finding {
        check,
        value,
        limit,
        detail,
        breached,
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    #[test]
    fn compact_durations() {
        assert_eq!(compact(45.0), "45s");
        assert_eq!(compact(300.0), "5m");
        assert_eq!(compact(14.0 * 60.0 + 3.0), "14m");
        assert_eq!(compact(150.0), "2m30s");
        assert_eq!(compact(7200.0 + 300.0), "2h05m");
        assert_eq!(compact(3600.0), "1h");
        assert_eq!(compact(3.0 * 86_400.0), "3d");
    }
}

// The action: `pgq check`: is anything wrong right now? Thresholds against one read-only pass
// over the queue, log, statistics and schedules.

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub thresholds: Thresholds,
}

impl Act for Check {
    type Output = CheckReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Check {
            thresholds: Thresholds {
                max_held: Some(0),
                ..Thresholds::default()
            },
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(
            names,
            &format!("check {}", flags(&self.thresholds).join(" ")),
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<CheckReport, ActionError> {
        let health = health(session, &self.thresholds).await?;
        Ok(evaluate(&self.thresholds, &health))
    }
}

/// The flags that give `t`, for a command line.
pub fn flags(t: &Thresholds) -> Vec<String> {
    let secs = |d: std::time::Duration| format!("{}s", d.as_secs_f64());
    let mut out = Vec::new();
    if let Some(d) = t.max_oldest_queued {
        out.push(format!("--max-oldest-queued {}", secs(d)));
    }
    for q in &t.max_queued {
        out.push(format!(
            "--max-queued {}",
            crate::actions::jobs::enqueue::shell_quote(&q.to_string())
        ));
    }
    if let Some(n) = t.max_held {
        out.push(format!("--max-held {n}"));
    }
    if let Some(n) = t.max_stale {
        out.push(format!("--max-stale {n}"));
    }
    if let Some(p) = t.max_failure_rate {
        out.push(format!(
            "--max-failure-rate {p} --window {}",
            secs(t.window())
        ));
    }
    if let Some(d) = t.max_schedule_lateness {
        out.push(format!("--max-schedule-lateness {}", secs(d)));
    }
    if let Some(d) = t.stale_after {
        out.push(format!("--stale-after {}", d.as_secs_f64()));
    }
    out
}
