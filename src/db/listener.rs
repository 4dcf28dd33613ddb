//! LISTEN for `pgq listen`, the console and the worker, in one place:
//! connect, session set-up, a refusal that names a hot standby, quoted
//! LISTEN, a probe that notices a dead peer, and the backoff between
//! reconnects.
//!
//! - [`Listener`] is the reconnecting listener (`pgq listen`): it reports
//!   each loss and reconnect and goes on delivering.
//! - [`ListenConnection`] is one listening connection that probes itself;
//!   the console pairs it with its query connection and reconnects both
//!   together (its own loop, so `r` can cut the wait short).
//! - [`listen_on`] LISTENs on a connection used for other work too (the
//!   worker's dequeue connection, whose liveness check is PGQueuer's
//!   health-check echo).
//!
//! Probe: every [`PROBE_EVERY`] (15 s) an empty query that must answer
//! within [`PROBE_TIMEOUT`]. A half-open TCP connection (a peer that
//! vanished without a FIN) never ends the notification stream, so without a
//! probe a listener would wait forever; 15 s (the console's old value, not
//! `listen`'s 30 s) bounds how long events go unseen, and an empty query
//! every 15 s costs the server next to nothing.
//!
//! Backoff: [`Backoff::RECONNECT`], 0.5 s doubling up to 10 s, as both
//! `listen` and the console already used: the first retry comes fast (a
//! restart or failover is usually over in seconds) and a long outage is
//! retried every 10 s. The worker uses the same doubling policy from its
//! documented `--restart-delay`, capped at 30 s (PGQueuer's option).
//!
//! NOTIFY is not queued for absent listeners: events sent while a listener
//! reconnects are lost, so callers that need the state refresh it.

use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};
use tokio_postgres::Notification;

use super::client::Client;
use super::connect::{self, ConnectError, Connection};
use super::error_text::DbErrorText;
use super::recovery::{in_recovery, standby_reason};
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::listen_statement;

/// How often a listening (or otherwise idle) connection is probed.
pub const PROBE_EVERY: Duration = Duration::from_secs(15);
/// How long a probe may go unanswered before the connection counts as lost.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a listener waits for the echo of its first NOTIFY probe: long
/// enough for a loaded server, short enough that a LISTEN going nowhere (a
/// transaction pooler) is said within seconds.
pub const ECHO_WITHIN: Duration = Duration::from_secs(3);

/// A NOTIFY whose echo proves that LISTEN works end to end: PGQueuer's
/// `health_check_event` with an id of our own, which no one else sends,
/// marked as a listener's probe so nobody counts it as a worker alive.
#[derive(Debug, Clone)]
pub struct EchoProbe {
    id: String,
    channel: String,
    payload: String,
}

impl EchoProbe {
    pub fn new(channel: &str) -> EchoProbe {
        let id = uuid::Uuid::new_v4().to_string();
        let payload = serde_json::json!({
            "channel": channel,
            "sent_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "type": "health_check_event",
            "id": id,
            "pgq_probe": crate::events::LISTENER_PROBE,
        })
        .to_string();
        EchoProbe {
            id,
            channel: channel.to_string(),
            payload,
        }
    }

    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// Whether `payload` is this probe coming back.
    pub fn is_echo(&self, payload: &str) -> bool {
        payload.contains(&self.id)
    }

    /// NOTIFY the probe on its channel from `client`.
    pub async fn send(&self, client: &Client) -> Result<(), String> {
        client
            .execute(
                "/* pgq */ SELECT pg_notify($1, $2)",
                &[&self.channel, &self.payload],
            )
            .await
            .map(|_| ())
            .map_err(|e| DbErrorText(&e).to_string())
    }
}

/// Exponential backoff: `first`, doubling per failed attempt, at most `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    cap: Duration,
}

impl Backoff {
    /// Reconnecting a listener (`listen`, the console).
    pub const RECONNECT: Backoff = Backoff {
        first: Duration::from_millis(500),
        cap: Duration::from_secs(10),
    };

    pub fn new(first: Duration, cap: Duration) -> Backoff {
        Backoff { first, cap }
    }

