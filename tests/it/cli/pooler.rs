//! pgq through a real PgBouncer 1.18 in transaction mode (Debian's; it does
//! not track prepared statements): every command with `--pooler
//! transaction`, a drain by several workers, the error that names the
//! setting when it is missing, and live events that are checked, not assumed.
//!
//! Named statements fail through such a pooler only when consecutive
//! exchanges meet different server connections, which is timing. The tests
//! make it certain instead: before pgq runs, every server connection of the
//! pool is "poisoned" with prepared statements named `s0` … `s499`, the names
//! tokio-postgres gives its own. Any named statement pgq sends then fails
//! with 42P05 at once; unnamed ones never notice.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::pooler::Pooler;
use crate::common::pty::{Console, row};
use crate::common::{self, Spawned, TestDb, assert_exit, manifest_file, pgq_cmd, stderr, stdout};

/// Statement names poisoned on each server connection.
const POISONED: u32 = 500;

/// Take every server connection of the pool at once (each client holds a
/// transaction, so each gets its own) and leave `s0` … on it.
async fn poison(pooler: &Pooler) {
    let pool_size = pooler.pool_size;
    let mut clients = Vec::new();
    for _ in 0..pool_size {
        let client = common::connect(&pooler.dsn()).await;
        let prepares: String = (0..POISONED)
            .map(|n| format!("PREPARE s{n} AS SELECT {n};"))
            .collect();
        // DEALLOCATE first: a connection may still hold the last poison.
        client
            .batch_execute(&format!("BEGIN; DEALLOCATE ALL; {prepares}"))
            .await
            .expect("poisoning a server connection");
        clients.push(client);
    }
    let pids: std::collections::BTreeSet<String> = {
        let mut pids = std::collections::BTreeSet::new();
        for client in &clients {
            // The simple protocol: a named statement would meet the poison.
            let rows = client
                .simple_query("SELECT pg_backend_pid()")
                .await
                .expect("backend pid");
            for row in rows {
                if let tokio_postgres::SimpleQueryMessage::Row(row) = row {
                    pids.insert(row.get(0).unwrap_or_default().to_string());
                }
            }
        }
        pids
    };
    assert_eq!(pids.len() as u32, pool_size, "one server connection each");
    for client in &clients {
        client.batch_execute("COMMIT").await.expect("commit");
    }
}

/// `pgq ARGS` through the pooler, with or without `--pooler transaction`,
/// on freshly poisoned server connections (a client that failed may have
/// left PgBouncer to close the one it used, poison and all).
async fn through(pooler: &Pooler, setting: bool, args: &[&str]) -> Output {
    poison(pooler).await;
    let mut all: Vec<&str> = Vec::new();
    if setting {
        all.extend(["--pooler", "transaction"]);
    }
    all.extend_from_slice(args);
    pgq_cmd(&all, &[("PGDSN", &pooler.dsn())])
        .output()
        .expect("run pgq")
}

async fn ok(pooler: &Pooler, args: &[&str]) -> String {
    let out = through(pooler, true, args).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "pgq --pooler transaction {}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn enqueued_id(text: &str) -> i64 {
    text.trim()
        .trim_start_matches("Enqueued job ")
        .trim_end_matches('.')
        .parse()
        .unwrap_or_else(|_| panic!("unexpected queue output {text:?}"))
}

