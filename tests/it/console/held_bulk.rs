//! Held jobs in bulk from the console: `A` requeues and `D` deletes every
//! held job matching the Held tab's filter (by the entrypoints it names) or
//! the Jobs tab's applied filter, through the confirmation dialog whose
//! count bounds what is done.

use crate::common;

use std::time::Duration;

use crossterm::event::KeyCode;
use pgq::actions::Action;
use pgq::actions::Outcome;
use pgq::actions::jobs::filter::{JobFilter, JobStatus};
use pgq::actions::jobs::selection::JobSelection;
use pgq::actions::kinds::{DeleteJobs, RequeueJobs};
use pgq::actions::reports::FailedJob;
use pgq::actions::schema::tables::HeldJob;
use pgq::console::app::{App, Effect, Tab};
use pgq::console::db::{DbEvent, Request, View};

use super::jobs::{app, key, t0};
use common::TestDb;
use common::pty::Console;

pub(crate) fn held(id: i64, entrypoint: &str, traceback: Option<&str>) -> HeldJob {
    HeldJob {
        job: FailedJob {
            id,
            priority: 0,
            created: t0() - chrono::Duration::hours(1),
            updated: t0() - chrono::Duration::minutes(5),
            heartbeat: t0() - chrono::Duration::minutes(5),
            execute_after: t0() - chrono::Duration::hours(1),
            status: "failed".into(),
            entrypoint: entrypoint.into(),
            attempts: 1,
            queue_manager_id: None,
            slot: None,
            headers: None,
            payload_bytes: 2,
        },
        traceback: traceback
            .map(|t| serde_json::json!({"exception_type": "RuntimeError", "exception_message": t})),
        failed_at: None,
    }
}

fn typed(a: &mut App, text: &str) {
    for c in text.chars() {
        key(a, KeyCode::Char(c));
    }
}

/// A new filter in place of the one kept (Esc on the `/` line clears it).
fn filter(a: &mut App, text: &str) {
    key(a, KeyCode::Char('/'));
    key(a, KeyCode::Esc);
    key(a, KeyCode::Char('/'));
    typed(a, text);
    key(a, KeyCode::Enter);
}

fn proposed(effects: &[Effect]) -> Option<Action> {
    effects.iter().find_map(|e| match e {
        Effect::Request(Request::Preview { action, .. }) => Some(action.clone()),
        _ => None,
    })
}

fn render(a: &App) -> String {
    crate::common::console::render(a, 120, 30)
}

fn failed_of(entrypoints: &[&str]) -> JobSelection {
    JobSelection::Filter(Box::new(JobFilter {
        status: Some(JobStatus::Failed),
        entrypoints: entrypoints.iter().map(|e| e.to_string()).collect(),
        ..JobFilter::default()
    }))
}

fn held_app() -> App {
    let mut a = app(Tab::Held);
    a.on_db(DbEvent::Refreshed {
        view: View::Held,
        result: Ok(Outcome::HeldJobs(vec![
            held(1, "mail", Some("smtp timeout")),
            held(2, "mail_digest", None),
            held(3, "sms", Some("gateway down")),
            held(4, "mail", None),
        ])),
    });
    a
}

#[test]
fn held_tab_proposes_requeue_and_delete_of_the_entrypoints_its_filter_names() {
    let mut a = held_app();
    // No filter: every held job.
    let action = proposed(&key(&mut a, KeyCode::Char('A'))).expect("a proposal");
    assert_eq!(
        action,
        Action::from(RequeueJobs {
            selection: failed_of(&[]),
            bound: None
        })
    );

    filter(&mut a, "mail");
    let action = proposed(&key(&mut a, KeyCode::Char('A'))).expect("a proposal");
    assert_eq!(
        action,
        Action::from(RequeueJobs {
            selection: failed_of(&["mail", "mail_digest"]),
            bound: None
        })
    );
    let action = proposed(&key(&mut a, KeyCode::Char('D'))).expect("a proposal");
    assert_eq!(
        action,
        Action::from(DeleteJobs {
            selection: failed_of(&["mail", "mail_digest"]),
            bound: None
        })
    );

    // A filter kept only by a traceback cannot be selected by entrypoint:
    // refused, saying why, rather than acting on something else.
    filter(&mut a, "gateway");
    let effects = key(&mut a, KeyCode::Char('A'));
    assert_eq!(proposed(&effects), None);
    let screen = render(&a);
    assert!(screen.contains("by id or traceback"), "{screen}");
}

