//! Where the audit log of changes lives: `audit_log` in config.toml, else
//! `$PGQ_STATE_DIR/audit.jsonl` (tests), else the platform state directory
//! (`$XDG_STATE_HOME/pgq`, i.e. `~/.local/state/pgq` on Linux).

use std::path::PathBuf;

use super::config::Config;

pub const FILE_NAME: &str = "audit.jsonl";

/// The directory pgq keeps state in (the audit log).
pub fn state_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PGQ_STATE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let dirs = directories::ProjectDirs::from("", "", "pgq")?;
    // Only Linux has a state directory; elsewhere local data is the nearest.
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// The audit log's path: `config`'s `audit_log`, else the state directory's.
pub fn audit_path(config: Option<&Config>) -> Option<PathBuf> {
    if let Some(path) = config.and_then(|c| c.audit_log.clone()) {
        return Some(path);
    }
    state_dir().map(|d| d.join(FILE_NAME))
}
