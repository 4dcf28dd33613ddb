//! Built-in handlers, for tests, demos and benchmarks: `noop`, `sleep`
//! (payload = seconds, default 1; stops early when asked), `fail` (payload =
//! message) and `echo` (logs the payload).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::manifest::Builtin;
use super::{Handler, JobContext, JobError, JobResult, ScheduleHandler, log};

pub(crate) fn job_handler(kind: Builtin) -> Handler {
    match kind {
        Builtin::Noop => Arc::new(|_, _| Box::pin(std::future::ready(Ok(())))),
        _ => Arc::new(move |job, ctx| {
            let text = job
                .payload
                .as_deref()
                .map(|p| String::from_utf8_lossy(p).into_owned());
            let fields = vec![
                ("job_id", Value::from(job.id)),
                ("entrypoint", Value::from(job.entrypoint)),
            ];
            Box::pin(run(kind, text, ctx, fields))
        }),
    }
}

pub(crate) fn schedule_handler(kind: Builtin) -> ScheduleHandler {
    Arc::new(move |fire, ctx| {
        let fields = vec![
            ("schedule_id", Value::from(fire.id)),
            ("entrypoint", Value::from(fire.entrypoint.clone())),
        ];
        Box::pin(run(kind, Some(fire.expression), ctx, fields))
    })
}

async fn run(
    kind: Builtin,
    text: Option<String>,
    mut ctx: JobContext,
    fields: Vec<log::Field<'static>>,
) -> JobResult {
    match kind {
        Builtin::Noop => Ok(()),
        Builtin::Echo => {
            log::info(text.as_deref().unwrap_or(""), &fields);
            Ok(())
        }
        Builtin::Fail => Err(JobError::new(
            "JobFailed",
            text.filter(|t| !t.is_empty())
                .unwrap_or_else(|| "the fail builtin always fails".into()),
        )),
        Builtin::Sleep => {
            let secs = text
                .as_deref()
                .and_then(|t| t.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .unwrap_or(1.0);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs_f64(secs)) => Ok(()),
                _ = ctx.stopped() => Err(JobError::new("CancelledError", "sleep was stopped")),
            }
        }
    }
}
