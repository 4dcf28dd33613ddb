//! The action layer: every operation that touches the database.
//!
//! An [`Action`] is a typed request; [`execute`] runs it against a [`Session`]
//! and returns a typed [`Outcome`]. Scripted commands and the console build the
//! same actions, so there is one place that decides what SQL runs, one place
//! that refuses mutations in read-only mode and on a hot standby, and one place
//! that words errors.
//! A dry run goes through the same code and stops before applying, so a preview
//! is exactly what would run.

pub mod jobs;
pub mod preview;
pub mod record;
pub mod reports;
pub mod schedules;
pub mod schema;
pub mod stats;
pub mod tables;

use crate::db::connect::Connection;
use crate::schema::plan::DriftError;
use crate::settings::durability::Durability;
use crate::settings::names::ObjectNames;

pub use schema::{DurabilityChange, VerifyReport};

/// A connected session on one PGQueuer installation.
pub struct Session {
    pub conn: Connection,
    pub names: ObjectNames,
    /// Connection label without the password (`user@host:port/db`).
    pub target: String,
    /// Refuse every mutating action (console `--read-only`, config contexts).
    pub read_only: bool,
}

impl Session {
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.conn.client
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Expect {
    Present,
    Absent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Install {
        durability: Durability,
        create_schema: bool,
    },
    Uninstall,
    /// Converge any earlier schema to 1.6.0. `durability` only applies to tables
    /// that must be created; existing tables keep their persistence.
    Upgrade {
        durability: Durability,
        widen_id: bool,
    },
    Verify {
        expect: Expect,
        strict: bool,
    },
    SetDurability {
        level: Durability,
        /// Give up when a table lock is not granted in time (None: wait forever).
        lock_timeout: Option<std::time::Duration>,
    },
    Autovac {
        rollback: bool,
    },
    /// Insert jobs in one statement (the caller chunks large batches).
    Enqueue {
        jobs: Vec<jobs::JobSpec>,
        on_conflict: jobs::Conflict,
    },
    /// Statistics buckets (aggregated plus not-yet-aggregated log rows) and the
    /// per-entrypoint summary; reads only.
    Dashboard {
        limit: u32,
    },
    ListFailed {
        limit: u32,
    },
    Requeue {
        ids: Vec<i64>,
    },
    Stale {
        threshold: std::time::Duration,
        limit: u32,
    },
    Workers,
    Backlog,
    /// Depth, age and windowed completions per entrypoint (console Stats tab).
    QueueStats {
        window: stats::StatsWindow,
    },
    /// The server's version string (console status bar).
    ServerVersion,
    ListSchedules,
    RemoveSchedules {
        refs: Vec<schedules::ScheduleRef>,
    },
    /// Set `next_run` to now so the registered scheduler fires them at once.
    RunSchedulesNow {
        ids: Vec<i64>,
    },
    /// Persistence, size and estimated rows of the four tables.
    TableInfo,
    /// Held (`failed`) jobs with their last traceback.
    HeldJobs {
        limit: u32,
    },
}

impl Action {
    /// Whether the action changes the database (read-only mode refuses these).
    pub fn mutates(&self) -> bool {
        !matches!(
            self,
            Action::Verify { .. }
                | Action::Dashboard { .. }
                | Action::ListFailed { .. }
                | Action::Stale { .. }
                | Action::Workers
                | Action::Backlog
                | Action::QueueStats { .. }
                | Action::ServerVersion
                | Action::ListSchedules
                | Action::TableInfo
                | Action::HeldJobs { .. }
        )
    }

    /// Whether `execute(…, dry_run = true)` stops before changing anything.
    /// Actions without a dry run are previewed by [`preview::preview`] from
    /// their SQL builders instead.
    pub fn supports_dry_run(&self) -> bool {
        !self.mutates()
            || matches!(
                self,
                Action::Install { .. }
                    | Action::Uninstall
                    | Action::Upgrade { .. }
                    | Action::SetDurability { .. }
                    | Action::Autovac { .. }
                    | Action::RemoveSchedules { .. }
            )
    }

