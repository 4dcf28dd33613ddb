//! The HTTP endpoints: `/metrics`, `/healthz` and `/readyz`, routed by axum
//! (tokio's own HTTP framework on hyper: no second runtime, and one small
//! router instead of hand-written HTTP parsing); `connections` accepts and
//! limits the connections they are served on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::collector::Collector;
use super::connections::{self, Limits, Stop};
use super::exposition::{self, CONTENT_TYPE};
use crate::actions::kinds::QueueMetrics;
use crate::worker::metrics::{WorkerMetrics, state_label};
use crate::worker::{Snapshot, WorkerState};

/// How often recorded worker histogram samples are folded into buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// A worker served beside the queue's series (`pgq run --metrics-listen`).
#[derive(Clone)]
pub struct WorkerLink {
    pub metrics: Arc<WorkerMetrics>,
    pub snapshot: watch::Receiver<Snapshot>,
}

#[derive(Clone)]
struct Endpoints {
    collector: Arc<Collector>,
    action: QueueMetrics,
    worker: Option<WorkerLink>,
}

/// Bind `addr` (port 0 picks a free port); the error names the address.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// Serve until `stop` leaves [`Stop::Serving`]; the connections then close
/// within `limits.shutdown_grace` (at once for [`Stop::Now`]).
pub async fn serve(
    listener: TcpListener,
    limits: Limits,
    collector: Arc<Collector>,
    action: QueueMetrics,
    worker: Option<WorkerLink>,
    stop: watch::Receiver<Stop>,
) {
    let upkeep = worker.as_ref().map(|w| {
        let metrics = w.metrics.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(UPKEEP_EVERY).await;
                metrics.upkeep();
            }
        })
    });
    let endpoints = Endpoints {
        collector,
        action,
        worker,
    };
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(endpoints);
    connections::serve(listener, app, limits, stop).await;
    if let Some(task) = upkeep {
        task.abort();
    }
}

/// Always 200, as exporters answer: a database that cannot be read leaves
/// the queue series out and sets `pgq_queue_metrics_up` to 0, while a
/// worker's own series are served regardless (a non-200 would make
/// Prometheus drop them too, just when they matter).
async fn metrics(State(e): State<Endpoints>) -> Response {
    let scraped = e.collector.scrape().await;
    let queue = match &scraped {
        Ok((report, took)) => Ok((&**report, *took)),
        Err(reason) => Err(&**reason),
    };
    let mut body = exposition::render(
        queue,
        e.collector.collections(),
        e.action.window,
        e.action.stale_after,
    );
    if let Some(w) = &e.worker {
        // Rendered under the borrow (nothing awaits): no copy of every
        // in-flight job per scrape.
        body.push_str(&w.metrics.render(&w.snapshot.borrow()));
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok")
}

async fn readyz(State(e): State<Endpoints>) -> Response {
    // A worker is ready while it runs: its own connection is up and it
    // checked the schema when it connected. Stopping or reconnecting, an
    // orchestrator should stop routing to it.
    if let Some(w) = &e.worker {
        let state = w.snapshot.borrow().state;
        return match state {
            WorkerState::Running => text(StatusCode::OK, "ready"),
            other => unavailable(&format!("worker is {}", state_label(other))),
        };
    }
    match e.collector.ready().await {
        Ok(()) => text(StatusCode::OK, "ready"),
        Err(reason) => unavailable(&reason),
    }
}

fn unavailable(reason: &str) -> Response {
    text(StatusCode::SERVICE_UNAVAILABLE, reason)
}

fn text(status: StatusCode, line: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{line}\n"),
    )
        .into_response()
}
