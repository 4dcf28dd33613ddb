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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use super::db::{Db, DbFailure, DequeueParams, OpenError, utc_now_text};
use super::snapshot::{Counters, InFlightJob, Snapshot, WorkerState};
use super::{
    Job, JobContext, JobError, Mode, OnFailure, RegisteredEntrypoint, RunOptions, StopReason,
    Worker, WorkerError, log, scheduler, traceback,
};
use crate::db::listener::Backoff;
use crate::events::Event;
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;

const MIN_POLL: Duration = Duration::from_millis(100);
const FLUSH_EVERY: Duration = Duration::from_millis(100);
const HEALTH_EVERY: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a worker that gives up tries to write its jobs' outcomes.
const WRITE_BACK_TIMEOUT: Duration = Duration::from_secs(10);

/// What a finished run leaves to be written.
#[derive(Debug, Clone)]
enum Outcome {
    Successful,
    Exception(String),
    Held(String),
    Canceled,
    Retry {
        delay: Duration,
        traceback: String,
    },
    /// Stopped by a forced shutdown: back to `queued`.
    Return,
}

#[derive(Debug, Clone)]
struct Pending {
    id: i64,
    outcome: Outcome,
}

struct InFlight {
    entrypoint: Arc<str>,
    started: DateTime<Utc>,
    last_beat: Instant,
    stop: watch::Sender<Option<StopReason>>,
    completing: bool,
}

#[derive(Default)]
struct State {
    inflight: HashMap<i64, InFlight>,
    pending: Vec<Pending>,
    counters: BTreeMap<String, Counters>,
    jobs_logged: u64,
    worker_state: Option<WorkerState>,
    schedules_fired: u64,
}

