//! Connection cycles: connect, start the cycle tasks, serve, and on a
//! failure back off and reconnect (or give up and write back).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::serve::{CycleEnd, serve, wait_level, wind_down};
use super::shared::Shared;
use super::tasks::{aggregator, flusher, health_probe, heartbeater, router};
use crate::db::listener::Backoff;
use crate::settings::conn::ConnectionSettings;
use crate::worker::db::{Db, DbFailure, OpenError};
use crate::worker::snapshot::WorkerState;
use crate::worker::{WorkerError, log};

const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A cycle that served this long without failing counts as healthy: its
/// failure starts the backoff afresh. A shorter one (a connection that fails
/// at its first statement) keeps doubling it, or a fault that strikes right
/// after each connect would reconnect at the first delay for ever.
const HEALTHY_AFTER: Duration = MAX_BACKOFF;
/// How long a worker that gives up tries to write its jobs' outcomes.
const WRITE_BACK_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stopping worker may spend folding its log into statistics.
const FINAL_AGGREGATION_BUDGET: Duration = Duration::from_secs(5);

pub(super) async fn supervise(
    shared: &Arc<Shared>,
    settings: &ConnectionSettings,
    mut scheduler: Option<tokio::task::JoinHandle<()>>,
) -> Result<(), WorkerError> {
    let mut stopping = false;
    let mut failures: u32 = 0;
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut level_rx = shared.level.subscribe();
    loop {
        // While (re)connecting, a stop request ends the worker at once when
        // nothing runs; with jobs running only a forced stop does.
        let stop_at = if shared.busy() > 0 { 2 } else { 1 };
        let opened = tokio::select! {
            r = Db::open(settings, &shared.names, &shared.params, &shared.opts.live_events) => Some(r),
            _ = wait_level(&mut level_rx, stop_at) => None,
        };
        let opened = match opened {
            None if shared.busy() == 0 => return finish_scheduler(scheduler).await,
            None => {
                let why = "stopped while the database was unreachable";
                return give_up(shared, settings, DbFailure::without_server_error(why)).await;
            }
            Some(Err(OpenError::Schema(m))) => return Err(WorkerError::Schema(m)),
            Some(Err(e)) => {
                let reason = e.to_string();
                if !shared.opts.restart_on_failure {
                    let failure = match &e {
                        OpenError::Db(failure) => failure.clone(),
                        _ => DbFailure::without_server_error(reason),
                    };
                    give_up(shared, settings, failure.clone()).await?;
                    return Err(match e {
                        OpenError::Connect(c) => WorkerError::Connect(c),
                        _ => WorkerError::Database(failure),
                    });
                }
                failures += 1;
                if !backoff(shared, &mut level_rx, failures, &reason, &scheduler).await {
                    return finish_scheduler(scheduler).await;
                }
                continue;
            }
            Some(Ok(o)) => o,
        };
        if failures > 0 {
            log::info("Reconnected", &[]);
            if let Some(m) = &shared.metrics {
                m.reconnected();
            }
        }
        let connected_at = Instant::now();
        let db = Arc::new(opened.db);
        shared.set_db(Some(db.clone()));
        let (fail_tx, mut fail_rx) = mpsc::unbounded_channel::<DbFailure>();
        let mut tasks = JoinSet::new();
        tasks.spawn(router(
            shared.clone(),
            opened.notifications,
            fail_tx.clone(),
        ));
        tasks.spawn(flusher(shared.clone(), db.clone(), fail_tx.clone()));
        tasks.spawn(heartbeater(shared.clone(), db.clone(), fail_tx.clone()));
        tasks.spawn(health_probe(shared.clone(), db.clone(), fail_tx.clone()));
        tasks.spawn(aggregator(shared.clone(), db.clone()));
        drop(fail_tx);

        let mut end = if stopping {
            CycleEnd::Stop
        } else {
            shared.set_state(WorkerState::Running);
            serve(shared, &db, &mut level_rx, &mut fail_rx).await
        };
        if let CycleEnd::Stop = end {
            if !stopping {
                stopping = true;
                // Drain mode ends the same way as a stop request, so the
                // scheduler (which watches the level) stops too.
                shared.level.send_if_modified(|level| {
                    let raise = *level == 0;
                    if raise {
                        *level = 1;
                    }
                    raise
                });
                let busy = shared.busy();
                deadline = shared
                    .opts
                    .shutdown_timeout
                    .map(|t| tokio::time::Instant::now() + t);
                log::info(
                    "Stopping: no more dequeues; waiting for running jobs",
                    &[
                        ("running", Value::from(busy)),
                        (
                            "shutdown_timeout_s",
                            shared
                                .opts
                                .shutdown_timeout
                                .map_or(Value::Null, |t| Value::from(t.as_secs_f64())),
                        ),
                    ],
                );
            }
            shared.set_state(WorkerState::Stopping);
            end = wind_down(
                shared,
                &mut level_rx,
                &mut fail_rx,
                deadline,
                &mut scheduler,
            )
            .await;
        }
        match end {
            CycleEnd::Done => {
                // Last aggregation of what this worker logged, best effort
                // and brief: whatever is left waits for another worker.
                if shared.state().jobs_logged > 0 {
                    let _ = db.aggregate(FINAL_AGGREGATION_BUDGET).await;
                }
                tasks.abort_all();
                return Ok(());
            }
            CycleEnd::Stop => unreachable!("wind_down never returns Stop"),
            CycleEnd::Failed(failure) => {
                tasks.abort_all();
                shared.set_db(None);
                if !shared.opts.restart_on_failure {
                    give_up(shared, settings, failure.clone()).await?;
                    return Err(WorkerError::Database(failure));
                }
                if connected_at.elapsed() >= HEALTHY_AFTER {
                    failures = 0;
                }
                failures += 1;
                let reason = failure.to_string();
                if !backoff(shared, &mut level_rx, failures, &reason, &scheduler).await {
                    return finish_scheduler(scheduler).await;
                }
            }
        }
    }
}