    /// The scripted command that performs this action.
    pub fn command_line(&self) -> String {
        match self {
            Action::Install {
                durability,
                create_schema,
            } => format!(
                "pgq install --durability {durability}{}",
                if *create_schema {
                    ""
                } else {
                    " --no-create-schema"
                }
            ),
            Action::Uninstall => "pgq uninstall".into(),
            Action::Upgrade { widen_id, .. } => format!(
                "pgq upgrade{}",
                if *widen_id { "" } else { " --no-widen-id" }
            ),
            Action::Verify { expect, strict } => format!(
                "pgq verify --expect {}{}",
                match expect {
                    Expect::Present => "present",
                    Expect::Absent => "absent",
                },
                if *strict { " --strict" } else { "" }
            ),
            Action::SetDurability {
                level,
                lock_timeout,
            } => format!(
                "pgq alter-durability {level}{}",
                match lock_timeout {
                    Some(t) => format!(" --lock-timeout {}", t.as_secs_f64()),
                    None => " --lock-timeout 0".into(),
                }
            ),
            Action::Autovac { rollback } => {
                format!("pgq autovac{}", if *rollback { " --rollback" } else { "" })
            }
            Action::Enqueue { jobs, on_conflict } => jobs::command_line(jobs, *on_conflict),
            Action::Dashboard { limit } => format!("pgq dashboard -n {limit}"),
            Action::ListFailed { limit } => format!("pgq failed -n {limit}"),
            Action::Requeue { ids } => {
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                format!("pgq requeue {}", ids.join(" "))
            }
            Action::Stale { threshold, limit } => {
                format!("pgq stale -t {} -n {limit}", threshold.as_secs_f64())
            }
            Action::Workers => "pgq workers".into(),
            Action::Backlog => "pgq backlog".into(),
            Action::QueueStats { .. } => "pgq dashboard".into(),
            Action::ServerVersion => "psql -c 'SHOW server_version'".into(),
            Action::ListSchedules => "pgq schedules".into(),
            Action::RemoveSchedules { refs } => {
                let args: Vec<String> = refs
                    .iter()
                    .map(|r| match r {
                        schedules::ScheduleRef::Id(id) => format!("--remove {id}"),
                        schedules::ScheduleRef::Entrypoint(e) => format!("--remove {e}"),
                    })
                    .collect();
                format!("pgq schedules {}", args.join(" "))
            }
            Action::RunSchedulesNow { ids } => {
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                format!(
                    "psql -c \"UPDATE pgqueuer_schedules SET next_run = now() WHERE id IN ({})\"",
                    ids.join(", ")
                )
            }
            Action::TableInfo => "pgq verify --expect present --strict".into(),
            Action::HeldJobs { limit } => format!("pgq failed -n {limit}"),
        }
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// Install ran (or, on a dry run, would run) these statements as one batch.
    Installed {
        durability: Durability,
        statements: Vec<String>,
        applied: bool,
    },
    Uninstalled {
        statements: Vec<String>,
        applied: bool,
    },
    Upgraded {
        plan: crate::schema::plan::Plan,
        applied: bool,
        /// The declared durability the plan was made with (for the plan header).
        durability: Durability,
    },
    Verified(VerifyReport),
    DurabilitySet {
        level: Durability,
        changes: Vec<DurabilityChange>,
        statements: Vec<String>,
        applied: bool,
        elapsed: std::time::Duration,
    },
    AutovacSet {
        rollback: bool,
        statements: Vec<String>,
        applied: bool,
    },
    Enqueued(jobs::EnqueueResult),
    Dashboard(reports::DashboardReport),
    Failed(Vec<reports::FailedJob>),
    Requeued {
        requested: usize,
        requeued: Vec<i64>,
    },
    Stale(Vec<reports::StaleJob>),
    Workers(Vec<reports::WorkerRow>),
    Backlog(Vec<reports::BacklogRow>),
    QueueStats(stats::QueueStats),
    ServerVersion(String),
    /// Schedules: defined by the schedules action module.
    Schedules(schedules::ScheduleListing),
    SchedulesRemoved(schedules::Removal),
    SchedulesDue {
        requested: usize,
        due: Vec<i64>,
    },
    Tables(tables::TablesReport),
    HeldJobs(Vec<tables::HeldJob>),
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("PgQueuer is already installed ({names}). Run 'pgq upgrade' to bring it up to date.")]
    AlreadyInstalled { names: String },
    #[error("PgQueuer is not installed ({names}): missing {missing}. Run 'pgq install' first.")]
    NotInstalled { names: String, missing: String },
    #[error("schema {schema:?} does not exist; create it or drop --no-create-schema")]
    MissingSchema { schema: String },
    #[error(transparent)]
    Drift(#[from] DriftError),
    #[error("{action} has no dry run")]
    NoDryRun { action: String },
    #[error(
        "role \"{role}\" lacks privileges on the PgQueuer installation: {missing} (grant them, or connect as a role that has them)",
        missing = .missing.join("; ")
    )]
    MissingPrivileges { role: String, missing: Vec<String> },
    #[error("refused: {action} changes the database and this session is read-only")]
    ReadOnly { action: String },
    #[error("refused: {action} changes the database and {reason}", reason = crate::db::recovery::standby_reason(.target))]
    Standby { action: String, target: String },
    #[error("{context}: {source}", source = DbErrorText(.source))]
    Db {
        context: String,
        #[source]
        source: tokio_postgres::Error,
    },
}

