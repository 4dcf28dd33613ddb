//! The serve loop: dequeue and dispatch until a stop, a drained queue or a
//! failure; then wind down.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::herd::{Claimed, Damper};
use super::shared::Shared;
use crate::worker::db::{Db, DbFailure};
use crate::worker::metrics::timed_dequeue;
use crate::worker::{Mode, log};

const MIN_POLL: Duration = Duration::from_millis(100);
/// How long a probe's answer is reused after rounds that found their work.
const PROBE_REUSE: Duration = MIN_POLL;

/// Why a connection cycle ended.
pub(super) enum CycleEnd {
    /// Stopping was requested (or drain mode found nothing): no more dequeues.
    Stop,
    /// Everything finished and was written.
    Done,
    Failed(DbFailure),
}

pub(super) async fn wait_level(rx: &mut watch::Receiver<u8>, at_least: u8) {
    while *rx.borrow_and_update() < at_least {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Dequeue and dispatch until a stop request, drain completion or failure.
pub(super) async fn serve(
    shared: &Arc<Shared>,
    db: &Db,
    level_rx: &mut watch::Receiver<u8>,
    fail_rx: &mut mpsc::UnboundedReceiver<DbFailure>,
) -> CycleEnd {
    let p = &shared.params;
    let mut damper = Damper::default();
    let mut claimed_here = Claimed::default();
    // Whether news (see `herd`) started the next round.
    let mut news_woken = false;
    // When the last probe ran, and the deadline its answer set.
    let mut last_probe: Option<(tokio::time::Instant, tokio::time::Instant)> = None;
    loop {
        if p.entrypoints.is_empty() {
            if shared.opts.mode == Mode::Drain {
                return CycleEnd::Stop;
            }
            tokio::select! {
                _ = wait_level(level_rx, 1) => return CycleEnd::Stop,
                r = fail_rx.recv() => return failed(r),
            }
        }
        // Dequeue while dequeues come back full, keeping two statements in
        // flight on the connection so the server starts the next one without
        // waiting for a round trip. The second one only ever claims what a
        // sequential loop would have claimed next. A partial batch took
        // everything eligible at its snapshot (PGQueuer would dequeue once
        // more and get nothing): a job committed after it announces itself
        // with a NOTIFY, and the probe below catches what locks or capacity
        // held back.
        // What was announced before this round is covered by it.
        shared.announced().clear();
        let mut claimed = 0;
        let lanes = db.dequeue_lanes();
        let depth = 2 * lanes;
        let mut next_lane = 0;
        let mut issue = |pipeline: &mut futures_util::stream::FuturesOrdered<_>| {
            let dequeue = db.dequeue(p, next_lane);
            pipeline.push_back(timed_dequeue(shared.metrics.clone(), dequeue));
            next_lane = (next_lane + 1) % lanes;
        };
        let mut pipeline = futures_util::stream::FuturesOrdered::new();
        issue(&mut pipeline);
        let mut exhausted = false;
        // Set on a stop or failure: issue nothing more, but keep reading.
        // A dequeue already sent commits its claims on the server whether or
        // not its answer is read, so dropping it would leave those jobs
        // `picked` by nobody until the heartbeat timeout. Every job a sent
        // dequeue claimed is dispatched, as Python runs its last batch.
        let mut end = None;
        while let Some(result) = pipeline.next().await {
            let jobs = match result {
                Ok(jobs) => jobs,
                Err(e) => {
                    end.get_or_insert(CycleEnd::Failed(e));
                    continue;
                }
            };
            let full = jobs.len() as i64 >= p.batch_size;
            exhausted |= !full;
            shared.set_backlog(full);
            claimed += jobs.len();
            for job in jobs {
                claimed_here.note(job.created);
                shared.dispatch(job);
            }
            if end.is_none() && shared.stop_level() > 0 {
                end = Some(CycleEnd::Stop);
            }
            if end.is_none()
                && let Ok(reason) = fail_rx.try_recv()
            {
                end = Some(CycleEnd::Failed(reason));
            }
            if end.is_none() && !exhausted {
                issue(&mut pipeline);
                while full && pipeline.len() < depth {
                    issue(&mut pipeline);
                }
            }
        }
        if let Some(end) = end {
            return end;
        }
        // Drain mode answers every wake: it ends on the probe below, and
        // a quiet worker there would only end later.
        let damping = shared.opts.mode != Mode::Drain;
        if damping {
            damper.record(news_woken, claimed);
        }
        // A job announced while the last dequeue ran: dequeue again at once
        // rather than probe first (a round trip the new job would wait for);
        // unless this worker just lost a NOTIFY race, when the announcement
        // waits for the quiet window (its permit stays stored), or the
        // announcement is of a job this round claimed.
        if !damping {
            if shared.wake.notified().now_or_never().is_some() {
                news_woken = false;
                continue;
            }
        } else if !damper.lost()
            && shared.wake.notified().now_or_never().is_some()
            && let Some(news) = worth_a_dequeue(shared, &claimed_here)
        {
            news_woken = news;
            continue;
        }
        // The last probe's answer still holds after a round that found
        // work, for a short while: the news that woke it announced jobs it
        // claimed, and a deferred job announced alongside is learned at the
        // latest when the answer expires (the wait ends there and probes).
        // Under a stream of jobs that saves a round trip per round on the
        // connection the next job's dequeue needs.
        // Not when capacity may have held work back: the probe says so.
        let now = tokio::time::Instant::now();
        let unconstrained = !p.capacity_gated()
            && p.global_limit
                .is_none_or(|cap| shared.busy() as i64 + p.batch_size <= cap);
        let mut reuse = match last_probe {
            Some((taken, deadline))
                if claimed > 0 && damping && unconstrained && now < taken + PROBE_REUSE =>
            {
                Some((taken + PROBE_REUSE, deadline))
            }
            _ => None,
        };
        let mut quiet = damper.quiet().filter(|_| damping);
        news_woken = 'wait: loop {
            let (until, expires) = match reuse.take() {
                Some((expires, deadline)) => (deadline, Some(expires)),
                None => {
                    last_probe = None;
                    // Drain ends only if nothing ran while the probe looked:
                    // a job that finished during the probe (say, a retry put
                    // back to `queued`) may have been written after the
                    // probe's snapshot was taken.
                    let idle_before_probe = shared.busy() == 0;
                    let probe = match db.work_probe(&p.entrypoints).await {
                        Ok(probe) => probe,
                        Err(e) => return CycleEnd::Failed(e),
                    };
                    if shared.opts.mode == Mode::Drain && idle_before_probe && !probe.queued {
                        log::info("Drain mode: the queue is empty", &[]);
                        return CycleEnd::Stop;
                    }
                    // §8.2: re-poll soon when eligible work is waiting (e.g.
                    // capacity was full) or a deferred job is due before the
                    // dequeue timeout.
                    shared.wake_on_finish.store(
                        probe.eligible || shared.opts.mode == Mode::Drain,
                        Ordering::Relaxed,
                    );
                    let idle_wait = shared.idle_wait();
                    let timeout = if probe.eligible {
                        MIN_POLL
                    } else {
                        match probe.eta {
                            Some(eta) if eta < idle_wait => eta.max(MIN_POLL),
                            None if probe.queued => MIN_POLL,
                            _ => idle_wait,
                        }
                    };
                    let taken = tokio::time::Instant::now();
                    let until = taken + timeout;
                    if !probe.eligible {
                        last_probe = Some((taken, until));
                    }
                    (until, None)
                }
            };
            // After a lost race, wakes wait out a quiet window (never longer
            // than the wait itself); one that came meanwhile is answered
            // when it ends, by one dequeue.
            if let Some(quiet) = quiet.take() {
                tokio::select! {
                    _ = tokio::time::sleep_until(until.min(tokio::time::Instant::now() + quiet)) => {}
                    _ = wait_level(level_rx, 1) => return CycleEnd::Stop,
                    r = fail_rx.recv() => return failed(r),
                }
            }
            let wake_at = expires.map_or(until, |e| e.min(until));
            loop {
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = tokio::time::sleep_until(wake_at) => {
                        if wake_at < until {
                            // The reused answer expired: probe afresh and
                            // wait on (no dequeue: nothing said there is work).
                            continue 'wait;
                        }
                        break 'wait false;
                    }
                    _ = wait_level(level_rx, 1) => return CycleEnd::Stop,
                    r = fail_rx.recv() => return failed(r),
                }
                if !damping {
                    break 'wait false;
                }
                if let Some(news) = worth_a_dequeue(shared, &claimed_here) {
                    break 'wait news;
                }
            }
        };
    }
}

