//! `pgq listen`: print PGQueuer's NOTIFY events as they arrive.
//!
//! The default channel is the installation's channel resolved like every
//! other object name, so it honours `--prefix` (`pgq --prefix app_ listen`
//! listens on `app_ch_pgqueuer`). Python PGQueuer 1.6.0 computes its default
//! at import time and ignores the `--prefix` flag; pgq deliberately differs.
//!
//! Unlike Python, which never re-LISTENs after a dropped connection, pgq
//! reconnects with exponential backoff and LISTENs again; events sent while
//! disconnected are lost (NOTIFY is not queued for absent listeners).
//! On a hot standby it exits 1 at once, saying so: a standby cannot LISTEN.
//! SIGINT and SIGTERM end it with exit 0, as does a closed stdout pipe
//! (`pgq listen | head -3`).

use std::io::Write;

use super::{CommandError, object_names};
use crate::commands::CommandContext;
use crate::db::listener::{
    Backoff, ECHO_WITHIN, EchoProbe, Heard, ListenError, ListenSpec, Listener,
};
use crate::db::signal::Signals;
use crate::events::Received;
use crate::output::{self, Exit};
use crate::settings::names::checked_channel;

pub(super) async fn run(ctx: &CommandContext, channel: Option<&str>) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    let channel = match channel {
        Some(c) => checked_channel(c)?.to_string(),
        None => names.channel.clone(),
    };
    let Some(settings) = super::listen_connection(ctx, || super::connection_settings(ctx))? else {
        return Err(CommandError::Other(
            "no live events: --pooler transaction carries no LISTEN; give --listen-dsn a direct connection to PostgreSQL".into(),
        ));
    };
    let spec = ListenSpec {
        settings,
        channel: channel.clone(),
        read_only: super::read_only(ctx)?,
    };
    // Installed before connecting, so either signal ends the command cleanly
    // at any point.
    let mut stop =
        Signals::interrupt_and_terminate().map_err(|e| CommandError::Other(e.to_string()))?;
    let Some(listener) = stop
        .or_signal(Listener::open(spec, Backoff::RECONNECT))
        .await
    else {
        return Ok(Exit::Ok);
    };
    let mut listener = listener.map_err(command_error)?;
    let json = ctx.json;
    // Live events are checked, not assumed: our own NOTIFY must come back.
    let probe = EchoProbe::new(&channel);
    let mut echo_due = Some(tokio::time::Instant::now() + ECHO_WITHIN);
    if let Some(Err(e)) = listener.notify(probe.payload()).await {
        output::status(&format!(
            "listen: cannot send the NOTIFY probe: {}",
            crate::db::error_text::DbErrorText(&e)
        ));
        echo_due = None;
    }
    loop {
        let heard = tokio::select! {
            heard = stop.or_signal(listener.next()) => heard,
            _ = sleep_until_some(echo_due) => {
                echo_due = None;
                output::status(
                    "listen: no live events (our NOTIFY probe got no echo: a transaction pooler between pgq and PostgreSQL? give --listen-dsn a direct connection)",
                );
                continue;
            }
        };
        let Some(heard) = heard else { break };
        match heard {
            Heard::Notification(n) if probe.is_echo(n.payload()) => echo_due = None,
            Heard::Notification(n) => {
                let received = Received::new(n.payload(), chrono::Utc::now());
                let line = if json {
                    received.json_line(&channel)
                } else {
                    output::escape_line(&received.human()).into_owned()
                };
                if write_line(&line).is_err() {
                    break;
                }
            }
            Heard::Lost { reason, retry_in } => output::status(&format!(
                "listen: connection lost ({reason}); reconnecting in {}s",
                retry_in.as_secs_f64()
            )),
            Heard::Reconnected => output::status("listen: reconnected"),
            Heard::RetryFailed { error, retry_in } => output::status(&format!(
                "listen: reconnect failed ({error}); retrying in {}s",
                retry_in.as_secs_f64()
            )),
        }
    }
    Ok(Exit::Ok)
}

/// The first connection's failure, as the other commands report theirs.
pub(super) fn command_error(e: ListenError) -> CommandError {
    match e {
        ListenError::Connect(e) => CommandError::Connect(e),
        ListenError::ReadOnly(source) => {
            CommandError::db("cannot make the session read-only")(source)
        }
        ListenError::Listen { channel, source } => {
            CommandError::db(format!("LISTEN {channel}"))(source)
        }
        other => CommandError::Other(other.to_string()),
    }
}

/// One line, flushed, so `pgq listen | grep` sees events immediately. Any
/// write error (in practice a closed pipe) ends the command.
fn write_line(line: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Sleeps until `at`; never returns without one.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
