//! `pgq why ID` and `pgq why --schedule ENTRYPOINT`: each answer built as a
//! situation in a real database (rows as PGQueuer writes them), asked of
//! the real binary, checked as a sentence and as JSON.

use serde_json::Value;
use tokio_postgres::Client;

use crate::common::{TestDb, assert_exit, stderr, stdout};

const WORKER: &str = "6f1c2f9e-8d55-4c39-9a35-0b0f0f1f2a3b";

/// Insert a queue row; `extra` sets more columns (`"execute_after = now() + …"`).
async fn job(client: &Client, id: i64, entrypoint: &str, status: &str, extra: &str) {
    client
        .batch_execute(&format!(
            "INSERT INTO pgqueuer (id, priority, entrypoint, status, payload) \
             VALUES ({id}, 0, '{entrypoint}', '{status}', 'x'::bytea)"
        ))
        .await
        .unwrap();
    if !extra.is_empty() {
        client
            .batch_execute(&format!("UPDATE pgqueuer SET {extra} WHERE id = {id}"))
            .await
            .unwrap();
    }
}

/// A log row for `job_id`, created `ago` (an SQL interval) before now.
async fn log(client: &Client, job_id: i64, entrypoint: &str, status: &str, ago: &str) {
    client
        .batch_execute(&format!(
            "INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority, created) \
             VALUES ({job_id}, '{status}', '{entrypoint}', 0, now() - interval '{ago}')"
        ))
        .await
        .unwrap();
}

/// `pgq why ARGS` as text and as JSON (both must succeed).
fn why(db: &TestDb, args: &[&str]) -> (String, Value) {
    let mut text_args = vec!["why"];
    text_args.extend_from_slice(args);
    let out = db.pgq(&text_args);
    assert_exit(&out, 0);
    let mut json_args = vec!["--json", "why"];
    json_args.extend_from_slice(args);
    let json = db.pgq(&json_args);
    assert_exit(&json, 0);
    let value = serde_json::from_str(stdout(&json).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(&json)));
    (stdout(&out), value)
}

/// The JSON reason of kind `kind`, failing with the whole answer otherwise.
fn reason<'a>(json: &'a Value, kind: &str) -> &'a Value {
    json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason"] == kind)
        .unwrap_or_else(|| panic!("no {kind} reason in {json:#}"))
}

#[tokio::test]
async fn a_deferred_job_is_not_due_and_a_retried_one_is_in_backoff() {
    let db = TestDb::installed();
    let c = db.client().await;
    job(
        &c,
        1,
        "resize",
        "queued",
        "execute_after = now() + interval '42 min 10 s'",
    )
    .await;
    job(
        &c,
        2,
        "resize",
        "queued",
        "execute_after = now() + interval '5 min 10 s', attempts = 3",
    )
    .await;

    let (text, json) = why(&db, &["1"]);
    assert!(text.starts_with("job 1 (resize, queued):\n"), "{text}");
    assert!(
        text.contains("not due yet: execute_after is in 42 min (deferred when enqueued)"),
        "{text}"
    );
    let r = reason(&json, "not_due");
    let due = r["due_in_seconds"].as_f64().unwrap();
    assert!((2500.0..=2530.0).contains(&due), "{r}");
    assert_eq!(json["reasons"].as_array().unwrap().len(), 1, "{json:#}");

    let (text, json) = why(&db, &["2"]);
    assert!(
        text.contains("in retry backoff after attempt 3, it may run again in 5 min"),
        "{text}"
    );
    assert_eq!(reason(&json, "not_due")["attempts"], 3);
}

