//! The console without a terminal: an [`App`] built as the console builds
//! it, keys pressed into it, and its frames drawn into ratatui's
//! `TestBackend`, so render and state tests share one setup.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pgq::console::app::{App, AppOptions, Effect, Tab};
use pgq::console::db::DbEvent;
use pgq::console::keymap::Keymap;
use pgq::console::theme::Theme;
use pgq::console::ui;
use pgq::settings::names::ObjectNames;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The seeds' fixed "now", so rendered times never move.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// The options of a console opened on `tab` at [`t0`]: default keys,
/// colour, default names, read-write, 5 s refreshes, 100 events kept.
/// Tests change what they need with `..options(tab)`.
pub fn options(tab: Tab) -> AppOptions {
    AppOptions {
        tab,
        keymap: Keymap::default(),
        theme: Theme::colour(),
        target: "ops@db.internal:5432/jobs".into(),
        names: ObjectNames::with_prefix("", None).unwrap(),
        read_only: false,
        refresh_interval: Duration::from_secs(5),
        events_buffer: 100,
        now: t0(),
    }
}

/// The db task says it connected to a server of `version`.
pub fn connect(app: &mut App, version: &str) {
    app.on_db(DbEvent::Connected {
        server_version: version.into(),
    });
}

/// The frame at `width`×`height` as TestBackend prints it (one quoted
/// line per row): what the insta snapshots hold.
pub fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

/// The frame's rows, without TestBackend's quotes.
pub fn screen(app: &App, width: u16, height: u16) -> Vec<String> {
    render(app, width, height)
        .lines()
        .map(|l| l.trim_matches('"').to_string())
        .collect()
}

/// A key pressed without modifiers.
pub fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}
