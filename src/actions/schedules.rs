//! Schedules: list `pgqueuer_schedules` and remove rows by id or entrypoint.
//! (Owned by the schedules work; see `list` and `remove`.)

use super::{ActionError, Outcome, Session};

/// A `--remove` value: digits are an id, anything else an entrypoint name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleRef {
    Id(i64),
    Entrypoint(String),
}

pub(super) async fn list(_session: &Session) -> Result<Outcome, ActionError> {
    todo!("schedules listing")
}

pub(super) async fn remove(
    _session: &Session,
    _refs: &[ScheduleRef],
    _dry_run: bool,
) -> Result<Outcome, ActionError> {
    todo!("schedules removal")
}

/// Rows of the schedules table (filled in by the schedules work).
#[derive(Debug, Clone, Default)]
pub struct ScheduleListing {}

/// What a removal removed (filled in by the schedules work).
#[derive(Debug, Clone, Default)]
pub struct Removal {}
