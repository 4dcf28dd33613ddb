//! Database access: connecting, the shared LISTEN listener, catalog
//! inspection, server-enforced read-only sessions, recognising a hot
//! standby, the stop signals long-running commands share, and the
//! statements of `sql/` with the object names filled in.

pub mod catalog;
pub mod client;
pub mod connect;
pub mod error_text;
pub mod listener;
pub mod read_only;
pub mod recovery;
pub mod signal;
pub mod statements;
