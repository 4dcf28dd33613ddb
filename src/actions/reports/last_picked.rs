//! When each entrypoint was last picked, from the log (the Workers tab's
//! "last picked" line and `pgq workers --watch`).

use std::time::Duration;

use crate::actions::reports::workers::{self, EntrypointPicked};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct LastPicked {
    /// How far back the log is read.
    pub window: Duration,
}

impl Act for LastPicked {
    type Output = Vec<EntrypointPicked>;
    const MUTATES: bool = false;

    fn sample() -> Self {
        LastPicked {
            window: workers::LAST_PICKED_WINDOW,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        pgq(names, "workers --watch 15s")
    }

    async fn perform(
        &self,
        session: &Session,
        _: bool,
    ) -> Result<Vec<EntrypointPicked>, ActionError> {
        workers::last_picked(session, self.window).await
    }
}