/// Lives in `db/` (the listener needs it too); re-exported for the actions.
pub use crate::db::error_text::DbErrorText;

pub(crate) fn db_err(
    context: impl Into<String>,
) -> impl FnOnce(tokio_postgres::Error) -> ActionError {
    let context = context.into();
    move |source| ActionError::Db { context, source }
}

/// Refuse a write up front on a hot standby, which would otherwise fail
/// part-way with an error that does not say why. Asked before each write
/// rather than once per session, so a standby promoted meanwhile is writable.
pub(crate) async fn refuse_on_standby(
    session: &Session,
    action: impl FnOnce() -> String,
) -> Result<(), ActionError> {
    let standby = crate::db::recovery::in_recovery(session.client())
        .await
        .map_err(db_err("checking whether the server is a standby"))?;
    if standby {
        return Err(ActionError::Standby {
            action: action(),
            target: session.target.clone(),
        });
    }
    Ok(())
}

/// Run `action`; with `dry_run`, compute exactly what would run and stop there.
pub async fn execute(
    session: &Session,
    action: &Action,
    dry_run: bool,
) -> Result<Outcome, ActionError> {
    if dry_run && !action.supports_dry_run() {
        return Err(ActionError::NoDryRun {
            action: action.command_line(),
        });
    }
    if action.mutates() && session.read_only && !dry_run {
        return Err(ActionError::ReadOnly {
            action: action.command_line(),
        });
    }
    if action.mutates() && !dry_run {
        refuse_on_standby(session, || action.command_line()).await?;
    }
    match action {
        Action::Install {
            durability,
            create_schema,
        } => schema::install(session, *durability, *create_schema, dry_run).await,
        Action::Uninstall => schema::uninstall(session, dry_run).await,
        Action::Upgrade {
            durability,
            widen_id,
        } => schema::upgrade(session, *durability, *widen_id, dry_run).await,
        Action::Verify { expect, strict } => schema::verify(session, *expect, *strict).await,
        Action::SetDurability {
            level,
            lock_timeout,
        } => schema::set_durability(session, *level, *lock_timeout, dry_run).await,
        Action::Autovac { rollback } => schema::autovac(session, *rollback, dry_run).await,
        Action::Enqueue { jobs, on_conflict } => jobs::enqueue(session, jobs, *on_conflict).await,
        Action::Dashboard { limit } => reports::dashboard(session, *limit).await,
        Action::ListFailed { limit } => reports::failed(session, *limit).await,
        Action::Requeue { ids } => jobs::requeue(session, ids).await,
        Action::Stale { threshold, limit } => reports::stale(session, *threshold, *limit).await,
        Action::Workers => reports::workers(session).await,
        Action::Backlog => reports::backlog(session).await,
        Action::QueueStats { window } => stats::queue_stats(session, *window).await,
        Action::ServerVersion => session
            .client()
            .query_one("SELECT current_setting('server_version')", &[])
            .await
            .map(|row| Outcome::ServerVersion(row.get(0)))
            .map_err(db_err("reading the server version")),
        Action::ListSchedules => schedules::list(session).await,
        Action::RemoveSchedules { refs } => schedules::remove(session, refs, dry_run).await,
        Action::RunSchedulesNow { ids } => schedules::run_now(session, ids).await,
        Action::TableInfo => tables::table_info(session).await,
        Action::HeldJobs { limit } => tables::held_jobs(session, *limit).await,
    }
}
