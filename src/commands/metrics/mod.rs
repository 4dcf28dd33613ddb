//! `pgq metrics`: Prometheus metrics and health probes for a PGQueuer
//! installation, read-only; `pgq run --metrics-listen` serves the same
//! endpoints with the worker's own series added.
//!
//! Files: `collector` (the database side: one connection, single-flight
//! scrapes), `exposition` (the queue's series as Prometheus text), `server`
//! (the HTTP endpoints), `connections` (accepting, limiting and closing the
//! connections they are served on).

pub(super) mod alert_rules;
mod collector;
mod connections;
mod exposition;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use collector::Collector;
pub use connections::Stop;
pub use server::WorkerLink;

use super::{CommandContext, CommandError, connection_settings, object_names, open_files};
use crate::actions::kinds::QueueMetrics;
use crate::output::Exit;

/// What `pgq metrics` and `pgq run --metrics-listen` serve.
pub struct MetricsOptions {
    pub listen: SocketAddr,
    pub window: Duration,
    pub stale_after: Duration,
}

/// A metrics server bound to its address, ready to serve.
pub struct Bound {
    listener: tokio::net::TcpListener,
    limits: connections::Limits,
    collector: Arc<Collector>,
    action: QueueMetrics,
}

impl Bound {
    /// Resolve the connection and bind the address; nothing connects yet
    /// (the first scrape does).
    pub async fn new(
        ctx: &CommandContext,
        options: &MetricsOptions,
    ) -> Result<Bound, CommandError> {
        let names = object_names(ctx)?;
        let settings = connection_settings(ctx)?;
        let action = QueueMetrics {
            window: options.window,
            stale_after: options.stale_after,
            latency: true,
        };
        let listener = server::bind(options.listen)
            .await
            .map_err(CommandError::Other)?;
        Ok(Bound {
            listener,
            // Sized from the limit the process runs with (raised at start).
            limits: connections::Limits::for_open_file_limit(open_files::soft_limit()),
            collector: Arc::new(Collector::new(settings, names, action.clone())),
            action,
        })
    }

    /// The address actually bound (the port `0` asked for is resolved).
    pub fn address(&self) -> String {
        self.listener
            .local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string())
    }

    /// Serve until `stop` leaves [`Stop::Serving`]: then within a few
    /// seconds ([`Stop::Gracefully`]) or at once ([`Stop::Now`]).
    pub async fn serve(self, worker: Option<WorkerLink>, stop: tokio::sync::watch::Receiver<Stop>) {
        server::serve(
            self.listener,
            self.limits,
            self.collector,
            self.action,
            worker,
            stop,
        )
        .await;
    }
}

pub(super) async fn run(
    ctx: &CommandContext,
    options: &MetricsOptions,
) -> Result<Exit, CommandError> {
    match open_files::raise_to_hard_limit() {
        Ok(limit) => tracing::debug!("{}", limit.describe()),
        Err(e) => tracing::debug!("cannot raise the open-file limit: {e}"),
    }
    let bound = Bound::new(ctx, options).await?;
    crate::output::status(&format!(
        "Serving metrics on http://{}/metrics (also /healthz, /readyz); Ctrl-C stops",
        bound.address()
    ));
    let mut signals = crate::db::signal::Signals::interrupt_and_terminate()
        .map_err(|e| CommandError::Other(e.to_string()))?;
    let (stop, stopped) = tokio::sync::watch::channel(Stop::Serving);
    // The first signal lets requests in flight finish (a few seconds at
    // most), a second drops them.
    let signalled = tokio::spawn(async move {
        signals.recv().await;
        stop.send_replace(Stop::Gracefully);
        signals.recv().await;
        stop.send_replace(Stop::Now);
    });
    bound.serve(None, stopped).await;
    signalled.abort();
    Ok(Exit::Ok)
}

/// `pgq metrics --alert-rules`: the rules for these thresholds (flags, else
/// config.toml's `[check]`), without serving.
pub(super) fn print_alert_rules(
    args: &crate::cli::ThresholdArgs,
    window: Duration,
    stale_after: f64,
) -> Result<Exit, CommandError> {
    let thresholds = super::check::thresholds(args.thresholds(None, None))?;
    let stale_after = Duration::from_secs_f64(stale_after);
    crate::output::stdout_exact(&alert_rules::render(&thresholds, window, stale_after));
    Ok(Exit::Ok)
}
