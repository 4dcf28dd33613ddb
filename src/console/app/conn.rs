//! The connection as the console shows it (target, link state, standby,
//! live events, a newer schema) and what it means for changes.

use chrono::{DateTime, Utc};

use super::{App, Effect, Level};
use crate::actions::Action;
use crate::actions::jobs::selection::JobSelection;
use crate::console::db::Request;
use crate::output::format::group;

/// The state of the connection as the status bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Connecting {
        attempt: u32,
    },
    Connected,
    Reconnecting {
        attempt: u32,
        error: String,
        retry_at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// `user@host:port/db`, never the password.
    pub target: String,
    /// `schema jobs · prefix app_` (empty for the defaults).
    pub names: String,
    /// The NOTIFY channel the Events tab listens on.
    pub channel: String,
    pub server_version: Option<String>,
    pub read_only: bool,
    /// The server is a hot standby: no NOTIFY, writes refused; tabs poll.
    pub standby: bool,
    /// Whether NOTIFY reaches the console: `Some(false)` without LISTEN (a
    /// transaction pooler) or without the echo of its probe; tabs poll.
    /// `None` until the db task knows.
    pub live_events: Option<bool>,
    /// Not listening since then: `rate` events a second came while no tab
    /// on screen showed them (see [`crate::console::listening`]).
    pub events_paused: Option<EventsPaused>,
    /// What the installation has that is newer than the schema pgq writes
    /// (a PGQueuer 2.x database): shown, and changes 2.x redefined refused.
    pub newer_schema: Vec<String>,
    pub link: Link,
}

/// A pause in listening, as the status bar and the Events tab tell it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventsPaused {
    pub since: DateTime<Utc>,
    pub rate: u32,
}

impl ConnInfo {
    /// Whether changes are refused and their keys hidden: a read-only
    /// session, or a hot standby that could not apply them.
    pub fn refuses_changes(&self) -> bool {
        self.read_only || self.standby
    }
}

impl App {
    pub fn connected(&self) -> bool {
        self.conn.link == Link::Connected
    }

    /// The db task found a standby, or a primary (at connect or after a
    /// promotion). A standby sends no events, so tabs live on their
    /// periodic refresh, which runs in every mode.
    pub(super) fn on_standby(&mut self, standby: bool) {
        let promoted = self.conn.standby && !standby;
        self.conn.standby = standby;
        if promoted {
            self.flash(Level::Info, "the standby was promoted: live events resumed");
        }
    }

    /// What the status bar and the Stats tab say on a newer (2.x) schema.
    pub fn newer_schema_notice(&self) -> Option<String> {
        (!self.conn.newer_schema.is_empty()).then(|| {
            format!(
                "schema newer than PGQueuer {} ({}): read as usual, never changed; cancelling picked jobs is refused",
                crate::schema::generations::WRITTEN,
                self.conn.newer_schema.join("; ")
            )
        })
    }

    /// Why `action` means something else on a newer (2.x) schema, if it
    /// does: cancelling a picked job (2.0 keeps its concurrency slot and
    /// dedupe key until its worker finishes; 2.3 records the request in the
    /// row). Enqueue, cancel and purge of queued jobs and the held-job
    /// actions mean what they meant.
    pub(super) fn redefined_by_newer_schema(&self, action: &Action) -> Option<String> {
        if self.conn.newer_schema.is_empty() {
            return None;
        }
        let Action::CancelJobs(cancel) = action else {
            return None;
        };
        let queued_only = match &cancel.selection {
            JobSelection::Filter(f) => {
                f.status == Some(crate::actions::jobs::filter::JobStatus::Queued)
            }
            JobSelection::Ids(ids) => ids.iter().all(|id| {
                self.tabs
                    .jobs
                    .rows()
                    .iter()
                    .any(|r| r.id == *id && r.status == "queued")
            }),
        };
        (!queued_only).then(|| {
            format!(
                "refused on this newer schema (PGQueuer 2.x): cancelling a picked job keeps its slot and dedupe key until its worker finishes (2.0) and 2.3 records the request in the row, which pgq {} does not write; cancel queued jobs only (filter status:queued)",
                crate::schema::generations::WRITTEN
            )
        })
    }

    /// What the status bar and the Events tab say on a standby.
    pub fn standby_notice(&self) -> Option<String> {
        self.conn.standby.then(|| {
            format!(
                "standby: no live events, refreshing every {}s",
                self.refresh_every()
            )
        })
    }

    /// What the status bar and the Events tab say when NOTIFY does not
    /// reach the console (no LISTEN behind a transaction pooler, or no echo
    /// of the probe); a standby says so in its own words.
    pub fn live_events_notice(&self) -> Option<String> {
        (!self.conn.standby && self.conn.live_events == Some(false)).then(|| {
            format!(
                "no live events (transaction pooler?); refreshing every {} s",
                self.refresh_every()
            )
        })
    }

    /// What the status bar says while a busy queue's events are not
    /// listened to.
    pub fn events_paused_notice(&self) -> Option<String> {
        // The pace NOTIFYs would have set on a busy queue (slower for a view
        // that is slow to read), said as such.
        let every = self.refresh_gap_seconds();
        self.conn.events_paused.map(|p| {
            format!(
                "busy {} events/s: refresh {every} s",
                group(i64::from(p.rate))
            )
        })
    }

    /// Listening stopped (`Some(rate)`) or started again (`None`): while
    /// stopped the views refresh by the clock at the pace NOTIFYs would
    /// have set, and once it starts again the Events tab marks the gap and
    /// the Workers tab knows its alive count is still filling up.
    pub(super) fn on_events_paused(&mut self, paused: Option<u32>) {
        match (self.conn.events_paused, paused) {
            (_, Some(rate)) => {
                let since = self.conn.events_paused.map_or(self.now, |p| p.since);
                self.conn.events_paused = Some(EventsPaused { since, rate });
            }
            (Some(was), None) => {
                self.conn.events_paused = None;
                self.tabs.events.not_heard(was.since, self.now);
                self.tabs.workers.heard_since = Some(self.now);
            }
            (None, None) => {}
        }
    }

    /// Tell the db task whether the tab on screen shows events, when that
    /// changed (the db task keeps what it was told across reconnects).
    pub(super) fn say_events_wanted(&mut self, effects: &mut Vec<Effect>) {
        let wanted = self.current().is_some_and(|t| t.shows_events());
        if self.events_wanted_said != Some(wanted) {
            self.events_wanted_said = Some(wanted);
            effects.push(Effect::Request(Request::EventsWanted(wanted)));
        }
    }

    /// The clock's refresh interval in seconds, as the notices print it.
    pub(super) fn refresh_every(&self) -> String {
        let every = self.refresh_interval.to_std().unwrap_or_default();
        match every.subsec_millis() {
            0 => format!("{}", every.as_secs()),
            _ => format!("{:.1}", every.as_secs_f64()),
        }
    }
}
