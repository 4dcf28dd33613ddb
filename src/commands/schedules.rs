//! `pgq schedules [--remove ID|ENTRYPOINT]… [--ignore-missing]`.
//!
//! Lists the schedules table like Python PGQueuer (same columns, same order,
//! local-time timestamps in Python's `str(datetime)` form) plus the next
//! fire times. `--remove` differs from Python on purpose: what was removed is
//! reported on stderr, and a value that matches nothing is an error (exit 1)
//! that removes nothing at all — the check and the delete share one
//! transaction — unless `--ignore-missing` is given. `--pause`, `--resume`,
//! `--skip` and `--postpone` move `next_run` (`actions::schedules::timing`)
//! with the same rules; a paused schedule lists as `paused`.

use chrono::{DateTime, Local, SecondsFormat, TimeZone, Utc};

use super::{CommandError, object_names, open_session};
use crate::actions::schedules::timing::{Retimed, Timing, describe, is_paused};
use crate::actions::schedules::{ListedSchedule, Removal, Schedule, ScheduleRef};
use crate::actions::{self, Action, Outcome, Session, kinds};
use crate::cli::Command;
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

pub(super) async fn run(ctx: &CommandContext, command: &Command) -> Result<Exit, CommandError> {
    let Command::Schedules {
        remove,
        pause,
        resume,
        skip,
        postpone,
        until,
        ignore_missing,
        dry_run,
    } = command
    else {
        unreachable!("dispatched on Command::Schedules")
    };
    // Wrong use is refused before connecting.
    let retime = match (pause, resume, skip, postpone) {
        (v, ..) if !v.is_empty() => Some((v, Timing::Pause)),
        (_, v, ..) if !v.is_empty() => Some((v, Timing::Resume)),
        (_, _, v, _) if !v.is_empty() => Some((v, Timing::Skip)),
        (.., v) if !v.is_empty() => {
            let text = until.as_deref().unwrap_or_default();
            let at = parse_until(text, Utc::now()).map_err(CommandError::Usage)?;
            Some((v, Timing::Postpone(at)))
        }
        _ => None,
    };
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    if !remove.is_empty() {
        let refs: Vec<ScheduleRef> = remove.iter().map(|v| parse_ref(v)).collect();
        let removal = remove_refs(&session, refs, *ignore_missing).await?;
        report_removal(&removal);
    }
    if let Some((values, timing)) = retime {
        let refs: Vec<ScheduleRef> = values.iter().map(|v| parse_ref(v)).collect();
        if *dry_run {
            return retime_dry_run(ctx, &session, refs, timing, *ignore_missing).await;
        }
        let retimed = retime_refs(&session, refs, timing, *ignore_missing).await?;
        report_retimed(&retimed, timing);
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

/// `--until`: `+DURATION` from now, a timestamp with an offset, or a
/// local date and time; it must lie ahead, and before the pause sentinel.
fn parse_until(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let at = if let Some(duration) = text.strip_prefix('+') {
        let duration = crate::settings::duration::parse_duration(duration)
            .map_err(|e| format!("--until {text:?}: {e}"))?;
        chrono::Duration::from_std(duration)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .ok_or_else(|| format!("--until {text:?}: too far ahead; use --pause"))?
    } else if let Some(at) = crate::events::parse_timestamp(text) {
        at.with_timezone(&Utc)
    } else {
        let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(text.trim(), f).ok())
            .ok_or_else(|| {
                format!(
                    "--until {text:?}: expected +DURATION (+90m, +2h, +1d), a time with an offset (2026-12-24T08:00:00Z) or a local time (2026-12-24 08:00)"
                )
            })?;
        match Local.from_local_datetime(&naive) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            _ => {
                return Err(format!(
                    "--until {text:?}: that local time is ambiguous or skipped (a clock change); give an offset"
                ));
            }
        }
    };
    if at <= now {
        return Err(format!("--until {text:?} is not in the future"));
    }
    if is_paused(&at) {
        return Err(format!("--until {text:?} is too far ahead; use --pause"));
    }
    Ok(at)
}

fn retime_action(refs: Vec<ScheduleRef>, timing: Timing) -> Action {
    match timing {
        Timing::Pause => kinds::PauseSchedules { refs }.into(),
        Timing::Resume => kinds::ResumeSchedules { refs }.into(),
        Timing::Skip => kinds::SkipSchedules { refs }.into(),
        Timing::Postpone(until) => kinds::PostponeSchedules { refs, until }.into(),
    }
}

fn retimed(outcome: Outcome) -> Retimed {
    match outcome {
        Outcome::SchedulesPaused(r)
        | Outcome::SchedulesResumed(r)
        | Outcome::SchedulesSkipped(r)
        | Outcome::SchedulesPostponed(r) => r,
        other => unreachable!("a retiming action returned {other:?}"),
    }
}

fn unmatched_error(unmatched: &[ScheduleRef], what: &str) -> CommandError {
    CommandError::Other(format!(
        "no schedule matches {}; nothing was {what} (use --ignore-missing to {} the others)",
        quoted_list(unmatched),
        if what == "removed" {
            "remove"
        } else {
            "change"
        }
    ))
}

