//! The Jobs tab: drawn into ratatui's TestBackend from seeded pages (insta
//! snapshots), its keys (filter line, paging, history, drill-down from
//! Stats), and the real binary in a pseudo-terminal finding a job by its
//! payload and opening its detail.

use std::time::Duration;

use crossterm::event::KeyCode;
use pgq::actions::Outcome;
use pgq::actions::jobs::browse::{JobDetail, JobRow, JobsPage, LogEntry, QueueJob};
use pgq::actions::jobs::filter::{JobStatus, Search};
use pgq::actions::kinds::ListJobs;
use pgq::actions::reports::stats::{Completions, EntrypointStats, QueueStats, StatsWindow};
use pgq::console::app::{App, Effect, Tab};
use pgq::console::db::{DbEvent, Request, View};

use crate::common::pty::Console;
use crate::common::{TestDb, assert_exit};

use crate::common::console;
pub(crate) use crate::common::console::{key, render, t0};

pub(crate) fn app(tab: Tab) -> App {
    let mut a = App::new(console::options(tab));
    console::connect(&mut a, "16.4");
    a
}

fn row(id: i64, entrypoint: &str, status: &str, minutes_ago: i64, payload: &str) -> JobRow {
    let created = t0() - chrono::Duration::minutes(minutes_ago);
    JobRow {
        id,
        entrypoint: entrypoint.into(),
        status: status.into(),
        priority: (id % 10) as i32,
        created,
        updated: Some(created),
        heartbeat: Some(created),
        execute_after: Some(if id == 48121 {
            t0() + chrono::Duration::minutes(4)
        } else {
            created
        }),
        attempts: Some(if status == "failed" { 3 } else { 0 }),
        dedupe_key: (id % 3 == 0).then(|| format!("k{id}")),
        queue_manager_id: (status == "picked")
            .then(|| "6f1c2f9e-8d55-4c39-9a35-0b0f0f1f2a3b".parse().unwrap()),
        headers: None,
        payload_bytes: Some(payload.len() as i64),
        payload_head: Some(payload.as_bytes().to_vec()),
        has_traceback: None,
    }
}

