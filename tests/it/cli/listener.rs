//! The shared reconnecting listener (`pgq::db::listener::Listener`) that
//! `pgq listen` is built on: it notices that its backend was terminated,
//! reconnects with its backoff, LISTENs again, and delivers what is sent
//! afterwards.

use crate::common;

use std::time::Duration;

use common::TestDb;
use pgq::db::listener::{Backoff, Heard, ListenSpec, Listener};
use pgq::settings::conn::{ConnectionSettings, Env};

const WAIT: Duration = Duration::from_secs(20);
const CHANNEL: &str = "pgq_listener_test";

fn spec(db: &TestDb) -> ListenSpec {
    let settings = ConnectionSettings::resolve(
        Some(&db.dsn()),
        &Env::from_pairs(Vec::<(String, String)>::new()),
    )
    .expect("test DSN");
    ListenSpec {
        settings,
        channel: CHANNEL.into(),
        read_only: false,
    }
}

/// What the listener hears next, within [`WAIT`].
async fn next(listener: &mut Listener) -> Heard {
    tokio::time::timeout(WAIT, listener.next())
        .await
        .expect("the listener heard nothing in time")
}

/// The next notification's payload, skipping nothing: anything else fails.
async fn notification(listener: &mut Listener) -> String {
    match next(listener).await {
        Heard::Notification(n) => n.payload().to_string(),
        other => panic!("expected a notification, heard {other:?}"),
    }
}

#[tokio::test]
async fn reconnects_after_its_backend_is_terminated_and_delivers_later_notifies() {
    let db = TestDb::new();
    // Short waits keep the test quick; the policy is the same doubling one.
    let backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(400));
    let mut listener = Listener::open(spec(&db), backoff)
        .await
        .expect("listener opens");
    let client = db.client().await;
    client
        .execute("SELECT pg_notify($1, 'before')", &[&CHANNEL])
        .await
        .expect("notify");
    assert_eq!(notification(&mut listener).await, "before");

    let pids = db.wait_for_listener(WAIT).await;
    assert_eq!(pids.len(), 1, "one listening backend: {pids:?}");
    client
        .execute("SELECT pg_terminate_backend($1)", &[&pids[0]])
        .await
        .expect("terminate");

    match next(&mut listener).await {
        Heard::Lost { retry_in, .. } => assert_eq!(retry_in, Duration::from_millis(50)),
        other => panic!("expected the loss to be reported, heard {other:?}"),
    }
    // Reconnecting may take more than one attempt on a busy machine.
    loop {
        match next(&mut listener).await {
            Heard::Reconnected => break,
            Heard::RetryFailed { .. } => continue,
            other => panic!("expected a reconnect, heard {other:?}"),
        }
    }
    let old = pids[0];
    let fresh = common::wait_for(WAIT, || async {
        let now = db.wait_for_listener(Duration::ZERO).await;
        now.into_iter().find(|p| *p != old)
    })
    .await;
    assert!(fresh.is_some(), "no new backend LISTENs (old {old})");

    client
        .execute("SELECT pg_notify($1, 'after')", &[&CHANNEL])
        .await
        .expect("notify");
    assert_eq!(notification(&mut listener).await, "after");
}
