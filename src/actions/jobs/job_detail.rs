//! `pgq job ID`: one job's queue row (when still queued, picked or held) and
//! its whole log history.

use crate::actions::jobs::browse::JobDetail;
use crate::actions::reports::why;
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct ShowJob {
    pub id: i64,
    /// The SHA-256 of the payload the caller already shows: an unchanged
    /// payload is then left out of the answer.
    pub known_payload: Option<Vec<u8>>,
}

impl Act for ShowJob {
    type Output = JobDetail;
    const MUTATES: bool = false;

    fn sample() -> Self {
        ShowJob {
            id: 1,
            known_payload: None,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, &format!("job {}", self.id))
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<JobDetail, ActionError> {
        why::detail(session, self.id, self.known_payload.as_deref()).await
    }
}
