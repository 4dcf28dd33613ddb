//! The console's chrome at the SSH default of 80×24: the tab bar names every
//! tab (the current one in full) and hint lines end on whole hints; the help
//! lists the tabs that are there; the confirm dialog is as tall as what it
//! says; counts read naturally. Drawn into ratatui's TestBackend from seeded
//! state, and the real `pgq demo` in a pseudo-terminal.

use crate::common;

use std::time::Duration;

use crossterm::event::KeyCode;
use pgq::actions::Outcome;
use pgq::actions::kinds::RemoveSchedules;
use pgq::actions::preview::Preview;
use pgq::actions::schedules::{Removal, Schedule, ScheduleRef};
use pgq::console::app::{App, AppOptions, Effect, Tab};
use pgq::console::db::{DbEvent, Request};
use pgq::console::tabs::worker::WorkerTab;
use pgq::console::theme::Theme;
use pgq::worker::Snapshot;

use common::console::{self, key, screen as render, t0};
use common::pty::{Console, line_with};
use common::{admin_dsn, ensure_server};

fn app(worker: bool) -> App {
    let mut a = App::new(AppOptions {
        theme: Theme::monochrome(),
        events_buffer: 1_000,
        ..console::options(Tab::Stats)
    });
    console::connect(&mut a, "16.4");
    if worker {
        a.attach_worker(WorkerTab::new(Snapshot::new(uuid::Uuid::nil()), false));
    }
    a
}

/// The hints of a hint line: "key label" pieces two spaces apart.
fn hints_of(line: &str) -> Vec<String> {
    line.trim_end()
        .split("  ")
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect()
}

#[test]
fn every_tab_at_80x24_names_the_tab_set_and_ends_hints_whole() {
    let mut a = app(true);
    let titles = [
        "Stats",
        "Jobs",
        "Events",
        "Schedules",
        "Durability",
        "Enqueue",
        "Held",
        "Workers",
        "Worker",
    ];
    assert_eq!(a.tabs().len(), titles.len());
    for (i, title) in titles.iter().enumerate() {
        key(&mut a, KeyCode::Char(char::from(b'1' + i as u8)));
        // What the hint line says with room for everything.
        let wide = render(&a, 400, 24);
        let mut whole = hints_of(&wide[23]);
        whole.push("? more".into());
        let screen = render(&a, 80, 24);
        let bar = &screen[0];
        assert!(
            bar.contains(&format!(" {} {title} ", i + 1)),
            "the current tab is named: {bar:?}"
        );
        for n in 1..=titles.len() {
            assert!(bar.contains(&format!(" {n} ")), "tab {n} is in {bar:?}");
        }
        for word in bar.split_whitespace() {
            assert!(
                word == "pgq"
                    || word.parse::<usize>().is_ok()
                    || titles.contains(&word)
                    || ["Sched", "Durab", "Enq", "Wkrs", "Run"].contains(&word),
                "{word:?} is cut in {bar:?}"
            );
        }
        // Every tab keeps a name at 80 columns, not only the current one.
        let named = bar
            .split_whitespace()
            .filter(|w| w.parse::<usize>().is_err() && *w != "pgq")
            .count();
        assert_eq!(named, titles.len(), "every tab is named in {bar:?}");
        let hints = hints_of(&screen[23]);
        assert!(!hints.is_empty());
        for hint in &hints {
            assert!(whole.contains(hint), "{hint:?} is cut in {:?}", screen[23]);
        }
        assert!(hints.contains(&"q quit".to_string()), "{hints:?}");
        if hints.len() < whole.len() - 1 {
            assert_eq!(hints.last().map(String::as_str), Some("? more"));
        }
    }
}

#[test]
fn the_help_names_the_worker_tab_only_when_there_is_one() {
    let mut plain = app(false);
    key(&mut plain, KeyCode::Char('?'));
    let help = render(&plain, 160, 48).join("\n");
    assert!(help.contains("1–8"), "{help}");
    assert!(!help.contains("Worker tab"), "{help}");
    assert!(!help.contains("9: Worker"), "{help}");

    let mut hosted = app(true);
    key(&mut hosted, KeyCode::Char('?'));
    let help = render(&hosted, 160, 48).join("\n");
    assert!(help.contains("1–9"), "{help}");
    assert!(help.contains("Tabs (9: Worker)"), "{help}");
    // The change log's key says what it lists.
    assert!(help.contains("Changes made, with SQL"), "{help}");
}

fn schedule(id: i64) -> Schedule {
    Schedule {
        id,
        expression: "0 3 * * *".into(),
        heartbeat: t0(),
        created: t0(),
        updated: t0(),
        next_run: t0(),
        last_run: None,
        status: Some("queued".into()),
        entrypoint: "nightly_report".into(),
    }
}

fn remove_one(a: &mut App, preview: Preview) -> u64 {
    let effects = a.propose(
        RemoveSchedules {
            refs: vec![ScheduleRef::Id(7)],
        }
        .into(),
    );
    let [Effect::Request(Request::Preview { id, .. })] = effects.as_slice() else {
        panic!("a preview request: {effects:?}");
    };
    a.on_db(DbEvent::Previewed {
        id: *id,
        result: Ok(preview),
    });
    *id
}

