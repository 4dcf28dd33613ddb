//! The console's state and how it changes: keys, db-task events and the
//! clock go in; requests for the db task, clipboard copies and quitting come
//! out as [`Effect`]s. Nothing here draws or touches the database, so every
//! behaviour is testable without a terminal or a server.

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::db::{DbEvent, Request};
use super::keymap::{Command, Keymap, Scope};
use super::tabs::events::EventsTab;
use super::tabs::stats::StatsTab;
use super::theme::Theme;
use crate::events::Event;
use crate::settings::names::ObjectNames;

/// How long a NOTIFY burst is allowed to settle before the Stats refresh.
const DEBOUNCE_MS: i64 = 250;
/// Refreshes triggered by NOTIFY events are at most this frequent.
const MIN_REFRESH_GAP_MS: i64 = 1_000;
const FLASH_SECONDS: i64 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Stats,
    Events,
}

impl Tab {
    pub const ALL: [Tab; 2] = [Tab::Stats, Tab::Events];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Stats => "Stats",
            Tab::Events => "Events",
        }
    }

    fn scope(self) -> Scope {
        match self {
            Tab::Stats => Scope::Stats,
            Tab::Events => Scope::Events,
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    fn offset(self, by: isize) -> Tab {
        let n = Tab::ALL.len() as isize;
        Tab::ALL[((self.index() as isize + by).rem_euclid(n)) as usize]
    }
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
    /// `schema public · prefix app_`.
    pub names: String,
    /// The NOTIFY channel the Events tab listens on.
    pub channel: String,
    pub server_version: Option<String>,
    pub read_only: bool,
    pub link: Link,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub level: Level,
    pub until: DateTime<Utc>,
}

#[derive(Debug)]
pub enum Effect {
    Request(Request),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    Quit,
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
    pub stats: StatsTab,
    pub events: EventsTab,
    pub now: DateTime<Utc>,
    refresh_interval: Duration,
    stats_due: Option<DateTime<Utc>>,
    stats_in_flight: bool,
    last_stats_request: Option<DateTime<Utc>>,
    /// Tables whose changes make the Stats tab refresh.
    watched_tables: Vec<String>,
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
        let names = parts.join(" · ");
        App {
            tab: o.tab,
            keymap: o.keymap,
            theme: o.theme,
            conn: ConnInfo {
                target: o.target,
                names,
                channel: o.names.channel.clone(),
                server_version: None,
                read_only: o.read_only,
                link: Link::Connecting { attempt: 1 },
            },
            flash: None,
            help: false,
            editing_filter: false,
            stats: StatsTab::default(),
            events: EventsTab::new(o.events_buffer),
            now: o.now,
            refresh_interval: Duration::from_std(o.refresh_interval)
                .unwrap_or_else(|_| Duration::seconds(5)),
            stats_due: None,
            stats_in_flight: false,
            last_stats_request: None,
            watched_tables: vec![o.names.queue_table.clone(), o.names.queue_table_log.clone()],
        }
    }

    /// The scopes whose keys are live, innermost first.
    pub fn scopes(&self) -> Vec<Scope> {
        vec![self.tab.scope(), Scope::List, Scope::Global]
    }

    pub fn connected(&self) -> bool {
        self.conn.link == Link::Connected
    }

    /// When the event loop must call [`App::on_tick`] next, at the latest.
    pub fn next_wakeup(&self) -> DateTime<Utc> {
        // One tick a second keeps relative times ("updated 3s ago") true.
        let mut at = self.now + Duration::seconds(1);
        if let Some(due) = self.stats_due.filter(|_| !self.stats.paused) {
            at = at.min(due);
        }
        if let Some(flash) = &self.flash {
            at = at.min(flash.until);
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
        if self.flash.as_ref().is_some_and(|f| f.until <= now) {
            self.flash = None;
        }
        let mut effects = Vec::new();
        if self.stats_due.is_some_and(|due| due <= now) && !self.stats.paused {
            self.request_stats(&mut effects);
        }
        effects
    }

    fn request_stats(&mut self, effects: &mut Vec<Effect>) {
        if !self.connected() {
            return;
        }
        if self.stats_in_flight {
            // Ask again once the running refresh is back.
            self.stats_due = Some(self.now);
            return;
        }
        self.stats_in_flight = true;
        self.stats_due = None;
        self.last_stats_request = Some(self.now);
        effects.push(Effect::Request(Request::Stats(self.stats.window)));
    }

    /// A queue change: refresh soon, but let a burst settle and cap the rate.
    fn stats_changed(&mut self) {
        let mut at = self.now + Duration::milliseconds(DEBOUNCE_MS);
        if let Some(last) = self.last_stats_request {
            at = at.max(last + Duration::milliseconds(MIN_REFRESH_GAP_MS));
        }
        self.stats_due = Some(self.stats_due.map_or(at, |due| due.min(at)));
    }

    pub fn on_db(&mut self, event: DbEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
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
                self.stats_in_flight = false;
                if was_down {
                    self.flash(Level::Info, "reconnected");
                }
                self.request_stats(&mut effects);
            }
            DbEvent::Disconnected {
                error,
                attempt,
                retry_in,
            } => {
                self.stats_in_flight = false;
                let retry_at = self.now + Duration::from_std(retry_in).unwrap_or_default();
                self.conn.link = Link::Reconnecting {
                    attempt,
                    error,
                    retry_at,
                };
            }
            DbEvent::Stats(result) => {
                self.stats_in_flight = false;
                match result {
                    Ok(stats) => self.stats.accept(stats, self.now),
                    Err(e) => {
                        self.flash(Level::Error, format!("refresh failed: {e}"));
                        self.stats.error = Some(e);
                    }
                }
                if self.stats_due.is_none() {
                    self.stats_due = Some(self.now + self.refresh_interval);
                }
            }
            DbEvent::Notification(received) => {
                if let Event::TableChanged { table, .. } = &received.event
                    && self.watched_tables.iter().any(|t| t == table)
                {
                    self.stats_changed();
                }
                self.events.push(received);
            }
            DbEvent::Done { result, .. } => match result {
                Ok(_) => self.flash(Level::Info, "done"),
                Err(e) => self.flash(Level::Error, e),
            },
        }
        effects
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let mut effects = Vec::new();
        if key.kind == KeyEventKind::Release {
            return effects;
        }
        let is_ctrl_c = key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c' | 'C'));
        if is_ctrl_c {
            effects.push(Effect::Quit);
            return effects;
        }
        if self.editing_filter {
            self.edit_filter(key);
            return effects;
        }
        let Some(command) = self.keymap.lookup(&key, &self.scopes()) else {
            return effects;
        };
        if self.help {
            // Help is modal: it closes with help or Esc; quit still quits.
            match command {
                Command::Help | Command::Back => self.help = false,
                Command::Quit => effects.push(Effect::Quit),
                _ => {}
            }
            return effects;
        }
        if self.events.detail.is_some() && self.tab == Tab::Events {
            match command {
                Command::Back | Command::Open => self.events.detail = None,
                Command::Copy => self.copy_event(&mut effects),
                Command::Quit => effects.push(Effect::Quit),
                Command::Help => self.help = true,
                _ => {}
            }
            return effects;
        }
        self.run_command(command, &mut effects);
        effects
    }

    fn run_command(&mut self, command: Command, effects: &mut Vec<Effect>) {
        match command {
            Command::Quit => effects.push(Effect::Quit),
            Command::Help => self.help = true,
            Command::TabStats => self.tab = Tab::Stats,
            Command::TabEvents => self.tab = Tab::Events,
            Command::NextTab => self.tab = self.tab.offset(1),
            Command::PrevTab => self.tab = self.tab.offset(-1),
            Command::Refresh => {
                if self.connected() {
                    self.request_stats(effects);
                    self.flash(Level::Info, "refreshing");
                } else {
                    effects.push(Effect::Request(Request::Reconnect));
                    self.flash(Level::Info, "reconnecting now");
                }
            }
            Command::Pause => match self.tab {
                Tab::Stats => {
                    self.stats.paused = !self.stats.paused;
                    if !self.stats.paused {
                        self.request_stats(effects);
                    }
                }
                Tab::Events => self.events.toggle_pause(),
            },
            Command::Filter => self.editing_filter = true,
            Command::Back => {
                let filter = self.filter_mut();
                if !filter.is_empty() {
                    filter.clear();
                    self.reset_selection();
                }
            }
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => match self.tab {
                Tab::Stats => self.stats.navigate(command),
                Tab::Events => self.events.navigate(command),
            },
            Command::Window => {
                self.stats.window = self.stats.window.next();
                self.request_stats(effects);
            }
            Command::Sort => self.stats.sort = self.stats.sort.next(),
            Command::Open => {
                self.events.detail = self.events.selected_entry().map(|e| e.seq);
            }
            Command::Clear => {
                let n = self.events.len();
                self.events.clear();
                self.flash(Level::Info, format!("cleared {n} events"));
            }
            Command::Copy => self.copy_event(effects),
        }
    }

    fn copy_event(&mut self, effects: &mut Vec<Effect>) {
        let entry = match self.events.detail {
            Some(seq) => self.events.entry(seq),
            None => self.events.selected_entry(),
        };
        match entry.map(|e| e.received.raw.clone()) {
            Some(raw) => {
                effects.push(Effect::Copy(raw));
                self.flash(Level::Info, "copied the event JSON (OSC 52)");
            }
            None => self.flash(Level::Info, "no event to copy"),
        }
    }

    fn filter_mut(&mut self) -> &mut String {
        match self.tab {
            Tab::Stats => &mut self.stats.filter,
            Tab::Events => &mut self.events.filter,
        }
    }

    pub fn filter(&self) -> &str {
        match self.tab {
            Tab::Stats => &self.stats.filter,
            Tab::Events => &self.events.filter,
        }
    }

    fn reset_selection(&mut self) {
        match self.tab {
            Tab::Stats => self.stats.selected = 0,
            Tab::Events => self.events.selected = None,
        }
    }

    fn edit_filter(&mut self, key: KeyEvent) {
        match key.code {
            KeyCode::Enter => self.editing_filter = false,
            KeyCode::Esc => {
                self.editing_filter = false;
                self.filter_mut().clear();
            }
            KeyCode::Backspace => {
                self.filter_mut().pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter_mut().push(c);
            }
            _ => return,
        }
        self.reset_selection();
    }
}
