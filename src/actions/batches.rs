//! Watching and stopping a change that works batch after batch (a prune, a
//! job change by filter): the caller runs the action inside [`watching`]
//! with a [`Batches`] it keeps a clone of; the action says how much there
//! is and how much it has done after each batch, and stops between two
//! batches when asked (a batch is never cut in half). One way for every
//! caller: the command line's progress bar and signal handler, the
//! console's status bar.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Shared progress and stop request of one running change; clones watch
/// the same run.
#[derive(Debug, Clone, Default)]
pub struct Batches {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl Batches {
    /// Finish the batch under way, then stop.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Rows (or jobs) done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// How many there are to do, once known (0 before).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    pub(crate) fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    pub(crate) fn add_done(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

tokio::task_local! {
    static WATCHED: Batches;
}

/// Run `work` (say `actions::run` of a prune) with `batches` watching the
/// batches of the change inside it: through the one door every action goes
/// through, without the action's own value carrying how it is watched.
pub async fn watching<F: Future>(batches: Batches, work: F) -> F::Output {
    WATCHED.scope(batches, work).await
}

/// The watch over the change running in this task: the caller's, or one
/// nobody reads when the caller set none.
pub(crate) fn watched() -> Batches {
    WATCHED.try_with(Batches::clone).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_reports_to_the_watch_it_runs_in_and_stops_when_asked() {
        let mine = Batches::default();
        let seen = watching(mine.clone(), async {
            let w = watched();
            w.set_total(30);
            w.add_done(10);
            mine.stop();
            w.stopping()
        })
        .await;
        assert!(seen, "the stop reached the running change");
        assert_eq!((mine.done(), mine.total()), (10, 30));
        let unwatched = watched();
        unwatched.add_done(5);
        assert_eq!(mine.done(), 10, "outside the scope nobody is watched");
    }
}
