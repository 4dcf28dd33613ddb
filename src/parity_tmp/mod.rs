//! TEMPORARY (removed once the builders are gone): generates sql/ from the
//! old builders and proves every rendered file byte-identical to them.
#![allow(dead_code)]
mod actions_old;
mod worker_old;

use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;
use actions_old::{Conflict, Ids, Session};

type Old = Box<dyn Fn(&ObjectNames) -> String>;

fn old_builders() -> Vec<(Statement, Old)> {
    use Statement as S;
    use actions_old as a;
    use worker_old as w;
    let s = |f: fn(&Session) -> String| -> Old { Box::new(move |n| f(&Session { names: n })) };
    vec![
        (S::Dequeue, Box::new(|n| w::dequeue(n, false, false))),
        (S::DequeueCapacity, Box::new(|n| w::dequeue(n, true, false))),
        (S::DequeueBudget, Box::new(|n| w::dequeue(n, false, true))),
        (S::DequeueCapacityBudget, Box::new(|n| w::dequeue(n, true, true))),
        (S::LogJobs, Box::new(w::log_jobs)),
        (S::Heartbeat, Box::new(w::heartbeat)),
        (S::Retry, Box::new(w::retry)),
        (S::ReturnToQueue, Box::new(w::return_to_queue)),
        (S::WorkProbe, Box::new(w::work_probe)),
        (S::AggregateLogs, Box::new(w::aggregate_logs)),
        (S::VerifyStructure, Box::new(w::verify_structure)),
        (S::InsertSchedules, Box::new(w::insert_schedules)),
        (S::FetchSchedules, Box::new(w::fetch_schedules)),
        (S::ScheduleHeartbeat, Box::new(w::schedule_heartbeat)),
        (S::ScheduleDone, Box::new(w::schedule_done)),
        (S::DeleteSchedules, Box::new(w::delete_schedules)),
        (S::Enqueue, Box::new(|n| a::enqueue_sql(&Session { names: n }, Conflict::Raise, Ids::Drawn))),
        (S::EnqueueUpdatePriority, Box::new(|n| a::enqueue_sql(&Session { names: n }, Conflict::UpdatePriority, Ids::Drawn))),
        (S::EnqueueGivenIds, Box::new(|n| a::enqueue_sql(&Session { names: n }, Conflict::Skip, Ids::Given))),
        (S::EnqueueGivenIdsUpdatePriority, Box::new(|n| a::enqueue_sql(&Session { names: n }, Conflict::UpdatePriority, Ids::Given))),
        (S::EnqueueFast, Box::new(|n| a::fast_enqueue_sql(&Session { names: n }, false, false))),
        (S::EnqueueFastDelays, Box::new(|n| a::fast_enqueue_sql(&Session { names: n }, true, false))),
        (S::EnqueueFastHeaders, Box::new(|n| a::fast_enqueue_sql(&Session { names: n }, false, true))),
        (S::EnqueueFastDelaysHeaders, Box::new(|n| a::fast_enqueue_sql(&Session { names: n }, true, true))),
        (S::DrawIds, s(a::draw_ids_sql)),
        (S::Requeue, s(a::requeue_sql)),
        (S::RequeueCount, s(a::requeue_count)),
        (S::DashboardStatistics, s(a::dashboard_stats)),
        (S::DashboardSummary, s(a::dashboard_summary)),
        (S::FailedJobs, s(a::failed)),
        (S::StaleJobs, s(a::stale)),
        (S::Workers, s(a::workers)),
        (S::Backlog, s(a::backlog)),
        (S::StatsDepth, s(|x| a::stats(x).0)),
        (S::StatsDone, s(|x| a::stats(x).1)),
        (S::HeldJobs, s(a::held_jobs)),
        (S::TableInfo, s(a::table_info)),
        (S::ListSchedules, s(a::list_schedules)),
        (S::RemoveSchedules, s(a::remove_sql)),
        (S::RunSchedulesNow, s(a::run_now_sql)),
    ]
}

const OBJECTS: [&str; 5] = [
    "queue_table",
    "queue_table_log",
    "statistics_table",
    "schedules_table",
    "queue_status_type",
];

/// Names that are their own placeholders, in a schema called `{schema}`.
fn placeholder_names() -> ObjectNames {
    let p = |s: &str| format!("{{{s}}}");
    ObjectNames {
        prefix: String::new(),
        schema: Some("{schema}".into()),
        queue_table: p("queue_table"),
        queue_table_log: p("queue_table_log"),
        statistics_table: p("statistics_table"),
        schedules_table: p("schedules_table"),
        queue_status_type: p("queue_status_type"),
        function: p("function"),
        trigger: p("trigger"),
        channel: p("channel"),
        legacy_statistics_status_type: p("legacy"),
    }
}

fn template_of(old: &str) -> String {
    let mut t = old.replace("'{schema}'", "{schema_expr}");
    for o in OBJECTS {
        t = t.replace(&format!("{{schema}}.{{{o}}}"), &format!("\u{1}{o}\u{1}"));
        t = t.replace(&format!("{{{o}}}"), &format!("{{bare:{o}}}"));
        t = t.replace(&format!("\u{1}{o}\u{1}"), &format!("{{{o}}}"));
    }
    assert!(!t.contains("{schema}"), "{t}");
    t
}

#[test]
#[ignore = "writes sql/: run with PGQ_WRITE_SQL=1 once"]
fn generate_sql_files() {
    if std::env::var("PGQ_WRITE_SQL").is_err() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    std::fs::create_dir_all(&dir).unwrap();
    for (statement, old) in old_builders() {
        let text = template_of(&old(&placeholder_names()));
        std::fs::write(dir.join(statement.file_name()), text + "\n").unwrap();
    }
}

#[test]
fn rendered_files_equal_the_old_builders() {
    let sets = [
        ObjectNames::default(),
        ObjectNames::with_prefix("app_", Some("jobs")).unwrap(),
        ObjectNames::with_prefix("billing", None).unwrap(),
    ];
    let builders = old_builders();
    assert_eq!(builders.len(), Statement::ALL.len());
    for (statement, old) in builders {
        for names in &sets {
            assert_eq!(
                statement.render(names),
                old(names),
                "{} with {names}",
                statement.file_name()
            );
        }
    }
}
