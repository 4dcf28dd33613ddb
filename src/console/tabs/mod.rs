//! The console's tabs: each is one type implementing [`TabView`], holding
//! its state and reacting to commands; list tabs build on the shared
//! [`list::ListView`]. Drawing lives in `console::ui`, which the trait's
//! `draw` hands over to.
//!
//! A tab is a folder: `mod.rs` holds the state and the `TabView` impl,
//! `view.rs` draws it from a [`Screen`]. A new tab is such a folder (a list
//! tab builds on a `ListView`), one line in `registry.rs` (its id, field,
//! `--tab` value, key and scope) and its own key specs in the keymap.

pub mod durability;
pub mod enqueue;
pub mod event_rate;
pub mod events;
pub mod held;
pub mod id;
pub mod jobs;
pub mod list;
mod registry;
pub mod schedules;
pub mod set;
pub mod stats;
pub mod worker;
pub mod workers;

use crate::console::tabs::list::ListControls;
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::db::View;
use super::keymap::{Command, Keymap};
use super::theme::Theme;
use crate::actions::preview::Preview;
use crate::actions::{Action, Outcome};

/// How a flash message reads: information, or something that went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// What a tab asks of the app after a command: the app owns the doors
/// (mutations, the db task, the clipboard, the flash line).
#[derive(Debug)]
pub enum Reply {
    /// A mutation: preview, confirm, execute (refused when read-only).
    Propose(Action),
    Flash(Level, String),
    /// Load this view now.
    Refresh(View),
    /// Put this text on the clipboard.
    Copy(String),
    /// Dry-run this action for the tab's own pane (not a proposal): the
    /// preview comes back to the tab's [`TabView::on_previewed`].
    Preview(Action),
    /// Open the Jobs tab on these jobs (a drill-down).
    ShowJobs(crate::actions::jobs::filter::JobFilter),
    /// Open this job's detail (the Jobs tab's overlay); closing it comes
    /// back to the tab that asked.
    ShowJob(i64),
}

/// What became of a refresh's answer offered to a tab.
#[derive(Debug)]
// Lives for one offer; boxing the answer would allocate per refresh to
// save moving a few hundred bytes between nine tabs.
#[allow(clippy::large_enum_variant)]
pub enum Routed {
    /// The tab shows it, and asks for these.
    Taken(Vec<Reply>),
    /// Not this tab's: offered to the next one.
    Passed(Result<Outcome, String>),
}

/// An action a tab proposed has run, or failed.
pub struct Done<'a> {
    pub action: &'a Action,
    pub result: &'a Result<Outcome, String>,
    /// What the SQL log says of it: its outcome sentence or the error.
    pub said: &'a Result<String, String>,
    /// The equivalent scripted command line.
    pub command_line: String,
    pub elapsed: std::time::Duration,
}

/// What a tab knows of the world when it handles a command.
pub struct Context {
    pub now: DateTime<Utc>,
    /// The area below the tab bar and above the status lines, from the
    /// terminal size: list tabs derive their page height from it.
    pub body: Rect,
}

/// What a tab's view draws with besides its own state: a snapshot of the
/// app's shared state, so tabs never see (or import) the app itself.
pub struct Screen<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    pub now: DateTime<Utc>,
    /// Connected now; otherwise the data on screen is stale.
    pub connected: bool,
    /// The server is a hot standby (no NOTIFY).
    pub standby: bool,
    /// What to say about a standby, if on one.
    pub standby_notice: Option<String>,
    /// What to say about a schema newer than pgq writes, if it is.
    pub newer_schema: Option<String>,
    /// The NOTIFY channel the Events tab listens on.
    pub channel: &'a str,
    /// Entrypoints seen anywhere, for the enqueue form's completion.
    pub known_entrypoints: Vec<String>,
}

