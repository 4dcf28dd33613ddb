//! `pgq config path|check`.

use super::CommandError;
use crate::cli::ConfigCommand;
use crate::console::keymap::Keymap;
use crate::output::{self, Exit};
use crate::settings::config::{self, Config, ConfigError};

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
            // Where the audit log goes (config.toml's audit_log when it reads).
            let loaded = Config::load().ok();
            output::stdout(&format!(
                "audit:  {}\n",
                show(crate::settings::audit::audit_path(loaded.as_ref()))
            ));
            Ok(Exit::Ok)
        }
        ConfigCommand::Check => {
            let (config, _keymap) = load().map_err(|e| CommandError::Other(e.to_string()))?;
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

/// config.toml with its `[keymap]` checked against the console's commands.
/// `config check`, `--context` and the console all load it here, so a broken
/// file fails the three the same way.
pub(super) fn load() -> Result<(Config, Keymap), ConfigError> {
    let config = Config::load()?;
    let keymap = keymap(&config)?;
    Ok((config, keymap))
}

fn keymap(config: &Config) -> Result<Keymap, ConfigError> {
    Keymap::with_overrides(&config.keymap).map_err(|message| ConfigError {
        path: config.path.display().to_string(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn keymap_errors_name_the_file_and_key() {
        let config =
            Config::parse("[keymap]\nquit = [\"ctrl-\"]\n", Path::new("config.toml")).unwrap();
        let e = keymap(&config).unwrap_err().to_string();
        assert!(e.starts_with("config.toml: keymap.quit:"), "{e}");
    }
}
