//! Accepting and closing the metrics server's connections.
//!
//! `axum::serve` keeps a connection for as long as the client does and has
//! no cap, so slow or half-open clients on a public port could take every
//! file descriptor of a worker (its command jobs then fail to start) and
//! keep a stopped worker from exiting. This loop serves the same Router on
//! hyper connections with limits:
//!
//! - a request's head must arrive within `header_read_timeout`; hyper starts
//!   that clock again when a kept-alive connection waits for its next
//!   request, so it is the idle timeout too;
//! - a connection is asked to close after `lifetime` (its request in flight
//!   finishes, within `close_grace`);
//! - at most `max_connections` are open. At the cap the oldest connection
//!   with no request in flight is closed for the newcomer, so a probe that
//!   sends its request at once is answered however many idle or half-open
//!   clients there are; only when every connection is busy does the
//!   newcomer wait (in the listen backlog) for one to finish;
//! - on stop, idle connections close at once, requests in flight get
//!   `shutdown_grace`, then whatever is left is dropped; `Stop::Now` drops
//!   everything at once.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Where a server is in its life; only ever moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    Serving,
    /// Stop accepting; let requests in flight finish within the grace.
    Gracefully,
    /// Drop every connection now (a second stop signal).
    Now,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub lifetime: Duration,
    /// How long a connection asked to close may finish its request.
    pub close_grace: Duration,
    /// How long a stopping server waits for requests in flight.
    pub shutdown_grace: Duration,
    pub max_connections: usize,
}

/// The most connections a server holds, whatever the open-file limit.
const MAX_CONNECTIONS: usize = 128;
/// The fewest, however low the limit (a probe and a scraper must fit).
const MIN_CONNECTIONS: usize = 4;
/// After an accept error (such as running out of descriptors) the loop
/// pauses instead of spinning on the error.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

impl Limits {
    /// The limits for a process whose soft open-file limit is
    /// `open_file_limit`: connections may take a quarter of it (at most
    /// 128), the rest stays for jobs and database connections.
    pub fn for_open_file_limit(open_file_limit: u64) -> Limits {
        let quarter = usize::try_from(open_file_limit / 4).unwrap_or(usize::MAX);
        Limits {
            header_read_timeout: Duration::from_secs(5),
            lifetime: Duration::from_secs(60),
            // Longer than the slowest scrape (connect 5 s + collect 15 s).
            close_grace: Duration::from_secs(25),
            shutdown_grace: Duration::from_secs(3),
            max_connections: quarter.clamp(MIN_CONNECTIONS, MAX_CONNECTIONS),
        }
    }
}

/// Serve `app` on `listener` until `stop` leaves [`Stop::Serving`], then
/// close the connections as described in the module comment.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<Stop>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let open = Arc::new(OpenConnections::default());
    let mut tasks = JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        let accepted = tokio::select! {
            biased;
            _ = reached(&mut stop, Stop::Gracefully) => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!("metrics server: accept failed: {e}");
                tokio::select! {
                    _ = reached(&mut stop, Stop::Gracefully) => break,
                    _ = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                }
            }
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                open.close_oldest_idle();
                let permit = tokio::select! {
                    biased;
                    _ = reached(&mut stop, Stop::Gracefully) => break,
                    permit = permits.clone().acquire_owned() => permit,
                };
                match permit {
                    Ok(permit) => permit,
                    Err(_) => break, // the semaphore is never closed
                }
            }
        };
        let entry = open.register();
        tasks.spawn(connection(
            stream,
            app.clone(),
            limits,
            entry,
            stop.clone(),
            permit,
        ));
    }
    // Closed listener: new connections are refused rather than left in a
    // backlog nobody reads.
    drop(listener);
    let drained = async { while tasks.join_next().await.is_some() {} };
    tokio::select! {
        _ = tokio::time::timeout(limits.shutdown_grace, drained) => {}
        _ = reached(&mut stop, Stop::Now) => {}
    }
    tasks.shutdown().await;
}

