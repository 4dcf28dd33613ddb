//! `pgq queue`: insert jobs in one statement (callers chunk large batches).

use crate::actions::jobs::enqueue::{self, Conflict, EnqueueResult, JobSpec};
use crate::actions::preview::{self, Preview};
use crate::actions::{Act, ActionError, Session};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Enqueue {
    pub jobs: Vec<JobSpec>,
    pub on_conflict: Conflict,
}

impl Act for Enqueue {
    type Output = EnqueueResult;
    const MUTATES: bool = true;
    const DRY_RUN: bool = false;

    fn sample() -> Self {
        Enqueue {
            jobs: vec![JobSpec {
                entrypoint: "sample".into(),
                payload: Some(b"{\"n\": 1}".to_vec()),
                priority: 3,
                execute_after: std::time::Duration::ZERO,
                dedupe_key: None,
                headers: serde_json::json!({"trace": "abc"}),
            }],
            on_conflict: Conflict::Raise,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        enqueue::command_line(names, &self.jobs, self.on_conflict)
    }

    fn sentence(out: &EnqueueResult) -> Option<String> {
        use crate::actions::jobs::enqueue::EnqueueStatus;
        let each: Vec<String> = out
            .statuses
            .iter()
            .map(|s| match s {
                EnqueueStatus::Enqueued(id) => format!("enqueued job {id}"),
                EnqueueStatus::Updated(id) => {
                    format!("kept existing job {id} (priority raised if lower)")
                }
                EnqueueStatus::Skipped => {
                    "skipped: a job with this dedupe key is queued or picked".into()
                }
            })
            .collect();
        Some(each.join(", "))
    }

    fn outcome_text(&self, out: &EnqueueResult) -> String {
        use crate::actions::jobs::enqueue::EnqueueStatus;
        let ids: Vec<String> = out
            .statuses
            .iter()
            .filter_map(|s| match s {
                EnqueueStatus::Enqueued(id) => Some(id.to_string()),
                _ => None,
            })
            .collect();
        format!(
            "enqueued {} ({}); {} skipped, {} updated (same dedupe key)",
            crate::output::plural(ids.len(), "job"),
            ids.join(", "),
            out.count(|s| matches!(s, EnqueueStatus::Skipped)),
            out.count(|s| matches!(s, EnqueueStatus::Updated(_)))
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<EnqueueResult, ActionError> {
        enqueue::enqueue(session, &self.jobs, self.on_conflict).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        Ok(preview::enqueue(
            session,
            &self.jobs,
            self.on_conflict,
            self.command_line(&session.names),
        ))
    }
}
