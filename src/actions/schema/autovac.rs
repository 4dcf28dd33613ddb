//! `pgq autovac`: PGQueuer's autovacuum settings for the queue tables.

use crate::actions::preview::{Preview, dry_run};
use crate::actions::schema::{self, AutovacSet};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Autovac {
    pub rollback: bool,
}

impl Act for Autovac {
    type Output = AutovacSet;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        Autovac { rollback: false }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(
            names,
            if self.rollback {
                "autovac --rollback"
            } else {
                "autovac"
            },
        )
    }

    fn outcome_text(&self, out: &AutovacSet) -> String {
        format!(
            "autovacuum settings {} ({})",
            if out.rollback { "reset" } else { "set" },
            crate::output::plural(out.statements.len(), "statement")
        )
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<AutovacSet, ActionError> {
        schema::autovac(session, self.rollback, dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let (_, statements) = dry_run(session, self).await?;
        Ok(Preview::of_dry_run(
            self.command_line(&session.names),
            statements,
        ))
    }
}
