//! Scripted commands: build an action from arguments, execute it, render the
//! outcome. No SQL lives here.

mod jobs;
mod listen;
mod reports;
mod run;
mod schedules;
mod schema;

use crate::actions::{ActionError, Session};
use crate::cli::{Cli, Command};
use crate::db::connect;
use crate::output::{self, Exit};
use crate::settings::CaseInsensitiveEnv;
use crate::settings::conn::{ConnectionSettings, Env};
use crate::settings::names::ObjectNames;

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
    #[error("{0}")]
    Other(String),
}

/// Object names from the flags, then the environment (case-insensitive).
pub fn object_names(cli: &Cli) -> Result<ObjectNames, CommandError> {
    let env = CaseInsensitiveEnv::from_process();
    let names = ObjectNames::resolve(
        cli.global.prefix.as_deref(),
        cli.global.schema.as_deref(),
        &|key| env.get(key),
    )?;
    Ok(names)
}

/// Connect with the resolved settings and open a session on the installation.
pub async fn open_session(cli: &Cli, names: ObjectNames) -> Result<Session, CommandError> {
    let settings = ConnectionSettings::resolve(cli.global.dsn.as_deref(), &Env::from_process())?;
    let conn = connect::connect(&settings).await?;
    Ok(Session {
        conn,
        names,
        target: settings.target(),
        read_only: false,
    })
}

/// Run the parsed command line and return its exit status.
pub async fn run(cli: Cli) -> Exit {
    let result = match &cli.command {
        Command::Sql(sql) => schema::sql(&cli, sql),
        Command::Install { .. }
        | Command::Uninstall { .. }
        | Command::Upgrade { .. }
        | Command::Verify { .. }
        | Command::AlterDurability { .. }
        | Command::Autovac { .. } => schema::run(&cli).await,
        Command::Queue(args) => jobs::queue(&cli, args).await,
        Command::Requeue { ids } => jobs::requeue(&cli, ids).await,
        Command::Dashboard { interval, limit } => reports::dashboard(&cli, *interval, *limit).await,
        Command::Failed { .. } | Command::Stale { .. } | Command::Workers | Command::Backlog => {
            reports::run(&cli).await
        }
        Command::Run(args) => run::run(&cli, args).await,
        Command::Listen { channel } => listen::run(&cli, channel.as_deref()).await,
        Command::Schedules {
            remove,
            ignore_missing,
        } => schedules::run(&cli, remove, *ignore_missing).await,
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            output::error(&e.to_string());
            Exit::Failure
        }
    }
}
