//! The state a worker keeps across connection cycles: jobs in flight,
//! outcomes waiting to be written, counters, and the stop level.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::{Notify, oneshot, watch};
use uuid::Uuid;

use super::herd::Announcements;
use crate::settings::names::ObjectNames;
use crate::worker::db::{Db, DbFailure, DequeueParams};
use crate::worker::metrics::WorkerMetrics;
use crate::worker::snapshot::{Counters, InFlightJob, Snapshot, WorkerState};
use crate::worker::{RegisteredEntrypoint, RunOptions, StopReason, log, scheduler};

/// What a finished run leaves to be written.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
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

impl Outcome {
    /// The `status` label of the worker's jobs-finished series.
    pub(super) fn metric_status(&self) -> &'static str {
        match self {
            Outcome::Successful => "successful",
            Outcome::Exception(_) => "exception",
            Outcome::Held(_) => "failed",
            Outcome::Canceled => "canceled",
            Outcome::Retry { .. } => "retried",
            Outcome::Return => "returned",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) id: i64,
    pub(super) outcome: Outcome,
}

pub(super) struct InFlight {
    pub(super) entrypoint: Arc<str>,
    pub(super) started: DateTime<Utc>,
    pub(super) last_beat: Instant,
    pub(super) stop: watch::Sender<Option<StopReason>>,
    pub(super) completing: bool,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) inflight: HashMap<i64, InFlight>,
    pub(super) pending: Vec<Pending>,
    pub(super) counters: BTreeMap<String, Counters>,
    /// Jobs dequeued again while their previous run's outcome (a retry, a
    /// return) was being written: the write committed, a dequeue claimed the
    /// row, and its answer arrived before `written` cleared the old entry.
    /// Each runs once that entry is cleared, so no claimed job is dropped.
    pub(super) repicked: HashMap<i64, crate::worker::Job>,
    pub(super) jobs_logged: u64,
    pub(super) worker_state: Option<WorkerState>,
    pub(super) schedules_fired: u64,
}

pub(crate) struct Shared {
    pub names: ObjectNames,
    pub opts: RunOptions,
    pub qm: Uuid,
    pub(super) registry: HashMap<String, Arc<RegisteredEntrypoint>>,
    pub(super) params: DequeueParams,
    pub(super) state: Mutex<State>,
    /// The pending buffer reached a batch: flush now.
    pub(super) flush_now: Notify,
    /// Something worth a new dequeue (table event, job written).
    pub(super) wake: Notify,
    /// Table events since the serve loop last looked (see `herd`).
    pub(super) announced: Mutex<Announcements>,
    /// A finished job is worth a new dequeue: the last probe saw eligible
    /// work this worker did not claim (its own capacity was full), or drain
    /// mode waits for the last job. Otherwise a completion frees nothing a
    /// dequeue could use, and waking for it only costs round trips on the
    /// connection the next job's dequeue needs.
    pub(super) wake_on_finish: AtomicBool,
    pub(super) probes: Mutex<HashMap<Uuid, oneshot::Sender<()>>>,
    /// Live events arrive (assumed until a probe gets no echo, false
    /// without LISTEN): while false an idle worker polls every
    /// `poll_interval` instead of waiting the dequeue timeout for a NOTIFY.
    pub(super) live_events: AtomicBool,
    /// The current connections (None while reconnecting); the scheduler
    /// borrows them.
    pub(super) db: Mutex<Option<Arc<Db>>>,
    /// 0 running, 1 stop requested (finish jobs), 2 stop jobs now.
    pub level: watch::Sender<u8>,
    /// Pending outcomes that trigger a flush before the ~0.1 s timer.
    pub(super) flush_at: usize,
    /// The last dequeue claimed less than a batch: no backlog, so an
    /// outcome is written as soon as it arrives (a later one would only
    /// join it after the flush timer; a flush already running batches
    /// whatever arrives meanwhile). With a backlog, outcomes batch up to
    /// `flush_at` or the timer, which is what throughput needs.
    pub(super) no_backlog: AtomicBool,
    pub(super) dirty: AtomicBool,
    pub(super) snapshot: watch::Sender<Snapshot>,
    /// The worker's own series, when something serves them.
    pub(super) metrics: Option<Arc<WorkerMetrics>>,
}

