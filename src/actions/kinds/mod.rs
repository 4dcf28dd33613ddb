//! Every action pgq runs, one file each, registered once in the list below.
//!
//! Adding an action is a file here (a type implementing [`Act`], with its sample) plus one
//! line in `register!`: that line gives the console its [`Action`] variant
//! (named like the type) and its [`Outcome`] variant (named on the right).

use super::preview::Preview;
use super::{Act, ActionError, Session};
use crate::settings::names::ObjectNames;

/// The four job changes by selection (cancel, delete, purge, requeue) are
/// one shape: a selection, the bound the operator confirmed, and
/// `job_removal` doing the work for their kind of [`Removal`]. One
/// definition, so they cannot drift apart.
macro_rules! job_change {
    ($(#[$doc:meta])* $Type:ident, $removal:expr, $sample:expr) => {
        use crate::actions::jobs::removal::{self, Bound, Removal, Removed};
        use crate::actions::jobs::selection::JobSelection;
        use crate::actions::preview::Preview;
        use crate::actions::{Act, ActionError, Session};
        use crate::settings::names::ObjectNames;

        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $Type {
            pub selection: JobSelection,
            /// What the operator confirmed (a filter's count): acted within.
            pub bound: Option<Bound>,
        }

        impl $Type {
            const REMOVAL: Removal = $removal;
        }

        impl Act for $Type {
            type Output = Removed;
            const MUTATES: bool = true;
            const DRY_RUN: bool = true;

            fn sample() -> Self {
                $Type {
                    selection: $sample,
                    bound: None,
                }
            }

            fn command_line(&self, names: &ObjectNames) -> String {
                removal::command_line(names, Self::REMOVAL, &self.selection)
            }

            fn outcome_text(&self, removed: &Removed) -> String {
                removed.summary()
            }

            fn sentence(r: &Removed) -> Option<String> {
                Some(format!(
                    "{} {}",
                    r.removal.past(),
                    crate::output::plural(r.count as usize, "job")
                ))
            }

            /// By filter it goes batch by batch through what may be millions of jobs.
            fn long_running(&self) -> bool {
                !self.selection.is_ids()
            }

            async fn perform(&self, session: &Session, dry_run: bool) -> Result<Removed, ActionError> {
                removal::remove(
                    session,
                    Self::REMOVAL,
                    &self.selection,
                    self.bound,
                    dry_run,
                    &mut removal::batch_done,
                )
                .await
            }

            async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
                let line = self.command_line(&session.names);
                removal::preview(session, Self::REMOVAL, &self.selection, line).await
            }
        }

        impl super::JobChange for $Type {
            fn within(self, bound: Option<Bound>) -> Self {
                $Type { bound, ..self }
            }
        }
    };
}

