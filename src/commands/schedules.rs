//! `pgq schedules`: list and remove schedules (owned by the schedules work).

use super::CommandError;
use crate::cli::Cli;
use crate::output::Exit;

pub(super) async fn run(
    _cli: &Cli,
    _remove: &[String],
    _ignore_missing: bool,
) -> Result<Exit, CommandError> {
    Err(CommandError::Other(
        "schedules is not implemented yet".into(),
    ))
}
