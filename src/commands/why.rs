//! `pgq why ID` and `pgq why --schedule ENTRYPOINT`.

use super::{CommandContext, CommandError, object_names, open_session};
use crate::actions::kinds::Why;
use crate::actions::reports::why::{WhyReport, WhyTarget};
use crate::actions::{self, ActionError};
use crate::output::{self, Exit, escape_line};

pub(super) async fn run(
    ctx: &CommandContext,
    id: Option<i64>,
    schedule: Option<&str>,
) -> Result<Exit, CommandError> {
    let target = match (id, schedule) {
        (_, Some(entrypoint)) => WhyTarget::Schedule(entrypoint.to_string()),
        (Some(id), None) => WhyTarget::Job(id),
        (None, None) => {
            return Err(CommandError::Usage(
                "give a job ID or --schedule ENTRYPOINT".into(),
            ));
        }
    };
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let report = match actions::run(&session, &Why { target }, false).await {
        Err(e @ (ActionError::UnknownJob { .. } | ActionError::UnknownSchedule { .. })) => {
            return Err(CommandError::Other(e.to_string()));
        }
        other => other?,
    };
    if ctx.json {
        output::stdout_exact(&output::json_line(&report));
    } else {
        output::stdout(&text(&report));
    }
    Ok(Exit::Ok)
}

/// A heading naming the subject, then one sentence per line.
pub fn text(report: &WhyReport) -> String {
    let ep = escape_line(&report.entrypoint);
    let mut out = match (report.job, &report.status) {
        (Some(id), Some(status)) => format!("job {id} ({ep}, {}):\n", escape_line(status)),
        _ => format!("schedule {ep}:\n"),
    };
    if report.reasons.is_empty() {
        out.push_str("  nothing stands out\n");
    }
    for r in &report.reasons {
        out.push_str(&format!("  {}\n", r.text));
    }
    out
}
