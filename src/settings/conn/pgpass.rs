//! The password file (`~/.pgpass`, `PGPASSFILE`): read only when libpq would,
//! matched line by line.

use std::fs;
use std::path::Path;

use super::{DEFAULT_SOCKET_DIR, Endpoint, Host};

/// Reads a password file if libpq would: a missing file is silently
/// ignored, a non-regular or group/world-accessible one is ignored with a
/// warning (libpq prints a WARNING for the same reasons).
pub(super) fn read_passfile(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        tracing::warn!(
            "password file \"{}\" is not a plain file; ignoring it",
            path.display()
        );
        return None;
    }
    if !passfile_permissions_ok(&meta) {
        tracing::warn!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less; ignoring it",
            path.display()
        );
        return None;
    }
    match fs::read_to_string(path) {
        Ok(content) => Some(content),
        Err(err) => {
            tracing::warn!("could not read password file \"{}\": {err}", path.display());
            None
        }
    }
}

#[cfg(unix)]
pub(super) fn passfile_permissions_ok(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 == 0
}

#[cfg(not(unix))]
pub(super) fn passfile_permissions_ok(_meta: &fs::Metadata) -> bool {
    true
}

/// The password of the first password-file line matching the endpoint.
pub(super) fn pgpass_lookup(
    content: &str,
    endpoint: &Endpoint,
    database: &str,
    user: &str,
) -> Option<String> {
    let host = pgpass_host(&endpoint.host);
    let port = endpoint.port.to_string();
    let wanted = [host.as_str(), port.as_str(), database, user];
    content
        .lines()
        .filter_map(parse_pgpass_line)
        .find(|entry| entry.matches(&wanted))
        .map(|entry| entry.password)
}

/// The host name a password-file line must match. libpq matches `localhost`
/// for its default socket directory; we also accept the other spellings of
/// that directory (`/run/postgresql`, and upstream's default `/tmp`).
pub(super) fn pgpass_host(host: &Host) -> String {
    match host {
        Host::Tcp(h) => h.clone(),
        Host::Unix(dir) => {
            let default_dirs = [DEFAULT_SOCKET_DIR, "/run/postgresql", "/tmp"];
            let trimmed = dir.to_string_lossy();
            let trimmed = trimmed.trim_end_matches('/');
            if default_dirs.contains(&trimmed) {
                "localhost".into()
            } else {
                dir.to_string_lossy().into_owned()
            }
        }
    }
}

/// One `hostname:port:database:username:password` line.
pub(super) struct PgpassEntry {
    /// The first four fields; `None` is the `*` wildcard.
    fields: [Option<String>; 4],
    password: String,
}

impl PgpassEntry {
    fn matches(&self, wanted: &[&str; 4]) -> bool {
        self.fields
            .iter()
            .zip(wanted)
            .all(|(field, want)| field.as_deref().is_none_or(|f| f == *want))
    }
}

/// Parses a line; comments, blank and short lines yield `None`. `\:` and
/// `\\` are escapes, and only an unescaped `*` is a wildcard.
pub(super) fn parse_pgpass_line(line: &str) -> Option<PgpassEntry> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.starts_with('#') || line.is_empty() {
        return None;
    }
    let mut fields: Vec<Option<String>> = Vec::with_capacity(4);
    let mut current = String::new();
    let mut escaped_any = false;
    let mut chars = line.chars();
    while fields.len() < 4 {
        match chars.next()? {
            '\\' => {
                current.push(chars.next()?);
                escaped_any = true;
            }
            ':' => {
                let wildcard = current == "*" && !escaped_any;
                let field = std::mem::take(&mut current);
                fields.push((!wildcard).then_some(field));
                escaped_any = false;
            }
            c => current.push(c),
        }
    }
    let password = unescape_pgpass(chars.as_str());
    let fields: [Option<String>; 4] = fields.try_into().ok()?;
    Some(PgpassEntry { fields, password })
}

pub(super) fn unescape_pgpass(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str) -> Host {
        Host::Tcp(host.into())
    }

    fn endpoint(host: Host, port: u16) -> Endpoint {
        Endpoint {
            host,
            hostaddr: None,
            port,
            password: None,
        }
    }

    #[test]
    fn pgpass_first_match_wins_with_wildcards() {
        let content = "\
# comment line
other:5432:db:u:nope
db.example:5432:app:alice:first
*:*:*:alice:second
*:*:*:*:third
";
        let ep = endpoint(tcp("db.example"), 5432);
        assert_eq!(
            pgpass_lookup(content, &ep, "app", "alice").as_deref(),
            Some("first")
        );
        assert_eq!(
            pgpass_lookup(content, &ep, "other", "alice").as_deref(),
            Some("second")
        );
        assert_eq!(
            pgpass_lookup(content, &ep, "app", "bob").as_deref(),
            Some("third")
        );
        let ep = endpoint(tcp("db.example"), 6000);
        assert_eq!(
            pgpass_lookup(content, &ep, "app", "alice").as_deref(),
            Some("second")
        );
        assert_eq!(pgpass_lookup("", &ep, "app", "alice"), None);
    }

    #[test]
    fn pgpass_escapes() {
        let content = r"h\:x:5432:d\\b:u:pa\:ss\\word:tail";
        let ep = endpoint(tcp("h:x"), 5432);
        assert_eq!(
            pgpass_lookup(content, &ep, r"d\b", "u").as_deref(),
            Some(r"pa:ss\word:tail")
        );
        // An escaped star is a literal star, not a wildcard.
        let content = r"\*:5432:d:u:literal";
        let ep = endpoint(tcp("h"), 5432);
        assert_eq!(pgpass_lookup(content, &ep, "d", "u"), None);
        let ep = endpoint(tcp("*"), 5432);
        assert_eq!(
            pgpass_lookup(content, &ep, "d", "u").as_deref(),
            Some("literal")
        );
    }

    #[test]
    fn pgpass_short_and_crlf_lines() {
        let content = "h:5432:d\r\nh:5432:d:u:pw\r\n";
        let ep = endpoint(tcp("h"), 5432);
        assert_eq!(pgpass_lookup(content, &ep, "d", "u").as_deref(), Some("pw"));
    }

    #[test]
    fn pgpass_socket_matches_localhost() {
        let content = "localhost:5432:d:u:sockpw\n/custom/dir:5432:d:u:custompw\n";
        let ep = endpoint(Host::Unix(DEFAULT_SOCKET_DIR.into()), 5432);
        assert_eq!(
            pgpass_lookup(content, &ep, "d", "u").as_deref(),
            Some("sockpw")
        );
        let ep = endpoint(Host::Unix("/custom/dir".into()), 5432);
        assert_eq!(
            pgpass_lookup(content, &ep, "d", "u").as_deref(),
            Some("custompw")
        );
    }
}
