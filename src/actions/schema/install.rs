//! `pgq install`: create the PGQueuer 1.6 schema (refuses an existing one).

use crate::actions::preview::{Preview, dry_run};
use crate::actions::schema::{self, Installed};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::durability::Durability;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Install {
    pub durability: Durability,
    pub create_schema: bool,
}

impl Act for Install {
    type Output = Installed;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        Install {
            durability: Durability::Durable,
            create_schema: true,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let no_create = if self.create_schema {
            ""
        } else {
            " --no-create-schema"
        };
        pgq(
            names,
            &format!("install --durability {}{no_create}", self.durability),
        )
    }

    fn outcome_text(&self, out: &Installed) -> String {
        format!(
            "installed ({}, {})",
            out.durability,
            crate::output::plural(out.statements.len(), "statement")
        )
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Installed, ActionError> {
        schema::install(session, self.durability, self.create_schema, dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let (_, statements) = dry_run(session, self).await?;
        Ok(Preview::of_dry_run(
            self.command_line(&session.names),
            statements,
        ))
    }
}
