//! The console's state and how it changes: keys, db-task events and the
//! clock go in; requests for the db task, clipboard copies and quitting come
//! out as [`Effect`]s. Nothing here draws or touches the database, so every
//! behaviour is testable without a terminal or a server.
//!
//! Mutations take one path ([`App::propose`]): refused in read-only mode and
//! on a hot standby, otherwise previewed by the db task, confirmed in a
//! dialog whose default is Cancel, executed, and recorded in the SQL log.
//!
//! This file routes: db answers to the tab that shows them, outcomes to
//! the tab that proposed the action, replies of tabs to the doors they
//! ask for. Keys in are `keys.rs`, refresh timing `refresh.rs`, the
//! connection's state `conn.rs`, a hosted worker `hosted.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use ratatui::layout::Rect;

use super::contexts::ContextPicker;
use super::db::{DbEvent, Request, View};
use super::dialog::{Background, Confirm, Phase, SqlLog};
use super::flash_history::FlashHistory;
use super::keymap::{Command, Keymap, TabEntry};
use super::tabs::set::{TabOptions, Tabs};
use super::tabs::{Context, Done, Reply, Routed, Screen, TabView};
use super::theme::Theme;
use crate::actions::{Action, Outcome};
use crate::events::Event;
use crate::settings::names::ObjectNames;

mod conn;
mod hosted;
mod keys;
mod refresh;

pub use super::tabs::Level;
pub use super::tabs::id::Tab;
pub use conn::{ConnInfo, Link};
use refresh::{Freshness, ViewKind};

