//! Schedules through the `pgqueuer_schedules` protocol (facts §9.2), so any
//! number of pgq and Python schedulers fire each schedule exactly once: a
//! fire is claimed by an UPDATE of rows locked `FOR UPDATE SKIP LOCKED`,
//! heartbeated every second while it runs, and released (`queued`,
//! `last_run`) afterwards. A claim whose heartbeat is 30 s old is taken over.
//!
//! The scheduler borrows the engine's writer connection; while the worker
//! reconnects it waits. On a stop request it claims nothing more, lets
//! running fires finish (they are stopped on a forced stop) and releases them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::db::Db;
use super::transient::retrying;
use super::{JobContext, RegisteredSchedule, ScheduleFire, StopReason, log, sql};

/// What the scheduler uses of the worker that hosts it. The engine implements
/// it; the scheduler sees these four facts and nothing else of the engine.
pub(crate) trait Host: Send + Sync {
    /// The worker's connections; `None` while it connects or reconnects.
    fn db(&self) -> Option<Arc<Db>>;
    /// The stop level: 0 running, 1 finish running fires, 2 stop them now.
    fn subscribe_stop(&self) -> watch::Receiver<u8>;
    fn queue_manager_id(&self) -> uuid::Uuid;
    /// Count one fire in the worker's snapshot.
    fn schedule_fired(&self);
}

const LEEWAY: Duration = Duration::from_secs(1);
const RETRY_AFTER: Duration = Duration::from_secs(1);

pub(crate) async fn run(host: Arc<dyn Host>, schedules: Vec<RegisteredSchedule>) {
    let schedules: Arc<Vec<RegisteredSchedule>> = Arc::new(schedules);
    let active: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let (stop_tx, stop_rx) = watch::channel(None::<StopReason>);
    let mut level = host.subscribe_stop();
    let mut running = JoinSet::new();
    let beat = tokio::spawn(heartbeat(host.clone(), active.clone()));

    // Register (and clean) once; retried until the database answers.
    loop {
        if host.db().is_none() {
            // Not connected yet (or reconnecting): wait quietly.
            if *level.borrow() > 0 {
                beat.abort();
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        match register(host.as_ref(), &schedules).await {
            Ok(()) => break,
            Err(_) if *level.borrow() > 0 => {
                beat.abort();
                return;
            }
            Err(e) => {
                log::warning(&format!("Registering schedules failed: {e}"), &[]);
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_AFTER) => {}
                    _ = level.changed() => {}
                }
            }
        }
    }

    while *level.borrow() == 0 {
        let claimed = match claim(host.as_ref(), &schedules).await {
            Ok(rows) => rows,
            Err(e) => {
                log::warning(&format!("Polling schedules failed: {e}"), &[]);
                Vec::new()
            }
        };
        for fire in claimed {
            let Some(reg) = schedules
                .iter()
                .find(|s| s.entrypoint == fire.entrypoint && s.expression == fire.expression)
            else {
                continue;
            };
            let handler = reg.handler.clone();
            let ctx = JobContext::new(stop_rx.clone(), host.queue_manager_id());
            let host = host.clone();
            let active = active.clone();
            active
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(fire.id);
            host.schedule_fired();
            running.spawn(async move {
                let fields = [
                    ("schedule_id", Value::from(fire.id)),
                    ("entrypoint", Value::from(fire.entrypoint.as_str())),
                    ("expression", Value::from(fire.expression.as_str())),
                ];
                log::debug("Dispatching schedule", &fields);
                match handler(fire.clone(), ctx).await {
                    Ok(()) => log::debug("Schedule successful", &fields),
                    Err(e) => {
                        log::error(&format!("Exception while running schedule: {e}"), &fields)
                    }
                }
                release(host.as_ref(), fire.id).await;
                active
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&fire.id);
            });
        }
        let wait = next_wait(&schedules) + LEEWAY;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = level.changed() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    // Stopping: let running fires end; stop them on a forced stop.
    while !running.is_empty() {
        if *level.borrow() >= 2 {
            stop_tx.send_replace(Some(StopReason::Shutdown));
        }
        tokio::select! {
            _ = running.join_next() => {}
            _ = level.changed() => {}
        }
    }
    beat.abort();
}