#[test]
fn the_confirm_dialog_is_as_tall_as_its_text_and_counts_read_naturally() {
    let mut a = app(false);
    let preview = Preview::new(
        "Remove 1 schedule (id 7, nightly_report)?".into(),
        vec!["DELETE FROM pgqueuer_schedules\nWHERE id = ANY($1) RETURNING *".into()],
        "pgq schedules --remove 7".into(),
    );
    let id = remove_one(&mut a, preview.clone());
    let screen = render(&a, 80, 24);
    insta::assert_snapshot!("chrome_confirm_small_80x24", screen.join("\n"));
    let height = screen.iter().filter(|l| l.contains('│')).count();
    assert!(
        height < 12,
        "a short statement, a short dialog:\n{}",
        screen.join("\n")
    );

    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Enter);
    a.on_db(DbEvent::Done {
        id,
        result: Ok(Outcome::SchedulesRemoved(Removal {
            removed: vec![schedule(7)],
            unmatched: Vec::new(),
            applied: true,
        })),
        elapsed: Duration::from_millis(3),
        sql: preview.statements.clone(),
    });
    let done = render(&a, 80, 24).join("\n");
    assert!(done.contains("removed 1 schedule (3 ms)"), "{done}");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('L'));
    let log = render(&a, 80, 24).join("\n");
    assert!(
        log.contains("Changes this session made or tried, with their SQL"),
        "{log}"
    );
    assert!(log.contains("removed 1 schedule"), "{log}");
}

#[test]
fn a_long_confirm_dialog_takes_the_screen_and_scrolls_to_its_last_line() {
    let mut a = app(false);
    let statement: Vec<String> = (1..=60).map(|i| format!("-- line {i}")).collect();
    let preview = Preview::new(
        "Remove 60 schedules?".into(),
        vec![statement.join("\n")],
        "pgq schedules --remove 7".into(),
    );
    remove_one(&mut a, preview);
    let screen = render(&a, 80, 24).join("\n");
    assert!(screen.contains("-- line 1\u{20}"), "{screen}");
    assert!(!screen.contains("-- line 60"), "{screen}");
    for _ in 0..200 {
        key(&mut a, KeyCode::Char('j'));
    }
    let screen = render(&a, 80, 24).join("\n");
    assert!(
        screen.contains("-- line 60"),
        "scrolled to the end:\n{screen}"
    );
    assert!(screen.contains("[ Cancel ]"), "{screen}");
    // Scrolling stopped at the end, so one step up shows the line before.
    key(&mut a, KeyCode::Char('k'));
    let screen = render(&a, 80, 24).join("\n");
    assert!(!screen.contains("-- line 60"), "{screen}");
    assert!(screen.contains("-- line 59"), "{screen}");
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

#[test]
fn the_demo_console_at_80x24_opens_on_5_minutes_and_names_every_tab() {
    ensure_server();
    let name = unique("pgq_demo_chrome");
    let mut console = Console::start_sized(
        &admin_dsn(),
        &["demo", "--name", &name, "--rate", "20"],
        24,
        80,
    );
    let screen = console.wait_for("the Stats tab", Duration::from_secs(30), |s| {
        s.contains("window 5m")
    });
    let lines: Vec<&str> = screen.lines().collect();
    let bar = lines[0];
    assert!(bar.contains("1 Stats"), "{bar:?}");
    assert!(bar.contains(" 9 "), "the Worker tab's key shows: {bar:?}");
    console.press("9");
    let screen = console.wait_for("the Worker tab", Duration::from_secs(10), |s| {
        s.lines().next().is_some_and(|l| l.contains("9 Worker")) && s.contains("q quit")
    });
    let hints = line_with(&screen, "q quit").unwrap_or_default().trim_end();
    assert!(
        ["more", "pause", "refresh"]
            .iter()
            .any(|h| hints.ends_with(h)),
        "the hint line ends on a whole hint: {hints:?}"
    );
    console.press("?");
    console.wait_for("the help", Duration::from_secs(10), |s| {
        s.contains("Tabs (9: Worker)")
    });
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(30)), Some(0));
}

