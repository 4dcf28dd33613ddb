//! pgq: an operations console and CLI for PGQueuer, the PostgreSQL job queue.
//!
//! The crate is organised by concern: `settings` (names, durability,
//! connection parameters), `schema` (the declared PGQueuer 1.6.0 schema and its
//! SQL), `db` (connecting and reading the catalog), `actions` (every operation on
//! the database), `commands` (scripted commands on top of actions) and `cli`.

pub mod actions;
pub mod cli;
pub mod commands;
pub mod console;
pub mod cron;
pub mod db;
pub mod events;
pub mod output;
pub mod schema;
pub mod settings;
pub mod worker;
