//! `pgq alter-durability`: switch the tables' persistence in one transaction.

use std::time::Duration;

use crate::actions::preview::{Preview, dry_run, rewrite_bytes};
use crate::actions::schema::{self, DurabilitySet};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::output::format::human_bytes;
use crate::output::plural;
use crate::settings::durability::Durability;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct SetDurability {
    pub level: Durability,
    /// Give up when a table lock is not granted in time (None: wait forever).
    pub lock_timeout: Option<Duration>,
}

impl Act for SetDurability {
    type Output = DurabilitySet;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        SetDurability {
            level: Durability::Volatile,
            lock_timeout: Some(Duration::from_secs(2)),
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        // The command's 0 means "wait forever", as None does here.
        let seconds = self.lock_timeout.map_or(0.0, |t| t.as_secs_f64());
        pgq(
            names,
            &format!("alter-durability {} --lock-timeout {seconds}", self.level),
        )
    }

    fn outcome_text(&self, out: &DurabilitySet) -> String {
        format!(
            "switched {} to {}",
            crate::output::plural(out.changes.len(), "table"),
            out.level
        )
    }

    async fn perform(
        &self,
        session: &Session,
        dry_run: bool,
    ) -> Result<DurabilitySet, ActionError> {
        schema::set_durability(session, self.level, self.lock_timeout, dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let command_line = self.command_line(&session.names);
        let (planned, statements) = dry_run(session, self).await?;
        let level = self.level;
        if statements.is_empty() {
            let mut p = Preview::new(
                format!("Every table is already {level}."),
                Vec::new(),
                command_line,
            );
            p.nothing_to_do = true;
            return Ok(p);
        }
        let tables: Vec<String> = planned.changes.iter().map(|c| c.table.clone()).collect();
        let bytes = rewrite_bytes(session, &tables).await?;
        let mut p = Preview::new(
            format!(
                "Switch {} to {level} ({})?",
                plural(planned.changes.len(), "table"),
                tables.join(", ")
            ),
            statements,
            command_line,
        );
        p.warning = Some(format!(
            "Each ALTER TABLE rewrites the table under an ACCESS EXCLUSIVE lock ({} to rewrite): \
             enqueue and dequeue wait meanwhile. The lock wait is bounded by lock_timeout; \
             on any error no table changes.",
            human_bytes(bytes)
        ));
        Ok(p)
    }
}
