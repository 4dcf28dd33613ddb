//! The tasks of one connection cycle: router, flusher, heartbeater, health
//! probe and aggregator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::shared::Shared;
use crate::db::jitter::jittered;
use crate::events::{Event, Operation};
use crate::worker::db::{Db, DbFailure, utc_now_text};
use crate::worker::{Mode, log};

const FLUSH_EVERY: Duration = Duration::from_millis(100);
const HEALTH_EVERY: Duration = Duration::from_secs(10);
/// How long the first probe waits for its echo.
const FIRST_ECHO: Duration = Duration::from_secs(3);
const NO_ECHO: &str = "our NOTIFY probe got no echo: a transaction pooler between pgq and PostgreSQL? give --listen-dsn a direct connection";
const NOT_LISTENING: &str = "no LISTEN: --no-listen, or --pooler transaction without --listen-dsn";

/// ±20 %, like PGQueuer's timers, so a fleet does not beat in lockstep.
fn jitter(d: Duration) -> Duration {
    jittered(d, 0.2)
}

pub(super) async fn router(
    shared: Arc<Shared>,
    mut notifications: mpsc::UnboundedReceiver<tokio_postgres::Notification>,
    fail: mpsc::UnboundedSender<DbFailure>,
) {
    while let Some(n) = notifications.recv().await {
        match Event::parse(n.payload()) {
            Event::TableChanged {
                operation, sent_at, ..
            } => {
                // A DELETE or TRUNCATE (every completion notifies one) adds
                // no job; it matters only when a concurrency limit counts
                // the jobs other workers hold, since it may free a slot.
                // An INSERT's `sent_at` tells whether it announces a job
                // this worker already claimed (see `herd`).
                match operation {
                    Operation::Insert => shared.announced().insert(sent_at.to_utc()),
                    Operation::Delete | Operation::Truncate if !shared.params.capacity_gated() => {
                        continue;
                    }
                    _ => shared.announced().other(),
                }
                shared.wake.notify_one();
            }
            Event::Cancellation { ids, .. } => shared.cancel(&ids),
            Event::HealthCheck { id, .. } => {
                let waiter = shared
                    .probes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                if let Some(tx) = waiter {
                    let _ = tx.send(());
                }
            }
            Event::Unknown(payload) => log::debug(
                "Ignoring an unknown NOTIFY payload",
                &[("payload", Value::from(payload))],
            ),
        }
    }
    let _ = fail.send(DbFailure::without_server_error(
        "the connection to the server was lost",
    ));
}

pub(super) async fn flusher(
    shared: Arc<Shared>,
    db: Arc<Db>,
    fail: mpsc::UnboundedSender<DbFailure>,
) {
    loop {
        tokio::select! {
            _ = shared.flush_now.notified() => {}
            _ = tokio::time::sleep(jitter(FLUSH_EVERY)) => {}
        }
        if let Err(e) = shared.flush(&db).await {
            let _ = fail.send(e);
            return;
        }
    }
}

pub(super) async fn heartbeater(
    shared: Arc<Shared>,
    db: Arc<Db>,
    fail: mpsc::UnboundedSender<DbFailure>,
) {
    let timeout = shared.opts.heartbeat_timeout;
    let (beat_every, flush_every) = (timeout / 2, timeout / 8);
    loop {
        tokio::time::sleep(jitter(flush_every)).await;
        let now = Instant::now();
        let due: Vec<i64> = shared
            .state()
            .inflight
            .iter()
            .filter(|(_, f)| now.duration_since(f.last_beat) >= beat_every)
            .map(|(id, _)| *id)
            .collect();
        if due.is_empty() {
            continue;
        }
        if let Err(e) = db.heartbeat(&due).await {
            let _ = fail.send(e);
            return;
        }
        let mut s = shared.state();
        for id in &due {
            if let Some(f) = s.inflight.get_mut(id) {
                f.last_beat = now;
            }
        }
    }
}

/// Every 10 s: NOTIFY a `health_check_event` and expect our own echo within
/// 10 s. A missing echo ends the cycle under `--shutdown-on-listener-failure`
/// (as in PGQueuer, except in drain mode); otherwise pgq re-issues LISTEN.
pub(super) async fn health_probe(
    shared: Arc<Shared>,
    db: Arc<Db>,
    fail: mpsc::UnboundedSender<DbFailure>,
) {
    if !db.listens() {
        shared.set_live_events(false, NOT_LISTENING);
        return;
    }
    // The first echo is awaited briefly: a worker whose LISTEN goes nowhere
    // (a transaction pooler) starts polling within seconds, not minutes.
    let mut wait = FIRST_ECHO;
    loop {
        let id = Uuid::new_v4();
        let (tx, rx) = oneshot::channel();
        shared
            .probes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let payload = serde_json::json!({
            "channel": shared.names.channel,
            "sent_at": utc_now_text(),
            "type": "health_check_event",
            "id": id.to_string(),
        })
        .to_string();
        if let Err(e) = db.notify(&payload).await {
            let _ = fail.send(e);
            return;
        }
        let echoed = tokio::time::timeout(wait, rx).await;
        wait = HEALTH_EVERY;
        shared
            .probes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        let healthy = matches!(echoed, Ok(Ok(())));
        if let Some(m) = &shared.metrics {
            m.listen_health(healthy);
        }
        shared.set_live_events(healthy, NO_ECHO);
        if !healthy {
            if shared.opts.shutdown_on_listener_failure && shared.opts.mode != Mode::Drain {
                let _ = fail.send(DbFailure::without_server_error(
                    "the LISTEN connection failed its health check",
                ));
                return;
            }
            log::warning("The LISTEN health check got no echo; listening again", &[]);
            if let Err(e) = db.relisten().await {
                let _ = fail.send(e);
                return;
            }
        }
        tokio::time::sleep(HEALTH_EVERY).await;
    }
}

pub(super) async fn aggregator(shared: Arc<Shared>, db: Arc<Db>) {
    let every = shared.opts.log_aggregation_interval;
    if every.is_zero() {
        return;
    }
    loop {
        tokio::time::sleep(jitter(every)).await;
        let logged = shared.state().jobs_logged;
        if logged == 0 {
            continue;
        }
        match db.aggregate(every).await {
            Ok(()) => {
                let mut s = shared.state();
                s.jobs_logged = s.jobs_logged.saturating_sub(logged);
            }
            Err(e) => log::warning(&format!("Log aggregation failed: {e}"), &[]),
        }
    }
}
