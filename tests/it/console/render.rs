//! The console drawn into ratatui's TestBackend from seeded state: every
//! tab, the help overlay, the event detail and the too-small message, at
//! 80×24 and at 160×48. Times are fixed by the seed, so nothing is masked.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pgq::actions::Outcome;
use pgq::actions::preview::Preview;
use pgq::actions::reports::stats::{
    Completions, EntrypointStats, QueueStats, SERIES_BUCKETS, StatsWindow,
};
use pgq::actions::retention::prune::RetentionInfo;
use pgq::actions::schedules::{ListedSchedule, Schedule, ScheduleListing};
use pgq::actions::schema::tables::{HeldJob, TableInfo, TablesReport};
use pgq::console::app::{App, AppOptions, Effect, Tab};
use pgq::console::db::{DbEvent, Request, View};
use pgq::console::keymap::Keymap;
use pgq::console::theme::Theme;
use pgq::events::Received;
use pgq::settings::durability::{Durability, TableRole};

use crate::common::console::{self, key, render, t0};

fn app(tab: Tab, theme: Theme) -> App {
    App::new(AppOptions {
        theme,
        events_buffer: 10_000,
        ..console::options(tab)
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
        latency: Default::default(),
        latency_included: true,
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
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(seeded_stats())),
    });
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
    // The db task learns that Stats shows no events, then Stats loads.
    assert!(matches!(
        effects.as_slice(),
        [
            Effect::Request(Request::EventsWanted(false)),
            Effect::Request(Request::Refresh(View::Stats(
                pgq::actions::kinds::QueueStats {
                    window: StatsWindow::OneHour,
                    latency: true
                }
            )))
        ]
    ));
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(seeded_stats())),
    });
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
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(seeded_stats())),
    });
    // It took 1.5 s, so the console looks again by itself no sooner than
    // 15 s after asking (a tenth of the time at most).
    assert!(
        a.on_tick(t0() + chrono::Duration::milliseconds(2_600))
            .is_empty()
    );
    assert!(
        a.on_tick(t0() + chrono::Duration::milliseconds(15_900))
            .is_empty()
    );
    assert_eq!(
        a.on_tick(t0() + chrono::Duration::milliseconds(16_000))
            .len(),
        1
    );
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(seeded_stats())),
    });
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
    key(&mut a, KeyCode::Char('3'));
    assert_eq!(a.tab, Tab::Events);
    key(&mut a, KeyCode::Tab);
    assert_eq!(a.tab, Tab::Schedules);
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
    assert_eq!(a.tabs.events.list.filter, "cancel");
    assert_eq!(a.tabs.events.visible().len(), 1);
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.tabs.events.list.filter, "");
    // c clears, y copies the selected raw JSON.
    let copied = key(&mut a, KeyCode::Char('y'));
    assert!(matches!(copied.as_slice(), [Effect::Copy(text)] if text == "not json at all"));
    key(&mut a, KeyCode::Char('c'));
    assert!(a.tabs.events.is_empty());
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

// ---- console part 2: schedules, durability, enqueue, held, confirmation ----

fn schedule(
    id: i64,
    entrypoint: &str,
    expression: &str,
    next_in: i64,
    status: &str,
    heartbeat_ago: i64,
) -> ListedSchedule {
    let now = t0();
    ListedSchedule {
        schedule: Schedule {
            id,
            expression: expression.into(),
            heartbeat: now - chrono::Duration::seconds(heartbeat_ago),
            created: now - chrono::Duration::days(3),
            updated: now - chrono::Duration::seconds(heartbeat_ago),
            next_run: now + chrono::Duration::seconds(next_in),
            last_run: (next_in < 3_000)
                .then(|| now - chrono::Duration::seconds(60 - next_in.min(59))),
            status: Some(status.into()),
            entrypoint: entrypoint.into(),
        },
        next_fires: pgq::cron::next_fires(expression, now, 3),
    }
}

