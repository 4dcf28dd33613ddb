//! Reading the queue's series for the metrics endpoint: one connection,
//! reopened after a failure, and one collection at a time shared by every
//! scrape that arrives while it runs (no thundering herd on the database).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::actions::kinds::{MissingTables, QueueMetrics};
use crate::actions::reports::latency::{self, LatencyReport};
use crate::actions::reports::metrics::MetricsReport;
use crate::actions::{self, Session};
use crate::db::connect;
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;

/// How long connecting may take before a scrape answers 503.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one collection may take (the statements also carry a timeout).
const COLLECT_TIMEOUT: Duration = Duration::from_secs(15);

/// One finished collection: the report and how long it took, or a one-line
/// reason why the database could not be read.
pub type Collected = Result<(Arc<MetricsReport>, Duration), Arc<str>>;

pub struct Collector {
    settings: ConnectionSettings,
    names: ObjectNames,
    action: QueueMetrics,
    /// The open session; `None` until the first scrape and after a failure.
    session: tokio::sync::Mutex<Option<Session>>,
    /// The collection in progress; later scrapes await it instead of
    /// starting another.
    in_flight: Mutex<Option<Shared<BoxFuture<'static, Collected>>>>,
    collections: AtomicU64,
    /// The last latency percentiles and when they were computed: served
    /// until `latency::refresh_every` of the window has passed, since their
    /// statement costs far more than the rest of a collection.
    latency: Mutex<Option<(Instant, LatencyReport)>>,
}

impl Collector {
    pub fn new(settings: ConnectionSettings, names: ObjectNames, action: QueueMetrics) -> Self {
        Collector {
            settings,
            names,
            action,
            session: tokio::sync::Mutex::new(None),
            in_flight: Mutex::new(None),
            collections: AtomicU64::new(0),
            latency: Mutex::new(None),
        }
    }

    /// Collections started so far (exposed as `pgq_metrics_collections_total`).
    pub fn collections(&self) -> u64 {
        self.collections.load(Ordering::Relaxed)
    }

    /// The current collection's result, starting one if none is running.
    pub async fn scrape(self: &Arc<Self>) -> Collected {
        let shared = {
            let mut slot = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            match slot.as_ref() {
                Some(running) if running.peek().is_none() => running.clone(),
                _ => {
                    // A task of its own: a scraper that hangs up does not
                    // abort the collection the others are waiting for.
                    let me = self.clone();
                    let task = tokio::spawn(async move { me.collect().await });
                    let shared = async move {
                        task.await
                            .unwrap_or_else(|_| Err(Arc::from("the metrics collection failed")))
                    }
                    .boxed()
                    .shared();
                    *slot = Some(shared.clone());
                    shared
                }
            }
        };
        shared.await
    }

    async fn collect(&self) -> Collected {
        self.collections.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let cached = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let fresh = cached
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < latency::refresh_every(self.action.window));
        let action = QueueMetrics {
            latency: !fresh,
            ..self.action.clone()
        };
        let mut report = self
            .with_session(async |session| actions::run(session, &action, false).await)
            .await?;
        match &report.latency {
            Some(computed) => {
                *self.latency.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((started, computed.clone()));
            }
            None => report.latency = cached.map(|(_, l)| l),
        }
        Ok((Arc::new(report), started.elapsed()))
    }

    /// `Ok` when the database answers and the installation's tables exist.
    pub async fn ready(&self) -> Result<(), Arc<str>> {
        let missing = self
            .with_session(async |session| actions::run(session, &MissingTables, false).await)
            .await?;
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Arc::from(format!(
                "PgQueuer is not installed: missing {}",
                missing.join(", ")
            )))
        }
    }

    /// Run `work` on the open session, connecting first when there is none.
    /// Any failure closes the session, so the next call starts afresh on a
    /// new connection (the database may have restarted meanwhile).
    async fn with_session<T>(
        &self,
        work: impl AsyncFnOnce(&Session) -> Result<T, actions::ActionError>,
    ) -> Result<T, Arc<str>> {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_none_or(|s| s.client().is_closed()) {
            *slot = None;
            let conn = tokio::time::timeout(CONNECT_TIMEOUT, connect::connect(&self.settings))
                .await
                .map_err(|_| unavailable("connecting timed out"))?
                .map_err(|e| unavailable(&e.to_string()))?;
            *slot = Some(Session {
                conn,
                names: self.names.clone(),
                target: self.settings.target(),
                read_only: true,
                audit: None,
            });
        }
        let Some(session) = slot.as_ref() else {
            return Err(unavailable("no connection"));
        };
        let result = match tokio::time::timeout(COLLECT_TIMEOUT, work(session)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(unavailable(&e.to_string())),
            Err(_) => Err(unavailable("the database did not answer in time")),
        };
        if result.is_err() {
            *slot = None;
        }
        result
    }
}

/// A reason for a 503: one line (server messages can span several).
fn unavailable(reason: &str) -> Arc<str> {
    let line: Vec<&str> = reason.split_whitespace().collect();
    Arc::from(format!("database unavailable: {}", line.join(" ")))
}
