//! Job operations from the console's Jobs tab: cancel the selected job while
//! a real Python PGQueuer 1.6.0 worker runs it, purge the jobs matching the
//! tab's filter, refusals in read-only mode; and, at the action level, a
//! cancel of "every job matching the filter" touching exactly those jobs.

use crate::common;

use std::time::Duration;

use common::pty::Console;
use common::{TestDb, assert_exit, log_statuses};
use pgq::actions::jobs::filter::{JobFilter, Search};
use pgq::actions::jobs::selection::JobSelection;
use pgq::actions::preview::preview;
use pgq::actions::{Action, kinds};

const WAIT: Duration = Duration::from_secs(30);

async fn queue_ids(client: &tokio_postgres::Client) -> Vec<i64> {
    client
        .query("SELECT id FROM pgqueuer ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The statuses logged for `id`, in order.
async fn history(client: &tokio_postgres::Client, id: i64) -> Vec<String> {
    log_statuses(client)
        .await
        .into_iter()
        .filter(|(job, _)| *job == id)
        .map(|(_, s)| s)
        .collect()
}

/// Type a filter on the Jobs tab's `/` line and keep it.
fn filter(console: &mut Console, text: &str) {
    console.press("/");
    console.press(text);
    console.press("\r");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_the_jobs_tab_stops_a_job_a_python_worker_runs() {
    let db = TestDb::installed();
    let id = db.enqueue(&["long", "x", "--priority", "0"]);
    let (mut worker, lines) = crate::jobs::actions_interop::spawn_cancel_worker(&db, "60");
    let started = lines.recv_timeout(WAIT).expect("the job starts");
    assert_eq!(started, format!("started {id}"));

    let mut console = Console::start(&db.dsn(), &[]);
    console.press("2");
    console.wait_for("the picked job", WAIT, |s| {
        s.contains("long") && s.contains("picked")
    });
    console.press("c");
    let dialog = console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    assert!(dialog.contains(&format!("Cancel 1 job ({id})")), "{dialog}");
    assert!(dialog.contains(&format!("pgq cancel {id}")), "{dialog}");
    console.press("\t");
    console.press("\r");
    console.wait_for("the outcome", WAIT, |s| s.contains("canceled 1 job"));

    // The handler's cancellation scope was cancelled by the event.
    assert_eq!(
        lines.recv_timeout(WAIT).expect("the handler ends"),
        format!("canceled {id}")
    );
    assert_eq!(
        crate::jobs::actions_interop::wait_exit(&mut worker),
        Some(0)
    );
    console.press("\r");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    let client = db.client().await;
    assert_eq!(history(&client, id).await, ["queued", "picked", "canceled"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_from_the_jobs_tab_takes_only_the_filtered_jobs() {
    let db = TestDb::installed();
    let gone: Vec<i64> = (0..3)
        .map(|_| db.enqueue(&["nightly", "x", "--priority", "5"]))
        .collect();
    let stays = [
        db.enqueue(&["nightly", "x", "--priority", "1"]),
        db.enqueue(&["other", "x", "--priority", "5"]),
    ];
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("2");
    console.wait_for("the jobs", WAIT, |s| s.contains("nightly"));
    filter(&mut console, "ep:nightly prio:5");
    console.wait_for("the filtered page", WAIT, |s| {
        s.contains("filter ep:nightly prio:5") && !s.contains("other")
    });
    console.press("P");
    let dialog = console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    assert!(
        dialog.contains("Purge 3 jobs matching the filter ep:nightly prio:5"),
        "{dialog}"
    );
    // The equivalent command takes the same filter as flags.
    let flat = dialog.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("pgq purge --entrypoint nightly --priority-min 5 --priority-max 5 --yes"),
        "{dialog}"
    );
    console.press("\t");
    console.press("\r");
    console.wait_for("the outcome", WAIT, |s| s.contains("purged 3 jobs"));
    console.press("\r");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));

    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, stays);
    for id in gone {
        assert_eq!(history(&client, id).await, ["queued", "deleted"]);
    }
}

/// Three queued `nightly` jobs, the Jobs tab filtered to them, and the
/// purge's confirmation open; the test then holds job `held` (a row lock,
/// as a worker recording it would) on the returned connection, so the
/// confirmed purge keeps asking for it until the lock goes.
async fn purge_with_one_job_held(
    db: &TestDb,
    held: usize,
) -> (Console, Vec<i64>, tokio_postgres::Client) {
    let jobs: Vec<i64> = (0..3).map(|_| db.enqueue(&["nightly", "x"])).collect();
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("2");
    console.wait_for("the jobs", WAIT, |s| s.contains("nightly"));
    filter(&mut console, "ep:nightly");
    console.wait_for("the filtered page", WAIT, |s| {
        s.contains("filter ep:nightly")
    });
    console.press("P");
    let dialog = console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    assert!(
        dialog.contains("Purge 3 jobs matching the filter ep:nightly"),
        "{dialog}"
    );
    let blocker = db.client().await;
    blocker
        .batch_execute(&format!(
            "BEGIN; SELECT id FROM pgqueuer WHERE id = {} FOR UPDATE",
            jobs[held]
        ))
        .await
        .unwrap();
    console.press("\t");
    console.press("\r");
    (console, jobs, blocker)
}

/// A purge by filter goes batch by batch through what may be millions of
/// jobs: like a prune it runs on a connection of its own, Esc sends its
/// dialog away, and the tabs keep refreshing meanwhile. Here the purge
/// keeps asking for the job the test holds; a job that arrives meanwhile shows on the
/// Jobs tab, and stays: the purge acts within the count the operator
/// confirmed. (Before, the purge ran on the tabs' own connection: the
/// dialog could not be sent away and no tab refreshed until it ended.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purge_by_filter_runs_in_the_background_while_the_tabs_refresh() {
    let db = TestDb::installed();
    let (mut console, gone, blocker) = purge_with_one_job_held(&db, 0).await;
    console.wait_for("the hint to send it away", WAIT, |s| {
        s.contains("x: stop, Esc: run in the background")
    });
    console.press_esc();
    console.wait_for("the dialog gone", WAIT, |s| {
        s.contains("still running in the background") && !s.contains("[ Cancel ]")
    });
    let late = db.enqueue(&["nightly", "arrived_meanwhile"]);
    console.wait_for("the Jobs tab refreshed during the purge", WAIT, |s| {
        s.contains("arrived_meanwhile")
    });
    let client = db.client().await;
    assert_eq!(
        queue_ids(&client).await,
        [gone[0], late],
        "the purge still waits for the held job"
    );

    blocker.batch_execute("COMMIT").await.unwrap();
    console.wait_for("the outcome in the flash line", WAIT, |s| {
        s.contains("purged 3 jobs")
    });
    assert_eq!(queue_ids(&client).await, [late], "the late job stays");
    for id in gone {
        assert_eq!(history(&client, id).await, ["queued", "deleted"]);
    }
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

/// While a change by filter runs, its dialog shows how far it has come,
/// and `x` stops it after the batch under way: what is done stays done, the
/// rest is untouched. The purge takes two jobs in its first batch and keeps
/// asking for the third, which the test holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_purge_shows_its_progress_and_x_stops_it() {
    let db = TestDb::installed();
    let (mut console, jobs, blocker) = purge_with_one_job_held(&db, 1).await;
    console.wait_for("the progress", WAIT, |s| {
        s.contains("running… 2/3 done (x: stop")
    });
    console.press("x");
    let outcome = console.wait_for("the outcome", WAIT, |s| {
        s.contains("interrupted, the rest is untouched")
    });
    assert!(outcome.contains("purged 2 jobs in 1 batch"), "{outcome}");
    blocker.batch_execute("COMMIT").await.unwrap();
    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, [jobs[1]], "the held job stays");
    console.press("\r");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

/// A change sent to the background shows its progress in the status bar,
/// and `x` stops it there too, after its batch; the console goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_stops_a_change_in_the_background_after_its_batch() {
    let db = TestDb::installed();
    let (mut console, jobs, _blocker) = purge_with_one_job_held(&db, 0).await;
    console.wait_for("two jobs purged", WAIT, |s| s.contains("running… 2/3 done"));
    console.press_esc();
    console.wait_for("the progress in the status bar", WAIT, |s| {
        s.contains("background: 2/3 done (x stops)") && !s.contains("[ Cancel ]")
    });
    console.press("x");
    console.wait_for("the outcome in the flash line", WAIT, |s| {
        s.contains("purged 2 jobs in 1 batch; interrupted")
    });
    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, [jobs[0]], "the held job stays");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

