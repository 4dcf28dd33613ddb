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

/// `pgq audit --since`: an age (`1h`, `2d`) or a moment (RFC 3339).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Since {
    Ago(std::time::Duration),
    At(chrono::DateTime<chrono::Utc>),
}

impl Since {
    /// The earliest time shown, as of `now`.
    pub fn cutoff(self, now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        match self {
            Since::At(at) => at,
            Since::Ago(age) => {
                now - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX)
            }
        }
    }
}

pub fn parse_since(text: &str) -> Result<Since, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(Since::At(at.with_timezone(&chrono::Utc)));
    }
    super::duration::parse_duration(text)
        .map(Since::Ago)
        .map_err(|e| format!("{e} (or a time such as 2026-01-31T08:00:00Z)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_age_or_a_time() {
        assert_eq!(
            parse_since("1h").unwrap(),
            Since::Ago(std::time::Duration::from_secs(3600))
        );
        let at = parse_since("2026-01-31T08:00:00Z").unwrap();
        assert_eq!(
            at.cutoff(chrono::Utc::now()).to_rfc3339(),
            "2026-01-31T08:00:00+00:00"
        );
        assert!(parse_since("yesterday").is_err());
    }
}
