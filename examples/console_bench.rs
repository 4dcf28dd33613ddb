//! Console benchmark: frame time per tab and the Stats query.
//!
//!   cargo run --release --example console_bench [-- DSN]
//!
//! Frames: each tab drawn through the real crossterm backend into a sink,
//! at 80×24 and 200×60, with 10,000 events buffered and 200 entrypoints; the
//! clock advances every frame so each one has something to redraw (the
//! status bar's "updated Ns ago"), as in a live console.
//! Query: with a DSN, times the Stats action for each window (what one
//! refresh costs the db task). Prints figures; never fails on speed.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use pgq::actions::Outcome;
use pgq::actions::reports::stats::{
    Completions, EntrypointStats, QueueStats, SERIES_BUCKETS, StatsWindow,
};
use pgq::actions::{Session, kinds, run};
use pgq::console::app::{App, AppOptions, Tab};
use pgq::console::db::{DbEvent, View};
use pgq::console::keymap::Keymap;
use pgq::console::theme::Theme;
use pgq::console::ui;
use pgq::events::Received;
use pgq::settings::conn::{ConnectionSettings, Env};
use pgq::settings::names::ObjectNames;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

fn seeded_app(tab: Tab) -> App {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
    let mut app = App::new(AppOptions {
        tab,
        keymap: Keymap::default(),
        theme: Theme::colour(),
        target: "ops@db:5432/jobs".into(),
        names: ObjectNames::with_prefix("", None).unwrap(),
        read_only: false,
        refresh_interval: Duration::from_secs(5),
        events_buffer: 10_000,
        now: t0,
    });
    app.on_db(DbEvent::Connected {
        server_version: "16.4".into(),
    });
    let entrypoints = (0..200)
        .map(|i| EntrypointStats {
            entrypoint: format!("entrypoint_{i:03}"),
            queued: i * 37 % 5_000,
            picked: i % 7,
            held: i % 3,
            oldest_queued_age_seconds: Some((i * 13) as f64),
            done: Completions {
                successful: i * 101,
                exception: i % 11,
                canceled: i % 5,
                failed: 0,
            },
        })
        .collect();
    let series = (0..SERIES_BUCKETS)
        .map(|i| Completions {
            successful: (i * 17 % 90) as i64,
            exception: (i % 7) as i64,
            canceled: (i % 3) as i64,
            failed: 0,
        })
        .collect();
    app.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(QueueStats {
            window: StatsWindow::OneHour,
            as_of: t0,
            entrypoints,
            series,
            latency: Default::default(),
            latency_included: true,
        })),
    });
    for i in 0..10_000i64 {
        let payload = format!(
            r#"{{"channel":"ch_pgqueuer","operation":"insert","sent_at":"2026-11-27T12:00:00.000+00:00","table":"pgqueuer","type":"table_changed_event","n":{i}}}"#
        );
        app.on_db(DbEvent::Notification(Received::new(
            &payload,
            t0 + chrono::Duration::milliseconds(i),
        )));
    }
    app
}

fn frames(tab: Tab, width: u16, height: u16, help: bool) -> (Duration, Duration) {
    let mut app = seeded_app(tab);
    app.help = help;
    let backend = CrosstermBackend::new(std::io::sink());
    let viewport = Viewport::Fixed(Rect::new(0, 0, width, height));
    let mut terminal = Terminal::with_options(backend, TerminalOptions { viewport }).unwrap();
    let n = 300;
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        app.on_tick(app.now + chrono::Duration::seconds(1));
        if i % 2 == 0 {
            app.on_db(DbEvent::Notification(Received::new(
                r#"{"type":"x"}"#,
                app.now,
            )));
        }
        let start = Instant::now();
        terminal.draw(|f| ui::draw(f, &app)).unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / n as u32;
    (mean, times[n * 99 / 100])
}

async fn query_bench(dsn: &str) -> Result<(), Box<dyn std::error::Error>> {
    let settings = ConnectionSettings::resolve(Some(dsn), &Env::from_process())?;
    let conn = pgq::db::connect::connect(&settings).await?;
    let session = Session {
        conn,
        names: ObjectNames::with_prefix("", None)?,
        target: settings.target(),
        read_only: true,
        audit: None,
    };
    println!("\nStats query (one refresh of the db task), 10 runs each:");
    for window in StatsWindow::ALL {
        let mut times = Vec::new();
        for _ in 0..10 {
            let start = Instant::now();
            run(
                &session,
                &kinds::QueueStats {
                    window,
                    latency: true,
                },
                false,
            )
            .await?;
            times.push(start.elapsed());
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / times.len() as u32;
        println!(
            "  window {:>3}: best {:>7.1} ms  mean {:>7.1} ms",
            window.label(),
            ms(times[0]),
            ms(mean)
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    println!(
        "Frame time (crossterm backend into a sink; 10,000 events, 200 entrypoints; 300 frames):"
    );
    for (w, h) in [(80, 24), (200, 60)] {
        for (label, tab, help) in [
            ("stats", Tab::Stats, false),
            ("events", Tab::Events, false),
            ("help", Tab::Stats, true),
        ] {
            let (mean, p99) = frames(tab, w, h, help);
            println!(
                "  {w:>3}x{h:<3} {label:<7} mean {:>6.3} ms  p99 {:>6.3} ms",
                ms(mean),
                ms(p99)
            );
        }
    }
    if let Some(dsn) = std::env::args().nth(1) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        if let Err(e) = rt.block_on(query_bench(&dsn)) {
            eprintln!("query benchmark failed: {e}");
            std::process::exit(1);
        }
    }
}
