//! The demo's workload: entrypoints with realistic behaviour (varied
//! durations, a fleet-wide concurrency limit, some failures, one entrypoint
//! that holds its failed jobs, one that retries) and two schedules.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::actions::jobs::enqueue::JobSpec;
use crate::worker::{
    EntrypointOptions, Job, JobError, OnFailure, RetryPolicy, Worker, WorkerError,
};

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

    pub fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.next_u64() % (high - low + 1))
    }
}

/// The producer's cycle of entrypoints: every 20 jobs, 8 emails, 5
/// resizes, 3 CRM syncs, 3 card charges and 1 report. A fixed cycle (not a
/// random pick) makes the demo's outcomes predictable enough to test.
const CYCLE: [&str; 20] = [
    "send_email",
    "resize_image",
    "send_email",
    "sync_crm",
    "charge_card",
    "send_email",
    "resize_image",
    "send_email",
    "charge_card",
    "sync_crm",
    "send_email",
    "resize_image",
    "generate_report",
    "send_email",
    "resize_image",
    "charge_card",
    "send_email",
    "sync_crm",
    "resize_image",
    "send_email",
];

/// How the producer marks jobs to fail, by their number within their
/// entrypoint: every 50th email, every 10th resize and every 4th CRM sync
/// fail; every 3rd card charge fails its first two attempts, then succeeds.
fn trouble(entrypoint: &str, nth: u64) -> &'static str {
    match entrypoint {
        "send_email" if nth % 50 == 49 => "fail",
        "resize_image" if nth % 10 == 9 => "fail",
        "sync_crm" if nth % 4 == 3 => "fail",
        "charge_card" if nth % 3 == 2 => "flaky",
        _ => "ok",
    }
}

/// The `n`-th produced job: the entrypoint from the cycle, a small JSON
/// payload saying whether it should fail, a random priority.
pub fn job(rng: &mut Rng, n: u64) -> JobSpec {
    let entrypoint = CYCLE[(n % CYCLE.len() as u64) as usize];
    let per_cycle = CYCLE.iter().filter(|e| **e == entrypoint).count() as u64;
    let before = CYCLE[..(n % CYCLE.len() as u64) as usize]
        .iter()
        .filter(|e| **e == entrypoint)
        .count() as u64;
    let nth = n / CYCLE.len() as u64 * per_cycle + before;
    JobSpec {
        entrypoint: entrypoint.to_string(),
        payload: Some(
            format!(
                "{{\"n\": {n}, \"outcome\": \"{}\", \"source\": \"pgq demo\"}}",
                trouble(entrypoint, nth)
            )
            .into_bytes(),
        ),
        priority: (rng.next_u64() % 10) as i32,
        execute_after: Duration::ZERO,
        dedupe_key: None,
        headers: serde_json::json!({"demo": true}),
    }
}

fn outcome(job: &Job) -> &str {
    let payload = job.payload.as_deref().unwrap_or_default();
    if payload.windows(14).any(|w| w == b"\"outcome\": \"fa") {
        "fail"
    } else if payload.windows(14).any(|w| w == b"\"outcome\": \"fl") {
        "flaky"
    } else {
        "ok"
    }
}

/// Sleep like real work, then fail if the job was marked to.
async fn work(low: u64, high: u64, fail: bool, kind: &str, message: &str) -> Result<(), JobError> {
    let mut rng = Rng::seeded();
    tokio::time::sleep(rng.millis(low, high)).await;
    if fail {
        Err(JobError::new(kind, message))
    } else {
        Ok(())
    }
}

pub fn register(worker: &mut Worker, with_schedules: bool) -> Result<(), WorkerError> {
    worker.entrypoint("send_email", EntrypointOptions::default(), |job, _ctx| {
        let fail = outcome(&job) == "fail";
        work(
            20,
            120,
            fail,
            "SMTPServerDisconnected",
            "Connection unexpectedly closed",
        )
    })?;
    // At most four resizes run at once across every demo worker (slots).
    let limited = EntrypointOptions {
        concurrency_limit: 4,
        ..EntrypointOptions::default()
    };
    worker.entrypoint("resize_image", limited, |job, _ctx| {
        let fail = outcome(&job) == "fail";
        work(100, 600, fail, "ValueError", "corrupt image header")
    })?;
    // Failures are held for `pgq requeue` / the console's Held tab.
    let hold = EntrypointOptions {
        on_failure: OnFailure::Hold,
        ..EntrypointOptions::default()
    };
    worker.entrypoint("sync_crm", hold, |job, _ctx| {
        let fail = outcome(&job) == "fail";
        work(
            50,
            200,
            fail,
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
    worker.entrypoint("charge_card", retry, |job, _ctx| {
        // Flaky charges fail their first two attempts, then go through.
        let fail = outcome(&job) == "flaky" && job.attempts < 2;
        work(30, 150, fail, "GatewayTimeout", "payment gateway timed out")
    })?;
    let single = EntrypointOptions {
        concurrency_limit: 1,
        ..EntrypointOptions::default()
    };
    worker.entrypoint("generate_report", single, |_job, _ctx| {
        work(1_000, 3_000, false, "", "")
    })?;
    if with_schedules {
        // croniter's sixth field is seconds: every 10 s.
        worker.schedule("cleanup", "* * * * * */10", false, |_fire, _ctx| {
            work(100, 300, false, "", "")
        })?;
        worker.schedule("hourly_digest", "* * * * *", false, |_fire, _ctx| {
            work(200, 500, false, "", "")
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_marks_failures_predictably() {
        let mut rng = Rng::seeded();
        let jobs: Vec<JobSpec> = (0..200).map(|n| job(&mut rng, n)).collect();
        let count = |ep: &str, what: &str| {
            jobs.iter()
                .filter(|j| j.entrypoint == ep)
                .filter(|j| String::from_utf8_lossy(j.payload.as_deref().unwrap()).contains(what))
                .count()
        };
        assert_eq!(count("send_email", ""), 80);
        assert_eq!(count("send_email", "\"fail\""), 1);
        assert_eq!(count("resize_image", "\"fail\""), 5);
        assert_eq!(count("sync_crm", "\"fail\""), 7);
        assert_eq!(count("charge_card", "\"flaky\""), 10);
        assert_eq!(count("generate_report", ""), 10);
        let d = rng.millis(10, 20);
        assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(20));
    }
}
