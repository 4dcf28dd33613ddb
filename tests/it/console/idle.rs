//! Idle means idle: the console wakes only for work it will do, in every
//! tab, before and after queue events, paused, and while the connection is
//! down or a refresh is under way.
//!
//! First on the app state with a simulated clock, as the event loop drives
//! it; then the real binary in a pseudo-terminal, whose CPU time is read
//! from /proc while it sits on each tab.

use crate::common;

use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use pgq::actions::Outcome;
use pgq::actions::reports::stats::{QueueStats, StatsWindow};
use pgq::actions::schedules::ScheduleListing;
use pgq::actions::schema::tables::TablesReport;
use pgq::console::app::{App, AppOptions, Effect, Tab};
use pgq::console::db::{DbEvent, Request, View};
use pgq::console::tabs::worker::WorkerTab;
use pgq::console::theme::Theme;
use pgq::events::Received;
use pgq::worker::Snapshot;

use common::pty::Console;
use common::{TestDb, assert_exit};

const REFRESH: StdDuration = StdDuration::from_secs(5);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
}

/// The console's state with a hosted worker, so all seven tabs exist.
fn app() -> App {
    let mut app = App::new(AppOptions {
        theme: Theme::monochrome(),
        target: "postgres@127.0.0.1:5432/idle".into(),
        refresh_interval: REFRESH,
        events_buffer: 10_000,
        now: t0(),
        ..crate::common::console::options(Tab::Stats)
    });
    app.attach_worker(WorkerTab::new(Snapshot::new(uuid::Uuid::nil()), false));
    app
}

/// What the db task would answer to a refresh (empty, but real outcomes).
fn answer_to(view: &View, now: DateTime<Utc>) -> Outcome {
    match view {
        View::Stats(asked) => Outcome::QueueStats(QueueStats {
            window: asked.window,
            as_of: now,
            entrypoints: Vec::new(),
            series: Vec::new(),
            latency: Default::default(),
            latency_included: asked.latency,
        }),
        View::Schedules => Outcome::Schedules(ScheduleListing {
            rows: Vec::new(),
            as_of: now,
        }),
        View::Tables => Outcome::Tables(TablesReport {
            tables: Vec::new(),
            level: None,
            retention: None,
        }),
        View::Held => Outcome::HeldJobs(Vec::new()),
        View::Workers => Outcome::Workers(Vec::new()),
        View::LastPicked => Outcome::LastPicked(Vec::new()),
        View::Jobs(_) => Outcome::Jobs(pgq::actions::jobs::browse::JobsPage {
            history: false,
            rows: Vec::new(),
            next_after_id: None,
            plan: Vec::new(),
        }),
        View::Job { id, .. } => Outcome::Job(pgq::actions::jobs::browse::JobDetail {
            id: *id,
            job: None,
            log: Vec::new(),
            why: Vec::new(),
        }),
    }
}

/// The console's event loop on a simulated clock; the db task answers
/// refreshes at once unless `answering` is off.
struct Sim {
    app: App,
    now: DateTime<Utc>,
    answering: bool,
    /// Refreshes sent, in order.
    refreshes: Vec<View>,
}

impl Sim {
    fn connected(tab_key: char) -> Sim {
        let mut sim = Sim {
            app: app(),
            now: t0(),
            answering: true,
            refreshes: Vec::new(),
        };
        sim.db(DbEvent::Connected {
            server_version: "17".into(),
        });
        sim.key(tab_key);
        sim
    }

    fn handle(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            if let Effect::Request(Request::Refresh(view)) = effect {
                self.refreshes.push(view.clone());
                if self.answering {
                    let result = Ok(answer_to(&view, self.now));
                    self.db(DbEvent::Refreshed { view, result });
                }
            }
        }
    }

    fn db(&mut self, event: DbEvent) {
        self.app.now = self.now;
        let effects = self.app.on_db(event);
        self.handle(effects);
    }

    fn key(&mut self, c: char) {
        self.app.now = self.now;
        let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        let effects = self.app.on_key(key);
        self.handle(effects);
    }

    /// An insert into the queue table, as PGQueuer's trigger announces it.
    fn queue_event(&mut self) {
        let payload = r#"{"channel":"ch_pgqueuer","operation":"insert","sent_at":"2026-11-29T12:00:00Z","table":"pgqueuer","type":"table_changed_event"}"#;
        self.db(DbEvent::Notification(Received::new(payload, self.now)));
    }

    /// Sit idle for `span`, waking when the app asks; returns the wake-ups.
    /// After every tick the next wake-up must lie ahead: one that does not
    /// is work `on_tick` left undone, and the real loop would spin on it.
    fn idle(&mut self, span: Duration, what: &str) -> usize {
        let end = self.now + span;
        let mut wakeups = 0;
        loop {
            let at = self.app.next_wakeup();
            if at > end {
                break;
            }
            self.now = self.now.max(at);
            let effects = self.app.on_tick(self.now);
            self.handle(effects);
            wakeups += 1;
            let next = self.app.next_wakeup();
            assert!(
                next > self.now,
                "{what}: after on_tick at +{} ms on the {:?} tab the next wake-up is \
                 not in the future ({} ms): the console would spin",
                (self.now - t0()).num_milliseconds(),
                self.app.tab,
                (next - self.now).num_milliseconds(),
            );
        }
        self.now = end;
        // The clock tick (1 s) and the refresh interval are the only
        // reasons to wake while idle.
        let allowed = 2 + span.num_milliseconds() as usize * 3 / 2_000;
        assert!(
            wakeups <= allowed,
            "{what}: {wakeups} wake-ups in {} ms",
            span.num_milliseconds()
        );
        wakeups
    }
}

