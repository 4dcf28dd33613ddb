//! Schedules tab state: the listing, filter, selection, tags and detail.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::{matches_filter, move_cursor};
use crate::actions::schedules::{ListedSchedule, ScheduleListing};
use crate::console::keymap::Command;

/// A `picked` schedule whose heartbeat is older than this is re-claimed by
/// another scheduler (PGQueuer's rule), so it is shown as stale.
pub const STALE_AFTER_SECONDS: i64 = 30;

#[derive(Debug, Clone, Default)]
pub struct SchedulesTab {
    pub listing: Option<ScheduleListing>,
    pub filter: String,
    pub selected: usize,
    pub tagged: BTreeSet<i64>,
    /// The schedule whose details (next 10 fire times) are open.
    pub detail: Option<i64>,
    pub page: std::cell::Cell<usize>,
}

impl SchedulesTab {
    pub fn rows(&self) -> Vec<&ListedSchedule> {
        let Some(listing) = &self.listing else {
            return Vec::new();
        };
        let mut rows: Vec<&ListedSchedule> = listing
            .rows
            .iter()
            .filter(|r| {
                matches_filter(&r.schedule.entrypoint, &self.filter)
                    || matches_filter(&r.schedule.expression, &self.filter)
            })
            .collect();
        rows.sort_by(|a, b| {
            a.schedule
                .next_run
                .cmp(&b.schedule.next_run)
                .then(a.schedule.id.cmp(&b.schedule.id))
        });
        rows
    }

    pub fn selected_row(&self) -> Option<&ListedSchedule> {
        self.rows().get(self.selected).copied()
    }

    pub fn navigate(&mut self, command: Command) {
        let len = self.rows().len();
        self.selected = move_cursor(self.selected, len, self.page.get(), command);
    }

    pub fn toggle_tag(&mut self) {
        if let Some(id) = self.selected_row().map(|r| r.schedule.id)
            && !self.tagged.remove(&id)
        {
            self.tagged.insert(id);
        }
    }

    pub fn accept(&mut self, listing: ScheduleListing) {
        // Tags of schedules that are gone would act on nothing.
        self.tagged
            .retain(|id| listing.rows.iter().any(|r| r.schedule.id == *id));
        self.listing = Some(listing);
        let len = self.rows().len();
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    pub fn detail_row(&self) -> Option<&ListedSchedule> {
        let id = self.detail?;
        self.listing
            .as_ref()?
            .rows
            .iter()
            .find(|r| r.schedule.id == id)
    }
}

pub fn is_stale(row: &ListedSchedule, now: DateTime<Utc>) -> bool {
    row.schedule.status.as_deref() == Some("picked")
        && now - row.schedule.heartbeat > Duration::seconds(STALE_AFTER_SECONDS)
}
