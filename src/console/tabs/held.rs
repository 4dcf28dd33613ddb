//! Held jobs tab state: jobs in `failed` status with their last traceback.

use std::collections::BTreeSet;

use super::{matches_filter, move_cursor};
use crate::actions::tables::HeldJob;
use crate::console::keymap::Command;

/// How many held jobs the tab loads.
pub const LIMIT: u32 = 500;

#[derive(Debug, Clone, Default)]
pub struct HeldTab {
    pub jobs: Option<Vec<HeldJob>>,
    pub filter: String,
    pub selected: usize,
    pub tagged: BTreeSet<i64>,
    pub detail: Option<i64>,
    pub page: std::cell::Cell<usize>,
}

impl HeldTab {
    pub fn rows(&self) -> Vec<&HeldJob> {
        self.jobs
            .iter()
            .flatten()
            .filter(|j| {
                matches_filter(&j.job.entrypoint, &self.filter)
                    || matches_filter(&j.job.id.to_string(), &self.filter)
                    || j.traceback
                        .as_ref()
                        .is_some_and(|t| matches_filter(&t.to_string(), &self.filter))
            })
            .collect()
    }

    pub fn selected_row(&self) -> Option<&HeldJob> {
        self.rows().get(self.selected).copied()
    }

    pub fn navigate(&mut self, command: Command) {
        let len = self.rows().len();
        self.selected = move_cursor(self.selected, len, self.page.get(), command);
    }

    pub fn toggle_tag(&mut self) {
        if let Some(id) = self.selected_row().map(|r| r.job.id)
            && !self.tagged.remove(&id)
        {
            self.tagged.insert(id);
        }
    }

    /// The tagged jobs, or else the selected one.
    pub fn targets(&self) -> Vec<i64> {
        if self.tagged.is_empty() {
            self.selected_row().map(|r| r.job.id).into_iter().collect()
        } else {
            self.tagged.iter().copied().collect()
        }
    }

    pub fn accept(&mut self, jobs: Vec<HeldJob>) {
        self.tagged
            .retain(|id| jobs.iter().any(|j| j.job.id == *id));
        self.jobs = Some(jobs);
        let len = self.rows().len();
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    pub fn detail_row(&self) -> Option<&HeldJob> {
        let id = self.detail?;
        self.jobs.iter().flatten().find(|j| j.job.id == id)
    }
}

/// The traceback as readable lines: PGQueuer stores an object with
/// `exception_type`, `exception_message` and `traceback` text (§7.5).
pub fn traceback_text(traceback: &serde_json::Value) -> String {
    let field = |k: &str| traceback.get(k).and_then(|v| v.as_str());
    match (field("exception_type"), field("exception_message")) {
        (Some(kind), message) => {
            let mut text = format!("{kind}: {}", message.unwrap_or(""));
            if let Some(tb) = field("traceback") {
                text.push_str("\n\n");
                text.push_str(tb);
            }
            text
        }
        _ => serde_json::to_string_pretty(traceback).unwrap_or_default(),
    }
}
