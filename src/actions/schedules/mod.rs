//! Schedules: list the schedules table and remove rows by id or entrypoint.
//!
//! Rows are written by PGQueuer's scheduler (one per registered
//! (expression, entrypoint)); pgq reads and deletes them, and moves their
//! `next_run` (`schedule_timing.rs`: pause, resume, skip). Listing order
//! is PGQueuer's (`ORDER BY last_run ASC`, never-run rows last) with the id
//! as a tie-breaker so the output is stable.

/// Pause, resume and skip are one shape: schedule refs and a [`Timing`]
/// that `schedule_timing` applies (postpone adds its instant).
macro_rules! schedule_retiming {
    ($Type:ident, $timing:expr) => {
        use crate::actions::preview::Preview;
        use crate::actions::schedules::ScheduleRef;
        use crate::actions::schedules::timing::{self, Retimed, Timing, command_args};
        use crate::actions::{Act, ActionError, Session, pgq};
        use crate::settings::names::ObjectNames;

        #[derive(Debug, Clone, PartialEq)]
        pub struct $Type {
            pub refs: Vec<ScheduleRef>,
        }

        impl $Type {
            fn timing(&self) -> Timing {
                $timing
            }
        }

        impl Act for $Type {
            type Output = Retimed;
            const MUTATES: bool = true;
            const DRY_RUN: bool = true;

            fn sample() -> Self {
                $Type {
                    refs: vec![ScheduleRef::Entrypoint("nightly".into())],
                }
            }

            fn command_line(&self, names: &ObjectNames) -> String {
                pgq(names, &command_args(&self.refs, self.timing()))
            }

            fn outcome_text(&self, retimed: &Retimed) -> String {
                timing::sentence(self.timing(), retimed)
            }

            async fn perform(
                &self,
                session: &Session,
                dry_run: bool,
            ) -> Result<Retimed, ActionError> {
                timing::retime(session, &self.refs, self.timing(), dry_run).await
            }

            async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
                let line = self.command_line(&session.names);
                timing::preview(session, &self.refs, self.timing(), line).await
            }
        }
    };
}

pub mod timing;

// The schedule actions (registered in `actions::kinds`).
pub mod list_schedules;
pub mod pause_schedules;
pub mod postpone_schedules;
pub mod remove_schedules;
pub mod resume_schedules;
pub mod run_schedules_now;
pub mod skip_schedules;
use crate::actions::session::missing_schema_or;
use chrono::{DateTime, TimeZone, Utc};
use tokio_postgres::Row;

use super::{ActionError, Finish, Session};
use crate::cron;
use crate::db::rows;
use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

/// How many upcoming fire times a listing shows per schedule.
pub const NEXT_FIRES: usize = 3;

/// The `next_run` of a paused schedule, as PostgreSQL writes it. A real
/// date rather than `infinity`, which Python's drivers cannot turn into a
/// `datetime`; midnight so that converting it to any local time zone
/// (at most +14:00) stays within `datetime.max`.
pub const PAUSED_NEXT_RUN: &str = "9999-12-31 00:00:00+00";

/// [`PAUSED_NEXT_RUN`] as a timestamp.
pub fn paused_next_run() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .expect("a valid date")
}

/// Paused: `next_run` at (or, written by hand, beyond) the sentinel.
pub fn is_paused(next_run: &DateTime<Utc>) -> bool {
    *next_run >= paused_next_run()
}

/// A `--remove` value: digits are an id, anything else an entrypoint name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleRef {
    Id(i64),
    Entrypoint(String),
}

impl std::fmt::Display for ScheduleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleRef::Id(id) => write!(f, "{id}"),
            ScheduleRef::Entrypoint(name) => f.write_str(name),
        }
    }
}

/// One row of the schedules table.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub id: i64,
    pub expression: String,
    pub heartbeat: DateTime<Utc>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub next_run: DateTime<Utc>,
    pub last_run: Option<DateTime<Utc>>,
    /// Nullable in the table (PGQueuer's DDL has no NOT NULL on it).
    pub status: Option<String>,
    pub entrypoint: String,
}

impl Schedule {
    /// Paused by pgq: `next_run` at the far-future sentinel.
    pub fn is_paused(&self) -> bool {
        is_paused(&self.next_run)
    }

    pub(super) fn from_row(row: &Row) -> Result<Schedule, tokio_postgres::Error> {
        Ok(Schedule {
            id: row.try_get("id")?,
            expression: row.try_get("expression")?,
            heartbeat: row.try_get("heartbeat")?,
            created: row.try_get("created")?,
            updated: row.try_get("updated")?,
            next_run: row.try_get("next_run")?,
            last_run: row.try_get("last_run")?,
            status: row.try_get("status")?,
            entrypoint: row.try_get("entrypoint")?,
        })
    }

    pub(super) fn matches(&self, r: &ScheduleRef) -> bool {
        match r {
            ScheduleRef::Id(id) => self.id == *id,
            ScheduleRef::Entrypoint(name) => self.entrypoint == *name,
        }
    }
}

