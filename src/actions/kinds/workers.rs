//! `pgq workers`: the queue managers holding picked jobs, with their jobs.

use std::time::Duration;

use crate::actions::reports::workers::{self, WorkerRow};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Workers {
    /// A held job whose heartbeat is older than this is stale.
    pub stale_after: Duration,
    /// Jobs listed per worker (the count covers all of them).
    pub job_limit: u32,
}

impl Act for Workers {
    type Output = Vec<WorkerRow>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Workers {
            stale_after: workers::STALE_AFTER,
            job_limit: 20,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let seconds = self.stale_after.as_secs_f64();
        pgq(
            names,
            &format!("workers -t {seconds} --jobs {}", self.job_limit),
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<WorkerRow>, ActionError> {
        workers::workers(session, self.stale_after, self.job_limit).await
    }
}
