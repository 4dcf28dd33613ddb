//! When the console LISTENs.
//!
//! Every NOTIFY is delivered to every listening backend: PostgreSQL signals
//! each one at every notifying commit, and the queue's tail cannot advance
//! until the slowest listener has read it. With 20 consoles open at 200
//! jobs/s that is 8,000 deliveries a second, and the workers' commits wait
//! on them (their pick p99 went from 3 to 29 ms). Yet on most tabs a NOTIFY
//! only makes the view due for a refresh, at most once a second; once the
//! queue changes more often than that, the events add nothing a refresh a
//! second does not show.
//!
//! So while no tab on screen shows events (the Events tab shows them, the
//! Workers tab counts workers by their health checks) and more than
//! [`BUSY_PER_SECOND`] arrive within a second, the console UNLISTENs and its
//! tabs refresh once a second by the clock. It LISTENs again when a tab that
//! shows events comes on screen, and every [`PAUSE_FOR`] (jittered) for a
//! second's sample: a queue that has calmed down is live again.

use std::time::{Duration, Instant};

use crate::db::jitter::jittered;

/// Events a second above which a console that shows none stops listening.
/// From about four a second the debounced refreshes already come once a
/// second, so nothing on screen changes above it; fifty keeps a small
/// queue (the demo's 20 jobs/s: about 40 events a second) and a burst (a
/// batch enqueue, a cancel) live, where twenty listeners cost the server
/// little.
pub const BUSY_PER_SECOND: u32 = 50;

/// How long arrivals are counted before the rate is judged.
const WINDOW: Duration = Duration::from_secs(1);

/// How long a first pause lasts before a second's sample (±20 %, so
/// consoles opened together do not sample in step); each sample that finds
/// the queue still busy doubles it, up to [`MAX_PAUSE`].
pub const PAUSE_FOR: Duration = Duration::from_secs(15);

/// The longest pause: a queue that calmed down is live again within a
/// minute, and a busy one is sampled a second a minute.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// What the db task does to its listening connection, and tells the UI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Stop listening (again, after a sample): `rate` events a second
    /// arrived with none on screen. The UI is told (the rate, after a
    /// sample).
    Unlisten { rate: u32 },
    /// Listen again, for good: a tab that shows events. The UI is told.
    Listen,
    /// Listen for a second's sample. The UI is not told: for it the pause
    /// goes on, and the sample's events are only counted, so the stretch
    /// not heard stays one stretch.
    Sample,
    /// The sample found the queue calm (or a tab that shows events came on
    /// screen during it): listening already, the UI is told.
    Resumed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Listening; `heard` events since `since`; `sample` while only
    /// sampling the rate during a pause.
    Listening {
        since: Instant,
        heard: u32,
        sample: bool,
    },
    /// Not listening until `until` (or until events are wanted).
    Paused { until: Instant },
}

#[derive(Debug, Clone)]
pub struct Listening {
    state: State,
    /// Whether a tab on screen shows events (they are never paused then).
    wanted: bool,
    /// The next pause's nominal length: doubled by each busy sample, back
    /// to [`PAUSE_FOR`] once events are wanted or the queue is calm.
    next_pause: Duration,
}

impl Listening {
    /// Listening (a new session listens from the start), with events
    /// `wanted` or not as the UI last said.
    pub fn new(now: Instant, wanted: bool) -> Listening {
        Listening {
            state: State::Listening {
                since: now,
                heard: 0,
                sample: false,
            },
            wanted,
            next_pause: PAUSE_FOR,
        }
    }

    #[cfg(test)]
    fn listening(&self) -> bool {
        matches!(self.state, State::Listening { .. })
    }

    /// Whether events heard now go to the UI (not during a sample).
    pub fn reports(&self) -> bool {
        matches!(self.state, State::Listening { sample: false, .. })
    }

    /// One event arrived.
    pub fn heard(&mut self) {
        if let State::Listening { heard, .. } = &mut self.state {
            *heard = heard.saturating_add(1);
        }
    }

    /// The UI says whether a tab on screen shows events; wanted ones end a
    /// pause at once.
    pub fn want(&mut self, wanted: bool, now: Instant) -> Option<Change> {
        self.wanted = wanted;
        if !wanted {
            return None;
        }
        match self.state {
            State::Paused { .. } => {
                self.next_pause = PAUSE_FOR;
                Some(self.listen(now, false))
            }
            State::Listening { sample: true, .. } => {
                self.next_pause = PAUSE_FOR;
                self.listen(now, false);
                Some(Change::Resumed)
            }
            State::Listening { sample: false, .. } => None,
        }
    }

    /// When [`Listening::check`] has something to decide.
    pub fn next_check(&self) -> Option<Instant> {
        match self.state {
            // While events are wanted nothing is judged: no wake-ups.
            State::Listening { .. } if self.wanted => None,
            State::Listening { since, .. } => Some(since + WINDOW),
            State::Paused { until } => Some(until),
        }
    }

    /// Judge the window that ended, or end the pause that ran out.
    pub fn check(&mut self, now: Instant) -> Option<Change> {
        match self.state {
            State::Listening {
                since,
                heard,
                sample,
            } if now >= since + WINDOW => {
                let elapsed = now.duration_since(since).as_secs_f64();
                let rate = (f64::from(heard) / elapsed).round() as u32;
                if !self.wanted && rate > BUSY_PER_SECOND {
                    self.state = State::Paused {
                        until: now + jittered(self.next_pause, 0.2),
                    };
                    self.next_pause = (self.next_pause * 2).min(MAX_PAUSE);
                    Some(Change::Unlisten { rate })
                } else {
                    self.next_pause = PAUSE_FOR;
                    self.listen(now, false);
                    sample.then_some(Change::Resumed)
                }
            }
            State::Paused { until } if now >= until => Some(self.listen(now, true)),
            _ => None,
        }
    }

