//! The Durability tab's retention line and its prune, keyboard only, in a
//! pseudo-terminal against a real database: the preview in the confirm
//! dialog, the deletion, and the refusal in read-only mode.

use std::time::Duration;

use crate::common::TestDb;
use crate::common::pty::Console;

const WAIT: Duration = Duration::from_secs(15);
const TAB: &str = "\t";
const ENTER: &str = "\r";

/// 120 aggregated and 7 unaggregated log rows 40 days old, 5 recent ones,
/// and 3 statistics rows 40 days old.
async fn seed(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
             SELECT now() - interval '40 days' + g * interval '1 ms', g, 'successful', 0, 'e', g > 7
             FROM generate_series(1, 127) AS g;
             INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
             SELECT now() - interval '1 hour', g, 'successful', 0, 'e', true
             FROM generate_series(1, 5) AS g;
             INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
             SELECT now() - interval '40 days' + g * interval '1 s', 1, 0, 'successful', 'e'
             FROM generate_series(1, 3) AS g;
             ANALYZE pgqueuer_log, pgqueuer_statistics;",
        )
        .await
        .unwrap();
}

async fn counts(db: &TestDb) -> (i64, i64) {
    let row = db
        .client()
        .await
        .query_one(
            "SELECT (SELECT count(*) FROM pgqueuer_log), (SELECT count(*) FROM pgqueuer_statistics)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_durability_tab_shows_retention_and_prunes_after_a_preview() {
    let db = TestDb::installed();
    seed(&db).await;
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("5");
    let screen = console.wait_for("the retention lines", WAIT, |s| {
        s.contains("7 unaggregated kept")
    });
    assert!(screen.contains("log ≈132"), "{screen}");
    assert!(screen.contains("oldest 40d"), "{screen}");
    assert!(screen.contains("prunes older than 30d"), "{screen}");
    // o cycles the age: 30d → 90d → 1d → 7d → 30d.
    console.press("o");
    console.wait_for("the next age", WAIT, |s| s.contains("older than 90d"));
    console.press("ooo");
    console.wait_for("back at 30 days", WAIT, |s| s.contains("older than 30d"));

    console.press("p");
    let dialog = console.wait_for("the prune preview", WAIT, |s| s.contains("[ Cancel ]"));
    assert!(
        dialog.contains("Delete 120 log rows older than") && dialog.contains("3 statistics rows"),
        "{dialog}"
    );
    assert!(dialog.contains("DELETE FROM pgqueuer_log"), "{dialog}");
    assert!(dialog.contains("not aggregated"), "{dialog}");
    assert_eq!(counts(&db).await, (132, 3), "nothing runs before Confirm");
    console.press(TAB);
    console.press(ENTER);
    console.wait_for("the outcome", Duration::from_secs(30), |s| {
        s.contains("deleted 120 log rows and 3 statistics rows")
    });
    assert_eq!(counts(&db).await, (12, 0));
    console.press(ENTER);
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

/// A prune can run for minutes on a large log: it runs on a connection of
/// its own, Esc sends its dialog away, and the tabs keep refreshing
/// meanwhile. Here row locks the test holds on the old rows keep its DELETE
/// waiting (the console's lock timeout is 5 s) while a job is enqueued; the
/// Jobs tab shows that job before the locks go, then the prune finishes and
/// says so in the flash line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tabs_refresh_while_a_prune_runs_in_the_background() {
    let db = TestDb::installed();
    seed(&db).await;
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("5");
    console.wait_for("the retention lines", WAIT, |s| {
        s.contains("7 unaggregated kept")
    });
    console.press("p");
    console.wait_for("the prune preview", WAIT, |s| s.contains("[ Cancel ]"));

    // The old rows locked: the prune's DELETE waits for them; new rows
    // (an enqueue's log row) and reads go on.
    let blocker = db.client().await;
    blocker
        .batch_execute(
            "BEGIN; SELECT id FROM pgqueuer_log WHERE created < now() - interval '1 day' FOR UPDATE",
        )
        .await
        .unwrap();
    console.press(TAB);
    console.press(ENTER);
    let watcher = db.client().await;
    let waiting = crate::common::wait_for(WAIT, || async {
        let row = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'
                    AND query ILIKE '%DELETE FROM%'",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0) > 0).then_some(())
    })
    .await;
    assert!(waiting.is_some(), "the prune never reached the locks");
    console.wait_for("the hint to send it away", WAIT, |s| {
        s.contains("x: stop, Esc: run in the background")
    });
    console.press_esc();
    console.wait_for("the dialog gone", WAIT, |s| {
        s.contains("still running in the background") && !s.contains("Confirm")
    });

    watcher
        .batch_execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'arrived_meanwhile')",
        )
        .await
        .unwrap();
    console.press("2");
    console.wait_for("the Jobs tab refreshed during the prune", WAIT, |s| {
        s.contains("arrived_meanwhile")
    });
    assert_eq!(counts(&db).await, (132, 3), "the prune is still waiting");

    blocker.batch_execute("COMMIT").await.unwrap();
    console.wait_for(
        "the outcome in the flash line",
        Duration::from_secs(30),
        |s| s.contains("deleted 120 log rows and 3 statistics rows"),
    );
    assert_eq!(counts(&db).await, (12, 0));
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_the_prune() {
    let db = TestDb::installed();
    seed(&db).await;
    let mut console = Console::start(&db.dsn(), &["--read-only"]);
    console.press("5");
    console.wait_for("the retention lines", WAIT, |s| {
        s.contains("unaggregated kept")
    });
    console.press("p");
    let screen = console.wait_for("the refusal", WAIT, |s| {
        s.contains("refused: this session is read-only")
    });
    assert!(!screen.contains("[ Cancel ]"), "{screen}");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    assert_eq!(counts(&db).await, (132, 3));
}
