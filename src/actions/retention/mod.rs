//! Retention: pruning old log and statistics rows.

pub mod prune;