/// As [`remove_refs`]: strict, or with `--ignore-missing` retried with the
/// refs that matched.
async fn retime_refs(
    session: &Session,
    mut refs: Vec<ScheduleRef>,
    timing: Timing,
    ignore_missing: bool,
) -> Result<Retimed, CommandError> {
    let mut missing: Vec<ScheduleRef> = Vec::new();
    for _ in 0..MAX_REMOVAL_ROUNDS {
        let action = retime_action(refs.clone(), timing);
        let mut done = retimed(actions::execute(session, &action, false).await?);
        if done.applied {
            done.unmatched = missing;
            return Ok(done);
        }
        if !ignore_missing {
            return Err(unmatched_error(&done.unmatched, "changed"));
        }
        refs.retain(|r| !done.unmatched.contains(r));
        missing.extend(done.unmatched);
        if refs.is_empty() {
            return Ok(Retimed {
                moved: Vec::new(),
                unmatched: missing,
                applied: true,
            });
        }
    }
    Err(CommandError::Other(
        "schedules kept changing; run it again".into(),
    ))
}

/// The statements (from the action's own preview, so they are what runs),
/// the values they would bind, and where each schedule would move.
async fn retime_dry_run(
    ctx: &CommandContext,
    session: &Session,
    refs: Vec<ScheduleRef>,
    timing: Timing,
    ignore_missing: bool,
) -> Result<Exit, CommandError> {
    let action = retime_action(refs.clone(), timing);
    let would = retimed(actions::execute(session, &action, true).await?);
    if !would.unmatched.is_empty() && !ignore_missing {
        return Err(unmatched_error(&would.unmatched, "changed"));
    }
    let matched: Vec<ScheduleRef> = refs
        .into_iter()
        .filter(|r| !would.unmatched.contains(r))
        .collect();
    let preview = retime_action(matched, timing).preview(session).await?;
    let moves: Vec<serde_json::Value> = would
        .moved
        .iter()
        .map(|m| {
            serde_json::json!({
                "id": m.schedule.id,
                "entrypoint": m.schedule.entrypoint,
                "expression": m.schedule.expression,
                "next_run": iso(&m.schedule.next_run),
                "new_next_run": iso(&m.next_run),
                "paused": is_paused(&m.next_run),
            })
        })
        .collect();
    if ctx.json {
        output::stdout_exact(&output::json_line(&serde_json::json!({
            "action": timing.flag().trim_start_matches('-'),
            "dry_run": true,
            "statements": preview.statements,
            "parameters": preview.parameters,
            "schedules": moves,
        })));
    } else {
        let mut text = String::new();
        for sql in &preview.statements {
            text.push_str(sql);
            text.push_str(";\n");
        }
        for p in &preview.parameters {
            text.push_str(&format!("-- {p}\n"));
        }
        for m in &would.moved {
            text.push_str(&format!(
                "-- {} {} ({}): {} → {}\n",
                m.schedule.id,
                m.schedule.entrypoint,
                m.schedule.expression,
                describe(&m.schedule.next_run),
                describe(&m.next_run)
            ));
        }
        text.push_str(&format!(
            "-- would {} {} (dry run: nothing changed)\n",
            timing.verb(),
            plural(would.moved.len(), "schedule")
        ));
        output::stdout(&text);
    }
    Ok(Exit::Ok)
}

/// `Paused 2 schedules: 3 (* * * * * tick) → paused, …` on stderr.
fn report_retimed(retimed: &Retimed, timing: Timing) {
    let items: Vec<String> = retimed
        .moved
        .iter()
        .map(|m| {
            format!(
                "{} ({} {}) → {}",
                m.schedule.id,
                m.schedule.expression,
                m.schedule.entrypoint,
                describe(&m.next_run)
            )
        })
        .collect();
    let verb = match timing {
        Timing::Pause => "Paused",
        Timing::Resume => "Resumed",
        Timing::Skip => "Skipped the next run of",
        Timing::Postpone(_) => "Postponed",
    };
    let head = format!("{verb} {}", plural(items.len(), "schedule"));
    if items.is_empty() {
        output::status(&format!("{head}."));
    } else {
        output::status(&format!("{head}: {}", items.join(", ")));
    }
    for r in &retimed.unmatched {
        output::note(&format!("no schedule matches '{r}'"));
    }
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
            return Err(unmatched_error(&removal.unmatched, "removed"));
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
                if s.is_paused() {
                    "paused".into()
                } else {
                    local(&s.next_run)
                },
                s.last_run.as_ref().map(local).unwrap_or_default(),
                s.status.clone().unwrap_or_default(),
                s.entrypoint.clone(),
                match &row.next_fires {
                    _ if s.is_paused() => "paused".into(),
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
        // A paused schedule fires at none of its expression's times.
        _ if s.is_paused() => (serde_json::Value::from(Vec::<String>::new()), None),
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
        "paused": s.is_paused(),
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