fn with_part2_data(mut a: App) -> App {
    a.on_db(DbEvent::Refreshed {
        view: View::Schedules,
        result: Ok(Outcome::Schedules(ScheduleListing {
            rows: vec![
                schedule(1, "nightly_report", "0 2 * * *", 50_400, "queued", 600),
                schedule(2, "cleanup", "*/5 * * * *", 240, "queued", 60),
                schedule(3, "sync_crm", "* * * * *", -20, "picked", 95),
            ],
            as_of: t0(),
        })),
    });
    a.on_db(DbEvent::Refreshed {
        view: View::Tables,
        result: Ok(Outcome::Tables(TablesReport {
            tables: vec![
                TableInfo {
                    table: "pgqueuer".into(),
                    role: TableRole::Queue,
                    unlogged: Some(false),
                    total_bytes: 9_437_184,
                    estimated_rows: 1_515,
                },
                TableInfo {
                    table: "pgqueuer_log".into(),
                    role: TableRole::Log,
                    unlogged: Some(false),
                    total_bytes: 220_200_960,
                    estimated_rows: 1_000_000,
                },
                TableInfo {
                    table: "pgqueuer_statistics".into(),
                    role: TableRole::Statistics,
                    unlogged: Some(false),
                    total_bytes: 8_388_608,
                    estimated_rows: 86_400,
                },
                TableInfo {
                    table: "pgqueuer_schedules".into(),
                    role: TableRole::Schedules,
                    unlogged: Some(false),
                    total_bytes: 32_768,
                    estimated_rows: 3,
                },
            ],
            level: Some(Durability::Durable),
            retention: Some(RetentionInfo {
                oldest_log: Some(t0() - chrono::Duration::hours(41 * 24 + 2)),
                oldest_statistics: Some(t0() - chrono::Duration::days(90)),
                not_aggregated: 1_234,
            }),
        })),
    });
    a.on_db(DbEvent::Refreshed {
        view: View::Held,
        result: Ok(Outcome::HeldJobs(vec![HeldJob {
            job: pgq::actions::reports::FailedJob {
                id: 4_211,
                priority: 0,
                created: t0() - chrono::Duration::hours(2),
                updated: t0() - chrono::Duration::minutes(7),
                heartbeat: t0() - chrono::Duration::minutes(7),
                execute_after: t0() - chrono::Duration::hours(2),
                status: "failed".into(),
                entrypoint: "sync_crm".into(),
                attempts: 3,
                queue_manager_id: None,
                slot: None,
                headers: Some(serde_json::json!({"trace": "abc"})),
                payload_bytes: 42,
            },
            traceback: Some(serde_json::json!({
                "job_id": 4211,
                "timestamp": "2026-11-27T11:53:00Z",
                "exception_type": "TimeoutError",
                "exception_message": "CRM did not answer within 30 s",
                "traceback": "Traceback (most recent call last):\n  File \"sync.py\", line 12, in sync\nTimeoutError: CRM did not answer within 30 s",
                "additional_context": null
            })),
            failed_at: Some(t0() - chrono::Duration::minutes(7)),
        }])),
    });
    a
}

fn durability_preview() -> Preview {
    Preview {
        question: "Switch 2 tables to balanced (pgqueuer_log, pgqueuer_statistics)?".into(),
        statements: vec!["BEGIN;\nSET LOCAL lock_timeout = 5000;\nALTER TABLE pgqueuer_log SET UNLOGGED;\nALTER TABLE pgqueuer_statistics SET UNLOGGED;\nCOMMIT;".into()],
        parameters: vec![],
        command_line: "pgq alter-durability balanced --lock-timeout 5".into(),
        warning: Some("Each ALTER TABLE rewrites the table under an ACCESS EXCLUSIVE lock (218.0 MB to rewrite): enqueue and dequeue wait meanwhile. The lock wait is bounded by lock_timeout; on any error no table changes.".into()),
        nothing_to_do: false,
        bound: None,
    }
}

fn request_ids(effects: &[Effect]) -> Vec<u64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Request(Request::Preview { id, .. }) => Some(*id),
            _ => None,
        })
        .collect()
}

