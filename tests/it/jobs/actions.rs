//! `pgq cancel`, `pgq delete` and `pgq purge` against a real PostgreSQL:
//! what they remove and log, the cancellation events they send, dry runs,
//! the refusals (empty filter, missing --yes, unknown ids, read-only) and an
//! interrupted purge.

use crate::common;

use std::time::Duration;

use common::{TestDb, assert_exit, log_statuses, stderr, stdout, wait_for};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

async fn queue_ids(client: &tokio_postgres::Client) -> Vec<i64> {
    client
        .query("SELECT id FROM pgqueuer ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn cancel_by_id_deletes_logs_canceled_once_and_notifies_the_ids() {
    let db = TestDb::installed();
    let (a, b, c) = (
        db.enqueue(&["e", "x"]),
        db.enqueue(&["e", "x"]),
        db.enqueue(&["e", "x"]),
    );
    let listen = db.spawn_pgq(&["--json", "listen"], &[]);
    assert!(!db.wait_for_listener(WAIT).await.is_empty());

    let out = db.pgq(&["cancel", &a.to_string(), &c.to_string()]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), format!("Canceled 2 jobs ({a}, {c}).\n"));

    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, vec![b]);
    let canceled: Vec<i64> = log_statuses(&client)
        .await
        .into_iter()
        .filter(|(_, s)| s == "canceled")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(canceled, vec![a, c]);
    // The trigger's delete event, then one cancellation_event naming exactly
    // the canceled ids, as Python's mark_job_as_cancelled sends them.
    let relevant =
        |l: &str| l.contains("cancellation_event") || l.contains(r#""operation" : "delete""#);
    let first = listen.stdout_line(WAIT, relevant).expect("a first event");
    let second = listen.stdout_line(WAIT, relevant).expect("a second event");
    assert!(first.contains(r#""operation" : "delete""#), "{first}");
    let event: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(event["type"], "cancellation_event");
    assert_eq!(event["ids"], serde_json::json!([a, c]));
    assert_eq!(event["channel"], "ch_pgqueuer");
    assert!(event["sent_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn a_large_filtered_cancel_splits_its_ids_over_events_under_the_payload_limit() {
    let db = TestDb::installed();
    let client = db.client().await;
    // Ids of 19 digits: about 400 fit in one 8000-byte payload.
    client
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('pgqueuer', 'id'), 1000000000000000000);
             INSERT INTO pgqueuer (priority, entrypoint, status, execute_after)
             SELECT 0, 'many', 'queued', now() FROM generate_series(1, 1500);",
        )
        .await
        .unwrap();
    let listen = db.spawn_pgq(&["--json", "listen"], &[]);
    assert!(!db.wait_for_listener(WAIT).await.is_empty());
    let out = db.pgq(&["--json", "cancel", "--entrypoint", "many", "--yes"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["count"], 1500);
    let events = report["events"].as_u64().unwrap();
    assert!(events >= 4, "{report}");
    let mut seen = Vec::new();
    for _ in 0..events {
        let line = listen
            .stdout_line(WAIT, |l| l.contains("cancellation_event"))
            .expect("every cancellation event arrives");
        assert!(line.len() < 8000);
        let event: Value = serde_json::from_str(&line).unwrap();
        seen.extend(
            event["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap()),
        );
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 1500);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pgqueuer_log WHERE status = 'canceled'"
        )
        .await,
        1500
    );
}

#[tokio::test]
async fn refusals_change_nothing() {
    let db = TestDb::installed();
    let (a, b) = (db.enqueue(&["e", "x"]), db.enqueue(&["e", "x"]));
    let client = db.client().await;

    // Unknown id: exit 1, names it, and the known id in the list is kept.
    let out = db.pgq(&["cancel", &a.to_string(), "999999"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no queued or picked job with id 999999; nothing was canceled"),
        "{}",
        stderr(&out)
    );
    // A queued job is not a held one.
    let out = db.pgq(&["delete", &a.to_string()]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains(&format!("no held (failed) job with id {a}")));

    // Empty filters are refused before connecting.
    for args in [
        vec!["cancel"],
        vec!["delete"],
        vec!["purge"],
        vec!["cancel", "--status", "queued"],
    ] {
        let out = db.pgq(&args);
        assert_exit(&out, 2);
    }
    // More than one job without --yes: exit 2 with the count and the way on.
    let out = db.pgq(&["purge", "--entrypoint", "e"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("2 queued jobs match --entrypoint e; add --yes to purge them"),
        "{}",
        stderr(&out)
    );
    // Read-only: refused, whatever the selection.
    for args in [
        vec!["--read-only", "cancel", "1"],
        vec!["--read-only", "purge", "--entrypoint", "e", "--yes"],
    ] {
        let out = db.pgq(&args);
        assert_exit(&out, 1);
        assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    }
    assert_eq!(queue_ids(&client).await, vec![a, b]);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pgqueuer_log WHERE status <> 'queued'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn dry_run_prints_the_sql_and_the_count_and_changes_nothing() {
    let db = TestDb::installed();
    for _ in 0..3 {
        db.enqueue(&["e", "x"]);
    }
    db.enqueue(&["other", "x"]);
    let out = db.pgq(&["purge", "--entrypoint", "e", "--dry-run"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("DELETE FROM pgqueuer WHERE id = ANY(ARRAY(SELECT id FROM selected))"),
        "{text}"
    );
    assert!(text.contains("-- $6 = {\"e\"}"), "{text}");
    assert!(text.ends_with("-- would purge 3 queued jobs (dry run: nothing changed)\n"));
    let out = db.pgq(&["--json", "cancel", "--entrypoint", "e", "--dry-run"]);
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["count"], 3);
    assert_eq!(report["dry_run"], true);
    assert!(
        report["statements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "SELECT pg_notify($1, $2)")
    );
    let client = db.client().await;
    assert_eq!(count(&client, "SELECT count(*) FROM pgqueuer").await, 4);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pgqueuer_log WHERE status <> 'queued'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn purge_older_than_takes_only_old_queued_jobs_of_the_entrypoint() {
    let db = TestDb::installed();
    let client = db.client().await;
    let old: Vec<i64> = (0..3).map(|_| db.enqueue(&["e", "x"])).collect();
    let young = db.enqueue(&["e", "x"]);
    let other = db.enqueue(&["other", "x"]);
    client
        .execute(
            "UPDATE pgqueuer SET created = now() - interval '2 hours' WHERE id = ANY($1) OR id = $2",
            &[&old, &other],
        )
        .await
        .unwrap();
    let out = db.pgq(&[
        "--json",
        "purge",
        "--entrypoint",
        "e",
        "--older-than",
        "1h",
        "--yes",
    ]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["count"], 3);
    assert_eq!(queue_ids(&client).await, vec![young, other]);
    let deleted: Vec<i64> = log_statuses(&client)
        .await
        .into_iter()
        .filter(|(_, s)| s == "deleted")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(deleted, old);
}

#[tokio::test]
async fn an_interrupted_purge_leaves_whole_batches() {
    interrupted_removal("purge", "INT", 130).await;
}

/// SIGTERM (a supervisor's stop) is handled like SIGINT: whole batches, a
/// summary, and 143; before, cancel and purge died at once with no summary.
#[tokio::test]
async fn a_terminated_cancel_leaves_whole_batches_and_says_so() {
    interrupted_removal("cancel", "TERM", 143).await;
}

async fn interrupted_removal(command: &str, signal: &str, code: i32) {
    let db = TestDb::installed();
    let client = db.client().await;
    let before: i64 = 300_000;
    client
        .execute(
            "INSERT INTO pgqueuer (priority, entrypoint, status, execute_after)
             SELECT 0, 'bulk', 'queued', now() FROM generate_series(1, $1::bigint)",
            &[&before],
        )
        .await
        .unwrap();
    let mut removal = db.spawn_pgq(&[command, "--entrypoint", "bulk", "--yes"], &[]);
    let logged_sql = "SELECT count(*) FROM pgqueuer_log WHERE status IN ('deleted', 'canceled')";
    wait_for(WAIT, || async {
        (count(&client, logged_sql).await >= 10_000).then_some(())
    })
    .await
    .expect("the removal writes a first batch");
    removal.signal(signal);
    assert_eq!(
        removal.wait_exit(WAIT),
        Some(code),
        "stopped by SIG{signal}"
    );
    let past = if command == "purge" {
        "purged"
    } else {
        "canceled"
    };
    let said = removal
        .stdout_line(WAIT, |l| l.starts_with(&format!("Interrupted: {past}")))
        .expect("an interruption summary");
    let logged = count(&client, logged_sql).await;
    let remaining = count(&client, "SELECT count(*) FROM pgqueuer").await;
    assert!(remaining > 0, "the removal ended before the signal");
    assert_eq!(logged + remaining, before);
    assert_eq!(logged % 10_000, 0, "whole batches only: {logged}");
    assert!(said.contains(&format!("{past} {logged} jobs")), "{said}");
}

fn enqueue_payload(db: &TestDb, entrypoint: &str, payload: &str) -> i64 {
    let out = db.pgq(&["--json", "queue", entrypoint, payload]);
    assert_exit(&out, 0);
    json(&out)["id"].as_i64().expect("an id")
}

/// The audit: `pgq purge --search '' --yes` purged every queued job of
/// every entrypoint. A search for nothing is wrong use everywhere (exit 2),
/// and nothing is touched.
#[tokio::test]
async fn a_blank_search_is_refused_by_every_command() {
    let db = TestDb::installed();
    let ids = [db.enqueue(&["a", "x"]), db.enqueue(&["b", "x"])];
    for args in [
        vec!["purge", "--search", "", "--yes"],
        vec!["purge", "--search", "   ", "--yes"],
        vec!["cancel", "--search", "", "--yes"],
        vec!["cancel", "--search", "\t", "--dry-run"],
        vec!["jobs", "--search", ""],
        vec!["jobs", "--search", " "],
    ] {
        let out = db.pgq(&args);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("refusing an empty search"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(queue_ids(&db.client().await).await, ids);
}

/// The audit: `pgq jobs --search K=V` matched the JSON key (1 job) while
/// `purge --search K=V` matched a substring (2 jobs). One filter, one
/// meaning: count, dry run and purge take exactly what `pgq jobs` lists.
#[tokio::test]
async fn a_key_value_search_selects_the_same_jobs_to_list_count_and_purge() {
    let db = TestDb::installed();
    let hit = enqueue_payload(&db, "mail", r#"{"user": "42", "n": 1}"#);
    // Has "user" and "42" as substrings, but not the key user = 42.
    let near = enqueue_payload(&db, "mail", r#"{"n": 42, "note": "user"}"#);
    let nested = enqueue_payload(&db, "mail", r#"{"inner": {"user": "42"}}"#);
    let text = enqueue_payload(&db, "mail", "user=42 as plain text");

    let listed = db.pgq(&["--json", "jobs", "--search", "user=42"]);
    assert_exit(&listed, 0);
    let listed: Vec<i64> = json(&listed)["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![hit]);

    let dry = db.pgq(&["--json", "purge", "--search", "user=42", "--dry-run"]);
    assert_exit(&dry, 0);
    assert_eq!(json(&dry)["count"], 1, "{}", stdout(&dry));
    // Without --yes a single job goes ahead, as for any filter of one.
    let out = db.pgq(&["--json", "purge", "--search", "user=42"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["count"], 1);
    let client = db.client().await;
    assert_eq!(queue_ids(&client).await, vec![near, nested, text]);
    // Cancel reads it the same way (and a headers key too).
    let out = db.pgq(&["--json", "cancel", "--search", "n=42", "--yes"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["count"], 1);
    assert_eq!(queue_ids(&client).await, vec![nested, text]);
}

/// The audit: a filter-wide purge confirmed as "Purge 35 jobs" purged 37
/// (two arrived meanwhile). A confirmed count is a bound: the action the
/// console runs is the one its preview counted, at most those jobs.
#[tokio::test]
async fn a_confirmed_count_bounds_what_a_filter_wide_purge_takes() {
    use pgq::actions::jobs::filter::JobFilter;
    use pgq::actions::jobs::selection::JobSelection;
    use pgq::actions::{Action, kinds};

    let db = TestDb::installed();
    let client = db.client().await;
    client
        .execute(
            "INSERT INTO pgqueuer (priority, entrypoint, status, execute_after)
             SELECT 0, 'bulk', 'queued', now() FROM generate_series(1, 35)",
            &[],
        )
        .await
        .unwrap();
    let session = db.session(false).await;
    let proposed = Action::from(kinds::PurgeJobs {
        selection: JobSelection::Filter(Box::new(JobFilter {
            entrypoints: vec!["bulk".into()],
            ..JobFilter::default()
        })),
        bound: None,
    });
    let preview = pgq::actions::preview::preview(&session, &proposed)
        .await
        .unwrap();
    assert!(
        preview.question.starts_with("Purge 35 jobs"),
        "{}",
        preview.question
    );
    let warning = preview.warning.clone().unwrap_or_default();
    assert!(warning.contains("At most these 35 jobs"), "{warning}");
    // Two more arrive while the operator reads the dialog.
    let late: Vec<i64> = client
        .query(
            "INSERT INTO pgqueuer (priority, entrypoint, status, execute_after)
             SELECT 0, 'bulk', 'queued', now() FROM generate_series(1, 2) RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // What the console runs on "Confirm".
    let confirmed = proposed.within(preview.bound);
    let outcome = confirmed.execute(&session, false).await.unwrap();
    let pgq::actions::Outcome::Purged(removed) = outcome else {
        panic!("not a purge outcome");
    };
    assert_eq!(removed.count, 35);
    assert_eq!(queue_ids(&client).await, late);
}

/// The audit: a header search ran on the headers' JSON text, so `x"y`
/// (stored as `x\"y`) was never found and `\` matched any escaped
/// character. Searched by keys and decoded values, listing and acting alike.
#[tokio::test]
async fn a_text_search_reads_header_values_as_written() {
    let db = TestDb::installed();
    let queue = |header: &str| {
        let out = db.pgq(&["--json", "queue", "h", "{}", "--header", header]);
        assert_exit(&out, 0);
        json(&out)["id"].as_i64().expect("an id")
    };
    let quoted = queue(r#"note=say "hi""#);
    let newline = queue("note=line\nbreak");
    let backslash = queue(r"path=C:\temp");
    let listed = |search: &str| -> Vec<i64> {
        let out = db.pgq(&["--json", "jobs", "--search", search, "--oldest-first"]);
        assert_exit(&out, 0);
        json(&out)["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(listed(r#"say "hi""#), vec![quoted]);
    assert_eq!(listed("\\"), vec![backslash]);
    assert_eq!(listed("line\nbreak"), vec![newline]);
    assert_eq!(listed("path"), vec![backslash], "keys are searched too");
    let out = db.pgq(&["--json", "purge", "--search", "\\", "--dry-run"]);
    assert_exit(&out, 0);
    assert_eq!(json(&out)["count"], 1);
}

/// `pgq requeue` takes the job filter too (as `pgq jobs` lists), with
/// `--dry-run` and the `--yes` guard; ids keep naming what is not held.
#[tokio::test]
async fn requeue_by_filter_puts_back_exactly_the_held_jobs_it_lists() {
    let db = TestDb::installed();
    let client = db.client().await;
    let held: Vec<i64> = client
        .query(
            "INSERT INTO pgqueuer (priority, entrypoint, status, attempts, payload)
             VALUES (0, 'mail', 'failed', 3, 'timeout'), (0, 'mail', 'failed', 2, 'timeout'),
                    (0, 'mail', 'failed', 1, 'bad address'), (0, 'sms', 'failed', 1, 'timeout')
             RETURNING id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let queued = db.enqueue(&["mail", "x"]);
    let args = ["requeue", "--entrypoint", "mail", "--search", "timeout"];
    let dry = db.pgq(&[&["--json"], &args[..], &["--dry-run"]].concat());
    assert_exit(&dry, 0);
    assert_eq!(json(&dry)["count"], 2);
    let guarded = db.pgq(&args);
    assert_exit(&guarded, 2);
    assert!(
        stderr(&guarded).contains("add --yes"),
        "{}",
        stderr(&guarded)
    );
    let out = db.pgq(&[&["--json"], &args[..], &["--yes"]].concat());
    assert_exit(&out, 0);
    assert_eq!(json(&out)["count"], 2);
    let rows = client
        .query(
            "SELECT id, status::text, attempts FROM pgqueuer ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let state: Vec<(i64, String, i32)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        state,
        vec![
            (held[0], "queued".into(), 0),
            (held[1], "queued".into(), 0),
            (held[2], "failed".into(), 1),
            (held[3], "failed".into(), 1),
            (queued, "queued".into(), 0),
        ]
    );
    let logged: Vec<i64> = log_statuses(&client)
        .await
        .into_iter()
        .filter(|(id, s)| s == "queued" && held.contains(id))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(logged, vec![held[0], held[1]]);
    // By id: the one not held is named, the held one requeued.
    let out = db.pgq(&["requeue", &held[2].to_string(), &queued.to_string()]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("Re-queued 1 job"), "{}", stdout(&out));
}
