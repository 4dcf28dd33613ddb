//! The Jobs tab: the queue (or the finished jobs of the log) one keyset page
//! at a time under a filter typed on the `/` line, and a job's detail.
//!
//! The filter line has a small syntax (see [`parse_filter`]); it is applied
//! when the line is closed, not at every key, because each filter is a query.

mod payload;
mod view;

use std::cell::Cell;

use ratatui::Frame;
use ratatui::layout::Rect;

use self::payload::ShownPayload;
use super::list::{ListControls, ListView};
use super::{Context, Level, Reply, Routed, Screen, TabView};
use crate::actions::Outcome;
use crate::actions::jobs::browse::{
    DEFAULT_SEARCH_TIMEOUT, JobDetail, JobsPage, Order, PageRequest,
};
use crate::actions::jobs::filter::{FilterError, JobFilter, JobStatus, Search};
use crate::actions::jobs::selection::JobSelection;
use crate::actions::kinds::{self, ListJobs};
use crate::console::db::View;
use crate::console::keymap::Command;

/// Rows per page: a screenful on a large terminal, cheap on the server.
pub const PAGE_SIZE: u32 = 100;

#[derive(Debug, Clone, Default)]
pub struct JobsTab {
    pub list: ListView<i64>,
    /// The filter of the pages shown (the `/` line's text once applied).
    pub applied: JobFilter,
    pub history: bool,
    pub order: Order,
    /// Cursors of the pages before this one (for going back), and this one's.
    pub previous: Vec<Option<i64>>,
    pub after_id: Option<i64>,
    pub page: Option<JobsPage>,
    /// A page is being fetched for a new filter or cursor.
    pub loading: bool,
    pub error: Option<String>,
    /// The open job, without its payload's bytes (`payload` shows them).
    pub detail: Option<JobDetail>,
    /// The detail's payload as shown, made once when it arrives rather than
    /// at every frame, and kept while the job's payload is unchanged.
    pub payload: Option<ShownPayload>,
    /// The detail's first row on screen; `usize::MAX` is "the last screen"
    /// until a frame settles it.
    pub detail_scroll: usize,
    /// The largest useful `detail_scroll`, as the last frame found it.
    pub detail_last_top: Cell<usize>,
}

impl JobsTab {
    /// The action that loads the page on screen.
    pub fn request(&self) -> ListJobs {
        ListJobs {
            filter: self.applied.clone(),
            history: self.history,
            page: PageRequest {
                order: self.order,
                after_id: self.after_id,
                limit: PAGE_SIZE,
            },
            search_timeout: DEFAULT_SEARCH_TIMEOUT,
            explain: false,
        }
    }

    /// A payload search is on its way (Esc cancels it).
    pub fn searching(&self) -> bool {
        self.loading && self.applied.search.is_some()
    }

    pub fn rows(&self) -> &[crate::actions::jobs::browse::JobRow] {
        self.page.as_ref().map_or(&[], |p| p.rows.as_slice())
    }

    fn selected_id(&self) -> Option<i64> {
        self.rows().get(self.list.selected).map(|r| r.id)
    }

    /// A page arrived; pages for an older request are dropped by the app.
    pub fn accept(&mut self, page: JobsPage) {
        self.loading = false;
        self.error = None;
        let previous = self.selected_id();
        let shown: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
        let ids: std::collections::HashSet<i64> = shown.iter().copied().collect();
        self.page = Some(page);
        // Tags of jobs that left the page (finished, canceled, another page)
        // would act on what is no longer on screen.
        self.list.accept(&shown, previous, |id| ids.contains(id));
    }

    /// Takes a detail (a refresh of the open one, usually); `false` when it
    /// left out a payload this tab no longer holds, which must be asked for.
    pub fn accept_detail(&mut self, mut detail: JobDetail) -> bool {
        if self.list.detail != Some(detail.id) {
            return true;
        }
        let mut complete = true;
        match detail.job.as_mut() {
            // Only in the log, which keeps no payload.
            None => self.payload = None,
            // The payload this tab said it shows (by its digest) was not
            // read again: the view and rows made for it stay.
            Some(job)
                if job.payload_left_out()
                    && self
                        .payload
                        .as_ref()
                        .is_some_and(|p| p.sha256 == job.payload_sha256) => {}
            Some(job) if job.payload_left_out() => {
                self.payload = None;
                complete = false;
            }
            Some(job) => {
                // The old view goes first: both at once would double the peak.
                self.payload = None;
                self.payload = Some(ShownPayload::of(
                    job.payload.take(),
                    job.payload_sha256.clone(),
                ));
                release_freed_memory();
            }
        }
        self.detail = Some(detail);
        complete
    }

