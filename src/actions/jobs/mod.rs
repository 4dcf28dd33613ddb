//! Jobs: the one filter and selection, listing and detail (browse), enqueue and
//! requeue, cancel/delete/purge by selection (removal), payload display.

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
                    &crate::actions::batches::watched(),
                )
                .await
            }

            async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
                let line = self.command_line(&session.names);
                removal::preview(session, Self::REMOVAL, &self.selection, line).await
            }
        }

        impl crate::actions::jobs::JobChange for $Type {
            fn within(self, bound: Option<Bound>) -> Self {
                $Type { bound, ..self }
            }
        }
    };
}

pub mod browse;
pub mod enqueue;
pub mod filter;
pub mod json_indent;
pub mod payload;
pub mod queue_row;
pub mod removal;
pub mod selection;

// The job actions (registered in `actions::kinds`).
pub mod cancel;
pub mod delete;
pub mod held_jobs;
pub mod job_detail;
pub mod list_failed;
pub mod list_jobs;
pub mod list_log;
pub mod purge;
pub mod requeue;
pub mod requeue_jobs;
pub mod stale;

/// A job change by selection ([`CancelJobs`], [`DeleteJobs`], [`PurgeJobs`],
/// [`RequeueJobs`]), to be run within the bound its count confirmed.
pub trait JobChange: crate::actions::Act<Output = removal::Removed> + Clone {
    fn within(self, bound: Option<removal::Bound>) -> Self;
}