const FLASH_SECONDS: i64 = 4;
/// Short enough for the flash area of an 80-column terminal.
const STANDBY_REFUSAL: &str = "refused: read-only standby; use the primary";

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
    /// Reconnect to the context at this index of [`App::contexts`].
    SwitchContext(usize),
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
    /// Every flash of the session, readable in full (`m`).
    pub messages: FlashHistory,
    /// config.toml's contexts, to switch to (`:`).
    pub contexts: ContextPicker,
    pub help: bool,
    /// Typing into the current tab's filter.
    pub editing_filter: bool,
    /// Every tab, reached by its id.
    pub tabs: Tabs,
    /// The tab that opened the job detail (Held), to go back to when it closes.
    detail_return: Option<Tab>,
    pub confirm: Option<Confirm>,
    /// Confirmed changes whose dialog was sent away while they run (a long
    /// prune, a purge by filter): the status bar shows their progress, and
    /// their outcome is flashed and logged when it arrives.
    background: Vec<Background>,
    /// Quitting waits for the background changes to stop after their batch.
    quit_after_background: bool,
    pub sql_log: SqlLog,
    pub now: DateTime<Utc>,
    /// The terminal's size, for the page height of lists (80×24 until the
    /// event loop says otherwise).
    viewport: Rect,
    refresh_interval: Duration,
    fresh: HashMap<ViewKind, Freshness>,
    previews: HashMap<u64, PreviewFor>,
    /// The tab each proposal came from: its outcome goes back there, and
    /// the tags it took are spent, never carried over to the next one.
    origins: HashMap<u64, Tab>,
    next_id: u64,
    /// Tables whose changes make queue views refresh.
    watched_tables: Vec<String>,
    /// The installation, for the command lines the console shows.
    object_names: ObjectNames,
    /// Something on screen changed since the last [`App::take_redraw`].
    redraw: bool,
    /// Events arrived that the Events tab on screen does not show yet;
    /// drawn by the clock, at most every `refresh::EVENTS_FRAME_MS`.
    events_unseen: bool,
    events_drawn_at: DateTime<Utc>,
    /// What the db task was last told of events on screen.
    events_wanted_said: Option<bool>,
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
                events_paused: None,
                newer_schema: Vec::new(),
                link: Link::Connecting { attempt: 1 },
            },
            flash: None,
            messages: FlashHistory::default(),
            contexts: ContextPicker::default(),
            help: false,
            editing_filter: false,
            tabs: Tabs::new(&TabOptions {
                events_buffer: o.events_buffer,
            }),
            detail_return: None,
            confirm: None,
            background: Vec::new(),
            quit_after_background: false,
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
            events_wanted_said: None,
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
            known_entrypoints: if self.current().is_some_and(|t| t.completes_entrypoints()) {
                self.known_entrypoints()
            } else {
                Vec::new()
            },
        }
    }

    /// Entrypoints seen in the queue, the log window and the schedules (for
    /// completion in the enqueue form).
    pub fn known_entrypoints(&self) -> Vec<String> {
        let mut names: Vec<String> = Tab::EVERY
            .iter()
            .filter_map(|t| self.tab_view(*t))
            .flat_map(|t| t.entrypoints())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn flash(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        match level {
            Level::Error => tracing::warn!("{text}"),
            Level::Info => tracing::info!("{text}"),
        }
        self.messages.push(self.now, level, &text);
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
        if self.conn.events_paused.is_some() {
            // Not listening because the queue is busy: refresh as its
            // NOTIFYs would have had it (at most once a second).
            self.queue_changed();
        }
        if let Some((view, due)) = self.clock_refresh()
            && due <= now
        {
            self.request(view, &mut effects);
        }
        effects
    }

    fn switch_to(&mut self, tab: Tab, effects: &mut Vec<Effect>) {
        if self.tab == tab {
            return;
        }
        self.show_tab(tab, effects);
        self.editing_filter = false;
        // Load on arrival unless the data is fresh.
        let stale = self
            .updated_at()
            .is_none_or(|at| self.now - at > Duration::seconds(1));
        if stale || self.current().is_some_and(|t| t.completes_entrypoints()) {
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
                // A new session listens from the start.
                self.on_events_paused(None);
                self.nothing_in_flight();
                self.say_events_wanted(&mut effects);
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
                self.nothing_in_flight();
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
            DbEvent::EventsPaused(paused) => self.on_events_paused(paused),
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

    fn refreshed(
        &mut self,
        view: View,
        result: Result<Outcome, String>,
        effects: &mut Vec<Effect>,
    ) {
        self.answered(&view, result.is_ok());
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
                || background.iter().any(|b| b.id == *id)
        });
        self.origins.insert(id, from);
        self.flash(Level::Info, "preparing the preview…");
        vec![Effect::Request(Request::Preview { id, action })]
    }

    /// What the status bar says while changes run in the background: how
    /// far the first has come.
    pub fn background_notice(&self) -> Option<String> {
        let first = self.background.first()?;
        let progress = super::dialog::progress(&first.watch).unwrap_or_else(|| "started".into());
        let more = match self.background.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        let stop = self.keymap.first_key(Command::StopBackground);
        Some(format!("background: {progress}{more} ({stop} stops)"))
    }

    /// `x` outside a dialog: the changes running in the background stop
    /// after their batch under way (what is done stays done); their
    /// outcome says so when it comes.
    pub(super) fn stop_background(&mut self) {
        if self.background.is_empty() {
            self.flash(Level::Info, "no change runs in the background");
            return;
        }
        self.ask_background_to_stop();
        self.flash(
            Level::Info,
            "stopping the change in the background after its batch…",
        );
    }

    /// Every change in the background stops after its batch under way.
    fn ask_background_to_stop(&self) {
        for b in &self.background {
            b.watch.stop();
        }
    }

    /// Quitting while changes run in the background: the first request
    /// stops them after their batch under way and quits once they have
    /// (what is done stays done, and is said in the SQL log and the audit
    /// log); the second quits at once, rolling their batch back. Returns
    /// whether quitting waits.
    pub(super) fn stop_background_first(&mut self) -> bool {
        if self.background.is_empty() || self.quit_after_background {
            return false;
        }
        self.quit_after_background = true;
        self.ask_background_to_stop();
        let key = self.keymap.first_key(Command::Quit);
        self.flash(
            Level::Info,
            format!(
                "stopping the change in the background after its batch, then quitting; {key} again quits now"
            ),
        );
        true
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
        let background = self.background.iter().position(|bg| bg.id == id);
        let in_background = background.is_some();
        let action = match background {
            Some(at) => self.background.remove(at).action,
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
        let said = self.sql_log.record(
            self.now,
            command_line.clone(),
            result
                .as_ref()
                .map(|o| action.outcome_text(o))
                .map_err(Clone::clone),
            elapsed,
            sql,
        );
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
        if in_background && self.quit_after_background && self.background.is_empty() {
            self.quit(effects);
        }
    }

    /// Put `tab` on screen: every way a tab comes on screen (a key, a
    /// drill-down, a detail closing, a hosted worker stopping) goes through
    /// here, so the db task always knows whether events are on screen.
    pub(super) fn show_tab(&mut self, tab: Tab, effects: &mut Vec<Effect>) {
        self.tab = tab;
        self.say_events_wanted(effects);
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
                    self.show_tab(Tab::Jobs, effects);
                    self.editing_filter = false;
                    let replies = self.tabs.jobs.open_detail(id);
                    self.apply(Tab::Jobs, replies, effects);
                }
                Reply::ShowJobs(filter) => {
                    let text = super::tabs::jobs::filter_text(&filter);
                    self.tabs.jobs.show(filter, text);
                    self.show_tab(Tab::Jobs, effects);
                    self.editing_filter = false;
                    self.refresh_current(effects);
                }
            }
        }
    }
}