#[tokio::test]
async fn a_job_behind_others_waits_its_turn_with_an_estimate() {
    let db = TestDb::installed();
    let c = db.client().await;
    // Dequeue order: priority DESC, id ASC. Ahead of job 10: the two of
    // higher priority and the three older ones of its priority; not the
    // deferred one, the younger one or another entrypoint's.
    for id in 1..=3 {
        job(&c, id, "resize", "queued", "").await;
    }
    job(&c, 4, "resize", "queued", "priority = 5").await;
    job(&c, 5, "resize", "queued", "priority = 5").await;
    job(
        &c,
        6,
        "resize",
        "queued",
        "execute_after = now() + interval '1 h', priority = 9",
    )
    .await;
    job(&c, 7, "email", "queued", "priority = 9").await;
    job(&c, 10, "resize", "queued", "").await;
    job(&c, 11, "resize", "queued", "").await;
    // 60 finished in the last 5 min (one in the next window does not count).
    for i in 0..60 {
        log(&c, 100 + i, "resize", "picked", "2 min").await;
        log(&c, 100 + i, "resize", "successful", "1 min").await;
    }
    log(&c, 999, "resize", "successful", "20 min").await;

    let (text, json) = why(&db, &["10"]);
    assert!(
        text.contains("waiting its turn: 5 jobs of resize rank ahead of it (priority, then id); resize finished 60 jobs in the last 5 min, so about 30 s until it is reached"),
        "{text}"
    );
    let r = reason(&json, "waiting_turn");
    assert_eq!(r["ahead"], 5);
    assert_eq!(r["finished_in_window"], 60);
    assert_eq!(r["eta_seconds"].as_f64().unwrap().round(), 30.0);
    // It is served (picks in the window): no other answer.
    assert_eq!(json["reasons"].as_array().unwrap().len(), 1, "{json:#}");

    // The older of the two at priority 5 is next (the deferred 9 is not due).
    let (text, _) = why(&db, &["4"]);
    assert!(text.contains("next in line"), "{text}");
}

