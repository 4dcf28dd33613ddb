//! The command context: the global flags and the `--context` entry of
//! config.toml, resolved once per command line in [`super::run`] and handed
//! to every command (instead of the clap struct).

use super::CommandError;
use crate::cli::GlobalArgs;
use crate::settings::config::Context;
use crate::settings::pooler::Pooler;

/// What every command may need besides its own arguments.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub json: bool,
    pub headless: bool,
    pub no_color: bool,
    /// `--read-only` itself; see [`super::read_only`] for the context's say.
    pub read_only_flag: bool,
    /// `--dsn` as typed (PGQUEUER_DSN and PGDSN are read when connecting).
    pub dsn: Option<String>,
    /// Whether `dsn` was typed on the command line: an explicit flag beats a
    /// `--context`, the environment does not.
    pub dsn_on_command_line: bool,
    pub prefix: Option<String>,
    pub schema: Option<String>,
    /// `--pooler` / PGQ_POOLER; see [`super::connection_settings`] for the context's say.
    pub pooler: Option<Pooler>,
    /// `--listen-dsn` / PGQ_LISTEN_DSN.
    pub listen_dsn: Option<String>,
    /// `--context` as typed (named in the audit log).
    pub context_name: Option<String>,
    /// The `--context` entry (`None` without `--context`). A broken config
    /// file or an unknown name is kept, not reported here: only commands that
    /// use the entry fail on it, so `pgq --context x completions bash` works.
    entry: Result<Option<Context>, String>,
}

impl CommandContext {
    /// Resolve the global flags; config.toml is read only for `--context`.
    pub fn resolve(global: GlobalArgs) -> CommandContext {
        let entry = match global.context.as_deref() {
            None => Ok(None),
            Some(name) => super::config::load()
                .map_err(|e| e.to_string())
                .and_then(|(config, _keymap)| config.context(name).cloned().map(Some)),
        };
        CommandContext {
            json: global.json,
            headless: global.headless,
            no_color: global.no_color,
            read_only_flag: global.read_only,
            dsn: global.dsn,
            dsn_on_command_line: global.dsn_on_command_line,
            prefix: global.prefix,
            schema: global.schema,
            pooler: global.pooler,
            listen_dsn: global.listen_dsn,
            context_name: global.context.clone(),
            entry,
        }
    }

    /// This invocation as `--context NAME` with `entry` would have been,
    /// for the console's context switch: the connection flags (`--dsn`,
    /// `--prefix`, `--schema`, `--pooler`, `--listen-dsn`) are the first
    /// connection's and give way to the context; `--read-only` stays.
    pub fn for_context(&self, name: &str, entry: Context) -> CommandContext {
        CommandContext {
            dsn_on_command_line: false,
            prefix: None,
            schema: None,
            pooler: None,
            listen_dsn: None,
            context_name: Some(name.to_string()),
            entry: Ok(Some(entry)),
            dsn: self.dsn.clone().filter(|_| !self.dsn_on_command_line),
            ..self.clone()
        }
    }

    /// The `--context` entry, or the usage error that reading it gave.
    pub fn entry(&self) -> Result<Option<&Context>, CommandError> {
        self.entry
            .as_ref()
            .map(Option::as_ref)
            .map_err(|e| CommandError::Usage(e.clone()))
    }

    /// A person at a terminal, and no flag asking for plain output.
    pub fn interactive(&self) -> bool {
        super::console::interactive(self.headless, self.json)
    }
}
