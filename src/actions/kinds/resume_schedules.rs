//! `pgq schedules --resume`: next_run back to the next fire of the expression from now.

use crate::actions::schedule_timing::{self, Retimed, Timing, command_args};
use crate::actions::schedules::ScheduleRef;
use crate::actions::preview::Preview;
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct ResumeSchedules {
    pub refs: Vec<ScheduleRef>,
}

impl ResumeSchedules {
    fn timing(&self) -> Timing {
        Timing::Resume
    }
}

impl Act for ResumeSchedules {
    type Output = Retimed;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        ResumeSchedules {
            refs: vec![ScheduleRef::Entrypoint("nightly".into())],
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, &command_args(&self.refs, self.timing()))
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Retimed, ActionError> {
        schedule_timing::retime(session, &self.refs, self.timing(), dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let line = self.command_line(&session.names);
        schedule_timing::preview(session, &self.refs, self.timing(), line).await
    }
}