    /// Move the detail by `rows`, within what the last frame showed.
    fn scroll_detail(&mut self, rows: isize) {
        let last_top = self.detail_last_top.get();
        let top = self.detail_scroll.min(last_top);
        self.detail_scroll = top.saturating_add_signed(rows).min(last_top);
    }

    pub fn failed(&mut self, error: String) {
        self.loading = false;
        self.error = Some(error);
    }

    /// Show jobs under `filter` from the first page (drill-down from another tab).
    pub fn show(&mut self, filter: JobFilter, text: String) {
        self.applied = filter;
        self.list.filter = text;
        self.history = false;
        self.restart();
    }

    /// Back to the first page of the current filter.
    fn restart(&mut self) {
        self.previous.clear();
        self.after_id = None;
        self.loading = true;
        self.list.reset_selection();
        self.list.detail = None;
    }

    fn reload(&self) -> Vec<Reply> {
        vec![Reply::Refresh(View::Jobs(Box::new(self.request())))]
    }

    /// Why the log's finished jobs cannot be acted on, when they are shown.
    fn refuse_history(&self) -> Option<Vec<Reply>> {
        self.history.then(|| {
            vec![Reply::Flash(
                Level::Info,
                "these are finished jobs (the log): press h for the queue".into(),
            )]
        })
    }

    /// Cancel, delete or requeue the tagged jobs, or else the selected one.
    fn act_on_targets(&self, command: Command) -> Vec<Reply> {
        if let Some(refused) = self.refuse_history() {
            return refused;
        }
        let ids = self.list.targets(self.selected_id());
        if ids.is_empty() {
            return vec![Reply::Flash(Level::Info, "no job selected".into())];
        }
        let action = match command {
            Command::CancelJobs => kinds::CancelJobs {
                selection: JobSelection::Ids(ids),
                bound: None,
            }
            .into(),
            Command::Delete => kinds::DeleteJobs {
                selection: JobSelection::Ids(ids),
                bound: None,
            }
            .into(),
            _ => kinds::Requeue { ids }.into(),
        };
        vec![Reply::Propose(action)]
    }

    /// Cancel, purge, requeue or delete every queue job the applied filter
    /// lists (requeue and delete: its held ones); the confirmation counts
    /// them and what it counted bounds the action.
    fn act_on_filter(&self, command: Command) -> Vec<Reply> {
        if let Some(refused) = self.refuse_history() {
            return refused;
        }
        if self.applied.is_empty() {
            return vec![Reply::Flash(
                Level::Info,
                "no filter: type one with / first (this never acts on every job)".into(),
            )];
        }
        let mut filter = self.applied.clone();
        if let Command::RequeueMatching | Command::DeleteMatching = command {
            // Only held jobs are requeued or deleted: say so rather than
            // propose nothing for a filter on another status.
            match filter.status {
                None => filter.status = Some(JobStatus::Failed),
                Some(JobStatus::Failed) => {}
                Some(other) => {
                    return vec![Reply::Flash(
                        Level::Info,
                        format!(
                            "requeue/delete all act on held (failed) jobs; the filter selects status:{}",
                            other.label()
                        ),
                    )];
                }
            }
        }
        let selection = JobSelection::Filter(Box::new(filter));
        let action = match command {
            Command::RequeueMatching => kinds::RequeueJobs {
                selection,
                bound: None,
            }
            .into(),
            Command::DeleteMatching => kinds::DeleteJobs {
                selection,
                bound: None,
            }
            .into(),
            Command::CancelMatching => kinds::CancelJobs {
                selection,
                bound: None,
            }
            .into(),
            _ => kinds::PurgeJobs {
                selection,
                bound: None,
            }
            .into(),
        };
        vec![Reply::Propose(action)]
    }

    pub fn open_detail(&mut self, id: i64) -> Vec<Reply> {
        self.list.detail = Some(id);
        self.detail = None;
        self.payload = None;
        self.detail_scroll = 0;
        vec![Reply::Refresh(self.detail_view(id))]
    }

    /// The open detail's refresh: its payload is not sent again while the
    /// one on screen is still the job's.
    fn detail_view(&self, id: i64) -> View {
        View::Job {
            id,
            known_payload: self.payload.as_ref().and_then(|p| p.sha256.clone()),
        }
    }
}

