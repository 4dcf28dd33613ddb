//! `y` on the Events tab puts the selected event's JSON on the clipboard of
//! the terminal the user sits at (OSC 52, so it also works over SSH): the
//! real `pgq` console in a pseudo-terminal, with the emulator recording what
//! it was asked to copy.

use crate::common;

use std::time::Duration;

use base64::Engine;
use common::pty::Console;
use common::{TestDb, assert_exit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn y_copies_the_selected_event_json_to_the_terminal_clipboard() {
    let db = TestDb::installed();
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("3");
    console.wait_for("the Events tab", Duration::from_secs(15), |s| {
        s.contains("waiting for events")
    });
    // The tab says "waiting" as soon as it is drawn; the event is only seen
    // once the console's LISTEN runs (on a busy machine, later).
    assert!(
        !db.wait_for_listener(Duration::from_secs(30))
            .await
            .is_empty(),
        "the console LISTENs"
    );
    assert_exit(&db.pgq(&["queue", "resize_image", "x"]), 0);
    console.wait_for("the insert event", Duration::from_secs(10), |s| {
        s.contains("insert pgqueuer")
    });

    console.press("y");
    console.wait_for("the copy confirmation", Duration::from_secs(5), |s| {
        s.contains("copied the event JSON")
    });
    let copies = console.screen.lock().unwrap().callbacks().copies.clone();
    let [(selection, encoded)] = copies.as_slice() else {
        panic!("expected one clipboard copy, got {copies:?}");
    };
    assert_eq!(
        selection, "c",
        "the system clipboard, not the primary selection"
    );
    let json = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("OSC 52 data is standard base64");
    let event: serde_json::Value = serde_json::from_slice(&json).expect("the copy is JSON");
    assert_eq!(event["type"], "table_changed_event", "{event}");
    assert_eq!(event["operation"], "insert", "{event}");

    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(10)), Some(0));
}