/// Resolves once `stop` is at `at` or beyond; a dropped sender counts as
/// [`Stop::Now`] (nobody is left to say otherwise).
async fn reached(stop: &mut watch::Receiver<Stop>, at: Stop) {
    let _ = stop.wait_for(|s| *s >= at).await;
}

async fn connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    entry: Registered,
    mut stop: watch::Receiver<Stop>,
    _permit: OwnedSemaphorePermit,
) {
    let state = entry.state.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_flight = InFlight::start(&state);
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await;
            drop(in_flight);
            Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        // The connection first: a request already received is served even
        // when the connection was picked to make room meanwhile.
        biased;
        _ = conn.as_mut() => return,
        _ = entry.state.close.notified() => {
            if entry.state.requests.load(Ordering::Acquire) == 0 {
                return;
            }
        }
        _ = reached(&mut stop, Stop::Gracefully) => {}
        _ = tokio::time::sleep(limits.lifetime) => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(limits.close_grace, conn).await;
}

/// The open connections in the order they were accepted, so the oldest idle
/// one can be closed to make room.
#[derive(Default)]
struct OpenConnections {
    by_age: Mutex<BTreeMap<u64, Arc<ConnectionState>>>,
    next: AtomicU64,
}

#[derive(Default)]
struct ConnectionState {
    /// Requests being answered right now.
    requests: AtomicUsize,
    /// Set once the connection was picked to close, so it is picked once.
    closing: AtomicBool,
    close: Notify,
}

impl OpenConnections {
    fn register(self: &Arc<Self>) -> Registered {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(ConnectionState::default());
        self.lock().insert(id, state.clone());
        Registered {
            open: self.clone(),
            id,
            state,
        }
    }

    /// Ask the oldest connection with no request in flight to close; false
    /// when every connection is busy.
    fn close_oldest_idle(&self) -> bool {
        let by_age = self.lock();
        let idle = by_age.values().find(|c| {
            c.requests.load(Ordering::Acquire) == 0 && !c.closing.load(Ordering::Acquire)
        });
        match idle {
            Some(connection) => {
                connection.closing.store(true, Ordering::Release);
                // A stored permit: the task sees it even if it is not
                // waiting yet.
                connection.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<ConnectionState>>> {
        self.by_age.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A connection's place in [`OpenConnections`], left when its task ends.
struct Registered {
    open: Arc<OpenConnections>,
    id: u64,
    state: Arc<ConnectionState>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.open.lock().remove(&self.id);
    }
}

/// A request being answered: its connection is not idle meanwhile.
struct InFlight(Arc<ConnectionState>);

impl InFlight {
    fn start(state: &Arc<ConnectionState>) -> InFlight {
        state.requests.fetch_add(1, Ordering::AcqRel);
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_takes_a_quarter_of_the_open_file_limit_within_bounds() {
        let cap = |n| Limits::for_open_file_limit(n).max_connections;
        assert_eq!(cap(1024), 128);
        assert_eq!(cap(256), 64);
        assert_eq!(cap(8), MIN_CONNECTIONS);
        assert_eq!(cap(u64::MAX), MAX_CONNECTIONS);
    }

    #[test]
    fn the_oldest_idle_connection_is_closed_first_and_busy_ones_never() {
        let open = Arc::new(OpenConnections::default());
        let first = open.register();
        let second = open.register();
        let third = open.register();
        let _busy = InFlight::start(&first.state);
        assert!(open.close_oldest_idle());
        assert!(!first.state.closing.load(Ordering::Acquire));
        assert!(second.state.closing.load(Ordering::Acquire));
        assert!(open.close_oldest_idle());
        assert!(third.state.closing.load(Ordering::Acquire));
        assert!(!open.close_oldest_idle());
        drop(second);
        assert_eq!(open.lock().len(), 2);
    }
}