/// A schedule with its next fire times (UTC, as PGQueuer evaluates cron), or
/// why they cannot be computed (an expression pgq cannot evaluate).
#[derive(Debug, Clone, PartialEq)]
pub struct ListedSchedule {
    pub schedule: Schedule,
    pub next_fires: Result<Vec<DateTime<Utc>>, cron::CronError>,
}

#[derive(Debug, Clone, Default)]
pub struct ScheduleListing {
    pub rows: Vec<ListedSchedule>,
    /// The instant the next fire times are computed from.
    pub as_of: DateTime<Utc>,
}

/// What a removal removed.
#[derive(Debug, Clone, Default)]
pub struct Removal {
    pub removed: Vec<Schedule>,
    /// Refs that matched no row, in the order given.
    pub unmatched: Vec<ScheduleRef>,
    /// False when nothing was committed: a dry run, or some ref matched
    /// nothing (then `removed` lists what *would* have been removed).
    pub applied: bool,
}

/// A missing table means no (complete) installation: say what to run (as
/// every action does, see `missing_schema_or`).
pub(super) fn map_err<'a>(
    session: &'a Session,
    context: &'a str,
) -> impl FnOnce(tokio_postgres::Error) -> ActionError + 'a {
    move |source| missing_schema_or(session, source, context)
}

pub(super) async fn list(session: &Session) -> Result<ScheduleListing, ActionError> {
    // Columns in PGQueuer's order (as removal returns them); the status enum
    // as text, so it reads into a String whatever the enum's (prefixed) name.
    let sql = Statement::ListSchedules.render(&session.names);
    let rows = session.read_rows(&sql, &[], "listing schedules").await?;
    let schedules = rows
        .iter()
        .map(Schedule::from_row)
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err(session, "reading schedules"))?;
    let as_of = Utc::now();
    let rows = schedules
        .into_iter()
        .map(|schedule| ListedSchedule {
            next_fires: cron::next_fires(&schedule.expression, as_of, NEXT_FIRES),
            schedule,
        })
        .collect();
    Ok(ScheduleListing { rows, as_of })
}

/// Delete every schedule whose id or entrypoint is in `refs`, in one
/// statement. All or nothing: the delete runs in a transaction that is
/// committed only when every ref matched at least one row (and this is not a
/// dry run), so a typo never removes half of what was asked. Callers that
/// want "remove whatever matches" call again with the matched refs.
pub(super) async fn remove(
    session: &Session,
    refs: &[ScheduleRef],
    dry_run: bool,
) -> Result<Removal, ActionError> {
    let (ids, entrypoints) = split_refs(refs);
    let sql = remove_sql(session);
    session
        .transaction("removing schedules", async || {
            let deleted = session
                .apply(&sql, &[&ids, &entrypoints])
                .await
                .map_err(map_err(session, "removing schedules"))?;
            let mut removed: Vec<Schedule> = deleted
                .iter()
                .map(Schedule::from_row)
                .collect::<Result<_, _>>()
                .map_err(map_err(session, "reading removed schedules"))?;
            removed.sort_by_key(|s| s.id);
            let unmatched: Vec<ScheduleRef> = refs
                .iter()
                .filter(|r| !removed.iter().any(|s| s.matches(r)))
                .cloned()
                .collect();
            let applied = !dry_run && unmatched.is_empty();
            let removal = Removal {
                removed,
                unmatched,
                applied,
            };
            Ok(if applied {
                Finish::Commit(removal)
            } else {
                Finish::Rollback(removal)
            })
        })
        .await
}

/// The removal statement ($1: ids, $2: entrypoint names).
pub fn remove_sql(session: &Session) -> String {
    Statement::RemoveSchedules.render(&session.names)
}

/// Make schedules due now ($1: ids): the scheduler that registered them
/// fires them at its next poll. Only idle (`queued`) schedules are touched;
/// a running one keeps its state.
pub fn run_now_sql(names: &ObjectNames) -> String {
    Statement::RunSchedulesNow.render(names)
}

/// Which of the schedules asked for were made due.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulesDue {
    pub requested: usize,
    pub due: Vec<i64>,
}

pub(super) async fn run_now(session: &Session, ids: &[i64]) -> Result<SchedulesDue, ActionError> {
    let rows = session
        .apply(&run_now_sql(&session.names), &[&ids])
        .await
        .map_err(map_err(session, "making schedules due"))?;
    Ok(SchedulesDue {
        requested: ids.len(),
        due: rows::all(&rows).map_err(map_err(session, "making schedules due"))?,
    })
}

pub(super) fn split_refs(refs: &[ScheduleRef]) -> (Vec<i64>, Vec<String>) {
    let mut ids = Vec::new();
    let mut entrypoints = Vec::new();
    for r in refs {
        match r {
            ScheduleRef::Id(id) => ids.push(*id),
            ScheduleRef::Entrypoint(name) => entrypoints.push(name.clone()),
        }
    }
    (ids, entrypoints)
}
