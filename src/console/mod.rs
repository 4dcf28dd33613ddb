//! The full-screen console: `pgq` on a terminal.
//!
//! One event loop selects over terminal input, db-task events and a clock
//! deadline computed by the app; it redraws only after something happened.
//! The db task (`db`) owns the connections; `app` holds the state; `ui`
//! draws it. The terminal is restored on every exit path, including panics
//! (ratatui's hook restores it before pgq's own hook prints the message).

pub mod app;
pub mod contexts;
pub mod db;
pub mod dialog;
pub mod flash_history;
pub mod keymap;
pub mod listening;
pub mod tabs;
pub mod theme;
pub mod ui;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;

use crate::actions::reports::stats::StatsWindow;
use crate::settings::config::{Config, ThemeName};
use app::{App, AppOptions, Effect, Level, Tab};
use theme::Theme;

use crate::db::signal::{Signals, StopSignal};
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;

/// Where the console opens: a tab, and optionally the Stats window.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub tab: Tab,
    /// `None` keeps the Stats tab's own default.
    pub stats_window: Option<StatsWindow>,
}

impl From<Tab> for Start {
    fn from(tab: Tab) -> Start {
        Start {
            tab,
            stats_window: None,
        }
    }
}

/// Everything the console needs, resolved by the command layer.
pub struct ConsoleOptions {
    pub start: Start,
    pub settings: ConnectionSettings,
    /// Where to LISTEN (`None`: nowhere, behind a transaction pooler).
    pub listen: Option<ConnectionSettings>,
    pub names: ObjectNames,
    pub read_only: bool,
    pub no_color: bool,
    pub config: Config,
    /// The keymap with config.toml's overrides applied (checked on load).
    pub keymap: keymap::Keymap,
    /// A worker running in this process, shown on the Worker tab.
    pub worker: Option<WorkerLink>,
    /// Where changes made from the console are logged.
    pub audit: Option<crate::actions::audit::AuditTrail>,
    /// config.toml's contexts, resolved, to switch to with `:`.
    pub contexts: Vec<contexts::Switchable>,
    /// The context connected through first (`--context`), if any.
    pub context: Option<String>,
}

/// A worker the console shows (and, for `pgq run`, stops on quit).
pub struct WorkerLink {
    pub snapshot: tokio::sync::watch::Receiver<crate::worker::Snapshot>,
    pub logs: tokio::sync::mpsc::UnboundedReceiver<String>,
    pub shutdown: crate::worker::ShutdownTrigger,
    /// `pgq run`: q stops the worker gracefully and the console exits when
    /// it has stopped. `pgq demo`: q quits and the demo stops its workers.
    pub owns_worker: bool,
}

pub fn theme_for(config_theme: ThemeName, no_color: bool) -> Theme {
    // crossterm drops colours under NO_COLOR by itself; choosing the
    // monochrome theme keeps the selection visible as reverse video.
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color || no_color_env || config_theme == ThemeName::Monochrome {
        Theme::monochrome()
    } else {
        Theme::colour()
    }
}

/// Run the console until the user quits; errors are terminal failures.
pub async fn run(options: ConsoleOptions) -> std::io::Result<()> {
    let target = options.settings.target();
    let mut app = App::new(AppOptions {
        tab: options.start.tab,
        keymap: options.keymap,
        theme: theme_for(options.config.theme, options.no_color),
        target,
        names: options.names.clone(),
        read_only: options.read_only,
        refresh_interval: options.config.refresh_interval,
        events_buffer: options.config.events_buffer,
        now: Utc::now(),
    });
    if let Some(window) = options.start.stats_window {
        app.tabs.stats.window = window;
    }
    let mut worker = options.worker;
    if let Some(link) = &worker {
        let snapshot = link.snapshot.borrow().clone();
        app.attach_worker(tabs::worker::WorkerTab::new(snapshot, link.owns_worker));
    }
    app.contexts = contexts::ContextPicker::new(
        options
            .contexts
            .iter()
            .map(contexts::Choice::from)
            .collect(),
        options.context.as_deref(),
    );
    let switching = Switching {
        contexts: options.contexts,
        config: options.config.clone(),
        audit: options.audit.clone(),
    };
    let db = db::spawn(db::Target {
        settings: options.settings,
        names: options.names,
        read_only: options.read_only,
        listen: options.listen,
        // "Each poll": a promotion shows up as soon as the next refresh would.
        standby_recheck: options.config.refresh_interval,
        audit: options.audit,
    });
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut app, db, worker.as_mut(), &switching).await;
    let restored = ratatui::try_restore();
    result.and(restored)
}

/// What a context switch needs besides the context: the console's own
/// settings, which stay.
struct Switching {
    contexts: Vec<contexts::Switchable>,
    config: Config,
    audit: Option<crate::actions::audit::AuditTrail>,
}

