//! The confirmation dialog and the session's SQL log.
//!
//! Every mutation goes through [`Confirm`]: it shows the preview (question,
//! target, exact SQL, parameters, scripted equivalent, warning) with Cancel
//! focused, then the outcome. Every executed statement lands in [`SqlLog`].

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::actions::preview::Preview;
use crate::actions::{Action, Outcome};
use crate::output::plural;

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Asking,
    Running,
    Done { ok: bool, text: String },
}

#[derive(Debug, Clone)]
pub struct Confirm {
    pub id: u64,
    pub action: Action,
    pub preview: Preview,
    /// Cancel is focused until the user moves to Confirm.
    pub confirm_focused: bool,
    pub phase: Phase,
    pub scroll: u16,
}

impl Confirm {
    pub fn new(id: u64, action: Action, preview: Preview) -> Confirm {
        Confirm {
            id,
            action,
            preview,
            confirm_focused: false,
            phase: Phase::Asking,
            scroll: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SqlLogEntry {
    pub at: DateTime<Utc>,
    pub command_line: String,
    pub statements: Vec<String>,
    /// What happened: a summary, or the PostgreSQL error with its SQLSTATE.
    pub outcome: Result<String, String>,
    pub elapsed: Duration,
}

/// Bounded: a console left open for days does not grow without limit.
const SQL_LOG_CAPACITY: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct SqlLog {
    pub entries: VecDeque<SqlLogEntry>,
    pub open: bool,
    pub scroll: u16,
}

impl SqlLog {
    pub fn push(&mut self, entry: SqlLogEntry) {
        if self.entries.len() == SQL_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Log an executed action; answers the one line that says what it did
    /// (or the error).
    pub fn record(
        &mut self,
        at: DateTime<Utc>,
        command_line: String,
        result: &Result<Outcome, String>,
        elapsed: Duration,
        statements: Vec<String>,
    ) -> Result<String, String> {
        let outcome = result
            .as_ref()
            .map(|o| describe(o, elapsed))
            .map_err(Clone::clone);
        self.push(SqlLogEntry {
            at,
            command_line,
            statements,
            outcome: outcome.clone(),
            elapsed,
        });
        outcome
    }
}

/// One line saying what a mutation did.
pub fn describe(outcome: &Outcome, elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1e3;
    let what = match outcome {
        Outcome::Enqueued(r) => {
            let ids: Vec<String> = r
                .statuses
                .iter()
                .map(|s| match s {
                    crate::actions::jobs::EnqueueStatus::Enqueued(id) => {
                        format!("enqueued job {id}")
                    }
                    crate::actions::jobs::EnqueueStatus::Updated(id) => {
                        format!("kept existing job {id} (priority raised if lower)")
                    }
                    crate::actions::jobs::EnqueueStatus::Skipped => {
                        "skipped: a job with this dedupe key is queued or picked".into()
                    }
                })
                .collect();
            ids.join(", ")
        }
        Outcome::Requeued(r) => format!(
            "requeued {} of {}",
            r.requeued.len(),
            plural(r.requested, "job")
        ),
        Outcome::Canceled(r)
        | Outcome::Deleted(r)
        | Outcome::Purged(r)
        | Outcome::RequeuedJobs(r) => {
            format!("{} {}", r.removal.past(), plural(r.count as usize, "job"))
        }
        Outcome::SchedulesRemoved(r) => format!("removed {}", plural(r.removed.len(), "schedule")),
        Outcome::SchedulesDue(d) => format!(
            "{} of {} due now",
            d.due.len(),
            plural(d.requested, "schedule")
        ),
        Outcome::SchedulesPaused(r) => format!("paused {}", plural(r.moved.len(), "schedule")),
        Outcome::SchedulesResumed(r) => format!("resumed {}", plural(r.moved.len(), "schedule")),
        Outcome::SchedulesSkipped(r) => {
            format!(
                "skipped the next run of {}",
                plural(r.moved.len(), "schedule")
            )
        }
        Outcome::SchedulesPostponed(r) => {
            format!("postponed {}", plural(r.moved.len(), "schedule"))
        }
        Outcome::DurabilitySet(d) => format!(
            "switched {} to {}",
            plural(d.changes.len(), "table"),
            d.level
        ),
        Outcome::Pruned(p) => {
            let table =
                |t: &Option<crate::actions::prune::TablePrune>| t.as_ref().map_or(0, |t| t.deleted);
            let mut text = format!(
                "deleted {} and {} in {}",
                plural(table(&p.log) as usize, "log row"),
                plural(table(&p.statistics) as usize, "statistics row"),
                plural(p.batches() as usize, "batch")
            );
            if p.held_back() > 0 {
                text.push_str(&format!(
                    "; kept {} not aggregated yet",
                    plural(p.held_back() as usize, "old log row")
                ));
            }
            text
        }
        other => format!("{other:?}"),
    };
    format!("{what} ({ms:.0} ms)")
}
