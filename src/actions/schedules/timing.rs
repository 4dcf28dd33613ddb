//! When a schedule fires: pause, resume, skip and postpone by moving
//! `next_run`.
//!
//! The expression belongs to the scheduler's code (editing it would orphan
//! the row: the scheduler claims only the (entrypoint, expression) pairs it
//! registered), but *when* a row is claimed is the database's: a scheduler
//! claims it once `status = 'queued' AND next_run <= now()`. So a pause is
//! a `next_run` no scheduler reaches, and every other move is a `next_run`
//! computed from the expression with croniter's semantics (`cron.rs`).
//! Re-registering on restart keeps an existing row (`ON CONFLICT DO
//! NOTHING`), so all of these survive a scheduler restart — except under
//! `clean_old`, which deletes and re-inserts the rows.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::actions::preview::{Preview, list};
pub use crate::actions::schedules::{PAUSED_NEXT_RUN, is_paused, paused_next_run};
use crate::actions::schedules::{Schedule, ScheduleRef, split_refs};
use crate::actions::{ActionError, Finish, Session};
use crate::cron;
use crate::db::statements::Statement;
use crate::output::plural;

/// Where a schedule's `next_run` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// To the sentinel: no scheduler claims it.
    Pause,
    /// To the expression's next fire from now.
    Resume,
    /// Past the next fire: to the one after it. A paused schedule stays
    /// paused (there is no run to skip).
    Skip,
    /// To this instant.
    Postpone(DateTime<Utc>),
}

impl Timing {
    /// The verb, for questions and reports (`pause`, `postpone`, …).
    pub fn verb(self) -> &'static str {
        match self {
            Timing::Pause => "pause",
            Timing::Resume => "resume",
            Timing::Skip => "skip the next run of",
            Timing::Postpone(_) => "postpone",
        }
    }

    /// The `pgq schedules` flag that asks for it.
    pub fn flag(self) -> &'static str {
        match self {
            Timing::Pause => "--pause",
            Timing::Resume => "--resume",
            Timing::Skip => "--skip",
            Timing::Postpone(_) => "--postpone",
        }
    }

    /// The new `next_run` of `schedule` as of `now`.
    pub fn next_run(
        self,
        schedule: &Schedule,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, ActionError> {
        let fires = |n: usize| {
            cron::next_fires(&schedule.expression, now, n).map_err(|e| {
                ActionError::Selection(format!(
                    "schedule {} ({} {}): {e}",
                    schedule.id, schedule.expression, schedule.entrypoint
                ))
            })
        };
        Ok(match self {
            Timing::Pause => paused_next_run(),
            Timing::Resume => first(fires(1)?, schedule)?,
            Timing::Skip if is_paused(&schedule.next_run) => schedule.next_run,
            Timing::Skip => {
                // The run to skip is the pending one: an overdue or
                // postponed `next_run` if there is one, else the next fire.
                let pending = if schedule.next_run > now {
                    schedule.next_run
                } else {
                    first(fires(1)?, schedule)?
                };
                let after = cron::next_fires(&schedule.expression, pending, 1).unwrap_or_default();
                first(after, schedule)?
            }
            Timing::Postpone(at) => at,
        })
    }
}

fn first(fires: Vec<DateTime<Utc>>, schedule: &Schedule) -> Result<DateTime<Utc>, ActionError> {
    fires.first().copied().ok_or_else(|| {
        ActionError::Selection(format!(
            "schedule {} ({} {}) has no further fire time",
            schedule.id, schedule.expression, schedule.entrypoint
        ))
    })
}

/// One schedule moved: the row before, and its new `next_run`.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub schedule: Schedule,
    pub next_run: DateTime<Utc>,
}

/// What a pause, resume, skip or postpone changed.
#[derive(Debug, Clone, Default)]
pub struct Retimed {
    pub moved: Vec<Moved>,
    /// Refs that matched no row, in the order given.
    pub unmatched: Vec<ScheduleRef>,
    /// False when nothing was committed: a dry run, or some ref matched
    /// nothing (then `moved` lists what *would* have moved).
    pub applied: bool,
}

