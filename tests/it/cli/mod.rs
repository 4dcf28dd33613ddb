//! Scripted commands and what every command shares: connections, contexts,
//! errors and exit codes, audit log, metrics, listen, poolers, standbys, demo.

mod action_safety;
mod action_types;
mod audit;
mod check;
mod command_context;
mod connect;
mod demo;
mod errors;
mod errors_sqlstate;
mod input_safety;
mod listen;
mod listener;
pub(crate) mod metrics;
mod metrics_connections;
mod pooler;
mod python_flags;
mod root_cert_pem;
mod shell_support;
mod standby;
