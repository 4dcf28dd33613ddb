//! When views load: the clock refreshes the tab on screen, a queue change
//! makes the queue views due (a burst settles first, the rate is capped),
//! and one view is fetched at a time.

use chrono::{DateTime, Duration, Utc};

use super::{App, Effect, Tab};
use crate::console::db::{Request, View};

/// The data views tabs show, for refresh bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum ViewKind {
    Stats,
    Schedules,
    Tables,
    Held,
    Workers,
    LastPicked,
    Jobs,
    Job,
}

pub(super) fn kind_of(view: &View) -> ViewKind {
    match view {
        View::Stats(_) => ViewKind::Stats,
        View::Schedules => ViewKind::Schedules,
        View::Tables => ViewKind::Tables,
        View::Held => ViewKind::Held,
        View::Workers => ViewKind::Workers,
        View::LastPicked => ViewKind::LastPicked,
        View::Jobs(_) => ViewKind::Jobs,
        View::Job { .. } => ViewKind::Job,
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct Freshness {
    due: Option<DateTime<Utc>>,
    in_flight: bool,
    last_request: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    /// How long the last answer took, request to answer.
    took: Option<Duration>,
    /// Asked for again (a key, an action's effect) while being fetched:
    /// fetched again as soon as the answer is back.
    asked_again: bool,
}

impl Freshness {
    /// The shortest time between two refreshes this console makes by
    /// itself: a second, or ten times what the last one took, up to 30 s.
    /// A view that is slow to read (the depth of a queue holding millions
    /// of jobs, a server struggling) then costs the server at most a tenth
    /// of a backend however busy the queue, instead of one read after
    /// another; the status bar's "updated N s ago" shows the age, and a
    /// key still refreshes at once.
    fn gap(&self) -> Duration {
        let min = Duration::milliseconds(MIN_REFRESH_GAP_MS);
        let most = Duration::seconds(MAX_COST_GAP_SECONDS);
        self.took
            .map_or(min, |took| (took * COST_SHARE).clamp(min, most))
    }
}

/// A console's own refreshes of a view take at most 1/COST_SHARE of the
/// time (see [`Freshness::gap`]).
const COST_SHARE: i32 = 10;
/// However slow the last answer, the console looks again within this.
const MAX_COST_GAP_SECONDS: i64 = 30;

/// How long a NOTIFY burst is allowed to settle before a refresh.
pub(super) const DEBOUNCE_MS: i64 = 250;

/// Refreshes triggered by NOTIFY events are at most this frequent.
pub(super) const MIN_REFRESH_GAP_MS: i64 = 1_000;

/// The idle console wakes this often, to keep relative times true.
pub(super) const CLOCK_TICK_SECONDS: i64 = 1;

/// The Events tab redraws for new events at most this often: a person
/// reads no faster, and a frame per NOTIFY cost a core's tenth at 400/s.
pub(super) const EVENTS_FRAME_MS: i64 = 250;

impl App {
    /// When the current tab's data was last loaded.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        let kind = kind_of(&self.current()?.view()?);
        self.fresh.get(&kind).and_then(|f| f.updated_at)
    }

    /// The refresh [`App::on_tick`] will send, and when: only the tab on
    /// screen refreshes by the clock, never a paused one, one that is
    /// already being fetched (its answer wakes the loop) or one that cannot
    /// be fetched while the connection is down (connecting refreshes it).
    /// Other views keep their due time and load when their tab is shown.
    /// `on_tick` and `next_wakeup` both ask this one function so that the
    /// loop is never woken for work that `on_tick` will not do: a wake-up
    /// in the past for such work made the idle console spin.
    pub(super) fn clock_refresh(&self) -> Option<(View, DateTime<Utc>)> {
        if !self.connected() {
            return None;
        }
        let tab = self.current()?;
        let view = tab.view()?;
        if tab.paused() {
            return None;
        }
        let kind = kind_of(&view);
        let f = self.fresh.get(&kind).filter(|f| !f.in_flight)?;
        Some((view, f.due?))
    }

    /// The shortest gap between the tab on screen's own refreshes, in whole
    /// seconds (rounded up), as the status bar says it.
    pub(super) fn refresh_gap_seconds(&self) -> i64 {
        let gap = self
            .current()
            .and_then(|t| t.view())
            .and_then(|v| self.fresh.get(&kind_of(&v)))
            .map_or(Duration::milliseconds(MIN_REFRESH_GAP_MS), Freshness::gap);
        (gap.num_milliseconds() + 999) / 1000
    }

    /// When the event loop must call [`App::on_tick`] next, at the latest.
    pub fn next_wakeup(&self) -> DateTime<Utc> {
        // One tick a second keeps relative times ("updated 3s ago") true.
        let mut at = self.now + Duration::seconds(CLOCK_TICK_SECONDS);
        if let Some((_, due)) = self.clock_refresh() {
            at = at.min(due);
        }
        if let Some(flash) = &self.flash {
            at = at.min(flash.until);
        }
        if self.events_unseen {
            at = at.min(self.events_drawn_at + Duration::milliseconds(EVENTS_FRAME_MS));
        }
        at.max(self.now)
    }

    pub(super) fn request(&mut self, view: View, effects: &mut Vec<Effect>) {
        if !self.connected() {
            return;
        }
        let now = self.now;
        let f = self.fresh.entry(kind_of(&view)).or_default();
        if f.in_flight {
            // Ask again once the running refresh is back.
            f.asked_again = true;
            return;
        }
        f.in_flight = true;
        f.due = None;
        f.last_request = Some(now);
        effects.push(Effect::Request(Request::Refresh(view)));
    }

    pub(super) fn refresh_current(&mut self, effects: &mut Vec<Effect>) {
        if let Some(view) = self.current().and_then(|t| t.view()) {
            self.request(view, effects);
        }
        if self.current().is_some_and(|t| t.completes_entrypoints()) {
            // Completion draws on the entrypoints the other tabs load.
            let views: Vec<View> = Tab::EVERY
                .iter()
                .filter_map(|t| self.tab_view(*t)?.entrypoints_view())
                .collect();
            for view in views {
                self.request(view, effects);
            }
        }
    }

    /// A queue change: refresh soon, but let a burst settle and cap the rate.
    pub(super) fn queue_changed(&mut self) {
        let now = self.now;
        for kind in [
            ViewKind::Stats,
            ViewKind::Held,
            ViewKind::Workers,
            ViewKind::Jobs,
            ViewKind::Job,
        ] {
            let f = self.fresh.entry(kind).or_default();
            let mut at = now + Duration::milliseconds(DEBOUNCE_MS);
            if let Some(last) = f.last_request {
                at = at.max(last + f.gap());
            }
            f.due = Some(f.due.map_or(at, |due| due.min(at)));
        }
    }

    /// The answer to `view` came back (`ok`, or failed): the next refresh
    /// is due an interval later unless something made it due sooner.
    pub(super) fn answered(&mut self, view: &View, ok: bool) {
        let now = self.now;
        let interval = self.refresh_interval;
        let f = self.fresh.entry(kind_of(view)).or_default();
        f.in_flight = false;
        if ok {
            f.updated_at = Some(now);
        }
        if let Some(asked) = f.last_request {
            f.took = Some(now - asked);
        }
        f.due = if std::mem::take(&mut f.asked_again) {
            Some(now)
        } else {
            // Due by the clock, or sooner if the queue changed meanwhile;
            // never sooner than the gap the answer's cost sets.
            let due = f.due.unwrap_or(now + interval);
            Some(f.last_request.map_or(due, |asked| due.max(asked + f.gap())))
        };
    }

    /// The connection was made or lost: no answer is on its way.
    pub(super) fn nothing_in_flight(&mut self) {
        for f in self.fresh.values_mut() {
            f.in_flight = false;
        }
    }
}