/// What a retiming did to how many (the console and the audit log).
pub fn sentence(timing: Timing, retimed: &Retimed) -> String {
    if !retimed.applied {
        return "nothing changed".into();
    }
    let done = match timing {
        Timing::Pause => "paused",
        Timing::Resume => "resumed",
        Timing::Skip => "skipped the next run of",
        Timing::Postpone(_) => "postponed",
    };
    format!(
        "{done} {}",
        crate::output::plural(retimed.moved.len(), "schedule")
    )
}

/// Lock the rows ($1: ids, $2: entrypoint names).
pub fn lock_sql(session: &Session) -> String {
    Statement::LockSchedules.render(&session.names)
}

/// Set each row's `next_run` ($1: ids, $2: the new next_run of each).
pub fn set_sql(session: &Session) -> String {
    Statement::SetSchedulesNextRun.render(&session.names)
}

/// Move the `next_run` of every schedule whose id or entrypoint is in
/// `refs`. The rows are locked, their new times computed from what they
/// hold, and written in one statement; committed only when every ref
/// matched (and this is not a dry run), as a removal is.
pub(in crate::actions) async fn retime(
    session: &Session,
    refs: &[ScheduleRef],
    timing: Timing,
    dry_run: bool,
) -> Result<Retimed, ActionError> {
    let (ids, entrypoints) = split_refs(refs);
    let context = format!("{} schedules", timing.flag().trim_start_matches('-'));
    let err = |context: &str| {
        let context = context.to_string();
        move |source| ActionError::Db { context, source }
    };
    session
        .transaction(&context, async || {
            let rows = session
                .apply(&lock_sql(session), &[&ids, &entrypoints])
                .await
                .map_err(crate::actions::schedules::map_err(session, &context))?;
            let schedules = rows
                .iter()
                .map(Schedule::from_row)
                .collect::<Result<Vec<_>, _>>()
                .map_err(err("reading schedules"))?;
            let now = Utc::now();
            let moved = schedules
                .into_iter()
                .map(|schedule| {
                    let next_run = timing.next_run(&schedule, now)?;
                    Ok(Moved { schedule, next_run })
                })
                .collect::<Result<Vec<_>, ActionError>>()?;
            let (moved_ids, next_runs): (Vec<i64>, Vec<DateTime<Utc>>) =
                moved.iter().map(|m| (m.schedule.id, m.next_run)).unzip();
            session
                .apply(&set_sql(session), &[&moved_ids, &next_runs])
                .await
                .map_err(err(&context))?;
            let unmatched: Vec<ScheduleRef> = refs
                .iter()
                .filter(|r| !moved.iter().any(|m| m.schedule.matches(r)))
                .cloned()
                .collect();
            let applied = !dry_run && unmatched.is_empty();
            let retimed = Retimed {
                moved,
                unmatched,
                applied,
            };
            Ok(if applied {
                Finish::Commit(retimed)
            } else {
                Finish::Rollback(retimed)
            })
        })
        .await
}

/// `pgq schedules --pause 3 --pause nightly` (the flag repeated per ref).
pub fn command_args(refs: &[ScheduleRef], timing: Timing) -> String {
    let mut args: Vec<String> = refs
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                timing.flag(),
                crate::actions::jobs::enqueue::shell_quote(&r.to_string())
            )
        })
        .collect();
    if let Timing::Postpone(at) = timing {
        args.push(format!(
            "--until {}",
            at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        ));
    }
    format!("schedules {}", args.join(" "))
}

