//! `pgq listen`: print NOTIFY events as they arrive (owned by the listen work).

use super::CommandError;
use crate::cli::Cli;
use crate::output::Exit;

pub(super) async fn run(_cli: &Cli, _channel: Option<&str>) -> Result<Exit, CommandError> {
    Err(CommandError::Other("listen is not implemented yet".into()))
}
