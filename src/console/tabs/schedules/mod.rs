//! Schedules tab state: the listing on the shared list view (filter,
//! selection, tags, detail), and the detail's next fire times, computed when
//! data arrives or the clock passes the first of them, never while drawing.

mod view;

use crate::console::tabs::list::ListControls;
use chrono::{DateTime, Duration, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::list::ListView;
use super::{Context, Done, Level, Reply, Routed, Screen, TabView, matches_filter};
use crate::actions::schedules::{ListedSchedule, ScheduleListing, ScheduleRef};
use crate::actions::{Outcome, kinds};
use crate::console::db::View;
use crate::console::keymap::Command;
use crate::cron;

/// A `picked` schedule whose heartbeat is older than this is re-claimed by
/// another scheduler (PGQueuer's rule), so it is shown as stale.
pub const STALE_AFTER_SECONDS: i64 = 30;
/// Fire times the detail pane lists.
const DETAIL_FIRES: usize = 10;

/// The next fire times of one schedule, as of when they were computed.
pub type Fires = Result<Vec<DateTime<Utc>>, String>;

#[derive(Debug, Clone, Default)]
pub struct SchedulesTab {
    pub listing: Option<ScheduleListing>,
    pub list: ListView<i64>,
    /// The open detail's next fire times (schedule id, fires).
    pub fires: Option<(i64, Fires)>,
}

impl SchedulesTab {
    pub fn rows(&self) -> Vec<&ListedSchedule> {
        let Some(listing) = &self.listing else {
            return Vec::new();
        };
        let filter = &self.list.filter;
        let mut rows: Vec<&ListedSchedule> = listing
            .rows
            .iter()
            .filter(|r| {
                matches_filter(&r.schedule.entrypoint, filter)
                    || matches_filter(&r.schedule.expression, filter)
            })
            .collect();
        rows.sort_by(|a, b| {
            a.schedule
                .next_run
                .cmp(&b.schedule.next_run)
                .then(a.schedule.id.cmp(&b.schedule.id))
        });
        rows
    }

    pub fn selected_row(&self) -> Option<&ListedSchedule> {
        self.rows().get(self.list.selected).copied()
    }

    fn selected_id(&self) -> Option<i64> {
        self.selected_row().map(|r| r.schedule.id)
    }

    pub fn accept(&mut self, listing: ScheduleListing, now: DateTime<Utc>) {
        let previous = self.selected_id();
        self.listing = Some(listing);
        let shown: Vec<i64> = self.rows().iter().map(|r| r.schedule.id).collect();
        let rows = self.listing.iter().flat_map(|l| &l.rows);
        let ids: std::collections::HashSet<i64> = rows.map(|r| r.schedule.id).collect();
        self.list.accept(&shown, previous, |id| ids.contains(id));
        self.compute_fires(now);
    }

    pub fn detail_row(&self) -> Option<&ListedSchedule> {
        let id = self.list.detail?;
        self.listing
            .as_ref()?
            .rows
            .iter()
            .find(|r| r.schedule.id == id)
    }

    /// The fire times of the open detail, if computed for it.
    pub fn detail_fires(&self) -> Option<&Fires> {
        let id = self.list.detail?;
        self.fires
            .as_ref()
            .filter(|(f, _)| *f == id)
            .map(|(_, f)| f)
    }

    fn compute_fires(&mut self, now: DateTime<Utc>) {
        self.fires = self.detail_row().map(|row| {
            let fires = cron::next_fires(&row.schedule.expression, now, DETAIL_FIRES)
                .map_err(|e| e.to_string());
            (row.schedule.id, fires)
        });
    }

    /// The clock moved: once the first listed fire time is past, the list
    /// is recomputed so it stays "the next ten".
    fn refresh_fires(&mut self, now: DateTime<Utc>) {
        let passed = match self.detail_fires() {
            Some(Ok(fires)) => fires.first().is_some_and(|first| *first <= now),
            Some(Err(_)) => false,
            None => self.list.detail.is_some(),
        };
        if passed {
            self.compute_fires(now);
        }
    }

    fn page(cx: &Context) -> usize {
        view::page_height(cx.body)
    }
}

impl TabView for SchedulesTab {
    fn title(&self) -> &'static str {
        "Schedules"
    }

    fn short_title(&self) -> &'static str {
        "Sched"
    }

    fn list(&self) -> Option<&dyn ListControls> {
        Some(&self.list)
    }

    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        Some(&mut self.list)
    }

    fn view(&self) -> Option<View> {
        Some(View::Schedules)
    }

    fn close_detail(&mut self) {
        self.list.detail = None;
        self.fires = None;
    }

    fn on_clock(&mut self, now: DateTime<Utc>) {
        self.refresh_fires(now);
    }

    fn entrypoints(&self) -> Vec<String> {
        self.listing
            .iter()
            .flat_map(|l| l.rows.iter().map(|r| r.schedule.entrypoint.clone()))
            .collect()
    }

    fn entrypoints_view(&self) -> Option<View> {
        Some(View::Schedules)
    }

    fn on_refreshed(
        &mut self,
        _view: &View,
        result: Result<Outcome, String>,
        cx: &Context,
    ) -> Routed {
        match result {
            Ok(Outcome::Schedules(listing)) => self.accept(listing, cx.now),
            other => return Routed::Passed(other),
        }
        Routed::Taken(Vec::new())
    }

    fn on_done(&mut self, done: &Done) -> Vec<Reply> {
        if let Ok(Outcome::SchedulesRemoved(_)) = done.result {
            self.close_detail();
        }
        self.list.clear_tags();
        Vec::new()
    }

    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply> {
        match command {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => {
                let len = self.rows().len();
                self.list.navigate(len, Self::page(cx), command);
            }
            Command::Open => {
                self.list.detail = self.selected_id();
                self.compute_fires(cx.now);
            }
            Command::Tag => {
                let id = self.selected_id();
                self.list.toggle_tag(id);
                let len = self.rows().len();
                self.list.navigate(len, Self::page(cx), Command::Down);
            }
            Command::Delete => {
                if let Some(id) = self.selected_id() {
                    return vec![Reply::Propose(
                        kinds::RemoveSchedules {
                            refs: vec![ScheduleRef::Id(id)],
                        }
                        .into(),
                    )];
                }
            }
            Command::DeleteTagged => {
                if self.list.tagged.is_empty() {
                    return vec![Reply::Flash(
                        Level::Info,
                        "no schedule is tagged (Space tags)".into(),
                    )];
                }
                let refs = self
                    .list
                    .tagged
                    .iter()
                    .map(|id| ScheduleRef::Id(*id))
                    .collect();
                return vec![Reply::Propose(kinds::RemoveSchedules { refs }.into())];
            }
            Command::PauseSchedules | Command::ResumeSchedules | Command::SkipRun => {
                let refs: Vec<ScheduleRef> = self
                    .list
                    .targets(self.selected_id())
                    .into_iter()
                    .map(ScheduleRef::Id)
                    .collect();
                if refs.is_empty() {
                    return Vec::new();
                }
                let action = match command {
                    Command::PauseSchedules => kinds::PauseSchedules { refs }.into(),
                    Command::ResumeSchedules => kinds::ResumeSchedules { refs }.into(),
                    _ => kinds::SkipSchedules { refs }.into(),
                };
                return vec![Reply::Propose(action)];
            }
            Command::RunNow => {
                let ids = self.list.targets(self.selected_id());
                if !ids.is_empty() {
                    return vec![Reply::Propose(kinds::RunSchedulesNow { ids }.into())];
                }
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

pub fn is_stale(row: &ListedSchedule, now: DateTime<Utc>) -> bool {
    row.schedule.status.as_deref() == Some("picked")
        && now - row.schedule.heartbeat > Duration::seconds(STALE_AFTER_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::schedules::Schedule;

    fn listing(expression: &str, now: DateTime<Utc>) -> ScheduleListing {
        ScheduleListing {
            rows: vec![ListedSchedule {
                schedule: Schedule {
                    id: 7,
                    expression: expression.into(),
                    heartbeat: now,
                    created: now,
                    updated: now,
                    next_run: now,
                    last_run: None,
                    status: Some("queued".into()),
                    entrypoint: "tick".into(),
                },
                next_fires: Ok(Vec::new()),
            }],
            as_of: now,
        }
    }

    #[test]
    fn fire_times_follow_data_and_clock_not_drawing() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap(); // 22:13:20
        let cx = Context {
            now: t0,
            body: Rect::new(0, 0, 80, 21),
        };
        let mut tab = SchedulesTab::default();
        tab.accept(listing("* * * * *", t0), t0);
        assert!(
            tab.detail_fires().is_none(),
            "computed only for an open detail"
        );
        tab.on_command(Command::Open, &cx);
        let first = |tab: &SchedulesTab| tab.detail_fires().unwrap().as_ref().unwrap()[0];
        assert_eq!(first(&tab).timestamp(), 1_700_000_040);
        tab.on_clock(t0 + Duration::seconds(5));
        assert_eq!(first(&tab).timestamp(), 1_700_000_040, "not yet passed");
        tab.on_clock(t0 + Duration::seconds(40));
        assert_eq!(first(&tab).timestamp(), 1_700_000_100);
        assert_eq!(tab.detail_fires().unwrap().as_ref().unwrap().len(), 10);
        tab.accept(listing("0 0 * * *", t0), t0);
        assert_eq!(
            first(&tab).timestamp(),
            1_700_006_400,
            "new data, new fires"
        );
    }
}
