//! Opening the console from the command line (`pgq`, `pgq console`,
//! `dashboard`/`listen` on a terminal, and for `pgq run` and `pgq demo`).

use std::io::IsTerminal;

use super::CommandContext;
use super::{CommandError, connection_settings, object_names, read_only};
use crate::actions::audit::AuditTrail;
use crate::cli::ConsoleTab;
use crate::console::contexts::{Resolved, Switchable};
use crate::console::{self, ConsoleOptions, Start, WorkerLink};
use crate::output::Exit;
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::{ObjectNames, checked_channel};

/// A person at a terminal, and no flag asking for plain output.
pub fn interactive(headless: bool, json: bool) -> bool {
    !headless && !json && std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

pub(super) async fn run(
    ctx: &CommandContext,
    tab: ConsoleTab,
    channel: Option<&str>,
) -> Result<Exit, CommandError> {
    if !ctx.interactive() {
        return Err(CommandError::Usage(
            "the console needs a terminal (stdin and stdout) and no --headless/--json; \
             for scripts use 'pgq dashboard --headless' or 'pgq listen --json' (see pgq --help)"
                .into(),
        ));
    }
    let mut names = object_names(ctx)?;
    if let Some(channel) = channel {
        names.channel = checked_channel(channel)?.to_string();
    }
    open(ctx, tab, connection_settings(ctx)?, names, None).await
}

/// Open the console on `settings`/`names`, optionally hosting a worker.
pub async fn open(
    ctx: &CommandContext,
    start: impl Into<Start>,
    settings: ConnectionSettings,
    names: ObjectNames,
    worker: Option<WorkerLink>,
) -> Result<Exit, CommandError> {
    let (config, keymap) = super::config::load().map_err(|e| CommandError::Usage(e.to_string()))?;
    let audit = crate::settings::audit::audit_path(Some(&config)).map(|path| AuditTrail {
        path,
        context: ctx.context_name.clone(),
    });
    let listen = super::listen_connection(ctx, || Ok(settings.clone()))?;
    // Every context of config.toml, resolved now: a switch in the console
    // then only connects (and a broken one says why in the picker).
    let contexts = config
        .contexts
        .iter()
        .map(|(name, entry)| Switchable {
            name: name.clone(),
            resolved: resolve_context(&ctx.for_context(name, entry.clone()))
                .map_err(|e| e.to_string()),
        })
        .collect();
    let options = ConsoleOptions {
        start: start.into(),
        settings,
        listen,
        names,
        read_only: read_only(ctx)?,
        no_color: ctx.no_color,
        config,
        keymap,
        worker,
        audit,
        contexts,
        context: ctx.context_name.clone(),
    };
    console::run(options)
        .await
        .map_err(|e| CommandError::Other(format!("console: {e}")))?;
    Ok(Exit::Ok)
}

/// A context's connection, names and read-only flag, as `pgq --context` reads them.
fn resolve_context(ctx: &CommandContext) -> Result<Resolved, CommandError> {
    let settings = connection_settings(ctx)?;
    let listen = super::listen_connection(ctx, || Ok(settings.clone()))?;
    Ok(Resolved {
        names: object_names(ctx)?,
        read_only: read_only(ctx)?,
        listen,
        settings,
    })
}
