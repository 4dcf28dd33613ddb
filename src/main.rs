//! The `pgq` binary: parse arguments, set up logging, dispatch.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use pgq::cli::Cli;
use pgq::output::{self, Exit};

fn main() -> ExitCode {
    // A bug must still end in one readable line, never a Rust backtrace.
    // (The console wraps this hook to restore the terminal first.)
    std::panic::set_hook(Box::new(|info| {
        output::error(&format!(
            "internal error: {info}. Please report this at the pgq issue tracker."
        ));
    }));

    let cli = match parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    Exit::Ok.into()
                }
                _ => {
                    // The message quotes the offending argument, which may
                    // have been pasted from a job: plain and escaped.
                    output::status(e.render().to_string().trim_end());
                    Exit::Usage.into()
                }
            };
        }
    };

    init_logging(pgq::commands::opens_console(&cli), cli.global.no_color);

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

/// Parse the command line; no command at all means the console (`pgq`,
/// `pgq --context prod`).
fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    use clap::error::ErrorKind;
    use std::io::IsTerminal;
    let on_terminal = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let matches = match Cli::command().try_get_matches_from(&args) {
        // Without a terminal there is no console to open: clap's help and
        // exit status 2 are the right answer.
        Err(e)
            if on_terminal
                && matches!(
                    e.kind(),
                    ErrorKind::MissingSubcommand
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) =>
        {
            let mut with_console = args;
            with_console.push("console".into());
            Cli::command().try_get_matches_from(with_console)?
        }
        other => other?,
    };
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.global.dsn_on_command_line = dsn_source(&matches) == Some(ValueSource::CommandLine);
    Ok(cli)
}

/// `--dsn` is global: look for it on the command and its subcommand.
fn dsn_source(matches: &clap::ArgMatches) -> Option<ValueSource> {
    let here = matches.value_source("dsn");
    let below = matches
        .subcommand()
        .and_then(|(_, sub)| sub.value_source("dsn"));
    match (here, below) {
        (Some(ValueSource::CommandLine), _) | (_, Some(ValueSource::CommandLine)) => {
            Some(ValueSource::CommandLine)
        }
        (a, b) => a.or(b),
    }
}

/// Commands log to stderr (`PGQ_LOG`, default warnings). The console owns the
/// screen, so it logs to a file in the data directory instead (never to the
/// terminal), at info level unless `PGQ_LOG` says otherwise. The worker's
/// event lines have their own layer, level and shape (`pgq run --log-level`,
/// `--log-format`), so the `PGQ_LOG` formatter leaves them alone.
fn init_logging(console: bool, no_color: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{FilterExt, filter_fn};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = |default: &str| {
        let env = tracing_subscriber::EnvFilter::try_from_env("PGQ_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
        env.and(filter_fn(|meta| meta.target() != pgq::worker::log::TARGET))
    };
    let registry = tracing_subscriber::registry().with(pgq::worker::log::layer());
    if console {
        let file = pgq::settings::config::log_path().and_then(|path| {
            std::fs::create_dir_all(path.parent()?).ok()?;
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        let to_file = file.map(|file| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::sync::Mutex::new(file))
                .with_ansi(false)
                .with_filter(filter("info"))
        });
        registry.with(to_file).init();
        return;
    }
    let to_stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(!no_color && output::stderr_colour())
        .with_target(false)
        .without_time()
        .with_filter(filter("warn"));
    registry.with(to_stderr).init();
}