fn page() -> JobsPage {
    JobsPage {
        history: false,
        rows: vec![
            row(
                48123,
                "send_email",
                "queued",
                1,
                r#"{"to": "ada@example.com"}"#,
            ),
            row(48122, "resize_image", "picked", 3, r#"{"image": 7}"#),
            row(
                48121,
                "send_email",
                "queued",
                5,
                r#"{"to": "bob@example.com"}"#,
            ),
            row(48120, "sync_crm", "failed", 70, "plain text payload"),
        ],
        next_after_id: Some(48120),
        plan: Vec::new(),
    }
}

/// The refresh of job `id`'s detail just opened (no payload shown yet).
fn opened(id: i64) -> View {
    View::Job {
        id,
        known_payload: None,
    }
}

pub(crate) fn detail() -> JobDetail {
    let at = |m: i64| t0() - chrono::Duration::minutes(m);
    let log = |id, m, status: &str, tb: Option<serde_json::Value>| LogEntry {
        id,
        created: at(m),
        status: status.into(),
        priority: 1,
        entrypoint: "sync_crm".into(),
        traceback: tb,
    };
    JobDetail {
        id: 48120,
        job: Some(QueueJob {
            id: 48120,
            priority: 1,
            queue_manager_id: None,
            created: at(70),
            updated: at(60),
            heartbeat: at(60),
            execute_after: at(70),
            status: "failed".into(),
            entrypoint: "sync_crm".into(),
            dedupe_key: None,
            payload: Some(br#"{"account": 17, "full": true}"#.to_vec()),
            headers: Some(serde_json::json!({"tenant": "acme"})),
            attempts: 3,
            slot: None,
            payload_sha256: None,
        }),
        log: vec![
            log(1, 70, "queued", None),
            log(2, 69, "picked", None),
            log(
                3,
                60,
                "failed",
                Some(serde_json::json!({
                    "exception_type": "TimeoutError",
                    "exception_message": "crm did not answer",
                    "traceback": "Traceback (most recent call last):\n  File \"crm.py\", line 3\nTimeoutError: crm did not answer"
                })),
            ),
        ],
        why: Vec::new(),
    }
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// The page request among `effects`, if one was sent.
fn list_request(effects: &[Effect]) -> Option<ListJobs> {
    effects.iter().find_map(|e| match e {
        Effect::Request(Request::Refresh(View::Jobs(list))) => Some((**list).clone()),
        _ => None,
    })
}

pub(crate) fn with_page(mut a: App) -> App {
    let view = View::Jobs(Box::new(a.tabs.jobs.request()));
    a.on_db(DbEvent::Refreshed {
        view,
        result: Ok(Outcome::Jobs(page())),
    });
    a
}

#[test]
fn jobs_tab_snapshots() {
    let a = with_page(app(Tab::Jobs));
    insta::assert_snapshot!("jobs_tab_80x24", render(&a, 80, 24));
    insta::assert_snapshot!("jobs_tab_160x30", render(&a, 160, 30));
    // Issue 22 §6: at any width the header is whole titles (a column too
    // narrow for its title is hidden), and a cut entrypoint ends in "…".
    let titles = [
        "Id",
        "Entrypoint",
        "Status",
        "Prio",
        "Age",
        "Runs",
        "Try",
        "Key",
        "Worker",
        "Payload",
    ];
    for width in [60, 70, 80, 100, 120] {
        let screen = render(&a, width, 24);
        let header = screen
            .lines()
            .find(|l| l.trim_matches('"').trim_start().starts_with("Id "))
            .unwrap_or_default()
            .trim_matches('"');
        let words: Vec<&str> = header.split_whitespace().collect();
        assert!(words.len() >= 4, "{width}: {header:?}\n{screen}");
        for word in words {
            assert!(titles.contains(&word), "{width}: {word:?} in {header:?}");
        }
        for word in screen
            .split_whitespace()
            .filter(|w| w.starts_with("resize_"))
        {
            assert!(
                word == "resize_image" || word.ends_with('…'),
                "{width}: {word:?}, the entrypoint whole or cut with …\n{screen}"
            );
        }
    }

    let mut a = a;
    key(&mut a, KeyCode::Char('G'));
    let effects = key(&mut a, KeyCode::Enter);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Request(Request::Refresh(View::Job { id: 48120, .. }))
    )));
    a.on_db(DbEvent::Refreshed {
        view: opened(48120),
        result: Ok(Outcome::Job(detail())),
    });
    insta::assert_snapshot!("jobs_detail_100x40", render(&a, 100, 40));
    let copied = key(&mut a, KeyCode::Char('y'));
    assert!(
        copied.iter().any(
            |e| matches!(e, Effect::Copy(t) if t == "{\n  \"account\": 17,\n  \"full\": true\n}")
        ),
        "{copied:?}"
    );
    key(&mut a, KeyCode::Esc);
    assert!(a.tabs.jobs.list.detail.is_none());
}

