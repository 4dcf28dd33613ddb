//! pgq against a real hot standby (a read replica of a throwaway primary):
//! scripted reads work, `listen` and writes say in one line that the server
//! is a standby, the console shows its data by polling and refuses changes
//! with the reason, and it goes live when the standby is promoted.
//!
//! Each test builds its own primary/standby pair (see `common::standby`);
//! where that is impossible (no server binaries, replication refused) the
//! test says why on stderr and passes without checking anything.

use crate::common;

use std::time::Duration;

use common::pty::{Console, line_with, row};
use common::standby::ReplicaPair;
use common::{assert_exit, pgq_cmd, stderr, stdout};

/// The console's state at 80×24, without a server: the standby notice on
/// the status bar and the Events tab, every change refused before a preview,
/// and the normal state back after a promotion.
#[test]
fn console_state_follows_the_standby_flag() {
    use pgq::actions::Action;
    use pgq::console::app::{App, AppOptions, Tab};
    use pgq::console::db::DbEvent;
    use pgq::settings::durability::Durability;

    let mut app = App::new(AppOptions {
        theme: pgq::console::theme::Theme::monochrome(),
        target: "ops@replica:5432/jobs".into(),
        now: chrono::Utc::now(),
        ..crate::common::console::options(Tab::Events)
    });
    let draw = |app: &App| crate::common::console::screen(app, 80, 24).join("\n");
    app.on_db(DbEvent::Connected {
        server_version: "15.4".into(),
    });
    app.on_db(DbEvent::Standby(true));
    let screen = draw(&app);
    let notice = "standby: no live events, refreshing every 5s";
    assert_eq!(screen.matches(notice).count(), 2, "{screen}");

    let change: Action = pgq::actions::kinds::SetDurability {
        level: Durability::Volatile,
        lock_timeout: None,
    }
    .into();
    assert!(app.propose(change.clone()).is_empty(), "nothing is sent");
    let flash = app.flash.clone().expect("a refusal");
    assert!(
        flash
            .text
            .starts_with("refused: read-only standby; use the primary"),
        "{flash:?}"
    );

    app.on_db(DbEvent::Standby(false));
    let screen = draw(&app);
    assert!(!screen.contains("standby:"), "{screen}");
    assert!(screen.contains("waiting for events"), "{screen}");
    assert!(!app.propose(change).is_empty(), "a primary takes changes");
}

/// The pair, or `None` after saying why this machine cannot have one. In
/// CI (`CI` set), where `.ci/run` installs the server binaries, a missing
/// replica is a failure: the standby tests must not pass by skipping there.
fn replica_pair() -> Option<ReplicaPair> {
    common::ensure_server();
    match ReplicaPair::start() {
        Ok(pair) => Some(pair),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI must be able to set up a hot standby: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: cannot set up a hot standby here: {why}");
            None
        }
    }
}

fn pgq_at(dsn: &str, args: &[&str]) -> std::process::Output {
    pgq_cmd(args, &[("PGDSN", dsn)]).output().expect("run pgq")
}

/// PgQueuer installed on the primary with `jobs` queued for `entrypoint`,
/// and all of it replayed on the standby.
fn seed(pair: &ReplicaPair, entrypoint: &str, jobs: usize) {
    assert_exit(&pgq_at(&pair.primary_dsn(), &["install"]), 0);
    for i in 0..jobs {
        let payload = i.to_string();
        assert_exit(
            &pgq_at(&pair.primary_dsn(), &["queue", entrypoint, &payload]),
            0,
        );
    }
    pair.wait_replayed();
}

