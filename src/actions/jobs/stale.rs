//! `pgq stale`: picked jobs whose heartbeat is older than a threshold.

use std::time::Duration;

use crate::actions::reports::{self, StaleJob};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    pub threshold: Duration,
    pub limit: u32,
}

impl Act for Stale {
    type Output = Vec<StaleJob>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Stale {
            threshold: Duration::from_secs(1),
            limit: 5,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let seconds = self.threshold.as_secs_f64();
        pgq(names, &format!("stale -t {seconds} -n {}", self.limit))
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<StaleJob>, ActionError> {
        reports::stale(session, self.threshold, self.limit).await
    }
}
