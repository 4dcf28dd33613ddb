//! `pgq workers`: the queue managers holding picked jobs.

use crate::actions::reports::{self, WorkerRow};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Workers;

impl Act for Workers {
    type Output = Vec<WorkerRow>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Workers
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, "workers")
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<WorkerRow>, ActionError> {
        reports::workers(session).await
    }
}
