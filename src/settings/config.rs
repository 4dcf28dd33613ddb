//! `config.toml`: console settings, key overrides and named connections.
//!
//! Looked up in `$PGQ_CONFIG_DIR/config.toml`, else the platform config
//! directory (`~/.config/pgq` on Linux). A missing file means defaults; a
//! broken one is an error naming the file, line and key. Unknown keys are
//! errors too, so a typo never silently does nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub const FILE_NAME: &str = "config.toml";
const DEFAULT_REFRESH_SECONDS: f64 = 5.0;
const DEFAULT_EVENTS_BUFFER: usize = 10_000;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    refresh_interval: Option<f64>,
    events_buffer: Option<usize>,
    theme: Option<ThemeName>,
    #[serde(default)]
    keymap: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    contexts: BTreeMap<String, Context>,
    #[serde(default)]
    check: super::check::RawCheck,
    audit_log: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Default,
    Monochrome,
}

/// A named connection (`pgq --context prod`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    pub dsn: Option<String>,
    pub prefix: Option<String>,
    pub schema: Option<String>,
    #[serde(default)]
    pub read_only: bool,
    /// `none` (the default) or `transaction` (PgBouncer's transaction mode).
    pub pooler: Option<super::pooler::Pooler>,
    /// A direct connection for LISTEN when `dsn` goes through a pooler.
    pub listen_dsn: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// Whether the file existed (defaults otherwise).
    pub loaded: bool,
    pub refresh_interval: Duration,
    pub events_buffer: usize,
    pub theme: ThemeName,
    /// `[keymap]` as written: command name to keys. The console's keymap
    /// checks them (`commands::config::load`); settings know no key names.
    pub keymap: BTreeMap<String, Vec<String>>,
    pub contexts: BTreeMap<String, Context>,
    /// `[check]`: the defaults of `pgq check` and `pgq metrics --alert-rules`.
    pub check: super::check::Thresholds,
    /// `audit_log`: where the audit log of changes goes (see `super::audit`).
    pub audit_log: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

/// Where pgq looks for its config directory.
pub fn config_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PGQ_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "pgq").map(|d| d.config_dir().to_path_buf())
}

/// Where the console writes its log file.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PGQ_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "pgq").map(|d| d.data_dir().to_path_buf())
}

pub fn config_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join(FILE_NAME))
}

pub fn log_path() -> Option<PathBuf> {
    data_dir().map(|d| d.join("pgq.log"))
}

impl Config {
    /// Load the config file (defaults when it does not exist).
    pub fn load() -> Result<Config, ConfigError> {
        let path = config_path().ok_or_else(|| ConfigError {
            path: "config".into(),
            message:
                "cannot determine the config directory (no home directory); set PGQ_CONFIG_DIR"
                    .into(),
        })?;
        Config::load_from(&path)
    }

    pub fn load_from(path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.display().to_string(),
            message,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path).map_err(err),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Config::from_raw(RawConfig::default(), path, false).map_err(err)
            }
            Err(e) => Err(err(format!("cannot read: {e}"))),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| describe_toml_error(&e, text))?;
        Config::from_raw(raw, path, true)
    }

    fn from_raw(raw: RawConfig, path: &Path, loaded: bool) -> Result<Config, String> {
        let refresh = raw.refresh_interval.unwrap_or(DEFAULT_REFRESH_SECONDS);
        if !(refresh.is_finite() && (0.5..=3_600.0).contains(&refresh)) {
            return Err(format!(
                "refresh_interval: {refresh} is out of range (0.5 to 3600 seconds)"
            ));
        }
        let events_buffer = raw.events_buffer.unwrap_or(DEFAULT_EVENTS_BUFFER);
        if !(100..=1_000_000).contains(&events_buffer) {
            return Err(format!(
                "events_buffer: {events_buffer} is out of range (100 to 1000000)"
            ));
        }
        for (name, ctx) in &raw.contexts {
            if ctx.dsn.as_deref().is_some_and(str::is_empty) {
                return Err(format!("contexts.{name}.dsn: empty"));
            }
        }
        let check = raw.check.thresholds()?;
        let audit_log = raw.audit_log.as_deref().map(audit_log_path).transpose()?;
        Ok(Config {
            path: path.to_path_buf(),
            loaded,
            refresh_interval: Duration::from_secs_f64(refresh),
            events_buffer,
            theme: raw.theme.unwrap_or_default(),
            keymap: raw.keymap,
            contexts: raw.contexts,
            check,
            audit_log,
        })
    }

    pub fn context(&self, name: &str) -> Result<&Context, String> {
        self.contexts.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.contexts.keys().map(String::as_str).collect();
            if known.is_empty() {
                format!(
                    "no context named {name:?}: {} defines no [contexts]",
                    self.path.display()
                )
            } else {
                format!(
                    "no context named {name:?} in {} (defined: {})",
                    self.path.display(),
                    known.join(", ")
                )
            }
        })
    }
}

/// `audit_log` as written: `~/` is the home directory; a relative path would
/// depend on where pgq was started, so it is refused.
fn audit_log_path(text: &str) -> Result<PathBuf, String> {
    let path = match text.strip_prefix("~/") {
        Some(rest) => directories::BaseDirs::new()
            .ok_or("audit_log: cannot determine the home directory for ~/")?
            .home_dir()
            .join(rest),
        None => PathBuf::from(text),
    };
    if text.trim().is_empty() || !path.is_absolute() {
        return Err(format!(
            "audit_log: {text:?} is not an absolute path (or ~/…)"
        ));
    }
    Ok(path)
}

/// `line N, column M: message` from a toml error; the key path is part of
/// toml's message.
fn describe_toml_error(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("config.toml"))
    }

    #[test]
    fn empty_file_is_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.refresh_interval, Duration::from_secs(5));
        assert_eq!(c.events_buffer, 10_000);
        assert_eq!(c.theme, ThemeName::Default);
    }

    #[test]
    fn full_file() {
        let c = parse(
            r#"
refresh_interval = 2
events_buffer = 500
theme = "monochrome"
[keymap]
quit = ["x"]
[contexts.prod]
dsn = "postgres://ops@db/prod"
read_only = true
schema = "jobs"
"#,
        )
        .unwrap();
        assert_eq!(c.refresh_interval, Duration::from_secs(2));
        assert_eq!(c.theme, ThemeName::Monochrome);
        let prod = c.context("prod").unwrap();
        assert!(prod.read_only);
        assert_eq!(prod.schema.as_deref(), Some("jobs"));
        assert!(c.context("staging").unwrap_err().contains("defined: prod"));
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let e = parse("refresh_interval = 2\nrefresh_intervall = 3\n").unwrap_err();
        assert!(
            e.starts_with("line 2, column 1: unknown field `refresh_intervall`"),
            "{e}"
        );
        let e = parse("theme = \"neon\"\n").unwrap_err();
        assert!(
            e.starts_with("line 1, column 9: unknown variant `neon`"),
            "{e}"
        );
        let e = parse("refresh_interval = 0.1\n").unwrap_err();
        assert!(e.starts_with("refresh_interval:"), "{e}");
        let e = parse("audit_log = \"audit.jsonl\"\n").unwrap_err();
        assert!(e.starts_with("audit_log:"), "{e}");
        let c = parse("audit_log = \"/var/log/pgq/audit.jsonl\"\n").unwrap();
        assert_eq!(c.audit_log.unwrap(), Path::new("/var/log/pgq/audit.jsonl"));
        let e = parse("[contexts.prod]\ndsn = \"x\"\nreadonly = true\n").unwrap_err();
        assert!(e.contains("unknown field `readonly`"), "{e}");
    }
}
