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

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use super::{CommandError, object_names, open_session};
use crate::actions::{DbErrorText, Session};
use crate::cli::Cli;
use crate::db::recovery::{in_recovery, standby_reason};
use crate::events::Received;
use crate::output::{self, Exit};
use crate::settings::names::{ObjectNames, checked_channel};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A half-open TCP connection never ends the notification stream, so probe
/// the server now and then.
const PROBE_EVERY: Duration = Duration::from_secs(30);
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn run(cli: &Cli, channel: Option<&str>) -> Result<Exit, CommandError> {
    let names = object_names(cli)?;
    let channel = match channel {
        Some(c) => checked_channel(c)?.to_string(),
        None => names.channel.clone(),
    };
    let mut stop = Stop::install()?;
    let Some(session) = stop
        .or_signal(connect_and_listen(cli, &names, &channel))
        .await
    else {
        return Ok(Exit::Ok);
    };
    let mut session = session?;
    let json = cli.global.json;
    loop {
        match stop.or_signal(pump(&mut session, &channel, json)).await {
            None | Some(Ended::StdoutClosed) => return Ok(Exit::Ok),
            Some(Ended::ConnectionLost(reason)) => {
                match reconnect(cli, &names, &channel, &mut stop, &reason).await {
                    Some(fresh) => session = fresh,
                    None => return Ok(Exit::Ok),
                }
            }
        }
    }
}

/// SIGINT/SIGTERM handlers, installed before connecting so either signal
/// ends the command cleanly at any point.
struct Stop {
    interrupt: Signal,
    terminate: Signal,
}

impl Stop {
    fn install() -> Result<Stop, CommandError> {
        let handler = |kind| {
            signal(kind)
                .map_err(|e| CommandError::Other(format!("cannot install signal handler: {e}")))
        };
        Ok(Stop {
            interrupt: handler(SignalKind::interrupt())?,
            terminate: handler(SignalKind::terminate())?,
        })
    }

    /// Run `fut` unless a stop signal arrives first (then `None`).
    async fn or_signal<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        tokio::select! {
            _ = self.interrupt.recv() => None,
            _ = self.terminate.recv() => None,
            out = fut => Some(out),
        }
    }
}

async fn connect_and_listen(
    cli: &Cli,
    names: &ObjectNames,
    channel: &str,
) -> Result<Session, CommandError> {
    let session = open_session(cli, names.clone()).await?;
    // A standby refuses LISTEN with an error that does not say why; and it
    // never delivers NOTIFY, so waiting there would show nothing anyway.
    let standby = in_recovery(session.client())
        .await
        .map_err(CommandError::db(format!("LISTEN {channel}")))?;
    if standby {
        return Err(CommandError::Other(format!(
            "cannot LISTEN on {channel}: {}",
            standby_reason(&session.target)
        )));
    }
    let sql = crate::settings::names::listen_statement(channel);
    session
        .client()
        .batch_execute(&sql)
        .await
        .map_err(CommandError::db(format!("LISTEN {channel}")))?;
    Ok(session)
}

enum Ended {
    StdoutClosed,
    ConnectionLost(String),
}

/// Print notifications until the connection ends or stdout closes.
async fn pump(session: &mut Session, channel: &str, json: bool) -> Ended {
    let mut probe = tokio::time::interval(PROBE_EVERY);
    probe.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            notification = session.conn.notifications.recv() => {
                let Some(n) = notification else {
                    return Ended::ConnectionLost("the server closed the connection".into());
                };
                let received = Received::new(n.payload(), chrono::Utc::now());
                let line = if json { received.json_line(channel) } else { received.human() };
                if write_line(&line).is_err() {
                    return Ended::StdoutClosed;
                }
            }
            _ = probe.tick() => {
                if let Err(reason) = ping(session).await {
                    return Ended::ConnectionLost(reason);
                }
            }
        }
    }
}

async fn ping(session: &Session) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, session.client().simple_query("")).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(DbErrorText(&e).to_string()),
        Err(_) => Err(format!(
            "no answer to a probe within {}s",
            PROBE_TIMEOUT.as_secs()
        )),
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

/// Reconnect with exponential backoff until LISTEN succeeds again; `None`
/// when a stop signal arrives first.
async fn reconnect(
    cli: &Cli,
    names: &ObjectNames,
    channel: &str,
    stop: &mut Stop,
    reason: &str,
) -> Option<Session> {
    let mut delay = FIRST_BACKOFF;
    output::status(&format!(
        "listen: connection lost ({reason}); reconnecting in {}s",
        delay.as_secs_f64()
    ));
    loop {
        stop.or_signal(tokio::time::sleep(delay)).await?;
        match stop
            .or_signal(connect_and_listen(cli, names, channel))
            .await?
        {
            Ok(session) => {
                output::status("listen: reconnected");
                return Some(session);
            }
            Err(e) => {
                delay = (delay * 2).min(MAX_BACKOFF);
                output::status(&format!(
                    "listen: reconnect failed ({e}); retrying in {}s",
                    delay.as_secs_f64()
                ));
            }
        }
    }
}
