//! One job task: run the handler, turn its result into an outcome.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use chrono::Utc;
use futures_util::FutureExt;
use serde_json::Value;
use tokio::sync::watch;

use super::shared::{InFlight, Outcome, Shared};
use crate::worker::{
    Job, JobContext, JobError, OnFailure, RegisteredEntrypoint, StopReason, log, traceback,
};

impl Shared {
    /// Start a task for `job` unless it already runs here (a late heartbeat
    /// can let our own dequeue re-pick a job we are still running).
    pub(super) fn dispatch(self: &Arc<Self>, job: Job) {
        self.launch(job, false);
    }

    /// Run a job claimed again while its previous run's entry was still
    /// being cleared: it replaces that entry, so the worker never looks idle
    /// in between.
    pub(super) fn dispatch_repicked(self: &Arc<Self>, job: Job) {
        self.launch(job, true);
    }

    fn launch(self: &Arc<Self>, job: Job, replace: bool) {
        let Some(ep) = self.registry.get(&job.entrypoint).cloned() else {
            log::error(
                "dequeued a job for an entrypoint this worker does not serve",
                &[("job_id", Value::from(job.id))],
            );
            return;
        };
        let (stop, stop_rx) = watch::channel(None);
        {
            let mut s = self.state();
            if !replace && s.inflight.contains_key(&job.id) {
                // A run that put the row back to `queued` (a retry, a
                // return) may have committed before its entry is cleared
                // here, and this claim is then a new one: run it once the
                // entry is cleared (see `State::repicked`). Any other
                // duplicate is our own running job, re-picked after a late
                // heartbeat: drop it.
                let requeued = s.pending.iter().any(|p| {
                    p.id == job.id && matches!(p.outcome, Outcome::Retry { .. } | Outcome::Return)
                });
                if requeued {
                    s.repicked.insert(job.id, job);
                }
                return;
            }
            s.inflight.insert(
                job.id,
                InFlight {
                    entrypoint: ep.name.clone(),
                    started: Utc::now(),
                    last_beat: Instant::now(),
                    stop,
                    completing: false,
                },
            );
        }
        self.dirty.store(true, Ordering::Relaxed);
        if log::enabled(log::Level::Debug) {
            log::debug(
                "Dispatching job",
                &[
                    ("job_id", Value::from(job.id)),
                    ("entrypoint", Value::from(job.entrypoint.as_str())),
                    ("attempts", Value::from(job.attempts)),
                ],
            );
        }
        tokio::spawn(run_job(self.clone(), ep, job, stop_rx));
    }
}

async fn run_job(
    shared: Arc<Shared>,
    ep: Arc<RegisteredEntrypoint>,
    job: Job,
    stop_rx: watch::Receiver<Option<StopReason>>,
) {
    let id = job.id;
    let attempts = job.attempts;
    let started = Instant::now();
    let ctx = JobContext::new(stop_rx.clone(), shared.qm);
    let handler = AssertUnwindSafe((ep.handler)(job, ctx)).catch_unwind();
    let mut watcher = stop_rx.clone();
    let grace = shared.opts.stop_grace;
    // A handler that ignores a stop request is dropped after the grace.
    let forced = async move {
        while watcher.borrow_and_update().is_none() {
            if watcher.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        tokio::time::sleep(grace).await;
    };
    let result = tokio::select! {
        r = handler => Some(r.unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "handler panicked".into());
            Err(JobError::new("Panic", message))
        })),
        _ = forced => None,
    };
    let reason = *stop_rx.borrow();
    let name = &*ep.name;
    let fields = |extra: Vec<log::Field<'static>>| {
        let mut f = vec![
            ("job_id", Value::from(id)),
            ("entrypoint", Value::from(name)),
            (
                "elapsed_ms",
                Value::from((started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0),
            ),
        ];
        f.extend(extra);
        f
    };
    let outcome = match (reason, result) {
        (Some(StopReason::Canceled), _) => {
            log::info("Job canceled", &fields(vec![]));
            Outcome::Canceled
        }
        (_, Some(Ok(()))) => {
            if log::enabled(log::Level::Debug) {
                log::debug("Job successful", &fields(vec![]));
            }
            Outcome::Successful
        }
        (Some(StopReason::Shutdown), _) => {
            // Whether it really goes back is logged when that is written.
            log::warning("Job stopped by shutdown", &fields(vec![]));
            Outcome::Return
        }
        (None, Some(Err(error))) => failure_outcome(&shared, &ep, id, attempts, &error, fields),
        (None, None) => Outcome::Canceled,
    };
    if let Some(m) = &shared.metrics {
        m.job_finished(&ep.name, outcome.metric_status(), started.elapsed());
    }
    shared.finish(id, name, outcome);
}

pub(super) fn failure_outcome(
    shared: &Shared,
    ep: &RegisteredEntrypoint,
    id: i64,
    attempts: i32,
    error: &JobError,
    fields: impl Fn(Vec<log::Field<'static>>) -> Vec<log::Field<'static>>,
) -> Outcome {
    let name = &*ep.name;
    if let Some(policy) = &ep.options.retry
        && error.retryable
        && i64::from(attempts) < i64::from(policy.max_attempts)
    {
        let delay = policy.delay(attempts);
        log::info(
            &format!("Retry requested: {error}"),
            &fields(vec![
                ("attempt", Value::from(attempts)),
                ("delay", Value::from(traceback::python_timedelta(delay))),
            ]),
        );
        return Outcome::Retry {
            delay,
            traceback: traceback::retry(id, name, shared.qm, attempts, delay, error),
        };
    }
    log::error(
        &format!("Exception while processing job: {error}"),
        &fields(vec![]),
    );
    let tb = traceback::failure(id, name, shared.qm, error);
    match ep.options.on_failure {
        OnFailure::Delete => Outcome::Exception(tb),
        OnFailure::Hold => Outcome::Held(tb),
    }
}
