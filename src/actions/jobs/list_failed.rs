//! `pgq failed`: held (`failed`) jobs, newest first.

use crate::actions::reports::{self, FailedJob};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct ListFailed {
    pub limit: u32,
}

impl Act for ListFailed {
    type Output = Vec<FailedJob>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        ListFailed { limit: 5 }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, &format!("failed -n {}", self.limit))
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<FailedJob>, ActionError> {
        reports::failed(session, self.limit).await
    }
}
