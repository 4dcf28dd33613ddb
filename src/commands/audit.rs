//! `pgq audit [--since AGE|TIME] [--json]`: read the audit log back, one line
//! per change (or the JSON lines as written).

use std::io::BufRead;

use super::{CommandContext, CommandError};
use crate::actions::audit::Entry;
use crate::output::format::human_ms;
use crate::output::{self, Exit, plural};
use crate::settings::audit::{Since, audit_path};
use crate::settings::config::Config;

pub(super) fn run(ctx: &CommandContext, since: Option<Since>) -> Result<Exit, CommandError> {
    let config = Config::load().map_err(|e| CommandError::Usage(e.to_string()))?;
    let path = audit_path(Some(&config)).ok_or_else(|| {
        CommandError::Usage(
            "cannot determine the state directory (no home directory); set PGQ_STATE_DIR or audit_log in config.toml"
                .into(),
        )
    })?;
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            output::status(&format!("no audit log yet at {}", path.display()));
            return Ok(Exit::Ok);
        }
        Err(e) => {
            return Err(CommandError::Other(format!(
                "cannot read the audit log {}: {e}",
                path.display()
            )));
        }
    };
    let cutoff = since.map(|s| s.cutoff(chrono::Utc::now()));
    let mut unreadable = 0usize;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| {
            CommandError::Other(format!("cannot read the audit log {}: {e}", path.display()))
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let Some((entry, time)) = parse(&line) else {
            unreadable += 1;
            continue;
        };
        if cutoff.is_some_and(|c| time < c) {
            continue;
        }
        if ctx.json {
            output::stdout_exact(&format!("{line}\n"));
        } else {
            // One change, one line: an error's line breaks are shown escaped.
            output::stdout_exact(&format!("{}\n", output::escape_line(&text_line(&entry))));
        }
    }
    if unreadable > 0 {
        output::warning(&format!(
            "{} of {} skipped: not an audit entry (edited by hand, or cut by a full disk)",
            plural(unreadable, "line"),
            path.display()
        ));
    }
    Ok(Exit::Ok)
}

fn parse(line: &str) -> Option<(Entry, chrono::DateTime<chrono::Utc>)> {
    let entry: Entry = serde_json::from_str(line).ok()?;
    let time = chrono::DateTime::parse_from_rfc3339(&entry.time).ok()?;
    Some((entry, time.with_timezone(&chrono::Utc)))
}

/// `time  user@host  target  command  outcome`: one change (the caller
/// escapes it for a terminal: outcomes quote server errors).
fn text_line(e: &Entry) -> String {
    let target = match &e.context {
        Some(context) => format!("{} ({context})", e.target),
        None => e.target.clone(),
    };
    let outcome = match (e.phase.as_str(), e.ok, &e.outcome) {
        ("started", _, _) => "started".to_string(),
        (_, Some(false), Some(error)) => format!("failed: {error}"),
        (_, _, Some(outcome)) => outcome.clone(),
        _ => String::new(),
    };
    let duration = e
        .duration_ms
        .map(|ms| format!(" ({})", human_ms(ms)))
        .unwrap_or_default();
    format!(
        "{}  {}@{}  {target}  {}  {outcome}{duration}",
        e.time, e.user, e.host, e.command
    )
}
