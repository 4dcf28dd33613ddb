//! Damping the NOTIFY herd.
//!
//! Every INSERT into the queue table NOTIFYs every listening worker, and the
//! table event says nothing about the job (no id, no entrypoint), so each
//! woken worker runs a dequeue and all but one come back empty. With N
//! workers that is N dequeues (and N probes) per job.
//!
//! The damper lets the fleet sort itself out without talking: a worker
//! whose NOTIFY-woken dequeue claimed nothing has *lost* a race (a sibling,
//! maybe a Python worker, took the job, or it was for another entrypoint)
//! and goes quiet for a short window, ignoring further wakes; a wake that
//! arrived meanwhile is kept (tokio's `Notify` stores one permit) and
//! answered by a single dequeue when the window ends, so nothing announced
//! is forgotten. The window doubles with each consecutive loss up to
//! [`MAX_QUIET`] and is jittered so the quiet workers do not come back in
//! step; a dequeue that claims a job ends the quiet (and halves the window
//! the next loss starts from). Workers that win stay
//! eager, so a homogeneous fleet keeps at least one worker answering every
//! NOTIFY at once, and the job's latency is the winner's, as before.
//!
//! The window never exceeds the wait the worker would otherwise have made
//! before re-polling (the dequeue timeout, a deferred job's due time, or the
//! 0.1 s re-poll when capacity held work back), so no job waits longer than
//! the worker's own poll allows; the cap is the 0.1 s re-poll interval.

use std::time::Duration;

use uuid::Uuid;

/// The first quiet window after a loss.
const FIRST_QUIET: Duration = Duration::from_millis(2);
/// The longest quiet window: the engine's shortest re-poll interval.
pub(super) const MAX_QUIET: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub(super) struct Damper {
    /// The last event-woken round claimed nothing: wakes wait.
    lost: bool,
    /// How crowded the race has been: +1 per loss, halved per win. A
    /// worker that wins once in a while (coming back from a quiet window
    /// just as a job arrives) keeps most of its window, rather than
    /// ramping up again from 2 ms at a dequeue per step.
    losses: u32,
}

impl Damper {
    /// A dequeue round ended: `event_woken` when a table event started it,
    /// `claimed` the jobs it took.
    pub(super) fn record(&mut self, event_woken: bool, claimed: usize) {
        if claimed > 0 {
            self.lost = false;
            self.losses /= 2;
        } else if event_woken {
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
        let unit = (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
        Some(nominal.mul_f64(0.5 + unit).min(MAX_QUIET))
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
        // A win halves the memory of the crowd: the next loss is quiet for
        // long at once.
        d.record(true, 0);
        assert_eq!(d.nominal().unwrap().as_millis(), 64);
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
