//! The action layer's two promises to the console: read-only mode refuses
//! every mutating action (checked over every registered action, so a new action
//! cannot slip past), and a preview shows exactly the SQL that then runs.

use crate::common;

use std::time::Duration;

use common::{TestDb, assert_exit};
use pgq::actions::jobs::enqueue::{Conflict, JobSpec};
use pgq::actions::preview::preview;
use pgq::actions::record::recording;
use pgq::actions::schedules::ScheduleRef;
use pgq::actions::{Action, ActionError, execute, kinds};
use pgq::settings::durability::Durability;

fn job(entrypoint: &str) -> JobSpec {
    JobSpec {
        entrypoint: entrypoint.into(),
        payload: Some(b"{\"n\":1}".to_vec()),
        priority: 3,
        execute_after: Duration::ZERO,
        dedupe_key: None,
        headers: serde_json::json!({"trace": "abc"}),
    }
}

/// One instance of every action, from the registry: a new action is in
/// this list by being registered.
fn every_action() -> Vec<Action> {
    Action::samples()
}

/// Everything a mutation could change: the content of every table, its
/// persistence and storage options.
async fn fingerprint(db: &TestDb) -> Vec<String> {
    let client = db.client().await;
    let mut out = Vec::new();
    for table in [
        "pgqueuer",
        "pgqueuer_log",
        "pgqueuer_statistics",
        "pgqueuer_schedules",
    ] {
        let row = client
            .query_one(
                &format!(
                    "SELECT (SELECT count(*) FROM {table}),
                            (SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {table} t),
                            (SELECT relpersistence::text || coalesce(array_to_string(reloptions, ','), '')
                               FROM pg_class WHERE relname = '{table}' AND relkind = 'r')"
                ),
                &[],
            )
            .await
            .unwrap();
        let (n, digest, storage): (i64, String, String) = (row.get(0), row.get(1), row.get(2));
        out.push(format!("{table}: {n} rows {digest} {storage}"));
    }
    out
}

async fn seed(db: &TestDb) {
    assert_exit(&db.pgq(&["queue", "seeded", "1"]), 0);
    let client = db.client().await;
    client
        .batch_execute(
            "UPDATE pgqueuer SET status = 'failed' WHERE id = 1;
             INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'nightly'), ('0 * * * *', 'hourly');",
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_every_mutating_action_and_reads_really_only_read() {
    let db = TestDb::installed();
    seed(&db).await;
    let before = fingerprint(&db).await;
    let ro = db.session(true).await;
    // The server refuses writes in this session too: a read action that
    // secretly wrote would fail here instead of passing.
    ro.client()
        .batch_execute("SET default_transaction_read_only = on")
        .await
        .unwrap();
    let mut mutating = 0;
    for action in every_action() {
        let result = execute(&ro, &action, false).await;
        if action.mutates() {
            mutating += 1;
            assert!(
                matches!(result, Err(ActionError::ReadOnly { .. })),
                "{action:?} was not refused: {result:?}"
            );
        } else {
            assert!(
                result.is_ok(),
                "read action {action:?} failed in a read-only transaction: {:?}",
                result.err()
            );
        }
    }
    assert!(
        mutating >= 9,
        "the list covers the mutating actions ({mutating})"
    );
    assert_eq!(fingerprint(&db).await, before, "nothing changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_of_an_action_without_one_is_refused_not_executed() {
    let db = TestDb::installed();
    seed(&db).await;
    let before = fingerprint(&db).await;
    let s = db.session(false).await;
    for action in every_action().into_iter().filter(|a| !a.supports_dry_run()) {
        let result = execute(&s, &action, true).await;
        assert!(
            matches!(result, Err(ActionError::NoDryRun { .. })),
            "{action:?}: {result:?}"
        );
    }
    for action in every_action()
        .into_iter()
        .filter(|a| a.mutates() && a.supports_dry_run())
    {
        let _ = execute(&s, &action, true).await;
    }
    assert_eq!(fingerprint(&db).await, before, "dry runs changed nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_show_exactly_the_sql_that_runs() {
    let db = TestDb::installed();
    seed(&db).await;
    let s = db.session(false).await;
    let hourly = || vec![ScheduleRef::Entrypoint("hourly".into())];
    let actions: [Action; 10] = [
        kinds::Enqueue {
            jobs: vec![job("previewed")],
            on_conflict: Conflict::Raise,
        }
        .into(),
        kinds::Enqueue {
            jobs: vec![job("a"), job("b")],
            on_conflict: Conflict::Raise,
        }
        .into(),
        kinds::Requeue { ids: vec![1] }.into(),
        kinds::RunSchedulesNow { ids: vec![1, 2] }.into(),
        kinds::PauseSchedules { refs: hourly() }.into(),
        kinds::ResumeSchedules { refs: hourly() }.into(),
        kinds::SkipSchedules { refs: hourly() }.into(),
        kinds::PostponeSchedules {
            refs: hourly(),
            until: chrono::Utc::now() + chrono::Duration::hours(3),
        }
        .into(),
        kinds::RemoveSchedules {
            refs: vec![ScheduleRef::Entrypoint("nightly".into())],
        }
        .into(),
        kinds::SetDurability {
            level: Durability::Balanced,
            lock_timeout: Some(Duration::from_secs(3)),
        }
        .into(),
    ];
    for action in actions {
        let shown = preview(&s, &action).await.unwrap();
        assert!(!shown.nothing_to_do, "{action:?}: {shown:?}");
        let (result, ran) = recording(execute(&s, &action, false)).await;
        result.unwrap_or_else(|e| panic!("{action:?}: {e}"));
        assert_eq!(shown.statements, ran, "{action:?}");
        assert_eq!(shown.command_line, action.command_line(&s.names));
    }
    let shown = preview(
        &s,
        &kinds::RemoveSchedules {
            refs: vec![ScheduleRef::Id(2)],
        }
        .into(),
    )
    .await
    .unwrap();
    assert_eq!(shown.question, "Remove 1 schedule: 2 hourly (0 * * * *)?");
    let shown = preview(&s, &kinds::PauseSchedules { refs: hourly() }.into())
        .await
        .unwrap();
    assert_eq!(
        shown.question,
        "Pause 1 schedule: 2 hourly (0 * * * *) → paused?"
    );
    assert!(
        shown.parameters[1].ends_with("$2 = {9999-12-31 00:00:00+00}"),
        "{shown:?}"
    );
    let shown = preview(
        &s,
        &kinds::SetDurability {
            level: Durability::Balanced,
            lock_timeout: None,
        }
        .into(),
    )
    .await
    .unwrap();
    assert!(shown.nothing_to_do, "already balanced: {shown:?}");
}