#[test]
fn schedules_tab_and_detail() {
    let mut a = with_part2_data(seeded(Tab::Schedules, Theme::colour()));
    key(&mut a, KeyCode::Char(' ')); // tag the first (nearest next run)
    insta::assert_snapshot!("schedules_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("schedules_160x48", render(&a, 160, 48));
    key(&mut a, KeyCode::Char('k'));
    key(&mut a, KeyCode::Enter);
    insta::assert_snapshot!("schedule_detail_80x24", render(&a, 80, 24));
}

#[test]
fn durability_tab_with_dry_run() {
    let mut a = with_part2_data(seeded(Tab::Durability, Theme::colour()));
    // Moving from durable up to balanced asks the db task for its dry run.
    let effects = key(&mut a, KeyCode::Char('k'));
    let ids = request_ids(&effects);
    assert_eq!(ids.len(), 1);
    a.on_db(DbEvent::Previewed {
        id: ids[0],
        result: Ok(durability_preview()),
    });
    insta::assert_snapshot!("durability_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("durability_160x48", render(&a, 160, 48));
}

#[test]
fn confirmation_defaults_to_cancel_then_shows_the_outcome_and_logs_sql() {
    let mut a = with_part2_data(seeded(Tab::Durability, Theme::colour()));
    key(&mut a, KeyCode::Char('k'));
    let effects = key(&mut a, KeyCode::Enter); // apply → preview request
    let ids = request_ids(&effects);
    a.on_db(DbEvent::Previewed {
        id: ids[0],
        result: Ok(durability_preview()),
    });
    insta::assert_snapshot!("confirm_80x24", render(&a, 80, 24));
    // Enter on the default button cancels: nothing runs.
    assert!(key(&mut a, KeyCode::Enter).is_empty());
    assert!(a.confirm.is_none());

    let effects = key(&mut a, KeyCode::Enter);
    let ids = request_ids(&effects);
    a.on_db(DbEvent::Previewed {
        id: ids[0],
        result: Ok(durability_preview()),
    });
    key(&mut a, KeyCode::Tab); // focus Confirm
    let effects = key(&mut a, KeyCode::Enter);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Request(Request::Execute {
            action: pgq::actions::Action::SetDurability(pgq::actions::kinds::SetDurability {
                level: Durability::Balanced,
                ..
            }),
            ..
        })]
    ));
    a.on_db(DbEvent::Done {
        id: ids[0],
        result: Err("changing durability; no table was changed: canceling statement due to lock timeout [SQLSTATE 55P03]".into()),
        elapsed: Duration::from_millis(5_003),
        sql: durability_preview().statements,
    });
    insta::assert_snapshot!("confirm_failed_80x24", render(&a, 80, 24));
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('L'));
    insta::assert_snapshot!("sql_log_80x24", render(&a, 80, 24));
    assert_eq!(a.sql_log.entries.len(), 1);
}

#[test]
fn enqueue_form_errors_and_submission() {
    let mut a = with_part2_data(seeded(Tab::Enqueue, Theme::colour()));
    key(&mut a, KeyCode::Char('e'));
    for c in "se".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    insta::assert_snapshot!("enqueue_completion_80x24", render(&a, 80, 24));
    key(&mut a, KeyCode::Tab); // completes send_email
    key(&mut a, KeyCode::Tab); // → priority
    for c in "high".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    for _ in 0..6 {
        key(&mut a, KeyCode::Tab); // → payload
    }
    for c in "{\"to\": ".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert!(a.on_key(ctrl_s).is_empty(), "invalid input sends nothing");
    insta::assert_snapshot!("enqueue_errors_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("enqueue_errors_160x48", render(&a, 160, 48));
}

#[test]
fn held_tab_and_traceback() {
    let mut a = with_part2_data(seeded(Tab::Held, Theme::colour()));
    insta::assert_snapshot!("held_80x24", render(&a, 80, 24));
    // Enter opens the job's detail, the Jobs tab's overlay (asked of the
    // database: loading here); Esc comes back to Held.
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(a.tab, Tab::Jobs);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Request(Request::Refresh(View::Job { .. })))),
        "{effects:?}"
    );
    insta::assert_snapshot!("held_detail_80x24", render(&a, 80, 24));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.tab, Tab::Held);
}

