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

/// Enqueue one job with pgq and return its id.
fn enqueue(db: &TestDb, entrypoint: &str) -> i64 {
    let out = db.pgq(&["--json", "queue", entrypoint, "x"]);
    assert_exit(&out, 0);
    json(&out)["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {}", stdout(&out)))
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
    let (a, b, c) = (enqueue(&db, "e"), enqueue(&db, "e"), enqueue(&db, "e"));
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
    let (a, b) = (enqueue(&db, "e"), enqueue(&db, "e"));
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
        enqueue(&db, "e");
    }
    enqueue(&db, "other");
    let out = db.pgq(&["purge", "--entrypoint", "e", "--dry-run"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("DELETE FROM pgqueuer WHERE id = ANY(ARRAY(SELECT id FROM selected))"),
        "{text}"
    );
    assert!(text.contains("-- $3 entrypoints = {e}"), "{text}");
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
    let old: Vec<i64> = (0..3).map(|_| enqueue(&db, "e")).collect();
    let young = enqueue(&db, "e");
    let other = enqueue(&db, "other");
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
    assert_eq!(removal.wait_exit(WAIT), Some(code), "stopped by SIG{signal}");
    let past = if command == "purge" { "purged" } else { "canceled" };
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
