//! Held jobs tab state: jobs in `failed` status with their last traceback,
//! on the shared list view.

mod view;

use crate::console::tabs::list::ListControls;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::list::ListView;
use super::{Context, Level, Reply, Routed, Screen, TabView, matches_filter};
use crate::actions::jobs::filter::{JobFilter, JobStatus};
use crate::actions::jobs::selection::JobSelection;
use crate::actions::schema::tables::HeldJob;
use crate::actions::{Outcome, kinds};
use crate::console::db::View;
use crate::console::keymap::Command;

#[derive(Debug, Clone, Default)]
pub struct HeldTab {
    pub jobs: Option<Vec<HeldJob>>,
    pub list: ListView<i64>,
}

impl HeldTab {
    pub fn rows(&self) -> Vec<&HeldJob> {
        let filter = &self.list.filter;
        self.jobs
            .iter()
            .flatten()
            .filter(|j| {
                matches_filter(&j.job.entrypoint, filter)
                    || matches_filter(&j.job.id.to_string(), filter)
                    || j.traceback
                        .as_ref()
                        .is_some_and(|t| matches_filter(&t.to_string(), filter))
            })
            .collect()
    }

    pub fn selected_row(&self) -> Option<&HeldJob> {
        self.rows().get(self.list.selected).copied()
    }

    fn selected_id(&self) -> Option<i64> {
        self.selected_row().map(|r| r.job.id)
    }

    /// The tagged jobs, or else the selected one.
    pub fn targets(&self) -> Vec<i64> {
        self.list.targets(self.selected_id())
    }

    /// "All matching" as the database can select it: every held job when
    /// no filter is typed, else the held jobs of the entrypoints the filter
    /// names (those of the loaded held jobs whose name contains it; the
    /// database then counts all of their held jobs, loaded or not). Rows
    /// kept only for their id or traceback cannot be selected that way:
    /// refused with the reason, rather than acting on something else.
    pub fn matching_filter(&self) -> Result<JobFilter, String> {
        let mut filter = JobFilter {
            status: Some(JobStatus::Failed),
            ..JobFilter::default()
        };
        let text = &self.list.filter;
        if text.is_empty() {
            return Ok(filter);
        }
        if self.jobs.is_none() {
            return Err("the held jobs are not loaded yet".into());
        }
        let rows = self.rows();
        let by_other = rows
            .iter()
            .filter(|j| !matches_filter(&j.job.entrypoint, text))
            .count();
        if by_other > 0 {
            return Err(format!(
                "{} match {text:?} by id or traceback, not by entrypoint: all-matching selects by entrypoint; tag them (space) or filter by an entrypoint name",
                crate::output::plural(by_other, "shown held job")
            ));
        }
        let mut entrypoints: Vec<String> = rows.iter().map(|j| j.job.entrypoint.clone()).collect();
        entrypoints.sort();
        entrypoints.dedup();
        if entrypoints.is_empty() {
            return Err(format!("no held job's entrypoint matches {text:?}"));
        }
        filter.entrypoints = entrypoints;
        Ok(filter)
    }

    pub fn accept(&mut self, jobs: Vec<HeldJob>) {
        let previous = self.selected_id();
        let ids: std::collections::HashSet<i64> = jobs.iter().map(|j| j.job.id).collect();
        self.jobs = Some(jobs);
        let shown: Vec<i64> = self.rows().iter().map(|j| j.job.id).collect();
        self.list.accept(&shown, previous, |id| ids.contains(id));
    }
}

impl TabView for HeldTab {
    fn title(&self) -> &'static str {
        "Held"
    }

    fn list(&self) -> Option<&dyn ListControls> {
        Some(&self.list)
    }

    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        Some(&mut self.list)
    }

    fn view(&self) -> Option<View> {
        Some(View::Held)
    }

    fn on_refreshed(
        &mut self,
        _view: &View,
        result: Result<Outcome, String>,
        _cx: &Context,
    ) -> Routed {
        match result {
            Ok(Outcome::HeldJobs(jobs)) => self.accept(jobs),
            other => return Routed::Passed(other),
        }
        Routed::Taken(Vec::new())
    }

    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply> {
        let page = view::page_height(cx.body);
        match command {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => {
                let len = self.rows().len();
                self.list.navigate(len, page, command);
            }
            Command::Open => {
                if let Some(id) = self.selected_id() {
                    return vec![Reply::ShowJob(id)];
                }
            }
            Command::Tag => {
                let id = self.selected_id();
                self.list.toggle_tag(id);
                let len = self.rows().len();
                self.list.navigate(len, page, Command::Down);
            }
            Command::Requeue => {
                let ids = self.targets();
                if ids.is_empty() {
                    return vec![Reply::Flash(Level::Info, "no held job selected".into())];
                }
                return vec![Reply::Propose(kinds::Requeue { ids }.into())];
            }
            Command::Delete => {
                let ids = self.targets();
                if ids.is_empty() {
                    return vec![Reply::Flash(Level::Info, "no held job selected".into())];
                }
                let selection = JobSelection::Ids(ids);
                return vec![Reply::Propose(
                    kinds::DeleteJobs {
                        selection,
                        bound: None,
                    }
                    .into(),
                )];
            }
            Command::RequeueMatching | Command::DeleteMatching => {
                let filter = match self.matching_filter() {
                    Ok(filter) => filter,
                    Err(why) => return vec![Reply::Flash(Level::Info, why)],
                };
                let selection = JobSelection::Filter(Box::new(filter));
                let action = match command {
                    Command::RequeueMatching => kinds::RequeueJobs {
                        selection,
                        bound: None,
                    }
                    .into(),
                    _ => kinds::DeleteJobs {
                        selection,
                        bound: None,
                    }
                    .into(),
                };
                return vec![Reply::Propose(action)];
            }
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw(frame, area, screen, self);
    }
}

/// The traceback as readable lines: PGQueuer stores an object with
/// `exception_type`, `exception_message` and `traceback` text (§7.5).
pub fn traceback_text(traceback: &serde_json::Value) -> String {
    let field = |k: &str| traceback.get(k).and_then(|v| v.as_str());
    match (field("exception_type"), field("exception_message")) {
        (Some(kind), message) => {
            let mut text = format!("{kind}: {}", message.unwrap_or(""));
            if let Some(tb) = field("traceback") {
                text.push_str("\n\n");
                text.push_str(tb);
            }
            text
        }
        _ => serde_json::to_string_pretty(traceback).unwrap_or_default(),
    }
}
