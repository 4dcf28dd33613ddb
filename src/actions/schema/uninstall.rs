//! `pgq uninstall`: drop the PGQueuer objects (never the schema itself).

use crate::actions::preview::{Preview, dry_run};
use crate::actions::schema::{self, Uninstalled};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Uninstall;

impl Act for Uninstall {
    type Output = Uninstalled;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        Uninstall
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, "uninstall")
    }

    fn outcome_text(&self, out: &Uninstalled) -> String {
        format!(
            "uninstalled ({})",
            crate::output::plural(out.statements.len(), "statement")
        )
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Uninstalled, ActionError> {
        schema::uninstall(session, dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let (_, statements) = dry_run(session, self).await?;
        let mut p = Preview::of_dry_run(self.command_line(&session.names), statements);
        p.warning = Some("Every job, log row, statistic and schedule is deleted.".into());
        Ok(p)
    }
}
