//! Jobs and schedules: enqueueing, browsing, cancelling, deleting,
//! purging, pruning, latency, `pgq why`, and schedules beside Python's.

mod actions;
pub(crate) mod actions_interop;
mod batch_input;
mod browser;
mod commands;
mod latency;
mod prune;
mod removal_concurrency;
mod schedule_pause;
mod schedules;
mod why;