/// After a wake: `None` when it only announced jobs this worker already
/// claimed (nothing to dequeue), else whether it brought news. A wake with
/// no table event behind it (a job written while capacity held work back,
/// live events lost) is worth a dequeue but no news.
fn worth_a_dequeue(shared: &Shared, claimed_here: &Claimed) -> Option<bool> {
    let read = claimed_here.read(&mut shared.announced());
    match read {
        Some(false) if !shared.wake_on_finish.load(Ordering::Relaxed) => None,
        Some(news) => Some(news),
        None => Some(false),
    }
}

pub(super) fn failed(failure: Option<DbFailure>) -> CycleEnd {
    CycleEnd::Failed(
        failure.unwrap_or_else(|| DbFailure::without_server_error("a worker task ended")),
    )
}

/// After a stop request: wait until every job has finished and been written
/// (and the scheduler has released its schedules), stopping jobs when the
/// shutdown timeout passes or a second stop request arrives.
pub(super) async fn wind_down(
    shared: &Arc<Shared>,
    level_rx: &mut watch::Receiver<u8>,
    fail_rx: &mut mpsc::UnboundedReceiver<DbFailure>,
    deadline: Option<tokio::time::Instant>,
    scheduler: &mut Option<tokio::task::JoinHandle<()>>,
) -> CycleEnd {
    let mut announced = false;
    loop {
        if shared.stop_level() >= 2 {
            let n = shared.stop_all_jobs();
            if n > 0 || !announced {
                log::warning(
                    "Stopping running jobs now; they go back to the queue",
                    &[("jobs", Value::from(n))],
                );
                announced = true;
            }
        }
        shared.flush_now.notify_one();
        let scheduler_done = scheduler.as_ref().is_none_or(|s| s.is_finished());
        if shared.busy() == 0 && scheduler_done {
            return CycleEnd::Done;
        }
        let timeout = async {
            match deadline {
                Some(d) if shared.stop_level() < 2 => tokio::time::sleep_until(d).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = level_rx.changed() => {}
            _ = timeout => {
                log::warning("Shutdown timeout reached", &[]);
                shared.level.send_replace(2);
            }
            r = fail_rx.recv() => return failed(r),
        }
    }
}
