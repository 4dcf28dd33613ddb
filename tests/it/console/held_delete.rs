//! Deleting held jobs from the console's Held tab, keyboard only, in a
//! pseudo-terminal: through the confirmation dialog (default Cancel), and
//! refused in read-only mode.

use crate::common;

use std::time::Duration;

use common::pty::Console;
use common::{TestDb, assert_exit};

const WAIT: Duration = Duration::from_secs(15);

/// Two held jobs of entrypoint `held_ep`.
async fn two_held_jobs(db: &TestDb) -> tokio_postgres::Client {
    for _ in 0..2 {
        assert_exit(&db.pgq(&["queue", "held_ep", "x"]), 0);
    }
    let client = db.client().await;
    client
        .batch_execute("UPDATE pgqueuer SET status = 'failed'")
        .await
        .unwrap();
    client
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_jobs_are_deleted_through_the_confirmation_dialog() {
    let db = TestDb::installed();
    let client = two_held_jobs(&db).await;
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("7");
    console.wait_for("the held jobs", WAIT, |s| s.contains("held_ep"));

    // d, then Enter on the default button (Cancel): nothing deleted.
    console.press("d");
    let dialog = console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    assert!(dialog.contains("Delete 1 job"), "{dialog}");
    assert!(
        dialog.contains("pgq delete"),
        "the equivalent command:\n{dialog}"
    );
    console.press("\r");
    console.wait_for("the cancel message", WAIT, |s| {
        s.contains("nothing was changed")
    });
    assert_eq!(count(&client, "SELECT count(*) FROM pgqueuer").await, 2);

    // d again, Tab to Confirm, Enter: one job deleted and logged.
    console.press("d");
    console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    console.press("\t");
    console.press("\r");
    console.wait_for("the outcome", Duration::from_secs(30), |s| {
        s.contains("deleted 1 job")
    });
    console.press("\r");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    assert_eq!(count(&client, "SELECT count(*) FROM pgqueuer").await, 1);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pgqueuer_log WHERE status = 'deleted'"
        )
        .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_deleting_held_jobs() {
    let db = TestDb::installed();
    let client = two_held_jobs(&db).await;
    let mut console = Console::start(&db.dsn(), &["--read-only"]);
    console.press("7");
    console.wait_for("the held jobs", WAIT, |s| s.contains("held_ep"));
    console.press("d");
    let screen = console.wait_for("a refusal", WAIT, |s| s.contains("refused"));
    assert!(
        !screen.contains("[ Cancel ]"),
        "no dialog opened:\n{screen}"
    );
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    assert_eq!(count(&client, "SELECT count(*) FROM pgqueuer").await, 2);
}
