//! The worker: a PGQueuer 1.6 queue manager (and scheduler) in Rust.
//!
//! `pgq run workers.toml` builds a [`Worker`] from a [manifest] and runs it;
//! a Rust program can build the same [`Worker`] with async handlers and run
//! it too (see `examples/worker.rs`). Either way the worker shares a database
//! with Python PGQueuer 1.6.0 workers: it dequeues with PGQueuer's statement
//! shapes (so `FOR UPDATE SKIP LOCKED`, stale re-picks and the fleet-wide
//! `concurrency_limit` slots agree), writes the same log rows and traceback
//! objects, and speaks the same NOTIFY events.
//!
//! Module map: [`manifest`] (the TOML factory), `engine` (the dequeue loop,
//! buffers, reconnects and shutdown), `sql`/`db` (statements and the
//! connections that run them), `command`/`builtin`/`http` (executors;
//! `command_output` bounds what a command writes to the log, `http_setup`
//! resolves an HTTP entrypoint's headers and clients), `scheduler`
//! (the `pgqueuer_schedules` protocol), `transient` (running a statement
//! again after a deadlock), `traceback` (log row JSON), [`log`]
//! (event lines) and [`snapshot`] (what a console can observe).

mod builtin;
mod command;
mod command_output;
mod db;
mod engine;
mod http;
mod http_setup;
pub mod log;
pub mod manifest;
pub mod metrics;
mod scheduler;
pub mod snapshot;
pub mod sql;
mod traceback;
mod transient;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use uuid::Uuid;

use crate::settings::names::ObjectNames;
pub use db::DbFailure;
pub use snapshot::{Counters, InFlightJob, Snapshot, WorkerState};

/// `continuous` runs until stopped; `drain` stops once nothing is queued for
/// this worker's entrypoints (deferred jobs included) and nothing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    Continuous,
    Drain,
}

/// What happens to a job whose handler failed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Delete the row; log `exception` (PGQueuer's default).
    Delete,
    /// Keep the row with status `failed` for `pgq requeue`; log `failed`.
    Hold,
}

/// Database retries as PGQueuer's `DatabaseRetryEntrypointExecutor`: a
/// failed job goes back to `queued` with `attempts + 1` after
/// `min(initial_delay · multiplier^attempts, max_delay)`, until `attempts`
/// reaches `max_attempts`; then the failure is terminal.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_delay: Duration,
    pub max_delay: Duration,
    pub multiplier: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            multiplier: 2.0,
        }
    }
}

impl RetryPolicy {
    /// The delay before the retry of a job that has been tried `attempts` times.
    pub fn delay(&self, attempts: i32) -> Duration {
        let factor = self.multiplier.powi(attempts.max(0));
        let secs = self.initial_delay.as_secs_f64() * factor;
        if !secs.is_finite() || secs >= self.max_delay.as_secs_f64() {
            self.max_delay
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// Per-entrypoint options, as `@pgq.entrypoint(...)` in PGQueuer 1.6.
#[derive(Debug, Clone, PartialEq)]
pub struct EntrypointOptions {
    /// Fleet-wide limit of picked jobs (0 = unlimited), enforced by slots.
    pub concurrency_limit: u32,
    pub on_failure: OnFailure,
    /// `None`: a failure is terminal at once (PGQueuer's default executor).
    pub retry: Option<RetryPolicy>,
}

impl Default for EntrypointOptions {
    fn default() -> Self {
        EntrypointOptions {
            concurrency_limit: 0,
            on_failure: OnFailure::Delete,
            retry: None,
        }
    }
}

/// How the worker runs; defaults are PGQueuer 1.6.0's `pgq run` defaults.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub batch_size: u32,
    pub dequeue_timeout: Duration,
    pub heartbeat_timeout: Duration,
    pub mode: Mode,
    /// Cap on this worker's picked jobs (must be ≥ 2 × batch size).
    pub max_concurrent_tasks: Option<u32>,
    pub shutdown_on_listener_failure: bool,
    /// Reconnect (after `restart_delay`, doubling up to 30 s; reset after
    /// 30 s of serving without a failure) when the database fails, instead
    /// of exiting with an error.
    pub restart_on_failure: bool,
    pub restart_delay: Duration,
    /// After a stop request, how long running jobs may take before they are
    /// stopped and returned to `queued`; `None` waits for ever (PGQueuer).
    pub shutdown_timeout: Option<Duration>,
    /// How often logged jobs are folded into the statistics table (0 = never).
    pub log_aggregation_interval: Duration,
    /// How long a stopped handler may take to end before it is dropped.
    pub stop_grace: Duration,
    /// Connections that dequeue in parallel (pgq's addition; 1 = one
    /// connection dequeues, like PGQueuer). More lets PostgreSQL run several
    /// dequeue statements at once on a multi-core server.
    pub dequeue_connections: u32,
    /// Start on a schema newer than the one pgq writes (refused otherwise,
    /// as a PGQueuer worker refuses a schema it does not know).
    pub allow_newer_schema: bool,
    /// Where live events (NOTIFY) come from.
    pub live_events: LiveEvents,
    /// How often an idle worker dequeues while live events are missing
    /// (no LISTEN, or its probe got no echo).
    pub poll_interval: Duration,
}

/// Where a worker's live events (NOTIFY) come from.
#[derive(Debug, Clone, Default)]
pub enum LiveEvents {
    /// LISTEN on the connection that dequeues (PGQueuer's way).
    #[default]
    Main,
    /// LISTEN on a connection of its own to these settings (`--listen-dsn`:
    /// a direct connection while work goes through a transaction pooler).
    Direct(Box<crate::settings::conn::ConnectionSettings>),
    /// No LISTEN (`--no-listen`, or a transaction pooler without
    /// `--listen-dsn`): the worker polls every `poll_interval`.
    Off,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            batch_size: 10,
            dequeue_timeout: Duration::from_secs(30),
            heartbeat_timeout: Duration::from_secs(30),
            mode: Mode::Continuous,
            max_concurrent_tasks: None,
            shutdown_on_listener_failure: false,
            restart_on_failure: false,
            restart_delay: Duration::from_secs(5),
            shutdown_timeout: None,
            log_aggregation_interval: Duration::from_secs(30),
            stop_grace: Duration::from_secs(10),
            dequeue_connections: 1,
            allow_newer_schema: false,
            live_events: LiveEvents::Main,
            poll_interval: Duration::from_secs(2),
        }
    }
}

