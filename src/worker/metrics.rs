//! The worker's own Prometheus series (`pgq run --metrics-listen`): jobs
//! finished and their execution time per entrypoint, dequeue batches and
//! their latency, reconnects, LISTEN health, jobs in flight and the
//! worker's state.
//!
//! The engine records through small hooks into a recorder of its own (never
//! the process-global one, so a library user's recorder is left alone).
//! Handles are registered once per entrypoint and cached: recording a job is
//! a map lookup and two atomic updates, cheap enough to leave the worker's
//! throughput unchanged. Histogram samples are folded into their buckets by
//! [`WorkerMetrics::upkeep`] (the metrics server calls it periodically), so
//! memory stays bounded between scrapes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

use super::snapshot::{Snapshot, WorkerState};

/// Upper bounds (seconds) of the execution-time and dequeue-latency buckets:
/// from a no-op handler's sub-millisecond run to a five-minute job.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
];

/// How a finished run ended, as the `status` label of the jobs counter.
pub const JOB_STATUSES: &[&str] = &[
    "successful",
    "exception",
    "failed",
    "canceled",
    "retried",
    "returned",
];

const FINISHED: &str = "pgq_worker_jobs_finished_total";
const DURATION: &str = "pgq_worker_job_duration_seconds";
const DEQUEUES: &str = "pgq_worker_dequeue_batches_total";
const DEQUEUED: &str = "pgq_worker_dequeued_jobs_total";
const DEQUEUE_DURATION: &str = "pgq_worker_dequeue_duration_seconds";
const RECONNECTS: &str = "pgq_worker_reconnects_total";
const LISTEN_HEALTHY: &str = "pgq_worker_listen_healthy";
const LISTEN_FAILURES: &str = "pgq_worker_listen_health_failures_total";
const IN_FLIGHT: &str = "pgq_worker_jobs_in_flight";
const STATE: &str = "pgq_worker_state";

/// The handles of one entrypoint's series.
struct EntrypointSeries {
    /// One counter per [`JOB_STATUSES`] entry, in that order.
    finished: Vec<Counter>,
    duration: Histogram,
}

pub struct WorkerMetrics {
    recorder: PrometheusRecorder,
    entrypoints: Mutex<HashMap<Arc<str>, EntrypointSeries>>,
    dequeues: Counter,
    dequeued: Counter,
    dequeue_duration: Histogram,
    reconnects: Counter,
    listen_healthy: Gauge,
    listen_failures: Counter,
    in_flight: Gauge,
    states: Vec<(WorkerState, Gauge)>,
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerMetrics {
    pub fn new() -> WorkerMetrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        describe(&recorder);
        let counter =
            |name: &'static str| recorder.register_counter(&Key::from_static_name(name), &METADATA);
        let gauge =
            |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &METADATA);
        let states = [
            WorkerState::Connecting,
            WorkerState::Running,
            WorkerState::Reconnecting(0),
            WorkerState::Stopping,
            WorkerState::Stopped,
        ]
        .into_iter()
        .map(|state| {
            let key = Key::from_parts(STATE, vec![Label::new("state", state_label(state))]);
            (state, recorder.register_gauge(&key, &METADATA))
        })
        .collect();
        WorkerMetrics {
            dequeues: counter(DEQUEUES),
            dequeued: counter(DEQUEUED),
            dequeue_duration: recorder
                .register_histogram(&Key::from_static_name(DEQUEUE_DURATION), &METADATA),
            reconnects: counter(RECONNECTS),
            listen_healthy: gauge(LISTEN_HEALTHY),
            listen_failures: counter(LISTEN_FAILURES),
            in_flight: gauge(IN_FLIGHT),
            states,
            entrypoints: Mutex::new(HashMap::new()),
            recorder,
        }
    }

    /// A handler run ended with `status` (one of [`JOB_STATUSES`]) after `elapsed`.
    pub fn job_finished(&self, entrypoint: &Arc<str>, status: &str, elapsed: Duration) {
        let mut map = self.entrypoints.lock().unwrap_or_else(|p| p.into_inner());
        // One lookup per job; the series are registered on an entrypoint's first job.
        let series = match map.get(&**entrypoint) {
            Some(series) => series,
            None => map
                .entry(entrypoint.clone())
                .or_insert_with(|| self.entrypoint_series(entrypoint)),
        };
        if let Some(i) = JOB_STATUSES.iter().position(|s| *s == status) {
            series.finished[i].increment(1);
        }
        series.duration.record(elapsed.as_secs_f64());
    }

    /// One dequeue statement answered with `jobs` jobs after `elapsed`.
    pub fn dequeued(&self, jobs: usize, elapsed: Duration) {
        self.dequeues.increment(1);
        self.dequeued.increment(jobs as u64);
        self.dequeue_duration.record(elapsed.as_secs_f64());
    }

    pub fn reconnected(&self) {
        self.reconnects.increment(1);
    }

    /// The result of one LISTEN health check (our own NOTIFY echoed back).
    pub fn listen_health(&self, echoed: bool) {
        self.listen_healthy.set(if echoed { 1.0 } else { 0.0 });
        if !echoed {
            self.listen_failures.increment(1);
        }
    }

    /// Fold recorded histogram samples into their buckets.
    pub fn upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }

    /// The exposition text of every worker series, with the gauges that
    /// come from `snapshot` (jobs in flight, state) brought up to date.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        self.in_flight.set(snapshot.in_flight.len() as f64);
        for (state, gauge) in &self.states {
            let current = state_label(*state) == state_label(snapshot.state);
            gauge.set(if current { 1.0 } else { 0.0 });
        }
        self.recorder.handle().render()
    }

    fn entrypoint_series(&self, entrypoint: &str) -> EntrypointSeries {
        let label = || Label::new("entrypoint", label_value(entrypoint));
        let finished = JOB_STATUSES
            .iter()
            .map(|status| {
                let key = Key::from_parts(FINISHED, vec![label(), Label::new("status", *status)]);
                self.recorder.register_counter(&key, &METADATA)
            })
            .collect();
        let key = Key::from_parts(DURATION, vec![label()]);
        EntrypointSeries {
            finished,
            duration: self.recorder.register_histogram(&key, &METADATA),
        }
    }
}

