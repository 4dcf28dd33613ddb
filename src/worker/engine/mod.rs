//! The queue manager loop (facts §7–§8) with pgq's additions: reconnecting,
//! a shutdown timeout, and returning unfinished jobs to the queue.
//!
//! Tasks and who owns what:
//! - the *serve loop* dequeues until a dequeue comes back empty, starts one
//!   tokio task per job, then waits for a table event, a finished job, a stop
//!   request or the §8.2 timeout;
//! - each *job task* runs a handler and records an outcome in the pending
//!   buffer; the job stays in `inflight` (and keeps its heartbeat) until that
//!   outcome is written, so a slow database never lets another worker re-run
//!   a job that already finished here;
//! - per connection cycle: the *flusher* writes pending outcomes (one
//!   statement per batch, at `batch_size` items or every ~0.1 s), the
//!   *heartbeater* beats jobs due (every T/2, flushed at T/8), the *router*
//!   reads NOTIFY (table events wake the serve loop, cancellations stop
//!   jobs, health echoes answer probes), the *health probe* runs every 10 s
//!   and the *aggregator* folds the log every ~30 s.
//!
//! A connection cycle ends on any database failure; the buffers live in
//! [`Shared`], outside the cycle, so nothing is lost when the worker
//! reconnects. Aborting a cycle task is safe at any point: the flusher only
//! removes outcomes after they were written.
//!
//! Files: `shared` (the state that outlives a cycle), `job` (dispatch and the
//! job task), `cycle` (connect, supervise, back off, give up), `serve` (the
//! serve loop and winding down), `herd` (quieting a worker
//! that lost a NOTIFY race), `tasks` (the per-cycle tasks); this file
//! builds the shared state and starts the scheduler.

mod cycle;
mod herd;
mod job;
mod serve;
mod shared;
mod tasks;

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use super::db::DequeueParams;
use super::snapshot::WorkerState;
use super::{Worker, WorkerError, log, scheduler};
use crate::settings::conn::ConnectionSettings;
use cycle::supervise;
pub(crate) use shared::Shared;
use shared::State;

pub(crate) async fn run(worker: Worker, settings: ConnectionSettings) -> Result<(), WorkerError> {
    let Worker {
        names,
        options,
        entrypoints,
        schedules,
        queue_manager_id: qm,
        shutdown,
        snapshot,
        metrics,
    } = worker;
    let params = DequeueParams {
        batch_size: i64::from(options.batch_size),
        entrypoints: entrypoints.iter().map(|e| e.name.to_string()).collect(),
        limits: entrypoints
            .iter()
            .map(|e| i64::from(e.options.concurrency_limit))
            .collect(),
        global_limit: options
            .max_concurrent_tasks
            .filter(|m| *m > 0)
            .map(i64::from),
        heartbeat_secs: options.heartbeat_timeout.as_secs_f64(),
        queue_manager_id: qm,
        connections: options.dequeue_connections,
        allow_newer_schema: options.allow_newer_schema,
    };
    // PGQueuer flushes completions at `batch_size` (or every 0.1 s). Where a
    // picked row holds a capacity slot, pgq keeps that rule so capacity frees
    // up as soon as possible; otherwise it lets up to 100 outcomes share one
    // statement (and one commit), which at small batch sizes saves a quarter
    // of the client CPU per job. Under the worker's budget (the default cap
    // since PGQueuer 2.1) unwritten outcomes may hold up to half of it, so
    // the other half keeps dequeuing.
    let batch = options.batch_size as usize;
    let flush_at = if params.limits.iter().any(|l| *l > 0) {
        batch
    } else if let Some(cap) = params.global_limit {
        batch.max((cap as usize / 2).min(100))
    } else {
        batch.max(100)
    };
    let shared = Arc::new(Shared {
        names,
        opts: options,
        qm,
        registry: entrypoints
            .into_iter()
            .map(|e| (e.name.to_string(), Arc::new(e)))
            .collect(),
        params,
        state: Mutex::new(State::default()),
        flush_now: Notify::new(),
        wake: Notify::new(),
        announced: Mutex::new(Default::default()),
        wake_on_finish: AtomicBool::new(true),
        live_events: AtomicBool::new(true),
        probes: Mutex::new(HashMap::new()),
        db: Mutex::new(None),
        level: shutdown,
        flush_at,
        no_backlog: AtomicBool::new(true),
        dirty: AtomicBool::new(true),
        snapshot,
        metrics,
    });
    let publisher = {
        let shared = shared.clone();
        tokio::spawn(async move {
            loop {
                shared.publish();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    log::info(
        "Worker starting",
        &[
            ("queue_manager_id", Value::from(qm.to_string())),
            (
                "entrypoints",
                Value::from(shared.params.entrypoints.clone()),
            ),
            ("schedules", Value::from(schedules.len())),
            ("batch_size", Value::from(shared.opts.batch_size)),
            (
                "mode",
                Value::from(format!("{:?}", shared.opts.mode).to_lowercase()),
            ),
        ],
    );
    let scheduler =
        (!schedules.is_empty()).then(|| tokio::spawn(scheduler::run(shared.clone(), schedules)));
    let scheduler_abort = scheduler.as_ref().map(|s| s.abort_handle());
    let result = supervise(&shared, &settings, scheduler).await;
    // A failed start or a give-up leaves the scheduler waiting for a
    // connection that will not come; a clean stop has let it finish already.
    if let Some(handle) = scheduler_abort {
        handle.abort();
    }
    shared.set_db(None);
    shared.set_state(WorkerState::Stopped);
    shared.publish();
    publisher.abort();
    match &result {
        Ok(()) => log::info("Worker stopped", &[]),
        Err(e) => log::error(&format!("Worker failed: {e}"), &[]),
    }
    result
}