#[test]
fn read_only_hides_and_refuses_every_mutation_key() {
    let mut a = App::new(AppOptions {
        read_only: true,
        ..console::options(Tab::Schedules)
    });
    a.on_db(DbEvent::Connected {
        server_version: "16".into(),
    });
    a = with_part2_data(a);
    insta::assert_snapshot!("schedules_read_only_80x24", render(&a, 80, 24));
    let mut sent = Vec::new();
    for (tab, keys) in [
        (
            KeyCode::Char('4'),
            vec![KeyCode::Char('d'), KeyCode::Char('D'), KeyCode::Char('t')],
        ),
        (KeyCode::Char('5'), vec![KeyCode::Enter]),
        (KeyCode::Char('7'), vec![KeyCode::Char('R')]),
    ] {
        key(&mut a, tab);
        for k in keys {
            sent.extend(key(&mut a, k).into_iter().filter(|e| {
                matches!(
                    e,
                    Effect::Request(Request::Preview { .. } | Request::Execute { .. })
                )
            }));
        }
    }
    key(&mut a, KeyCode::Char('6'));
    key(&mut a, KeyCode::Char('e'));
    for c in "job".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    sent.extend(a.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    assert!(
        sent.iter().all(|e| !matches!(
            e,
            Effect::Request(Request::Preview { .. } | Request::Execute { .. })
        )),
        "{sent:?}"
    );
    assert!(
        a.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("read-only"))
    );
}

#[test]
fn enqueue_form_shows_every_field_error() {
    let mut a = with_part2_data(seeded(Tab::Enqueue, Theme::monochrome()));
    key(&mut a, KeyCode::Char('e'));
    key(&mut a, KeyCode::Tab); // leave the entrypoint empty
    for (text, tabs) in [
        ("1.5", 1),
        ("-5m", 1),
        ("x", 2),
        ("[1,2]", 2),
        ("{\"a\": 1,\n\"b\": }", 0),
    ] {
        for c in text.chars() {
            key(
                &mut a,
                if c == '\n' {
                    KeyCode::Enter
                } else {
                    KeyCode::Char(c)
                },
            );
        }
        for _ in 0..tabs {
            key(&mut a, KeyCode::Tab);
        }
    }
    assert!(
        a.on_key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL))
            .is_empty()
    );
    assert_eq!(
        a.tabs.enqueue.errors.len(),
        5,
        "{:?}",
        a.tabs.enqueue.errors
    );
    insta::assert_snapshot!("enqueue_all_errors_100x30", render(&a, 100, 30));
}

// ---- issue 12: the shared list view and keymap scopes for dialogs ----

fn held_jobs(ids: std::ops::RangeInclusive<i64>) -> Vec<HeldJob> {
    ids.map(|id| HeldJob {
        job: pgq::actions::reports::FailedJob {
            id,
            priority: 0,
            created: t0() - chrono::Duration::hours(1),
            updated: t0() - chrono::Duration::minutes(5),
            heartbeat: t0() - chrono::Duration::minutes(5),
            execute_after: t0() - chrono::Duration::hours(1),
            status: "failed".into(),
            entrypoint: "sync_crm".into(),
            attempts: 1,
            queue_manager_id: None,
            slot: None,
            headers: None,
            payload_bytes: 2,
        },
        traceback: None,
        failed_at: None,
    })
    .collect()
}