impl RunOptions {
    /// The checks PGQueuer makes when `run()` starts.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_size == 0 {
            return Err("--batch-size must be at least 1".into());
        }
        if self.dequeue_connections == 0 {
            return Err("--dequeue-connections must be at least 1".into());
        }
        if self.poll_interval.is_zero() {
            return Err("--poll-interval must be more than zero".into());
        }
        if self.heartbeat_timeout.is_zero() {
            return Err("--heartbeat-timeout must be more than zero".into());
        }
        if let Some(max) = self.max_concurrent_tasks
            && max > 0
            && max < 2 * self.batch_size
        {
            return Err(format!(
                "--max-concurrent-tasks ({max}) must be at least twice the batch size ({})",
                self.batch_size
            ));
        }
        Ok(())
    }
}

/// One dequeued job, as the handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub priority: i32,
    pub entrypoint: String,
    pub payload: Option<Vec<u8>>,
    /// A JSON object, JSON `null`, or `None` for SQL NULL.
    pub headers: Option<serde_json::Value>,
    /// How many times the job was retried before this run.
    pub attempts: i32,
    pub created: DateTime<Utc>,
    pub execute_after: DateTime<Utc>,
    pub queue_manager_id: Uuid,
}

/// Why the worker asks a running handler to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// A `cancellation_event` named the job (it is logged `canceled`).
    Canceled,
    /// The worker is shutting down (the job goes back to `queued`).
    Shutdown,
}

/// Handed to every handler run: lets it notice a stop request. A handler
/// that ignores it is dropped after [`RunOptions::stop_grace`].
#[derive(Debug, Clone)]
pub struct JobContext {
    stop: watch::Receiver<Option<StopReason>>,
    pub queue_manager_id: Uuid,
}

impl JobContext {
    pub(crate) fn new(stop: watch::Receiver<Option<StopReason>>, queue_manager_id: Uuid) -> Self {
        JobContext {
            stop,
            queue_manager_id,
        }
    }

    /// Resolves when the worker asks this run to stop.
    pub async fn stopped(&mut self) -> StopReason {
        loop {
            if let Some(reason) = *self.stop.borrow_and_update() {
                return reason;
            }
            if self.stop.changed().await.is_err() {
                // The worker dropped the run; wait for ever rather than lie.
                std::future::pending::<()>().await;
            }
        }
    }

    pub fn stop_requested(&self) -> Option<StopReason> {
        *self.stop.borrow()
    }
}

