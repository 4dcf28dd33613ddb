//! The console drawn into ratatui's TestBackend from seeded state: every
//! tab, the help overlay, the event detail and the too-small message, at
//! 80×24 and at 160×48. Times are fixed by the seed, so nothing is masked.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pgq::actions::stats::{Completions, EntrypointStats, QueueStats, SERIES_BUCKETS, StatsWindow};
use pgq::console::app::{App, AppOptions, Effect, Tab};
use pgq::console::db::{DbEvent, Request};
use pgq::console::keymap::Keymap;
use pgq::console::theme::Theme;
use pgq::console::ui;
use pgq::events::Received;
use pgq::settings::names::ObjectNames;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn app(tab: Tab, theme: Theme) -> App {
    App::new(AppOptions {
        tab,
        keymap: Keymap::default(),
        theme,
        target: "ops@db.internal:5432/jobs".into(),
        names: ObjectNames::with_prefix("", None).unwrap(),
        read_only: false,
        refresh_interval: Duration::from_secs(5),
        events_buffer: 10_000,
        now: t0(),
    })
}

#[allow(clippy::too_many_arguments)]
fn entry(
    name: &str,
    queued: i64,
    picked: i64,
    held: i64,
    age: Option<f64>,
    ok: i64,
    exc: i64,
    cancel: i64,
) -> EntrypointStats {
    EntrypointStats {
        entrypoint: name.into(),
        queued,
        picked,
        held,
        oldest_queued_age_seconds: age,
        done: Completions {
            successful: ok,
            exception: exc,
            canceled: cancel,
            failed: 0,
        },
    }
}

fn seeded_stats() -> QueueStats {
    let series = (0..SERIES_BUCKETS)
        .map(|i| Completions {
            successful: (i as i64 * 7) % 40 + 20,
            exception: if i % 9 == 0 { 6 } else { 1 },
            canceled: i as i64 % 3,
            failed: 0,
        })
        .collect();
    QueueStats {
        window: StatsWindow::OneHour,
        as_of: t0(),
        entrypoints: vec![
            entry("send_email", 1_204, 8, 0, Some(42.0), 15_230, 12, 3),
            entry("resize_image", 310, 4, 2, Some(185.0), 4_102, 230, 0),
            entry("nightly_report", 1, 0, 0, Some(7_980.0), 1, 0, 0),
            entry("sync_crm", 0, 1, 5, None, 880, 91, 14),
        ],
        series,
    }
}

fn event(seconds: i64, payload: &str) -> DbEvent {
    DbEvent::Notification(Received::new(
        payload,
        t0() + chrono::Duration::milliseconds(seconds * 250),
    ))
}

fn seeded(tab: Tab, theme: Theme) -> App {
    let mut a = app(tab, theme);
    a.on_db(DbEvent::Connected {
        server_version: "16.4 (Debian 16.4-1)".into(),
    });
    a.on_db(DbEvent::Stats(Ok(seeded_stats())));
    let payloads = [
        r#"{"channel":"ch_pgqueuer","operation":"insert","sent_at":"2026-11-27T11:59:59.990+00:00","table":"pgqueuer","type":"table_changed_event"}"#,
        r#"{"channel":"ch_pgqueuer","sent_at":"2026-11-27T12:00:00.200Z","ids":[41,42],"type":"cancellation_event"}"#,
        r#"{"channel":"ch_pgqueuer","sent_at":"2026-11-27T12:00:00.400Z","id":"6f1c2f9e-8d55-4c39-9a35-0b0f0f1f2a3b","type":"health_check_event"}"#,
        r#"{"type":"requests_per_second_event","channel":"ch_pgqueuer","entrypoint_count":{}}"#,
        r#"{"channel":"ch_pgqueuer","operation":"delete","sent_at":"2026-11-27T12:00:00.950+00:00","table":"pgqueuer","type":"table_changed_event"}"#,
        "not json at all",
    ];
    for (i, p) in payloads.iter().enumerate() {
        a.on_db(event(i as i64, p));
    }
    a.on_tick(t0() + chrono::Duration::seconds(3));
    a
}

fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    terminal.backend().to_string()
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

#[test]
fn stats_tab() {
    let a = seeded(Tab::Stats, Theme::colour());
    insta::assert_snapshot!("stats_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("stats_160x48", render(&a, 160, 48));
}

#[test]
fn stats_tab_sorted_filtered_paused() {
    let mut a = seeded(Tab::Stats, Theme::monochrome());
    key(&mut a, KeyCode::Char('s')); // queued → oldest
    key(&mut a, KeyCode::Char('/'));
    for c in "e_".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char(' '));
    insta::assert_snapshot!("stats_sorted_filtered_paused_80x24", render(&a, 80, 24));
}