/// One tab of the console.
pub trait TabView {
    fn title(&self) -> &'static str;
    /// The title where the tab bar is short of room (at most about five
    /// letters); short titles need not override it.
    fn short_title(&self) -> &'static str {
        self.title()
    }
    /// The data this tab shows, refreshed by the clock while it is on screen.
    fn view(&self) -> Option<View> {
        None
    }
    /// The user paused this tab's refreshes.
    fn paused(&self) -> bool {
        false
    }
    /// The tab's list, for list tabs: filter, selection and detail pane
    /// come from it through the defaults below.
    fn list(&self) -> Option<&dyn ListControls> {
        None
    }
    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        None
    }
    /// The `/` filter text, for tabs that have one.
    fn filter(&self) -> Option<&str> {
        self.list().map(|l| l.filter())
    }
    fn filter_mut(&mut self) -> Option<&mut String> {
        self.list_mut().map(|l| l.filter_mut())
    }
    /// The `/` line was closed (kept or cleared): a tab whose filter is a
    /// query loads it now.
    fn filter_applied(&mut self) -> Vec<Reply> {
        Vec::new()
    }
    /// The filter changed: back to the first row.
    fn reset_selection(&mut self) {
        if let Some(l) = self.list_mut() {
            l.reset_selection();
        }
    }
    fn detail_open(&self) -> bool {
        self.list().is_some_and(|l| l.detail_open())
    }
    fn close_detail(&mut self) {
        if let Some(l) = self.list_mut() {
            l.close_detail();
        }
    }
    /// Commands that still work while the detail pane is open (besides
    /// closing it, help and quit).
    fn detail_commands(&self) -> &'static [Command] {
        &[]
    }
    /// A command from this tab's scope, or navigation from the List scope.
    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply>;
    /// The answer to a refresh (of `view`) came back. Every tab is offered
    /// every answer and takes those it shows; the app does not know which
    /// tab shows what.
    fn on_refreshed(
        &mut self,
        _view: &View,
        result: Result<Outcome, String>,
        _cx: &Context,
    ) -> Routed {
        Routed::Passed(result)
    }
    /// An action this tab proposed ran (or failed): whatever the outcome,
    /// the rows it took are spent (a failed action says so; the operator
    /// tags again for the next one).
    fn on_done(&mut self, _done: &Done) -> Vec<Reply> {
        if let Some(l) = self.list_mut() {
            l.clear_tags();
        }
        Vec::new()
    }
    /// The dry run this tab asked for with [`Reply::Preview`] came back.
    fn on_previewed(&mut self, _action: &Action, _result: Result<Preview, String>) {}
    /// Entrypoints this tab's data names (for the enqueue form's
    /// completion), and the view that loads them.
    fn entrypoints(&self) -> Vec<String> {
        Vec::new()
    }
    fn entrypoints_view(&self) -> Option<View> {
        None
    }
    /// This tab shows NOTIFY events (the Events tab lists them, the
    /// Workers tab counts workers by their health checks): while it is on
    /// screen the console keeps listening however busy the queue is.
    fn shows_events(&self) -> bool {
        false
    }
    /// This tab completes entrypoints from the other tabs' data: their
    /// views load whenever it is shown, and its [`Screen`] carries them.
    fn completes_entrypoints(&self) -> bool {
        false
    }
    /// A form being edited takes every key: the app hands them to
    /// [`TabView::on_edit_key`], all but the keys of the tab's commands that
    /// change the database (submitting), which take the usual door.
    fn editing(&self) -> bool {
        false
    }
    fn on_edit_key(&mut self, _key: crossterm::event::KeyEvent, _known: &[String]) {}
    /// The clock moved (about once a second while the console is open).
    fn on_clock(&mut self, _now: DateTime<Utc>) {}
    /// The hint line while the tab is in a mode of its own (a detail pane,
    /// a form being edited); `None` shows the keymap's hints for its scope.
    fn hints(&self, keymap: &Keymap) -> Option<Vec<(String, &'static str)>> {
        if !self.detail_open() {
            return None;
        }
        let mut hints = vec![(keymap.first_key(Command::Back), "close")];
        for command in self.detail_commands() {
            hints.push((keymap.first_key(*command), keymap.label(*command)));
        }
        Some(hints)
    }
    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen);
    fn draw_detail(&self, _frame: &mut Frame, _area: Rect, _screen: &Screen) {}
}

/// A cursor over a list of `len` rows shown `page` rows at a time.
pub fn move_cursor(selected: usize, len: usize, page: usize, command: Command) -> usize {
    if len == 0 {
        return 0;
    }
    let last = len - 1;
    let page = page.max(1);
    match command {
        Command::Up => selected.saturating_sub(1),
        Command::Down => (selected + 1).min(last),
        Command::Top => 0,
        Command::Bottom => last,
        Command::PageUp => selected.saturating_sub(page),
        Command::PageDown => (selected + page).min(last),
        _ => selected.min(last),
    }
}

/// Case-insensitive substring match; an empty filter matches everything.
pub fn matches_filter(haystack: &str, filter: &str) -> bool {
    filter.is_empty() || haystack.to_lowercase().contains(&filter.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_stays_in_bounds() {
        assert_eq!(move_cursor(0, 0, 10, Command::Down), 0);
        assert_eq!(move_cursor(0, 5, 10, Command::Up), 0);
        assert_eq!(move_cursor(4, 5, 10, Command::Down), 4);
        assert_eq!(move_cursor(1, 50, 10, Command::PageDown), 11);
        assert_eq!(move_cursor(45, 50, 10, Command::PageDown), 49);
        assert_eq!(move_cursor(3, 50, 10, Command::PageUp), 0);
        assert_eq!(move_cursor(3, 50, 10, Command::Bottom), 49);
        assert_eq!(move_cursor(30, 5, 10, Command::Refresh), 4);
    }

    #[test]
    fn filter_is_case_insensitive() {
        assert!(matches_filter("Send_Email", "email"));
        assert!(matches_filter("anything", ""));
        assert!(!matches_filter("report", "mail"));
    }
}
