//! A busy queue with no events on screen: the console stops listening (so
//! PostgreSQL does not deliver every NOTIFY to it), refreshes by the clock
//! once a second instead, listens again on the tabs that show events, and
//! says all of it. First the app's state key by key, then the real binary
//! in a pseudo-terminal against a queue that changes 100 times a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;
use crossterm::event::KeyCode;
use pgq::console::app::{App, Effect, Tab};
use pgq::console::db::{DbEvent, Request};

use crate::common::console::{self, key, screen, t0};
use crate::common::pty::Console;
use crate::common::{self as common, TestDb};

fn connected(tab: Tab) -> (App, Vec<Effect>) {
    let mut a = App::new(console::options(tab));
    let effects = a.on_db(DbEvent::Connected {
        server_version: "16.4".into(),
    });
    (a, effects)
}

fn wanted(effects: &[Effect]) -> Vec<bool> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Request(Request::EventsWanted(w)) => Some(*w),
            _ => None,
        })
        .collect()
}

fn refreshes(effects: &[Effect]) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Request(Request::Refresh(_))))
        .count()
}

#[test]
fn the_db_task_learns_which_tabs_show_events() {
    let (mut a, effects) = connected(Tab::Stats);
    assert_eq!(wanted(&effects), [false], "a new connection is told");
    assert_eq!(wanted(&key(&mut a, KeyCode::Char('3'))), [true], "Events");
    let workers = '8';
    assert_eq!(
        wanted(&key(&mut a, KeyCode::Char(workers))),
        Vec::<bool>::new(),
        "Workers shows events too: nothing changed"
    );
    assert_eq!(wanted(&key(&mut a, KeyCode::Char('2'))), [false], "Jobs");
    assert_eq!(wanted(&key(&mut a, KeyCode::Char('1'))), Vec::<bool>::new());
}

/// A drill-down changes the tab too: a cancellation's job opens on the
/// Jobs tab (no events there), and closing it returns to Events.
#[test]
fn a_drill_down_and_its_return_tell_the_db_task_too() {
    let (mut a, _) = connected(Tab::Events);
    let raw = r#"{"channel":"ch_pgqueuer","sent_at":"2026-11-27T12:00:00Z","type":"cancellation_event","ids":[42]}"#;
    a.on_db(DbEvent::Notification(pgq::events::Received::new(raw, t0())));
    a.on_tick(t0() + Duration::seconds(1));
    let opened = key(&mut a, KeyCode::Enter);
    assert_eq!(a.current().unwrap().title(), "Jobs");
    assert_eq!(wanted(&opened), [false], "the job's detail shows no events");
    let back = key(&mut a, KeyCode::Esc);
    assert_eq!(a.current().unwrap().title(), "Events");
    assert_eq!(wanted(&back), [true], "back on Events");
}

#[test]
fn while_not_listening_tabs_refresh_each_second_and_every_view_says_so() {
    let (mut a, _) = connected(Tab::Stats);
    // The first refresh answered: the next is due a 5 s interval later.
    let view = a.current().unwrap().view().unwrap();
    a.on_db(DbEvent::Refreshed {
        view,
        result: Err("not needed here".into()),
    });
    assert_eq!(
        refreshes(&a.on_tick(t0() + Duration::milliseconds(1_500))),
        0
    );

    a.on_db(DbEvent::EventsPaused(Some(400)));
    let s = screen(&a, 120, 24).join("\n");
    assert!(s.contains("busy 400 events/s: refresh 1 s"), "{s}");
    // At 80 columns the notice gives way to the connection's state.
    let narrow = screen(&a, 80, 24).join("\n");
    assert!(narrow.contains("● connected"), "{narrow}");
    // Paused: due a second after the last request, not at the interval.
    let mut at = t0() + Duration::milliseconds(1_500);
    let mut sent = 0;
    for _ in 0..8 {
        at += Duration::milliseconds(500);
        let effects = a.on_tick(at);
        if refreshes(&effects) > 0 {
            sent += 1;
            let view = a.current().unwrap().view().unwrap();
            a.on_db(DbEvent::Refreshed {
                view,
                result: Err("not needed here".into()),
            });
        }
    }
    assert!(
        (3..=4).contains(&sent),
        "{sent} refreshes in 4 s while not listening"
    );

    // Listening again after 20 s: the Events tab names the gap, the
    // Workers tab says its alive count is still filling up.
    a.on_tick(t0() + Duration::seconds(20));
    a.on_db(DbEvent::EventsPaused(None));
    let s = screen(&a, 120, 24).join("\n");
    assert!(!s.contains("refresh 1 s"), "{s}");
    key(&mut a, KeyCode::Char('3'));
    let s = screen(&a, 80, 24).join("\n");
    // Since the tick before the pause, until the tick before listening.
    assert!(s.contains("not heard 12:00:01–12:00:20  live"), "{s}");
    let workers = '8';
    key(&mut a, KeyCode::Char(workers));
    a.on_tick(t0() + Duration::seconds(23));
    let s = screen(&a, 120, 24).join("\n");
    assert!(s.contains("counting (3 s listening)"), "{s}");
    a.on_tick(t0() + Duration::seconds(36));
    let s = screen(&a, 120, 24).join("\n");
    assert!(!s.contains("counting"), "{s}");
}

