//! pgq's integration tests, as ONE test binary: one link step instead of one
//! per file, and libtest runs every test of the suite in one pool instead of
//! file after file. Each module below was a binary of its own before; tests
//! share the harness in `common` (a real PostgreSQL, the real `pgq` binary,
//! the real Python PGQueuer 1.6.0) and the Python scripts in
//! `tests/fixtures/`.
//!
//! Run one area with a filter: `cargo test --test it worker_faults::`.

mod common;

mod action_safety;
mod action_types;
mod audit;
mod batch_input;
mod check;
mod cli_errors;
mod command_context;
mod connect;
mod console_chrome;
mod console_clipboard;
mod console_config;
mod console_held_bulk;
mod console_idle;
mod console_job_ops;
mod console_jobs;
mod console_mutations;
mod console_prune;
mod console_pty;
mod console_render;
mod console_workers;
mod demo;
mod errors_sqlstate;
mod input_safety;
mod inspect;
mod job_actions;
mod job_actions_console;
mod job_actions_interop;
mod job_browser;
mod jobs;
mod latency;
mod listen;
mod listener;
mod metrics;
mod metrics_connections;
mod newer_schema;
mod pooler;
mod prune;
mod python_compat;
mod python_flags;
mod removal_concurrency;
mod root_cert_pem;
mod schedule_pause;
mod schedules;
mod schema_lifecycle;
mod shell_support;
mod sql_statements;
mod standby;
mod terminal_safety;
mod upgrade_releases;
mod why;
mod worker;
mod worker_aggregation;
mod worker_command_io;
mod worker_faults;
mod worker_http;
mod worker_interop;
mod worker_latency;
mod worker_library;
mod worker_log_lines;
mod worker_restarts;
mod worker_write_conflicts;
mod workers_alive;
mod workers_report;
