//! The action layer: every operation that touches the database.
//!
//! Each action is a type in [`kinds`] implementing [`Act`]: whether it
//! mutates, whether it has a dry run, its equivalent `pgq …` command line,
//! its preview, and what it does, returning its own typed output. [`run`]
//! runs one against a [`Session`]; it is the one place that refuses
//! mutations in read-only mode and on a hot standby. Scripted commands and
//! the console build the same actions, so there is one place that decides
//! what SQL runs and one place that words errors. The console, which passes
//! actions over a channel, uses the [`Action`] and [`Outcome`] enums that
//! [`kinds`] generates from its registry.
//! A dry run goes through the same code and stops before applying, so a
//! preview is exactly what would run.

pub mod audit;
pub mod batches;
pub mod jobs;
pub mod kinds;
pub mod preview;
pub mod record;
pub mod reports;
pub mod retention;
pub mod schedules;
pub mod schema;
pub mod session;

use crate::schema::plan::DriftError;
use crate::settings::names::ObjectNames;

pub use kinds::{Action, Outcome};
pub use schema::{DurabilityChange, VerifyReport};
pub use session::{Finish, Session};

/// One action: everything pgq knows about it lives in its implementation.
/// `Into<Action>` comes from the registry in [`kinds`], so an action that is
/// not registered does not compile.
// Callers always name the concrete type (through `run` or the registry), so
// whether a future is `Send` is known where it matters without a bound here.
#[allow(async_fn_in_trait)]
pub trait Act: Into<Action> {
    /// What [`run`] returns.
    type Output;
    /// Changes the database: refused in read-only mode and on a standby,
    /// confirmed with a preview in the console.
    const MUTATES: bool;
    /// `run(…, dry_run = true)` stops before changing anything. Mutations
    /// without one are previewed from their SQL builders instead.
    const DRY_RUN: bool = !Self::MUTATES;

    /// An instance for the checks that must cover every action (read-only
    /// refusal, dry runs): being here, a new action cannot slip past them.
    fn sample() -> Self;

    /// The scripted command that does exactly this, for `names`.
    fn command_line(&self, names: &ObjectNames) -> String;

    /// What the action does; called by [`run`] once the refusals passed.
    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Self::Output, ActionError>;

    /// What a change did, in one line (counts rather than rows): the
    /// console's dialog, flash line and SQL log, and the audit log, all say
    /// this.
    fn outcome_text(&self, _output: &Self::Output) -> String {
        "done".into()
    }

    /// May run for minutes, batch after batch (a prune; a job change by
    /// filter): the audit log also says when it started, and the console
    /// runs it on a connection of its own, so the tabs keep refreshing
    /// meanwhile and its dialog can be sent away.
    fn long_running(&self) -> bool {
        false
    }

    /// What the action will do, before it runs (the console's confirmation).
    async fn preview(&self, session: &Session) -> Result<preview::Preview, ActionError> {
        Ok(preview::Preview::read_only(
            self.command_line(&session.names),
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Expect {
    Present,
    Absent,
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
    /// The database holds objects no release pgq knows has: never changed.
    #[error(
        "refused: the database holds a PGQueuer schema newer than {written}, the one pgq writes, so pgq changes none of it (reading works as usual). Newer than {written}:\n  {}",
        .objects.join("\n  "),
        written = crate::schema::generations::WRITTEN
    )]
    NewerSchema { objects: Vec<String> },
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
    /// Needs session state a transaction pooler does not keep.
    #[error("refused through a transaction pooler: {0}")]
    NeedsSession(String),
    #[error(transparent)]
    Filter(#[from] jobs::filter::FilterError),
    #[error("job {id} is neither in the queue nor in the log")]
    UnknownJob { id: i64 },
    #[error("no schedule of entrypoint {entrypoint:?}")]
    UnknownSchedule { entrypoint: String },
    #[error(
        "the search was stopped after {seconds}s (it scans payloads and headers): narrow it with a status, entrypoint, priority or id, or raise the search timeout"
    )]
    SearchTimedOut { seconds: f64 },
    /// A selection that cannot be used (empty filter, wrong status): wrong use.
    #[error("{0}")]
    Selection(String),
    /// Jobs given by id that are not there (in the statuses the operation
    /// touches); nothing was changed.
    #[error(
        "no {wanted} job with id {ids}; nothing was {verb}",
        ids = .ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
    )]
    UnknownJobs {
        wanted: String,
        ids: Vec<i64>,
        verb: String,
    },
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

/// Refuse a write up front: in a read-only session, and on a hot standby,
/// which would otherwise fail part-way with an error that does not say why.
/// The standby is asked before each write rather than once per session, so a
/// standby promoted meanwhile is writable. The one place writes are refused.
pub(crate) async fn refuse_writes(
    session: &Session,
    action: impl Fn() -> String,
) -> Result<(), ActionError> {
    if session.read_only {
        return Err(ActionError::ReadOnly { action: action() });
    }
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
pub async fn run<A: Act>(
    session: &Session,
    action: &A,
    dry_run: bool,
) -> Result<A::Output, ActionError> {
    let command_line = || action.command_line(&session.names);
    if dry_run && !A::DRY_RUN {
        return Err(ActionError::NoDryRun {
            action: command_line(),
        });
    }
    if A::MUTATES && !dry_run {
        refuse_writes(session, command_line).await?;
        // A dry run changes nothing, so only real changes are audited.
        return audit::audited(session, action, action.perform(session, false)).await;
    }
    action.perform(session, dry_run).await
}

/// [`run`] for an action passed as the [`Action`] enum (the console's channel).
pub async fn execute(
    session: &Session,
    action: &Action,
    dry_run: bool,
) -> Result<Outcome, ActionError> {
    action.execute(session, dry_run).await
}

/// `pgq` with the global flags that select `names`' installation, then `rest`.
pub fn pgq(names: &ObjectNames, rest: &str) -> String {
    let mut line = String::from("pgq");
    if let Some(schema) = &names.schema {
        line.push_str(&format!(" --schema {}", jobs::enqueue::shell_quote(schema)));
    }
    if !names.prefix.is_empty() {
        line.push_str(&format!(
            " --prefix {}",
            jobs::enqueue::shell_quote(&names.prefix)
        ));
    }
    format!("{line} {rest}")
}

/// A `psql` command line running `statements` in order: the exact
/// equivalent of the few actions that have no pgq command.
pub fn psql(statements: &[String]) -> String {
    let mut line = String::from("psql");
    for sql in statements {
        line.push_str(" -c ");
        line.push_str(&jobs::enqueue::shell_quote(sql));
    }
    line
}

/// `sql` with its placeholders `$1`, `$2`, … replaced by `literals` (SQL
/// literals), for a command line that runs it by hand.
pub fn bind(sql: &str, literals: &[String]) -> String {
    // Highest first, so `$1` never eats the start of `$12`.
    literals
        .iter()
        .enumerate()
        .rev()
        .fold(sql.to_string(), |sql, (i, literal)| {
            sql.replace(&format!("${}", i + 1), literal)
        })
}