/// The CLI suite, every command through the pooler, on server connections
/// where any named statement fails.
#[tokio::test(flavor = "multi_thread")]
async fn every_command_works_through_a_transaction_pooler() {
    let db = TestDb::new();
    let pooler = Pooler::transaction(&db, 2);

    ok(&pooler, &["install"]).await;
    ok(&pooler, &["upgrade", "--plan"]).await;
    ok(&pooler, &["verify", "--expect", "present", "--strict"]).await;
    let first = enqueued_id(&ok(&pooler, &["queue", "ping", "{\"n\": 1}"]).await);
    let second = enqueued_id(&ok(&pooler, &["queue", "ping", "--priority", "5"]).await);
    ok(&pooler, &["queue", "other", "--execute-after", "1h"]).await;
    let listing = ok(&pooler, &["jobs"]).await;
    assert!(listing.contains("ping"), "{listing}");
    ok(&pooler, &["jobs", "--history"]).await;
    ok(
        &pooler,
        &[
            "jobs",
            "--status",
            "queued",
            "--entrypoint",
            "ping",
            "--json",
        ],
    )
    .await;
    let shown = ok(&pooler, &["job", &first.to_string()]).await;
    assert!(shown.contains("ping"), "{shown}");
    ok(&pooler, &["--headless", "dashboard"]).await;
    ok(&pooler, &["backlog"]).await;
    ok(&pooler, &["workers"]).await;
    ok(&pooler, &["stale"]).await;
    ok(&pooler, &["failed"]).await;
    ok(&pooler, &["schedules"]).await;
    ok(&pooler, &["cancel", &second.to_string()]).await;
    ok(&pooler, &["purge", "--entrypoint", "other", "--yes"]).await;
    ok(&pooler, &["prune", "--log-older-than", "30d"]).await;
    ok(&pooler, &["autovac"]).await;
    ok(&pooler, &["alter-durability", "balanced"]).await;

    // A held job, requeued and deleted.
    let manifest = manifest_file(
        "[[entrypoint]]\nname = \"fragile\"\nbuiltin = \"fail\"\non_failure = \"hold\"\n",
    );
    let held = enqueued_id(&ok(&pooler, &["queue", "fragile"]).await);
    ok(
        &pooler,
        &["run", manifest.path().to_str().unwrap(), "--mode", "drain"],
    )
    .await;
    let failed = ok(&pooler, &["failed"]).await;
    assert!(failed.contains(&held.to_string()), "{failed}");
    ok(&pooler, &["requeue", &held.to_string()]).await;
    ok(
        &pooler,
        &["run", manifest.path().to_str().unwrap(), "--mode", "drain"],
    )
    .await;
    ok(&pooler, &["delete", &held.to_string(), "--yes"]).await;

    // Upgrade needs a session of its own: refused through the pooler, clearly.
    let out = through(&pooler, true, &["upgrade"]).await;
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("transaction pooler") && stderr(&out).contains("directly"),
        "{}",
        stderr(&out)
    );
    ok(&pooler, &["uninstall"]).await;
    ok(&pooler, &["verify", "--expect", "absent"]).await;
}

/// Without the setting, a command that meets another client's statement
/// names says what is in between and what to set.
#[tokio::test(flavor = "multi_thread")]
async fn without_the_setting_the_error_names_the_pooler_and_the_setting() {
    let db = TestDb::installed();
    let pooler = Pooler::transaction(&db, 1);
    for args in [
        &["verify", "--expect", "present"][..],
        &["queue", "ping"][..],
        &["jobs"][..],
    ] {
        let out = through(&pooler, false, args).await;
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("[SQLSTATE 42P05]")
                && err.contains(
                    "a transaction pooler (PgBouncer) between pgq and PostgreSQL? set --pooler transaction"
                ),
            "pgq {}: {err}",
            args.join(" ")
        );
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
    }
}

/// Jobs logged once each, none left picked or queued.
async fn assert_exactly_once(db: &TestDb, jobs: i64) {
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pgqueuer),
                    (SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'),
                    (SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'),
                    (SELECT count(*) FROM pgqueuer_log WHERE status NOT IN ('queued', 'picked', 'successful'))",
            &[],
        )
        .await
        .expect("counts");
    let (left, logged, distinct, other): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(left, 0, "jobs left in the queue");
    assert_eq!(logged, jobs, "successful log rows");
    assert_eq!(distinct, jobs, "each job logged once");
    assert_eq!(other, 0, "no failed or cancelled rows");
}

