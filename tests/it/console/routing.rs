//! Results go back to the tab that asked: an action's outcome reaches the
//! tab that proposed it, not the tab on screen when it finishes, and each
//! refresh answer reaches the tab that shows it.

use std::time::Duration;

use crossterm::event::KeyCode;
use pgq::actions::Outcome;
use pgq::actions::jobs::removal::{Removal, Removed};
use pgq::actions::preview::Preview;
use pgq::actions::retention::prune::Pruned;
use pgq::actions::schema::tables::TablesReport;
use pgq::console::app::{App, Effect, Tab};
use pgq::console::db::{DbEvent, Request, View};

use super::held_bulk::held;
use super::jobs::{app, key};

/// The id of the preview `effects` ask for.
fn preview_id(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Request(Request::Preview { id, .. }) => Some(*id),
            _ => None,
        })
        .expect("a preview asked for")
}

/// Answer the preview `id` and press Confirm.
fn confirm(a: &mut App, id: u64) {
    let preview = Preview::new("Go?".into(), vec!["DELETE …".into()], "pgq …".into());
    a.on_db(DbEvent::Previewed {
        id,
        result: Ok(preview),
    });
    key(a, KeyCode::Tab);
    let effects = key(a, KeyCode::Enter);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Request(Request::Execute { id: run, .. }) if *run == id)),
        "{effects:?}"
    );
}

fn removed(ids: Vec<i64>) -> Outcome {
    Outcome::Deleted(Removed {
        removal: Removal::Delete,
        dry_run: false,
        count: ids.len() as u64,
        ids,
        batches: 1,
        events: 0,
        interrupted: false,
        left: 0,
    })
}

#[test]
fn an_outcome_returns_to_the_tab_that_proposed_it() {
    // A prune from the Durability tab, sent to the background while it runs.
    let mut a = app(Tab::Durability);
    let prune = preview_id(&key(&mut a, KeyCode::Char('p')));
    confirm(&mut a, prune);
    key(&mut a, KeyCode::Esc);
    assert!(a.confirm.is_none(), "the dialog was sent away");

    // Meanwhile the operator tags a held job on the Held tab.
    key(&mut a, KeyCode::Char('7'));
    assert_eq!(a.tab, Tab::Held);
    a.on_db(DbEvent::Refreshed {
        view: View::Held,
        result: Ok(Outcome::HeldJobs(vec![
            held(1, "mail", None),
            held(2, "mail", None),
        ])),
    });
    key(&mut a, KeyCode::Char(' '));
    assert_eq!(a.tabs.held.list.tagged.len(), 1);

    // The prune finishes: its outcome is the Durability tab's; the Held
    // tab's tags were not taken by it and stay.
    a.on_db(DbEvent::Done {
        id: prune,
        result: Ok(Outcome::Pruned(Pruned {
            log: None,
            statistics: None,
            statements: Vec::new(),
            dry_run: false,
            interrupted: false,
            elapsed_ms: 1.0,
        })),
        elapsed: Duration::from_millis(1),
        sql: Vec::new(),
    });
    assert_eq!(
        a.tabs.held.list.tagged.len(),
        1,
        "the prune's outcome went to the Held tab"
    );
    assert!(a.flash.is_some(), "a background outcome is said");
    assert_eq!(a.sql_log.entries.len(), 1);

    // The Held tab's own delete spends its tags when it is done.
    let delete = preview_id(&key(&mut a, KeyCode::Char('d')));
    confirm(&mut a, delete);
    a.on_db(DbEvent::Done {
        id: delete,
        result: Ok(removed(vec![1])),
        elapsed: Duration::from_millis(1),
        sql: Vec::new(),
    });
    assert!(
        a.tabs.held.list.tagged.is_empty(),
        "the delete spent its tags"
    );
}

#[test]
fn a_refresh_answer_reaches_the_tab_that_shows_it_wherever_the_user_is() {
    // The Durability tab's tables arrive while the Stats tab is on screen:
    // the Durability tab takes them and asks for its dry run.
    let mut a = app(Tab::Stats);
    assert!(a.tabs.durability.report.is_none());
    let effects = a.on_db(DbEvent::Refreshed {
        view: View::Tables,
        result: Ok(Outcome::Tables(TablesReport {
            tables: Vec::new(),
            retention: None,
            level: None,
        })),
    });
    assert!(a.tabs.durability.report.is_some());
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Request(Request::Preview { .. }))),
        "{effects:?}"
    );
    assert!(a.flash.is_none(), "{:?}", a.flash);
}
