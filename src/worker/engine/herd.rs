//! Damping the NOTIFY herd.
//!
//! Every INSERT into the queue table NOTIFYs every listening worker, and the
//! table event says nothing about the job (no id, no entrypoint), so each
//! woken worker runs a dequeue and all but one come back empty. With N
//! workers that is N dequeues (and N probes) per job.
//!
//! Two things keep a worker from dequeuing for nothing:
//!
//! - **Its own jobs' announcements.** An event's `sent_at` is the inserting
//!   transaction's `now()`, which is also the `created` of every job that
//!   INSERT made (PGQueuer's and pgq's enqueues leave `created` to its
//!   default). A worker remembers the `created` of the jobs it claimed; an
//!   event that matches one announces a job it already has (it committed
//!   while this worker's dequeue was on its way, and the NOTIFY came after
//!   the answer), so it wakes nothing. Events that do not match are *news*.
//! - **Lost races.** A worker whose dequeue, woken by news, claimed nothing
//!   has lost a race (a sibling, maybe a Python worker, took the job, or it
//!   was for another entrypoint) and goes quiet for a short window,
//!   ignoring further wakes; a wake that arrived meanwhile is kept (tokio's
//!   `Notify` stores one permit) and answered by a single dequeue when the
//!   window ends, so nothing announced is forgotten. The window doubles
//!   with each loss up to [`MAX_QUIET`] and is jittered so quiet workers do
//!   not come back in step; a dequeue that claims a job ends the quiet (and
//!   takes one step off the window the next loss starts from). Workers that win stay
//!   eager, so a homogeneous fleet keeps at least one worker answering every
//!   NOTIFY at once, and the job's latency is the winner's, as before.
//!
//! The window never exceeds the wait the worker would otherwise have made
//! before re-polling (the dequeue timeout, a deferred job's due time, or the
//! 0.1 s re-poll when capacity held work back), so no job waits longer than
//! the worker's own poll allows; the cap is the 0.1 s re-poll interval.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use crate::db::jitter::jittered;
use chrono::{DateTime, Utc};

/// The first quiet window after a loss.
const FIRST_QUIET: Duration = Duration::from_millis(2);
/// The longest quiet window: the engine's shortest re-poll interval.
pub(super) const MAX_QUIET: Duration = Duration::from_millis(100);

/// Table events the router received and the serve loop has not looked at.
#[derive(Debug, Default)]
pub(super) struct Announcements {
    /// `sent_at` of INSERT events.
    stamps: Vec<DateTime<Utc>>,
    /// Another event that may mean work (a DELETE freeing a capacity slot,
    /// a TRUNCATE, an overflow of `stamps`): always news.
    other: bool,
}

/// More unread INSERT events than this are simply news (the serve loop
/// reads them every round; this only bounds memory).
const MAX_UNREAD: usize = 1024;
/// Claimed `created` stamps remembered: a few hundred jobs' worth of
/// batches, far more than can be announced while one dequeue runs.
const REMEMBERED: usize = 1024;

impl Announcements {
    pub(super) fn insert(&mut self, sent_at: DateTime<Utc>) {
        if self.stamps.len() < MAX_UNREAD {
            self.stamps.push(sent_at);
        } else {
            self.other = true;
        }
    }

    pub(super) fn other(&mut self) {
        self.other = true;
    }

    /// Forget what was announced (a dequeue about to run covers it).
    pub(super) fn clear(&mut self) {
        *self = Announcements::default();
    }
}

/// The `created` stamps of jobs this worker claimed lately.
#[derive(Debug, Default)]
pub(super) struct Claimed {
    order: VecDeque<DateTime<Utc>>,
    set: HashSet<DateTime<Utc>>,
}

impl Claimed {
    pub(super) fn note(&mut self, created: DateTime<Utc>) {
        if !self.set.insert(created) {
            return;
        }
        self.order.push_back(created);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
    }

    /// Read (and clear) the unread announcements: `None` when there were
    /// none, else whether any is news (not about a job claimed here).
    pub(super) fn read(&self, unread: &mut Announcements) -> Option<bool> {
        let a = std::mem::take(unread);
        if !a.other && a.stamps.is_empty() {
            return None;
        }
        Some(a.other || a.stamps.iter().any(|s| !self.set.contains(s)))
    }
}

#[derive(Debug, Default)]
pub(super) struct Damper {
    /// The race is lost: wakes wait for a quiet window.
    lost: bool,
    /// How crowded the race has been: +1 per loss, -1 per win. A worker
    /// that wins once in a while (coming back from a quiet window just as a
    /// job arrives) keeps its window, rather than ramping up again from
    /// 2 ms at a wasted dequeue per step.
    losses: u32,
}

