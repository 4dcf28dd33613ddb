//! Persistence, size and estimated rows of the four tables (console
//! Durability tab). No pgq command prints these: its equivalent is the query.

use crate::actions::retention::prune::{BACKLOG_COUNT_LIMIT, retention_info_sql};
use crate::actions::schema::tables::{self, TablesReport, table_info_sql, table_names};
use crate::actions::{Act, ActionError, Session, bind, psql};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo;

impl Act for TableInfo {
    type Output = TablesReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        TableInfo
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let tables: Vec<String> = table_names(names)
            .iter()
            .map(|t| format!("'{t}'"))
            .collect();
        let tables = format!("ARRAY[{}]", tables.join(", "));
        psql(&[
            bind(&table_info_sql(names), &[tables]),
            bind(
                &retention_info_sql(names),
                &[(BACKLOG_COUNT_LIMIT + 1).to_string()],
            ),
        ])
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<TablesReport, ActionError> {
        tables::table_info(session).await
    }
}