#[test]
fn list_scroll_offset_is_kept_between_frames() {
    let mut a = seeded(Tab::Held, Theme::colour());
    a.on_db(DbEvent::Refreshed {
        view: View::Held,
        result: Ok(Outcome::HeldJobs(held_jobs(9001..=9040))),
    });
    // To the last row, then one up: the view must not scroll, so the last
    // row stays on screen below the selection.
    key(&mut a, KeyCode::Char('G'));
    assert!(render(&a, 80, 24).contains("9040"));
    key(&mut a, KeyCode::Char('k'));
    let screen = render(&a, 80, 24);
    assert!(screen.contains("9039"), "{screen}");
    assert!(
        screen.contains("9040"),
        "the view scrolled although the selection stayed inside it:\n{screen}"
    );
    // Page down from the top moves by the page the 80×24 layout shows.
    key(&mut a, KeyCode::Char('g'));
    key(&mut a, KeyCode::PageDown);
    assert_eq!(a.tabs.held.list.selected, 18, "18 rows fit at 80×24");
}

#[test]
fn dialog_and_filter_keys_follow_the_keymap_and_show_in_help() {
    let overrides = [("dialog_press", "y"), ("filter_keep", "ctrl-k")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect();
    let mut a = with_part2_data(seeded(Tab::Durability, Theme::colour()));
    a.keymap = Keymap::with_overrides(&overrides).unwrap();
    key(&mut a, KeyCode::Char('?'));
    let help = render(&a, 160, 48);
    assert!(help.contains("Confirmation"), "{help}");
    assert!(help.contains(" y ") && help.contains("Press the focused button"));
    key(&mut a, KeyCode::Esc);

    key(&mut a, KeyCode::Char('k'));
    let ids = request_ids(&key(&mut a, KeyCode::Enter));
    a.on_db(DbEvent::Previewed {
        id: ids[0],
        result: Ok(durability_preview()),
    });
    assert!(render(&a, 80, 24).contains("y press it"));
    key(&mut a, KeyCode::Tab); // focus Confirm
    assert!(
        key(&mut a, KeyCode::Enter).is_empty(),
        "Enter is unbound now"
    );
    assert!(a.confirm.is_some());
    let effects = key(&mut a, KeyCode::Char('y'));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Request(Request::Execute { .. })]
        ),
        "{effects:?}"
    );

    // The filter line keeps its text with the overridden key.
    a.confirm = None;
    key(&mut a, KeyCode::Char('1'));
    key(&mut a, KeyCode::Char('/'));
    key(&mut a, KeyCode::Char('s'));
    key(&mut a, KeyCode::Enter);
    assert!(a.editing_filter, "Enter no longer ends the filter");
    a.on_key(KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL));
    assert!(!a.editing_filter);
    assert_eq!(a.filter(), "s");
    key(&mut a, KeyCode::Char('?'));
    let help = render(&a, 160, 48);
    assert!(
        help.contains("Filter input") && help.contains("Ctrl-k"),
        "{help}"
    );
}