/// A handler failure, stored as the traceback object's `exception_type`,
/// `exception_message` and `traceback` text.
#[derive(Debug, Clone, PartialEq)]
pub struct JobError {
    pub kind: String,
    pub message: String,
    pub detail: Option<String>,
    /// Whether the entrypoint's database retries may try the job again.
    /// False for a failure that another attempt cannot fix (an HTTP 4xx:
    /// the service rejected the request itself); the job then fails at once.
    pub retryable: bool,
}

impl JobError {
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        JobError {
            kind: kind.into(),
            message: message.into(),
            detail: None,
            retryable: true,
        }
    }

    /// Mark the failure as one that no retry can fix.
    pub fn permanent(mut self) -> Self {
        self.retryable = false;
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn traceback_text(&self) -> String {
        match &self.detail {
            Some(detail) => format!("{}: {}\n{}", self.kind, self.message, detail),
            None => format!("{}: {}", self.kind, self.message),
        }
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl<E: std::error::Error> From<E> for JobError {
    fn from(e: E) -> Self {
        JobError::new("Error", e.to_string())
    }
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
pub type JobResult = Result<(), JobError>;
/// An entrypoint handler.
pub type Handler = Arc<dyn Fn(Job, JobContext) -> BoxFuture<JobResult> + Send + Sync>;

/// One fire of a schedule, as its handler sees it.
#[derive(Debug, Clone)]
pub struct ScheduleFire {
    pub id: i64,
    pub entrypoint: String,
    pub expression: String,
    /// The next fire time this claim set; identifies the fire across a fleet.
    pub next_run: DateTime<Utc>,
}

pub type ScheduleHandler =
    Arc<dyn Fn(ScheduleFire, JobContext) -> BoxFuture<JobResult> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{0}")]
    Registration(String),
    #[error("{0}")]
    Options(String),
    #[error(transparent)]
    Connect(#[from] crate::db::connect::ConnectError),
    #[error("{0}")]
    Schema(String),
    /// The database failed and the worker gave up (no restart on failure).
    #[error("{0}")]
    Database(DbFailure),
}

impl WorkerError {
    /// The SQLSTATE the server reported, when a server error ended the worker.
    pub fn sql_state(&self) -> Option<&tokio_postgres::error::SqlState> {
        match self {
            WorkerError::Database(failure) => failure.sql_state(),
            _ => None,
        }
    }
}

pub(crate) struct RegisteredEntrypoint {
    pub name: Arc<str>,
    pub options: EntrypointOptions,
    pub handler: Handler,
}

pub(crate) struct RegisteredSchedule {
    pub entrypoint: String,
    pub expression: String,
    pub clean_old: bool,
    pub handler: ScheduleHandler,
}

/// Ask a running worker to stop: once gracefully (running jobs finish), a
/// second time (or [`ShutdownTrigger::now`]) at once.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger(watch::Sender<u8>);

impl ShutdownTrigger {
    /// Stop dequeuing; running jobs finish (up to the shutdown timeout). A
    /// second call escalates to [`ShutdownTrigger::now`].
    pub fn request(&self) {
        self.0.send_modify(|level| *level = (*level + 1).min(2));
    }

    /// Stop running jobs too and return them to `queued`.
    pub fn now(&self) {
        self.0.send_replace(2);
    }
}

/// A queue manager (plus scheduler) ready to run.
pub struct Worker {
    names: ObjectNames,
    options: RunOptions,
    entrypoints: Vec<RegisteredEntrypoint>,
    schedules: Vec<RegisteredSchedule>,
    queue_manager_id: Uuid,
    shutdown: watch::Sender<u8>,
    snapshot: watch::Sender<Snapshot>,
    metrics: Option<Arc<metrics::WorkerMetrics>>,
}

impl Worker {
    pub fn new(names: ObjectNames, options: RunOptions) -> Worker {
        let queue_manager_id = Uuid::new_v4();
        Worker {
            names,
            options,
            entrypoints: Vec::new(),
            schedules: Vec::new(),
            queue_manager_id,
            shutdown: watch::channel(0).0,
            snapshot: watch::channel(Snapshot::new(queue_manager_id)).0,
            metrics: None,
        }
    }

    /// This worker's `queue_manager_id` (written on the rows it picks).
    pub fn queue_manager_id(&self) -> Uuid {
        self.queue_manager_id
    }

    /// Register an async handler for `name`. Names must be unique.
    pub fn entrypoint<F, Fut>(
        &mut self,
        name: &str,
        options: EntrypointOptions,
        handler: F,
    ) -> Result<&mut Self, WorkerError>
    where
        F: Fn(Job, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |job, ctx| Box::pin(handler(job, ctx)));
        self.entrypoint_boxed(name, options, handler)
    }

    pub fn entrypoint_boxed(
        &mut self,
        name: &str,
        options: EntrypointOptions,
        handler: Handler,
    ) -> Result<&mut Self, WorkerError> {
        if self.entrypoints.iter().any(|e| &*e.name == name) {
            return Err(WorkerError::Registration(format!(
                "{name} already in registry, name must be unique"
            )));
        }
        self.entrypoints.push(RegisteredEntrypoint {
            name: Arc::from(name),
            options,
            handler,
        });
        Ok(self)
    }

    /// Register an async function run at each fire of `expression` (croniter
    /// dialect, UTC), through the shared schedules table.
    pub fn schedule<F, Fut>(
        &mut self,
        entrypoint: &str,
        expression: &str,
        clean_old: bool,
        handler: F,
    ) -> Result<&mut Self, WorkerError>
    where
        F: Fn(ScheduleFire, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let handler: ScheduleHandler = Arc::new(move |fire, ctx| Box::pin(handler(fire, ctx)));
        self.schedule_boxed(entrypoint, expression, clean_old, handler)
    }

    pub fn schedule_boxed(
        &mut self,
        entrypoint: &str,
        expression: &str,
        clean_old: bool,
        handler: ScheduleHandler,
    ) -> Result<&mut Self, WorkerError> {
        let expression = crate::cron::normalize(expression)
            .map_err(|e| WorkerError::Registration(e.to_string()))?;
        if self
            .schedules
            .iter()
            .any(|s| s.entrypoint == entrypoint && s.expression == expression)
        {
            return Err(WorkerError::Registration(format!(
                "({entrypoint}, {expression}) already in registry, tuple (name, expression) must be unique"
            )));
        }
        self.schedules.push(RegisteredSchedule {
            entrypoint: entrypoint.to_string(),
            expression,
            clean_old,
            handler,
        });
        Ok(self)
    }

    /// Register everything a manifest declares; `extra_args` are appended to
    /// every command executor. HTTP entrypoints get their `${VAR}` header
    /// values from this process's environment now, so a missing variable
    /// stops the worker before it connects.
    pub fn register_manifest(
        &mut self,
        manifest: &manifest::Manifest,
        extra_args: &[String],
    ) -> Result<&mut Self, WorkerError> {
        // One connection pool for all HTTP entrypoints (per set of roots).
        let mut clients = http_setup::HttpClients::default();
        let env = |name: &str| std::env::var(name).ok();
        for ep in &manifest.entrypoints {
            let handler = match &ep.executor {
                manifest::EntrypointExecutor::Local(spec) => {
                    command::entrypoint_handler(spec, extra_args)
                }
                manifest::EntrypointExecutor::Http(spec) => {
                    http::entrypoint_handler(&ep.name, spec, &mut clients, &env)
                        .map_err(WorkerError::Registration)?
                }
            };
            self.entrypoint_boxed(
                &ep.name,
                EntrypointOptions {
                    concurrency_limit: ep.concurrency_limit,
                    on_failure: ep.on_failure,
                    retry: ep.retry.clone(),
                },
                handler,
            )?;
        }
        for s in &manifest.schedules {
            let handler = command::schedule_handler(&s.executor, extra_args);
            self.schedule_boxed(&s.entrypoint, &s.expression, s.clean_old, handler)?;
        }
        Ok(self)
    }

    /// A handle that stops the worker (graceful first, then at once).
    pub fn shutdown_trigger(&self) -> ShutdownTrigger {
        ShutdownTrigger(self.shutdown.clone())
    }

    /// Live state for a console: in-flight jobs and per-entrypoint counters,
    /// published at most every 200 ms while something changes.
    pub fn observe(&self) -> watch::Receiver<Snapshot> {
        self.snapshot.subscribe()
    }

    /// Record the worker's own Prometheus series (off until asked for, so a
    /// worker without a metrics endpoint does not pay for them).
    pub fn metrics(&mut self) -> Arc<metrics::WorkerMetrics> {
        self.metrics
            .get_or_insert_with(|| Arc::new(metrics::WorkerMetrics::new()))
            .clone()
    }

    /// Run until stopped (or drained); `Ok` on a clean stop.
    pub async fn run(
        self,
        settings: crate::settings::conn::ConnectionSettings,
    ) -> Result<(), WorkerError> {
        self.options.validate().map_err(WorkerError::Options)?;
        engine::run(self, settings).await
    }
}
