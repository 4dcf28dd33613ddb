//! `pgq backlog`: queued jobs per entrypoint with their ages.

use crate::actions::reports::{self, BacklogRow};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Backlog;

impl Act for Backlog {
    type Output = Vec<BacklogRow>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Backlog
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, "backlog")
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<BacklogRow>, ActionError> {
        reports::backlog(session).await
    }
}