/// Quitting while a change runs in the background stops it after its
/// batch, then quits: what is done stays done (and logged), nothing is cut
/// in half. Here the purge has taken two jobs and keeps asking for the one
/// the test holds; `q` ends it there, and the console exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_stops_a_change_in_the_background_after_its_batch() {
    let db = TestDb::installed();
    let (mut console, jobs, _blocker) = purge_with_one_job_held(&db, 2).await;
    console.wait_for("two jobs purged", WAIT, |s| s.contains("running… 2/3 done"));
    console.press_esc();
    console.wait_for("the dialog gone", WAIT, |s| !s.contains("[ Cancel ]"));
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    // The purge finished (stopped), rather than being dropped with the
    // console: its audit line says how it ended.
    let audit = std::fs::read_to_string(console.state_dir().join("audit.jsonl")).unwrap();
    let finished: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &serde_json::Value| v["phase"] == "finished")
        .collect();
    assert_eq!(finished.len(), 1, "{audit}");
    assert_eq!(
        finished[0]["outcome"], "purged 2 jobs in 1 batch; interrupted, the rest is untouched",
        "{audit}"
    );
    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, [jobs[2]], "the held job stays");
    for id in &jobs[..2] {
        assert_eq!(history(&client, *id).await, ["queued", "deleted"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_jobs_tab_action() {
    let db = TestDb::installed();
    let ids: Vec<i64> = (0..2)
        .map(|_| db.enqueue(&["ro", "x", "--priority", "0"]))
        .collect();
    let client = db.client().await;
    client
        .execute(
            "UPDATE pgqueuer SET status = 'failed' WHERE id = $1",
            &[&ids[1]],
        )
        .await
        .unwrap();
    let mut console = Console::start(&db.dsn(), &["--read-only"]);
    console.press("2");
    console.wait_for("the jobs", WAIT, |s| s.contains("ro"));
    filter(&mut console, "ep:ro");
    console.wait_for("the filtered page", WAIT, |s| s.contains("filter ep:ro"));
    // Every refusal reads the same, so each key is followed by `o` (order):
    // once the order has flipped, the key before it was handled, and a
    // dialog it opened would still be on screen (and would have taken the
    // `o`, so the order would not flip).
    let mut order = "newest first";
    for key in ["c", "C", "d", "P", "R"] {
        console.press(key);
        console.press("o");
        order = if order == "newest first" {
            "oldest first"
        } else {
            "newest first"
        };
        let screen = console.wait_for(&format!("{key} handled, then the order"), WAIT, |s| {
            s.contains(&format!("queue {order}"))
        });
        assert!(
            screen.contains("refused: this session is read-only"),
            "{key}: no refusal:\n{screen}"
        );
        assert!(
            !screen.contains("[ Cancel ]"),
            "{key}: a dialog opened:\n{screen}"
        );
    }
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    assert_eq!(queue_ids(&client).await, ids);
    let logged: i64 = client
        .query_one(
            "SELECT count(*) FROM pgqueuer_log WHERE status IN ('canceled', 'deleted')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 0);
}

#[tokio::test]
async fn cancel_matching_a_priority_and_search_filter_touches_only_those_jobs() {
    let db = TestDb::installed();
    let hit = [
        db.enqueue(&["mail", "{\"to\":\"ann@example.com\"}", "--priority", "5"]),
        db.enqueue(&["mail", "ann again", "--priority", "7"]),
    ];
    let stays = [
        db.enqueue(&["mail", "ann, low priority", "--priority", "1"]),
        db.enqueue(&["mail", "bob", "--priority", "5"]),
        db.enqueue(&["sms", "ann by sms", "--priority", "9"]),
    ];
    let s = db.session(false).await;
    let filter = JobFilter {
        entrypoints: vec!["mail".into()],
        priority_min: Some(5),
        search: Some(Search::Text("ann".into())),
        ..JobFilter::default()
    };
    let action = Action::from(kinds::CancelJobs {
        selection: JobSelection::Filter(Box::new(filter.clone())),
        bound: None,
    });
    // The preview counts the same jobs, under the search's statement timeout.
    let shown = preview(&s, &action).await.unwrap();
    assert!(
        shown
            .question
            .starts_with("Cancel 2 jobs matching the filter ep:mail prio:5.. ann"),
        "{}",
        shown.question
    );
    assert!(
        shown
            .statements
            .iter()
            .any(|st| st.starts_with("SET LOCAL statement_timeout")),
        "{:?}",
        shown.statements
    );
    assert_eq!(
        shown.command_line,
        "pgq cancel --entrypoint mail --priority-min 5 --search ann --yes"
    );
    let removed = pgq::actions::run(
        &s,
        &kinds::CancelJobs {
            selection: JobSelection::Filter(Box::new(filter)),
            bound: None,
        },
        false,
    )
    .await
    .unwrap();
    assert_eq!(removed.count, 2);
    assert_eq!(removed.events, 1, "one cancellation_event for the batch");

    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, stays);
    for id in hit {
        assert_eq!(history(&client, id).await, ["queued", "canceled"]);
    }

    // An empty filter or a blank search (which would match every job) is
    // refused; nothing changes.
    for refused in [
        JobFilter::default(),
        JobFilter {
            search: Some(Search::parse("  ")),
            ..JobFilter::default()
        },
    ] {
        let err = pgq::actions::run(
            &s,
            &kinds::PurgeJobs {
                selection: JobSelection::Filter(Box::new(refused)),
                bound: None,
            },
            false,
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("refusing an empty filter")
                || err.to_string().contains("refusing an empty search"),
            "{err}"
        );
    }
    assert_eq!(queue_ids(&client).await, stays);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_on_a_held_job_opens_its_detail_and_esc_comes_back() {
    let db = TestDb::installed();
    let id = db.enqueue(&["h", "held payload", "--priority", "0"]);
    common::python_drain(&db, "h", true);
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("7");
    console.wait_for("the held job", WAIT, |s| s.contains("RuntimeError: boom"));
    console.press("\r");
    // The Jobs tab's overlay: payload, log timeline and the traceback.
    let detail = console.wait_for("the detail", WAIT, |s| {
        s.contains("held payload") && s.contains("RuntimeError: boom")
    });
    assert!(detail.contains(&format!("job {id}")), "{detail}");
    console.press_esc();
    console.wait_for("the Held tab again", WAIT, |s| {
        s.contains("held job") && !s.contains("held payload")
    });
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_runs_beside_other_tabs_and_esc_cancels_it() {
    let db = TestDb::installed();
    db.enqueue(&["a", "hello", "--priority", "0"]);
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'sched_ep')",
        )
        .await
        .unwrap();
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("2");
    console.wait_for("the jobs", WAIT, |s| s.contains("hello"));
    // Hold the queue table so a search waits on it (the server would stop
    // it at the 5 s search timeout; everything below happens well before).
    let mut locker = db.client().await;
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE pgqueuer IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    filter(&mut console, "hello");
    console.wait_for("the search running", WAIT, |s| s.contains("searching…"));
    // Another tab refreshes meanwhile (its table is not held).
    console.press("4");
    console.wait_for(
        "the schedules, while the search waits",
        Duration::from_secs(3),
        |s| s.contains("sched_ep"),
    );
    console.press("2");
    console.wait_for("the search still running", WAIT, |s| {
        s.contains("searching…")
    });
    console.press_esc();
    let screen = console.wait_for("the cancellation", Duration::from_secs(3), |s| {
        s.contains("search canceled (Esc)")
    });
    assert!(!screen.contains("searching…"), "{screen}");
    // The filter is kept; r searches again, and now finds the job.
    assert!(screen.contains("filter hello"), "{screen}");
    lock.rollback().await.unwrap();
    console.press("r");
    console.wait_for("the search again", WAIT, |s| {
        s.contains("hello") && s.contains("(ids 1…1)")
    });
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

#[tokio::test]
async fn pgq_cancel_and_purge_take_the_job_browser_filter_flags() {
    let db = TestDb::installed();
    let hit = [
        db.enqueue(&["mail", "ann", "--priority", "5"]),
        db.enqueue(&["mail", "ann again", "--priority", "7"]),
    ];
    let low = db.enqueue(&["mail", "ann, low priority", "--priority", "1"]);
    let bob = db.enqueue(&["mail", "bob", "--priority", "5"]);
    // The console's equivalent command, run as typed: the same two jobs.
    let out = db.pgq(&[
        "cancel",
        "--entrypoint",
        "mail",
        "--priority-min",
        "5",
        "--search",
        "ann",
        "--yes",
    ]);
    assert_exit(&out, 0);
    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, [low, bob]);
    for id in hit {
        assert_eq!(history(&client, id).await, ["queued", "canceled"]);
    }
    // Purge by search alone, as a dry run first.
    let out = db.pgq(&["purge", "--search", "bob", "--dry-run"]);
    assert_exit(&out, 0);
    assert_eq!(queue_ids(&client).await, [low, bob]);
    assert_exit(&db.pgq(&["purge", "--search", "bob", "--yes"]), 0);
    assert_eq!(queue_ids(&client).await, [low]);
    // Ids and filter flags do not mix; --older-than is one more filter flag.
    assert_exit(&db.pgq(&["cancel", &low.to_string(), "--search", "x"]), 2);
    assert_exit(
        &db.pgq(&["purge", "--search", "x", "--older-than", "1h", "--yes"]),
        0,
    );
    assert_eq!(queue_ids(&client).await, [low]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_worker_opens_its_jobs_and_c_cancels_what_it_holds() {
    let db = TestDb::installed();
    let held = db.enqueue(&["stuck", "x", "--priority", "0"]);
    let other = db.enqueue(&["stuck", "y", "--priority", "0"]);
    let client = db.client().await;
    let worker = uuid::Uuid::new_v4();
    // A worker that picked a job and stopped heartbeating an hour ago.
    client
        .execute(
            "UPDATE pgqueuer SET status = 'picked', queue_manager_id = $1, \
             heartbeat = now() - interval '1 hour' WHERE id = $2",
            &[&worker, &held],
        )
        .await
        .unwrap();
    let short = &worker.to_string()[..8];
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("8");
    console.wait_for("the worker", WAIT, |s| s.contains(short));
    console.press("\r");
    console.wait_for("its jobs in the Jobs tab", WAIT, |s| {
        s.contains(&format!("filter status:picked worker:{short}")) && s.contains("stuck")
    });
    console.press("8");
    console.wait_for("the worker", WAIT, |s| s.contains(short));
    console.press("c");
    let dialog = console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    let flat = dialog.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Cancel 1 job matching the filter"),
        "{dialog}"
    );
    console.press("\t");
    console.press("\r");
    console.wait_for("the outcome", WAIT, |s| s.contains("canceled 1 job"));
    console.press("\r");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    assert_eq!(queue_ids(&client).await, [other]);
    assert_eq!(history(&client, held).await, ["queued", "canceled"]);
}

#[tokio::test]
async fn enter_on_a_cancellation_event_opens_the_canceled_job() {
    let db = TestDb::installed();
    let id = db.enqueue(&["c", "canceled payload", "--priority", "0"]);
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("3");
    // Listening before the cancel, or its event would never arrive.
    db.wait_for_listener(WAIT).await;
    assert_exit(&db.pgq(&["cancel", &id.to_string()]), 0);
    console.wait_for("the cancellation event", WAIT, |s| {
        s.contains("cancellation_event")
    });
    // Only the cancellation: the DELETE's table event is filtered out.
    console.press("/");
    console.press("cancellation\r");
    console.wait_for("the filtered list", WAIT, |s| {
        s.contains("cancellation_event") && !s.contains("table_changed_event")
    });
    console.press("\r");
    // The job is gone from the queue: its detail comes from the log, whose
    // timeline ends with the cancel.
    console.wait_for("the job's detail", WAIT, |s| {
        s.contains(&format!("job {id}")) && s.contains("queued") && s.contains("canceled")
    });
    console.press_esc();
    console.wait_for("the Events tab again", WAIT, |s| {
        s.contains("cancellation_event")
    });
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}

#[test]
fn enter_on_a_running_job_in_the_worker_tab_opens_its_detail() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("workers.toml");
    std::fs::write(
        &manifest,
        "[[entrypoint]]\nname = \"slow\"\nbuiltin = \"sleep\"\n",
    )
    .unwrap();
    let out = db.pgq(&["queue", "slow", "30"]);
    assert_exit(&out, 0);
    let mut console = Console::start(&db.dsn(), &["run", manifest.to_str().unwrap()]);
    console.wait_for("the job in flight", WAIT, |s| s.contains("1 in flight"));
    console.press("\r");
    // The Jobs tab's overlay on the picked job, which this worker holds.
    console.wait_for("the running job's detail", WAIT, |s| {
        s.contains(" job 1 ") && s.contains("timeline") && s.contains("picked")
    });
    console.press_esc();
    console.wait_for("the Worker tab again", WAIT, |s| s.contains("1 in flight"));
    // Quitting returns the job (a second q does not wait for the 30 s).
    console.press("q");
    console.press("q");
    assert!(
        console.wait_exit(WAIT).is_some(),
        "the console did not quit"
    );
}
