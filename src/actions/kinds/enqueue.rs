//! `pgq queue`: insert jobs in one statement (callers chunk large batches).

use crate::actions::jobs::{self, Conflict, EnqueueResult, JobSpec};
use crate::actions::preview::{self, Preview};
use crate::actions::{Act, ActionError, Session};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Enqueue {
    pub jobs: Vec<JobSpec>,
    pub on_conflict: Conflict,
}

impl Act for Enqueue {
    type Output = EnqueueResult;
    const MUTATES: bool = true;
    const DRY_RUN: bool = false;

    fn command_line(&self, names: &ObjectNames) -> String {
        jobs::command_line(names, &self.jobs, self.on_conflict)
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<EnqueueResult, ActionError> {
        jobs::enqueue(session, &self.jobs, self.on_conflict).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        Ok(preview::enqueue(
            session,
            &self.jobs,
            self.on_conflict,
            self.command_line(&session.names),
        ))
    }
}
