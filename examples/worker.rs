//! The worker engine as a library: register async handlers by entrypoint
//! name (with PGQueuer 1.6's options), add a schedule, watch the live
//! snapshot, run until Ctrl-C (or until the queue is empty with `--drain`).
//!
//!     PGDSN=postgres://postgres@127.0.0.1/postgres cargo run --example worker -- --drain
//!     pgq queue greet 'Ada'; pgq queue resize 'photo.png'

use std::time::Duration;

use pgq::settings::conn::{ConnectionSettings, Env};
use pgq::settings::names::ObjectNames;
use pgq::worker::{EntrypointOptions, JobError, Mode, OnFailure, RetryPolicy, RunOptions, Worker};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let drain = std::env::args().any(|a| a == "--drain");
    // Same names and connection resolution as the CLI (PGQUEUER_PREFIX, PGDSN, libpq env, …).
    let env = pgq::settings::CaseInsensitiveEnv::from_process();
    let names = ObjectNames::resolve(None, None, &|key| env.get(key))?;
    let settings = ConnectionSettings::resolve(None, &Env::from_process())?;
    let options = RunOptions {
        mode: if drain { Mode::Drain } else { Mode::Continuous },
        batch_size: 10,
        ..RunOptions::default()
    };
    let mut worker = Worker::new(names, options);

    worker.entrypoint(
        "greet",
        EntrypointOptions::default(),
        |job, _ctx| async move {
            let name = job
                .payload
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .into_owned();
            println!("hello, {name} (job {})", job.id);
            Ok(())
        },
    )?;

    // Two at a time across the whole fleet (Python workers included), three
    // database retries with backoff, then held for `pgq requeue`.
    let resize = EntrypointOptions {
        concurrency_limit: 2,
        on_failure: OnFailure::Hold,
        retry: Some(RetryPolicy {
            max_attempts: 3,
            initial_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        }),
    };
    worker.entrypoint("resize", resize, |job, mut ctx| async move {
        let file = String::from_utf8_lossy(job.payload.as_deref().unwrap_or_default()).into_owned();
        if !file.ends_with(".png") {
            return Err(JobError::new("ValueError", format!("not a PNG: {file:?}")));
        }
        // Honour cancellation and shutdown requests while working.
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => Ok(()),
            reason = ctx.stopped() => Err(JobError::new("Stopped", format!("{reason:?}"))),
        }
    })?;

    // croniter's sixth field is seconds: every 10 s. ("*/10 * * * * *" would
    // be every tenth minute, every second of it.)
    worker.schedule("report", "* * * * * */10", false, |fire, _ctx| async move {
        println!("schedule {} fired ({})", fire.entrypoint, fire.expression);
        Ok(())
    })?;

    // What a console's Worker tab renders: in-flight jobs and counters.
    let mut snapshot = worker.observe();
    tokio::spawn(async move {
        while snapshot.changed().await.is_ok() {
            let s = snapshot.borrow().clone();
            for (entrypoint, c) in &s.entrypoints {
                eprintln!(
                    "[{:?}] {entrypoint}: {} ok, {} failed, {} retried, {} running",
                    s.state,
                    c.successful,
                    c.exception + c.failed,
                    c.retried,
                    s.in_flight
                        .iter()
                        .filter(|j| &j.entrypoint == entrypoint)
                        .count()
                );
            }
        }
    });

    let stop = worker.shutdown_trigger();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            stop.request(); // first: finish running jobs; second: stop them now
        }
    });
    worker.run(settings).await?;
    Ok(())
}
