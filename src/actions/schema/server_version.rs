//! The server's version string (console status bar).

use crate::actions::{Act, ActionError, Session, psql};
use crate::settings::names::ObjectNames;

const SQL: &str = "SELECT current_setting('server_version')";

#[derive(Debug, Clone, PartialEq)]
pub struct ServerVersion;

impl Act for ServerVersion {
    type Output = String;
    const MUTATES: bool = false;

    fn sample() -> Self {
        ServerVersion
    }

    fn command_line(&self, _: &ObjectNames) -> String {
        psql(&[SQL.to_string()])
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<String, ActionError> {
        let versions: Vec<String> = session
            .read_sql(SQL, &[], "reading the server version")
            .await?;
        versions
            .into_iter()
            .next()
            .ok_or_else(|| ActionError::Selection("the server reported no version".into()))
    }
}
