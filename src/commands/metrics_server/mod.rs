//! The metrics and health server that `pgq metrics` and
//! `pgq run --metrics-listen` both serve (the latter with the worker's own
//! series added): Prometheus metrics and health probes for a PGQueuer
//! installation, read-only.
//!
//! Files: `collector` (the database side: one connection, single-flight
//! scrapes), `exposition` (the queue's series as Prometheus text), `server`
//! (the HTTP endpoints), `connections` (accepting, limiting and closing the
//! connections they are served on).

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
