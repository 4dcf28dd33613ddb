//! `pgq why ID` / `pgq why --schedule ENTRYPOINT`: why a job is where it is,
//! or why a schedule has (not) fired, as sentences with their numbers.

use serde::Serialize;

use crate::actions::jobs::enqueue::shell_quote;
use crate::actions::reports::reasons::Reason;
use crate::actions::reports::why;
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub enum WhyTarget {
    Job(i64),
    Schedule(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    pub target: WhyTarget,
}

/// The answer: what was asked about, where it stands, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhyReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub entrypoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub reasons: Vec<Reason>,
}

impl Act for Why {
    type Output = WhyReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Why {
            target: WhyTarget::Job(1),
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        match &self.target {
            WhyTarget::Job(id) => pgq(names, &format!("why {id}")),
            WhyTarget::Schedule(ep) => pgq(names, &format!("why --schedule {}", shell_quote(ep))),
        }
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<WhyReport, ActionError> {
        match &self.target {
            // The job detail computes the same sentences (the console shows them).
            WhyTarget::Job(id) => {
                let detail = why::detail(session, *id, None).await?;
                Ok(WhyReport {
                    job: Some(*id),
                    schedule: None,
                    entrypoint: detail.entrypoint().to_string(),
                    status: Some(detail.status().to_string()),
                    reasons: detail.why,
                })
            }
            WhyTarget::Schedule(entrypoint) => {
                let rows = why::schedule(session, entrypoint).await?;
                if rows.is_empty() {
                    return Err(ActionError::UnknownSchedule {
                        entrypoint: entrypoint.clone(),
                    });
                }
                Ok(WhyReport {
                    job: None,
                    schedule: Some(entrypoint.clone()),
                    entrypoint: entrypoint.clone(),
                    status: None,
                    reasons: why::schedule_reasons(&rows),
                })
            }
        }
    }
}
