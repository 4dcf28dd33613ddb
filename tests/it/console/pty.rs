//! The real `pgq` console in a pseudo-terminal, read back through a vt100
//! emulator: it shows seeded numbers, live events, help, quits cleanly and
//! restores the terminal, and recovers by itself when the server appears.

use crate::common;

use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::pty::{Console, row};
use common::{TestDb, assert_exit};

#[test]
fn console_shows_stats_and_live_events_then_quits_cleanly() {
    let db = TestDb::installed();
    for payload in ["1", "2", "3"] {
        assert_exit(&db.pgq(&["queue", "send_email", payload]), 0);
    }
    let mut console = Console::start(&db.dsn(), &[]);
    let screen = console.wait_for(
        "the seeded queue on the Stats tab",
        Duration::from_secs(15),
        |s| row(s, "send_email").is_some_and(|r| r.split_whitespace().nth(1) == Some("3")),
    );
    assert!(screen.contains("● connected"), "{screen}");
    assert!(row(&screen, "total").is_some(), "{screen}");

    console.press("3");
    console.wait_for("the Events tab", Duration::from_secs(5), |s| {
        s.contains("waiting for events")
    });
    assert_exit(&db.pgq(&["queue", "resize_image", "x"]), 0);
    let screen = console.wait_for("the insert event", Duration::from_secs(10), |s| {
        s.contains("insert pgqueuer")
    });
    assert!(screen.contains("table_changed_event"), "{screen}");

    // The Stats tab picked the change up from the NOTIFY, without waiting
    // for the 5 s interval.
    console.press("1");
    console.wait_for(
        "resize_image on the Stats tab",
        Duration::from_secs(5),
        |s| row(s, "resize_image").is_some(),
    );

    console.press("?");
    console.wait_for("the help overlay", Duration::from_secs(5), |s| {
        s.contains("Keys on this tab")
    });
    console.press_esc();
    console.wait_for("help closed", Duration::from_secs(5), |s| {
        !s.contains("Keys on this tab")
    });
    console.press("q");
    assert_eq!(
        console.wait_exit(Duration::from_secs(10)),
        Some(0),
        "pgq exits 0 on q"
    );
    let parser = console.screen.lock().unwrap();
    assert!(
        !parser.screen().alternate_screen(),
        "left the alternate screen"
    );
    assert!(
        !parser.screen().hide_cursor(),
        "the cursor is visible again"
    );
}

/// A port where nothing listens yet; the test later forwards it to the server.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn forward(listener: TcpListener, to: String) {
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&to) else {
                continue;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut c, mut s) = (client, server);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c, &mut s);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut s2, &mut c2);
            });
        }
    });
}

#[test]
fn console_opens_while_the_server_is_down_and_recovers() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "late_job", "1"]), 0);
    let port = free_port();
    let dsn = format!(
        "postgres://postgres@127.0.0.1:{port}/{}?sslmode=disable",
        db.name
    );
    let mut console = Console::start(&dsn, &[]);
    let screen = console.wait_for("the reconnecting state", Duration::from_secs(15), |s| {
        s.contains("reconnecting")
    });
    assert!(
        screen.contains("connection refused") || screen.contains("cannot connect"),
        "{screen}"
    );

    let server = format!("{}:{}", "127.0.0.1", 5432);
    forward(
        TcpListener::bind(("127.0.0.1", port)).expect("bind the forwarded port"),
        server,
    );
    console.press("r"); // skip the backoff wait
    console.wait_for("the recovered Stats tab", Duration::from_secs(20), |s| {
        s.contains("● connected") && row(s, "late_job").is_some()
    });
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn dashboard_and_listen_open_their_tab_on_a_terminal() {
    let db = TestDb::installed();
    let mut listen = Console::start(&db.dsn(), &["listen"]);
    listen.wait_for("the Events tab", Duration::from_secs(15), |s| {
        s.contains("waiting for events on channel ch_pgqueuer")
    });
    listen.press("q");
    assert_eq!(listen.wait_exit(Duration::from_secs(10)), Some(0));

    let mut dashboard = Console::start(&db.dsn(), &["dashboard"]);
    dashboard.wait_for("the Stats tab", Duration::from_secs(15), |s| {
        s.contains("no jobs in the queue")
    });
    dashboard.press("\x03"); // Ctrl-C
    assert_eq!(dashboard.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn pgq_run_on_a_terminal_shows_the_worker_tab_and_stops_gracefully_on_q() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("workers.toml");
    std::fs::write(
        &manifest,
        "[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n\n[[entrypoint]]\nname = \"slow\"\nbuiltin = \"sleep\"\n",
    )
    .unwrap();
    for _ in 0..5 {
        assert_exit(&db.pgq(&["queue", "ping", "x"]), 0);
    }
    let mut console = Console::start(&db.dsn(), &["run", manifest.to_str().unwrap()]);
    let screen = console.wait_for(
        "the Worker tab with five jobs done",
        Duration::from_secs(20),
        |s| row(s, "ping").is_some_and(|r| r.split_whitespace().nth(2) == Some("5")),
    );
    assert!(
        screen.contains("9 Worker") && screen.contains("running"),
        "{screen}"
    );
    assert!(
        screen.contains("INFO"),
        "the worker's log lines are on the tab:\n{screen}"
    );
    // A slow job in flight: q waits for it, and says so.
    assert_exit(&db.pgq(&["queue", "slow", "4"]), 0);
    console.wait_for("the slow job in flight", Duration::from_secs(10), |s| {
        s.contains("1 in flight")
    });
    console.press("q");
    console.wait_for("shutdown progress", Duration::from_secs(5), |s| {
        s.contains("stopping: waiting for 1 running job")
    });
    assert_eq!(
        console.wait_exit(Duration::from_secs(20)),
        Some(0),
        "exits once the job finished"
    );
    let parser = console.screen.lock().unwrap();
    assert!(!parser.screen().alternate_screen(), "terminal restored");
}

/// `--tab` takes every tab of the tab registry (not only stats and events),
/// and not the Worker tab, which exists only under `pgq run`/`pgq demo`.
#[test]
fn console_opens_at_any_tab_of_the_registry() {
    let db = TestDb::installed();
    let mut console = Console::start(&db.dsn(), &["console", "--tab", "held"]);
    console.wait_for("the Held tab", Duration::from_secs(15), |s| {
        s.contains("no held jobs")
    });
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));

    let out = db.pgq(&["console", "--tab", "worker"]);
    assert_exit(&out, 2);
    let err = common::stderr(&out);
    assert!(
        err.contains(
            "possible values: stats, jobs, events, schedules, durability, enqueue, held, workers"
        ),
        "{err}"
    );
}