#[test]
fn events_tab() {
    let a = seeded(Tab::Events, Theme::colour());
    insta::assert_snapshot!("events_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("events_160x48", render(&a, 160, 48));
}

#[test]
fn events_detail_and_pause() {
    let mut a = seeded(Tab::Events, Theme::colour());
    key(&mut a, KeyCode::Char(' '));
    a.on_db(event(9, r#"{"channel":"ch_pgqueuer","operation":"update","sent_at":"2026-11-27T12:00:02Z","table":"pgqueuer","type":"table_changed_event"}"#));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Enter);
    insta::assert_snapshot!("events_detail_paused_80x24", render(&a, 80, 24));
}

#[test]
fn help_overlay() {
    let mut a = seeded(Tab::Stats, Theme::colour());
    key(&mut a, KeyCode::Char('?'));
    insta::assert_snapshot!("help_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("help_160x48", render(&a, 160, 48));
}

#[test]
fn reconnecting_keeps_the_last_data() {
    let mut a = seeded(Tab::Stats, Theme::colour());
    a.on_db(DbEvent::Disconnected {
        error: "cannot connect to ops@db.internal:5432/jobs: connection refused".into(),
        attempt: 3,
        retry_in: Duration::from_secs(2),
    });
    insta::assert_snapshot!("stats_reconnecting_80x24", render(&a, 80, 24));
}

#[test]
fn too_small() {
    let a = seeded(Tab::Stats, Theme::colour());
    insta::assert_snapshot!("too_small_50x12", render(&a, 50, 12));
}

#[test]
fn refreshes_are_debounced_and_paused() {
    let mut a = app(Tab::Stats, Theme::colour());
    let effects = a.on_db(DbEvent::Connected {
        server_version: "16".into(),
    });
    assert!(matches!(
        effects.as_slice(),
        [Effect::Request(Request::Stats(StatsWindow::OneHour))]
    ));
    a.on_db(DbEvent::Stats(Ok(seeded_stats())));
    // A burst of queue changes: nothing before the debounce and the 1 s gap.
    let change = r#"{"channel":"ch_pgqueuer","operation":"insert","sent_at":"2026-11-27T12:00:00Z","table":"pgqueuer","type":"table_changed_event"}"#;
    for _ in 0..50 {
        a.on_db(DbEvent::Notification(Received::new(change, t0())));
    }
    assert!(
        a.on_tick(t0() + chrono::Duration::milliseconds(500))
            .is_empty()
    );
    let effects = a.on_tick(t0() + chrono::Duration::milliseconds(1_000));
    assert_eq!(effects.len(), 1, "one refresh for the whole burst");
    // While it runs, more changes only mark it due again.
    a.on_db(DbEvent::Notification(Received::new(change, t0())));
    assert!(
        a.on_tick(t0() + chrono::Duration::milliseconds(2_500))
            .is_empty()
    );
    a.on_db(DbEvent::Stats(Ok(seeded_stats())));
    assert_eq!(
        a.on_tick(t0() + chrono::Duration::milliseconds(2_600))
            .len(),
        1
    );
    a.on_db(DbEvent::Stats(Ok(seeded_stats())));
    // Paused: neither changes nor the interval refresh.
    key(&mut a, KeyCode::Char(' '));
    a.on_db(DbEvent::Notification(Received::new(change, t0())));
    assert!(a.on_tick(t0() + chrono::Duration::seconds(60)).is_empty());
    // Resuming refreshes at once.
    let effects = key(&mut a, KeyCode::Char(' '));
    assert_eq!(effects.len(), 1);
}

#[test]
fn keys_switch_tabs_filter_and_quit() {
    let mut a = seeded(Tab::Stats, Theme::colour());
    key(&mut a, KeyCode::Char('2'));
    assert_eq!(a.tab, Tab::Events);
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.tab, Tab::Stats);
    a.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(a.tab, Tab::Events);
    // Typing a filter does not trigger commands ("q" is text here).
    key(&mut a, KeyCode::Char('/'));
    for c in "cancel".chars() {
        assert!(key(&mut a, KeyCode::Char(c)).is_empty());
    }
    key(&mut a, KeyCode::Char('q'));
    key(&mut a, KeyCode::Backspace);
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.events.filter, "cancel");
    assert_eq!(a.events.visible().len(), 1);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.events.filter, "");
    // c clears, y copies the selected raw JSON.
    let copied = key(&mut a, KeyCode::Char('y'));
    assert!(matches!(copied.as_slice(), [Effect::Copy(text)] if text == "not json at all"));
    key(&mut a, KeyCode::Char('c'));
    assert!(a.events.is_empty());
    assert!(matches!(
        key(&mut a, KeyCode::Char('q')).as_slice(),
        [Effect::Quit]
    ));
    let ctrl_c = a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(matches!(ctrl_c.as_slice(), [Effect::Quit]));
}

#[test]
fn r_reconnects_when_down() {
    let mut a = app(Tab::Stats, Theme::colour());
    a.on_db(DbEvent::Disconnected {
        error: "refused".into(),
        attempt: 1,
        retry_in: Duration::from_secs(10),
    });
    let effects = key(&mut a, KeyCode::Char('r'));
    assert!(matches!(
        effects.as_slice(),
        [Effect::Request(Request::Reconnect)]
    ));
}