    fn listen(&mut self, now: Instant, sample: bool) -> Change {
        self.state = State::Listening {
            since: now,
            heard: 0,
            sample,
        };
        if sample {
            Change::Sample
        } else {
            Change::Listen
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hear(l: &mut Listening, n: u32) {
        for _ in 0..n {
            l.heard();
        }
    }

    #[test]
    fn a_busy_queue_pauses_listening_only_while_no_tab_shows_events() {
        let t0 = Instant::now();
        let mut l = Listening::new(t0, true);
        // Wanted (the default): never judged, however busy.
        assert_eq!(l.next_check(), None);
        hear(&mut l, 400);
        assert_eq!(l.check(t0 + WINDOW), None);
        assert!(l.listening());

        // Not wanted: a busy second pauses it.
        assert_eq!(l.want(false, t0 + WINDOW), None);
        let t1 = t0 + WINDOW * 2;
        hear(&mut l, 400);
        assert_eq!(l.check(t1), Some(Change::Unlisten { rate: 400 }));
        assert!(!l.listening());
        // Arrivals while paused (a batch already on its way) change nothing.
        hear(&mut l, 5);
        let until = l.next_check().unwrap();
        assert!(until >= t1 + PAUSE_FOR.mul_f64(0.8) && until <= t1 + PAUSE_FOR.mul_f64(1.2));
        assert_eq!(l.check(until - Duration::from_millis(1)), None);

        // The sample after the pause (its events not reported): still
        // busy, paused again for twice as long, and so on up to a minute.
        assert_eq!(l.check(until), Some(Change::Sample));
        assert!(l.listening() && !l.reports());
        hear(&mut l, 60);
        assert_eq!(l.check(until + WINDOW), Some(Change::Unlisten { rate: 60 }));
        let second = l.next_check().unwrap() - (until + WINDOW);
        assert!(second >= PAUSE_FOR.mul_f64(1.6) && second <= PAUSE_FOR.mul_f64(2.4));
        let mut at = until + WINDOW;
        for _ in 0..3 {
            at = l.next_check().unwrap();
            assert_eq!(l.check(at), Some(Change::Sample));
            hear(&mut l, 60);
            at += WINDOW;
            assert_eq!(l.check(at), Some(Change::Unlisten { rate: 60 }));
        }
        let longest = l.next_check().unwrap() - at;
        assert!(longest >= MAX_PAUSE.mul_f64(0.8) && longest <= MAX_PAUSE.mul_f64(1.2));
        let until = at;
        // An Events tab on screen ends the pause at once.
        let t2 = until + WINDOW * 3;
        assert_eq!(l.want(true, t2), Some(Change::Listen));
        assert!(l.listening() && l.reports());
        assert_eq!(l.want(true, t2), None);
        // Or a sample under way: already listening, the UI is told.
        l.want(false, t2);
        hear(&mut l, 100);
        assert!(l.check(t2 + WINDOW).is_some());
        let at = l.next_check().unwrap();
        assert_eq!(l.check(at), Some(Change::Sample));
        assert_eq!(l.want(true, at), Some(Change::Resumed));
        assert!(l.reports());
    }

    #[test]
    fn a_calm_sample_or_a_wanted_tab_starts_the_pauses_short_again() {
        let t0 = Instant::now();
        let mut l = Listening::new(t0, true);
        l.want(false, t0);
        hear(&mut l, 100);
        assert!(l.check(t0 + WINDOW).is_some());
        let at = l.next_check().unwrap();
        assert_eq!(l.check(at), Some(Change::Sample));
        // Calm: listening stays (the UI is told), and the next busy spell
        // pauses 15 s.
        hear(&mut l, 2);
        assert_eq!(l.check(at + WINDOW), Some(Change::Resumed));
        assert!(l.reports());
        hear(&mut l, 100);
        assert!(l.check(at + WINDOW * 2).is_some());
        let pause = l.next_check().unwrap() - (at + WINDOW * 2);
        assert!(pause <= PAUSE_FOR.mul_f64(1.2), "{pause:?}");
        // Busy again: 30 s; then an Events tab and back: 15 s again.
        let at = l.next_check().unwrap();
        l.check(at);
        hear(&mut l, 100);
        assert!(l.check(at + WINDOW).is_some());
        assert_eq!(l.want(true, at + WINDOW * 2), Some(Change::Listen));
        l.want(false, at + WINDOW * 2);
        hear(&mut l, 100);
        assert!(l.check(at + WINDOW * 3).is_some());
        let pause = l.next_check().unwrap() - (at + WINDOW * 3);
        assert!(pause <= PAUSE_FOR.mul_f64(1.2), "{pause:?}");
    }

    #[test]
    fn a_calm_queue_stays_live() {
        let t0 = Instant::now();
        let mut l = Listening::new(t0, true);
        l.want(false, t0);
        hear(&mut l, BUSY_PER_SECOND);
        assert_eq!(l.check(t0 + WINDOW), None);
        assert!(l.listening());
        // The next window starts afresh: a late check spreads its count.
        hear(&mut l, 3 * BUSY_PER_SECOND);
        assert_eq!(l.check(t0 + WINDOW * 4), None);
        assert_eq!(l.next_check(), Some(t0 + WINDOW * 5));
        // Not judged before a whole window.
        hear(&mut l, 1000);
        assert_eq!(l.check(t0 + WINDOW * 4 + WINDOW / 2), None);
        assert!(l.listening());
    }
}
