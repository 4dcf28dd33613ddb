//! `pgq metrics`: serve the metrics and health endpoints
//! ([`super::metrics_server`]) until a signal, or print alerting rules.

use std::time::Duration;

use super::alert_rules;
use super::metrics_server::{Bound, MetricsOptions, Stop};
use super::{CommandContext, CommandError, open_files};
use crate::output::Exit;

pub(super) async fn run(
    ctx: &CommandContext,
    options: &MetricsOptions,
) -> Result<Exit, CommandError> {
    match open_files::raise_to_hard_limit() {
        Ok(limit) => tracing::debug!("{}", limit.describe()),
        Err(e) => tracing::debug!("cannot raise the open-file limit: {e}"),
    }
    let bound = Bound::new(ctx, options).await?;
    crate::output::status(&format!(
        "Serving metrics on http://{}/metrics (also /healthz, /readyz); Ctrl-C stops",
        bound.address()
    ));
    let mut signals = crate::db::signal::Signals::interrupt_and_terminate()
        .map_err(|e| CommandError::Other(e.to_string()))?;
    let (stop, stopped) = tokio::sync::watch::channel(Stop::Serving);
    // The first signal lets requests in flight finish (a few seconds at
    // most), a second drops them.
    let signalled = tokio::spawn(async move {
        signals.recv().await;
        stop.send_replace(Stop::Gracefully);
        signals.recv().await;
        stop.send_replace(Stop::Now);
    });
    bound.serve(None, stopped).await;
    signalled.abort();
    Ok(Exit::Ok)
}

/// `pgq metrics --alert-rules`: the rules for these thresholds (flags, else
/// config.toml's `[check]`), without serving.
pub(super) fn print_alert_rules(
    args: &crate::cli::ThresholdArgs,
    window: Duration,
    stale_after: f64,
) -> Result<Exit, CommandError> {
    let thresholds = super::check::thresholds(args.thresholds(None, None))?;
    let stale_after = Duration::from_secs_f64(stale_after);
    crate::output::stdout_exact(&alert_rules::render(&thresholds, window, stale_after));
    Ok(Exit::Ok)
}
