//! Spreading waits: retries, flushes, health checks and pauses that many
//! processes (a fleet of workers, consoles opened together) run on the same
//! timer would otherwise meet the server at the same moment.

use std::time::Duration;

use uuid::Uuid;

/// `d` moved by up to `spread` of itself either way: 0.2 gives 80–120 %,
/// 0.5 gives 50–150 %. Random enough to break lockstep, from the UUID
/// generator the crate already has.
pub fn jittered(d: Duration, spread: f64) -> Duration {
    let unit = (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0;
    d.mul_f64(1.0 - spread + 2.0 * spread * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_half_and_one_and_a_half() {
        for _ in 0..1000 {
            let j = jittered(Duration::from_millis(100), 0.5);
            assert!(j >= Duration::from_millis(50) && j <= Duration::from_millis(150));
        }
    }
}