impl Switching {
    /// A fresh app and db task on context `index`: nothing of the old
    /// database carries over but the tab on screen, the keys, the theme
    /// and the message history.
    fn switch(&self, index: usize, app: &mut App) -> Option<db::DbHandle> {
        let context = self.contexts.get(index)?;
        let resolved = context.resolved.as_ref().ok()?;
        let mut fresh = App::new(AppOptions {
            tab: app.tab,
            keymap: app.keymap.clone(),
            theme: app.theme,
            target: resolved.settings.target(),
            names: resolved.names.clone(),
            read_only: resolved.read_only,
            refresh_interval: self.config.refresh_interval,
            events_buffer: self.config.events_buffer,
            now: Utc::now(),
        });
        fresh.tabs.stats.window = app.tabs.stats.window;
        fresh.messages = std::mem::take(&mut app.messages);
        fresh.contexts = std::mem::take(&mut app.contexts);
        fresh.contexts.current = Some(index);
        fresh.flash(
            Level::Info,
            format!(
                "switched to context {} ({}{})",
                context.name,
                resolved.settings.target(),
                if resolved.read_only {
                    ", read-only"
                } else {
                    ""
                }
            ),
        );
        let audit = self.audit.clone().map(|mut a| {
            a.context = Some(context.name.clone());
            a
        });
        let handle = db::spawn(db::Target {
            settings: resolved.settings.clone(),
            names: resolved.names.clone(),
            read_only: resolved.read_only,
            listen: resolved.listen.clone(),
            standby_recheck: self.config.refresh_interval,
            audit,
        });
        *app = fresh;
        Some(handle)
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    mut db: db::DbHandle,
    mut worker: Option<&mut WorkerLink>,
    switching: &Switching,
) -> std::io::Result<()> {
    let mut input = EventStream::new();
    // Ctrl-C is a key in raw mode, so SIGINT keeps its default.
    let mut stop = Signals::install(&[StopSignal::Terminate, StopSignal::Hangup])
        .map_err(std::io::Error::other)?;
    let mut dirty = true;
    // Lists page by the terminal's height; the app learns it here and on
    // every resize, never from a draw.
    let size = terminal.size()?;
    app.resize(size.width, size.height);
    loop {
        if dirty {
            terminal.draw(|frame| ui::draw(frame, app))?;
            dirty = false;
        }
        let wait = (app.next_wakeup() - Utc::now())
            .to_std()
            .unwrap_or_default();
        // A NOTIFY the screen does not show yet (or not at all) draws nothing.
        let mut redraw = true;
        let effects = tokio::select! {
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) => {
                    app.now = Utc::now();
                    app.on_key(key)
                }
                Some(Ok(TermEvent::Resize(width, height))) => {
                    app.resize(width, height);
                    Vec::new()
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            event = db.events.recv() => match event {
                Some(event) => {
                    app.now = Utc::now();
                    let mut effects = app.on_db(event);
                    // Drain what else is queued (NOTIFY bursts) before one redraw.
                    while let Ok(more) = db.events.try_recv() {
                        effects.extend(app.on_db(more));
                    }
                    redraw = app.take_redraw();
                    effects
                }
                None => return Err(std::io::Error::other("the database task stopped")),
            },
            _ = tokio::time::sleep(wait) => app.on_tick(Utc::now()),
            changed = worker_changed(&mut worker) => {
                app.now = Utc::now();
                match changed {
                    WorkerUpdate::Snapshot(s) => app.on_worker_snapshot(s),
                    WorkerUpdate::Log(line) => {
                        app.on_worker_log(line);
                        if let Some(link) = worker.as_mut() {
                            while let Ok(more) = link.logs.try_recv() {
                                app.on_worker_log(more);
                            }
                        }
                        Vec::new()
                    }
                    WorkerUpdate::Gone => {
                        worker = None;
                        Vec::new()
                    }
                }
            },
            // As q: a hosted `pgq run` worker stops gracefully first.
            signal = stop.recv() => match signal {
                // The terminal is gone: nothing to show a goodbye on.
                StopSignal::Hangup => return Ok(()),
                _ => app.request_quit(),
            },
        };
        dirty |= redraw;
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Request(request) => {
                    let _ = db.requests.send(request);
                }
                Effect::Copy(text) => copy_osc52(&text)?,
                // The old db task ends when its handle is dropped here.
                Effect::SwitchContext(index) => {
                    if let Some(handle) = switching.switch(index, app) {
                        db = handle;
                        let size = terminal.size()?;
                        app.resize(size.width, size.height);
                        dirty = true;
                    }
                }
                Effect::StopWorker { now } => {
                    if let Some(link) = worker.as_ref() {
                        if now {
                            link.shutdown.now();
                        } else {
                            link.shutdown.request();
                        }
                    }
                }
            }
        }
    }
}

enum WorkerUpdate {
    Snapshot(crate::worker::Snapshot),
    Log(String),
    Gone,
}

/// The next change of the hosted worker; pending for ever without one.
async fn worker_changed(worker: &mut Option<&mut WorkerLink>) -> WorkerUpdate {
    let Some(link) = worker.as_mut() else {
        return std::future::pending().await;
    };
    tokio::select! {
        changed = link.snapshot.changed() => match changed {
            Ok(()) => WorkerUpdate::Snapshot(link.snapshot.borrow_and_update().clone()),
            Err(_) => WorkerUpdate::Gone,
        },
        line = link.logs.recv() => match line {
            Some(line) => WorkerUpdate::Log(line),
            None => std::future::pending().await,
        },
    }
}

/// Put `text` on the clipboard of the terminal the user sits at, also over
/// SSH: crossterm writes the OSC 52 escape sequence, which the terminal (not
/// the machine pgq runs on) acts upon.
fn copy_osc52(text: &str) -> std::io::Result<()> {
    crossterm::execute!(
        std::io::stdout(),
        crossterm::clipboard::CopyToClipboard::to_clipboard_from(text)
    )
}