/// Three workers drain one queue through the pooler: every job runs and is
/// logged exactly once, none is left picked.
#[tokio::test(flavor = "multi_thread")]
async fn three_workers_drain_through_a_transaction_pooler_exactly_once() {
    let db = TestDb::installed();
    let pooler = Pooler::transaction(&db, 3);
    const JOBS: i64 = 600;
    let batch: String = (0..JOBS)
        .map(|n| format!("{{\"entrypoint\": \"ping\", \"payload\": \"{n}\"}}\n"))
        .collect();
    let file = tempfile::NamedTempFile::new().expect("batch file");
    std::fs::write(file.path(), batch).expect("write batch");
    ok(
        &pooler,
        &["queue", "--batch", file.path().to_str().unwrap()],
    )
    .await;

    let manifest = manifest_file("[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n");
    let workers: Vec<Spawned> = (0..3)
        .map(|_| {
            common::spawn(pgq_cmd(
                &[
                    "--pooler",
                    "transaction",
                    "run",
                    manifest.path().to_str().unwrap(),
                    "--mode",
                    "drain",
                    "--batch-size",
                    "5",
                ],
                &[("PGDSN", &pooler.dsn())],
            ))
        })
        .collect();
    let started = Instant::now();
    for mut worker in workers {
        let code = worker.wait_exit(Duration::from_secs(120));
        let errors: Vec<String> = worker.stderr.try_iter().collect();
        assert_eq!(code, Some(0), "worker exit; stderr:\n{}", errors.join("\n"));
    }
    eprintln!("drained {JOBS} jobs in {:?}", started.elapsed());
    assert_exactly_once(&db, JOBS).await;
}

/// Behind a transaction pooler without --listen-dsn the worker does not
/// LISTEN: it says so once and an idle worker picks a new job within the
/// poll interval (not the 30 s dequeue timeout a NOTIFY would have cut short).
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_worker_behind_a_transaction_pooler_says_so_and_polls() {
    let db = TestDb::installed();
    let pooler = Pooler::transaction(&db, 2);
    let manifest = manifest_file("[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n");
    let mut worker = common::spawn(pgq_cmd(
        &[
            "--pooler",
            "transaction",
            "run",
            manifest.path().to_str().unwrap(),
            "--poll-interval",
            "1",
        ],
        &[("PGDSN", &pooler.dsn())],
    ));
    let notice = worker.stderr_line(Duration::from_secs(15), |l| l.contains("No live events"));
    let notice = notice.expect("the worker says it has no live events");
    assert!(
        notice.contains("polling every 1 s") && notice.contains("--listen-dsn"),
        "{notice}"
    );
    // No LISTEN reached the server through the pooler.
    assert!(db.wait_for_no_listener(Duration::from_millis(200)).await);

    let client = db.client().await;
    for round in 1..=3_i64 {
        // Directly, not through the pooler: the job's NOTIFY reaches nobody.
        assert_exit(&db.pgq(&["queue", "ping"]), 0);
        let queued = Instant::now();
        assert!(
            common::wait_for_successful(&client, round, Duration::from_secs(10)).await,
            "job {round} was not run"
        );
        let waited = queued.elapsed();
        assert!(
            waited <= Duration::from_millis(2_000),
            "picked after {waited:?}; poll interval 1 s"
        );
    }
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(Duration::from_secs(15)), Some(0));
}

/// `pgq listen` behind a transaction pooler: without --listen-dsn it says
/// there are no live events; with one it LISTENs directly and hears a job
/// enqueued through the pooler.
#[tokio::test(flavor = "multi_thread")]
async fn listen_behind_a_transaction_pooler_needs_a_direct_connection() {
    let db = TestDb::installed();
    let pooler = Pooler::transaction(&db, 2);
    let out = through(&pooler, true, &["--headless", "listen"]).await;
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no live events") && stderr(&out).contains("--listen-dsn"),
        "{}",
        stderr(&out)
    );

    let mut listen = common::spawn(pgq_cmd(
        &[
            "--pooler",
            "transaction",
            "--listen-dsn",
            &db.dsn(),
            "--headless",
            "listen",
        ],
        &[("PGDSN", &pooler.dsn())],
    ));
    // Listening once its probe (sent after LISTEN) reached the server directly.
    let direct = db.client().await;
    let probed = common::wait_for(Duration::from_secs(10), || async {
        let n: i64 = direct
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE '/* pgq */ SELECT pg_notify%'",
                &[&db.name],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        (n > 0).then_some(())
    })
    .await;
    assert!(probed.is_some(), "pgq listen did not start");
    ok(&pooler, &["queue", "ping"]).await;
    let heard = listen.stdout_line(Duration::from_secs(10), |l| l.contains("insert"));
    assert!(heard.is_some(), "no event heard");
    let quiet: Vec<String> = listen.stderr.try_iter().collect();
    assert!(
        !quiet.iter().any(|l| l.contains("no live events")),
        "{quiet:?}"
    );
    listen.signal("TERM");
    assert_eq!(listen.wait_exit(Duration::from_secs(10)), Some(0));
}

