//! Every action pgq runs, registered once in the list below; each lives in its domain folder
//! (`jobs/`, `schema/`, `schedules/`, `reports/`, `retention/`).
//!
//! Adding an action is a type implementing [`Act`] (with its sample) in its domain, plus one
//! line in `register!`: that line gives the console its [`Action`] variant
//! (named like the type) and its [`Outcome`] variant (named on the right).

pub use super::jobs::JobChange;
use super::preview::Preview;
use super::{Act, ActionError, Session};
use crate::settings::names::ObjectNames;

macro_rules! register {
    ($($($domain:ident)/+ : $Type:ident => $Out:ident,)*) => {
        $(
            pub use crate::actions::$($domain)::+::$Type;
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

            /// What this action did, in one line (see [`Act::outcome_text`]);
            /// an outcome of another action (never sent) is shown as it is.
            pub fn outcome_text(&self, outcome: &Outcome) -> String {
                match (self, outcome) {
                    $((Action::$Type(a), Outcome::$Out(o)) => a.outcome_text(o),)*
                    (_, other) => format!("{other:?}"),
                }
            }

            pub fn mutates(&self) -> bool {
                match self {
                    $(Action::$Type(_) => <$Type as Act>::MUTATES,)*
                }
            }

            /// Runs on a connection of its own in the console: it may take
            /// minutes (see [`Act::long_running`]).
            pub fn runs_alone(&self) -> bool {
                match self {
                    $(Action::$Type(a) => a.long_running(),)*
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
    schema/install: Install => Installed,
    schema/uninstall: Uninstall => Uninstalled,
    schema/upgrade: Upgrade => Upgraded,
    schema/verify: Verify => Verified,
    schema/set_durability: SetDurability => DurabilitySet,
    schema/autovac: Autovac => AutovacSet,
    jobs/enqueue: Enqueue => Enqueued,
    reports/dashboard: Dashboard => Dashboard,
    jobs/list_failed: ListFailed => Failed,
    jobs/requeue: Requeue => Requeued,
    jobs/stale: Stale => Stale,
    reports/workers: Workers => Workers,
    reports/last_picked: LastPicked => LastPicked,
    reports/backlog: Backlog => Backlog,
    reports/queue_stats: QueueStats => QueueStats,
    schema/server_version: ServerVersion => ServerVersion,
    schedules/list_schedules: ListSchedules => Schedules,
    schedules/remove_schedules: RemoveSchedules => SchedulesRemoved,
    schedules/run_schedules_now: RunSchedulesNow => SchedulesDue,
    schedules/pause_schedules: PauseSchedules => SchedulesPaused,
    schedules/resume_schedules: ResumeSchedules => SchedulesResumed,
    schedules/skip_schedules: SkipSchedules => SchedulesSkipped,
    schedules/postpone_schedules: PostponeSchedules => SchedulesPostponed,
    schema/table_info: TableInfo => Tables,
    jobs/held_jobs: HeldJobs => HeldJobs,
    reports/queue_metrics: QueueMetrics => QueueMetrics,
    schema/missing_tables: MissingTables => MissingTables,
    reports/latency: LatencyPercentiles => Latency,
    jobs/list_jobs: ListJobs => Jobs,
    jobs/job_detail: ShowJob => Job,
    jobs/cancel: CancelJobs => Canceled,
    jobs/delete: DeleteJobs => Deleted,
    jobs/purge: PurgeJobs => Purged,
    jobs/requeue_jobs: RequeueJobs => RequeuedJobs,
    retention/prune: Prune => Pruned,
    schema/size: Size => Size,
    schema/list_tables: ListTables => TableObjects,
    reports/throughput: Throughput => Throughput,
    jobs/list_log: ListLog => LogRows,
    reports/why: Why => Why,
    reports/check: Check => Checked,
}
