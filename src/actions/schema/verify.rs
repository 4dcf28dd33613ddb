//! `pgq verify`: compare the installation with the 1.6.0 declaration.

use crate::actions::schema::{self, VerifyReport};
use crate::actions::{Act, ActionError, Expect, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Verify {
    pub expect: Expect,
    pub strict: bool,
}

impl Act for Verify {
    type Output = VerifyReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Verify {
            expect: Expect::Present,
            strict: true,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let expect = match self.expect {
            Expect::Present => "present",
            Expect::Absent => "absent",
        };
        let strict = if self.strict { " --strict" } else { "" };
        pgq(names, &format!("verify --expect {expect}{strict}"))
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<VerifyReport, ActionError> {
        schema::verify(session, self.expect, self.strict).await
    }
}
