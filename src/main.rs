//! The `pgq` binary: parse arguments, set up logging, dispatch.

use std::process::ExitCode;

use clap::Parser;
use pgq::cli::Cli;
use pgq::output::{self, Exit};

fn main() -> ExitCode {
    // A bug must still end in one readable line, never a Rust backtrace.
    std::panic::set_hook(Box::new(|info| {
        output::error(&format!(
            "internal error: {info}. Please report this at the pgq issue tracker."
        ));
    }));

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    Exit::Ok.into()
                }
                _ => Exit::Usage.into(),
            };
        }
    };

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PGQ_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_target(false)
        .without_time()
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&format!("cannot start the async runtime: {e}"));
            return Exit::Failure.into();
        }
    };
    runtime.block_on(pgq::commands::run(cli)).into()
}
