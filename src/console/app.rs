//! The console's state and how it changes: keys, db-task events and the
//! clock go in; requests for the db task, clipboard copies and quitting come
//! out as [`Effect`]s. Nothing here draws or touches the database, so every
//! behaviour is testable without a terminal or a server.
//!
//! Mutations take one path ([`App::propose`]): refused in read-only mode and
//! on a hot standby, otherwise previewed by the db task, confirmed in a
//! dialog whose default is Cancel, executed, and recorded in the SQL log.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

use super::db::{self, DbEvent, Request, View};
use super::dialog::{Confirm, Phase, SqlLog};
use super::keymap::{Command, Keymap, Scope, TabEntry};
use super::tabs::enqueue::FormKey;
use super::tabs::set::{TabOptions, Tabs};
use super::tabs::{Context, Done, Reply, Routed, Screen, TabView};
use super::theme::Theme;
use crate::actions::job_selection::JobSelection;
use crate::actions::{Action, Outcome};
use crate::events::Event;
use crate::output::plural;
use crate::settings::names::ObjectNames;

/// How long a NOTIFY burst is allowed to settle before a refresh.
const DEBOUNCE_MS: i64 = 250;
/// Refreshes triggered by NOTIFY events are at most this frequent.
const MIN_REFRESH_GAP_MS: i64 = 1_000;
const FLASH_SECONDS: i64 = 4;
/// Short enough for the flash area of an 80-column terminal.
const STANDBY_REFUSAL: &str = "refused: read-only standby; use the primary";
/// The idle console wakes this often, to keep relative times true.
const CLOCK_TICK_SECONDS: i64 = 1;
/// The Events tab redraws for new events at most this often: a person
/// reads no faster, and a frame per NOTIFY cost a core's tenth at 400/s.
const EVENTS_FRAME_MS: i64 = 250;

pub use super::tabs::id::Tab;

/// The data views tabs show, for refresh bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ViewKind {
    Stats,
    Schedules,
    Tables,
    Held,
    Workers,
    LastPicked,
    Jobs,
    Job,
}

fn kind_of(view: &View) -> ViewKind {
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
struct Freshness {
    due: Option<DateTime<Utc>>,
    in_flight: bool,
    last_request: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

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
    /// What the installation has that is newer than the schema pgq writes
    /// (a PGQueuer 2.x database): shown, and changes 2.x redefined refused.
    pub newer_schema: Vec<String>,
    pub link: Link,
}

impl ConnInfo {
    /// Whether changes are refused and their keys hidden: a read-only
    /// session, or a hot standby that could not apply them.
    pub fn refuses_changes(&self) -> bool {
        self.read_only || self.standby
    }
}

pub use super::tabs::Level;

#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub level: Level,
    pub until: DateTime<Utc>,
}

#[derive(Debug)]
// An effect lives for one turn of the event loop; boxing its request would
// add an allocation per key press to save a copy of a few hundred bytes.
#[allow(clippy::large_enum_variant)]
pub enum Effect {
    Request(Request),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    /// Stop the hosted worker: gracefully, or `now`.
    StopWorker {
        now: bool,
    },
    Quit,
}

/// What an answered preview is for.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful at a time, for one dialog each
enum PreviewFor {
    /// A proposal, for its confirmation dialog.
    Confirmation(Action),
    /// A dry run a tab shows in a pane of its own.
    Pane(Tab, Action),
}

pub struct App {
    pub tab: Tab,
    pub keymap: Keymap,
    pub theme: Theme,
    pub conn: ConnInfo,
    pub flash: Option<Flash>,
    pub help: bool,
    /// Typing into the current tab's filter.
    pub editing_filter: bool,
    /// Every tab, reached by its id.
    pub tabs: Tabs,
    /// The tab that opened the job detail (Held), to go back to when it closes.
    detail_return: Option<Tab>,
    pub confirm: Option<Confirm>,
    /// Confirmed actions whose dialog was sent away while they run (a long
    /// prune), with their command line: their outcome is flashed and logged
    /// when it arrives.
    background: Vec<(u64, Action)>,
    pub sql_log: SqlLog,
    pub now: DateTime<Utc>,
    /// The terminal's size, for the page height of lists (80×24 until the
    /// event loop says otherwise).
    viewport: Rect,
    refresh_interval: Duration,
    fresh: HashMap<ViewKind, Freshness>,
    previews: HashMap<u64, PreviewFor>,
    /// The tab each proposed action came from: its tags are spent once the
    /// action ran, so they never carry over to the next one.
    origins: HashMap<u64, Tab>,
    next_id: u64,
    /// Tables whose changes make queue views refresh.
    watched_tables: Vec<String>,
    /// The installation, for the command lines the console shows.
    object_names: ObjectNames,
    /// Something on screen changed since the last [`App::take_redraw`].
    redraw: bool,
    /// Events arrived that the Events tab on screen does not show yet;
    /// drawn by the clock, at most every [`EVENTS_FRAME_MS`].
    events_unseen: bool,
    events_drawn_at: DateTime<Utc>,
}

