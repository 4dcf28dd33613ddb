//! The confirmation dialog and the session's SQL log.
//!
//! Every mutation goes through [`Confirm`]: it shows the preview (question,
//! target, exact SQL, parameters, scripted equivalent, warning) with Cancel
//! focused, then the outcome. Every executed statement lands in [`SqlLog`].

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::actions::Action;
use crate::actions::batches::Batches;
use crate::actions::preview::Preview;

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
    /// The progress of a change that runs batch after batch, once
    /// confirmed (see [`Batches`]).
    pub watch: Batches,
}

/// A confirmed change whose dialog was sent away while it runs.
#[derive(Debug, Clone)]
pub struct Background {
    pub id: u64,
    pub action: Action,
    pub watch: Batches,
}

/// How far a change that runs batch after batch has come ("120,000/250,000
/// done"), once its first batch is done.
pub fn progress(watch: &Batches) -> Option<String> {
    use crate::output::format::group;
    let (done, total) = (watch.done(), watch.total());
    let count = |n: u64| group(i64::try_from(n).unwrap_or(i64::MAX));
    match (done, total) {
        (0, _) => None,
        (done, 0) => Some(format!("{} done", count(done))),
        (done, total) => Some(format!("{}/{} done", count(done), count(total))),
    }
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
            watch: Batches::default(),
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
    /// Log a change: `said` is what it did in words (its
    /// [`Action::outcome_text`]) or its error. Returns the line as logged.
    pub fn record(
        &mut self,
        at: DateTime<Utc>,
        command_line: String,
        said: Result<String, String>,
        elapsed: Duration,
        statements: Vec<String>,
    ) -> Result<String, String> {
        let outcome = said.map(|what| timed(&what, elapsed));
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

/// What a change did, and how long it took.
fn timed(what: &str, elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1e3;
    format!("{what} ({ms:.0} ms)")
}
