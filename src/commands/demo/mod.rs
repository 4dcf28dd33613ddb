//! `pgq demo`: a live PGQueuer system in one command.
//!
//! It uses the configured server if one answers, else a throwaway cluster
//! (`cluster`); creates a `pgq_demo` database (or schema, where it may not
//! create databases), installs the schema, and runs in-process workers with
//! realistic handlers (`handlers`), a producer and two schedules — then
//! opens the console on it, or with `--headless` runs for `--duration` and
//! prints a summary. Quitting stops everything and removes what the demo
//! created unless `--keep`.

pub mod cluster;
mod handlers;
mod place;

use std::time::Duration;

use tokio::sync::watch;

use crate::actions::jobs::enqueue::{Conflict, JobSpec};
use crate::actions::{self, Session, kinds};
use crate::commands::CommandContext;
use crate::commands::CommandError;
use crate::db::connect;
use crate::output::{self, Exit, plural};
use crate::settings::conn::ConnectionSettings;
use crate::worker::{Mode, RunOptions, Snapshot, Worker};

pub use handlers::Rng;

/// What `pgq demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub headless: bool,
    pub duration: Option<Duration>,
    pub keep: bool,
    /// Jobs per second the producer enqueues.
    pub rate: f64,
    /// Database (or schema) name the demo creates.
    pub name: String,
    pub workers: usize,
}

/// How long to wait for a server before falling back to a throwaway cluster.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn run(ctx: &CommandContext, options: DemoOptions) -> Result<Exit, CommandError> {
    let settings = crate::commands::connection_settings(ctx)?;
    let (settings, cluster) = match probe(&settings).await {
        Ok(()) => (settings, None),
        Err(reason) => {
            output::status(&format!(
                "demo: no PostgreSQL at {} ({reason}); starting a throwaway cluster…",
                settings.target()
            ));
            let cluster = tokio::task::spawn_blocking(cluster::Cluster::start)
                .await
                .map_err(|e| CommandError::Other(format!("demo: {e}")))?
                .map_err(|e| CommandError::Other(format!("demo: {e}")))?;
            output::status(&format!(
                "demo: throwaway cluster on 127.0.0.1:{} in {} (removed on exit)",
                cluster.port(),
                cluster.dir().display()
            ));
            let settings = ConnectionSettings::resolve(
                Some(&cluster.dsn()),
                &crate::settings::conn::Env::from_pairs(Vec::<(String, String)>::new()),
            )?;
            (settings, Some(cluster))
        }
    };

    let place = place::prepare(&settings, &options.name).await?;
    output::status(&format!("demo: {}", place.describe()));
    let result = run_in(ctx, &options, &place).await;
    if options.keep {
        output::status(&format!("demo: kept {} (--keep)", place.describe()));
        if let Some(c) = cluster {
            c.keep();
        }
    } else if let Err(e) = place.remove().await {
        output::warning(&format!("demo: could not remove {}: {e}", place.describe()));
    }
    result
}

async fn probe(settings: &ConnectionSettings) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, connect::connect(settings)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.cause().to_string()),
        Err(_) => Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())),
    }
}