#[test]
fn config_toml_overrides_dialog_keys() {
    let dir = tempfile::tempdir().unwrap();
    let check = |text: &str| {
        std::fs::write(dir.path().join("config.toml"), text).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_pgq"))
            .args(["config", "check"])
            .env("PGQ_CONFIG_DIR", dir.path())
            .output()
            .unwrap()
    };
    let out = check("[keymap]\ndialog_press = [\"y\"]\ndialog_cancel = [\"n\", \"esc\"]\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A chosen key wins over a default of the same dialog, which keeps its
    // other keys; two chosen keys of one dialog must not collide.
    let out = check("[keymap]\ndialog_press = [\"tab\"]\n");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check("[keymap]\ndialog_press = [\"y\"]\ndialog_cancel = [\"y\"]\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("keymap.dialog_press and keymap.dialog_cancel both use y"),
        "{err}"
    );
}

/// Every word of a table's column titles, as the tabs name them.
const TITLE_WORDS: &[&str] = &[
    "Id",
    "Entrypoint",
    "Status",
    "Prio",
    "Age",
    "Runs",
    "Try",
    "Key",
    "Worker",
    "Payload",
    "Finished",
    "Expression",
    "Next",
    "run",
    "(UTC)",
    "Last",
    "Beat",
    "Received",
    "Type",
    "Details",
    "Delay",
    "Tries",
    "Held",
    "since",
    "error",
    "Table",
    "Now",
    "Size",
    "Est.",
    "rows",
    "Queued",
    "Picked",
    "Oldest",
    "OK/1h",
    "Errors",
    "Cancel",
    "Fail%",
    "Run50",
    "Run95",
    "Run99",
    "Wait50",
    "Wait95",
    "Wait99",
    "Stalest",
    "State",
    "Entrypoints",
    "Heartbeat",
];

/// The header rows of the tables on `screen`: the row under a rule that
/// starts with a first column's title.
fn header_rows(screen: &str) -> Vec<String> {
    let lines: Vec<String> = screen
        .lines()
        .map(|l| l.trim_matches('"').to_string())
        .collect();
    lines
        .windows(2)
        .filter(|w| w[0].contains("───"))
        .map(|w| w[1].clone())
        .filter(|l| {
            let first = l.split_whitespace().next().unwrap_or("");
            ["Id", "Entrypoint", "Received", "Table", "Worker"].contains(&first)
        })
        .collect()
}

/// Issue 22 §6: the console never hides a word. At 60, 80, 100 and 120
/// columns every table header is whole titles (a column too narrow for its
/// title is hidden, never shown as "Entr"), a cut cell ends in "…", and a
/// cron expression is never cut ("*/10" read as "*/1").
#[test]
fn no_tab_cuts_a_header_or_a_cron_expression() {
    let mut a = with_part2_data(seeded(Tab::Stats, Theme::colour()));
    a.on_db(DbEvent::Refreshed {
        view: View::Schedules,
        result: Ok(Outcome::Schedules(ScheduleListing {
            rows: vec![
                schedule(
                    1,
                    "nightly_report_for_every_tenant",
                    "*/10 * * * *",
                    50_400,
                    "queued",
                    600,
                ),
                schedule(2, "cleanup", "0 */10 * * 1-5", 240, "queued", 60),
                schedule(3, "sync_crm", "* * * * *", -20, "picked", 95),
            ],
            as_of: t0(),
        })),
    });
    let tabs = [
        (Tab::Stats, KeyCode::Char('1')),
        (Tab::Events, KeyCode::Char('3')),
        (Tab::Schedules, KeyCode::Char('4')),
        (Tab::Durability, KeyCode::Char('5')),
        (Tab::Held, KeyCode::Char('7')),
    ];
    let mut checked = 0;
    for (tab, k) in tabs {
        key(&mut a, k);
        assert_eq!(a.tab, tab);
        for (width, height) in [(60, 16), (80, 24), (100, 30), (120, 30)] {
            let screen = render(&a, width, height);
            if (width, height) == (120, 30) {
                insta::assert_snapshot!(format!("every_tab_{tab:?}_120x30"), screen);
            }
            let headers = header_rows(&screen);
            assert!(!headers.is_empty(), "{tab:?} {width}: a header\n{screen}");
            for header in headers {
                for word in header.split_whitespace() {
                    assert!(
                        TITLE_WORDS.contains(&word),
                        "{tab:?} at {width}×{height}: {word:?} is no whole title in {header:?}\n{screen}"
                    );
                    checked += 1;
                }
            }
            if tab == Tab::Schedules {
                for expression in ["*/10 * * * *", "0 */10 * * 1-5"] {
                    assert!(
                        screen.contains(&format!(" {expression} ")),
                        "{width}: {expression} whole\n{screen}"
                    );
                }
                // A cut entrypoint ends in "…".
                if !screen.contains("nightly_report_for_every_tenant") {
                    assert!(screen.contains("nightly_"), "{screen}");
                    let row = screen
                        .lines()
                        .find(|l| l.contains("nightly_"))
                        .unwrap_or_default();
                    let word = row
                        .split_whitespace()
                        .find(|w| w.starts_with("nightly_"))
                        .unwrap_or_default();
                    assert!(word.ends_with('…'), "{width}: {word:?} in {row}");
                }
            }
        }
    }
    assert!(checked > 100, "{checked}");
}