#[test]
fn filter_line_paging_and_history_send_the_right_pages() {
    let mut a = with_page(app(Tab::Jobs));
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "status:queued ep:send_email prio:1..5 order=7");
    let effects = key(&mut a, KeyCode::Enter);
    let request = list_request(&effects).expect("a page request");
    assert_eq!(request.filter.status, Some(JobStatus::Queued));
    assert_eq!(request.filter.entrypoints, ["send_email"]);
    assert_eq!(
        (request.filter.priority_min, request.filter.priority_max),
        (Some(1), Some(5))
    );
    assert_eq!(
        request.filter.search,
        Some(Search::KeyValue {
            key: "order".into(),
            value: "7".into()
        })
    );
    assert_eq!(request.page.after_id, None);
    assert!(render(&a, 100, 24).contains("searching…"));
    // The answer for this filter lands; `n` pages on with its cursor, `p` back.
    a.on_db(DbEvent::Refreshed {
        view: View::Jobs(Box::new(request.clone())),
        result: Ok(Outcome::Jobs(page())),
    });
    // A search is not re-run by the clock (it scans the queue)…
    let later = a.on_tick(t0() + chrono::Duration::seconds(30));
    assert!(list_request(&later).is_none(), "{later:?}");
    assert!(render(&a, 100, 24).contains("not live"));
    // …only when asked.
    assert!(list_request(&key(&mut a, KeyCode::Char('r'))).is_some());
    a.on_db(DbEvent::Refreshed {
        view: View::Jobs(Box::new(request.clone())),
        result: Ok(Outcome::Jobs(page())),
    });
    let next = list_request(&key(&mut a, KeyCode::Char('n'))).unwrap();
    assert_eq!(next.page.after_id, Some(48120));
    assert_eq!(
        next.filter, request.filter,
        "the filter is kept while paging"
    );
    // A page for a cursor left behind is dropped, and the wanted one asked for.
    let effects = a.on_db(DbEvent::Refreshed {
        view: View::Jobs(Box::new(request.clone())),
        result: Ok(Outcome::Jobs(JobsPage {
            rows: Vec::new(),
            ..page()
        })),
    });
    assert!(a.tabs.jobs.loading);
    assert_eq!(list_request(&effects), Some(next.clone()));
    a.on_db(DbEvent::Refreshed {
        view: View::Jobs(Box::new(next)),
        result: Ok(Outcome::Jobs(page())),
    });
    let back = list_request(&key(&mut a, KeyCode::Char('p'))).unwrap();
    assert_eq!(back.page.after_id, None);

    // History drops the queue-only status and refuses a payload search.
    let refused = key(&mut a, KeyCode::Char('h'));
    assert!(list_request(&refused).is_none());
    assert!(!a.tabs.jobs.history);
    assert!(
        a.flash.as_ref().unwrap().text.contains("payload"),
        "{:?}",
        a.flash
    );

    // A bad filter says why and keeps the pages shown.
    key(&mut a, KeyCode::Char('/'));
    for _ in 0..60 {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "status:done");
    assert!(list_request(&key(&mut a, KeyCode::Enter)).is_none());
    assert!(a.flash.as_ref().unwrap().text.contains("unknown status"));
}

/// A filter applied while a page is on its way is fetched when that page
/// comes back (it is dropped as stale).
#[test]
fn a_filter_applied_during_a_load_is_fetched_after_it() {
    let mut a = app(Tab::Jobs);
    let first = a.tabs.jobs.request();
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "needle");
    let effects = key(&mut a, KeyCode::Enter);
    assert!(list_request(&effects).is_none(), "one page at a time");
    let effects = a.on_db(DbEvent::Refreshed {
        view: View::Jobs(Box::new(first)),
        result: Ok(Outcome::Jobs(page())),
    });
    assert!(a.tabs.jobs.page.is_none(), "the stale page is not shown");
    let request = list_request(&effects).expect("the search is sent now");
    assert_eq!(request.filter.search, Some(Search::Text("needle".into())));
}

#[test]
fn enter_on_a_stats_row_opens_its_jobs() {
    let mut a = app(Tab::Stats);
    let stats = QueueStats {
        window: StatsWindow::OneHour,
        as_of: t0(),
        entrypoints: vec![EntrypointStats {
            entrypoint: "send_email".into(),
            queued: 3,
            picked: 0,
            held: 0,
            oldest_queued_age_seconds: Some(4.0),
            done: Completions::default(),
        }],
        series: Vec::new(),
        latency: Default::default(),
        latency_included: true,
    };
    a.on_db(DbEvent::Refreshed {
        view: View::Stats(pgq::actions::kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }),
        result: Ok(Outcome::QueueStats(stats)),
    });
    let effects = key(&mut a, KeyCode::Enter);
    assert_eq!(a.tab, Tab::Jobs);
    let request = list_request(&effects).expect("the Jobs page is loaded");
    assert_eq!(request.filter.entrypoints, ["send_email"]);
    assert!(render(&a, 100, 24).contains("ep:send_email"));
}

