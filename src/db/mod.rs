//! Database access: connecting, catalog inspection, server-enforced read-only
//! sessions, and recognising a hot standby.

pub mod catalog;
pub mod connect;
pub mod read_only;
pub mod recovery;
pub mod statements;
