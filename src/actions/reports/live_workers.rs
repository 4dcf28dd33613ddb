//! Workers that are alive, counted from the `health_check_event` NOTIFY
//! every PGQueuer queue manager (pgq's too) sends every 10 s.
//!
//! The probe's `id` is a fresh UUID per probe, not the queue manager id, so
//! it cannot tell workers apart. PostgreSQL delivers each notification with
//! the sending backend's pid, and a worker probes from one connection: a
//! sender is a backend pid. A notification without a pid (none that the
//! console or `pgq workers --watch` receive) counts by its probe id.
//!
//! Idle workers hold no picked rows, so the queue table cannot show them;
//! this is the only place they appear. A one-off probe (`pgq listen`, a
//! console checking its LISTEN) is marked as such and is not a worker.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::events::{Event, Received};

/// A worker probes every 10 s; 15 s leaves room for a late probe without
/// counting one worker twice (senders are distinct backends, not probes).
pub const ALIVE_WINDOW_SECONDS: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Sender {
    Backend(i32),
    Probe(Uuid),
}

/// When each sender's latest health check arrived.
#[derive(Debug, Clone, Default)]
pub struct HealthSenders {
    last: HashMap<Sender, DateTime<Utc>>,
}

impl HealthSenders {
    /// Record `received` if it is a health check; whether it was.
    pub fn heard(&mut self, received: &Received) -> bool {
        self.heard_within(
            received,
            std::time::Duration::from_secs(ALIVE_WINDOW_SECONDS as u64),
        )
    }

    /// The same, remembering senders for `keep` (a watch longer than the
    /// window counts everyone heard during it).
    pub fn heard_within(&mut self, received: &Received, keep: std::time::Duration) -> bool {
        let Event::HealthCheck {
            id, from_listener, ..
        } = &received.event
        else {
            return false;
        };
        if *from_listener {
            return true;
        }
        let sender = received
            .sender_pid
            .map_or(Sender::Probe(*id), Sender::Backend);
        let at = self.last.entry(sender).or_insert(received.received_at);
        *at = (*at).max(received.received_at);
        // Forget senders long gone, so the map stays as small as the fleet.
        let horizon = received.received_at - Duration::from_std(keep).unwrap_or(Duration::MAX);
        self.last.retain(|_, at| *at >= horizon);
        true
    }

    /// Distinct senders heard within `window` before `now`.
    pub fn alive_within(&self, now: DateTime<Utc>, window: Duration) -> usize {
        self.last.values().filter(|at| **at >= now - window).count()
    }

    /// Distinct senders heard in the last [`ALIVE_WINDOW_SECONDS`].
    pub fn alive(&self, now: DateTime<Utc>) -> usize {
        self.alive_within(now, Duration::seconds(ALIVE_WINDOW_SECONDS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn probe(at: DateTime<Utc>, pid: Option<i32>) -> Received {
        let raw = format!(
            r#"{{"channel":"ch","sent_at":"2026-11-27T12:00:00Z","type":"health_check_event","id":"{}"}}"#,
            Uuid::new_v4()
        );
        let r = Received::new(&raw, at);
        match pid {
            Some(pid) => r.from_backend(pid),
            None => r,
        }
    }

    #[test]
    fn one_worker_probing_every_ten_seconds_is_one() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let mut s = HealthSenders::default();
        for i in 0..5 {
            assert!(s.heard(&probe(t0 + Duration::seconds(10 * i), Some(41))));
            assert_eq!(s.alive(t0 + Duration::seconds(10 * i + 5)), 1);
        }
        s.heard(&probe(t0 + Duration::seconds(41), Some(42)));
        assert_eq!(s.alive(t0 + Duration::seconds(42)), 2);
        // Both stopped: gone after the window.
        assert_eq!(s.alive(t0 + Duration::seconds(57)), 0);
    }

    #[test]
    fn a_listeners_probe_is_not_a_worker() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let mut s = HealthSenders::default();
        let raw = format!(
            r#"{{"channel":"ch","sent_at":"2026-11-27T12:00:00Z","type":"health_check_event","id":"{}","pgq_probe":"listener"}}"#,
            Uuid::new_v4()
        );
        assert!(s.heard(&Received::new(&raw, t0).from_backend(77)));
        assert_eq!(s.alive(t0), 0);
        assert!(s.heard(&probe(t0, Some(41))));
        assert_eq!(s.alive(t0), 1);
    }

    #[test]
    fn other_events_are_not_health_checks() {
        let mut s = HealthSenders::default();
        let r = Received::new(r#"{"type":"table_changed_event"}"#, Utc::now());
        assert!(!s.heard(&r));
        assert_eq!(s.alive(Utc::now()), 0);
    }
}
