//! Database access: connecting and catalog inspection.

pub mod catalog;
pub mod connect;
