//! `pgq tables`: each PGQueuer table, present or not, with its persistence,
//! estimated rows, size and autovacuum settings.

use crate::actions::schema::tables::{self, TableObject};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct ListTables;

impl Act for ListTables {
    type Output = Vec<TableObject>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        ListTables
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, "tables")
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Vec<TableObject>, ActionError> {
        tables::table_objects(session).await
    }
}
