//! What a running worker looks like from outside: the state a console's
//! Worker tab (or a health endpoint) can render. Published through a
//! `tokio::sync::watch` channel by [`super::Worker::observe`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    Connecting,
    Running,
    /// The database failed; the worker waits `n`-th time before reconnecting.
    Reconnecting(u32),
    /// A stop was requested; running jobs are finishing.
    Stopping,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlightJob {
    pub id: i64,
    pub entrypoint: String,
    pub started: DateTime<Utc>,
    /// The handler has ended; its log row is waiting to be written.
    pub completing: bool,
}

/// Per-entrypoint totals since the worker started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub successful: u64,
    /// Terminal failures with `on_failure = "delete"` (log `exception`).
    pub exception: u64,
    /// Terminal failures held for requeue (log `failed`).
    pub failed: u64,
    pub canceled: u64,
    pub retried: u64,
    /// Returned to `queued` by a forced shutdown.
    pub returned: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub queue_manager_id: Uuid,
    pub state: WorkerState,
    pub in_flight: Vec<InFlightJob>,
    pub entrypoints: BTreeMap<String, Counters>,
    pub schedules_fired: u64,
}

impl Snapshot {
    pub fn new(queue_manager_id: Uuid) -> Snapshot {
        Snapshot {
            queue_manager_id,
            state: WorkerState::Connecting,
            in_flight: Vec::new(),
            entrypoints: BTreeMap::new(),
            schedules_fired: 0,
        }
    }
}