/// The console behind a transaction pooler without --listen-dsn: it does
/// not LISTEN (a pooled LISTEN hears nothing), says so in the status bar,
/// and a job enqueued meanwhile shows up by the clock's refresh.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_behind_a_transaction_pooler_says_no_live_events_and_polls() {
    let db = TestDb::installed();
    let pooler = Pooler::transaction(&db, 2);
    let mut console = Console::start(&pooler.dsn(), &["--pooler", "transaction"]);
    let screen = console.wait_for("the no-live-events notice", Duration::from_secs(20), |s| {
        s.contains("no live events (transaction pooler?); refreshing every 5 s")
    });
    assert!(screen.contains("● connected"), "{screen}");
    assert!(
        db.wait_for_no_listener(Duration::from_millis(200)).await,
        "the console LISTENed through the pooler"
    );
    // Directly: its NOTIFY would reach nobody anyway.
    assert_exit(&db.pgq(&["queue", "pooled_ping"]), 0);
    // The Stats tab refreshes every 5 s: the job within that, plus slack
    // for the query on a loaded machine.
    console.wait_for(
        "the new job, by the clock's refresh",
        Duration::from_secs(8),
        |s| row(s, "pooled_ping").is_some(),
    );
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));
}

/// With --listen-dsn the console LISTENs on that direct connection: its
/// probe comes back, a job enqueued through the pooler shows as an insert
/// on the Events tab, and no notice says otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_with_a_listen_dsn_shows_live_events_behind_a_transaction_pooler() {
    let db = TestDb::installed();
    let pooler = Pooler::transaction(&db, 2);
    let direct = db.dsn();
    let mut console = Console::start(
        &pooler.dsn(),
        &["--pooler", "transaction", "--listen-dsn", &direct],
    );
    console.wait_for("the console connected", Duration::from_secs(20), |s| {
        s.contains("● connected")
    });
    console.press("3");
    // The probe is sent right after LISTEN: once it ran, events sent from
    // now on arrive after its echo.
    assert!(
        !db.wait_for_listener(Duration::from_secs(10))
            .await
            .is_empty(),
        "the console did not LISTEN on the direct connection"
    );
    let probed = common::wait_for(Duration::from_secs(10), || async {
        let client = db.client().await;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE '/* pgq */ SELECT pg_notify%' AND state = 'idle'",
                &[&db.name],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        (n > 0).then_some(())
    })
    .await;
    assert!(probed.is_some(), "the console sent no NOTIFY probe");
    ok(&pooler, &["queue", "ping"]).await;
    let screen = console.wait_for("the insert event", Duration::from_secs(10), |s| {
        s.contains("insert pgqueuer")
    });
    assert!(!screen.contains("no live events"), "{screen}");
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));
}

/// Behind a transaction pooler the console sets nothing on its session: a
/// `SET statement_timeout` would stay on the pooled server connection and
/// time out the next client's statements. With one server connection, the
/// next client sees the server's default.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_leaves_no_session_settings_on_a_pooled_connection() {
    let db = TestDb::installed();
    let pooler = Pooler::transaction(&db, 1);
    let mut console = Console::start(&pooler.dsn(), &["--pooler", "transaction"]);
    console.wait_for(
        "the console's first refresh",
        Duration::from_secs(20),
        |s| s.contains("● connected") && s.contains("no live events"),
    );
    let other = common::connect(&pooler.dsn()).await;
    for setting in ["statement_timeout", "lock_timeout"] {
        let rows = other
            .simple_query(&format!("SHOW {setting}"))
            .await
            .expect("SHOW through the pooler");
        let value = rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        });
        assert_eq!(
            value.as_deref(),
            Some("0"),
            "{setting} leaked from the console to another client of the pool"
        );
    }
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));
}