/// Issue 22 §6: the confirm dialog showed a statement from sql/*.sql with
/// the indentation of its file (twelve spaces deep) and long lines wrapped
/// back to the dialog's left edge. Now it is dedented, and a wrapped line
/// continues under its own indentation.
#[test]
fn confirm_sql_is_dedented_and_wraps_under_itself_at_80_columns() {
    let mut a = app(false);
    let names = pgq::settings::names::ObjectNames::with_prefix("", None).unwrap();
    let sql = pgq::db::statements::Statement::RequeueJobs
        .render_filtered(&names, "entrypoint = ANY($6::text[])");
    let preview = Preview::new(
        "Requeue every held job of send_email?".into(),
        vec![sql],
        "pgq requeue --entrypoint send_email".into(),
    );
    remove_one(&mut a, preview);
    let first = render(&a, 80, 24);
    insta::assert_snapshot!("chrome_confirm_requeue_sql_80x24", first.join("\n"));
    let screen = first.join("\n");
    assert!(screen.contains("│  WITH selected AS ("), "{screen}");
    assert!(
        screen.contains("│      SELECT id FROM pgqueuer\u{20}"),
        "dedented:\n{screen}"
    );
    for _ in 0..40 {
        key(&mut a, KeyCode::Char('j'));
    }
    let last = render(&a, 80, 24);
    insta::assert_snapshot!("chrome_confirm_requeue_sql_80x24_end", last.join("\n"));
    // Every SQL row, first or continued, is indented: none starts at the
    // dialog's edge, so a wrapped tail never reads as a clause of its own.
    // On the first screen the SQL starts under its heading; scrolled to the
    // end, every row above the buttons is SQL.
    let inside = |screen: &[String]| -> Vec<String> {
        screen
            .iter()
            .filter_map(|l| l.split('│').nth(1).map(str::to_string))
            .collect()
    };
    let first_rows: Vec<String> = inside(&first)
        .into_iter()
        .skip_while(|l| !l.starts_with("SQL"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let last_rows: Vec<String> = inside(&last)
        .into_iter()
        .take_while(|l| !l.trim().is_empty())
        .collect();
    assert!(
        first_rows.len() > 3 && last_rows.len() > 10,
        "{first_rows:?} {last_rows:?}"
    );
    for row in first_rows.iter().chain(&last_rows) {
        assert!(row.starts_with("  "), "{row:?} in\n{}", last.join("\n"));
    }
    let end = last.join("\n");
    assert!(
        end.contains("│  SELECT id FROM requeued ORDER BY id"),
        "{end}"
    );
}

/// A PostgreSQL error as long as real ones are.
const LONG_ERROR: &str = "refresh failed: could not serialize access due to concurrent update while locking tuple (0,42) in relation \"pgqueuer\"; the statement was canceled after 30 s [SQLSTATE 40001]";

/// Issue 22 §6: a flash was cut even at 160 columns, silently, and gone
/// four seconds later. Now the status bar ends a cut message in "…" and the
/// key that shows every message of the session in full, wrapped.
#[test]
fn a_cut_flash_says_so_and_m_shows_every_message_in_full() {
    let mut a = app(false);
    a.on_db(DbEvent::AuditProblem(LONG_ERROR.into()));
    for width in [80, 120, 160] {
        let screen = render(&a, width, 24);
        let status = &screen[22];
        assert!(
            status.trim_end().ends_with("… [m]"),
            "{width}: a cut flash ends in … and its key: {status:?}"
        );
        assert!(status.contains("refresh failed: could not"), "{status}");
    }
    // Several messages; the bar shows the last, the overlay all of them.
    key(&mut a, KeyCode::Char('r'));
    let effects = key(&mut a, KeyCode::Char('m'));
    assert!(effects.is_empty(), "{effects:?}");
    let screen = render(&a, 80, 24);
    insta::assert_snapshot!("chrome_messages_80x24", screen.join("\n"));
    let inside = inside_text(&screen);
    assert!(
        inside.contains("12:00:00 · refreshing 12:00:00 ✖ refresh failed"),
        "newest first: {inside}"
    );
    assert!(
        inside.contains(LONG_ERROR),
        "the whole message, wrapped: {inside}"
    );
    assert_eq!(screen[23].trim_end(), "Esc close  j/k scroll");
    // Esc closes; the keys of the tab work again.
    key(&mut a, KeyCode::Esc);
    assert!(
        !render(&a, 80, 24)
            .join("\n")
            .contains("Messages of this session")
    );
    // The change log lists the messages too.
    key(&mut a, KeyCode::Char('L'));
    let log = inside_text(&render(&a, 160, 48));
    assert!(
        log.contains("Messages, newest first (m shows them alone)"),
        "{log}"
    );
    assert!(log.contains(LONG_ERROR), "{log}");
}

/// The text inside an overlay's border, its rows joined by single spaces
/// (so a wrapped message reads as one).
fn inside_text(screen: &[String]) -> String {
    let rows: Vec<&str> = screen.iter().filter_map(|l| l.split('│').nth(1)).collect();
    rows.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_message_overlay_keeps_the_last_hundred_and_scrolls_to_the_oldest() {
    let mut a = app(false);
    for i in 1..=130 {
        a.on_db(DbEvent::AuditProblem(format!("audit problem {i}")));
    }
    key(&mut a, KeyCode::Char('m'));
    let screen = render(&a, 80, 24).join("\n");
    assert!(screen.contains("audit problem 130"), "{screen}");
    key(&mut a, KeyCode::Char('G'));
    let screen = render(&a, 80, 24).join("\n");
    assert!(screen.contains("audit problem 31\u{20}"), "{screen}");
    assert!(!screen.contains("audit problem 30\u{20}"), "{screen}");
    // Scrolling stopped at the end: one step up shows a newer one at once.
    key(&mut a, KeyCode::Char('k'));
    let screen = render(&a, 80, 24).join("\n");
    assert!(!screen.contains("audit problem 31\u{20}"), "{screen}");
}