pub(crate) struct Shared {
    pub names: ObjectNames,
    pub opts: RunOptions,
    pub qm: Uuid,
    registry: HashMap<String, Arc<RegisteredEntrypoint>>,
    params: DequeueParams,
    state: Mutex<State>,
    /// The pending buffer reached a batch: flush now.
    flush_now: Notify,
    /// Something worth a new dequeue (table event, job written).
    wake: Notify,
    probes: Mutex<HashMap<Uuid, oneshot::Sender<()>>>,
    /// The current connections (None while reconnecting); the scheduler
    /// borrows them.
    db: Mutex<Option<Arc<Db>>>,
    /// 0 running, 1 stop requested (finish jobs), 2 stop jobs now.
    pub level: watch::Sender<u8>,
    /// Pending outcomes that trigger a flush before the ~0.1 s timer.
    flush_at: usize,
    dirty: AtomicBool,
    snapshot: watch::Sender<Snapshot>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than stopping would.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn db(&self) -> Option<Arc<Db>> {
        self.db.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_db(&self, db: Option<Arc<Db>>) {
        *self.db.lock().unwrap_or_else(|p| p.into_inner()) = db;
    }

    fn set_state(&self, s: WorkerState) {
        self.state().worker_state = Some(s);
        self.dirty.store(true, Ordering::Relaxed);
    }

    pub fn schedule_fired(&self) {
        self.state().schedules_fired += 1;
        self.dirty.store(true, Ordering::Relaxed);
    }

    fn stop_level(&self) -> u8 {
        *self.level.borrow()
    }

    fn busy(&self) -> usize {
        let s = self.state();
        s.inflight.len() + s.pending.len()
    }

    /// Start a task for `job` unless it already runs here (a late heartbeat
    /// can let our own dequeue re-pick a job we are still running).
    fn dispatch(self: &Arc<Self>, job: Job) {
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
            if s.inflight.contains_key(&job.id) {
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

    fn finish(&self, id: i64, entrypoint: &str, outcome: Outcome) {
        let mut s = self.state();
        if let Some(f) = s.inflight.get_mut(&id) {
            f.completing = true;
        }
        if !s.counters.contains_key(entrypoint) {
            s.counters
                .insert(entrypoint.to_string(), Counters::default());
        }
        if let Some(c) = s.counters.get_mut(entrypoint) {
            match &outcome {
                Outcome::Successful => c.successful += 1,
                Outcome::Exception(_) => c.exception += 1,
                Outcome::Held(_) => c.failed += 1,
                Outcome::Canceled => c.canceled += 1,
                Outcome::Retry { .. } => c.retried += 1,
                Outcome::Return => c.returned += 1,
            }
        }
        s.pending.push(Pending { id, outcome });
        let full = s.pending.len() >= self.flush_at;
        drop(s);
        self.dirty.store(true, Ordering::Relaxed);
        if full {
            self.flush_now.notify_one();
        }
    }

    /// A `cancellation_event`: stop the named jobs that run here.
    fn cancel(&self, ids: &[i64]) {
        let s = self.state();
        for id in ids {
            if let Some(f) = s.inflight.get(id)
                && !f.completing
            {
                log::info(
                    "Cancellation requested",
                    &[
                        ("job_id", Value::from(*id)),
                        ("entrypoint", Value::from(&*f.entrypoint)),
                    ],
                );
                f.stop.send_replace(Some(StopReason::Canceled));
            }
        }
    }

    /// Forced shutdown: stop every running handler (not yet canceled).
    fn stop_all_jobs(&self) -> usize {
        let s = self.state();
        let mut n = 0;
        for f in s.inflight.values().filter(|f| !f.completing) {
            let changed = f.stop.send_if_modified(|r| {
                if r.is_none() {
                    *r = Some(StopReason::Shutdown);
                    true
                } else {
                    false
                }
            });
            n += usize::from(changed);
        }
        n
    }

    /// Write pending outcomes. Items leave the buffer only once written, so
    /// an aborted or failed flush loses nothing (re-writing a completion is
    /// harmless: a deleted row logs nothing the second time).
    async fn flush(&self, db: &Db) -> Result<(), DbFailure> {
        let items = self.state().pending.clone();
        if items.is_empty() {
            return Ok(());
        }
        let mut ids = Vec::new();
        let mut statuses = Vec::new();
        let mut tracebacks = Vec::new();
        let mut later = Vec::new();
        for p in &items {
            let (status, tb) = match &p.outcome {
                Outcome::Successful => ("successful", None),
                Outcome::Exception(tb) => ("exception", Some(tb.clone())),
                Outcome::Held(tb) => ("failed", Some(tb.clone())),
                Outcome::Canceled => ("canceled", None),
                Outcome::Retry { .. } | Outcome::Return => {
                    later.push(p);
                    continue;
                }
            };
            ids.push(p.id);
            statuses.push(status);
            tracebacks.push(tb);
        }
        if !ids.is_empty() {
            db.log_jobs(&ids, &statuses, &tracebacks).await?;
            self.written(&ids);
        }
        let mut returns = Vec::new();
        for p in later {
            match &p.outcome {
                Outcome::Retry { delay, traceback } => {
                    db.retry(p.id, *delay, traceback).await?;
                    self.written(&[p.id]);
                }
                _ => returns.push(p.id),
            }
        }
        if !returns.is_empty() {
            db.return_to_queue(&returns, self.qm).await?;
            self.written(&returns);
            log::info(
                "Returned stopped jobs to the queue",
                &[("jobs", Value::from(returns.len()))],
            );
        }
        Ok(())
    }

    fn written(&self, ids: &[i64]) {
        let done: HashSet<i64> = ids.iter().copied().collect();
        let mut s = self.state();
        s.pending.retain(|p| !done.contains(&p.id));
        for id in ids {
            s.inflight.remove(id);
        }
        s.jobs_logged += ids.len() as u64;
        drop(s);
        self.dirty.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    fn publish(&self) {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return;
        }
        let s = self.state();
        let mut in_flight: Vec<InFlightJob> = s
            .inflight
            .iter()
            .map(|(id, f)| InFlightJob {
                id: *id,
                entrypoint: f.entrypoint.to_string(),
                started: f.started,
                completing: f.completing,
            })
            .collect();
        in_flight.sort_by_key(|j| j.id);
        let entrypoints = s.counters.clone();
        let state = s.worker_state.unwrap_or(WorkerState::Connecting);
        let fired = s.schedules_fired;
        drop(s);
        self.snapshot.send_modify(|snap| {
            snap.state = state;
            snap.in_flight = in_flight;
            snap.entrypoints = entrypoints;
            snap.schedules_fired = fired;
        });
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
    shared.finish(id, name, outcome);
}

fn failure_outcome(
    shared: &Shared,
    ep: &RegisteredEntrypoint,
    id: i64,
    attempts: i32,
    error: &JobError,
    fields: impl Fn(Vec<log::Field<'static>>) -> Vec<log::Field<'static>>,
) -> Outcome {
    let name = &*ep.name;
    if let Some(policy) = &ep.options.retry
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

fn jitter(d: Duration) -> Duration {
    // ±20 %, like PGQueuer's timers, so a fleet does not beat in lockstep.
    let unit = (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    d.mul_f64(0.8 + 0.4 * unit)
}

/// Why a connection cycle ended.
enum CycleEnd {
    /// Stopping was requested (or drain mode found nothing): no more dequeues.
    Stop,
    /// Everything finished and was written.
    Done,
    Failed(DbFailure),
}

pub(crate) async fn run(worker: Worker, settings: ConnectionSettings) -> Result<(), WorkerError> {
    let Worker {
        names,
        options,
        entrypoints,
        schedules,
        queue_manager_id: qm,
        shutdown,
        snapshot,
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
    };
    // PGQueuer flushes completions at `batch_size` (or every 0.1 s). Where a
    // picked row holds a capacity slot or counts against the worker's budget,
    // pgq keeps that rule so capacity frees up as soon as possible; otherwise
    // it lets up to 100 outcomes share one statement (and one commit), which
    // at small batch sizes saves a quarter of the client CPU per job.
    let limited = params.limits.iter().any(|l| *l > 0) || params.global_limit.is_some();
    let flush_at = if limited {
        options.batch_size as usize
    } else {
        (options.batch_size as usize).max(100)
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
        probes: Mutex::new(HashMap::new()),
        db: Mutex::new(None),
        level: shutdown,
        flush_at,
        dirty: AtomicBool::new(true),
        snapshot,
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

async fn supervise(
    shared: &Arc<Shared>,
    settings: &ConnectionSettings,
    mut scheduler: Option<tokio::task::JoinHandle<()>>,
) -> Result<(), WorkerError> {
    let mut stopping = false;
    let mut failures: u32 = 0;
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut level_rx = shared.level.subscribe();
    loop {
        // While (re)connecting, a stop request ends the worker at once when
        // nothing runs; with jobs running only a forced stop does.
        let stop_at = if shared.busy() > 0 { 2 } else { 1 };
        let opened = tokio::select! {
            r = Db::open(settings, &shared.names, &shared.params) => Some(r),
            _ = wait_level(&mut level_rx, stop_at) => None,
        };
        let opened = match opened {
            None if shared.busy() == 0 => return finish_scheduler(scheduler).await,
            None => {
                let why = "stopped while the database was unreachable";
                return give_up(shared, settings, DbFailure::without_server_error(why)).await;
            }
            Some(Err(OpenError::Schema(m))) => return Err(WorkerError::Schema(m)),
            Some(Err(e)) => {
                let reason = e.to_string();
                if !shared.opts.restart_on_failure {
                    let failure = match &e {
                        OpenError::Db(failure) => failure.clone(),
                        _ => DbFailure::without_server_error(reason),
                    };
                    give_up(shared, settings, failure.clone()).await?;
                    return Err(match e {
                        OpenError::Connect(c) => WorkerError::Connect(c),
                        _ => WorkerError::Database(failure),
                    });
                }
                failures += 1;
                if !backoff(shared, &mut level_rx, failures, &reason, &scheduler).await {
                    return finish_scheduler(scheduler).await;
                }
                continue;
            }
            Some(Ok(o)) => o,
        };
        if failures > 0 {
            log::info("Reconnected", &[]);
        }
        failures = 0;
        let db = Arc::new(opened.db);
        shared.set_db(Some(db.clone()));
        let (fail_tx, mut fail_rx) = mpsc::unbounded_channel::<DbFailure>();
        let mut tasks = JoinSet::new();
        tasks.spawn(router(
            shared.clone(),
            opened.notifications,
            fail_tx.clone(),
        ));
        tasks.spawn(flusher(shared.clone(), db.clone(), fail_tx.clone()));
        tasks.spawn(heartbeater(shared.clone(), db.clone(), fail_tx.clone()));
        tasks.spawn(health_probe(shared.clone(), db.clone(), fail_tx.clone()));
        tasks.spawn(aggregator(shared.clone(), db.clone()));
        drop(fail_tx);

        let mut end = if stopping {
            CycleEnd::Stop
        } else {
            shared.set_state(WorkerState::Running);
            serve(shared, &db, &mut level_rx, &mut fail_rx).await
        };
        if let CycleEnd::Stop = end {
            if !stopping {
                stopping = true;
                // Drain mode ends the same way as a stop request, so the
                // scheduler (which watches the level) stops too.
                shared.level.send_if_modified(|level| {
                    let raise = *level == 0;
                    if raise {
                        *level = 1;
                    }
                    raise
                });
                let busy = shared.busy();
                deadline = shared
                    .opts
                    .shutdown_timeout
                    .map(|t| tokio::time::Instant::now() + t);
                log::info(
                    "Stopping: no more dequeues; waiting for running jobs",
                    &[
                        ("running", Value::from(busy)),
                        (
                            "shutdown_timeout_s",
                            shared
                                .opts
                                .shutdown_timeout
                                .map_or(Value::Null, |t| Value::from(t.as_secs_f64())),
                        ),
                    ],
                );
            }
            shared.set_state(WorkerState::Stopping);
            end = wind_down(
                shared,
                &mut level_rx,
                &mut fail_rx,
                deadline,
                &mut scheduler,
            )
            .await;
        }
        match end {
            CycleEnd::Done => {
                // Last aggregation of what this worker logged, best effort.
                if shared.state().jobs_logged > 0 {
                    let _ = db.aggregate().await;
                }
                tasks.abort_all();
                return Ok(());
            }
            CycleEnd::Stop => unreachable!("wind_down never returns Stop"),
            CycleEnd::Failed(failure) => {
                tasks.abort_all();
                shared.set_db(None);
                if !shared.opts.restart_on_failure {
                    give_up(shared, settings, failure.clone()).await?;
                    return Err(WorkerError::Database(failure));
                }
                failures += 1;
                let reason = failure.to_string();
                if !backoff(shared, &mut level_rx, failures, &reason, &scheduler).await {
                    return finish_scheduler(scheduler).await;
                }
            }
        }
    }
}

async fn finish_scheduler(
    scheduler: Option<tokio::task::JoinHandle<()>>,
) -> Result<(), WorkerError> {
    if let Some(s) = scheduler {
        s.abort();
    }
    Ok(())
}

/// The worker ends without its connections (a database failure without
/// `--restart-on-failure`, or a forced stop during an outage): stop running
/// jobs, then write what they left (completions, and `queued` for the
/// stopped ones) over fresh connections. Only when the database does not
/// answer do their rows stay `picked`, for other workers to re-pick after
/// the heartbeat timeout; `Err` says so.
async fn give_up(
    shared: &Arc<Shared>,
    settings: &ConnectionSettings,
    failure: DbFailure,
) -> Result<(), WorkerError> {
    shared.stop_all_jobs();
    let deadline = Instant::now() + shared.opts.stop_grace + Duration::from_secs(1);
    while shared.state().inflight.values().any(|f| !f.completing) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if shared.busy() == 0 {
        return Ok(());
    }
    let unwritten = write_back(shared, settings).await.err();
    // Written jobs have left `inflight`; what remains is still `picked`.
    let left = shared.state().inflight.len();
    if left == 0 {
        return Ok(());
    }
    let why = unwritten.unwrap_or_else(|| "a job did not stop within the grace".into());
    log::error(
        "Giving up with jobs left picked; other workers re-pick them after the heartbeat timeout",
        &[
            ("jobs", Value::from(left)),
            ("reason", Value::from(failure.to_string())),
            ("not_written_because", Value::from(why)),
        ],
    );
    Err(WorkerError::Database(failure.and_then(&format!(
        "{left} job(s) left picked for re-pick after the heartbeat timeout"
    ))))
}

/// Open new connections and write the pending outcomes, bounded in time so
/// an unreachable database cannot hold the exit.
async fn write_back(shared: &Shared, settings: &ConnectionSettings) -> Result<(), String> {
    let attempt = async {
        let opened = Db::open(settings, &shared.names, &shared.params)
            .await
            .map_err(|e| e.to_string())?;
        shared.flush(&opened.db).await.map_err(|e| e.to_string())
    };
    tokio::time::timeout(WRITE_BACK_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| Err("the database did not answer in time".into()))
}

/// Wait before reconnecting; `false` when a stop made reconnecting pointless.
async fn backoff(
    shared: &Arc<Shared>,
    level_rx: &mut watch::Receiver<u8>,
    failures: u32,
    reason: &str,
    scheduler: &Option<tokio::task::JoinHandle<()>>,
) -> bool {
    // The listeners' doubling policy, from the user's --restart-delay.
    let base = shared.opts.restart_delay;
    let delay = Backoff::new(base, MAX_BACKOFF.max(base)).delay(failures);
    shared.set_state(WorkerState::Reconnecting(failures));
    log::error(
        &format!("Database failure: {reason}"),
        &[
            ("attempt", Value::from(failures)),
            ("retry_in_s", Value::from(delay.as_secs_f64())),
        ],
    );
    let until = tokio::time::Instant::now() + delay;
    loop {
        let idle = shared.busy() == 0 && scheduler.as_ref().is_none_or(|s| s.is_finished());
        if shared.stop_level() >= 1 && idle {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return true,
            _ = level_rx.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

async fn wait_level(rx: &mut watch::Receiver<u8>, at_least: u8) {
    while *rx.borrow_and_update() < at_least {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Dequeue and dispatch until a stop request, drain completion or failure.
async fn serve(
    shared: &Arc<Shared>,
    db: &Db,
    level_rx: &mut watch::Receiver<u8>,
    fail_rx: &mut mpsc::UnboundedReceiver<DbFailure>,
) -> CycleEnd {
    let p = &shared.params;
    loop {
        if p.entrypoints.is_empty() {
            if shared.opts.mode == Mode::Drain {
                return CycleEnd::Stop;
            }
            tokio::select! {
                _ = wait_level(level_rx, 1) => return CycleEnd::Stop,
                r = fail_rx.recv() => return failed(r),
            }
        }
        // Dequeue until a dequeue comes back empty (PGQueuer's loop), keeping
        // two statements in flight on the connection so the server starts
        // the next one without waiting for a round trip. The second one only
        // ever claims what a sequential loop would have claimed next.
        let lanes = db.dequeue_lanes();
        let depth = 2 * lanes;
        let mut next_lane = 0;
        let mut issue = |pipeline: &mut futures_util::stream::FuturesOrdered<_>| {
            pipeline.push_back(db.dequeue(p, next_lane));
            next_lane = (next_lane + 1) % lanes;
        };
        let mut pipeline = futures_util::stream::FuturesOrdered::new();
        issue(&mut pipeline);
        let mut exhausted = false;
        // Set on a stop or failure: issue nothing more, but keep reading.
        // A dequeue already sent commits its claims on the server whether or
        // not its answer is read, so dropping it would leave those jobs
        // `picked` by nobody until the heartbeat timeout. Every job a sent
        // dequeue claimed is dispatched, as Python runs its last batch.
        let mut end = None;
        while let Some(result) = pipeline.next().await {
            let jobs = match result {
                Ok(jobs) => jobs,
                Err(e) => {
                    end.get_or_insert(CycleEnd::Failed(e));
                    continue;
                }
            };
            let full = jobs.len() as i64 >= p.batch_size;
            exhausted |= jobs.is_empty();
            for job in jobs {
                shared.dispatch(job);
            }
            if end.is_none() && shared.stop_level() > 0 {
                end = Some(CycleEnd::Stop);
            }
            if end.is_none()
                && let Ok(reason) = fail_rx.try_recv()
            {
                end = Some(CycleEnd::Failed(reason));
            }
            if end.is_none() && !exhausted {
                issue(&mut pipeline);
                while full && pipeline.len() < depth {
                    issue(&mut pipeline);
                }
            }
        }
        if let Some(end) = end {
            return end;
        }
        // Drain ends only if nothing ran while the probe looked: a job that
        // finished during the probe (say, a retry put back to `queued`) may
        // have been written after the probe's snapshot was taken.
        let idle_before_probe = shared.busy() == 0;
        let probe = match db.work_probe(&p.entrypoints).await {
            Ok(probe) => probe,
            Err(e) => return CycleEnd::Failed(e),
        };
        if shared.opts.mode == Mode::Drain && idle_before_probe && !probe.queued {
            log::info("Drain mode: the queue is empty", &[]);
            return CycleEnd::Stop;
        }
        // §8.2: re-poll soon when eligible work is waiting (e.g. capacity was
        // full) or a deferred job is due before the dequeue timeout.
        let timeout = if probe.eligible {
            MIN_POLL
        } else {
            match probe.eta {
                Some(eta) if eta < shared.opts.dequeue_timeout => eta.max(MIN_POLL),
                None if probe.queued => MIN_POLL,
                _ => shared.opts.dequeue_timeout,
            }
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(timeout) => {}
            _ = wait_level(level_rx, 1) => return CycleEnd::Stop,
            r = fail_rx.recv() => return failed(r),
        }
    }
}

fn failed(failure: Option<DbFailure>) -> CycleEnd {
    CycleEnd::Failed(
        failure.unwrap_or_else(|| DbFailure::without_server_error("a worker task ended")),
    )
}

/// After a stop request: wait until every job has finished and been written
/// (and the scheduler has released its schedules), stopping jobs when the
/// shutdown timeout passes or a second stop request arrives.
async fn wind_down(
    shared: &Arc<Shared>,
    level_rx: &mut watch::Receiver<u8>,
    fail_rx: &mut mpsc::UnboundedReceiver<DbFailure>,
    deadline: Option<tokio::time::Instant>,
    scheduler: &mut Option<tokio::task::JoinHandle<()>>,
) -> CycleEnd {
    let mut announced = false;
    loop {
        if shared.stop_level() >= 2 {
            let n = shared.stop_all_jobs();
            if n > 0 || !announced {
                log::warning(
                    "Stopping running jobs now; they go back to the queue",
                    &[("jobs", Value::from(n))],
                );
                announced = true;
            }
        }
        shared.flush_now.notify_one();
        let scheduler_done = scheduler.as_ref().is_none_or(|s| s.is_finished());
        if shared.busy() == 0 && scheduler_done {
            return CycleEnd::Done;
        }
        let timeout = async {
            match deadline {
                Some(d) if shared.stop_level() < 2 => tokio::time::sleep_until(d).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = level_rx.changed() => {}
            _ = timeout => {
                log::warning("Shutdown timeout reached", &[]);
                shared.level.send_replace(2);
            }
            r = fail_rx.recv() => return failed(r),
        }
    }
}

async fn router(
    shared: Arc<Shared>,
    mut notifications: mpsc::UnboundedReceiver<tokio_postgres::Notification>,
    fail: mpsc::UnboundedSender<DbFailure>,
) {
    while let Some(n) = notifications.recv().await {
        match Event::parse(n.payload()) {
            Event::TableChanged { .. } => shared.wake.notify_one(),
            Event::Cancellation { ids, .. } => shared.cancel(&ids),
            Event::HealthCheck { id, .. } => {
                let waiter = shared
                    .probes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                if let Some(tx) = waiter {
                    let _ = tx.send(());
                }
            }
            Event::Unknown(payload) => log::debug(
                "Ignoring an unknown NOTIFY payload",
                &[("payload", Value::from(payload))],
            ),
        }
    }
    let _ = fail.send(DbFailure::without_server_error(
        "the connection to the server was lost",
    ));
}

async fn flusher(shared: Arc<Shared>, db: Arc<Db>, fail: mpsc::UnboundedSender<DbFailure>) {
    loop {
        tokio::select! {
            _ = shared.flush_now.notified() => {}
            _ = tokio::time::sleep(jitter(FLUSH_EVERY)) => {}
        }
        if let Err(e) = shared.flush(&db).await {
            let _ = fail.send(e);
            return;
        }
    }
}

async fn heartbeater(shared: Arc<Shared>, db: Arc<Db>, fail: mpsc::UnboundedSender<DbFailure>) {
    let timeout = shared.opts.heartbeat_timeout;
    let (beat_every, flush_every) = (timeout / 2, timeout / 8);
    loop {
        tokio::time::sleep(jitter(flush_every)).await;
        let now = Instant::now();
        let due: Vec<i64> = shared
            .state()
            .inflight
            .iter()
            .filter(|(_, f)| now.duration_since(f.last_beat) >= beat_every)
            .map(|(id, _)| *id)
            .collect();
        if due.is_empty() {
            continue;
        }
        if let Err(e) = db.heartbeat(&due).await {
            let _ = fail.send(e);
            return;
        }
        let mut s = shared.state();
        for id in &due {
            if let Some(f) = s.inflight.get_mut(id) {
                f.last_beat = now;
            }
        }
    }
}

/// Every 10 s: NOTIFY a `health_check_event` and expect our own echo within
/// 10 s. A missing echo ends the cycle under `--shutdown-on-listener-failure`
/// (as in PGQueuer, except in drain mode); otherwise pgq re-issues LISTEN.
async fn health_probe(shared: Arc<Shared>, db: Arc<Db>, fail: mpsc::UnboundedSender<DbFailure>) {
    loop {
        let id = Uuid::new_v4();
        let (tx, rx) = oneshot::channel();
        shared
            .probes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let payload = serde_json::json!({
            "channel": shared.names.channel,
            "sent_at": utc_now_text(),
            "type": "health_check_event",
            "id": id.to_string(),
        })
        .to_string();
        if let Err(e) = db.notify(&payload).await {
            let _ = fail.send(e);
            return;
        }
        let echoed = tokio::time::timeout(HEALTH_EVERY, rx).await;
        shared
            .probes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        if !matches!(echoed, Ok(Ok(()))) {
            if shared.opts.shutdown_on_listener_failure && shared.opts.mode != Mode::Drain {
                let _ = fail.send(DbFailure::without_server_error(
                    "the LISTEN connection failed its health check",
                ));
                return;
            }
            log::warning("The LISTEN health check got no echo; listening again", &[]);
            if let Err(e) = db.relisten().await {
                let _ = fail.send(e);
                return;
            }
        }
        tokio::time::sleep(HEALTH_EVERY).await;
    }
}

async fn aggregator(shared: Arc<Shared>, db: Arc<Db>) {
    let every = shared.opts.log_aggregation_interval;
    if every.is_zero() {
        return;
    }
    loop {
        tokio::time::sleep(jitter(every)).await;
        let logged = shared.state().jobs_logged;
        if logged == 0 {
            continue;
        }
        match db.aggregate().await {
            Ok(()) => {
                let mut s = shared.state();
                s.jobs_logged = s.jobs_logged.saturating_sub(logged);
            }
            Err(e) => log::warning(&format!("Log aggregation failed: {e}"), &[]),
        }
    }
}
