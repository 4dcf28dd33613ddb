//! Execution and wait percentiles per entrypoint over a window, without the
//! per-slice series (one slice), on their own: for a library user and the
//! tests. The metrics endpoint gets them inside `QueueMetrics`, the Stats
//! tab, sliced, inside `QueueStats`.

use std::time::Duration;

use crate::actions::reports::latency::{self, LatencyReport};
use crate::actions::{Act, ActionError, Session, bind, psql};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct LatencyPercentiles {
    pub window: Duration,
}

impl Act for LatencyPercentiles {
    type Output = LatencyReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        LatencyPercentiles {
            window: Duration::from_secs(3_600),
        }
    }

    /// No pgq command prints these numbers: the query itself.
    fn command_line(&self, names: &ObjectNames) -> String {
        let seconds = self.window.as_secs_f64();
        psql(&[bind(
            &latency::percentiles_sql(names),
            &[seconds.to_string(), seconds.to_string(), "1".into()],
        )])
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<LatencyReport, ActionError> {
        latency::percentiles(session, self.window, 1).await
    }
}
