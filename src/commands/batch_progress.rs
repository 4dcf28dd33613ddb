//! A change that works batch after batch (`pgq prune`, `pgq cancel`/
//! `purge`/`delete`/`requeue` by filter), run from the command line: a
//! progress bar on a terminal, drawn from the change's own
//! [`Batches`] count, and the first stop signal asks the change to stop
//! after its current batch. Both commands watch the same way.

use std::future::Future;
use std::time::Duration;

use crate::actions::batches::{self, Batches};
use crate::db::signal::{Signals, StopSignal};
use crate::output;

/// How often the progress bar is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// What the bar counts.
pub(super) struct Bar {
    /// `rows`, `jobs`.
    pub unit: &'static str,
    /// The length when the caller knows it already (else the change's own
    /// total, once it has counted).
    pub length: Option<u64>,
}

/// Run `work` watched: with `bar`, a progress bar on stderr from the first
/// finished batch on; on the first signal stderr says so and the change
/// stops after its batch. Returns the work's output and the signal that
/// came, if one did.
pub(super) async fn watched<F: Future>(
    work: F,
    signals: &mut Signals,
    bar: Option<Bar>,
) -> (F::Output, Option<StopSignal>) {
    let watch = Batches::default();
    let work = batches::watching(watch.clone(), work);
    tokio::pin!(work);
    let progress = indicatif::ProgressBar::hidden();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let mut signal = None;
    let output = loop {
        tokio::select! {
            output = &mut work => break output,
            s = signals.recv(), if signal.is_none() => {
                signal = Some(s);
                watch.stop();
                progress.suspend(|| output::status("Stopping after the current batch…"));
            }
            _ = tick.tick() => {
                let Some(bar) = &bar else { continue };
                let done = watch.done();
                // Drawn once there is something to show: before the first
                // batch the change may still be counting.
                if done > 0 && progress.is_hidden() {
                    progress.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                    progress.set_style(
                        indicatif::ProgressStyle::with_template(&format!(
                            "{{bar:40}} {{pos}}/{{len}} {}  {{per_sec}}  eta {{eta}}",
                            bar.unit
                        ))
                        .expect("valid progress template"),
                    );
                }
                progress.set_length(bar.length.unwrap_or_else(|| watch.total()));
                progress.set_position(done);
            }
        }
    };
    progress.finish_and_clear();
    (output, signal)
}