/// A large payload arrives in buffers (the server's message, its copy)
/// that are freed once it is shown; glibc keeps such pages, so an open
/// detail would hold megabytes it no longer uses. Hand them back.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl TabView for JobsTab {
    fn title(&self) -> &'static str {
        "Jobs"
    }

    fn view(&self) -> Option<View> {
        Some(match self.list.detail {
            Some(id) => self.detail_view(id),
            None => View::Jobs(Box::new(self.request())),
        })
    }

    /// A search scans the queue: it runs when asked (filter, paging, `r`),
    /// never again by itself on the clock or on every queue change.
    fn paused(&self) -> bool {
        self.applied.search.is_some()
    }

    fn list(&self) -> Option<&dyn ListControls> {
        Some(&self.list)
    }

    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        Some(&mut self.list)
    }

    fn close_detail(&mut self) {
        self.list.close_detail();
        // A closed detail's payload view (tens of megabytes for a large
        // payload) is not kept until the next detail opens.
        self.detail = None;
        if self.payload.take().is_some() {
            release_freed_memory();
        }
    }

    fn filter_applied(&mut self) -> Vec<Reply> {
        match parse_filter(&self.list.filter) {
            Ok(filter) => {
                if let Err(e) = usable(&filter, self.history) {
                    return vec![Reply::Flash(Level::Error, e.to_string())];
                }
                self.applied = filter;
                self.restart();
                self.reload()
            }
            Err(e) => vec![Reply::Flash(Level::Error, e)],
        }
    }

    fn detail_commands(&self) -> &'static [Command] {
        &[
            Command::Copy,
            Command::Up,
            Command::Down,
            Command::PageUp,
            Command::PageDown,
            Command::Top,
            Command::Bottom,
        ]
    }

    fn on_refreshed(
        &mut self,
        view: &View,
        result: Result<Outcome, String>,
        _cx: &Context,
    ) -> Routed {
        // A page (or its failure) for a filter or cursor since left behind
        // is dropped, and the page now wanted is asked for: a search would
        // not be fetched by the clock.
        if let View::Jobs(_) = view {
            let wanted = View::Jobs(Box::new(self.request()));
            if *view != wanted {
                return Routed::Taken(vec![Reply::Refresh(wanted)]);
            }
        }
        match (view, result) {
            (_, Ok(Outcome::Jobs(page))) => self.accept(page),
            (_, Ok(Outcome::Job(detail))) => {
                if !self.accept_detail(detail) {
                    // Answered for a payload the tab no longer shows: ask
                    // again with what it shows now.
                    return Routed::Taken(self.view().map(Reply::Refresh).into_iter().collect());
                }
            }
            (View::Jobs(_), Err(e)) => self.failed(e),
            (_, other) => return Routed::Passed(other),
        }
        Routed::Taken(Vec::new())
    }

    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply> {
        if self.list.detail.is_some() {
            match command {
                Command::Up => self.scroll_detail(-1),
                Command::Down => self.scroll_detail(1),
                Command::PageUp => self.scroll_detail(-10),
                Command::PageDown => self.scroll_detail(10),
                Command::Top => self.detail_scroll = 0,
                Command::Bottom => self.detail_scroll = usize::MAX,
                Command::Copy => {
                    return match &self.payload {
                        Some(shown) => vec![Reply::Copy(shown.view.text().to_string())],
                        None => vec![Reply::Flash(
                            Level::Info,
                            "no payload: the job is only in the log".into(),
                        )],
                    };
                }
                _ => {}
            }
            return Vec::new();
        }
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
                    return self.open_detail(id);
                }
            }
            Command::Tag => {
                let id = self.selected_id();
                self.list.toggle_tag(id);
                let len = self.rows().len();
                self.list.navigate(len, page, Command::Down);
            }
            Command::CancelJobs | Command::Delete | Command::Requeue => {
                return self.act_on_targets(command);
            }
            Command::CancelMatching
            | Command::PurgeMatching
            | Command::RequeueMatching
            | Command::DeleteMatching => {
                return self.act_on_filter(command);
            }
            Command::NextPage => {
                let next = self.page.as_ref().and_then(|p| p.next_after_id);
                let Some(next) = next else {
                    return vec![Reply::Flash(Level::Info, "this is the last page".into())];
                };
                self.previous.push(self.after_id);
                self.after_id = Some(next);
                self.loading = true;
                self.list.reset_selection();
                return self.reload();
            }
            Command::PrevPage => {
                let Some(before) = self.previous.pop() else {
                    return vec![Reply::Flash(Level::Info, "this is the first page".into())];
                };
                self.after_id = before;
                self.loading = true;
                self.list.reset_selection();
                return self.reload();
            }
            Command::History => {
                // Built aside: a refused switch leaves the filter as it was.
                let history = !self.history;
                let mut filter = self.applied.clone();
                // A status only the other side has is dropped.
                if filter.status.is_some_and(|s| s.in_queue() == history) {
                    filter.status = None;
                }
                if let Err(e) = usable(&filter, history) {
                    return vec![Reply::Flash(Level::Error, e.to_string())];
                }
                self.history = history;
                self.applied = filter;
                self.restart();
                return self.reload();
            }
            Command::Sort => {
                self.order = match self.order {
                    Order::NewestFirst => Order::OldestFirst,
                    Order::OldestFirst => Order::NewestFirst,
                };
                self.restart();
                return self.reload();
            }
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw(frame, area, screen, self);
    }

    fn draw_detail(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw_detail(frame, area, screen, self);
    }
}