const TABS: [(char, Tab); 9] = [
    ('1', Tab::Stats),
    ('2', Tab::Jobs),
    ('3', Tab::Events),
    ('4', Tab::Schedules),
    ('5', Tab::Durability),
    ('6', Tab::Enqueue),
    ('7', Tab::Held),
    ('8', Tab::Workers),
    ('9', Tab::Worker),
];

#[test]
fn every_tab_wakes_only_for_its_clock_before_and_after_queue_events() {
    for (key, tab) in TABS {
        let mut sim = Sim::connected(key);
        assert_eq!(sim.app.tab, tab);
        sim.idle(Duration::seconds(30), &format!("{tab:?} before events"));
        for _ in 0..3 {
            sim.queue_event();
            sim.now += Duration::milliseconds(20);
        }
        // Once on_tick did what the events asked for, the next wake-up is
        // the clock tick (or a later refresh), not a moment already past.
        let at = sim.app.next_wakeup();
        sim.now = sim.now.max(at);
        let effects = sim.app.on_tick(sim.now);
        sim.handle(effects);
        let gap = sim.app.next_wakeup() - sim.now;
        assert!(
            gap >= Duration::seconds(1),
            "{tab:?}: after the events' tick the next wake-up is {} ms away",
            gap.num_milliseconds()
        );
        sim.idle(Duration::seconds(30), &format!("{tab:?} after events"));
    }
}

#[test]
fn the_tab_on_screen_still_refreshes_after_events_and_hidden_ones_on_arrival() {
    // Stats on screen: the NOTIFY makes it refresh well before the interval.
    let mut sim = Sim::connected('1');
    sim.idle(Duration::seconds(2), "Stats");
    let before = sim.refreshes.len();
    sim.queue_event();
    sim.idle(Duration::milliseconds(500), "Stats after an event");
    assert!(
        sim.refreshes[before..]
            .iter()
            .any(|v| matches!(v, View::Stats(q) if q.window == StatsWindow::OneHour)),
        "{:?}",
        sim.refreshes
    );

    // Held hidden while the event arrives: it loads when shown.
    let mut sim = Sim::connected('3');
    sim.queue_event();
    sim.idle(Duration::seconds(3), "Events after an event");
    let before = sim.refreshes.len();
    sim.key('7');
    sim.idle(Duration::milliseconds(100), "Held on arrival");
    assert_eq!(sim.refreshes[before..], [View::Held]);
}

/// 200 jobs a second make ~400 NOTIFY a second (inserts and deletes):
/// 1,000 within one simulated second, the event loop waking as it would
/// (a tick whenever one is due before the next event). The view on screen
/// refreshes at most twice, and the screen is drawn for what changed (the
/// refreshes' answers, the clock, the Events tab's frames), never per event.
#[test]
fn a_notify_storm_refreshes_the_view_once_a_second_and_draws_no_frame_per_event() {
    for (key, tab, most_frames) in [
        ('1', Tab::Stats, 6),
        ('2', Tab::Jobs, 6),
        ('7', Tab::Held, 6),
        // Plus a frame every 250 ms for the new events.
        ('3', Tab::Events, 10),
    ] {
        let mut sim = Sim::connected(key);
        sim.idle(Duration::seconds(3), &format!("{tab:?} before the storm"));
        sim.app.take_redraw();
        sim.refreshes.clear();
        let start = sim.now;
        let mut frames = 0;
        for i in 0..1_000 {
            let at = start + Duration::microseconds(i * 1_000);
            while sim.app.next_wakeup() <= at {
                sim.now = sim.app.next_wakeup().max(sim.now);
                let effects = sim.app.on_tick(sim.now);
                sim.handle(effects);
                sim.app.take_redraw();
                frames += 1;
            }
            sim.now = at;
            sim.queue_event();
            if sim.app.take_redraw() {
                frames += 1;
            }
        }
        let current = sim.app.current().and_then(|t| t.view());
        let of_current = sim
            .refreshes
            .iter()
            .filter(|v| {
                current
                    .as_ref()
                    .is_some_and(|c| std::mem::discriminant(*v) == std::mem::discriminant(c))
            })
            .count();
        assert!(
            of_current <= 2,
            "{tab:?}: {of_current} refreshes of the view on screen for 1,000 events in 1 s: {:?}",
            sim.refreshes
        );
        assert!(
            frames <= most_frames,
            "{tab:?}: {frames} frames for 1,000 events in 1 s"
        );
        assert_eq!(
            sim.app.tabs.events.len(),
            1_000,
            "{tab:?}: the Events buffer keeps them all"
        );
    }
}

