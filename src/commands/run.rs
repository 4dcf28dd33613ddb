//! `pgq run FACTORY [-- ARGS…]`: load a worker manifest, then run the worker
//! until a signal (or drain mode) stops it.
//!
//! Exit status: 0 after a clean stop (signal or drain); 1 when the database
//! fails without `--restart-on-failure`, the schema is missing or the
//! connection settings are wrong; 2 for a broken manifest or invalid run
//! options, reported before anything connects.
//!
//! Signals: the first lets running jobs finish; a second stops them (back to
//! `queued`) and drops the metrics server's connections, so the process
//! exits as soon as the jobs' outcomes are written.

use std::time::Duration;

use super::CommandContext;
use super::metrics_server::{Bound, MetricsOptions, Stop, WorkerLink};
use super::{CommandError, object_names, open_files};
use crate::cli::RunArgs;
use crate::output::{self, Exit};
use crate::worker::{LiveEvents, RunOptions, Worker, log, manifest};

/// `pgq metrics`' defaults, for the queue series a worker serves.
const DEFAULT_WINDOW: Duration = Duration::from_secs(300);
const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(300);

pub(super) async fn run(ctx: &CommandContext, args: &RunArgs) -> Result<Exit, CommandError> {
    log::configure(args.log_level, args.log_format);
    match open_files::raise_to_hard_limit() {
        // Said only when raised: the log keeps PGQueuer's lines otherwise.
        Ok(limit) if limit.raised() => log::debug(&limit.describe(), &[]),
        Ok(_) => {}
        Err(e) => log::debug(&format!("cannot raise the open-file limit: {e}"), &[]),
    }
    let manifest = match manifest::load(&args.factory) {
        Ok(m) => m,
        Err(e) => {
            output::error(&e.to_string());
            return Ok(Exit::Usage);
        }
    };
    let options = RunOptions {
        batch_size: args.batch_size,
        dequeue_timeout: Duration::from_secs_f64(args.dequeue_timeout),
        heartbeat_timeout: Duration::from_secs_f64(args.heartbeat_timeout),
        mode: args.mode,
        max_concurrent_tasks: max_concurrent_tasks(args),
        shutdown_on_listener_failure: args.shutdown_on_listener_failure,
        restart_on_failure: args.restart_on_failure,
        restart_delay: Duration::from_secs_f64(args.restart_delay),
        shutdown_timeout: args.shutdown_timeout.map(Duration::from_secs_f64),
        dequeue_connections: args.dequeue_connections,
        allow_newer_schema: args.allow_newer_schema,
        live_events: live_events(ctx, args.no_listen)?,
        poll_interval: Duration::from_secs_f64(args.poll_interval),
        ..RunOptions::default()
    };
    if let Err(e) = options.validate() {
        output::error(&e);
        return Ok(Exit::Usage);
    }
    // A worker writes with every job it takes: read-only mode (the flag or the
    // context's read_only) refuses it before it connects, as the action layer
    // refuses other writes.
    if super::read_only(ctx)? {
        return Err(CommandError::Other(
            "refused: run dequeues and completes jobs, and this session is read-only".into(),
        ));
    }
    let names = object_names(ctx)?;
    // --context, --dsn, PGDSN, libpq variables: as every other command.
    let settings = super::connection_settings(ctx)?;
    let mut worker = Worker::new(names.clone(), options);
    if let Err(e) = worker.register_manifest(&manifest, &args.args) {
        output::error(&format!("{}: {e}", args.factory.display()));
        return Ok(Exit::Usage);
    }
    let metrics = match args.metrics_listen {
        Some(listen) => Some(serve_metrics(ctx, &mut worker, listen).await?),
        None => None,
    };
    let trigger = worker.shutdown_trigger();
    // On a terminal (and without --headless) the console shows the worker:
    // its log lines go to the Worker tab instead of the screen.
    let console = ctx.interactive().then(|| {
        let (lines, logs) = tokio::sync::mpsc::unbounded_channel();
        log::redirect(Some(lines));
        crate::console::WorkerLink {
            snapshot: worker.observe(),
            logs,
            shutdown: worker.shutdown_trigger(),
            owns_worker: true,
        }
    });
    let console_settings = settings.clone();
    let mut stop = crate::db::signal::Signals::interrupt_and_terminate()
        .map_err(|e| CommandError::Other(e.to_string()))?;
    let server_stop = metrics.as_ref().map(|(stop, _)| stop.clone());
    let signals = tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let number = stop.recv().await.number();
            seen += 1;
            if seen == 1 {
                log::info(&format!("Signal {number} received, shutting down."), &[]);
                trigger.request();
            } else {
                log::warning(
                    &format!("Signal {number} received again: stopping running jobs now."),
                    &[],
                );
                trigger.now();
                // Nothing may hold the exit up any more: not a scrape in
                // flight, not a client that never finishes its request.
                if let Some(server) = &server_stop {
                    server.send_replace(Stop::Now);
                }
            }
        }
    });
    // The worker gets a runtime of its own on one thread: its tasks wake each
    // other once per job, and on one thread that is a queue push instead of
    // a cross-thread unpark (measured: about half the worker's CPU per job).
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("pgq-worker".into())
        .spawn(move || {
            let result = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(worker.run(settings)),
                Err(e) => Err(crate::worker::WorkerError::Options(format!(
                    "cannot start the worker runtime: {e}"
                ))),
            };
            let _ = done_tx.send(result);
        })
        .map_err(|e| CommandError::Other(format!("cannot start the worker thread: {e}")))?;
    if let Some(link) = console {
        let shutdown = link.shutdown.clone();
        let shown = super::open_console(
            ctx,
            crate::console::app::Tab::Worker,
            console_settings,
            names,
            Some(link),
        )
        .await;
        log::redirect(None);
        // However the console ended, the worker stops (gracefully) with it.
        shutdown.request();
        if let Err(e) = shown {
            output::error(&e.to_string());
        }
    }
    let result = done_rx.await.unwrap_or_else(|_| {
        Err(crate::worker::WorkerError::Options(
            "the worker thread ended unexpectedly".into(),
        ))
    });
    let _ = thread.join();
    // The signal handler stays until the server has stopped, so a second
    // signal still cuts its (bounded) wind-down short.
    if let Some((stop, server)) = metrics {
        stop.send_if_modified(|s| {
            let serving = *s == Stop::Serving;
            if serving {
                *s = Stop::Gracefully;
            }
            serving
        });
        let _ = server.await;
    }
    signals.abort();
    Ok(match result {
        Ok(()) => Exit::Ok,
        Err(_) => Exit::Failure, // the worker has logged why
    })
}