/// `Ok` when `filter` can select jobs from the queue (or, with `history`,
/// from the log).
fn usable(filter: &JobFilter, history: bool) -> Result<(), FilterError> {
    let checked = if history {
        filter.log_where(1)
    } else {
        filter.queue_where(1)
    };
    checked.map(|_| ())
}

/// The filter line: `status:queued ep:send_email prio:5..10 id:123
/// key:abc worker:UUID`, and any other words as the search (free text, or
/// `key=value` on JSON payloads and headers). `ep:` repeats.
pub fn parse_filter(text: &str) -> Result<JobFilter, String> {
    let mut filter = JobFilter::default();
    let mut search: Vec<&str> = Vec::new();
    for word in text.split_whitespace() {
        let Some((name, value)) = word.split_once(':').filter(|(n, _)| {
            matches!(
                *n,
                "status"
                    | "ep"
                    | "entrypoint"
                    | "prio"
                    | "priority"
                    | "id"
                    | "key"
                    | "worker"
                    | "older"
            )
        }) else {
            search.push(word);
            continue;
        };
        match name {
            "status" => {
                filter.status = Some(JobStatus::parse(value).ok_or_else(|| {
                    format!("unknown status {value:?} (queued, picked, failed; successful, exception, canceled, deleted with history)")
                })?)
            }
            "ep" | "entrypoint" => filter.entrypoints.push(value.to_string()),
            "prio" | "priority" => {
                let number = |t: &str| {
                    t.parse::<i32>()
                        .map_err(|_| format!("prio:{value} is not N, N.., ..M or N..M"))
                };
                match value.split_once("..") {
                    Some((min, max)) => {
                        filter.priority_min = (!min.is_empty()).then(|| number(min)).transpose()?;
                        filter.priority_max = (!max.is_empty()).then(|| number(max)).transpose()?;
                    }
                    None => {
                        let n = number(value)?;
                        filter.priority_min = Some(n);
                        filter.priority_max = Some(n);
                    }
                }
            }
            "id" => {
                filter.id = Some(
                    value
                        .parse()
                        .map_err(|_| format!("id:{value} is not a job id"))?,
                )
            }
            "key" => filter.dedupe_key = Some(value.to_string()),
            "older" => {
                filter.older_than = Some(
                    crate::settings::duration::parse_duration(value)
                        .map_err(|e| format!("older:{value}: {e}"))?,
                )
            }
            _ => {
                filter.worker = Some(
                    value
                        .parse()
                        .map_err(|_| format!("worker:{value} is not a queue manager id (UUID)"))?,
                )
            }
        }
    }
    if !search.is_empty() {
        filter.search = Some(Search::parse(&search.join(" ")));
    }
    Ok(filter)
}

/// The filter line that selects `filter` (for a drill-down).
pub fn filter_text(filter: &JobFilter) -> String {
    filter.describe()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_line_syntax() {
        let f = parse_filter("status:queued ep:a ep:b prio:5..10 id:12 key:k order=7").unwrap();
        assert_eq!(f.status, Some(JobStatus::Queued));
        assert_eq!(f.entrypoints, ["a", "b"]);
        assert_eq!((f.priority_min, f.priority_max), (Some(5), Some(10)));
        assert_eq!(f.id, Some(12));
        assert_eq!(f.dedupe_key.as_deref(), Some("k"));
        assert_eq!(
            f.search,
            Some(Search::KeyValue {
                key: "order".into(),
                value: "7".into()
            })
        );
        let f = parse_filter("prio:3.. hello world").unwrap();
        assert_eq!((f.priority_min, f.priority_max), (Some(3), None));
        assert_eq!(f.search, Some(Search::Text("hello world".into())));
        assert!(parse_filter("status:nope").is_err());
        assert!(parse_filter("prio:x").is_err());
        assert!(parse_filter("worker:nope").is_err());
        assert_eq!(parse_filter("").unwrap(), JobFilter::default());
        // Words that only look like fields are searched.
        assert_eq!(
            parse_filter("url:https").unwrap().search,
            Some(Search::Text("url:https".into()))
        );
    }

    #[test]
    fn drill_down_text_parses_back() {
        let filter = JobFilter {
            entrypoints: vec!["send_email".into()],
            ..JobFilter::default()
        };
        assert_eq!(parse_filter(&filter_text(&filter)).unwrap(), filter);
        let every = parse_filter("status:queued ep:a prio:..3 id:4 key:k hello world").unwrap();
        assert_eq!(parse_filter(&filter_text(&every)).unwrap(), every);
        let one = parse_filter("prio:2 worker:00000000-0000-0000-0000-000000000000").unwrap();
        assert_eq!(parse_filter(&filter_text(&one)).unwrap(), one);
    }
}
