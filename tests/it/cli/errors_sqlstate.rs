//! Errors keep the server's SQLSTATE, so callers match on codes instead of
//! parsing text, while the one-line messages users see stay as they were.

use crate::common;

use std::time::Duration;

use common::{TestDb, assert_exit};
use pgq::actions::ActionError;
use pgq::commands::CommandError;
use pgq::db::listener::{ListenError, listen_on};
use pgq::settings::conn::{ConnectionSettings, Env};
use pgq::settings::names::ObjectNames;
use pgq::worker::{EntrypointOptions, Mode, RunOptions, Worker, WorkerError};
use tokio_postgres::error::SqlState;

fn settings(db: &TestDb) -> ConnectionSettings {
    ConnectionSettings::resolve(
        Some(&db.dsn()),
        &Env::from_pairs(Vec::<(String, String)>::new()),
    )
    .expect("settings")
}

/// A real server error: division by zero (SQLSTATE 22012).
async fn division_by_zero(db: &TestDb) -> tokio_postgres::Error {
    db.client()
        .await
        .query_one("SELECT 1 / 0", &[])
        .await
        .expect_err("1 / 0 fails")
}

#[tokio::test]
async fn command_errors_keep_the_sqlstate_of_a_failed_statement() {
    let db = TestDb::new();
    let err = CommandError::db("LISTEN ch_pgqueuer")(division_by_zero(&db).await);
    assert_eq!(err.sql_state(), Some(&SqlState::DIVISION_BY_ZERO));
    assert_eq!(
        err.to_string(),
        "LISTEN ch_pgqueuer: division by zero [SQLSTATE 22012]"
    );

    let from_action = CommandError::from(ActionError::Db {
        context: "reading stats".into(),
        source: division_by_zero(&db).await,
    });
    assert_eq!(from_action.sql_state(), Some(&SqlState::DIVISION_BY_ZERO));

    let usage = CommandError::Usage("unknown context".into());
    assert_eq!(usage.sql_state(), None);
}

/// The shared LISTEN helper (used by `pgq listen`, the console and the
/// worker) keeps the server's error instead of its text.
#[tokio::test]
async fn a_refused_listen_keeps_its_sqlstate() {
    let db = TestDb::new();
    let client = pgq::db::client::Client::new(db.client().await, Default::default());
    // In an aborted transaction every statement is refused with 25P02.
    client.batch_execute("BEGIN").await.unwrap();
    client.batch_execute("SELECT 1 / 0").await.unwrap_err();
    let err = listen_on(&client, "test", "ch_pgqueuer")
        .await
        .expect_err("LISTEN in an aborted transaction fails");
    let ListenError::Listen { source, .. } = &err else {
        panic!("expected a refused LISTEN, got {err}");
    };
    assert_eq!(source.code(), Some(&SqlState::IN_FAILED_SQL_TRANSACTION));
    assert_eq!(
        err.to_string(),
        "LISTEN ch_pgqueuer: current transaction is aborted, commands ignored until end of transaction block [SQLSTATE 25P02]"
    );
}

/// A worker with one no-op entrypoint that stops when the queue is empty.
fn drain_worker() -> Worker {
    let options = RunOptions {
        mode: Mode::Drain,
        dequeue_timeout: Duration::from_millis(200),
        // The faults are injected by a trigger pgq does not know.
        allow_newer_schema: true,
        ..RunOptions::default()
    };
    let mut worker = Worker::new(ObjectNames::default(), options);
    worker
        .entrypoint("work", EntrypointOptions::default(), |_job, _ctx| async {
            Ok(())
        })
        .unwrap();
    worker
}

async fn run_until_it_fails(worker: Worker, db: &TestDb) -> WorkerError {
    tokio::time::timeout(Duration::from_secs(30), worker.run(settings(db)))
        .await
        .expect("the worker gave up in time")
        .expect_err("the worker fails without --restart-on-failure")
}

/// Make statements on `table` fail (when `when` holds) with SQLSTATE 55P03,
/// as a lock timeout would.
async fn refuse(db: &TestDb, table: &str, event: &str, when: &str) {
    db.client()
        .await
        .batch_execute(&format!(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'refused for the test' USING ERRCODE = 'lock_not_available'; END $$;
             CREATE TRIGGER refuse BEFORE {event} ON {table}
             FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION refuse();"
        ))
        .await
        .expect("install the refusing trigger");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dequeue_ends_the_worker_with_its_sqlstate() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "work", "x"]), 0);
    refuse(&db, "pgqueuer", "UPDATE", "true").await;

    let err = run_until_it_fails(drain_worker(), &db).await;
    assert_eq!(
        err.sql_state(),
        Some(&SqlState::LOCK_NOT_AVAILABLE),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "dequeue: refused for the test [SQLSTATE 55P03]"
    );
}

/// The failure travels from the flusher task through the supervisor and the
/// give-up path (which adds what happened to the unreported job).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_log_write_ends_the_worker_with_its_sqlstate() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "work", "x"]), 0);
    refuse(&db, "pgqueuer_log", "INSERT", "NEW.status = 'successful'").await;

    let err = run_until_it_fails(drain_worker(), &db).await;
    assert_eq!(
        err.sql_state(),
        Some(&SqlState::LOCK_NOT_AVAILABLE),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "logging finished jobs: refused for the test [SQLSTATE 55P03]; \
         1 job(s) left picked for re-pick after the heartbeat timeout"
    );
}