/// The real console: find a job by a word of its payload, open it, see the
/// payload and the log timeline.
#[test]
fn find_a_job_by_payload_and_open_its_detail() {
    let db = TestDb::installed();
    for (ep, payload) in [
        ("send_email", r#"{"to": "ada@example.com"}"#),
        ("send_email", r#"{"to": "zebra-invoice@example.com"}"#),
        ("resize_image", "plain"),
    ] {
        assert_exit(&db.pgq(&["queue", ep, payload]), 0);
    }
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("2");
    console.wait_for("the Jobs tab", Duration::from_secs(15), |s| {
        s.contains("resize_image") && s.contains("h history")
    });
    console.press("/");
    console.press("zebra-invoice");
    console.press("\r");
    let screen = console.wait_for("the search result", Duration::from_secs(10), |s| {
        s.contains("filter zebra-invoice")
            && !s.contains("resize_image")
            && !s.contains("searching")
    });
    assert!(screen.contains("send_email"), "{screen}");
    console.press("\r");
    let screen = console.wait_for("the detail", Duration::from_secs(10), |s| {
        s.contains("timeline") && s.contains("\"to\": \"zebra-invoice@example.com\"")
    });
    assert!(screen.contains("job 2"), "{screen}");
    assert!(screen.contains("queued"), "{screen}");
}

/// The action a key proposed (its preview request), with the request id.
fn proposed(effects: &[Effect]) -> Option<(u64, pgq::actions::Action)> {
    effects.iter().find_map(|e| match e {
        Effect::Request(Request::Preview { id, action }) => Some((*id, action.clone())),
        _ => None,
    })
}

fn canceled_ids(action: &pgq::actions::Action) -> Vec<i64> {
    match action {
        pgq::actions::Action::CancelJobs(pgq::actions::kinds::CancelJobs {
            selection: pgq::actions::jobs::selection::JobSelection::Ids(ids),
            ..
        }) => ids.clone(),
        other => panic!("not a cancel by id: {other:?}"),
    }
}

/// The audit: after an action on tagged jobs 14 and 15, `c` on job 16
/// proposed "Cancel 2 jobs (14, 15)". Tags are spent by the action they
/// were made for, and tags of jobs that left the list are dropped.
#[test]
fn tags_end_with_their_action_and_with_their_rows() {
    let mut a = with_page(app(Tab::Jobs));
    // Tag 48123 (first row) and 48121 (third); Space moves on to the next row.
    key(&mut a, KeyCode::Char(' '));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char(' '));
    let (id, action) = proposed(&key(&mut a, KeyCode::Char('c'))).expect("a cancel proposed");
    assert_eq!(canceled_ids(&action), vec![48121, 48123]);
    let preview = pgq::actions::preview::Preview::new(
        "Cancel 2 jobs (48121, 48123)?".into(),
        vec!["DELETE …".into()],
        "pgq cancel 48121 48123".into(),
    );
    a.on_db(DbEvent::Previewed {
        id,
        result: Ok(preview),
    });
    key(&mut a, KeyCode::Tab);
    key(&mut a, KeyCode::Enter);
    a.on_db(DbEvent::Done {
        id,
        result: Ok(Outcome::Canceled(pgq::actions::jobs::removal::Removed {
            removal: pgq::actions::jobs::removal::Removal::Cancel,
            dry_run: false,
            count: 2,
            ids: vec![48121, 48123],
            batches: 1,
            events: 1,
            interrupted: false,
            left: 0,
        })),
        elapsed: Duration::from_millis(3),
        sql: Vec::new(),
    });
    key(&mut a, KeyCode::Enter); // close the outcome
    assert!(
        a.tabs.jobs.list.tagged.is_empty(),
        "the action spent its tags"
    );
    // The next `c` takes the highlighted job only (48120, after the tags).
    let (_, action) = proposed(&key(&mut a, KeyCode::Char('c'))).expect("a cancel proposed");
    assert_eq!(canceled_ids(&action), vec![48120]);
    key(&mut a, KeyCode::Esc);

    // A tag whose job leaves the list goes with it.
    key(&mut a, KeyCode::Char(' ')); // tag 48120
    assert_eq!(a.tabs.jobs.list.tagged.len(), 1);
    let mut without = page();
    without.rows.retain(|r| r.id != 48120);
    a.on_db(DbEvent::Refreshed {
        view: View::Jobs(Box::new(a.tabs.jobs.request())),
        result: Ok(Outcome::Jobs(without)),
    });
    assert!(
        a.tabs.jobs.list.tagged.is_empty(),
        "{:?}",
        a.tabs.jobs.list.tagged
    );
}

/// The audit: the selection followed the row position in a live list, so
/// `c` offered a different job than the one highlighted a moment before.
#[test]
fn the_selection_stays_on_its_job_while_the_list_moves() {
    let mut a = with_page(app(Tab::Jobs));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char('j')); // on 48121
    let mut moved = page();
    moved
        .rows
        .insert(0, row(48125, "send_email", "queued", 0, "{}"));
    moved
        .rows
        .insert(0, row(48126, "send_email", "queued", 0, "{}"));
    a.on_db(DbEvent::Refreshed {
        view: View::Jobs(Box::new(a.tabs.jobs.request())),
        result: Ok(Outcome::Jobs(moved)),
    });
    let (_, action) = proposed(&key(&mut a, KeyCode::Char('c'))).expect("a cancel proposed");
    assert_eq!(canceled_ids(&action), vec![48121]);
}