/// The confirmation: which schedules move where, and the statements with
/// the values a run now would bind (computed by a dry run).
pub(in crate::actions) async fn preview(
    session: &Session,
    refs: &[ScheduleRef],
    timing: Timing,
    command_line: String,
) -> Result<Preview, ActionError> {
    let Retimed { moved, .. } = retime(session, refs, timing, true).await?;
    let what: Vec<String> = moved
        .iter()
        .map(|m| {
            let s = &m.schedule;
            format!(
                "{} {} ({}) → {}",
                s.id,
                s.entrypoint,
                s.expression,
                describe(&m.next_run)
            )
        })
        .collect();
    let verb = timing.verb();
    let mut verb_chars = verb.chars();
    let verb: String = verb_chars
        .next()
        .map(|c| c.to_uppercase().chain(verb_chars).collect())
        .unwrap_or_default();
    let question = format!(
        "{verb} {}: {}?",
        plural(moved.len(), "schedule"),
        list(&what)
    );
    let mut p = Preview::new(
        question,
        vec![
            "BEGIN".into(),
            lock_sql(session),
            set_sql(session),
            "COMMIT".into(),
        ],
        command_line,
    );
    let (ids, names) = split_refs(refs);
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let moved_ids: Vec<String> = moved.iter().map(|m| m.schedule.id.to_string()).collect();
    let next_runs: Vec<String> = moved.iter().map(|m| sql_time(&m.next_run)).collect();
    p.parameters = vec![
        format!(
            "lock: $1 = {{{}}}, $2 = {{{}}}",
            ids.join(","),
            names.join(",")
        ),
        format!(
            "set: $1 = {{{}}}, $2 = {{{}}}",
            moved_ids.join(","),
            next_runs.join(",")
        ),
    ];
    p.nothing_to_do = moved.is_empty();
    p.warning = Some(match timing {
        Timing::Pause | Timing::Postpone(_) => "A scheduler registered with clean_old=True deletes and re-inserts its rows when it starts, which undoes this.".into(),
        Timing::Resume | Timing::Skip => "Times are computed now, in UTC as PGQueuer evaluates cron.".into(),
    });
    Ok(p)
}

/// A new `next_run` in words: `paused`, or the UTC time.
pub fn describe(next_run: &DateTime<Utc>) -> String {
    if is_paused(next_run) {
        "paused".into()
    } else {
        next_run.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    }
}

/// A timestamp as PostgreSQL reads it back (`9999-12-31 00:00:00+00`).
pub fn sql_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.f+00").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn schedule(expression: &str, next_run: DateTime<Utc>) -> Schedule {
        Schedule {
            id: 1,
            expression: expression.into(),
            heartbeat: next_run,
            created: next_run,
            updated: next_run,
            next_run,
            last_run: None,
            status: Some("queued".into()),
            entrypoint: "tick".into(),
        }
    }

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).unwrap()
    }

    #[test]
    fn pause_is_a_date_every_driver_reads() {
        assert_eq!(paused_next_run().to_rfc3339(), "9999-12-31T00:00:00+00:00");
        assert!(is_paused(&paused_next_run()));
        assert!(!is_paused(&at(12, 0)));
        assert_eq!(sql_time(&paused_next_run()), PAUSED_NEXT_RUN);
    }

    #[test]
    fn resume_and_skip_follow_the_expression() {
        let hourly = schedule("0 * * * *", at(12, 0));
        let now = at(12, 30);
        assert_eq!(Timing::Resume.next_run(&hourly, now).unwrap(), at(13, 0));
        // Overdue (12:00 passed): the pending run is 13:00, skip it.
        assert_eq!(Timing::Skip.next_run(&hourly, now).unwrap(), at(14, 0));
        // Postponed to 15:30: that is the pending run; the fire after it.
        let postponed = schedule("0 * * * *", at(15, 30));
        assert_eq!(Timing::Skip.next_run(&postponed, now).unwrap(), at(16, 0));
        let paused = schedule("0 * * * *", paused_next_run());
        assert_eq!(
            Timing::Skip.next_run(&paused, now).unwrap(),
            paused_next_run()
        );
        assert_eq!(Timing::Resume.next_run(&paused, now).unwrap(), at(13, 0));
        assert_eq!(
            Timing::Pause.next_run(&hourly, now).unwrap(),
            paused_next_run()
        );
    }
}