impl Damper {
    /// A dequeue round ended: `news_woken` when news started it, `claimed`
    /// the jobs it took.
    pub(super) fn record(&mut self, news_woken: bool, claimed: usize) {
        if claimed > 0 {
            self.lost = false;
            self.losses = self.losses.saturating_sub(1);
        } else if news_woken {
            self.lost = true;
            self.losses = self.losses.saturating_add(1);
        }
    }

    /// Whether the last event-woken round lost (so wakes wait for the window).
    pub(super) fn lost(&self) -> bool {
        self.lost
    }

    /// How long to ignore wakes now, jittered to 50–150 % of the nominal
    /// window (at most [`MAX_QUIET`]); `None` unless the last round lost.
    pub(super) fn quiet(&self) -> Option<Duration> {
        if !self.lost {
            return None;
        }
        let nominal = self.nominal()?;
        Some(jittered(nominal, 0.5).min(MAX_QUIET))
    }

    fn nominal(&self) -> Option<Duration> {
        let doublings = self.losses.checked_sub(1)?.min(16);
        Some(FIRST_QUIET.saturating_mul(1 << doublings).min(MAX_QUIET))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_win_or_a_timer_poll_leaves_the_worker_eager() {
        let mut d = Damper::default();
        d.record(false, 0);
        assert_eq!(d.quiet(), None);
        d.record(true, 3);
        assert_eq!(d.quiet(), None);
        d.record(true, 0);
        assert!(d.quiet().is_some());
    }

    fn at(micros: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(1_800_000_000_000_000 + micros).unwrap()
    }

    #[test]
    fn an_announcement_of_a_job_claimed_here_is_no_news() {
        let mut claimed = Claimed::default();
        let mut unread = Announcements::default();
        assert_eq!(claimed.read(&mut unread), None, "nothing announced");
        claimed.note(at(1));
        unread.insert(at(1));
        assert_eq!(claimed.read(&mut unread), Some(false));
        assert_eq!(claimed.read(&mut unread), None, "reading clears");
        unread.insert(at(1));
        unread.insert(at(2));
        assert_eq!(claimed.read(&mut unread), Some(true));
        unread.other();
        assert_eq!(claimed.read(&mut unread), Some(true));
    }

    #[test]
    fn memory_is_bounded_and_forgets_the_oldest_first() {
        let mut claimed = Claimed::default();
        let mut unread = Announcements::default();
        for i in 0..(REMEMBERED as i64 + 10) {
            claimed.note(at(i));
            claimed.note(at(i)); // a batch shares its stamp
        }
        assert_eq!(claimed.order.len(), REMEMBERED);
        unread.insert(at(0));
        assert_eq!(claimed.read(&mut unread), Some(true), "forgotten");
        unread.insert(at(REMEMBERED as i64));
        assert_eq!(claimed.read(&mut unread), Some(false));
        for i in 0..(MAX_UNREAD as i64 + 1) {
            unread.insert(at(REMEMBERED as i64 + i % 5));
        }
        assert!(unread.other, "an overflow is news");
    }

    #[test]
    fn consecutive_losses_double_the_window_up_to_the_cap_and_a_win_resets_it() {
        let mut d = Damper::default();
        let mut nominal = Vec::new();
        for _ in 0..10 {
            d.record(true, 0);
            nominal.push(d.nominal().unwrap().as_millis());
        }
        assert_eq!(nominal, [2, 4, 8, 16, 32, 64, 100, 100, 100, 100]);
        for _ in 0..100 {
            let q = d.quiet().unwrap();
            assert!(q >= Duration::from_millis(50) && q <= MAX_QUIET, "{q:?}");
        }
        d.record(false, 1);
        assert!(!d.lost());
        assert_eq!(d.quiet(), None);
        // A win only takes one step off the memory of the crowd: the next
        // loss is quiet for long at once.
        d.record(true, 0);
        assert_eq!(d.nominal().unwrap().as_millis(), 100);
        for _ in 0..10 {
            d.record(false, 1);
        }
        d.record(true, 0);
        assert_eq!(
            d.nominal().unwrap().as_millis(),
            2,
            "a long winning run forgets"
        );
    }

    #[test]
    fn many_losses_do_not_overflow() {
        let mut d = Damper {
            lost: true,
            losses: u32::MAX - 1,
        };
        d.record(true, 0);
        d.record(true, 0);
        assert_eq!(d.nominal(), Some(MAX_QUIET));
    }
}
