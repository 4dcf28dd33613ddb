//! `pgq size`: each table's rows and bytes, and the queue's counts by status.

use crate::actions::schema::tables::{self, SizeReport};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Size;

impl Act for Size {
    type Output = SizeReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Size
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, "size")
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<SizeReport, ActionError> {
        tables::size(session).await
    }
}
