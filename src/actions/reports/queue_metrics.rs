//! The queue's series for `pgq metrics` (and `pgq run --metrics-listen`):
//! PGQueuer's queue and log counts plus what operators alert on, read in
//! one READ ONLY transaction.

use std::time::Duration;

use crate::actions::reports::metrics::{self, MetricsReport};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct QueueMetrics {
    /// Log transitions are counted over this window (PGQueuer's `last`).
    pub window: Duration,
    /// A picked job whose heartbeat is older is stale (as `pgq stale -t`).
    pub stale_after: Duration,
    /// Also compute the latency percentiles of the window (the costly part:
    /// a scraper paces it with `latency::refresh_every`).
    pub latency: bool,
}

impl Act for QueueMetrics {
    type Output = MetricsReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        QueueMetrics {
            window: Duration::from_secs(300),
            stale_after: Duration::from_secs(300),
            latency: true,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(
            names,
            &format!(
                "metrics --window {}s --stale-after {}",
                self.window.as_secs_f64(),
                self.stale_after.as_secs_f64()
            ),
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<MetricsReport, ActionError> {
        metrics::collect(session, self.window, self.stale_after, self.latency).await
    }
}
