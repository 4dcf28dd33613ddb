//! `pgq schedules --postpone`: next_run to a given instant (`--until`).

use crate::actions::preview::Preview;
use crate::actions::schedules::ScheduleRef;
use crate::actions::schedules::timing::{self, Retimed, Timing, command_args};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct PostponeSchedules {
    pub refs: Vec<ScheduleRef>,
    /// The new next_run.
    pub until: chrono::DateTime<chrono::Utc>,
}

impl PostponeSchedules {
    fn timing(&self) -> Timing {
        Timing::Postpone(self.until)
    }
}

impl Act for PostponeSchedules {
    type Output = Retimed;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        PostponeSchedules {
            refs: vec![ScheduleRef::Entrypoint("nightly".into())],
            until: chrono::DateTime::from_timestamp(4_102_444_800, 0).unwrap_or_default(),
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, &command_args(&self.refs, self.timing()))
    }

    fn outcome_text(&self, retimed: &Retimed) -> String {
        timing::sentence(self.timing(), retimed)
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Retimed, ActionError> {
        timing::retime(session, &self.refs, self.timing(), dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let line = self.command_line(&session.names);
        timing::preview(session, &self.refs, self.timing(), line).await
    }
}
