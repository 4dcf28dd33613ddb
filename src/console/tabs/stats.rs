//! Stats tab state: the latest statistics, window, sort, filter, selection.

use super::{matches_filter, move_cursor};
use crate::actions::stats::{EntrypointStats, QueueStats, StatsWindow, totals};
use crate::console::keymap::Command;

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
    pub filter: String,
    pub selected: usize,
    pub paused: bool,
    /// Rows visible in the table at the last draw (for paging).
    pub page: std::cell::Cell<usize>,
}

impl Default for StatsTab {
    fn default() -> Self {
        StatsTab {
            window: StatsWindow::OneHour,
            data: None,
            error: None,
            sort: SortKey::Queued,
            filter: String::new(),
            selected: 0,
            paused: false,
            page: std::cell::Cell::new(10),
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
            .filter(|e| matches_filter(&e.entrypoint, &self.filter))
            .collect();
        rows.sort_by(|a, b| self.sort.compare(a, b));
        rows
    }

    /// Totals over the rows shown (all of them, or those the filter keeps).
    pub fn totals(&self) -> Option<EntrypointStats> {
        self.data.as_ref()?;
        let mut totals = totals(self.rows());
        if !self.filter.is_empty() {
            totals.entrypoint = "total (filtered)".into();
        }
        Some(totals)
    }

    pub fn navigate(&mut self, command: Command) {
        let len = self.rows().len();
        self.selected = move_cursor(self.selected, len, self.page.get(), command);
    }

    pub fn accept(&mut self, stats: QueueStats) {
        self.data = Some(stats);
        self.error = None;
        let len = self.rows().len();
        self.selected = self.selected.min(len.saturating_sub(1));
    }
}
