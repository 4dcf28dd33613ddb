//! Database access: connecting, rows read by column name, the shared LISTEN listener, catalog
//! inspection, server-enforced read-only sessions, recognising a hot
//! standby, the stop signals long-running commands share, and the
//! statements of `sql/` with the object names filled in.

pub mod catalog;
pub mod client;
pub mod connect;
pub mod error_text;
pub mod jitter;
pub mod listener;
pub mod read_only;
pub mod recovery;
pub mod rows;
pub mod signal;
pub mod statements;