#[tokio::test]
async fn nobody_serves_an_entrypoint_whose_jobs_are_not_picked_while_others_are() {
    let db = TestDb::installed();
    let c = db.client().await;
    job(&c, 1, "resize", "queued", "").await;
    log(&c, 1, "resize", "queued", "20 min").await;
    log(&c, 50, "resize", "picked", "3 h 5 min").await;
    for id in 60..63 {
        log(&c, id, "email", "picked", "1 min").await;
    }

    let (text, json) = why(&db, &["1"]);
    assert!(
        text.contains("nobody serves it: no job of resize was picked in the last 5 min while 3 jobs of other entrypoints were; the last pick of resize was 3 h 5 min ago"),
        "{text}"
    );
    let r = reason(&json, "no_worker");
    assert_eq!(r["others_picked_in_window"], 3);
    assert_eq!(
        (r["seconds_since_pick"].as_f64().unwrap() / 60.0).round(),
        185.0
    );
    reason(&json, "waiting_turn");

    // Nothing picked anywhere: the question is whether any worker runs.
    c.batch_execute("DELETE FROM pgqueuer_log WHERE entrypoint = 'email'")
        .await
        .unwrap();
    let (text, _) = why(&db, &["1"]);
    assert!(
        text.contains(
            "no job of any entrypoint was picked in the last 5 min (is a worker running?)"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn an_entrypoint_at_capacity_runs_jobs_and_picks_none_of_the_queued() {
    let db = TestDb::installed();
    let c = db.client().await;
    let picked = format!(
        "queue_manager_id = '{WORKER}', heartbeat = now(), updated = now() - interval '10 min'"
    );
    job(&c, 1, "resize", "picked", &picked).await;
    job(&c, 2, "resize", "picked", &picked).await;
    job(&c, 3, "resize", "queued", "").await;
    log(&c, 1, "resize", "picked", "10 min").await;
    log(&c, 2, "resize", "picked", "10 min").await;

    let (text, json) = why(&db, &["3"]);
    assert!(
        text.contains("at capacity: 2 jobs of resize are running"),
        "{text}"
    );
    assert!(
        text.contains("none of its queued jobs was picked for 10 min"),
        "{text}"
    );
    let r = reason(&json, "at_capacity");
    assert_eq!(r["running"], 2);
    // Its workers are alive: not "nobody serves it".
    assert!(
        !json["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reason"] == "no_worker"),
        "{json:#}"
    );

    // A picked job with a live heartbeat is simply running.
    let (text, json) = why(&db, &["1"]);
    assert!(
        text.contains(&format!("running: picked by worker {WORKER}, heartbeat")),
        "{text}"
    );
    assert_eq!(reason(&json, "running")["queue_manager_id"], WORKER);
}

#[tokio::test]
async fn a_held_job_names_its_attempts_last_error_and_the_requeue_command() {
    let db = TestDb::installed();
    let c = db.client().await;
    job(&c, 7, "sync_crm", "failed", "attempts = 2").await;
    log(&c, 7, "sync_crm", "queued", "30 min").await;
    for ago in ["29 min", "20 min", "10 min"] {
        log(&c, 7, "sync_crm", "picked", ago).await;
    }
    c.batch_execute(
        r#"INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority, traceback)
           VALUES (7, 'failed', 'sync_crm', 0, '{"job_id": 7, "exception_type": "TimeoutError",
             "exception_message": "crm did not answer",
             "traceback": "Traceback (most recent call last):\n  File \"crm.py\", line 3\nTimeoutError: crm did not answer\n"}')"#,
    )
    .await
    .unwrap();

    let (text, json) = why(&db, &["7"]);
    assert!(
        text.contains("held: failed after 3 attempts (last error: TimeoutError: crm did not answer); put it back in the queue with: pgq requeue 7"),
        "{text}"
    );
    let r = reason(&json, "held");
    assert_eq!(r["attempts"], 3);
    assert_eq!(r["requeue_command"], "pgq requeue 7");
    assert_eq!(r["last_error"], "TimeoutError: crm did not answer");
}

#[tokio::test]
async fn a_stale_heartbeat_names_the_worker_and_the_re_pick() {
    let db = TestDb::installed();
    let c = db.client().await;
    job(
        &c,
        5,
        "resize",
        "picked",
        &format!("queue_manager_id = '{WORKER}', heartbeat = now() - interval '12 min'"),
    )
    .await;

    let (text, json) = why(&db, &["5"]);
    assert!(
        text.contains(&format!(
            "picked by worker {WORKER}, whose heartbeat is 12 min old (stale after 30 s)"
        )),
        "{text}"
    );
    assert!(
        text.contains("it will be picked again once a worker's heartbeat timeout has passed"),
        "{text}"
    );
    let r = reason(&json, "stale_heartbeat");
    assert_eq!(r["queue_manager_id"], WORKER);
    assert_eq!(
        (r["heartbeat_seconds_ago"].as_f64().unwrap() / 60.0).round(),
        12.0
    );
}

#[tokio::test]
async fn a_held_job_whose_dedupe_key_another_job_holds_is_blocked() {
    let db = TestDb::installed();
    let c = db.client().await;
    job(&c, 1, "report", "failed", "dedupe_key = 'daily'").await;
    job(&c, 2, "report", "queued", "dedupe_key = 'daily'").await;

    let (text, json) = why(&db, &["1"]);
    assert!(
        text.contains(r#"blocked by its dedupe key "daily": job 2 (queued) holds it, so requeuing this one fails until that job is gone"#),
        "{text}"
    );
    let r = reason(&json, "dedupe_blocked");
    assert_eq!(r["blocking_job"], 2);
    assert_eq!(r["dedupe_key"], "daily");
    reason(&json, "held");
    // The holder itself is not blocked by anything.
    let (_, json) = why(&db, &["2"]);
    assert!(
        !json["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["reason"] == "dedupe_blocked"),
        "{json:#}"
    );
}

#[tokio::test]
async fn a_finished_job_is_answered_from_the_log() {
    let db = TestDb::installed();
    let c = db.client().await;
    log(&c, 99, "email", "queued", "9 min").await;
    log(&c, 99, "email", "picked", "8 min").await;
    log(&c, 99, "email", "successful", "7 min").await;

    let (text, json) = why(&db, &["99"]);
    assert!(text.starts_with("job 99 (email, successful):\n"), "{text}");
    assert!(text.contains("finished: successful 7 min ago ("), "{text}");
    assert!(text.contains("it is no longer in the queue"), "{text}");
    let r = reason(&json, "finished");
    assert_eq!(r["status"], "successful");
    // `pgq job` shows the same sentence.
    let out = db.pgq(&["job", "99"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("\nWhy\n  finished: successful 7 min ago"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unknown_ids_and_schedules_exit_1_and_wrong_use_2() {
    let db = TestDb::installed();
    let out = db.pgq(&["why", "4242"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("job 4242 is neither in the queue nor in the log"),
        "{}",
        stderr(&out)
    );
    let out = db.pgq(&["why", "--schedule", "nightly"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(r#"no schedule of entrypoint "nightly""#),
        "{}",
        stderr(&out)
    );
    assert_exit(&db.pgq(&["why"]), 2);
    assert_exit(&db.pgq(&["why", "1", "--schedule", "x"]), 2);
    assert_exit(&db.pgq(&["why", "abc"]), 2);
}

#[tokio::test]
async fn a_schedule_nobody_touched_for_a_while_has_no_scheduler() {
    let db = TestDb::installed();
    let c = db.client().await;
    c.batch_execute(
        "INSERT INTO pgqueuer_schedules (expression, entrypoint, next_run, last_run, heartbeat, updated, status) VALUES
           ('*/5 * * * *', 'nightly', now() - interval '14 min', now() - interval '19 min',
            now() - interval '19 min', now() - interval '14 min 5 s', 'queued'),
           ('0 3 * * *', 'nightly', now() + interval '4 h', now() - interval '20 h',
            now() - interval '20 h', now() - interval '10 s', 'queued'),
           ('* * * * *', 'nightly', now() - interval '2 min', now() - interval '3 min',
            now() - interval '6 min', now() - interval '6 min', 'picked')",
    )
    .await
    .unwrap();

    let (text, json) = why(&db, &["--schedule", "nightly"]);
    assert!(text.starts_with("schedule nightly:\n"), "{text}");
    assert!(
        text.contains("*/5 * * * *: due 14 min ago and no scheduler has touched it for 14 min"),
        "{text}"
    );
    assert!(
        text.contains("0 3 * * *: fires next in 4 h; it last fired 20 h ago"),
        "{text}"
    );
    assert!(
        text.contains("* * * * *: claimed by a scheduler whose heartbeat is 6 min old"),
        "{text}"
    );
    let r = reason(&json, "no_scheduler");
    assert_eq!(r["expression"], "*/5 * * * *");
    assert_eq!(
        (r["touched_seconds_ago"].as_f64().unwrap() / 60.0).round(),
        14.0
    );
    reason(&json, "schedule_waiting");
    reason(&json, "schedule_stale");
    assert_eq!(json["schedule"], "nightly");
}

/// The console's job detail shows the same sentences under "why".
#[test]
fn the_console_job_detail_shows_why() {
    use crate::console::jobs::{app, detail, key, render, t0, with_page};
    use crossterm::event::KeyCode;
    use pgq::actions::Outcome;
    use pgq::actions::reports::why::{JobFacts, job_reasons};
    use pgq::console::app::Tab;
    use pgq::console::db::{DbEvent, View};
    use pgq::settings::names::ObjectNames;

    let mut detail = detail();
    let facts = JobFacts {
        due_in: -3600.0,
        ahead: 0,
        finished_recently: 0,
        picked_recently: 0,
        others_picked_recently: 0,
        last_pick_age: None,
        running: 0,
        heartbeat_age: 3600.0,
        blocker: None,
    };
    detail.why = job_reasons(
        &ObjectNames::with_prefix("", None).unwrap(),
        detail.job.as_ref(),
        Some(&facts),
        &detail.log,
        t0(),
    );
    let mut a = with_page(app(Tab::Jobs));
    key(&mut a, KeyCode::Char('G'));
    key(&mut a, KeyCode::Enter);
    a.on_db(DbEvent::Refreshed {
        view: View::Job {
            id: 48120,
            known_payload: None,
        },
        result: Ok(Outcome::Job(detail)),
    });
    let screen = render(&a, 100, 40);
    assert!(screen.contains("│why "), "{screen}");
    assert!(
        screen.contains(
            "  held: failed after 1 attempt (last error: TimeoutError: crm did not answer)"
        ),
        "{screen}"
    );
    assert!(screen.contains("pgq requeue 48120"), "{screen}");
}
