//! Parsing a DSN: a URI (`postgres://…`) or libpq's `key=value` list.

use std::collections::HashMap;

use super::{ConnSettingsError, Result, SUPPORTED_KEYWORDS, UNSUPPORTED_KEYWORDS};

/// Whether `dsn` carries a (non-empty) password. A DSN that does not parse
/// says no: resolving it reports the syntax error.
pub fn dsn_has_password(dsn: &str) -> bool {
    parse_dsn(dsn).is_ok_and(|params| params.get("password").is_some())
}

/// Parameters given by a DSN, keyed by canonical libpq keyword. Later
/// occurrences replace earlier ones, as in libpq.
#[derive(Default, Clone, PartialEq, Eq)]
pub(super) struct Params(HashMap<&'static str, String>);

impl Params {
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn set(&mut self, key: &'static str, value: String) {
        self.0.insert(key, value);
    }
}

/// Maps a DSN keyword to its canonical spelling, rejecting unknown or
/// unimplemented ones with a message that says which.
pub(super) fn canonical_keyword(key: &str) -> Result<&'static str> {
    if let Some(k) = SUPPORTED_KEYWORDS.iter().find(|k| **k == key) {
        return Ok(k);
    }
    if UNSUPPORTED_KEYWORDS.contains(&key) {
        return Err(ConnSettingsError::UnsupportedOption(key.to_owned()));
    }
    Err(ConnSettingsError::UnknownOption(key.to_owned()))
}

/// Parses a URI (`postgres://`, `postgresql://`) or `key=value` DSN.
pub(super) fn parse_dsn(dsn: &str) -> Result<Params> {
    let dsn = dsn.trim();
    match ["postgresql://", "postgres://"]
        .iter()
        .find_map(|scheme| dsn.strip_prefix(scheme))
    {
        Some(rest) => parse_uri(rest),
        None => parse_conninfo(dsn),
    }
}

/// Parses the part of a URI after the scheme:
/// `[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`.
pub(super) fn parse_uri(rest: &str) -> Result<Params> {
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    let mut params = Params::default();
    // Last '@' so that an unencoded '@' in a password still works.
    let hostlist = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            parse_userinfo(userinfo, &mut params)?;
            hosts
        }
        None => authority,
    };
    parse_uri_hosts(hostlist, &mut params)?;
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        params.set("dbname", percent_decode(db)?);
    }
    if let Some(query) = query {
        parse_uri_query(query, &mut params)?;
    }
    Ok(params)
}

pub(super) fn parse_userinfo(userinfo: &str, params: &mut Params) -> Result<()> {
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    if !user.is_empty() {
        params.set("user", percent_decode(user)?);
    }
    if let Some(password) = password {
        params.set("password", percent_decode(password)?);
    }
    Ok(())
}

/// Parses `host[:port],host[:port]…` into libpq's comma-joined `host` and
/// `port` values.
pub(super) fn parse_uri_hosts(hostlist: &str, params: &mut Params) -> Result<()> {
    if hostlist.is_empty() {
        return Ok(());
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for spec in hostlist.split(',') {
        let (host, port) = split_uri_host(spec)?;
        hosts.push(percent_decode(host)?);
        ports.push(port.to_owned());
    }
    if hosts.iter().any(|h| !h.is_empty()) {
        params.set("host", hosts.join(","));
    }
    if ports.iter().any(|p| !p.is_empty()) {
        params.set("port", ports.join(","));
    }
    Ok(())
}

/// Splits one `host[:port]` entry; IPv6 literals must be bracketed.
pub(super) fn split_uri_host(spec: &str) -> Result<(&str, &str)> {
    if let Some(inner) = spec.strip_prefix('[') {
        let (host, after) = inner.split_once(']').ok_or_else(|| {
            ConnSettingsError::Syntax(format!(
                "missing \"]\" in IPv6 host address in URI: \"{spec}\""
            ))
        })?;
        if host.is_empty() {
            return Err(ConnSettingsError::Syntax(
                "IPv6 host address may not be empty in URI".into(),
            ));
        }
        return match after {
            "" => Ok((host, "")),
            _ => after
                .strip_prefix(':')
                .map(|port| (host, port))
                .ok_or_else(|| {
                    ConnSettingsError::Syntax(format!(
                        "unexpected character after IPv6 host address in URI: \"{spec}\""
                    ))
                }),
        };
    }
    Ok(spec.split_once(':').unwrap_or((spec, "")))
}

pub(super) fn parse_uri_query(query: &str, params: &mut Params) -> Result<()> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            ConnSettingsError::Syntax(format!(
                "missing key/value separator \"=\" in URI query parameter: \"{pair}\""
            ))
        })?;
        let key = percent_decode(key)?;
        let value = percent_decode(value)?;
        // JDBC compatibility, as in libpq.
        if key == "ssl" && value == "true" {
            params.set("sslmode", "require".into());
            continue;
        }
        let key = match canonical_keyword(&key) {
            Err(ConnSettingsError::UnknownOption(k)) => {
                return Err(ConnSettingsError::Syntax(format!(
                    "invalid URI query parameter: \"{k}\""
                )));
            }
            other => other?,
        };
        params.set(key, value);
    }
    Ok(())
}

/// Strict percent-decoding: malformed escapes and `%00` are errors, as in libpq.
pub(super) fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
        match hex {
            None => {
                return Err(ConnSettingsError::Syntax(format!(
                    "invalid percent-encoded token: \"{s}\""
                )));
            }
            Some(b"00") => {
                return Err(ConnSettingsError::Syntax(format!(
                    "forbidden value %00 in percent-encoded value: \"{s}\""
                )));
            }
            Some(_) => {}
        }
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ConnSettingsError::Syntax("percent-encoded value is not valid UTF-8".into()))
}

/// Parses libpq's `key=value key='quoted value'` format, with `\'` and `\\`
/// escapes.
pub(super) fn parse_conninfo(s: &str) -> Result<Params> {
    let mut params = Params::default();
    let mut chars = s.chars().peekable();
    loop {
        skip_whitespace(&mut chars);
        if chars.peek().is_none() {
            return Ok(params);
        }
        let key: String = take_until(&mut chars, |c| c == '=' || c.is_whitespace());
        skip_whitespace(&mut chars);
        if chars.next() != Some('=') {
            return Err(ConnSettingsError::Syntax(format!(
                "missing \"=\" after \"{key}\" in connection info string"
            )));
        }
        skip_whitespace(&mut chars);
        let value = conninfo_value(&mut chars)?;
        params.set(canonical_keyword(&key)?, value);
    }
}

pub(super) type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

pub(super) fn skip_whitespace(chars: &mut Chars<'_>) {
    while chars.next_if(|c| c.is_whitespace()).is_some() {}
}

pub(super) fn take_until(chars: &mut Chars<'_>, stop: impl Fn(char) -> bool) -> String {
    let mut out = String::new();
    while let Some(c) = chars.next_if(|c| !stop(*c)) {
        out.push(c);
    }
    out
}

/// Reads one value: quoted up to the closing `'`, else up to whitespace.
pub(super) fn conninfo_value(chars: &mut Chars<'_>) -> Result<String> {
    let quoted = chars.next_if_eq(&'\'').is_some();
    let mut out = String::new();
    loop {
        match chars.next() {
            None if quoted => {
                return Err(ConnSettingsError::Syntax(
                    "unterminated quoted string in connection info string".into(),
                ));
            }
            None => return Ok(out),
            Some('\'') if quoted => return Ok(out),
            Some(c) if !quoted && c.is_whitespace() => return Ok(out),
            Some('\\') => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            Some(c) => out.push(c),
        }
    }
}