/// The detail of job 48120 with `payload` open in the Jobs tab.
fn detail_open_with(payload: Vec<u8>) -> App {
    let mut a = with_page(app(Tab::Jobs));
    key(&mut a, KeyCode::Char('G'));
    key(&mut a, KeyCode::Enter);
    let mut d = detail();
    d.job.as_mut().unwrap().payload = Some(payload);
    a.on_db(DbEvent::Refreshed {
        view: opened(48120),
        result: Ok(Outcome::Job(d)),
    });
    a
}

#[test]
fn a_detail_of_more_than_65535_lines_scrolls_to_its_last_line() {
    let text: String = (1..=80_000)
        .map(|i| format!("payload line {i}\n"))
        .collect();
    let mut a = detail_open_with(text.into_bytes());
    let top = render(&a, 100, 40);
    assert!(top.contains("payload line 1 "), "{top}");
    key(&mut a, KeyCode::End);
    let end = render(&a, 100, 40);
    assert!(end.contains("payload line 80000"), "{end}");
    // The detail's very last line (the traceback's) is on screen too.
    assert!(end.contains("TimeoutError: crm did not answer"), "{end}");
    // One row up from the end, then back to the top.
    key(&mut a, KeyCode::Char('k'));
    let up = render(&a, 100, 40);
    assert!(up.contains("payload line 80000"), "{up}");
    assert_ne!(up, end);
    key(&mut a, KeyCode::Char('g'));
    assert_eq!(render(&a, 100, 40), top);
}

