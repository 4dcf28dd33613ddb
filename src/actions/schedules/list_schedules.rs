//! `pgq schedules`: the schedules table with each row's next fire times.

use crate::actions::schedules::{self, ScheduleListing};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct ListSchedules;

impl Act for ListSchedules {
    type Output = ScheduleListing;
    const MUTATES: bool = false;

    fn sample() -> Self {
        ListSchedules
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, "schedules")
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<ScheduleListing, ActionError> {
        schedules::list(session).await
    }
}