async fn run_in(
    ctx: &CommandContext,
    options: &DemoOptions,
    place: &place::Place,
) -> Result<Exit, CommandError> {
    let session = place.session().await?;
    let install = kinds::Install {
        durability: crate::settings::durability::Durability::Durable,
        create_schema: true,
    };
    actions::run(&session, &install, false).await?;

    let console = !options.headless && ctx.interactive();
    if !console {
        // Headless: warnings and errors only; the summary tells the rest.
        crate::worker::log::configure(
            crate::worker::log::Level::Warning,
            crate::worker::log::Format::Text,
        );
    }
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    let mut snapshots: Vec<watch::Receiver<Snapshot>> = Vec::new();
    for n in 0..options.workers.max(1) {
        let mut worker = Worker::new(
            place.names.clone(),
            RunOptions {
                mode: Mode::Continuous,
                batch_size: 10,
                ..RunOptions::default()
            },
        );
        handlers::register(&mut worker, n == 0)
            .map_err(|e| CommandError::Other(format!("demo: {e}")))?;
        snapshots.push(worker.observe());
        stops.push(worker.shutdown_trigger());
        let settings = place.settings.clone();
        tasks.push(tokio::spawn(async move { worker.run(settings).await }));
    }
    let (producer_stop, producer_stopped) = watch::channel(false);
    let producer = tokio::spawn(produce(
        place.session().await?,
        options.rate,
        producer_stopped,
    ));

    let outcome = if console {
        // The workers' log lines go to the console's Worker tab.
        let (lines, logs) = tokio::sync::mpsc::unbounded_channel();
        crate::worker::log::redirect(Some(lines));
        let link = crate::console::WorkerLink {
            snapshot: merged(&snapshots),
            logs,
            shutdown: stops[0].clone(),
            owns_worker: false,
        };
        // A 5-minute window of 5-second buckets: the chart moves from the
        // first minute, where an hour of one-minute buckets shows one spike.
        let start = crate::console::Start {
            tab: crate::console::app::Tab::Stats,
            stats_window: Some(crate::actions::reports::stats::StatsWindow::FiveMinutes),
        };
        let shown = crate::commands::open_console(
            ctx,
            start,
            place.settings.clone(),
            place.names.clone(),
            Some(link),
        )
        .await
        .map(|_| ());
        crate::worker::log::redirect(None);
        // The screen is the shell's again: only problems while stopping.
        crate::worker::log::configure(
            crate::worker::log::Level::Warning,
            crate::worker::log::Format::Text,
        );
        shown
    } else {
        headless(
            options.duration.unwrap_or(Duration::from_secs(30)),
            &snapshots,
        )
        .await
    };

    let _ = producer_stop.send(true);
    let produced = producer.await.unwrap_or(0);
    for stop in &stops {
        stop.request();
    }
    for task in tasks {
        match tokio::time::timeout(Duration::from_secs(15), task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => output::warning(&format!("demo: a worker ended with: {e}")),
            Ok(Err(e)) => output::warning(&format!("demo: a worker task failed: {e}")),
            Err(_) => {
                for stop in &stops {
                    stop.now();
                }
            }
        }
    }
    outcome?;
    if !console {
        summary(&session, produced, &snapshots).await?;
    }
    Ok(Exit::Ok)
}

/// One snapshot for the Worker tab from all demo workers: in-flight jobs
/// and counters added up (state and id are the first worker's).
fn merged(snapshots: &[watch::Receiver<Snapshot>]) -> watch::Receiver<Snapshot> {
    let combine = |all: &[watch::Receiver<Snapshot>]| {
        let mut out = all[0].borrow().clone();
        for other in &all[1..] {
            let s = other.borrow();
            out.in_flight.extend(s.in_flight.iter().cloned());
            out.schedules_fired += s.schedules_fired;
            for (name, c) in &s.entrypoints {
                let total = out.entrypoints.entry(name.clone()).or_default();
                total.successful += c.successful;
                total.exception += c.exception;
                total.failed += c.failed;
                total.canceled += c.canceled;
                total.retried += c.retried;
                total.returned += c.returned;
            }
        }
        out
    };
    let (tx, rx) = watch::channel(combine(snapshots));
    let mut sources = snapshots.to_vec();
    tokio::spawn(async move {
        loop {
            let changes = sources.iter_mut().map(|s| Box::pin(s.changed()));
            let (result, _, _) = futures_util::future::select_all(changes).await;
            if result.is_err() || tx.send(combine(&sources)).is_err() {
                return;
            }
        }
    });
    rx
}

