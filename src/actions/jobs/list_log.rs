//! `pgq log`: the newest rows of the log table, filtered.

use crate::actions::jobs::enqueue::shell_quote;
use crate::actions::reports::activity::{self, LogQuery, LogRow};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct ListLog(pub LogQuery);

impl Act for ListLog {
    type Output = Vec<LogRow>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        ListLog(LogQuery {
            limit: 5,
            ..Default::default()
        })
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let q = &self.0;
        let mut line = format!("log -n {}", q.limit);
        for entrypoint in &q.entrypoints {
            line.push_str(&format!(" --entrypoint {}", shell_quote(entrypoint)));
        }
        if let Some(status) = q.status {
            line.push_str(&format!(" --status {}", status.label()));
        }
        if let Some(id) = q.job_id {
            line.push_str(&format!(" --job {id}"));
        }
        pgq(names, &line)
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<LogRow>, ActionError> {
        activity::log_rows(session, &self.0).await
    }
}
