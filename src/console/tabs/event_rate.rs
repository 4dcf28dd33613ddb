//! Arrivals per second over a sliding window, counted in one-second
//! buckets. The Events tab's buffer keeps only the newest events, so a rate
//! measured on it tops out at its size over the window; counting arrivals
//! as they come keeps the rate true at any speed, in constant memory.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct RateMeter {
    /// (unix second, arrivals in it), oldest first, only seconds with
    /// arrivals and only within the window of the newest one.
    buckets: VecDeque<(i64, u64)>,
    window_seconds: i64,
}

impl RateMeter {
    pub fn new(window_seconds: i64) -> RateMeter {
        RateMeter {
            buckets: VecDeque::new(),
            window_seconds: window_seconds.max(2),
        }
    }

    /// Count one arrival at `at`.
    pub fn record(&mut self, at: DateTime<Utc>) {
        let second = at.timestamp();
        // Arrivals come in time order; a clock step backwards may put one
        // into an earlier second, which is then found or inserted in order.
        match self.buckets.iter().rposition(|(s, _)| *s <= second) {
            Some(i) if self.buckets[i].0 == second => self.buckets[i].1 += 1,
            Some(i) => self.buckets.insert(i + 1, (second, 1)),
            None => self.buckets.push_front((second, 1)),
        }
        let newest = self.buckets.back().map_or(second, |(s, _)| *s);
        while self
            .buckets
            .front()
            .is_some_and(|(s, _)| *s <= newest - self.window_seconds)
        {
            self.buckets.pop_front();
        }
    }

    /// Arrivals per second over the window that ends at `now`: the current
    /// (partial) second and the whole seconds before it. Dividing by the
    /// time those seconds really cover keeps a steady rate exact whatever
    /// the fraction of the current second.
    pub fn per_second(&self, now: DateTime<Utc>) -> f64 {
        let current = now.timestamp();
        let arrivals = self.arrivals(current - (self.window_seconds - 1), current);
        arrivals as f64 / self.covered(now)
    }

    /// The same, when nothing could be heard before `heard_from` (the
    /// console was not listening): over the window's part from then on, so
    /// the gap does not read as a calm queue. A second at least, so the
    /// first arrivals after it do not read as a burst.
    pub fn per_second_since(&self, now: DateTime<Utc>, heard_from: DateTime<Utc>) -> f64 {
        let heard = (now - heard_from).num_milliseconds() as f64 / 1000.0;
        if heard >= self.covered(now) {
            return self.per_second(now);
        }
        let arrivals = self.arrivals(heard_from.timestamp(), now.timestamp());
        arrivals as f64 / heard.max(1.0)
    }

    /// Arrivals in the seconds `first..=last`.
    fn arrivals(&self, first: i64, last: i64) -> u64 {
        self.buckets
            .iter()
            .filter(|(s, _)| (first..=last).contains(s))
            .map(|(_, n)| n)
            .sum()
    }

    /// The time the window ending at `now` covers, in seconds.
    fn covered(&self, now: DateTime<Utc>) -> f64 {
        let into_current = f64::from(now.timestamp_subsec_nanos()) / 1e9;
        (self.window_seconds - 1) as f64 + into_current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn a_steady_rate_reads_true_at_any_point_in_the_second() {
        for ms in [0, 1, 250, 999] {
            let now = t0() + Duration::seconds(20) + Duration::milliseconds(ms);
            // 200 per second, one every 5 ms, from t0 until now.
            let mut m = RateMeter::new(10);
            let mut at = t0();
            while at <= now {
                m.record(at);
                at += Duration::milliseconds(5);
            }
            let rate = m.per_second(now);
            assert!((rate - 200.0).abs() < 2.0, "at +{ms} ms: {rate}");
        }
    }

    #[test]
    fn a_rate_after_a_gap_counts_only_the_time_heard() {
        // 300 a second for 3 s after 20 s of not listening.
        let heard_from = t0() + Duration::seconds(20);
        let mut m = RateMeter::new(10);
        let mut at = heard_from;
        let now = heard_from + Duration::seconds(3);
        while at < now {
            m.record(at);
            at += Duration::microseconds(3_333);
        }
        let rate = m.per_second_since(now, heard_from);
        assert!((rate - 300.0).abs() < 3.0, "{rate}");
        assert!(
            m.per_second(now) < 101.0,
            "over the whole window it reads low"
        );
        // Once the gap is out of the window, both agree.
        let later = heard_from + Duration::seconds(12);
        assert_eq!(m.per_second_since(later, heard_from), m.per_second(later));
    }

    #[test]
    fn arrivals_older_than_the_window_do_not_count() {
        let mut m = RateMeter::new(10);
        for _ in 0..100 {
            m.record(t0());
        }
        assert!(m.per_second(t0() + Duration::seconds(5)) > 0.0);
        assert_eq!(m.per_second(t0() + Duration::seconds(10)), 0.0);
        m.record(t0() + Duration::seconds(30));
        assert_eq!(m.buckets.len(), 1, "old seconds are dropped");
    }

    #[test]
    fn an_arrival_from_an_earlier_second_is_counted_in_order() {
        let mut m = RateMeter::new(10);
        m.record(t0() + Duration::seconds(3));
        m.record(t0() + Duration::seconds(1));
        m.record(t0() + Duration::seconds(3));
        m.record(t0());
        let seconds: Vec<(i64, u64)> = m
            .buckets
            .iter()
            .map(|(s, n)| (s - t0().timestamp(), *n))
            .collect();
        assert_eq!(seconds, [(0, 1), (1, 1), (3, 2)]);
    }
}
