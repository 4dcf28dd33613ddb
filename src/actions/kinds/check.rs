//! `pgq check`: is anything wrong right now? Thresholds against one
//! read-only pass over the queue, log, statistics and schedules.

use crate::actions::reports::check::{self, CheckReport};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::check::Thresholds;
use crate::settings::names::ObjectNames;

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
        let health = check::health(session, &self.thresholds).await?;
        Ok(check::evaluate(&self.thresholds, &health))
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