/// A job change by selection ([`CancelJobs`], [`DeleteJobs`], [`PurgeJobs`],
/// [`RequeueJobs`]), to be run within the bound its count confirmed.
pub trait JobChange: Act<Output = super::jobs::removal::Removed> + Clone {
    fn within(self, bound: Option<super::jobs::removal::Bound>) -> Self;
}

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
                timing::summary(self.timing(), retimed)
            }

            fn sentence(retimed: &Retimed) -> Option<String> {
                let timing: Timing = $timing;
                Some(timing::sentence(timing, retimed))
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

macro_rules! register {
    ($($module:ident :: $Type:ident => $Out:ident,)*) => {
        $(
            pub mod $module;
            pub use $module::$Type;
        )*

        /// Any action: what the console passes to its database task.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Action {
            $($Type($Type),)*
        }

        /// Any action's output: what the console's database task sends back.
        #[derive(Debug)]
        pub enum Outcome {
            $($Out(<$Type as Act>::Output),)*
        }

        impl Outcome {
            /// What a change did, in one line (see [`Act::sentence`]).
            pub fn sentence(&self) -> Option<String> {
                match self {
                    $(Outcome::$Out(o) => <$Type as Act>::sentence(o),)*
                }
            }
        }

        $(
            impl From<$Type> for Action {
                fn from(action: $Type) -> Action {
                    Action::$Type(action)
                }
            }
        )*

        impl Action {
            /// One sample of every registered action (see [`Act::sample`]).
            pub fn samples() -> Vec<Action> {
                vec![$(<$Type as Act>::sample().into(),)*]
            }

            pub fn mutates(&self) -> bool {
                match self {
                    $(Action::$Type(_) => <$Type as Act>::MUTATES,)*
                }
            }

            /// Runs on a connection of its own in the console (see [`Act::RUNS_ALONE`]).
            pub fn runs_alone(&self) -> bool {
                match self {
                    $(Action::$Type(_) => <$Type as Act>::RUNS_ALONE,)*
                }
            }

            pub fn supports_dry_run(&self) -> bool {
                match self {
                    $(Action::$Type(_) => <$Type as Act>::DRY_RUN,)*
                }
            }

            pub fn command_line(&self, names: &ObjectNames) -> String {
                match self {
                    $(Action::$Type(a) => a.command_line(names),)*
                }
            }

            pub async fn execute(
                &self,
                session: &Session,
                dry_run: bool,
            ) -> Result<Outcome, ActionError> {
                match self {
                    $(Action::$Type(a) => super::run(session, a, dry_run).await.map(Outcome::$Out),)*
                }
            }

            /// The action as confirmed: a removal by filter acts within the
            /// bound its preview counted (other actions are unchanged).
            pub fn within(self, bound: Option<super::preview::Bound>) -> Action {
                match self {
                    Action::CancelJobs(a) => Action::CancelJobs(CancelJobs { bound, ..a }),
                    Action::PurgeJobs(a) => Action::PurgeJobs(PurgeJobs { bound, ..a }),
                    Action::DeleteJobs(a) => Action::DeleteJobs(DeleteJobs { bound, ..a }),
                    Action::RequeueJobs(a) => Action::RequeueJobs(RequeueJobs { bound, ..a }),
                    other => other,
                }
            }

            pub async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
                match self {
                    $(Action::$Type(a) => a.preview(session).await,)*
                }
            }
        }
    };
}

register! {
    install::Install => Installed,
    uninstall::Uninstall => Uninstalled,
    upgrade::Upgrade => Upgraded,
    verify::Verify => Verified,
    set_durability::SetDurability => DurabilitySet,
    autovac::Autovac => AutovacSet,
    enqueue::Enqueue => Enqueued,
    dashboard::Dashboard => Dashboard,
    list_failed::ListFailed => Failed,
    requeue::Requeue => Requeued,
    stale::Stale => Stale,
    workers::Workers => Workers,
    last_picked::LastPicked => LastPicked,
    backlog::Backlog => Backlog,
    queue_stats::QueueStats => QueueStats,
    server_version::ServerVersion => ServerVersion,
    list_schedules::ListSchedules => Schedules,
    remove_schedules::RemoveSchedules => SchedulesRemoved,
    run_schedules_now::RunSchedulesNow => SchedulesDue,
    pause_schedules::PauseSchedules => SchedulesPaused,
    resume_schedules::ResumeSchedules => SchedulesResumed,
    skip_schedules::SkipSchedules => SchedulesSkipped,
    postpone_schedules::PostponeSchedules => SchedulesPostponed,
    table_info::TableInfo => Tables,
    held_jobs::HeldJobs => HeldJobs,
    queue_metrics::QueueMetrics => QueueMetrics,
    missing_tables::MissingTables => MissingTables,
    latency::LatencyPercentiles => Latency,
    list_jobs::ListJobs => Jobs,
    job_detail::ShowJob => Job,
    cancel::CancelJobs => Canceled,
    delete::DeleteJobs => Deleted,
    purge::PurgeJobs => Purged,
    requeue_jobs::RequeueJobs => RequeuedJobs,
    prune::Prune => Pruned,
    size::Size => Size,
    list_tables::ListTables => TableObjects,
    throughput::Throughput => Throughput,
    list_log::ListLog => LogRows,
    why::Why => Why,
    check::Check => Checked,
}
