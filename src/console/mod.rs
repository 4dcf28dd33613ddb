//! The full-screen console: `pgq` on a terminal.
//!
//! One event loop selects over terminal input, db-task events and a clock
//! deadline computed by the app; it redraws only after something happened.
//! The db task (`db`) owns the connections; `app` holds the state; `ui`
//! draws it. The terminal is restored on every exit path, including panics
//! (ratatui's hook restores it before pgq's own hook prints the message).

pub mod app;
pub mod config;
pub mod db;
pub mod dialog;
pub mod keymap;
pub mod tabs;
pub mod theme;
pub mod ui;

use std::io::Write;

use chrono::Utc;
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};

use app::{App, AppOptions, Effect, Tab};
use config::{Config, ThemeName};
use theme::Theme;

use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;

/// Everything the console needs, resolved by the command layer.
pub struct ConsoleOptions {
    pub tab: Tab,
    pub settings: ConnectionSettings,
    pub names: ObjectNames,
    pub read_only: bool,
    pub no_color: bool,
    pub config: Config,
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
        tab: options.tab,
        keymap: options.config.keymap.clone(),
        theme: theme_for(options.config.theme, options.no_color),
        target,
        names: options.names.clone(),
        read_only: options.read_only,
        refresh_interval: options.config.refresh_interval,
        events_buffer: options.config.events_buffer,
        now: Utc::now(),
    });
    let db = db::spawn(db::Target {
        settings: options.settings,
        channel: options.names.channel.clone(),
        names: options.names,
        read_only: options.read_only,
    });
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut app, db).await;
    let restored = ratatui::try_restore();
    result.and(restored)
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    mut db: db::DbHandle,
) -> std::io::Result<()> {
    let mut input = EventStream::new();
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|frame| ui::draw(frame, app))?;
            dirty = false;
        }
        let wait = (app.next_wakeup() - Utc::now())
            .to_std()
            .unwrap_or_default();
        let effects = tokio::select! {
            event = input.next() => match event {
                Some(Ok(TermEvent::Key(key))) => {
                    app.now = Utc::now();
                    app.on_key(key)
                }
                Some(Ok(TermEvent::Resize(..))) => Vec::new(),
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
                    effects
                }
                None => return Err(std::io::Error::other("the database task stopped")),
            },
            _ = tokio::time::sleep(wait) => app.on_tick(Utc::now()),
            _ = terminate.recv() => return Ok(()),
            _ = hangup.recv() => return Ok(()),
        };
        dirty = true;
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Request(request) => {
                    let _ = db.requests.send(request);
                }
                Effect::Copy(text) => copy_osc52(&text)?,
            }
        }
    }
}

/// Put `text` on the clipboard of the terminal the user sits at, also over
/// SSH, with the OSC 52 escape sequence.
fn copy_osc52(text: &str) -> std::io::Result<()> {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout().lock();
    write!(out, "\x1b]52;c;{encoded}\x07")?;
    out.flush()
}