#[test]
fn paused_offline_and_in_flight_states_stay_idle() {
    // Stats paused with Space: events mark it due, but it must not wake.
    let mut sim = Sim::connected('1');
    sim.key(' ');
    assert!(sim.app.tabs.stats.paused);
    sim.queue_event();
    sim.idle(Duration::seconds(20), "Stats paused after events");

    // The Events view frozen with Space while events keep coming.
    let mut sim = Sim::connected('3');
    sim.key(' ');
    assert!(sim.app.tabs.events.paused_at.is_some());
    sim.queue_event();
    sim.idle(Duration::seconds(20), "Events paused after events");

    // The connection lost with a refresh due: nothing can be fetched, and
    // reconnecting refreshes the tab anyway.
    for (key, tab) in TABS {
        let mut sim = Sim::connected(key);
        sim.idle(Duration::seconds(6), "before the loss");
        sim.queue_event();
        sim.db(DbEvent::Disconnected {
            error: "connection refused".into(),
            attempt: 1,
            retry_in: StdDuration::from_secs(30),
        });
        sim.idle(Duration::seconds(20), &format!("{tab:?} offline"));
    }

    // A slow refresh under way while more events arrive: its answer, not
    // the clock, is the reason to look again.
    let mut sim = Sim::connected('1');
    sim.answering = false;
    sim.queue_event();
    sim.idle(Duration::seconds(2), "Stats with the refresh sent");
    sim.queue_event();
    sim.idle(Duration::seconds(20), "Stats with a refresh in flight");
    let asked = sim.refreshes.len();
    sim.answering = true;
    let result = Ok(answer_to(
        &View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        sim.now,
    ));
    sim.db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result,
    });
    // It took 22 s: the console looks again within 30 s (ten times the
    // cost, capped), not at once, and not never.
    sim.idle(Duration::seconds(2), "Stats after the slow answer");
    assert_eq!(
        sim.refreshes.len(),
        asked,
        "not at once after a slow answer"
    );
    sim.idle(Duration::seconds(30), "Stats after the slow answer's gap");
    assert!(
        sim.refreshes.len() > asked,
        "the events that came during the slow refresh are fetched after it"
    );
}

#[test]
fn the_events_tab_shows_the_real_rate_beyond_the_buffer_size() {
    let mut sim = Sim::connected('3');
    // 5,000 events a second for 10 s, 50 every 10 ms, into a buffer of
    // 10,000 (two seconds' worth).
    for _ in 0..1_000 {
        for _ in 0..50 {
            sim.queue_event();
        }
        sim.now += Duration::milliseconds(10);
    }
    let rate = sim.app.tabs.events.rate(sim.now);
    assert!((rate - 5_000.0).abs() < 50.0, "rate {rate}/s");
    sim.app.now = sim.now;
    let screen = crate::common::console::render(&sim.app, 100, 30);
    assert!(screen.contains("rate 5000.0/s"), "{screen}");
}

// --- the real binary in a pseudo-terminal ---------------------------------

/// The hint each tab shows in the bottom bar, to know it is on screen.
const TAB_MARKERS: [(&str, &str); 9] = [
    ("1", "w window"),
    ("2", "h history"),
    ("3", "c clear"),
    ("4", "t fire now"),
    ("5", "Enter apply"),
    ("6", "e edit"),
    ("7", "R requeue"),
    ("8", "stale after"),
    ("9", "in flight"),
];