/// One `error:` line that names the standby and the way out, and none of
/// the raw server errors a standby gives.
#[track_caller]
fn assert_standby_error(out: &std::process::Output) {
    assert_exit(out, 1);
    let err = stderr(out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line:\n{err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(
        lines[0].contains("read-only hot standby") && lines[0].contains("primary"),
        "{err}"
    );
    for raw in ["during recovery", "read-only transaction", "SQLSTATE"] {
        assert!(!err.contains(raw), "no raw server error ({raw}):\n{err}");
    }
}

#[test]
fn scripted_commands_on_a_standby_read_and_refuse_writes_in_one_line() {
    let Some(pair) = replica_pair() else { return };
    seed(&pair, "send_email", 2);
    let standby = pair.standby_dsn();

    // Reads work on a replica.
    let dashboard = pgq_at(&standby, &["dashboard"]);
    assert_exit(&dashboard, 0);
    assert!(stdout(&dashboard).contains("send_email"), "{dashboard:?}");
    assert_exit(&pgq_at(&standby, &["verify", "--expect", "present"]), 0);
    assert_exit(&pgq_at(&standby, &["backlog"]), 0);
    for read in ["size", "throughput", "log", "tables"] {
        let out = pgq_at(&standby, &["--json", read]);
        assert_exit(&out, 0);
        assert!(serde_json::from_str::<serde_json::Value>(&stdout(&out)).is_ok());
    }
    let size = pgq_at(&standby, &["--json", "size"]);
    assert!(stdout(&size).contains("\"queued\":2"), "{size:?}");

    // A standby cannot LISTEN (nor ever deliver NOTIFY): exit 1 at once.
    let listen = pgq_at(&standby, &["listen"]);
    assert_standby_error(&listen);
    assert!(stderr(&listen).contains("LISTEN"), "{listen:?}");

    let queue = pgq_at(&standby, &["queue", "send_email", "x"]);
    assert_standby_error(&queue);
    assert!(stderr(&queue).contains("pgq queue"), "{queue:?}");
    let requeue = pgq_at(&standby, &["requeue", "1"]);
    assert_standby_error(&requeue);

    // A worker cannot run there either (it LISTENs and writes).
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("workers.toml");
    std::fs::write(
        &manifest,
        "[[entrypoint]]\nname = \"send_email\"\nbuiltin = \"noop\"\n",
    )
    .unwrap();
    let run = pgq_at(&standby, &["--headless", "run", manifest.to_str().unwrap()]);
    assert_exit(&run, 1);
    let err = stderr(&run);
    assert!(err.contains("is a read-only hot standby"), "{err}");
    assert!(!err.contains("during recovery"), "{err}");

    // Nothing reached the primary either.
    assert_eq!(
        pair.primary_sql("SELECT count(*) FROM pgqueuer"),
        "2",
        "no job was added"
    );
}

#[test]
fn console_on_a_standby_polls_its_data_and_refuses_changes() {
    let Some(pair) = replica_pair() else { return };
    seed(&pair, "send_email", 3);
    let mut console = Console::start(&pair.standby_dsn(), &[]);
    let screen = console.wait_for(
        "the replica's queue and the standby notice",
        Duration::from_secs(20),
        |s| {
            row(s, "send_email").is_some_and(|r| r.split_whitespace().nth(1) == Some("3"))
                && s.contains("standby: no live events, refreshing every 5s")
        },
    );
    assert!(screen.contains("● connected"), "{screen}");

    // No NOTIFY on a standby: the periodic refresh brings new rows.
    assert_exit(
        &pgq_at(&pair.primary_dsn(), &["queue", "resize_image", "x"]),
        0,
    );
    console.wait_for("resize_image by polling", Duration::from_secs(20), |s| {
        row(s, "resize_image").is_some()
    });

    // The Events tab says why it stays empty, in its body too.
    console.press("3");
    let screen = console.wait_for("the Events tab's notice", Duration::from_secs(5), |s| {
        s.matches("standby: no live events").count() == 2
    });
    assert!(!screen.contains("waiting for events"), "{screen}");

    // A change is refused with the reason, before any preview.
    console.press("5");
    console.wait_for("the Durability tab", Duration::from_secs(10), |s| {
        s.contains("pgqueuer_log")
    });
    console.press("\r");
    let screen = console.wait_for("the refusal", Duration::from_secs(5), |s| {
        s.contains("refused: read-only standby; use the primary")
    });
    assert!(
        !screen.contains("Cancel"),
        "no confirmation dialog:\n{screen}"
    );
    assert!(
        line_with(&screen, "● connected").is_some(),
        "still connected, not reconnecting:\n{screen}"
    );
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn console_goes_live_when_the_standby_is_promoted() {
    let Some(pair) = replica_pair() else { return };
    seed(&pair, "send_email", 1);
    let mut console = Console::start(&pair.standby_dsn(), &[]);
    console.wait_for("the standby notice", Duration::from_secs(20), |s| {
        row(s, "send_email").is_some() && s.contains("standby: no live events")
    });

    pair.promote();
    let screen = console.wait_for(
        "the normal status bar after the promotion",
        Duration::from_secs(30),
        |s| !s.contains("standby:") && s.contains("● connected"),
    );
    assert!(!screen.contains("reconnecting"), "{screen}");

    // Live events now: a job queued on the promoted server shows at once.
    console.press("3");
    console.wait_for("the live Events tab", Duration::from_secs(10), |s| {
        s.contains("waiting for events on channel ch_pgqueuer")
    });
    assert_exit(
        &pgq_at(&pair.standby_dsn(), &["queue", "after_promotion", "x"]),
        0,
    );
    console.wait_for("the insert event", Duration::from_secs(10), |s| {
        s.contains("insert pgqueuer")
    });
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));
}
