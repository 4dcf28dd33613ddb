//! `pgq check`: thresholds from the flags, else `[check]` in config.toml;
//! one line per breach, exit 1 when any.

use super::{CommandContext, CommandError, object_names, open_session};
use crate::actions;
use crate::actions::kinds::Check;
use crate::cli::ThresholdArgs;
use crate::output::{self, Exit};
use crate::settings::check::Thresholds;

pub(super) async fn run(
    ctx: &CommandContext,
    args: &ThresholdArgs,
    window: Option<std::time::Duration>,
    stale_after: Option<f64>,
) -> Result<Exit, CommandError> {
    let stale_after = stale_after.map(std::time::Duration::from_secs_f64);
    let thresholds = thresholds(args.thresholds(window, stale_after))?;
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let report = actions::run(&session, &Check { thresholds }, false).await?;
    if ctx.json {
        output::stdout_exact(&output::json_line(&report));
    } else if report.healthy {
        let passed: Vec<&str> = report.checked.iter().map(|f| f.detail.as_str()).collect();
        output::stdout(&format!("healthy: {}\n", passed.join("; ")));
    } else {
        for breach in &report.breaches {
            output::stdout(&format!("{}\n", breach.detail));
        }
    }
    Ok(if report.healthy {
        Exit::Ok
    } else {
        Exit::Failure
    })
}

/// `flags`, each threshold they leave out taken from config.toml's
/// `[check]`; none at all, or a broken config, is wrong use.
pub(super) fn thresholds(flags: Thresholds) -> Result<Thresholds, CommandError> {
    let (config, _keymap) =
        super::config::load().map_err(|e| CommandError::Usage(e.to_string()))?;
    let thresholds = flags.or(&config.check);
    thresholds.validate().map_err(CommandError::Usage)?;
    Ok(thresholds)
}