/// How long each tab is watched, in slices: the figure is a slice in the
/// middle of the sorted slices, the rate the console keeps up. One-off work
/// (drawing the tab just shown, running the job just queued, a periodic
/// aggregation) lands in a slice or two, and on a loaded machine the same
/// work costs more CPU time and spreads over more wall time, so a figure over
/// the whole watch depended on the machine; a spin fills every slice.
const WATCH: StdDuration = StdDuration::from_secs(3);
const SLICES: u32 = 6;
/// The target is < 1 % of a core; the margin is for a loaded machine (and
/// the 10 ms accounting tick: one tick in a 0.5 s slice is 2 %). The fault
/// this guards against burned 25–45 %.
const MAX_CPU_SHARE: f64 = 0.03;

/// user + system CPU time the process has used, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // The command name may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of stat(5); 3 is the first here.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks as f64 / per_second as f64
}

/// The share of one core the console used while watched for `WATCH`: the
/// third lowest of its six slices (a spin from the first slice's end on
/// fills at least five) and, for the report, the share over the whole watch.
fn watch_cpu(console: &Console) -> (f64, f64) {
    let pid = console.pid();
    let (start, first_cpu) = (Instant::now(), cpu_seconds(pid));
    let (mut at, mut cpu) = (start, first_cpu);
    let mut shares = Vec::new();
    for _ in 0..SLICES {
        std::thread::sleep(WATCH / SLICES);
        let (now, now_cpu) = (Instant::now(), cpu_seconds(pid));
        shares.push((now_cpu - cpu) / (now - at).as_secs_f64());
        (at, cpu) = (now, now_cpu);
    }
    shares.sort_by(f64::total_cmp);
    let whole = (cpu - first_cpu) / start.elapsed().as_secs_f64();
    (shares[(shares.len() - 1) / 2], whole)
}

fn show_tab(console: &mut Console, key: &str, marker: &str) {
    console.press(key);
    console.wait_for(&format!("tab {key}"), StdDuration::from_secs(10), |s| {
        s.contains(marker)
    });
}

/// Sit on every tab before and after queue events, and check the console's
/// CPU time on each; then check that every event arrived.
fn idle_on_every_tab(db: &TestDb, console: &mut Console, tabs: &[(&str, &str)], entrypoint: &str) {
    let mut figures = Vec::new();
    let mut sent = 0;
    for phase in ["before events", "after events"] {
        for (key, marker) in tabs {
            show_tab(console, key, marker);
            if phase == "after events" {
                // The NOTIFY arrives within milliseconds, at the start of
                // the watch; the fault spun from 250 ms after it on.
                assert_exit(&db.pgq(&["queue", entrypoint, "x"]), 0);
                sent += 1;
            }
            let (share, whole) = watch_cpu(console);
            figures.push(format!(
                "tab {key} {phase}: {:.2} % (whole watch {:.2} %)",
                share * 100.0,
                whole * 100.0
            ));
            assert!(
                share < MAX_CPU_SHARE,
                "the idle console used {:.1} % of a core on tab {key} {phase}:\n{}",
                share * 100.0,
                figures.join("\n")
            );
        }
    }
    eprintln!("{}", figures.join("\n"));
    // The events really reached the console during the watches.
    show_tab(console, "3", "c clear");
    console.wait_for(
        &format!("the {sent} events"),
        StdDuration::from_secs(10),
        |s| buffered(s).is_some_and(|n| n >= sent),
    );
}

/// The number of events the Events tab says it holds.
fn buffered(screen: &str) -> Option<usize> {
    let line = screen.lines().find(|l| l.contains(" buffered"))?;
    let count = line.split_whitespace().next()?;
    count.replace(',', "").parse().ok()
}

#[test]
fn the_console_stays_idle_on_every_tab_before_and_after_events() {
    let db = TestDb::installed();
    let mut console = Console::start(&db.dsn(), &[]);
    console.wait_for("the loaded Stats tab", StdDuration::from_secs(15), |s| {
        s.contains("● connected") && s.contains("no jobs in the queue")
    });
    idle_on_every_tab(&db, &mut console, &TAB_MARKERS[..8], "idle_check");
    console.press("q");
    assert_eq!(console.wait_exit(StdDuration::from_secs(10)), Some(0));
}

#[test]
fn the_console_hosting_a_worker_stays_idle_on_every_tab() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("workers.toml");
    std::fs::write(
        &manifest,
        "[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n",
    )
    .unwrap();
    let mut console = Console::start(&db.dsn(), &["run", manifest.to_str().unwrap()]);
    console.wait_for("the running worker", StdDuration::from_secs(20), |s| {
        s.contains("running") && s.contains("in flight")
    });
    idle_on_every_tab(&db, &mut console, &TAB_MARKERS, "ping");
    console.press("q");
    assert_eq!(console.wait_exit(StdDuration::from_secs(20)), Some(0));
}
