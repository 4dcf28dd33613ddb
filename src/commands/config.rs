//! `pgq config path|check`.

use super::CommandError;
use crate::cli::ConfigCommand;
use crate::output::{self, Exit};
use crate::settings::config::{self, Config};

pub(super) fn run(command: &ConfigCommand) -> Result<Exit, CommandError> {
    match command {
        ConfigCommand::Path => {
            let show = |p: Option<std::path::PathBuf>| {
                p.map_or_else(
                    || "(no home directory)".to_string(),
                    |p| p.display().to_string(),
                )
            };
            output::stdout(&format!("config: {}\n", show(config::config_path())));
            output::stdout(&format!("log:    {}\n", show(config::log_path())));
            Ok(Exit::Ok)
        }
        ConfigCommand::Check => {
            let config = Config::load().map_err(|e| CommandError::Other(e.to_string()))?;
            if config.loaded {
                output::stdout(&format!("{}: OK\n", config.path.display()));
            } else {
                output::stdout(&format!(
                    "{}: not found; using the defaults\n",
                    config.path.display()
                ));
            }
            Ok(Exit::Ok)
        }
    }
}