pub(super) async fn finish_scheduler(
    scheduler: Option<tokio::task::JoinHandle<()>>,
) -> Result<(), WorkerError> {
    if let Some(s) = scheduler {
        s.abort();
    }
    Ok(())
}

/// The worker ends without its connections (a database failure without
/// `--restart-on-failure`, or a forced stop during an outage): stop running
/// jobs, then write what they left (completions, and `queued` for the
/// stopped ones) over fresh connections. Only when the database does not
/// answer do their rows stay `picked`, for other workers to re-pick after
/// the heartbeat timeout; `Err` says so.
pub(super) async fn give_up(
    shared: &Arc<Shared>,
    settings: &ConnectionSettings,
    failure: DbFailure,
) -> Result<(), WorkerError> {
    shared.stop_all_jobs();
    let deadline = Instant::now() + shared.opts.stop_grace + Duration::from_secs(1);
    while shared.state().inflight.values().any(|f| !f.completing) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if shared.busy() == 0 {
        return Ok(());
    }
    let unwritten = write_back(shared, settings).await.err();
    // Written jobs have left `inflight`; what remains is still `picked`.
    let left = shared.state().inflight.len();
    if left == 0 {
        return Ok(());
    }
    let why = unwritten.unwrap_or_else(|| "a job did not stop within the grace".into());
    log::error(
        "Giving up with jobs left picked; other workers re-pick them after the heartbeat timeout",
        &[
            ("jobs", Value::from(left)),
            ("reason", Value::from(failure.to_string())),
            ("not_written_because", Value::from(why)),
        ],
    );
    Err(WorkerError::Database(failure.and_then(&format!(
        "{left} job(s) left picked for re-pick after the heartbeat timeout"
    ))))
}

/// Open new connections and write the pending outcomes, bounded in time so
/// an unreachable database cannot hold the exit.
pub(super) async fn write_back(
    shared: &Arc<Shared>,
    settings: &ConnectionSettings,
) -> Result<(), String> {
    let attempt = async {
        let opened = Db::open(
            settings,
            &shared.names,
            &shared.params,
            &shared.opts.live_events,
        )
        .await
        .map_err(|e| e.to_string())?;
        shared.flush(&opened.db).await.map_err(|e| e.to_string())
    };
    tokio::time::timeout(WRITE_BACK_TIMEOUT, attempt)
        .await
        .unwrap_or_else(|_| Err("the database did not answer in time".into()))
}

/// Wait before reconnecting; `false` when a stop made reconnecting pointless.
pub(super) async fn backoff(
    shared: &Arc<Shared>,
    level_rx: &mut watch::Receiver<u8>,
    failures: u32,
    reason: &str,
    scheduler: &Option<tokio::task::JoinHandle<()>>,
) -> bool {
    // The listeners' doubling policy, from the user's --restart-delay.
    let base = shared.opts.restart_delay;
    let delay = Backoff::new(base, MAX_BACKOFF.max(base)).delay(failures);
    shared.set_state(WorkerState::Reconnecting(failures));
    log::error(
        &format!("Database failure: {reason}"),
        &[
            ("attempt", Value::from(failures)),
            ("retry_in_s", Value::from(delay.as_secs_f64())),
        ],
    );
    let until = tokio::time::Instant::now() + delay;
    loop {
        let idle = shared.busy() == 0 && scheduler.as_ref().is_none_or(|s| s.is_finished());
        if shared.stop_level() >= 1 && idle {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return true,
            _ = level_rx.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}
