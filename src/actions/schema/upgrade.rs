//! `pgq upgrade`: converge any earlier schema to 1.6.0.

use crate::actions::preview::{Preview, dry_run};
use crate::actions::schema::{self, Upgraded};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::durability::Durability;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Upgrade {
    /// Only applies to tables that must be created; existing tables keep
    /// their persistence. The command reads it from the environment.
    pub durability: Durability,
    pub widen_id: bool,
}

impl Act for Upgrade {
    type Output = Upgraded;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        Upgrade {
            durability: Durability::Durable,
            widen_id: true,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let no_widen = if self.widen_id { "" } else { " --no-widen-id" };
        let line = pgq(names, &format!("upgrade{no_widen}"));
        // The command reads the durability of tables it creates from here.
        if self.durability == Durability::default() {
            line
        } else {
            format!("PGQUEUER_DURABILITY={} {line}", self.durability)
        }
    }

    fn outcome_text(&self, out: &Upgraded) -> String {
        format!(
            "upgraded ({})",
            crate::output::plural(out.plan.steps.len(), "statement")
        )
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Upgraded, ActionError> {
        schema::upgrade(session, self.durability, self.widen_id, dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let (_, statements) = dry_run(session, self).await?;
        Ok(Preview::of_dry_run(
            self.command_line(&session.names),
            statements,
        ))
    }
}
