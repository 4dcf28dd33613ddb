//! Database access: connecting and catalog inspection.

pub mod catalog;
pub mod connect;
pub mod read_only;
