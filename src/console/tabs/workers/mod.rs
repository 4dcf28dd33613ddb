//! Workers tab state: the queue managers holding picked jobs (what
//! `pgq workers` lists), on the shared list view; the selected worker's jobs
//! show below the list.

mod view;

use ratatui::Frame;
use ratatui::layout::Rect;
use uuid::Uuid;

use super::list::{ListControls, ListView};
use super::{Context, Level, Reply, Routed, Screen, TabView, matches_filter};
use crate::actions::jobs::filter::{JobFilter, JobStatus};
use crate::actions::jobs::selection::JobSelection;
use crate::actions::reports::live_workers::HealthSenders;
use crate::actions::reports::workers::{EntrypointPicked, WorkerRow};
use crate::actions::{Outcome, kinds};
use crate::console::db::View;
use crate::console::keymap::Command;

#[derive(Debug, Clone, Default)]
pub struct WorkersTab {
    pub workers: Option<Vec<WorkerRow>>,
    /// Every worker's health checks, idle ones included.
    pub alive: HealthSenders,
    /// When each entrypoint was last picked (the log, last hour).
    pub last_picked: Option<Vec<EntrypointPicked>>,
    pub list: ListView<Uuid>,
    /// When the console started listening again after a pause (a busy
    /// queue with no events on screen): until a whole alive window has
    /// passed, the count is still filling up.
    pub heard_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl WorkersTab {
    /// Workers the filter keeps: by id, or by an entrypoint they hold.
    pub fn rows(&self) -> Vec<&WorkerRow> {
        let filter = &self.list.filter;
        self.workers
            .iter()
            .flatten()
            .filter(|w| {
                matches_filter(&w.queue_manager_id.to_string(), filter)
                    || w.entrypoints.iter().any(|e| matches_filter(e, filter))
            })
            .collect()
    }

    pub fn selected_row(&self) -> Option<&WorkerRow> {
        self.rows().get(self.list.selected).copied()
    }

    pub fn accept(&mut self, workers: Vec<WorkerRow>) {
        let previous = self.selected_row().map(|w| w.queue_manager_id);
        let ids: std::collections::HashSet<Uuid> =
            workers.iter().map(|w| w.queue_manager_id).collect();
        self.workers = Some(workers);
        let shown: Vec<Uuid> = self.rows().iter().map(|w| w.queue_manager_id).collect();
        self.list.accept(&shown, previous, |id| ids.contains(id));
    }
}

impl TabView for WorkersTab {
    fn shows_events(&self) -> bool {
        true
    }

    fn title(&self) -> &'static str {
        "Workers"
    }

    fn short_title(&self) -> &'static str {
        "Wkrs"
    }

    fn list(&self) -> Option<&dyn ListControls> {
        Some(&self.list)
    }

    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        Some(&mut self.list)
    }

    fn view(&self) -> Option<View> {
        Some(View::Workers)
    }

    fn on_refreshed(
        &mut self,
        _view: &View,
        result: Result<Outcome, String>,
        _cx: &Context,
    ) -> Routed {
        match result {
            Ok(Outcome::Workers(workers)) => {
                self.accept(workers);
                // The cheap extra read beside it: the workers' recent work.
                Routed::Taken(vec![Reply::Refresh(View::LastPicked)])
            }
            Ok(Outcome::LastPicked(picked)) => {
                self.last_picked = Some(picked);
                Routed::Taken(Vec::new())
            }
            other => Routed::Passed(other),
        }
    }

    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply> {
        if let Command::Up
        | Command::Down
        | Command::Top
        | Command::Bottom
        | Command::PageUp
        | Command::PageDown = command
        {
            let len = self.rows().len();
            self.list
                .navigate(len, view::page_height(cx.body, len), command);
        }
        let Some(row) = self.selected_row() else {
            return Vec::new();
        };
        // The jobs it holds: picked, under its queue manager id.
        let held = JobFilter {
            status: Some(JobStatus::Picked),
            worker: Some(row.queue_manager_id),
            ..JobFilter::default()
        };
        match command {
            Command::Open => vec![Reply::ShowJobs(held)],
            Command::CancelJobs if !row.stale => vec![Reply::Flash(
                Level::Info,
                "this worker's heartbeats are fresh: cancel its jobs from the Jobs tab (Enter)"
                    .into(),
            )],
            Command::CancelJobs => vec![Reply::Propose(
                kinds::CancelJobs {
                    selection: JobSelection::Filter(Box::new(held)),
                    bound: None,
                }
                .into(),
            )],
            _ => Vec::new(),
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw(frame, area, screen, self);
    }
}