/// Time until the earliest next fire (croniter semantics, UTC).
fn next_wait(schedules: &[RegisteredSchedule]) -> Duration {
    let now = Utc::now();
    schedules
        .iter()
        .filter_map(|s| next_in(&s.expression, now))
        .min()
        .unwrap_or(Duration::from_secs(60))
}

fn next_in(expression: &str, now: chrono::DateTime<Utc>) -> Option<Duration> {
    let next = crate::cron::next_fires(expression, now, 1)
        .ok()?
        .into_iter()
        .next()?;
    Some((next - now).to_std().unwrap_or_default())
}

fn arrays(schedules: &[RegisteredSchedule]) -> (Vec<String>, Vec<String>, Vec<f64>) {
    let now = Utc::now();
    let mut exprs = Vec::new();
    let mut eps = Vec::new();
    let mut delays = Vec::new();
    for s in schedules {
        exprs.push(s.expression.clone());
        eps.push(s.entrypoint.clone());
        delays.push(
            next_in(&s.expression, now)
                .unwrap_or_default()
                .as_secs_f64(),
        );
    }
    (exprs, eps, delays)
}

async fn register(host: &dyn Host, schedules: &[RegisteredSchedule]) -> Result<(), String> {
    let db = host.db().ok_or("not connected")?;
    let names = db.names();
    let clean: Vec<String> = schedules
        .iter()
        .filter(|s| s.clean_old)
        .map(|s| s.entrypoint.clone())
        .collect();
    if !clean.is_empty() {
        let delete = sql::delete_schedules(names);
        retrying("cleaning old schedules", || async {
            db.writer.execute(&delete, &[&clean]).await
        })
        .await
        .map_err(|e| crate::actions::DbErrorText(&e).to_string())?;
    }
    let (exprs, eps, delays) = arrays(schedules);
    let insert = sql::insert_schedules(names);
    retrying("registering schedules", || async {
        db.writer.execute(&insert, &[&exprs, &eps, &delays]).await
    })
    .await
    .map_err(|e| crate::actions::DbErrorText(&e).to_string())?;
    Ok(())
}

async fn claim(
    host: &dyn Host,
    schedules: &[RegisteredSchedule],
) -> Result<Vec<ScheduleFire>, String> {
    let db = host.db().ok_or("not connected")?;
    let (exprs, eps, delays) = arrays(schedules);
    let fetch = sql::fetch_schedules(db.names());
    let rows = retrying("claiming due schedules", || async {
        db.writer.query(&fetch, &[&exprs, &eps, &delays]).await
    })
    .await
    .map_err(|e| crate::actions::DbErrorText(&e).to_string())?;
    Ok(rows
        .iter()
        .map(|r| ScheduleFire {
            id: r.get(0),
            entrypoint: r.get(1),
            expression: r.get(2),
            next_run: r.get(3),
        })
        .collect())
}

/// Put a fired schedule back to `queued` with `last_run`; retried while the
/// worker reconnects (a stuck `picked` row would be taken over after 30 s).
async fn release(host: &dyn Host, id: i64) {
    for _ in 0..60 {
        if let Some(db) = host.db()
            && retrying("releasing a schedule", || async {
                let done = sql::schedule_done(db.names());
                db.writer.execute(&done, &[&vec![id]]).await
            })
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(RETRY_AFTER).await;
    }
    log::warning(
        "Could not release a schedule; another scheduler takes it over after 30 s",
        &[("schedule_id", Value::from(id))],
    );
}

async fn heartbeat(host: Arc<dyn Host>, active: Arc<Mutex<HashSet<i64>>>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ids: Vec<i64> = active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        if ids.is_empty() {
            continue;
        }
        if let Some(db) = host.db()
            && let Err(e) = retrying("schedule heartbeat", || async {
                let beat = sql::schedule_heartbeat(db.names());
                db.writer.execute(&beat, &[&ids]).await
            })
            .await
        {
            log::warning(
                &format!(
                    "Schedule heartbeat failed: {}",
                    crate::actions::DbErrorText(&e)
                ),
                &[],
            );
        }
    }
}