    /// The wait before retrying after `failures` failed attempts in a row
    /// (1 = the first failure).
    pub fn delay(&self, failures: u32) -> Duration {
        self.first
            .checked_mul(1u32 << failures.saturating_sub(1).min(16))
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// Why a listener could not be opened. Each displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot make the session read-only: {}", DbErrorText(.0))]
    ReadOnly(#[source] tokio_postgres::Error),
    /// A hot standby refuses LISTEN (and never delivers NOTIFY); `reason`
    /// is the shared wording of [`standby_reason`].
    #[error("cannot LISTEN on {channel}: {reason}")]
    Standby { channel: String, reason: String },
    /// The server refused; its error is kept whole for its SQLSTATE.
    #[error("LISTEN {channel}: {}", DbErrorText(.source))]
    Listen {
        channel: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// What to connect to and listen on.
#[derive(Debug, Clone)]
pub struct ListenSpec {
    pub settings: ConnectionSettings,
    pub channel: String,
    /// Make the server refuse writes on this connection too (read-only
    /// mode's second lock; LISTEN itself is allowed).
    pub read_only: bool,
}

/// What [`Listener::next`] heard.
#[derive(Debug)]
pub enum Heard {
    Notification(Notification),
    /// The connection was lost; the next call waits `retry_in`, then
    /// reconnects.
    Lost {
        reason: String,
        retry_in: Duration,
    },
    /// Listening again after a loss.
    Reconnected,
    /// A reconnect failed; the next call waits `retry_in` and tries again.
    RetryFailed {
        error: ListenError,
        retry_in: Duration,
    },
}

/// The reconnecting listener: delivers NOTIFY on one channel and, when the
/// connection is lost, reconnects with [`Backoff`] and LISTENs again.
pub struct Listener {
    spec: ListenSpec,
    backoff: Backoff,
    conn: Option<ListenConnection>,
    /// Failed attempts since the connection was last up.
    failures: u32,
    /// When the next reconnect attempt is due (kept across a cancelled
    /// [`Listener::next`], so a `select!` does not restart the wait).
    retry_at: tokio::time::Instant,
}

impl Listener {
    /// Connect and LISTEN. The first connection's failure is returned, not
    /// retried: a wrong DSN or a standby should end a command at once.
    pub async fn open(spec: ListenSpec, backoff: Backoff) -> Result<Listener, ListenError> {
        let conn = ListenConnection::open(&spec).await?;
        Ok(Listener {
            spec,
            backoff,
            conn: Some(conn),
            failures: 0,
            retry_at: tokio::time::Instant::now(),
        })
    }

    /// The next notification or change of connection state. Cancel-safe.
    pub async fn next(&mut self) -> Heard {
        if let Some(conn) = &mut self.conn {
            return match conn.recv().await {
                Ok(n) => Heard::Notification(n),
                Err(reason) => {
                    self.conn = None;
                    Heard::Lost {
                        reason,
                        retry_in: self.failed(),
                    }
                }
            };
        }
        tokio::time::sleep_until(self.retry_at).await;
        match ListenConnection::open(&self.spec).await {
            Ok(conn) => {
                self.conn = Some(conn);
                self.failures = 0;
                Heard::Reconnected
            }
            Err(error) => Heard::RetryFailed {
                error,
                retry_in: self.failed(),
            },
        }
    }

    /// NOTIFY `payload` on the channel from the listening connection, so
    /// its echo proves the whole round trip (None while reconnecting).
    pub async fn notify(&self, payload: &str) -> Option<Result<u64, tokio_postgres::Error>> {
        let conn = self.conn.as_ref()?;
        Some(
            conn.client()
                .execute(
                    "/* pgq */ SELECT pg_notify($1, $2)",
                    &[&self.spec.channel, &payload],
                )
                .await,
        )
    }

    /// Count a failure and schedule the next attempt; the wait.
    fn failed(&mut self) -> Duration {
        self.failures += 1;
        let wait = self.backoff.delay(self.failures);
        self.retry_at = tokio::time::Instant::now() + wait;
        wait
    }
}

/// One connection that LISTENs on one channel and probes itself.
pub struct ListenConnection {
    conn: Connection,
    probe: Interval,
}

impl ListenConnection {
    /// Connect, set the session up, and LISTEN.
    pub async fn open(spec: &ListenSpec) -> Result<ListenConnection, ListenError> {
        let conn = connect::connect(&spec.settings).await?;
        if spec.read_only {
            super::read_only::enforce(&conn.client)
                .await
                .map_err(ListenError::ReadOnly)?;
        }
        listen_on(&conn.client, &spec.settings.target(), &spec.channel).await?;
        let mut probe =
            tokio::time::interval_at(tokio::time::Instant::now() + PROBE_EVERY, PROBE_EVERY);
        // A probe skipped while nobody waited is not made up in a burst.
        probe.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Ok(ListenConnection { conn, probe })
    }

    pub fn client(&self) -> &Client {
        &self.conn.client
    }

    /// The next NOTIFY, or why the connection is lost: the server closed it,
    /// or it did not answer a probe. Cancel-safe between notifications, so
    /// it can sit in a `select!`.
    pub async fn recv(&mut self) -> Result<Notification, String> {
        loop {
            tokio::select! {
                notification = self.conn.notifications.recv() => {
                    return notification.ok_or_else(|| "the server closed the connection".into());
                }
                _ = self.probe.tick() => probe(&self.conn.client).await?,
            }
        }
    }
}

/// Refuse a hot standby in one line, then `LISTEN "channel"` on `client`.
/// For callers that LISTEN on a connection they also use for other work
/// (the worker dequeues on its listening connection); `target` is the
/// `user@host:port/db` label for the standby refusal.
pub async fn listen_on(client: &Client, target: &str, channel: &str) -> Result<(), ListenError> {
    let failed = |source| ListenError::Listen {
        channel: channel.to_string(),
        source,
    };
    // A standby refuses LISTEN with an error that does not say why.
    if in_recovery(client).await.map_err(failed)? {
        return Err(ListenError::Standby {
            channel: channel.to_string(),
            reason: standby_reason(target),
        });
    }
    client
        .batch_execute(&listen_statement(channel))
        .await
        .map_err(failed)
}

/// One probe: an empty query that must answer within [`PROBE_TIMEOUT`];
/// `Err` says, in one line, why the connection counts as lost.
pub async fn probe(client: &Client) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, client.simple_query("")).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(DbErrorText(&e).to_string()),
        Err(_) => Err(format!(
            "no answer to a probe within {}s",
            PROBE_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff::RECONNECT;
        assert_eq!(b.delay(1), Duration::from_millis(500));
        assert_eq!(b.delay(2), Duration::from_secs(1));
        assert_eq!(b.delay(4), Duration::from_secs(4));
        assert_eq!(b.delay(9), Duration::from_secs(10));
        assert_eq!(b.delay(40), Duration::from_secs(10));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn worker_backoff_starts_at_its_restart_delay() {
        let b = Backoff::new(Duration::from_secs(5), Duration::from_secs(30));
        assert_eq!(b.delay(1), Duration::from_secs(5));
        assert_eq!(b.delay(3), Duration::from_secs(20));
        assert_eq!(b.delay(4), Duration::from_secs(30));
    }
}
