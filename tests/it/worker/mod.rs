//! `pgq run` and the workers it reports: PGQueuer 1.6 semantics, faults,
//! executors, interop with Python workers, liveness and `pgq workers`.

mod aggregation;
mod alive;
mod command_io;
mod faults;
mod herd;
mod http;
mod interop;
mod latency;
mod library;
mod log_lines;
mod report;
mod restarts;
mod semantics;
mod write_conflicts;
