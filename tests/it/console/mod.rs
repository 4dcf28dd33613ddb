//! The console: ratatui TestBackend renders (insta snapshots), its state
//! machine driven key by key, and the real binary in a pseudo-terminal.

mod busy_queue;
mod chrome;
mod clipboard;
mod config;
pub(crate) mod held_bulk;
mod held_delete;
mod idle;
pub(crate) mod job_ops;
pub(crate) mod jobs;
mod mutations;
mod prune;
mod pty;
mod render;
mod routing;
mod terminal_safety;
mod workers;
