//! The demo's workload: entrypoints with realistic behaviour (varied
//! durations, a fleet-wide concurrency limit, some failures, one entrypoint
//! that holds its failed jobs, one that retries) and two schedules.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::actions::jobs::JobSpec;
use crate::worker::{EntrypointOptions, JobError, OnFailure, RetryPolicy, Worker, WorkerError};

/// SplitMix64: plenty for picking demo durations and failures.
pub struct Rng(u64);

static SEED_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Rng {
    pub fn seeded() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng(nanos ^ SEED_COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next_u64() % (high - low + 1))
    }
}

/// Entrypoints and the share of produced jobs each gets.
const MIX: [(&str, f64); 5] = [
    ("send_email", 0.40),
    ("resize_image", 0.25),
    ("sync_crm", 0.15),
    ("charge_card", 0.15),
    ("generate_report", 0.05),
];

/// One produced job: an entrypoint by the mix, a small JSON payload.
pub fn job(rng: &mut Rng, n: u64) -> JobSpec {
    let mut pick = rng.unit();
    let entrypoint = MIX
        .iter()
        .find(|(_, share)| {
            pick -= share;
            pick < 0.0
        })
        .map_or(MIX[0].0, |(name, _)| name);
    JobSpec {
        entrypoint: entrypoint.to_string(),
        payload: Some(format!("{{\"n\": {n}, \"source\": \"pgq demo\"}}").into_bytes()),
        priority: (rng.next_u64() % 10) as i32,
        execute_after: Duration::ZERO,
        dedupe_key: None,
        headers: serde_json::json!({"demo": true}),
    }
}

/// Sleep like real work; fail with `rate` probability.
async fn work(low: u64, high: u64, rate: f64, kind: &str, message: &str) -> Result<(), JobError> {
    let mut rng = Rng::seeded();
    tokio::time::sleep(rng.millis(low, high)).await;
    if rng.unit() < rate {
        Err(JobError::new(kind, message))
    } else {
        Ok(())
    }
}

pub fn register(worker: &mut Worker, with_schedules: bool) -> Result<(), WorkerError> {
    worker.entrypoint("send_email", EntrypointOptions::default(), |_job, _ctx| {
        work(
            20,
            120,
            0.01,
            "SMTPServerDisconnected",
            "Connection unexpectedly closed",
        )
    })?;
    // At most four resizes run at once across every demo worker (slots).
    let limited = EntrypointOptions {
        concurrency_limit: 4,
        ..EntrypointOptions::default()
    };
    worker.entrypoint("resize_image", limited, |_job, _ctx| {
        work(100, 600, 0.05, "ValueError", "corrupt image header")
    })?;
    // Failures are held for `pgq requeue` / the console's Held tab.
    let hold = EntrypointOptions {
        on_failure: OnFailure::Hold,
        ..EntrypointOptions::default()
    };
    worker.entrypoint("sync_crm", hold, |_job, _ctx| {
        work(
            50,
            200,
            0.20,
            "TimeoutError",
            "CRM did not answer within 30 s",
        )
    })?;
    // Flaky gateway: retried in the database with backoff.
    let retry = EntrypointOptions {
        retry: Some(RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(5),
            multiplier: 2.0,
        }),
        ..EntrypointOptions::default()
    };
    worker.entrypoint("charge_card", retry, |_job, _ctx| {
        work(30, 150, 0.35, "GatewayTimeout", "payment gateway timed out")
    })?;
    let single = EntrypointOptions {
        concurrency_limit: 1,
        ..EntrypointOptions::default()
    };
    worker.entrypoint("generate_report", single, |_job, _ctx| {
        work(1_000, 3_000, 0.0, "", "")
    })?;
    if with_schedules {
        // croniter's sixth field is seconds: every 10 s.
        worker.schedule("cleanup", "* * * * * */10", false, |_fire, _ctx| {
            work(100, 300, 0.0, "", "")
        })?;
        worker.schedule("hourly_digest", "* * * * *", false, |_fire, _ctx| {
            work(200, 500, 0.0, "", "")
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_covers_every_entrypoint() {
        let mut rng = Rng::seeded();
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..2_000 {
            seen.insert(job(&mut rng, n).entrypoint);
        }
        assert_eq!(seen.len(), MIX.len(), "{seen:?}");
        let d = rng.millis(10, 20);
        assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
    }
}
