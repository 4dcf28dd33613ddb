//! `pgq delete`: remove held (failed) jobs, logged `deleted`.
//! Everything but the kind of removal lives in `actions::job_removal`.

use crate::actions::job_removal::{self, Bound, Removal, Removed};
use crate::actions::job_selection::JobSelection;
use crate::actions::preview::Preview;
use crate::actions::{Act, ActionError, Session};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteJobs {
    pub selection: JobSelection,
    /// What the operator confirmed (a filter's count): acted within.
    pub bound: Option<Bound>,
}

impl Act for DeleteJobs {
    type Output = Removed;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        DeleteJobs {
            selection: JobSelection::Ids(vec![1, 2]),
            bound: None,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        job_removal::command_line(names, Removal::Delete, &self.selection)
    }

    fn outcome_text(&self, removed: &Removed) -> String {
        removed.summary()
    }

    /// By filter it goes batch by batch through what may be millions of jobs.
    fn long_running(&self) -> bool {
        !self.selection.is_ids()
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Removed, ActionError> {
        job_removal::remove(
            session,
            Removal::Delete,
            &self.selection,
            self.bound,
            dry_run,
            &mut |_| true,
        )
        .await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let line = self.command_line(&session.names);
        job_removal::preview(session, Removal::Delete, &self.selection, line).await
    }
}
