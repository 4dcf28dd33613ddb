//! Worker tab state: the running worker's snapshot, per-entrypoint rates
//! and its recent log lines. Present only when the console hosts a worker
//! (`pgq run` on a terminal, `pgq demo`).

mod view;

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Context, Reply, Screen, TabView};
use crate::console::keymap::Command;

use crate::worker::{Counters, InFlightJob, Snapshot, WorkerState};

/// Log lines kept for the tab.
const LOG_LINES: usize = 500;
/// Rates are measured over this window.
const RATE_WINDOW_SECONDS: i64 = 10;

pub struct WorkerTab {
    pub snapshot: Snapshot,
    pub log: VecDeque<String>,
    /// (time, finished jobs per entrypoint) samples for the rates.
    samples: VecDeque<(DateTime<Utc>, BTreeMap<String, u64>)>,
    /// The console stops the worker on quit and exits when it has stopped.
    pub owns_worker: bool,
    pub stop_requested: u8,
    /// The selected row of the in-flight jobs (oldest first), for Enter.
    pub selected: usize,
}

pub fn finished(c: &Counters) -> u64 {
    c.successful + c.exception + c.failed + c.canceled
}

impl WorkerTab {
    pub fn new(snapshot: Snapshot, owns_worker: bool) -> WorkerTab {
        WorkerTab {
            snapshot,
            log: VecDeque::new(),
            samples: VecDeque::new(),
            owns_worker,
            stop_requested: 0,
            selected: 0,
        }
    }

    pub fn update(&mut self, snapshot: Snapshot, now: DateTime<Utc>) {
        let totals = snapshot
            .entrypoints
            .iter()
            .map(|(name, c)| (name.clone(), finished(c)))
            .collect();
        self.samples.push_back((now, totals));
        while self
            .samples
            .front()
            .is_some_and(|(at, _)| now - *at > Duration::seconds(RATE_WINDOW_SECONDS))
            && self.samples.len() > 2
        {
            self.samples.pop_front();
        }
        self.snapshot = snapshot;
    }

    pub fn push_log(&mut self, line: String) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Finished jobs per second for `entrypoint` over the sample window.
    pub fn rate(&self, entrypoint: &str) -> f64 {
        let (Some((t0, first)), Some((t1, last))) = (self.samples.front(), self.samples.back())
        else {
            return 0.0;
        };
        let seconds = (*t1 - *t0).num_milliseconds() as f64 / 1e3;
        if seconds <= 0.0 {
            return 0.0;
        }
        let a = first.get(entrypoint).copied().unwrap_or(0);
        let b = last.get(entrypoint).copied().unwrap_or(0);
        b.saturating_sub(a) as f64 / seconds
    }

    /// The jobs in flight, oldest first: the order the tab lists them in.
    pub fn running(&self) -> Vec<&InFlightJob> {
        let mut jobs: Vec<_> = self.snapshot.in_flight.iter().collect();
        jobs.sort_by_key(|j| (j.started, j.id));
        jobs
    }

    /// The selected row, kept inside the list as jobs come and go.
    pub fn selected_row(&self) -> Option<usize> {
        let n = self.snapshot.in_flight.len();
        (n > 0).then(|| self.selected.min(n - 1))
    }

    pub fn stopped(&self) -> bool {
        self.snapshot.state == WorkerState::Stopped
    }
}

impl TabView for WorkerTab {
    fn title(&self) -> &'static str {
        "Worker"
    }

    /// The worker this process runs (`pgq run`, `pgq demo`).
    fn short_title(&self) -> &'static str {
        "Run"
    }

    fn on_command(&mut self, command: Command, _cx: &Context) -> Vec<Reply> {
        let last = self.snapshot.in_flight.len().saturating_sub(1);
        let at = self.selected_row().unwrap_or(0);
        match command {
            Command::Up => self.selected = at.saturating_sub(1),
            Command::Down => self.selected = (at + 1).min(last),
            Command::Top => self.selected = 0,
            Command::Bottom => self.selected = last,
            Command::Open => {
                if let Some(job) = self.running().get(at) {
                    return vec![Reply::ShowJob(job.id)];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw(frame, area, screen, self);
    }
}
