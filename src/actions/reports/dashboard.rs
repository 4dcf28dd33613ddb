//! `pgq dashboard`: statistics buckets (aggregated plus not-yet-aggregated
//! log rows) and the per-entrypoint summary; reads only.

use crate::actions::reports::{self, DashboardReport};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub limit: u32,
}

impl Act for Dashboard {
    type Output = DashboardReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Dashboard { limit: 5 }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, &format!("dashboard -n {}", self.limit))
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<DashboardReport, ActionError> {
        reports::dashboard(session, self.limit).await
    }
}
