//! The worker engine as a Rust library: async handlers registered by name,
//! retries, the observable snapshot, and the shutdown trigger.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TestDb, assert_exit, log_statuses, wait_for};
use pgq::settings::conn::{ConnectionSettings, Env};
use pgq::settings::names::ObjectNames;
use pgq::worker::{
    EntrypointOptions, JobError, Mode, RetryPolicy, RunOptions, Worker, WorkerState,
};

fn settings(db: &TestDb) -> ConnectionSettings {
    ConnectionSettings::resolve(
        Some(&db.dsn()),
        &Env::from_pairs(Vec::<(String, String)>::new()),
    )
    .expect("settings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_run_retry_and_show_up_in_the_snapshot() {
    let db = TestDb::installed();
    for args in [
        ["queue", "add", "2"],
        ["queue", "add", "40"],
        ["queue", "flaky", "x"],
    ] {
        assert_exit(&db.pgq(&args), 0);
    }
    let sum = Arc::new(AtomicUsize::new(0));
    let options = RunOptions {
        mode: Mode::Drain,
        dequeue_timeout: Duration::from_millis(200),
        ..RunOptions::default()
    };
    let mut worker = Worker::new(ObjectNames::default(), options);
    let total = sum.clone();
    worker
        .entrypoint("add", EntrypointOptions::default(), move |job, _ctx| {
            let total = total.clone();
            async move {
                let n: usize = String::from_utf8_lossy(job.payload.as_deref().unwrap_or_default())
                    .parse()
                    .map_err(|_| JobError::new("ValueError", "not a number"))?;
                total.fetch_add(n, Ordering::SeqCst);
                Ok(())
            }
        })
        .unwrap();
    let retry = EntrypointOptions {
        retry: Some(RetryPolicy {
            max_attempts: 1,
            initial_delay: Duration::ZERO,
            ..RetryPolicy::default()
        }),
        ..EntrypointOptions::default()
    };
    worker
        .entrypoint("flaky", retry, |_job, _ctx| async {
            Err(JobError::new("IOError", "disk on fire"))
        })
        .unwrap();
    assert!(
        worker
            .entrypoint("add", EntrypointOptions::default(), |_, _| async { Ok(()) })
            .is_err(),
        "duplicate names are refused"
    );
    let snapshot = worker.observe();
    worker.run(settings(&db)).await.expect("drain run");

    assert_eq!(sum.load(Ordering::SeqCst), 42);
    let snap = snapshot.borrow().clone();
    assert_eq!(snap.state, WorkerState::Stopped);
    assert!(snap.in_flight.is_empty());
    assert_eq!(snap.entrypoints["add"].successful, 2);
    assert_eq!(snap.entrypoints["flaky"].retried, 1);
    assert_eq!(snap.entrypoints["flaky"].exception, 1);
    let statuses: Vec<String> = log_statuses(&db.client().await)
        .await
        .into_iter()
        .filter(|(id, _)| *id == 3)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(
        statuses,
        ["queued", "picked", "queued", "picked", "exception"]
    );
}

/// Retries with no delay put each row back to `queued` while the worker
/// still holds the run's entry; a pipelined dequeue can claim the row again
/// before that entry is cleared. Every such claim must run: a claim dropped
/// as a duplicate would leave its job `picked` by nobody (and the drain
/// would end with it there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_retries_run_every_claim_and_leave_nothing_picked() {
    const JOBS: usize = 400;
    let db = TestDb::installed();
    let lines: String = (0..JOBS)
        .map(|i| format!("{{\"entrypoint\": \"once\", \"payload\": \"{i}\"}}\n"))
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines).unwrap();
    assert_exit(
        &db.pgq(&["queue", "--batch", file.path().to_str().unwrap()]),
        0,
    );
    let options = RunOptions {
        mode: Mode::Drain,
        batch_size: 5,
        dequeue_connections: 2,
        dequeue_timeout: Duration::from_millis(200),
        ..RunOptions::default()
    };
    let mut worker = Worker::new(ObjectNames::default(), options);
    let retry = EntrypointOptions {
        retry: Some(RetryPolicy {
            max_attempts: 1,
            initial_delay: Duration::ZERO,
            ..RetryPolicy::default()
        }),
        ..EntrypointOptions::default()
    };
    worker
        .entrypoint("once", retry, |job, _ctx| async move {
            if job.attempts == 0 {
                Err(JobError::new("IOError", "first try fails"))
            } else {
                Ok(())
            }
        })
        .unwrap();
    let snapshot = worker.observe();
    tokio::time::timeout(Duration::from_secs(120), worker.run(settings(&db)))
        .await
        .expect("the drain ends")
        .expect("drain run");
    let client = db.client().await;
    let left: i64 = client
        .query_one("SELECT count(*) FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "jobs left in the queue table");
    let done: i64 = client
        .query_one(
            "SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(done, JOBS as i64);
    let snap = snapshot.borrow().clone();
    assert_eq!(snap.entrypoints["once"].retried, JOBS as u64);
    assert_eq!(snap.entrypoints["once"].successful, JOBS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shutdown_trigger_stops_a_continuous_worker_and_a_second_request_stops_jobs() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "wait"]), 0);
    let mut worker = Worker::new(ObjectNames::default(), RunOptions::default());
    worker
        .entrypoint(
            "wait",
            EntrypointOptions::default(),
            |_job, mut ctx| async move {
                ctx.stopped().await;
                Err(JobError::new("Stopped", "asked to stop"))
            },
        )
        .unwrap();
    let snapshot = worker.observe();
    let stop = worker.shutdown_trigger();
    let run = tokio::spawn(worker.run(settings(&db)));
    let running = wait_for(Duration::from_secs(10), || {
        let snapshot = snapshot.clone();
        async move { (snapshot.borrow().in_flight.len() == 1).then_some(()) }
    })
    .await;
    assert!(running.is_some(), "the job never showed up as in flight");
    stop.request();
    let stopping = wait_for(Duration::from_secs(10), || {
        let snapshot = snapshot.clone();
        async move { (snapshot.borrow().state == WorkerState::Stopping).then_some(()) }
    })
    .await;
    assert!(stopping.is_some(), "the worker never took the stop request");
    assert!(!run.is_finished(), "a graceful stop waits for running jobs");
    stop.request();
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("stopped in time")
        .unwrap()
        .expect("clean stop");
    let status: String = db
        .client()
        .await
        .query_one("SELECT status::text FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "queued", "the stopped job went back to the queue");
}
