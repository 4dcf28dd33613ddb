//! `pgq metrics`: Prometheus metrics and health probes for a PGQueuer
//! installation, read-only; `pgq run --metrics-listen` serves the same
//! endpoints with the worker's own series added.
//!
//! Files: `collector` (the database side: one connection, single-flight
//! scrapes), `exposition` (the queue's series as Prometheus text), `server`
//! (the HTTP endpoints).

mod collector;
mod exposition;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use collector::Collector;
pub use server::WorkerLink;

use super::{CommandContext, CommandError, connection_settings, object_names};
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

    /// Serve until `stop` resolves.
    pub async fn serve(
        self,
        worker: Option<WorkerLink>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), CommandError> {
        server::serve(self.listener, self.collector, self.action, worker, stop)
            .await
            .map_err(|e| CommandError::Other(format!("the metrics server failed: {e}")))
    }
}

pub(super) async fn run(
    ctx: &CommandContext,
    options: &MetricsOptions,
) -> Result<Exit, CommandError> {
    let bound = Bound::new(ctx, options).await?;
    crate::output::status(&format!(
        "Serving metrics on http://{}/metrics (also /healthz, /readyz); Ctrl-C stops",
        bound.address()
    ));
    let mut signals = crate::db::signal::Signals::interrupt_and_terminate()
        .map_err(|e| CommandError::Other(e.to_string()))?;
    bound
        .serve(None, async move {
            signals.recv().await;
        })
        .await?;
    Ok(Exit::Ok)
}
