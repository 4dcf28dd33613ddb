//! Which of the installation's four tables do not exist: the readiness
//! probe's "schema present" (`/readyz`). No pgq command prints this; its
//! equivalent is the query.

use crate::actions::reports::metrics;
use crate::actions::{Act, ActionError, Session, psql};
use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct MissingTables;

impl Act for MissingTables {
    type Output = Vec<String>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        MissingTables
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        psql(&[Statement::MissingTables.render(names)])
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<String>, ActionError> {
        metrics::missing_tables(session).await
    }
}
