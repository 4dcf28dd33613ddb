//! Make schedules due now, so the scheduler that registered them fires them
//! at its next poll. No pgq command does this: its equivalent is the UPDATE.

use crate::actions::preview::{Preview, list};
use crate::actions::schedules::{self, SchedulesDue, run_now_sql};
use crate::actions::{Act, ActionError, Session, bind, psql};
use crate::output::plural;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct RunSchedulesNow {
    pub ids: Vec<i64>,
}

impl Act for RunSchedulesNow {
    type Output = SchedulesDue;
    const MUTATES: bool = true;
    const DRY_RUN: bool = false;

    fn sample() -> Self {
        RunSchedulesNow { ids: vec![1] }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let ids: Vec<String> = self.ids.iter().map(i64::to_string).collect();
        let ids = format!("'{{{}}}'::bigint[]", ids.join(","));
        psql(&[bind(&run_now_sql(names), &[ids])])
    }

    fn outcome_text(&self, out: &SchedulesDue) -> String {
        format!(
            "{} of {} due now",
            out.due.len(),
            crate::output::plural(out.requested, "schedule")
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<SchedulesDue, ActionError> {
        schedules::run_now(session, &self.ids).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let mut p = Preview::new(
            format!(
                "Make {} due now ({})?",
                plural(self.ids.len(), "schedule"),
                list(&self.ids)
            ),
            vec![run_now_sql(&session.names)],
            self.command_line(&session.names),
        );
        p.parameters = vec![format!("$1 = {{{}}}", list(&self.ids))];
        p.warning = Some("The scheduler that registered them fires them at its next poll.".into());
        Ok(p)
    }
}