/// The audit's payload: a 10 MB JSON array of 240,000 small objects
/// (about 1,200,000 lines once pretty-printed), keys not in sorted order.
fn ten_mb_of_json() -> Vec<u8> {
    let items: Vec<String> = (1..=240_000)
        .map(|i| format!(r#"{{"ok":true,"n":{i},"name":"item-{i}"}}"#))
        .collect();
    format!("[{}]", items.join(",")).into_bytes()
}

/// Issue 19: a 10 MB payload in the detail held its bytes, its pretty text
/// and a `usize` per screen row (≈ 4 times its size) and was decoded into a
/// `serde_json::Value` (≈ 25 times, for a moment). The open detail now
/// holds its text and 4 bytes per row, and nothing else of it.
#[test]
fn a_10_mb_json_detail_holds_its_text_and_row_index_only() {
    let payload = ten_mb_of_json();
    let size = payload.len();
    assert!(size > 10_000_000, "{size}");
    let mut a = detail_open_with(payload);
    let top = render(&a, 120, 40);
    assert!(top.contains(&format!("json · {size} bytes")), "{top}");
    // As stored: "ok" first.
    let first = top.find(r#""ok": true,"#).expect("the first object");
    assert!(top[first..].contains(r#""name": "item-1" "#), "{top}");
    key(&mut a, KeyCode::End);
    let end = render(&a, 120, 40);
    assert!(end.contains(r#""name": "item-240000""#), "{end}");

    let detail = a.tabs.jobs.detail.as_ref().unwrap();
    assert_eq!(detail.job.as_ref().unwrap().payload, None, "bytes kept");
    let shown = a.tabs.jobs.payload.as_ref().unwrap();
    let text = shown.view.text().len();
    // The pretty text (indentation more than doubles it) plus 4 bytes for
    // each of its rows (lines here, none wider than the popup).
    let lines = shown.view.text().lines().count();
    assert_eq!(lines, 240_000 * 5 + 2);
    assert!(
        shown.held_bytes() <= text + 4 * lines + 64,
        "{} bytes held for a {text}-byte text of {lines} lines",
        shown.held_bytes()
    );
    assert!(shown.held_bytes() < 3 * size, "{}", shown.held_bytes());
    // Closed, it holds nothing of it.
    key(&mut a, KeyCode::Esc);
    assert!(a.tabs.jobs.payload.is_none() && a.tabs.jobs.detail.is_none());
}

/// An open detail is refreshed as the queue changes: it says which payload
/// it shows (by digest), an answer that leaves that payload out keeps the
/// view, and a changed payload replaces it.
#[test]
fn a_refreshed_detail_keeps_an_unchanged_payload_without_receiving_it() {
    let mut a = detail_open_with(br#"{"b": 1, "a": 2}"#.to_vec());
    let digest = vec![7u8; 32];
    let shown = render(&a, 100, 40);
    assert!(shown.contains(r#""b": 1,"#), "key order as stored: {shown}");
    // The fixture had no digest; the server always sends one.
    let mut d = detail();
    d.job.as_mut().unwrap().payload = Some(br#"{"b": 1, "a": 2}"#.to_vec());
    d.job.as_mut().unwrap().payload_sha256 = Some(digest.clone());
    a.on_db(DbEvent::Refreshed {
        view: opened(48120),
        result: Ok(Outcome::Job(d)),
    });
    // The clock refreshes the open detail.
    let effects = a.on_tick(t0() + chrono::Duration::seconds(30));
    let asked = effects.iter().find_map(|e| match e {
        Effect::Request(Request::Refresh(View::Job { id, known_payload })) => {
            Some((*id, known_payload.clone()))
        }
        _ => None,
    });
    assert_eq!(asked, Some((48120, Some(digest.clone()))), "{effects:?}");
    // Left out: the status changed, the payload did not.
    let mut d = detail();
    let job = d.job.as_mut().unwrap();
    job.payload = None;
    job.payload_sha256 = Some(digest.clone());
    job.status = "picked".into();
    a.on_db(DbEvent::Refreshed {
        view: View::Job {
            id: 48120,
            known_payload: Some(digest),
        },
        result: Ok(Outcome::Job(d)),
    });
    let refreshed = render(&a, 100, 40);
    assert!(refreshed.contains("status        picked"), "{refreshed}");
    assert!(refreshed.contains(r#""b": 1,"#), "{refreshed}");
    assert!(refreshed.contains("json · 16 bytes"), "{refreshed}");
    // A new payload replaces the view.
    let mut d = detail();
    let job = d.job.as_mut().unwrap();
    job.payload = Some(br#"{"c": 3}"#.to_vec());
    job.payload_sha256 = Some(vec![8u8; 32]);
    a.on_db(DbEvent::Refreshed {
        view: opened(48120),
        result: Ok(Outcome::Job(d)),
    });
    let changed = render(&a, 100, 40);
    assert!(changed.contains(r#""c": 3"#), "{changed}");
    assert!(!changed.contains(r#""b": 1,"#), "{changed}");
}

#[test]
fn control_and_bidi_characters_are_shown_escaped() {
    let hostile = "x\u{1b}]52;c;QUJD\u{7}y\u{202e}z";
    let mut a = detail_open_with(hostile.as_bytes().to_vec());
    let screen = render(&a, 100, 40);
    assert!(
        screen.contains("x\\x1b]52;c;QUJD\\x07y\\u202ez"),
        "{screen}"
    );
    key(&mut a, KeyCode::Esc);
    let mut rows = page();
    rows.rows[0].entrypoint = hostile.into();
    rows.rows[0].payload_head = Some(hostile.as_bytes().to_vec());
    let view = View::Jobs(Box::new(a.tabs.jobs.request()));
    a.on_db(DbEvent::Refreshed {
        view,
        result: Ok(Outcome::Jobs(rows)),
    });
    let list = render(&a, 200, 24);
    for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
        assert!(!list.contains(raw), "{list}");
    }
    assert!(list.contains("x\\x1b]52;c;QUJD\\x07y\\u202ez"), "{list}");
}

#[test]
fn the_age_column_fits_the_widest_age() {
    let mut a = app(Tab::Jobs);
    let mut rows = page();
    rows.rows[0].created = t0() - chrono::Duration::seconds(24 * 60 + 41);
    let view = View::Jobs(Box::new(a.tabs.jobs.request()));
    a.on_db(DbEvent::Refreshed {
        view,
        result: Ok(Outcome::Jobs(rows)),
    });
    let screen = render(&a, 80, 24);
    assert!(screen.contains("24m41s"), "{screen}");
}

/// On a schema newer than 1.6.0 (PGQueuer 2.x) the console says so and
/// refuses what 2.x redefined: cancelling a picked job. A queued one is
/// still cancelled as before.
#[test]
fn a_newer_schema_is_shown_and_cancelling_a_picked_job_refused() {
    let mut a = with_page(app(Tab::Jobs));
    a.on_db(DbEvent::NewerSchema(vec![
        "column pgqueuer.cancel_requested (PGQueuer 2.3.0)".into(),
    ]));
    let screen = render(&a, 120, 30);
    assert!(screen.contains("SCHEMA > 1.6.0"), "{screen}");
    key(&mut a, KeyCode::Char('j')); // 48122, picked
    assert!(proposed(&key(&mut a, KeyCode::Char('c'))).is_none());
    let flash = a.flash.as_ref().expect("a refusal").text.clone();
    assert!(flash.contains("refused on this newer schema"), "{flash}");
    key(&mut a, KeyCode::Char('k')); // 48123, queued
    let (_, action) = proposed(&key(&mut a, KeyCode::Char('c'))).expect("a cancel proposed");
    assert_eq!(canceled_ids(&action), vec![48123]);
    // Every job matching a filter that may hold picked ones: refused too;
    // with status:queued it is proposed.
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, "ep:send_email");
    key(&mut a, KeyCode::Enter);
    assert!(proposed(&key(&mut a, KeyCode::Char('C'))).is_none());
    let flash = a.flash.as_ref().expect("a refusal").text.clone();
    assert!(flash.contains("refused on this newer schema"), "{flash}");
    key(&mut a, KeyCode::Char('/'));
    typed(&mut a, " status:queued");
    key(&mut a, KeyCode::Enter);
    assert!(proposed(&key(&mut a, KeyCode::Char('C'))).is_some());
}
