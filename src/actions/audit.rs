//! The audit log: one JSON line per change an operator makes, appended to
//! a file (see `settings::audit` for where), whoever made it and from where.
//!
//! [`audited`] wraps the one place a mutation is applied ([`super::run`], and
//! the command that drives a removal batch by batch itself). A line says
//! when, who (OS user and host), on which database (never the password),
//! the equivalent command line, the SQL sent with its parameters, the outcome
//! and how long it took; a long action (a removal by filter, a prune) also
//! gets a line when it starts. Writing it never fails nor holds up the
//! action: a log that cannot be written is reported once per process.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::record::{Sent, auditing};
use super::{Act, ActionError, Session};

/// Parameter values longer than this are cut (payloads, long id lists).
const MAX_VALUE_CHARS: usize = 200;
/// Statement texts longer than this are cut (an install's DDL).
const MAX_SQL_CHARS: usize = 4_000;
/// Distinct statements kept per line (a prune repeats one per batch).
const MAX_STATEMENTS: usize = 50;
/// How long an action waits for its line to be written before going on.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a session's changes are logged, and under which context name.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditTrail {
    pub path: PathBuf,
    /// The `--context` the session was opened with.
    pub context: Option<String>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339, UTC.
    pub time: String,
    pub user: String,
    pub host: String,
    /// `user@host:port/db`, never the password.
    pub target: String,
    #[serde(default)]
    pub context: Option<String>,
    /// The equivalent `pgq …` (or `psql …`) command line.
    pub command: String,
    /// `started` for the first line of a long action, else `finished`.
    pub phase: String,
    #[serde(default)]
    pub sql: Vec<Statement>,
    /// Unset on a `started` line.
    #[serde(default)]
    pub ok: Option<bool>,
    /// What was changed (counts), or the error text.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<f64>,
}

/// A statement the action sent; repeats (one per batch) are counted, not copied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub statement: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub times: u64,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// Run `work`, the applying of `action` on `session`, and log it (when the
/// session has an audit trail).
pub async fn audited<A: Act>(
    session: &Session,
    action: &A,
    work: impl Future<Output = Result<A::Output, ActionError>>,
) -> Result<A::Output, ActionError> {
    let Some(trail) = &session.audit else {
        return work.await;
    };
    let command = action.command_line(&session.names);
    let entry = |phase: &str| Entry {
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        user: os_user(),
        host: host_name(),
        target: session.target.clone(),
        context: trail.context.clone(),
        command: command.clone(),
        phase: phase.into(),
        sql: Vec::new(),
        ok: None,
        outcome: None,
        duration_ms: None,
    };
    if action.long_running() {
        append(&trail.path, &entry("started")).await;
    }
    let started = Instant::now();
    let (result, sent) = auditing(work).await;
    let mut line = entry("finished");
    line.duration_ms = Some((started.elapsed().as_secs_f64() * 1e4).round() / 10.0);
    line.sql = statements(sent);
    line.ok = Some(result.is_ok());
    line.outcome = Some(match &result {
        Ok(output) => action.outcome_text(output),
        Err(e) => e.to_string(),
    });
    append(&trail.path, &line).await;
    result
}

/// The statements as logged: long texts cut, repeats counted.
fn statements(sent: Vec<Sent>) -> Vec<Statement> {
    let mut out: Vec<Statement> = Vec::new();
    for s in sent {
        if let Some(seen) = out
            .iter_mut()
            .find(|x| x.statement == cut(&s.sql, MAX_SQL_CHARS))
        {
            seen.times += 1;
            continue;
        }
        if out.len() == MAX_STATEMENTS {
            continue;
        }
        out.push(Statement {
            statement: cut(&s.sql, MAX_SQL_CHARS),
            params: s.params.iter().map(|p| cut(p, MAX_VALUE_CHARS)).collect(),
            times: 1,
        });
    }
    out
}

/// `text`, cut to `max` characters with a note of how much is left out.
fn cut(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!(
            "{}… ({})",
            &text[..at],
            crate::output::plural(text[at..].chars().count(), "more character")
        ),
    }
}

/// Append `entry` as one line, off the async threads and within a time
/// limit: a slow or hung file system never holds up the change itself.
async fn append(path: &Path, entry: &Entry) {
    let Ok(mut line) = serde_json::to_string(entry) else {
        return;
    };
    line.push('\n');
    let path = path.to_path_buf();
    let shown = path.clone();
    let write = tokio::task::spawn_blocking(move || append_line(&path, &line));
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => not_writable(&format!("{}: {e}", shown.display())),
        Ok(Err(e)) => not_writable(&format!("{}: {e}", shown.display())),
        Err(_) => not_writable(&format!(
            "{}: no answer within {}s",
            shown.display(),
            WRITE_TIMEOUT.as_secs()
        )),
    }
}

/// One `write` on a file opened with O_APPEND: lines of concurrent pgq
/// processes do not interleave. Created readable by its owner only, as it
/// holds job payloads.
pub fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(line.as_bytes())
}

type Reporter = Box<dyn Fn(String) + Send + Sync>;

fn reporter() -> &'static Mutex<Option<Reporter>> {
    static REPORTER: OnceLock<Mutex<Option<Reporter>>> = OnceLock::new();
    REPORTER.get_or_init(Mutex::default)
}

/// Say "audit log not writable" through `report` instead of on stderr (the
/// console flashes it: stderr would draw over the screen).
pub fn report_problems_with(report: impl Fn(String) + Send + Sync + 'static) {
    *reporter().lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(report));
}

/// Once per process: a full disk or a wrong path would otherwise repeat on
/// every change.
fn not_writable(why: &str) {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    if REPORTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let text = format!("audit log not writable: {why}");
    match &*reporter().lock().unwrap_or_else(|e| e.into_inner()) {
        Some(report) => report(text),
        None => crate::output::warning(&text),
    }
}

/// The OS user running pgq: `USER`, `LOGNAME`, else the password database.
pub fn os_user() -> String {
    for var in ["USER", "LOGNAME"] {
        if let Some(name) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
            return name;
        }
    }
    user_from_passwd().unwrap_or_else(|| "unknown".into())
}

#[cfg(unix)]
fn user_from_passwd() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is to a live local of the size passed; the
    // name is read only when getpwuid_r reports an entry, before buf dies.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf and is NUL-terminated by getpwuid_r.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(not(unix))]
fn user_from_passwd() -> Option<String> {
    std::env::var("USERNAME").ok()
}

/// This machine's host name.
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its whole length.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).into_owned();
            if !name.is_empty() {
                return name;
            }
        }
    }
    std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(sql: &str, params: &[&str]) -> Sent {
        Sent {
            sql: sql.into(),
            params: params.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn repeated_statements_are_counted_and_long_values_cut() {
        let long = "x".repeat(500);
        let logged = statements(vec![
            sent("BEGIN", &[]),
            sent("DELETE … $1", &[&long]),
            sent("COMMIT", &[]),
            sent("BEGIN", &[]),
            sent("DELETE … $1", &["2"]),
            sent("COMMIT", &[]),
        ]);
        assert_eq!(logged.len(), 3);
        assert_eq!(logged[1].times, 2);
        assert!(logged[1].params[0].starts_with(&"x".repeat(200)));
        assert!(logged[1].params[0].ends_with("… (300 more characters)"));
    }

    #[test]
    fn cut_respects_characters() {
        assert_eq!(cut("ééé", 2), "éé… (1 more character)");
        assert_eq!(cut("ab", 2), "ab");
    }

    #[test]
    fn user_and_host_are_never_empty() {
        assert!(!os_user().is_empty());
        assert!(!host_name().is_empty());
    }
}
