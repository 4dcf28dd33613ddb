//! Database access: connecting, catalog inspection, and recognising a hot
//! standby.

pub mod catalog;
pub mod connect;
pub mod recovery;