/// The cap on picked jobs: `--max-concurrent-tasks` (0 = none), else
/// PGQueuer 2.1's default of max(100, 2 × batch size), so a worker no longer
/// claims the whole backlog (one process per job for commands). A cap keeps
/// dequeuing on one connection, so `--dequeue-connections` above 1 without
/// the flag keeps its parallel dequeues, uncapped: the flag typed wins over
/// the default.
fn max_concurrent_tasks(args: &RunArgs) -> Option<u32> {
    match args.max_concurrent_tasks {
        Some(0) => None,
        Some(cap) => Some(cap),
        None if args.dequeue_connections > 1 => None,
        None => Some(default_max_concurrent_tasks(args.batch_size)),
    }
}

/// max(100, 2 × batch size): twice a batch is PGQueuer's smallest valid cap.
fn default_max_concurrent_tasks(batch_size: u32) -> u32 {
    batch_size.saturating_mul(2).max(100)
}

/// Start serving the queue's and the worker's series on `listen`; they stop
/// when the returned sender leaves [`Stop::Serving`] (after the worker has
/// ended, so `/readyz` answers "stopping" for as long as the worker winds
/// down).
async fn serve_metrics(
    ctx: &CommandContext,
    worker: &mut Worker,
    listen: std::net::SocketAddr,
) -> Result<
    (
        tokio::sync::watch::Sender<Stop>,
        tokio::task::JoinHandle<()>,
    ),
    CommandError,
> {
    let options = MetricsOptions {
        listen,
        window: DEFAULT_WINDOW,
        stale_after: DEFAULT_STALE_AFTER,
    };
    let bound = Bound::new(ctx, &options).await?;
    log::info(
        "Serving metrics",
        &[(
            "url",
            serde_json::Value::from(format!("http://{}/metrics", bound.address())),
        )],
    );
    let link = WorkerLink {
        metrics: worker.metrics(),
        snapshot: worker.observe(),
    };
    let (stop, stopped) = tokio::sync::watch::channel(Stop::Serving);
    let server = tokio::spawn(bound.serve(Some(link), stopped));
    Ok((stop, server))
}

/// Where the worker's live events come from: nowhere with `--no-listen`, a
/// direct connection with `--listen-dsn`, nowhere behind a transaction
/// pooler without one (LISTEN there lands on whichever server connection is
/// free, and its events reach whoever holds that one next), else the
/// connection that dequeues.
fn live_events(ctx: &CommandContext, no_listen: bool) -> Result<LiveEvents, CommandError> {
    if no_listen {
        return Ok(LiveEvents::Off);
    }
    Ok(match super::listen_settings(ctx)? {
        Some(direct) => LiveEvents::Direct(Box::new(direct)),
        None if super::pooler(ctx)?.is_transaction() => LiveEvents::Off,
        None => LiveEvents::Main,
    })
}

#[cfg(test)]
mod tests {
    use super::default_max_concurrent_tasks;

    #[test]
    fn default_cap_is_twice_the_batch_but_at_least_100() {
        assert_eq!(default_max_concurrent_tasks(1), 100);
        assert_eq!(default_max_concurrent_tasks(50), 100);
        assert_eq!(default_max_concurrent_tasks(51), 102);
        assert_eq!(default_max_concurrent_tasks(u32::MAX), u32::MAX);
    }
}
