//! `pgq throughput`: finished jobs per entrypoint and status over a window.

use std::time::Duration;

use crate::actions::reports::activity::{self, ThroughputReport};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Throughput {
    pub window: Duration,
}

impl Act for Throughput {
    type Output = ThroughputReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Throughput {
            window: Duration::from_secs(300),
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(
            names,
            &format!("throughput --window {}", self.window.as_secs_f64()),
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<ThroughputReport, ActionError> {
        activity::throughput(session, self.window).await
    }
}
