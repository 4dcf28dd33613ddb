//! The Workers tab and the Stats tab's latency, drawn into ratatui's
//! TestBackend from seeded state (times fixed by the seed, nothing masked).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crossterm::event::KeyCode;
use pgq::actions::Outcome;
use pgq::actions::reports::latency::{
    Latency, LatencyReport, LatencySeries, P95Series, Percentiles,
};
use pgq::actions::reports::stats::{
    Completions, EntrypointStats, QueueStats, SERIES_BUCKETS, StatsWindow,
};
use pgq::actions::reports::workers::{EntrypointPicked, WorkerJob, WorkerRow};
use pgq::console::app::{App, Tab};
use pgq::console::db::{DbEvent, View};
use pgq::events::Received;
use uuid::Uuid;

use crate::common::console::{self, key, render, t0};

fn ago(seconds: i64) -> DateTime<Utc> {
    t0() - chrono::Duration::seconds(seconds)
}

fn app(tab: Tab) -> App {
    let mut a = App::new(console::options(tab));
    console::connect(&mut a, "16.4 (Debian 16.4-1)");
    a
}

fn job(id: i64, entrypoint: &str, picked: i64, beat: i64, stale: bool) -> WorkerJob {
    WorkerJob {
        id,
        entrypoint: entrypoint.into(),
        priority: (id % 3) as i32,
        picked: ago(picked),
        heartbeat: ago(beat),
        picked_age_seconds: picked as f64,
        heartbeat_age_seconds: beat as f64,
        stale,
    }
}

fn worker(id: &str, held: i64, jobs: Vec<WorkerJob>) -> WorkerRow {
    let newest = jobs.iter().map(|j| j.heartbeat).max().unwrap();
    let oldest = jobs.iter().map(|j| j.heartbeat).min().unwrap();
    let stale_jobs = jobs.iter().filter(|j| j.stale).count() as i64;
    let mut entrypoints: Vec<String> = jobs.iter().map(|j| j.entrypoint.clone()).collect();
    entrypoints.sort();
    entrypoints.dedup();
    WorkerRow {
        queue_manager_id: Uuid::parse_str(id).unwrap(),
        active_jobs: held,
        oldest_heartbeat: oldest,
        newest_heartbeat: newest,
        entrypoints,
        newest_heartbeat_age_seconds: (t0() - newest).num_seconds() as f64,
        oldest_heartbeat_age_seconds: (t0() - oldest).num_seconds() as f64,
        stale_jobs,
        stale: stale_jobs > 0,
        jobs,
    }
}

fn seeded_workers() -> Vec<WorkerRow> {
    vec![
        worker(
            "3f2a9c41-0d5e-4b7a-9a11-5c0e8f6d2b10",
            3,
            vec![
                job(48_121, "send_email", 12, 2, false),
                job(48_122, "send_email", 9, 2, false),
                job(48_130, "resize_image", 4, 1, false),
            ],
        ),
        worker(
            "b7e04d2c-61f8-4e3b-8c2d-9f1a7e5c3d21",
            25,
            (0..20)
                .map(|i| job(47_900 + i, "sync_crm", 1_900 + i, 610 + i, true))
                .collect(),
        ),
    ]
}

/// A `health_check_event` from backend `pid`, received `seconds` before t0.
fn health_check(pid: i32, seconds: i64) -> DbEvent {
    let raw = format!(
        r#"{{"channel":"ch_pgqueuer","sent_at":"2026-11-27T12:00:00Z","type":"health_check_event","id":"{}"}}"#,
        Uuid::new_v4()
    );
    DbEvent::Notification(Received::new(&raw, ago(seconds)).from_backend(pid))
}

fn workers_app() -> App {
    let mut a = app(Tab::Workers);
    // Three workers probe; one of them twice (a fresh probe id each time).
    for (pid, seconds) in [(101, 12), (101, 2), (102, 5), (103, 9)] {
        a.on_db(health_check(pid, seconds));
    }
    a.on_db(DbEvent::Refreshed {
        view: View::Workers,
        result: Ok(Outcome::Workers(seeded_workers())),
    });
    a.on_db(DbEvent::Refreshed {
        view: View::LastPicked,
        result: Ok(Outcome::LastPicked(vec![
            EntrypointPicked {
                entrypoint: "send_email".into(),
                last_picked: ago(12),
            },
            EntrypointPicked {
                entrypoint: "resize_image".into(),
                last_picked: ago(4),
            },
        ])),
    });
    a
}

