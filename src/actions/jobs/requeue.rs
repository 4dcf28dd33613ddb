//! `pgq requeue`: put held jobs back to `queued` with attempts reset.

use crate::actions::jobs::enqueue::{self, Requeued, requeue_sql};
use crate::actions::preview::{Preview, list};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::db::statements::Statement;
use crate::output::plural;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Requeue {
    pub ids: Vec<i64>,
}

impl Act for Requeue {
    type Output = Requeued;
    const MUTATES: bool = true;
    const DRY_RUN: bool = false;

    fn sample() -> Self {
        Requeue { ids: vec![1, 2] }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let ids: Vec<String> = self.ids.iter().map(i64::to_string).collect();
        pgq(names, &format!("requeue {}", ids.join(" ")))
    }

    fn outcome_text(&self, out: &Requeued) -> String {
        let mut text = format!(
            "requeued {} of {}",
            out.requeued.len(),
            plural(out.requested, "job")
        );
        if !out.requeued.is_empty() {
            let ids: Vec<String> = out.requeued.iter().map(i64::to_string).collect();
            text.push_str(&format!(" ({})", ids.join(", ")));
        }
        text
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Requeued, ActionError> {
        enqueue::requeue(session, &self.ids).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let n = &session.names;
        let held: i64 = session
            .read_one(Statement::RequeueCount, &[&self.ids], "counting held jobs")
            .await?;
        let mut p = Preview::new(
            format!(
                "Requeue {} ({})?",
                plural(held as usize, "held job"),
                list(&self.ids)
            ),
            vec![requeue_sql(session)],
            self.command_line(n),
        );
        p.parameters = vec![format!("$1 = {{{}}}", list(&self.ids))];
        p.nothing_to_do = held == 0;
        Ok(p)
    }
}
