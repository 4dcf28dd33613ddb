//! Console mutations end to end, keyboard only, in a pseudo-terminal against
//! a real database (and the real Python PGQueuer 1.6.0 where it says so):
//! schedules removal, durability switching (also behind a held lock), the
//! enqueue form, and read-only mode.

use crate::common;

use std::time::Duration;

use common::pty::{Console, line_with};
use common::{TestDb, assert_exit};

const WAIT: Duration = Duration::from_secs(15);
const TAB: &str = "\t";
const ENTER: &str = "\r";

/// Two schedules for one entrypoint and one for another.
const THREE_SCHEDULES: [(&str, &str); 3] = [
    ("nightly", "0 3 * * *"),
    ("nightly", "@hourly"),
    ("weekdays", "0 9 * * MON-FRI"),
];

async fn schedules(db: &TestDb) -> Vec<(String, String)> {
    let client = db.client().await;
    client
        .query(
            "SELECT entrypoint, expression FROM pgqueuer_schedules ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Confirm the open dialog: move focus from Cancel to Confirm, press it,
/// wait for the outcome line, close the dialog.
fn confirm(console: &mut Console, expect: &str) -> String {
    console.wait_for("the confirmation dialog", WAIT, |s| {
        s.contains("[ Cancel ]")
    });
    console.press(TAB);
    console.press(ENTER);
    let screen = console.wait_for(expect, Duration::from_secs(30), |s| s.contains(expect));
    console.press(ENTER);
    console.wait_for("the dialog to close", WAIT, |s| !s.contains("[ Close ]"));
    screen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_registered_by_python_are_removed_with_the_keyboard() {
    let db = TestDb::installed();
    assert_exit(&common::python_schedules(&db, &THREE_SCHEDULES, "1"), 0);
    assert_eq!(schedules(&db).await.len(), 3);

    let mut console = Console::start(&db.dsn(), &[]);
    console.press("4");
    console.wait_for("three schedules", WAIT, |s| s.contains("3 schedules"));
    // d on a row, then Enter on the default button: Cancel, nothing removed.
    console.press("d");
    console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    console.press(ENTER);
    console.wait_for("the cancel message", WAIT, |s| {
        s.contains("nothing was changed")
    });
    assert_eq!(schedules(&db).await.len(), 3);

    // Filter to nightly, tag both rows, remove the tagged ones.
    console.press("/nightly\r");
    console.press("  ");
    console.wait_for("two tagged", WAIT, |s| s.contains("2 tagged"));
    console.press("D");
    let screen = confirm(&mut console, "removed 2 schedules");
    assert!(
        screen.contains("DELETE FROM pgqueuer_schedules"),
        "the dialog shows the SQL:\n{screen}"
    );
    assert!(
        screen.contains("pgq schedules --remove"),
        "and the scripted equivalent:\n{screen}"
    );
    assert_eq!(
        schedules(&db).await,
        [("weekdays".to_string(), "0 9 * * mon-fri".to_string())]
    );

    // The list of this session's changes has the statement that ran.
    console.press("L");
    console.wait_for("the session's changes", WAIT, |s| {
        s.contains("Changes this session made") && s.contains("DELETE FROM pgqueuer_schedules")
    });
    console.press_esc();
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));

    // A Python scheduler that still registers them inserts them again on
    // start (ON CONFLICT DO NOTHING), as PGQueuer documents.
    assert_exit(&common::python_schedules(&db, &THREE_SCHEDULES, "1"), 0);
    assert_eq!(schedules(&db).await.len(), 3);
}

async fn persistence(db: &TestDb) -> Vec<String> {
    let client = db.client().await;
    client
        .query(
            "SELECT relname || '=' || relpersistence::text FROM pg_class
             WHERE relname IN ('pgqueuer', 'pgqueuer_log', 'pgqueuer_statistics', 'pgqueuer_schedules')
             ORDER BY relname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn row_counts(db: &TestDb) -> Vec<i64> {
    let client = db.client().await;
    let mut out = Vec::new();
    for t in [
        "pgqueuer",
        "pgqueuer_log",
        "pgqueuer_statistics",
        "pgqueuer_schedules",
    ] {
        out.push(
            client
                .query_one(&format!("SELECT count(*) FROM {t}"), &[])
                .await
                .unwrap()
                .get(0),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_switches_keep_every_row_and_a_held_lock_changes_nothing() {
    let db = TestDb::installed();
    for i in 0..5 {
        assert_exit(&db.pgq(&["queue", "dur_job", &i.to_string()]), 0);
    }
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO pgqueuer_statistics (count, priority, status, entrypoint) VALUES (7, 0, 'successful', 'dur_job');
             INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'dur_sched');",
        )
        .await
        .unwrap();
    let rows = row_counts(&db).await;
    assert_eq!(rows, [5, 5, 1, 1]);

    let mut console = Console::start(&db.dsn(), &[]);
    console.press("5");
    console.wait_for("the Durability tab", WAIT, |s| {
        s.contains("installation is at durable")
    });
    console.press("g"); // volatile
    console.wait_for("the volatile dry run", WAIT, |s| {
        s.contains("ALTER TABLE pgqueuer SET UNLOGGED")
    });
    console.press(ENTER);
    confirm(&mut console, "switched 4 tables to volatile");
    assert_eq!(
        persistence(&db).await,
        [
            "pgqueuer=u",
            "pgqueuer_log=u",
            "pgqueuer_schedules=u",
            "pgqueuer_statistics=u"
        ]
    );
    console.wait_for("the new state", WAIT, |s| {
        s.contains("installation is at volatile")
    });

    console.press("j"); // balanced
    console.wait_for("the balanced dry run", WAIT, |s| {
        s.contains("ALTER TABLE pgqueuer SET LOGGED")
    });
    console.press(ENTER);
    confirm(&mut console, "switched 2 tables to balanced");
    assert_eq!(
        persistence(&db).await,
        [
            "pgqueuer=p",
            "pgqueuer_log=u",
            "pgqueuer_schedules=p",
            "pgqueuer_statistics=u"
        ]
    );
    assert_eq!(row_counts(&db).await, rows, "no row lost");

    // A worker holding a lock on the log: the switch gives up after the
    // lock timeout and leaves every table as it was.
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE pgqueuer_log IN ACCESS SHARE MODE")
        .await
        .unwrap();
    console.wait_for("the new state", WAIT, |s| {
        s.contains("installation is at balanced")
    });
    console.press("j"); // durable
    console.wait_for("the durable dry run", WAIT, |s| {
        s.contains("ALTER TABLE pgqueuer_log SET LOGGED")
    });
    console.press(ENTER);
    let screen = confirm(&mut console, "failed");
    let failure = line_with(&screen, "failed").unwrap_or_default().to_string();
    assert!(
        screen.contains("lock timeout") && screen.contains("55P03"),
        "{failure}\n{screen}"
    );
    assert_eq!(
        persistence(&db).await,
        [
            "pgqueuer=p",
            "pgqueuer_log=u",
            "pgqueuer_schedules=p",
            "pgqueuer_statistics=u"
        ],
        "nothing changed"
    );
    blocker.batch_execute("ROLLBACK").await.unwrap();
    console.press(ENTER);
    confirm(&mut console, "switched 2 tables to durable");
    assert_eq!(
        persistence(&db).await,
        [
            "pgqueuer=p",
            "pgqueuer_log=p",
            "pgqueuer_schedules=p",
            "pgqueuer_statistics=p"
        ]
    );
    assert_eq!(row_counts(&db).await, rows, "no row lost");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

async fn queued(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enqueue_form_creates_a_job_a_python_worker_processes() {
    let db = TestDb::installed();
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("6");
    console.wait_for("the form", WAIT, |s| {
        s.contains("Entrypoint") && s.contains("press e/i to edit")
    });
    console.press("e");
    console.press("form_job");
    console.press(TAB); // priority
    console.press("7");
    console.press(&TAB.repeat(4)); // delay, dedupe key, on conflict → headers
    console.press("{\"trace\": \"t-1\"}");
    console.press(&TAB.repeat(2)); // format → payload
    console.press("{\"n\": 42,");
    console.wait_for("the live JSON check", WAIT, |s| {
        s.contains("JSON error: line 1")
    });
    // Invalid payload: Ctrl-S explains and sends nothing.
    console.press("\x13");
    console.wait_for("the refusal", WAIT, |s| s.contains("nothing was sent"));
    let client = db.client().await;
    assert_eq!(queued(&client).await, 0);
    console.press("\r \"ok\": true}");
    console.wait_for("valid JSON", WAIT, |s| s.contains("JSON ok"));
    console.press("\x13");
    let screen = confirm(&mut console, "enqueued job");
    assert!(
        screen.contains("pgq queue form_job"),
        "the scripted equivalent:\n{screen}"
    );
    console.wait_for("the session list", WAIT, |s| {
        s.contains("#1 enqueued job 1")
    });
    assert_eq!(queued(&client).await, 1);
    console.press_esc();
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));

    let seen = common::python_drain(&db, "form_job", false);
    let payload: Vec<u8> = serde_json::from_value(seen[0]["payload"].clone()).unwrap();
    assert_eq!(
        String::from_utf8(payload).unwrap(),
        "{\"n\": 42,\n \"ok\": true}"
    );
    assert_eq!(seen[0]["headers"]["trace"], "t-1");
    assert_eq!(seen[0]["priority"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_mode_refuses_every_mutation_key() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "ro_job", "1"]), 0);
    let client = db.client().await;
    client
        .batch_execute(
            "UPDATE pgqueuer SET status = 'failed';
             INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'ro_sched');",
        )
        .await
        .unwrap();
    let before = (persistence(&db).await, row_counts(&db).await);
    let snapshot =
        "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM (SELECT * FROM pgqueuer) t";
    let queue_before: Option<String> = client.query_one(snapshot, &[]).await.unwrap().get(0);

    let mut console = Console::start(&db.dsn(), &["--read-only"]);
    console.wait_for("the read-only badge", WAIT, |s| s.contains("READ-ONLY"));
    console.press("4");
    console.wait_for("the schedule", WAIT, |s| s.contains("ro_sched"));
    for key in ["d", "D", "t"] {
        console.press(key);
    }
    console.wait_for("a refusal", WAIT, |s| s.contains("refused"));
    console.press("5");
    console.wait_for("the Durability tab", WAIT, |s| {
        s.contains("installation is at")
    });
    console.press("g");
    console.press(ENTER);
    console.press("7");
    console.wait_for("the held job", WAIT, |s| s.contains("ro_job"));
    console.press("R");
    console.press("6");
    console.press("e");
    console.press("ro_form");
    console.press("\x13");
    console.wait_for("the enqueue refusal", WAIT, |s| s.contains("refused"));
    let screen = console.contents();
    assert!(
        !screen.contains("[ Cancel ]"),
        "no confirmation dialog opened:\n{screen}"
    );
    console.press_esc();
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));

    assert_eq!((persistence(&db).await, row_counts(&db).await), before);
    let queue_after: Option<String> = client.query_one(snapshot, &[]).await.unwrap().get(0);
    assert_eq!(queue_after, queue_before, "the queue is unchanged");
}
