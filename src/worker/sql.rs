//! The worker's SQL, in PGQueuer 1.6.0's shapes (facts §7, §9.2); the text
//! lives in `sql/` (see `db::statements`).
//!
//! The dequeue statement follows PGQueuer's four gate shapes (entrypoint
//! capacity slots on/off × per-worker budget on/off) clause for clause, so a
//! pgq worker and a Python worker on one queue count picked rows, assign
//! `slot`s and skip locked rows identically. Differences are only in how
//! values travel: intervals are passed as seconds (`make_interval`) and the
//! enum casts go through `text`, because tokio-postgres has no interval type
//! and cannot bind a custom enum directly.

use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

/// Bind order: $1 batch size, $2 entrypoints, $3 queue_manager_id,
/// $4 heartbeat timeout (seconds), then $5 limits (capacity shape) and the
/// global limit ($5 or $6, budget shape).
///
/// In the capacity shapes the window is fixed before locking, so SKIP LOCKED
/// cannot slide past the cap, and the partial unique index on (entrypoint,
/// slot) of picked rows makes the loser of a slot race fail with 23505
/// instead of overshooting. Stale re-picks skip the capacity gate: they move
/// a row that is already counted as picked, and gating them could block
/// recovery for ever.
pub fn dequeue(n: &ObjectNames, capacity_gated: bool, budget_gated: bool) -> String {
    let statement = match (capacity_gated, budget_gated) {
        (false, false) => Statement::Dequeue,
        (true, false) => Statement::DequeueCapacity,
        (false, true) => Statement::DequeueBudget,
        (true, true) => Statement::DequeueCapacityBudget,
    };
    statement.render(n)
}

/// Completions (`log_jobs`): $1 ids, $2 statuses (text), $3 tracebacks
/// (text of JSON or NULL). Held (`failed`) rows stay, the rest are deleted;
/// log rows only for rows found.
pub fn log_jobs(n: &ObjectNames) -> String {
    Statement::LogJobs.render(n)
}

/// `$1` ids.
pub fn heartbeat(n: &ObjectNames) -> String {
    Statement::Heartbeat.render(n)
}

/// A database retry: $1 id, $2 delay seconds, $3 traceback JSON text.
pub fn retry(n: &ObjectNames) -> String {
    Statement::Retry.render(n)
}

/// pgq's own: a forced shutdown hands still-running jobs back. $1 ids,
/// $2 this worker's id (a row another worker re-picked is left alone).
/// Logged `queued`, like a retry or requeue.
pub fn return_to_queue(n: &ObjectNames) -> String {
    Statement::ReturnToQueue.render(n)
}

/// What to do after an empty dequeue (§8.2): is eligible work waiting, when
/// is the next deferred job due (seconds), is anything queued at all. One
/// round trip for PGQueuer's three probes. $1 entrypoints.
pub fn work_probe(n: &ObjectNames) -> String {
    Statement::WorkProbe.render(n)
}

/// Periodic log → statistics aggregation, serialised across workers by a
/// transaction-scoped advisory lock (losers do nothing). Folds at most $1
/// log rows and answers how many it flagged; the statistics come out as
/// PGQueuer's one-statement form gives them.
pub fn aggregate_logs(n: &ObjectNames) -> String {
    Statement::AggregateLogs.render(n)
}

/// The objects a 1.6 worker needs (PGQueuer's `verify_structure`), as one
/// row of booleans, each column named after the object it checks.
pub fn verify_structure(n: &ObjectNames) -> String {
    Statement::VerifyStructure.render(n)
}

/// Schedules (§9.2). $1 expressions, $2 entrypoints, $3 delays (seconds).
pub fn insert_schedules(n: &ObjectNames) -> String {
    Statement::InsertSchedules.render(n)
}

/// Claim due (or stale picked) schedules registered here and move their
/// `next_run` on. Same bind order as [`insert_schedules`].
pub fn fetch_schedules(n: &ObjectNames) -> String {
    Statement::FetchSchedules.render(n)
}

pub fn schedule_heartbeat(n: &ObjectNames) -> String {
    Statement::ScheduleHeartbeat.render(n)
}

pub fn schedule_done(n: &ObjectNames) -> String {
    Statement::ScheduleDone.render(n)
}

/// `clean_old`: drop every schedule row of these entrypoints first.
pub fn delete_schedules(n: &ObjectNames) -> String {
    Statement::DeleteSchedules.render(n)
}
