//! Held (`failed`) jobs with their last traceback (console Held tab).
//! `pgq failed` lists the jobs but not the tracebacks: the equivalent is the query.

use crate::actions::schema::tables::{self, HeldJob, held_jobs_sql};
use crate::actions::{Act, ActionError, Session, bind, psql};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct HeldJobs {
    pub limit: u32,
}

impl Act for HeldJobs {
    type Output = Vec<HeldJob>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        HeldJobs { limit: 5 }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        psql(&[bind(&held_jobs_sql(names), &[self.limit.to_string()])])
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<HeldJob>, ActionError> {
        tables::held_jobs(session, self.limit).await
    }
}