/// Inserts into the queue table every 10 ms (100 NOTIFY/s) until stopped.
/// A view that is slow to read (say the depth of a queue holding millions
/// of jobs) is refreshed by the console on its own at most a tenth of the
/// time: its answer took 600 ms, so a busy queue refreshes it every 6 s
/// rather than every second; a key still refreshes it at once.
#[test]
fn a_slow_view_is_refreshed_by_the_clock_a_tenth_of_the_time_at_most() {
    let (mut a, effects) = connected(Tab::Stats);
    assert_eq!(refreshes(&effects), 1, "the first load");
    a.on_db(DbEvent::EventsPaused(Some(400)));
    // The answer comes back 600 ms after it was asked for.
    a.on_tick(t0() + Duration::milliseconds(600));
    let view = a.current().unwrap().view().unwrap();
    a.on_db(DbEvent::Refreshed {
        view,
        result: Err("not needed here".into()),
    });
    let s = screen(&a, 120, 24).join("\n");
    assert!(s.contains("busy 400 events/s: refresh 6 s"), "{s}");
    let mut sent_at = Vec::new();
    let mut at = t0() + Duration::milliseconds(600);
    while at < t0() + Duration::seconds(13) {
        at += Duration::milliseconds(250);
        if refreshes(&a.on_tick(at)) > 0 {
            sent_at.push((at - t0()).num_milliseconds());
            // Answered at once this time: the gap shrinks back.
            let view = a.current().unwrap().view().unwrap();
            a.on_db(DbEvent::Refreshed {
                view,
                result: Err("not needed here".into()),
            });
        }
    }
    // The first tick at or after 6 s (ticks come every 250 ms).
    assert!(
        sent_at.first().is_some_and(|t| (6_000..6_250).contains(t)),
        "{sent_at:?}"
    );
    assert!(
        sent_at.windows(2).all(|w| w[1] - w[0] <= 1_250),
        "a fast answer brings the second back: {sent_at:?}"
    );
    assert!(sent_at.len() >= 6, "{sent_at:?}");
    let s = screen(&a, 120, 24).join("\n");
    assert!(s.contains("busy 400 events/s: refresh 1 s"), "{s}");
    assert_eq!(
        refreshes(&key(&mut a, KeyCode::Char('r'))),
        1,
        "r refreshes at once"
    );
}

fn busy_producer(db: &TestDb) -> (Arc<AtomicBool>, tokio::task::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let dsn = db.dsn();
    let flag = stop.clone();
    let handle = tokio::spawn(async move {
        let client = common::connect(&dsn).await;
        let mut every = tokio::time::interval(StdDuration::from_millis(10));
        let mut inserted = 0;
        while !flag.load(Ordering::Relaxed) {
            every.tick().await;
            client
                .execute(
                    "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'busy')",
                    &[],
                )
                .await
                .expect("insert");
            inserted += 1;
        }
        inserted
    });
    (stop, handle)
}

/// The listening backend's last statement, once it starts with `prefix`.
async fn last_statement_starts(db: &TestDb, prefix: &str, timeout: StdDuration) -> bool {
    let pattern = format!("{prefix}%");
    common::wait_for(timeout, || async {
        let client = db.client().await;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE $2",
                &[&db.name, &pattern],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        (n > 0).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_queue_is_not_listened_to_while_no_tab_shows_events() {
    let db = TestDb::installed();
    let mut console = Console::start_sized(&db.dsn(), &[], 30, 140);
    console.wait_for("connected", StdDuration::from_secs(20), |s| {
        s.contains("● connected")
    });
    assert!(
        !db.wait_for_listener(StdDuration::from_secs(10))
            .await
            .is_empty()
    );
    let (stop, producer) = busy_producer(&db);

    // Stats shows no events: a second of 100 NOTIFY/s and it UNLISTENs.
    console.wait_for("the busy notice", StdDuration::from_secs(15), |s| {
        s.contains(" events/s: refresh 1 s")
    });
    assert!(
        last_statement_starts(&db, "UNLISTEN", StdDuration::from_secs(5)).await,
        "the listening connection did not UNLISTEN"
    );
    // The counts keep up by the clock: the queue grows on screen.
    let before = queued_on_screen(&console.contents());
    console.wait_for("the queue grew on screen", StdDuration::from_secs(5), |s| {
        queued_on_screen(s) > before
    });

    // The Events tab listens at once and names what it did not hear.
    console.press("3");
    let s = console.wait_for("events again", StdDuration::from_secs(10), |s| {
        s.contains("insert pgqueuer") && s.contains("not heard ")
    });
    assert!(!s.contains("events/s: refresh 1 s"), "{s}");
    assert!(last_statement_starts(&db, "LISTEN", StdDuration::from_secs(5)).await);

    // Back on Stats it stops again; once the queue calms down the next
    // sample (within 15 s ± 20 %; 30 s ± 20 % should a loaded machine
    // delay the producer's stop past it) finds it calm and stays.
    console.press("1");
    console.wait_for("the busy notice again", StdDuration::from_secs(15), |s| {
        s.contains("events/s: refresh 1 s")
    });
    stop.store(true, Ordering::Relaxed);
    let inserted = producer.await.unwrap();
    assert!(inserted > 100, "{inserted}");
    console.wait_for("live again", StdDuration::from_secs(45), |s| {
        s.contains("● connected") && !s.contains("events/s: refresh 1 s")
    });
    assert!(last_statement_starts(&db, "LISTEN", StdDuration::from_secs(5)).await);
    console.press("q");
    assert_eq!(console.wait_exit(StdDuration::from_secs(10)), Some(0));
}

/// The `busy` entrypoint's queued count on the Stats tab.
fn queued_on_screen(screen: &str) -> i64 {
    crate::common::pty::row(screen, "busy")
        .and_then(|row| row.split_whitespace().nth(1))
        .and_then(|n| n.replace(',', "").parse().ok())
        .unwrap_or(0)
}