#[test]
fn jobs_tab_proposes_requeue_and_delete_of_the_held_jobs_its_filter_lists() {
    let mut a = app(Tab::Jobs);
    // Never on every job without a filter, as C and P.
    assert_eq!(proposed(&key(&mut a, KeyCode::Char('A'))), None);
    filter(&mut a, "ep:mail");
    let action = proposed(&key(&mut a, KeyCode::Char('A')))
        .unwrap_or_else(|| panic!("a proposal: {:?}", a.flash.as_ref().map(|f| &f.text)));
    assert_eq!(
        action,
        Action::from(RequeueJobs {
            selection: failed_of(&["mail"]),
            bound: None
        })
    );
    let action = proposed(&key(&mut a, KeyCode::Char('D'))).expect("a proposal");
    assert_eq!(
        action,
        Action::from(DeleteJobs {
            selection: failed_of(&["mail"]),
            bound: None
        })
    );
    filter(&mut a, "status:queued");
    assert_eq!(proposed(&key(&mut a, KeyCode::Char('D'))), None);
    let screen = render(&a);
    assert!(screen.contains("act on held (failed) jobs"), "{screen}");
}

const WAIT: Duration = Duration::from_secs(30);

async fn hold(client: &tokio_postgres::Client, ids: &[i64]) {
    client
        .execute(
            "UPDATE pgqueuer SET status = 'failed' WHERE id = ANY($1)",
            &[&ids.to_vec()],
        )
        .await
        .unwrap();
}

async fn ids_with_status(client: &tokio_postgres::Client, status: &str) -> Vec<i64> {
    client
        .query(
            "SELECT id FROM pgqueuer WHERE status::text = $1 ORDER BY id",
            &[&status],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requeue_all_matching_on_the_held_tab_takes_exactly_the_counted_jobs() {
    let db = TestDb::installed();
    let client = db.client().await;
    let mail: Vec<i64> = (0..12).map(|_| db.enqueue(&["mail", "x"])).collect();
    let sms: Vec<i64> = (0..8).map(|_| db.enqueue(&["sms", "x"])).collect();
    hold(&client, &mail).await;
    hold(&client, &sms).await;

    let mut console = Console::start(&db.dsn(), &[]);
    console.press("7");
    console.wait_for("the held jobs", WAIT, |s| s.contains("sms"));
    console.press("/");
    console.press("mail");
    console.press("\r");
    console.wait_for("the filtered held jobs", WAIT, |s| {
        s.contains("mail") && !s.contains("sms")
    });
    console.press("A");
    let dialog = console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    let flat = dialog.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("Requeue 12 jobs matching the filter status:failed ep:mail"),
        "{dialog}"
    );
    // More held mail jobs after the count: the confirmed count bounds it.
    let late: Vec<i64> = (0..3).map(|_| db.enqueue(&["mail", "x"])).collect();
    hold(&client, &late).await;
    console.press("\t");
    console.press("\r");
    console.wait_for("the outcome", WAIT, |s| s.contains("requeued 12"));
    console.press("\r");
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));

    assert_eq!(ids_with_status(&client, "queued").await, mail);
    let mut still_held = sms.clone();
    still_held.extend(&late);
    still_held.sort();
    assert_eq!(ids_with_status(&client, "failed").await, still_held);
}