pub struct AppOptions {
    pub tab: Tab,
    pub keymap: Keymap,
    pub theme: Theme,
    pub target: String,
    pub names: ObjectNames,
    pub read_only: bool,
    pub refresh_interval: std::time::Duration,
    pub events_buffer: usize,
    pub now: DateTime<Utc>,
}

impl App {
    pub fn new(o: AppOptions) -> App {
        // Only what differs from the defaults, to keep the status bar short.
        let mut parts = Vec::new();
        if let Some(schema) = &o.names.schema {
            parts.push(format!("schema {schema}"));
        }
        if !o.names.prefix.is_empty() {
            parts.push(format!("prefix {}", o.names.prefix));
        }
        App {
            tab: o.tab,
            keymap: o.keymap,
            theme: o.theme,
            conn: ConnInfo {
                target: o.target,
                names: parts.join(" · "),
                channel: o.names.channel.clone(),
                server_version: None,
                read_only: o.read_only,
                standby: false,
                live_events: None,
                newer_schema: Vec::new(),
                link: Link::Connecting { attempt: 1 },
            },
            flash: None,
            help: false,
            editing_filter: false,
            tabs: Tabs::new(&TabOptions {
                events_buffer: o.events_buffer,
            }),
            detail_return: None,
            confirm: None,
            background: Vec::new(),
            sql_log: SqlLog::default(),
            now: o.now,
            viewport: Rect::new(0, 0, 80, 24),
            refresh_interval: Duration::from_std(o.refresh_interval)
                .unwrap_or_else(|_| Duration::seconds(5)),
            fresh: HashMap::new(),
            previews: HashMap::new(),
            origins: HashMap::new(),
            next_id: 1,
            watched_tables: vec![o.names.queue_table.clone(), o.names.queue_table_log.clone()],
            object_names: o.names,
            redraw: true,
            events_unseen: false,
            events_drawn_at: o.now,
        }
    }

    /// Whether the db events handled since the last call changed what is on
    /// screen. A NOTIFY does not: the views it changes refresh by the clock,
    /// and the Events tab draws new events on its own frame clock.
    pub fn take_redraw(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
    }

    /// The tabs on offer: every tab that is there (a hosted one only while
    /// a worker is hosted).
    pub fn tabs(&self) -> Vec<Tab> {
        Tab::EVERY
            .iter()
            .copied()
            .filter(|t| self.tabs.get(*t).is_some())
            .collect()
    }

    /// The tabs on offer as the help overlay lists them.
    pub fn tab_entries(&self) -> Vec<TabEntry> {
        self.tabs()
            .into_iter()
            .filter_map(|tab| {
                Some(TabEntry {
                    command: Command::ShowTab(tab),
                    title: self.tab_view(tab)?.title(),
                    hosted: tab.hosted(),
                })
            })
            .collect()
    }

    /// The tab object behind an id (Worker only while a worker is hosted).
    pub fn tab_view(&self, tab: Tab) -> Option<&dyn TabView> {
        self.tabs.get(tab)
    }

    fn tab_view_mut(&mut self, tab: Tab) -> Option<&mut dyn TabView> {
        self.tabs.get_mut(tab)
    }

    /// The tab on screen.
    pub fn current(&self) -> Option<&dyn TabView> {
        self.tab_view(self.tab)
    }

    fn current_mut(&mut self) -> Option<&mut dyn TabView> {
        self.tab_view_mut(self.tab)
    }

    /// The terminal was resized (or its size first learnt).
    pub fn resize(&mut self, width: u16, height: u16) {
        self.viewport = Rect::new(0, 0, width, height);
    }

