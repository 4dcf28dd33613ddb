//! Stats tab state: the latest statistics, window, sort, and the shared
//! list view (filter, selection, scroll).

mod view;

use crate::console::tabs::list::ListControls;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::list::ListView;
use super::{Context, Reply, Screen, TabView, matches_filter};
use crate::actions::stats::{EntrypointStats, QueueStats, StatsWindow, totals};
use crate::console::db::View;
use crate::console::keymap::{Command, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Entrypoint,
    Queued,
    Picked,
    Held,
    Oldest,
    Successful,
    Errors,
    FailureRate,
}

impl SortKey {
    const ORDER: [SortKey; 8] = [
        SortKey::Queued,
        SortKey::Oldest,
        SortKey::Picked,
        SortKey::Held,
        SortKey::Successful,
        SortKey::Errors,
        SortKey::FailureRate,
        SortKey::Entrypoint,
    ];

    pub fn next(self) -> SortKey {
        let i = Self::ORDER.iter().position(|k| *k == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Entrypoint => "entrypoint",
            SortKey::Queued => "queued",
            SortKey::Picked => "picked",
            SortKey::Held => "held",
            SortKey::Oldest => "oldest",
            SortKey::Successful => "ok",
            SortKey::Errors => "errors",
            SortKey::FailureRate => "fail%",
        }
    }

    /// Numbers sort largest first (what needs attention on top); names A–Z.
    fn compare(self, a: &EntrypointStats, b: &EntrypointStats) -> std::cmp::Ordering {
        let num = |e: &EntrypointStats| -> f64 {
            match self {
                SortKey::Entrypoint => 0.0,
                SortKey::Queued => e.queued as f64,
                SortKey::Picked => e.picked as f64,
                SortKey::Held => e.held as f64,
                SortKey::Oldest => e.oldest_queued_age_seconds.unwrap_or(-1.0),
                SortKey::Successful => e.done.successful as f64,
                SortKey::Errors => (e.done.exception + e.done.failed) as f64,
                SortKey::FailureRate => e.done.failure_rate().unwrap_or(-1.0),
            }
        };
        num(b)
            .total_cmp(&num(a))
            .then_with(|| a.entrypoint.cmp(&b.entrypoint))
    }
}

#[derive(Debug, Clone)]
pub struct StatsTab {
    pub window: StatsWindow,
    pub data: Option<QueueStats>,
    /// The last refresh failed with this (older data stays on screen).
    pub error: Option<String>,
    pub sort: SortKey,
    /// Entrypoint rows are not tagged or opened: the key type is `()`.
    pub list: ListView<()>,
    pub paused: bool,
}

impl Default for StatsTab {
    fn default() -> Self {
        StatsTab {
            window: StatsWindow::OneHour,
            data: None,
            error: None,
            sort: SortKey::Queued,
            list: ListView::default(),
            paused: false,
        }
    }
}

impl StatsTab {
    /// Entrypoints after the filter, in sort order.
    pub fn rows(&self) -> Vec<&EntrypointStats> {
        let Some(data) = &self.data else {
            return Vec::new();
        };
        let mut rows: Vec<&EntrypointStats> = data
            .entrypoints
            .iter()
            .filter(|e| matches_filter(&e.entrypoint, &self.list.filter))
            .collect();
        rows.sort_by(|a, b| self.sort.compare(a, b));
        rows
    }

    /// Totals over the rows shown (all of them, or those the filter keeps).
    pub fn totals(&self) -> Option<EntrypointStats> {
        self.data.as_ref()?;
        let mut totals = totals(self.rows());
        if !self.list.filter.is_empty() {
            totals.entrypoint = "total (filtered)".into();
        }
        Some(totals)
    }

    pub fn accept(&mut self, stats: QueueStats) {
        self.data = Some(stats);
        self.error = None;
        let len = self.rows().len();
        self.list.accept(len, |_| true);
    }
}

impl TabView for StatsTab {
    fn title(&self) -> &'static str {
        "Stats"
    }

    fn scope(&self) -> Scope {
        Scope::Stats
    }

    fn list(&self) -> Option<&dyn ListControls> {
        Some(&self.list)
    }

    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        Some(&mut self.list)
    }

    fn view(&self) -> Option<View> {
        Some(View::Stats(self.window))
    }

    fn paused(&self) -> bool {
        self.paused
    }

    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply> {
        match command {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => {
                let len = self.rows().len();
                self.list.navigate(len, view::page_height(cx.body), command);
            }
            Command::Pause => {
                self.paused = !self.paused;
                if !self.paused {
                    return vec![Reply::Refresh(View::Stats(self.window))];
                }
            }
            Command::Window => {
                self.window = self.window.next();
                return vec![Reply::Refresh(View::Stats(self.window))];
            }
            Command::Sort => self.sort = self.sort.next(),
            // Drill down: the Jobs tab filtered by the selected entrypoint.
            Command::Open => {
                if let Some(row) = self.rows().get(self.list.selected) {
                    let filter = crate::actions::job_filter::JobFilter {
                        entrypoints: vec![row.entrypoint.clone()],
                        ..Default::default()
                    };
                    return vec![Reply::ShowJobs(filter)];
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
