//! Scripted commands: build an action from arguments, execute it, render the
//! outcome. No SQL lives here.

mod audit;
mod config;
mod console;
mod context;
pub mod demo;

pub use console::open as open_console;
pub use context::CommandContext;
mod alert_rules;
mod batch_progress;
mod browse;
mod check;
mod inspect;
mod job_removal;
mod jobs;
mod listen;
mod metrics;
mod metrics_server;
mod open_files;
mod prune;
mod reports;
mod run;
mod schedules;
mod schema;
mod shell_support;
mod why;
mod workers_watch;

use tokio_postgres::error::SqlState;

use crate::actions::audit::AuditTrail;
use crate::actions::{ActionError, Session};
use crate::cli::{Cli, Command};
use crate::db::connect;
use crate::db::error_text::DbErrorText;
use crate::output::{self, Exit};
use crate::settings::CaseInsensitiveEnv;
use crate::settings::conn::{ConnectionSettings, Env};
use crate::settings::names::ObjectNames;
use crate::settings::pooler::Pooler;

/// Failures a command reports as one `error:` line and exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Names(#[from] crate::settings::names::NameError),
    #[error(transparent)]
    Settings(#[from] crate::settings::conn::ConnSettingsError),
    #[error(transparent)]
    Connect(#[from] connect::ConnectError),
    #[error(transparent)]
    Action(#[from] ActionError),
    /// A statement failed outside an action; the server's error stays whole
    /// so callers can match on its SQLSTATE.
    #[error("{context}: {source}", source = DbErrorText(.source))]
    Db {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("{0}")]
    Other(String),
    /// Wrong use (unknown context, broken config): exit status 2.
    #[error("{0}")]
    Usage(String),
}

impl CommandError {
    /// Wrap a failed statement, saying what was being done.
    pub fn db(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> CommandError {
        let context = context.into();
        move |source| CommandError::Db { context, source }
    }

    /// The SQLSTATE the server reported, when a server error caused this.
    pub fn sql_state(&self) -> Option<&SqlState> {
        match self {
            CommandError::Db { source, .. }
            | CommandError::Action(ActionError::Db { source, .. }) => source.code(),
            _ => None,
        }
    }
}

/// Object names from the flags, then the context, then the environment
/// (case-insensitive).
pub fn object_names(ctx: &CommandContext) -> Result<ObjectNames, CommandError> {
    let env = CaseInsensitiveEnv::from_process();
    let entry = ctx.entry()?.cloned().unwrap_or_default();
    let names = ObjectNames::resolve(
        ctx.prefix.as_deref().or(entry.prefix.as_deref()),
        ctx.schema.as_deref().or(entry.schema.as_deref()),
        &|key| env.get(key),
    )?;
    Ok(names)
}

/// Connection settings: `--dsn` typed on the command line, else the
/// context's DSN, else PGQUEUER_DSN / PGDSN / libpq variables.
pub fn connection_settings(ctx: &CommandContext) -> Result<ConnectionSettings, CommandError> {
    let entry = ctx.entry()?.cloned().unwrap_or_default();
    let dsn = match (&ctx.dsn, &entry.dsn) {
        (Some(flag), _) if ctx.dsn_on_command_line => Some(flag.as_str()),
        (_, Some(from_context)) => Some(from_context.as_str()),
        (env, None) => env.as_deref(),
    };
    let settings = ConnectionSettings::resolve(dsn, &Env::from_process())?;
    Ok(settings.with_pooler(pooler(ctx)?))
}

/// `--pooler` (or PGQ_POOLER), else the context's `pooler`, else none.
pub fn pooler(ctx: &CommandContext) -> Result<Pooler, CommandError> {
    let entry = ctx.entry()?;
    Ok(ctx
        .pooler
        .or_else(|| entry.and_then(|c| c.pooler))
        .unwrap_or_default())
}

/// The direct connection LISTEN uses when work goes through a pooler:
/// `--listen-dsn` (or PGQ_LISTEN_DSN), else the context's `listen_dsn`.
/// `None` means "listen on the main connection" (or, behind a transaction
/// pooler, not at all).
pub fn listen_settings(ctx: &CommandContext) -> Result<Option<ConnectionSettings>, CommandError> {
    let entry = ctx.entry()?;
    let dsn = ctx
        .listen_dsn
        .as_deref()
        .or_else(|| entry.and_then(|c| c.listen_dsn.as_deref()))
        .filter(|d| !d.trim().is_empty());
    let Some(dsn) = dsn else { return Ok(None) };
    // The libpq environment fills what the DSN leaves out, as for --dsn.
    Ok(Some(ConnectionSettings::resolve(
        Some(dsn),
        &Env::from_process(),
    )?))
}

/// Where to LISTEN: the direct connection of `--listen-dsn` (or the
/// context's), none behind a transaction pooler without one (a LISTEN there
/// lands on whichever server connection is free and its events reach
/// whoever holds it next), else `main`.
pub fn listen_connection(
    ctx: &CommandContext,
    main: impl FnOnce() -> Result<ConnectionSettings, CommandError>,
) -> Result<Option<ConnectionSettings>, CommandError> {
    Ok(match listen_settings(ctx)? {
        Some(direct) => Some(direct),
        None if pooler(ctx)?.is_transaction() => None,
        None => Some(main()?),
    })
}

/// Whether mutations are refused: `--read-only` or the context's `read_only`.
pub fn read_only(ctx: &CommandContext) -> Result<bool, CommandError> {
    Ok(ctx.read_only_flag || ctx.entry()?.is_some_and(|c| c.read_only))
}

/// Connect with the resolved settings and open a session on the installation.
pub async fn open_session(
    ctx: &CommandContext,
    names: ObjectNames,
) -> Result<Session, CommandError> {
    let settings = connection_settings(ctx)?;
    let read_only = read_only(ctx)?;
    let conn = connect::connect(&settings).await?;
    if read_only {
        crate::db::read_only::enforce(&conn.client)
            .await
            .map_err(CommandError::db("cannot make the session read-only"))?;
    }
    Ok(Session {
        conn,
        names,
        target: settings.target(),
        read_only,
        audit: audit_trail(ctx),
    })
}

/// Where this command's changes are logged: config.toml's `audit_log`, else
/// the state directory. A broken config.toml does not stop a change (only
/// `--context` needs it); the change is then logged at the default path.
pub fn audit_trail(ctx: &CommandContext) -> Option<AuditTrail> {
    let config = crate::settings::config::Config::load().ok();
    Some(AuditTrail {
        path: crate::settings::audit::audit_path(config.as_ref())?,
        context: ctx.context_name.clone(),
    })
}

/// Whether this invocation opens the full-screen console: `pgq`, `pgq
/// console`, and `dashboard`/`listen` on a terminal without `--headless`
/// or `--json`.
pub fn opens_console(cli: &Cli) -> bool {
    match &cli.command {
        Command::Console { .. } => true,
        Command::Dashboard { .. }
        | Command::Listen { .. }
        | Command::Demo { .. }
        | Command::Run(_) => console::interactive(cli.global.headless, cli.global.json),
        _ => false,
    }
}

/// A password typed into `--dsn` sits in the argument list, which every
/// local user can read (`ps`, `/proc/PID/cmdline`), as with psql. Said once
/// per run, on stderr, whatever the command; PGDSN and contexts stay quiet.
fn warn_about_password_in_arguments(ctx: &CommandContext) {
    use crate::settings::conn::dsn_has_password;
    let typed = ctx.dsn.as_deref();
    if ctx.dsn_on_command_line && typed.is_some_and(dsn_has_password) {
        output::warning(
            "the password in --dsn is visible to other local users (ps, /proc/PID/cmdline); \
             put it in PGPASSWORD or ~/.pgpass, or pass the DSN in PGDSN",
        );
    }
}

/// Run the parsed command line and return its exit status.
pub async fn run(cli: Cli) -> Exit {
    let Cli { global, command } = cli;
    let ctx = CommandContext::resolve(global);
    warn_about_password_in_arguments(&ctx);
    let result = match &command {
        Command::Console { tab } => console::run(&ctx, *tab, None).await,
        Command::Dashboard { .. } if ctx.interactive() => {
            console::run(&ctx, crate::cli::ConsoleTab::Stats, None).await
        }
        Command::Listen { channel } if ctx.interactive() => {
            console::run(&ctx, crate::cli::ConsoleTab::Events, channel.as_deref()).await
        }
        Command::Config(c) => config::run(c),
        Command::Audit { since } => audit::run(&ctx, *since),
        Command::Demo {
            duration,
            keep,
            rate,
            name,
            workers,
        } => {
            let options = demo::DemoOptions {
                headless: ctx.headless,
                duration: Some(*duration),
                keep: *keep,
                rate: *rate,
                name: name.clone(),
                workers: usize::from(*workers),
            };
            demo::run(&ctx, options).await
        }
        Command::Completions { shell } => shell_support::completions(*shell),
        Command::Man { dir } => shell_support::man(dir.as_deref()),
        Command::Sql(sql) => schema::sql(&ctx, sql),
        Command::Install { .. }
        | Command::Uninstall { .. }
        | Command::Upgrade { .. }
        | Command::Verify { .. }
        | Command::AlterDurability { .. }
        | Command::Autovac { .. } => schema::run(&ctx, &command).await,
        Command::Queue(args) => jobs::queue(&ctx, args).await,
        // Ids name the ones that are not held (as Python's requeue); a
        // filter, or a dry run, goes through the confirmed, batched path of
        // cancel/delete/purge.
        Command::Requeue(args)
            if !args.ids.is_empty() && args.filter.filter().is_empty() && !args.confirm.dry_run =>
        {
            jobs::requeue(&ctx, &args.ids).await
        }
        Command::Requeue(args) => job_removal::requeue(&ctx, args).await,
        Command::Cancel(args) => job_removal::cancel(&ctx, args).await,
        Command::Delete(args) => job_removal::delete(&ctx, args).await,
        Command::Purge(args) => job_removal::purge(&ctx, args).await,
        Command::Dashboard { interval, limit } => reports::dashboard(&ctx, *interval, *limit).await,
        Command::Failed { .. }
        | Command::Stale { .. }
        | Command::Workers { .. }
        | Command::Backlog => reports::run(&ctx, &command).await,
        Command::Jobs(args) => browse::jobs(&ctx, args).await,
        Command::Job { id } => browse::job(&ctx, *id).await,
        Command::Why { id, schedule } => why::run(&ctx, *id, schedule.as_deref()).await,
        Command::Run(args) => run::run(&ctx, args).await,
        Command::Check {
            thresholds,
            window,
            stale_after,
        } => check::run(&ctx, thresholds, *window, *stale_after).await,
        Command::Metrics {
            window,
            stale_after,
            alert_rules: true,
            thresholds,
            ..
        } => metrics::print_alert_rules(thresholds, *window, *stale_after),
        Command::Metrics { thresholds, .. }
            if *thresholds != crate::cli::ThresholdArgs::default() =>
        {
            Err(CommandError::Usage(
                "the threshold flags (--max-…) go with --alert-rules".into(),
            ))
        }
        Command::Metrics {
            listen,
            window,
            stale_after,
            ..
        } => {
            let options = metrics_server::MetricsOptions {
                listen: *listen,
                window: *window,
                stale_after: std::time::Duration::from_secs_f64(*stale_after),
            };
            metrics::run(&ctx, &options).await
        }
        Command::Prune(args) => prune::run(&ctx, args).await,
        Command::Size | Command::Tables | Command::Throughput { .. } | Command::Log(_) => {
            inspect::run(&ctx, &command).await
        }
        Command::Listen { channel } => listen::run(&ctx, channel.as_deref()).await,
        Command::Schedules { .. } => schedules::run(&ctx, &command).await,
    };
    match result {
        Ok(exit) => exit,
        Err(CommandError::Usage(e)) => {
            output::error(&e);
            Exit::Usage
        }
        // A bad object name is wrong use, refused before anything connects.
        Err(CommandError::Names(e)) => {
            output::error(&e.to_string());
            Exit::Usage
        }
        Err(e) => {
            output::error(&e.to_string());
            Exit::Failure
        }
    }
}