    fn context(&self) -> Context {
        Context {
            now: self.now,
            body: super::ui::widgets::body_area(self.viewport),
        }
    }

    /// What the tabs' views draw with besides their own state.
    pub fn screen(&self) -> Screen<'_> {
        Screen {
            theme: &self.theme,
            keymap: &self.keymap,
            now: self.now,
            connected: self.connected(),
            standby: self.conn.standby,
            standby_notice: self.standby_notice().or_else(|| self.live_events_notice()),
            newer_schema: self.newer_schema_notice(),
            channel: &self.conn.channel,
            // Only the enqueue form completes entrypoints: skip the work
            // on other tabs.
            known_entrypoints: if self.tab == Tab::Enqueue {
                self.known_entrypoints()
            } else {
                Vec::new()
            },
        }
    }

    fn tab_offset(&self, by: isize) -> Tab {
        let tabs = self.tabs();
        let i = tabs.iter().position(|t| *t == self.tab).unwrap_or(0) as isize;
        tabs[(i + by).rem_euclid(tabs.len() as isize) as usize]
    }

    pub fn attach_worker(&mut self, worker: super::tabs::worker::WorkerTab) {
        self.tabs.worker = Some(worker);
    }

    pub fn on_worker_snapshot(&mut self, snapshot: crate::worker::Snapshot) -> Vec<Effect> {
        let now = self.now;
        let Some(w) = self.tabs.worker.as_mut() else {
            return Vec::new();
        };
        w.update(snapshot, now);
        if w.owns_worker && w.stopped() {
            return vec![Effect::Quit];
        }
        Vec::new()
    }

    pub fn on_worker_log(&mut self, line: String) {
        if let Some(w) = self.tabs.worker.as_mut() {
            w.push_log(line);
        }
    }

    /// SIGTERM: the same as pressing q.
    pub fn request_quit(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.quit(&mut effects);
        effects
    }

    /// Quit, or for a hosted `pgq run` worker: stop it gracefully first,
    /// at once on the second request; the console exits once it stopped.
    fn quit(&mut self, effects: &mut Vec<Effect>) {
        let Some(w) = self.tabs.worker.as_mut().filter(|w| w.owns_worker) else {
            effects.push(Effect::Quit);
            return;
        };
        w.stop_requested = w.stop_requested.saturating_add(1);
        let now = w.stop_requested > 1;
        let running = w.snapshot.in_flight.len();
        effects.push(Effect::StopWorker { now });
        self.tab = Tab::Worker;
        self.help = false;
        self.confirm = None;
        if now {
            self.flash(
                Level::Info,
                "stopping running jobs now; they return to the queue",
            );
        } else {
            self.flash(
                Level::Info,
                format!(
                    "stopping: {} finish first; q again stops them now",
                    plural(running, "running job")
                ),
            );
        }
    }

    /// The scopes whose keys are live, innermost first.
    pub fn scopes(&self) -> Vec<Scope> {
        let tab = self.current().map(|_| Scope::Tab(self.tab));
        tab.into_iter()
            .chain([Scope::List, Scope::Global])
            .collect()
    }

    /// The scopes the `?` overlay explains: the live ones, and the filter
    /// line and confirmation dialog this tab can open.
    pub fn help_scopes(&self) -> Vec<Scope> {
        let mut scopes = self.scopes();
        if self.has_filter() {
            scopes.push(Scope::Filter);
        }
        let mutates = Keymap::has_mutations(Scope::Tab(self.tab));
        if mutates && !self.conn.refuses_changes() {
            scopes.push(Scope::Dialog);
        }
        scopes
    }

    pub fn connected(&self) -> bool {
        self.conn.link == Link::Connected
    }

    /// When the current tab's data was last loaded.
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        let kind = kind_of(&self.current()?.view()?);
        self.fresh.get(&kind).and_then(|f| f.updated_at)
    }

    /// Entrypoints seen in the queue, the log window and the schedules (for
    /// completion in the enqueue form).
    pub fn known_entrypoints(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .tabs
            .stats
            .data
            .iter()
            .flat_map(|d| d.entrypoints.iter().map(|e| e.entrypoint.clone()))
            .chain(
                self.tabs
                    .schedules
                    .listing
                    .iter()
                    .flat_map(|l| l.rows.iter().map(|r| r.schedule.entrypoint.clone())),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The refresh [`App::on_tick`] will send, and when: only the tab on
    /// screen refreshes by the clock, never a paused one, one that is
    /// already being fetched (its answer wakes the loop) or one that cannot
    /// be fetched while the connection is down (connecting refreshes it).
    /// Other views keep their due time and load when their tab is shown.
    /// `on_tick` and `next_wakeup` both ask this one function so that the
    /// loop is never woken for work that `on_tick` will not do: a wake-up
    /// in the past for such work made the idle console spin.
    fn clock_refresh(&self) -> Option<(View, DateTime<Utc>)> {
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

    pub fn flash(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        match level {
            Level::Error => tracing::warn!("{text}"),
            Level::Info => tracing::info!("{text}"),
        }
        self.flash = Some(Flash {
            text,
            level,
            until: self.now + Duration::seconds(FLASH_SECONDS),
        });
    }

    pub fn on_tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        self.now = now;
        // The event loop draws after every tick: the unseen events with it.
        self.events_unseen = false;
        self.events_drawn_at = now;
        if self.flash.as_ref().is_some_and(|f| f.until <= now) {
            self.flash = None;
        }
        for tab in self.tabs() {
            if let Some(t) = self.tab_view_mut(tab) {
                t.on_clock(now);
            }
        }
        let mut effects = Vec::new();
        if let Some((view, due)) = self.clock_refresh()
            && due <= now
        {
            self.request(view, &mut effects);
        }
        effects
    }

    fn request(&mut self, view: View, effects: &mut Vec<Effect>) {
        if !self.connected() {
            return;
        }
        let now = self.now;
        let f = self.fresh.entry(kind_of(&view)).or_default();
        if f.in_flight {
            // Ask again once the running refresh is back.
            f.due = Some(now);
            return;
        }
        f.in_flight = true;
        f.due = None;
        f.last_request = Some(now);
        effects.push(Effect::Request(Request::Refresh(view)));
    }

    fn refresh_current(&mut self, effects: &mut Vec<Effect>) {
        if let Some(view) = self.current().and_then(|t| t.view()) {
            self.request(view, effects);
        }
        if self.tab == Tab::Enqueue {
            // Completion draws on the queue's and the schedules' entrypoints.
            self.request(self.tabs.stats.counts_view(), effects);
            self.request(View::Schedules, effects);
        }
    }

    /// A queue change: refresh soon, but let a burst settle and cap the rate.
    fn queue_changed(&mut self) {
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
                at = at.max(last + Duration::milliseconds(MIN_REFRESH_GAP_MS));
            }
            f.due = Some(f.due.map_or(at, |due| due.min(at)));
        }
    }

    fn switch_to(&mut self, tab: Tab, effects: &mut Vec<Effect>) {
        if self.tab == tab {
            return;
        }
        self.tab = tab;
        self.editing_filter = false;
        // Load on arrival unless the data is fresh.
        let stale = self
            .updated_at()
            .is_none_or(|at| self.now - at > Duration::seconds(1));
        if stale || tab == Tab::Enqueue {
            self.refresh_current(effects);
        }
    }

    pub fn on_db(&mut self, event: DbEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !matches!(event, DbEvent::Notification(_)) {
            self.redraw = true;
        }
        match event {
            DbEvent::Connecting { attempt } => {
                if !matches!(self.conn.link, Link::Reconnecting { .. }) {
                    self.conn.link = Link::Connecting { attempt };
                }
            }
            DbEvent::Connected { server_version } => {
                let was_down = matches!(self.conn.link, Link::Reconnecting { .. });
                self.conn.link = Link::Connected;
                self.conn.server_version = Some(server_version);
                self.conn.live_events = None;
                for f in self.fresh.values_mut() {
                    f.in_flight = false;
                }
                if was_down {
                    self.flash(Level::Info, "reconnected");
                }
                self.refresh_current(&mut effects);
            }
            DbEvent::Disconnected {
                error,
                attempt,
                retry_in,
            } => {
                for f in self.fresh.values_mut() {
                    f.in_flight = false;
                }
                let retry_at = self.now + Duration::from_std(retry_in).unwrap_or_default();
                self.conn.link = Link::Reconnecting {
                    attempt,
                    error,
                    retry_at,
                };
            }
            DbEvent::Standby(standby) => self.on_standby(standby),
            DbEvent::NewerSchema(newer) => self.conn.newer_schema = newer,
            DbEvent::LiveEvents(live) => self.conn.live_events = Some(live),
            DbEvent::Refreshed { view, result } => self.refreshed(view, result, &mut effects),
            // Per event only bookkeeping: the buffer, and a due time for
            // the views the change shows in; no query, no frame.
            DbEvent::Notification(received) => {
                if let Event::TableChanged { table, .. } = &received.event
                    && self.watched_tables.iter().any(|t| t == table)
                {
                    self.queue_changed();
                }
                self.tabs.workers.alive.heard(&received);
                self.tabs.events.push(received);
                if self.tab == Tab::Events {
                    self.events_unseen = true;
                }
            }
            DbEvent::Previewed { id, result } => self.previewed(id, result),
            DbEvent::Done {
                id,
                result,
                elapsed,
                sql,
            } => self.done(id, result, elapsed, sql, &mut effects),
            DbEvent::AuditProblem(text) => self.flash(Level::Error, text),
        }
        effects
    }

    /// The db task found a standby, or a primary (at connect or after a
    /// promotion). A standby sends no events, so tabs live on their
    /// periodic refresh, which runs in every mode.
    fn on_standby(&mut self, standby: bool) {
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
    fn redefined_by_newer_schema(&self, action: &Action) -> Option<String> {
        if self.conn.newer_schema.is_empty() {
            return None;
        }
        let Action::CancelJobs(cancel) = action else {
            return None;
        };
        let queued_only = match &cancel.selection {
            JobSelection::Filter(f) => {
                f.status == Some(crate::actions::job_filter::JobStatus::Queued)
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

    /// The clock's refresh interval in seconds, as the notices print it.
    fn refresh_every(&self) -> String {
        let every = self.refresh_interval.to_std().unwrap_or_default();
        match every.subsec_millis() {
            0 => format!("{}", every.as_secs()),
            _ => format!("{:.1}", every.as_secs_f64()),
        }
    }

    fn refreshed(
        &mut self,
        view: View,
        result: Result<Outcome, String>,
        effects: &mut Vec<Effect>,
    ) {
        let now = self.now;
        let interval = self.refresh_interval;
        let f = self.fresh.entry(kind_of(&view)).or_default();
        f.in_flight = false;
        if result.is_ok() {
            f.updated_at = Some(now);
        }
        if f.due.is_none() {
            f.due = Some(now + interval);
        }
        // Offered to every tab until one takes it: the tabs know what they
        // show, the app does not.
        let cx = self.context();
        let mut result = result;
        for tab in Tab::EVERY {
            let Some(t) = self.tab_view_mut(*tab) else {
                continue;
            };
            match t.on_refreshed(&view, result, &cx) {
                Routed::Taken(replies) => return self.apply(*tab, replies, effects),
                Routed::Passed(back) => result = back,
            }
        }
        match result {
            Ok(other) => tracing::warn!("unexpected refresh outcome {other:?}"),
            Err(e) => self.flash(Level::Error, format!("refresh failed: {e}")),
        }
    }

    /// Dry-run `action` for a pane of tab `from`.
    fn preview_for(&mut self, from: Tab, action: Action, effects: &mut Vec<Effect>) {
        if !self.connected() {
            return;
        }
        let id = self.next_id();
        self.previews
            .insert(id, PreviewFor::Pane(from, action.clone()));
        effects.push(Effect::Request(Request::Preview { id, action }));
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The one door for mutations: refuse in read-only mode, else preview
    /// and ask. The outcome goes back to the tab on screen.
    pub fn propose(&mut self, action: Action) -> Vec<Effect> {
        self.propose_from(self.tab, action)
    }

    /// [`App::propose`] for tab `from`, to which its outcome returns.
    fn propose_from(&mut self, from: Tab, action: Action) -> Vec<Effect> {
        if !action.mutates() {
            return Vec::new();
        }
        if self.conn.read_only {
            self.flash(
                Level::Error,
                format!(
                    "refused: read-only session ({})",
                    action.command_line(&self.object_names)
                ),
            );
            return Vec::new();
        }
        if self.conn.standby {
            self.flash(
                Level::Error,
                format!(
                    "{STANDBY_REFUSAL} ({})",
                    action.command_line(&self.object_names)
                ),
            );
            return Vec::new();
        }
        if !self.connected() {
            self.flash(Level::Error, "not connected; nothing was changed");
            return Vec::new();
        }
        if let Some(refusal) = self.redefined_by_newer_schema(&action) {
            self.flash(Level::Error, refusal);
            return Vec::new();
        }
        let id = self.next_id();
        self.previews
            .insert(id, PreviewFor::Confirmation(action.clone()));
        // Proposals that never ran (refused, dismissed) leave no origin
        // behind.
        let confirm = self.confirm.as_ref().map(|c| c.id);
        let (previews, background) = (&self.previews, &self.background);
        self.origins.retain(|id, _| {
            previews.contains_key(id)
                || confirm == Some(*id)
                || background.iter().any(|(b, _)| b == id)
        });
        self.origins.insert(id, from);
        self.flash(Level::Info, "preparing the preview…");
        vec![Effect::Request(Request::Preview { id, action })]
    }

    fn previewed(&mut self, id: u64, result: Result<crate::actions::preview::Preview, String>) {
        match self.previews.remove(&id) {
            Some(PreviewFor::Confirmation(action)) => match result {
                Ok(preview) => {
                    self.flash = None;
                    // What is confirmed is what the preview counted.
                    let action = action.within(preview.bound);
                    self.confirm = Some(Confirm::new(id, action, preview));
                }
                Err(e) => self.flash(Level::Error, format!("cannot prepare the change: {e}")),
            },
            Some(PreviewFor::Pane(tab, action)) => {
                if let Some(t) = self.tab_view_mut(tab) {
                    t.on_previewed(&action, result);
                }
            }
            None => {}
        }
    }

    fn done(
        &mut self,
        id: u64,
        result: Result<Outcome, String>,
        elapsed: std::time::Duration,
        sql: Vec<String>,
        effects: &mut Vec<Effect>,
    ) {
        let origin = self.origins.remove(&id);
        let background = self.background.iter().position(|(bg, _)| *bg == id);
        let in_background = background.is_some();
        let action = match background {
            Some(at) => self.background.remove(at).1,
            None => match self.confirm.as_ref().filter(|c| c.id == id) {
                Some(c) => c.action.clone(),
                None => {
                    // Its dialog is gone (quitting): only its tags are spent.
                    if let Some(list) = origin
                        .and_then(|o| self.tab_view_mut(o))
                        .and_then(|t| t.list_mut())
                    {
                        list.clear_tags();
                    }
                    return;
                }
            },
        };
        let command_line = action.command_line(&self.object_names);
        let said = self
            .sql_log
            .record(self.now, command_line.clone(), &result, elapsed, sql);
        if in_background {
            // Its dialog was sent away: the flash line says how it went.
            match &said {
                Ok(text) => self.flash(Level::Info, text.clone()),
                Err(e) => self.flash(Level::Error, e.clone()),
            }
        } else if let Some(confirm) = self.confirm.as_mut() {
            let (ok, text) = match &said {
                Ok(text) => (true, text.clone()),
                Err(e) => (false, e.clone()),
            };
            confirm.phase = Phase::Done { ok, text };
        }
        // The outcome goes back to the tab that proposed the action.
        if let Some(tab) = origin
            && let Some(t) = self.tab_view_mut(tab)
        {
            let done = Done {
                action: &action,
                result: &result,
                said: &said,
                command_line,
                elapsed,
            };
            let replies = t.on_done(&done);
            self.apply(tab, replies, effects);
        }
        // Show the effect at once.
        self.refresh_current(effects);
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        if key.kind == KeyEventKind::Release {
            return effects;
        }
        let is_ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c' | 'C'));
        if is_ctrl_c {
            self.quit(&mut effects);
            return effects;
        }
        if self.confirm.is_some() {
            self.confirm_key(key, &mut effects);
            return effects;
        }
        if self.editing_filter {
            self.edit_filter(key, &mut effects);
            return effects;
        }
        // The form takes every key while edited; its entrypoint completion
        // draws on the other tabs' data, so the app hands the keys over.
        if self.tab == Tab::Enqueue && self.tabs.enqueue.editing {
            let submit =
                self.keymap.lookup(&key, &[Scope::Tab(Tab::Enqueue)]) == Some(Command::Submit);
            if submit {
                self.submit_enqueue(&mut effects);
            } else {
                let known = self.known_entrypoints();
                if self.tabs.enqueue.key(key, &known) == FormKey::Leave {
                    self.tabs.enqueue.editing = false;
                }
            }
            return effects;
        }
        let Some(command) = self.keymap.lookup(&key, &self.scopes()) else {
            return effects;
        };
        if self.help {
            // Help is modal: it closes with help or Esc; quit still quits.
            match command {
                Command::Help | Command::Back => self.help = false,
                Command::Quit => self.quit(&mut effects),
                _ => {}
            }
            return effects;
        }
        if self.sql_log.open {
            match command {
                Command::SqlLog | Command::Back => self.sql_log.open = false,
                Command::Quit => self.quit(&mut effects),
                Command::Down | Command::PageDown => self.sql_log.scroll += 3,
                Command::Up | Command::PageUp => {
                    self.sql_log.scroll = self.sql_log.scroll.saturating_sub(3)
                }
                _ => {}
            }
            return effects;
        }
        if let Some(tab) = self.current().filter(|t| t.detail_open()) {
            let for_tab = tab.detail_commands().contains(&command);
            match command {
                Command::Back | Command::Open => {
                    if let Some(tab) = self.current_mut() {
                        tab.close_detail();
                    }
                    if self.tab == Tab::Jobs
                        && let Some(back) = self.detail_return.take()
                    {
                        self.tab = back;
                    }
                }
                Command::Quit => self.quit(&mut effects),
                Command::Help => self.help = true,
                _ if for_tab => self.tab_command(command, &mut effects),
                _ => {}
            }
            return effects;
        }
        if Keymap::mutates(command) && self.conn.read_only {
            self.flash(Level::Error, "refused: this session is read-only");
            return effects;
        }
        if Keymap::mutates(command) && self.conn.standby {
            self.flash(Level::Error, STANDBY_REFUSAL);
            return effects;
        }
        self.run_command(command, &mut effects);
        effects
    }

    fn confirm_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let command = self.keymap.lookup(&key, &[Scope::Dialog, Scope::Global]);
        let Some(c) = self.confirm.as_mut() else {
            return;
        };
        match (&c.phase, command) {
            (Phase::Running, Some(Command::DialogCancel)) if db::runs_alone(&c.action) => {
                // It runs on a connection of its own: the tabs go on meanwhile.
                self.background.push((c.id, c.action.clone()));
                self.confirm = None;
                self.flash(
                    Level::Info,
                    "still running in the background; its outcome will show here",
                );
            }
            (Phase::Running, _) => {}
            (
                Phase::Done { .. },
                Some(Command::DialogPress | Command::DialogCancel | Command::Quit),
            ) => {
                self.confirm = None;
            }
            (Phase::Done { .. }, _) => {}
            (Phase::Asking, Some(Command::DialogCancel)) => {
                self.confirm = None;
                self.flash(Level::Info, "cancelled; nothing was changed");
            }
            (Phase::Asking, Some(Command::DialogSwitch)) if !c.preview.nothing_to_do => {
                c.confirm_focused = !c.confirm_focused
            }
            (Phase::Asking, Some(Command::DialogDown)) => {
                // Up goes up at once: never further than the last line.
                let text = super::ui::confirm::text(c, &self.conn.target, &self.theme);
                let body = super::ui::widgets::body_area(self.viewport);
                let max = super::ui::confirm::Shape::of(body, &text).max_scroll;
                c.scroll = (c.scroll + 1).min(max);
            }
            (Phase::Asking, Some(Command::DialogUp)) => c.scroll = c.scroll.saturating_sub(1),
            (Phase::Asking, Some(Command::DialogPress)) => {
                if c.confirm_focused && !c.preview.nothing_to_do {
                    c.phase = Phase::Running;
                    effects.push(Effect::Request(Request::Execute {
                        id: c.id,
                        action: c.action.clone(),
                    }));
                } else {
                    self.confirm = None;
                    self.flash(Level::Info, "cancelled; nothing was changed");
                }
            }
            _ => {}
        }
    }

    fn run_command(&mut self, command: Command, effects: &mut Vec<Effect>) {
        match command {
            Command::Quit => self.quit(effects),
            Command::Help => self.help = true,
            Command::SqlLog => self.sql_log.open = true,
            // A hosted tab's key does nothing while it is not there.
            Command::ShowTab(tab) => {
                if self.tab_view(tab).is_some() {
                    self.switch_to(tab, effects)
                }
            }
            Command::NextTab => self.switch_to(self.tab_offset(1), effects),
            Command::PrevTab => self.switch_to(self.tab_offset(-1), effects),
            Command::Refresh => {
                if self.connected() {
                    self.refresh_current(effects);
                    self.flash(Level::Info, "refreshing");
                } else {
                    effects.push(Effect::Request(Request::Reconnect));
                    self.flash(Level::Info, "reconnecting now");
                }
            }
            Command::Filter => {
                if self.has_filter() {
                    self.editing_filter = true;
                }
            }
            // Esc while a search runs stops it, keeping the filter.
            Command::Back if self.tab == Tab::Jobs && self.tabs.jobs.searching() => {
                effects.push(Effect::Request(Request::CancelSearch));
                self.flash(Level::Info, "search canceled");
            }
            Command::Back => {
                if let Some(tab) = self.current_mut()
                    && let Some(filter) = tab.filter_mut()
                    && !filter.is_empty()
                {
                    filter.clear();
                    tab.reset_selection();
                    let replies = tab.filter_applied();
                    self.apply(self.tab, replies, effects);
                }
            }
            // Everything else belongs to the tab whose scope it came from
            // (or to every list, for moving around).
            _ => self.tab_command(command, effects),
        }
    }

    /// Hand `command` to the tab on screen and carry out what it asks.
    fn tab_command(&mut self, command: Command, effects: &mut Vec<Effect>) {
        let cx = self.context();
        let Some(tab) = self.current_mut() else {
            return;
        };
        let replies = tab.on_command(command, &cx);
        self.apply(self.tab, replies, effects);
    }

    /// Carry out what tab `from` asked for.
    fn apply(&mut self, from: Tab, replies: Vec<Reply>, effects: &mut Vec<Effect>) {
        for reply in replies {
            match reply {
                Reply::Propose(action) => effects.extend(self.propose_from(from, action)),
                Reply::Flash(level, text) => self.flash(level, text),
                Reply::Refresh(view) => self.request(view, effects),
                Reply::Copy(text) => effects.push(Effect::Copy(text)),
                Reply::Preview(action) => self.preview_for(from, action, effects),
                Reply::ShowJob(id) => {
                    self.detail_return = Some(self.tab);
                    self.tab = Tab::Jobs;
                    self.editing_filter = false;
                    let replies = self.tabs.jobs.open_detail(id);
                    self.apply(Tab::Jobs, replies, effects);
                }
                Reply::ShowJobs(filter) => {
                    let text = super::tabs::jobs::filter_text(&filter);
                    self.tabs.jobs.show(filter, text);
                    self.tab = Tab::Jobs;
                    self.editing_filter = false;
                    self.refresh_current(effects);
                }
            }
        }
    }

    fn submit_enqueue(&mut self, effects: &mut Vec<Effect>) {
        if self.conn.read_only {
            self.flash(Level::Error, "refused: this session is read-only");
            return;
        }
        if self.conn.standby {
            self.flash(Level::Error, STANDBY_REFUSAL);
            return;
        }
        let replies = self.tabs.enqueue.submit();
        self.apply(self.tab, replies, effects);
    }

    /// Whether the current tab has a `/` filter.
    pub fn has_filter(&self) -> bool {
        self.current().is_some_and(|t| t.filter().is_some())
    }

    pub fn filter(&self) -> &str {
        self.current().and_then(|t| t.filter()).unwrap_or("")
    }

    fn edit_filter(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let command = self.keymap.lookup(&key, &[Scope::Filter]);
        let Some(tab) = self.current_mut() else {
            self.editing_filter = false;
            return;
        };
        let mut keep_editing = true;
        match (command, key.code) {
            (Some(Command::FilterKeep), _) => keep_editing = false,
            (Some(Command::FilterClear), _) => {
                keep_editing = false;
                if let Some(f) = tab.filter_mut() {
                    f.clear();
                }
            }
            (Some(Command::FilterErase), _) => {
                if let Some(f) = tab.filter_mut() {
                    f.pop();
                }
            }
            (_, KeyCode::Char(c)) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                if let Some(f) = tab.filter_mut() {
                    f.push(c);
                }
            }
            _ => return,
        }
        tab.reset_selection();
        let replies = if keep_editing {
            Vec::new()
        } else {
            tab.filter_applied()
        };
        self.editing_filter = keep_editing;
        self.apply(self.tab, replies, effects);
    }
}