/// Enqueue jobs at `rate` per second in small batches until told to stop.
async fn produce(session: Session, rate: f64, mut stop: watch::Receiver<bool>) -> u64 {
    let tick = Duration::from_millis(100);
    let per_tick = (rate * tick.as_secs_f64()).max(0.0);
    let mut owed = 0.0;
    let mut rng = Rng::seeded();
    let mut produced = 0u64;
    let mut interval = tokio::time::interval(tick);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return produced,
        }
        owed += per_tick;
        let n = owed.floor() as usize;
        owed -= n as f64;
        if n == 0 {
            continue;
        }
        let jobs: Vec<JobSpec> = (0..n as u64)
            .map(|i| handlers::job(&mut rng, produced + i))
            .collect();
        let enqueue = kinds::Enqueue {
            jobs,
            on_conflict: Conflict::Skip,
        };
        match actions::run(&session, &enqueue, false).await {
            Ok(_) => produced += n as u64,
            Err(e) => tracing::warn!("demo producer: {e}"),
        }
    }
}

async fn headless(
    duration: Duration,
    snapshots: &[watch::Receiver<Snapshot>],
) -> Result<(), CommandError> {
    let mut stop = crate::db::signal::Signals::interrupt_and_terminate()
        .map_err(|e| CommandError::Other(e.to_string()))?;
    let end = tokio::time::Instant::now() + duration;
    let mut report = tokio::time::interval(Duration::from_secs(5));
    report.tick().await;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end) => return Ok(()),
            _ = stop.recv() => return Ok(()),
            _ = report.tick() => {
                let (done, running) = snapshots.iter().fold((0u64, 0usize), |(d, r), s| {
                    let s = s.borrow();
                    let done: u64 = s.entrypoints.values().map(|c| c.successful + c.exception + c.failed + c.canceled).sum();
                    (d + done, r + s.in_flight.len())
                });
                output::status(&format!(
                    "demo: {} finished, {running} running",
                    plural(done as usize, "job")
                ));
            }
        }
    }
}

async fn summary(
    session: &Session,
    produced: u64,
    snapshots: &[watch::Receiver<Snapshot>],
) -> Result<(), CommandError> {
    let n = &session.names;
    let sql = format!(
        "SELECT entrypoint, status::text, count(*) FROM {} GROUP BY 1, 2 ORDER BY 1, 2",
        n.qualify(&n.queue_table_log)
    );
    let rows = session
        .client()
        .query(&sql, &[])
        .await
        .map_err(CommandError::db("demo summary"))?;
    let mut table: std::collections::BTreeMap<String, [i64; 5]> = Default::default();
    for r in &rows {
        let (ep, status, count): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
        let slot = match status.as_str() {
            "queued" => 0,
            "successful" => 1,
            "exception" => 2,
            "failed" => 3,
            "canceled" => 4,
            _ => continue,
        };
        table.entry(ep).or_default()[slot] += count;
    }
    let retried: u64 = snapshots
        .iter()
        .map(|s| {
            s.borrow()
                .entrypoints
                .values()
                .map(|c| c.retried)
                .sum::<u64>()
        })
        .sum();
    let fired: u64 = snapshots.iter().map(|s| s.borrow().schedules_fired).sum();
    let mut out = format!(
        "Demo summary: {} enqueued by the producer, {}, {}\n",
        plural(produced as usize, "job"),
        plural(retried as usize, "retry"),
        plural(fired as usize, "schedule fire")
    );
    let mut rows = Vec::new();
    let mut totals = [0i64; 5];
    for (ep, counts) in &table {
        let mut row = vec![ep.clone()];
        for (i, c) in counts.iter().enumerate() {
            totals[i] += c;
            row.push(c.to_string());
        }
        rows.push(row);
    }
    let mut row = vec!["total".to_string()];
    row.extend(totals.iter().map(i64::to_string));
    rows.push(row);
    out.push_str(&output::table(
        &[
            "entrypoint",
            "enqueued",
            "successful",
            "exception",
            "failed (held)",
            "canceled",
        ],
        rows,
    ));
    out.push('\n');
    output::stdout(&out);
    Ok(())
}
