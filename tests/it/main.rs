//! pgq's integration tests, as ONE test binary: one link step instead of one
//! per file, and libtest runs every test of the suite in one pool instead of
//! file after file. Test modules sit in area folders (cli, console, jobs,
//! schema, worker), each file once a binary of its own; tests share the
//! harness in `common` (a real PostgreSQL, the real `pgq` binary, the real
//! Python PGQueuer 1.6.0) and the Python scripts in `tests/fixtures/`.
//!
//! Run one area with a filter: `cargo test --test it worker::faults::`.

mod common;

mod cli;
mod console;
mod jobs;
mod schema;
mod worker;
