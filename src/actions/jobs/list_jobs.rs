//! `pgq jobs`: a keyset page of jobs under a filter (the Jobs tab's listing).

use std::time::Duration;

use crate::actions::jobs::browse::{self, JobsPage, Order, PageRequest};
use crate::actions::jobs::enqueue::shell_quote;
use crate::actions::jobs::filter::{JobFilter, JobStatus, Search};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct ListJobs {
    pub filter: JobFilter,
    /// Finished jobs from the log table instead of the queue.
    pub history: bool,
    pub page: PageRequest,
    pub search_timeout: Duration,
    /// Also return the server's EXPLAIN ANALYZE of the page (benchmarks).
    pub explain: bool,
}

impl Act for ListJobs {
    type Output = JobsPage;
    const MUTATES: bool = false;

    fn sample() -> Self {
        ListJobs {
            filter: JobFilter {
                status: Some(JobStatus::Queued),
                entrypoints: vec!["sample".into()],
                priority_min: Some(0),
                search: Some(Search::Text("x".into())),
                ..JobFilter::default()
            },
            history: false,
            page: PageRequest::default(),
            search_timeout: browse::DEFAULT_SEARCH_TIMEOUT,
            explain: false,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let mut args = vec!["jobs".to_string()];
        args.extend(self.filter.flags());
        let mut flag =
            |name: &str, value: String| args.push(format!("--{name} {}", shell_quote(&value)));
        if self.page.limit != PageRequest::default().limit {
            flag("limit", self.page.limit.to_string());
        }
        if let Some(after) = self.page.after_id {
            flag("after-id", after.to_string());
        }
        if self.history {
            args.push("--history".into());
        }
        if self.page.order == Order::OldestFirst {
            args.push("--oldest-first".into());
        }
        pgq(names, &args.join(" "))
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<JobsPage, ActionError> {
        let started = std::time::Instant::now();
        let mut page = browse::page(
            session,
            &self.filter,
            self.history,
            &self.page,
            self.search_timeout,
        )
        .await?;
        if self.explain {
            // The page's round trip as pgq sees it, then the server's account.
            let took = started.elapsed().as_secs_f64() * 1e3;
            page.plan = vec![format!("Page round trip: {took:.3} ms")];
            page.plan
                .extend(browse::explain(session, &self.filter, self.history, &self.page).await?);
        }
        Ok(page)
    }
}
