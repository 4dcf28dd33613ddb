//! `pgq schedules [--remove ID|ENTRYPOINT]… [--ignore-missing]`.
//!
//! Lists the schedules table like Python PGQueuer (same columns, same order,
//! local-time timestamps in Python's `str(datetime)` form) plus the next
//! fire times. `--remove` differs from Python on purpose: what was removed is
//! reported on stderr, and a value that matches nothing is an error (exit 1)
//! that removes nothing at all — the check and the delete share one
//! transaction — unless `--ignore-missing` is given.

use chrono::{DateTime, Local, SecondsFormat, Utc};

use super::{CommandError, object_names, open_session};
use crate::actions::schedules::{ListedSchedule, Removal, Schedule, ScheduleRef};
use crate::actions::{self, Session, kinds};
use crate::commands::CommandContext;
use crate::output::{self, Exit, plural};

const HEADERS: [&str; 10] = [
    "id",
    "expression",
    "heartbeat",
    "created",
    "updated",
    "next_run",
    "last_run",
    "status",
    "entrypoint",
    "next fires",
];

/// A removal that keeps hitting refs which vanish concurrently gives up
/// after this many rounds rather than looping.
const MAX_REMOVAL_ROUNDS: usize = 3;

pub(super) async fn run(
    ctx: &CommandContext,
    remove: &[String],
    ignore_missing: bool,
) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    if !remove.is_empty() {
        let refs: Vec<ScheduleRef> = remove.iter().map(|v| parse_ref(v)).collect();
        let removal = remove_refs(&session, refs, ignore_missing).await?;
        report_removal(&removal);
    }
    let listing = actions::run(&session, &kinds::ListSchedules, false).await?;
    let text = if ctx.json {
        output::json_line(&listing.rows.iter().map(json_row).collect::<Vec<_>>())
    } else {
        text_table(&listing.rows)
    };
    if ctx.json {
        output::stdout_exact(&text);
    } else {
        output::stdout(&text);
    }
    Ok(Exit::Ok)
}

/// Python's rule: a value made only of ASCII digits is an id (so an
/// all-digit entrypoint name cannot be removed by name).
fn parse_ref(value: &str) -> ScheduleRef {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a bigint cannot match an id; keep it as a name
        // so it is reported as matching nothing.
        match value.parse() {
            Ok(id) => ScheduleRef::Id(id),
            Err(_) => ScheduleRef::Entrypoint(value.to_string()),
        }
    } else {
        ScheduleRef::Entrypoint(value.to_string())
    }
}

/// Strict: one all-or-nothing attempt. With `--ignore-missing`: retry with
/// only the refs that matched until a round commits.
async fn remove_refs(
    session: &Session,
    mut refs: Vec<ScheduleRef>,
    ignore_missing: bool,
) -> Result<Removal, CommandError> {
    let mut missing: Vec<ScheduleRef> = Vec::new();
    for _ in 0..MAX_REMOVAL_ROUNDS {
        let action = kinds::RemoveSchedules { refs: refs.clone() };
        let mut removal = actions::run(session, &action, false).await?;
        if removal.applied {
            removal.unmatched = missing;
            return Ok(removal);
        }
        if !ignore_missing {
            return Err(CommandError::Other(format!(
                "no schedule matches {}; nothing was removed (use --ignore-missing to remove the others)",
                quoted_list(&removal.unmatched)
            )));
        }
        refs.retain(|r| !removal.unmatched.contains(r));
        missing.extend(removal.unmatched);
        if refs.is_empty() {
            return Ok(Removal {
                removed: Vec::new(),
                unmatched: missing,
                applied: true,
            });
        }
    }
    Err(CommandError::Other(
        "schedules kept changing during the removal; run it again".into(),
    ))
}

fn quoted_list(refs: &[ScheduleRef]) -> String {
    refs.iter()
        .map(|r| format!("'{r}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Removed 2 schedules: 3 (*/5 * * * * nightly), 4 (@daily cleanup)` and a
/// note per ref that matched nothing (only reachable with --ignore-missing).
fn report_removal(removal: &Removal) {
    let items: Vec<String> = removal
        .removed
        .iter()
        .map(|s| format!("{} ({} {})", s.id, s.expression, s.entrypoint))
        .collect();
    let head = format!("Removed {}", plural(items.len(), "schedule"));
    if items.is_empty() {
        output::status(&format!("{head}."));
    } else {
        output::status(&format!("{head}: {}", items.join(", ")));
    }
    for r in &removal.unmatched {
        output::note(&format!("no schedule matches '{r}'"));
    }
}

fn local(t: &DateTime<Utc>) -> String {
    output::py_datetime(&t.with_timezone(&Local))
}

fn text_table(rows: &[ListedSchedule]) -> String {
    if rows.is_empty() {
        return "No schedules.\n".into();
    }
    let rows = rows
        .iter()
        .map(|row| {
            let s: &Schedule = &row.schedule;
            vec![
                s.id.to_string(),
                s.expression.clone(),
                local(&s.heartbeat),
                local(&s.created),
                local(&s.updated),
                local(&s.next_run),
                s.last_run.as_ref().map(local).unwrap_or_default(),
                s.status.clone().unwrap_or_default(),
                s.entrypoint.clone(),
                match &row.next_fires {
                    Ok(fires) => fires.iter().map(local).collect::<Vec<_>>().join(", "),
                    Err(e) => format!("(cannot compute: {e})"),
                },
            ]
        })
        .collect();
    output::table(&HEADERS, rows)
}

fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn json_row(row: &ListedSchedule) -> serde_json::Value {
    let s = &row.schedule;
    let (fires, error) = match &row.next_fires {
        Ok(fires) => (
            serde_json::Value::from(fires.iter().map(iso).collect::<Vec<_>>()),
            None,
        ),
        Err(e) => (serde_json::Value::Null, Some(e.to_string())),
    };
    let mut value = serde_json::json!({
        "id": s.id,
        "expression": s.expression,
        "heartbeat": iso(&s.heartbeat),
        "created": iso(&s.created),
        "updated": iso(&s.updated),
        "next_run": iso(&s.next_run),
        "last_run": s.last_run.as_ref().map(iso),
        "status": s.status,
        "entrypoint": s.entrypoint,
        "next_fires": fires,
    });
    if let (Some(error), Some(map)) = (error, value.as_object_mut()) {
        map.insert("next_fires_error".into(), error.into());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_ids_everything_else_names() {
        assert_eq!(parse_ref("42"), ScheduleRef::Id(42));
        assert_eq!(
            parse_ref("nightly"),
            ScheduleRef::Entrypoint("nightly".into())
        );
        assert_eq!(parse_ref("4a"), ScheduleRef::Entrypoint("4a".into()));
        assert_eq!(parse_ref("-1"), ScheduleRef::Entrypoint("-1".into()));
        assert_eq!(
            parse_ref("99999999999999999999"),
            ScheduleRef::Entrypoint("99999999999999999999".into())
        );
    }
}