#[test]
fn workers_tab_lists_workers_and_the_jobs_the_selected_one_holds() {
    let mut a = workers_app();
    insta::assert_snapshot!("workers_80x24", render(&a, 80, 24));
    key(&mut a, KeyCode::Char('j'));
    insta::assert_snapshot!("workers_stale_selected_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("workers_stale_selected_120x30", render(&a, 120, 30));
}

#[test]
fn workers_tab_counts_workers_alive_from_their_health_checks() {
    let mut a = workers_app();
    let screen = render(&a, 80, 24);
    assert!(
        screen.contains(" 3 workers alive (health checks, last 15 s); 2 hold 28 jobs"),
        "{screen}"
    );
    // 103 fell silent 9 s before t0: gone once 15 s have passed.
    a.on_tick(t0() + chrono::Duration::seconds(7));
    let screen = render(&a, 80, 24);
    assert!(screen.contains(" 2 workers alive"), "{screen}");
    a.on_tick(t0() + chrono::Duration::seconds(20));
    let screen = render(&a, 80, 24);
    assert!(screen.contains(" 0 workers alive"), "{screen}");
}

#[test]
fn workers_tab_filters_by_entrypoint_and_says_when_none_hold_jobs() {
    let mut a = workers_app();
    key(&mut a, KeyCode::Char('/'));
    for c in "resize".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    key(&mut a, KeyCode::Enter);
    let screen = render(&a, 80, 24);
    assert!(screen.contains("3f2a9c41"), "{screen}");
    assert!(!screen.contains("b7e04d2c"), "{screen}");
    a.on_db(DbEvent::Refreshed {
        view: View::Workers,
        result: Ok(Outcome::Workers(Vec::new())),
    });
    let screen = render(&a, 80, 24);
    assert!(
        screen.contains("no worker holds a picked job right now"),
        "{screen}"
    );
}

fn p(count: i64, p50: f64, p95: f64, p99: f64, max: f64) -> Percentiles {
    Percentiles {
        count,
        p50,
        p95,
        p99,
        max,
    }
}

fn latency_stats() -> QueueStats {
    let entry = |name: &str, queued, ok| EntrypointStats {
        entrypoint: name.into(),
        queued,
        picked: 2,
        held: 0,
        oldest_queued_age_seconds: Some(42.0),
        done: Completions {
            successful: ok,
            exception: 3,
            canceled: 0,
            failed: 0,
        },
    };
    // A p95 that climbs over the hour, with a gap of idle minutes.
    let climbing: Vec<Option<f64>> = (0..SERIES_BUCKETS)
        .map(|i| (!(20..26).contains(&i)).then_some(0.2 + i as f64 * 0.05))
        .collect();
    let flat = vec![Some(0.03); SERIES_BUCKETS];
    let series = |run: &Vec<Option<f64>>| P95Series {
        execution: run.clone(),
        wait: flat.clone(),
    };
    let mut entrypoints = BTreeMap::new();
    entrypoints.insert(
        "send_email".to_string(),
        Latency {
            execution: Some(p(15_230, 0.012, 0.35, 1.44, 4.2)),
            wait: Some(p(15_233, 0.004, 0.031, 0.2, 2.0)),
        },
    );
    entrypoints.insert(
        "nightly_report".to_string(),
        Latency {
            execution: Some(p(1, 185.0, 185.0, 185.0, 185.0)),
            wait: Some(p(1, 0.0004, 0.0004, 0.0004, 0.0004)),
        },
    );
    let mut series_by = BTreeMap::new();
    series_by.insert("send_email".to_string(), series(&climbing));
    QueueStats {
        window: StatsWindow::OneHour,
        as_of: t0(),
        entrypoints: vec![
            entry("send_email", 1_204, 15_230),
            entry("nightly_report", 1, 1),
            entry("sync_crm", 0, 0),
        ],
        series: vec![Completions::default(); SERIES_BUCKETS],
        latency: LatencyReport {
            window_seconds: 3_600.0,
            entrypoints,
            overall: Latency {
                execution: Some(p(15_231, 0.012, 0.36, 1.5, 185.0)),
                wait: Some(p(15_234, 0.004, 0.031, 0.2, 2.0)),
            },
            series: LatencySeries {
                slices: SERIES_BUCKETS,
                entrypoints: series_by,
                overall: series(&climbing),
            },
            error: None,
        },
        latency_included: true,
    }
}

#[test]
fn stats_tab_shows_latency_percentiles_and_a_p95_sparkline() {
    let mut a = app(Tab::Stats);
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(latency_stats())),
    });
    // Narrow: the number columns that fit, the selected row's latency below.
    insta::assert_snapshot!("stats_latency_80x24", render(&a, 80, 24));
    // Wide: every percentile column.
    insta::assert_snapshot!("stats_latency_160x48", render(&a, 160, 48));
    // An entrypoint whose counts show finished jobs (3 errors) but whose
    // percentiles have none: they are asked for again soon, so "computing…"
    // rather than "nothing finished" beside a count.
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char('j'));
    let screen = render(&a, 80, 24);
    assert!(screen.contains("latency sync_crm"), "{screen}");
    assert!(screen.contains("run  computing…"), "{screen}");
    // The early retry finds none either: its jobs were picked before the
    // window, and the tab says so instead of "computing…" for ever.
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(latency_stats())),
    });
    let screen = render(&a, 80, 24);
    assert!(
        screen.contains("run  none measured: the jobs finished here were picked before"),
        "{screen}"
    );
}

#[test]
fn stats_tab_keeps_the_counts_when_the_latency_query_failed() {
    let mut a = app(Tab::Stats);
    let mut stats = latency_stats();
    stats.latency = LatencyReport {
        error: Some(
            "reading latency percentiles: canceling statement due to statement timeout".into(),
        ),
        ..Default::default()
    };
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(stats)),
    });
    let screen = render(&a, 80, 24);
    assert!(screen.contains("send_email            1,204"), "{screen}");
    assert!(screen.contains("statement timeout"), "{screen}");
    assert!(!screen.contains("refresh failed"), "{screen}");
}

/// Right after start the counts arrive before the percentiles are computed:
/// the latency lines say "computing…", not "nothing finished" beside a
/// non-zero count; once computed they say what the window holds.
#[test]
fn latency_says_computing_until_the_window_is_computed() {
    let mut a = app(Tab::Stats);
    let mut counts_only = latency_stats();
    counts_only.latency = LatencyReport::default();
    counts_only.latency_included = false;
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: false,
        }),
        result: Ok(Outcome::QueueStats(counts_only)),
    });
    let screen = render(&a, 80, 24);
    assert!(screen.contains("run  computing…"), "{screen}");
    assert!(!screen.contains("nothing finished"), "{screen}");
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(latency_stats())),
    });
    assert!(!render(&a, 80, 24).contains("computing…"));
}