/// A label value as `metrics-exporter-prometheus` (0.18) must be handed it to
/// come out escaped right. Its escaper takes a backslash before a quote or
/// another backslash for an escape already made and passes it through, so
/// `a\"b` would be exposed as `a"b` and `a\\b` as `a\b`; with every
/// backslash doubled first, it writes the standard escaping of the original.
/// (`metrics::label_values_are_escaped` pins this against a parser.)
pub fn label_value(value: &str) -> String {
    value.replace('\\', "\\\\")
}

/// Time one dequeue statement and count what it returned.
pub(crate) async fn timed_dequeue<T, E>(
    metrics: Option<Arc<WorkerMetrics>>,
    dequeue: impl Future<Output = Result<Vec<T>, E>>,
) -> Result<Vec<T>, E> {
    let started = Instant::now();
    let result = dequeue.await;
    if let (Some(m), Ok(jobs)) = (&metrics, &result) {
        m.dequeued(jobs.len(), started.elapsed());
    }
    result
}

pub fn state_label(state: WorkerState) -> &'static str {
    match state {
        WorkerState::Connecting => "connecting",
        WorkerState::Running => "running",
        WorkerState::Reconnecting(_) => "reconnecting",
        WorkerState::Stopping => "stopping",
        WorkerState::Stopped => "stopped",
    }
}

fn describe(recorder: &PrometheusRecorder) {
    let seconds = Some(Unit::Seconds);
    let help: &[(&str, Option<Unit>, &str, Kind)] = &[
        (
            FINISHED,
            None,
            "Handler runs this worker finished, by entrypoint and how they ended (retried: put back for a database retry; returned: put back by a forced shutdown).",
            Kind::Counter,
        ),
        (
            DURATION,
            seconds,
            "Handler execution time per entrypoint, in seconds.",
            Kind::Histogram,
        ),
        (
            DEQUEUES,
            None,
            "Dequeue statements this worker ran (empty answers included).",
            Kind::Counter,
        ),
        (
            DEQUEUED,
            None,
            "Jobs this worker claimed with its dequeue statements.",
            Kind::Counter,
        ),
        (
            DEQUEUE_DURATION,
            seconds,
            "Time from sending a dequeue statement to its answer, in seconds.",
            Kind::Histogram,
        ),
        (
            RECONNECTS,
            None,
            "Times the worker reconnected after a database failure.",
            Kind::Counter,
        ),
        (
            LISTEN_HEALTHY,
            None,
            "1 when the last LISTEN health check got its echo, 0 when it did not.",
            Kind::Gauge,
        ),
        (
            LISTEN_FAILURES,
            None,
            "LISTEN health checks that got no echo.",
            Kind::Counter,
        ),
        (
            IN_FLIGHT,
            None,
            "Jobs this worker runs now, or whose outcome it is writing.",
            Kind::Gauge,
        ),
        (
            STATE,
            None,
            "1 for the worker's current state (connecting, running, reconnecting, stopping, stopped), 0 for the others.",
            Kind::Gauge,
        ),
    ];
    for (name, unit, text, kind) in help {
        let key = metrics::KeyName::from_const_str(name);
        match kind {
            Kind::Counter => recorder.describe_counter(key, *unit, (*text).into()),
            Kind::Gauge => recorder.describe_gauge(key, *unit, (*text).into()),
            Kind::Histogram => recorder.describe_histogram(key, *unit, (*text).into()),
        }
    }
}

enum Kind {
    Counter,
    Gauge,
    Histogram,
}
