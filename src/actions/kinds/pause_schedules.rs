//! `pgq schedules --pause`: stop schedules firing (next_run to the far-future sentinel) until resumed.

use crate::actions::schedule_timing::{self, Retimed, Timing, command_args};
use crate::actions::schedules::ScheduleRef;
use crate::actions::preview::Preview;
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct PauseSchedules {
    pub refs: Vec<ScheduleRef>,
}

impl PauseSchedules {
    fn timing(&self) -> Timing {
        Timing::Pause
    }
}

impl Act for PauseSchedules {
    type Output = Retimed;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        PauseSchedules {
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