impl Shared {
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than stopping would.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn announced(&self) -> MutexGuard<'_, Announcements> {
        self.announced.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn set_db(&self, db: Option<Arc<Db>>) {
        *self.db.lock().unwrap_or_else(|p| p.into_inner()) = db;
    }

    pub(super) fn set_state(&self, s: WorkerState) {
        self.state().worker_state = Some(s);
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// The longest an idle worker waits before dequeuing again.
    pub(super) fn idle_wait(&self) -> Duration {
        if self.live_events.load(Ordering::Relaxed) {
            self.opts.dequeue_timeout
        } else {
            self.opts.dequeue_timeout.min(self.opts.poll_interval)
        }
    }

    /// Record whether live events arrive; says so when that changes, and
    /// wakes an idle worker so it starts polling at once.
    pub(super) fn set_live_events(&self, live: bool, why: &str) {
        let was = self.live_events.swap(live, Ordering::Relaxed);
        if was == live {
            return;
        }
        if live {
            log::info("Live events arrive again; waiting for NOTIFY", &[]);
        } else {
            log::warning(
                &format!(
                    "No live events ({why}); polling every {}",
                    seconds(self.opts.poll_interval)
                ),
                &[],
            );
            self.wake.notify_one();
        }
    }

    pub(super) fn stop_level(&self) -> u8 {
        *self.level.borrow()
    }

    pub(super) fn busy(&self) -> usize {
        let s = self.state();
        s.inflight.len() + s.pending.len()
    }

    pub(super) fn finish(&self, id: i64, entrypoint: &str, outcome: Outcome) {
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
        if full || self.no_backlog.load(Ordering::Relaxed) {
            self.flush_now.notify_one();
        }
    }

    /// What the last dequeue said about the backlog; once there is none,
    /// outcomes already waiting are written now.
    pub(super) fn set_backlog(&self, backlog: bool) {
        let was_backlog = !self.no_backlog.swap(!backlog, Ordering::Relaxed);
        if was_backlog && !backlog && !self.state().pending.is_empty() {
            self.flush_now.notify_one();
        }
    }

    /// A `cancellation_event`: stop the named jobs that run here.
    pub(super) fn cancel(&self, ids: &[i64]) {
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
    pub(super) fn stop_all_jobs(&self) -> usize {
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
    pub(super) async fn flush(self: &Arc<Self>, db: &Db) -> Result<(), DbFailure> {
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

    pub(super) fn written(self: &Arc<Self>, ids: &[i64]) {
        let done: HashSet<i64> = ids.iter().copied().collect();
        let mut s = self.state();
        s.pending.retain(|p| !done.contains(&p.id));
        let mut repicked = Vec::new();
        for id in ids {
            match s.repicked.remove(id) {
                // Its entry stays until the new run replaces it.
                Some(job) => repicked.push(job),
                None => {
                    s.inflight.remove(id);
                }
            }
        }
        s.jobs_logged += ids.len() as u64;
        drop(s);
        for job in repicked {
            self.dispatch_repicked(job);
        }
        self.dirty.store(true, Ordering::Relaxed);
        if self.stop_level() > 0 || self.wake_on_finish.load(Ordering::Relaxed) {
            self.wake.notify_one();
        }
    }

    pub(super) fn publish(&self) {
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

/// The scheduler's narrow handle on the worker.
impl scheduler::Host for Shared {
    fn db(&self) -> Option<Arc<Db>> {
        self.db.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn subscribe_stop(&self) -> watch::Receiver<u8> {
        self.level.subscribe()
    }

    fn queue_manager_id(&self) -> Uuid {
        self.qm
    }

    fn schedule_fired(&self) {
        self.state().schedules_fired += 1;
        self.dirty.store(true, Ordering::Relaxed);
    }
}

/// `2 s`, `0.5 s`.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}
