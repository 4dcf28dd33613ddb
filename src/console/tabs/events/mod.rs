//! Events tab state: a bounded buffer of received NOTIFY payloads.
//!
//! Every event gets a sequence number. Pausing freezes the view at the
//! current number while events keep being collected (the buffer still
//! evicts the oldest beyond its capacity). The selection is held as a
//! sequence number so it stays on the same event as new ones arrive;
//! `None` follows the newest.

mod view;

use crate::console::tabs::list::ListControls;
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;

use super::event_rate::RateMeter;
use super::list::ListView;
use super::{Context, Level, Reply, Screen, TabView, matches_filter, move_cursor};
use crate::console::keymap::Command;
use crate::events::{Event, Received};
use crate::output::plural;

/// Window over which the event rate is measured.
const RATE_WINDOW_SECONDS: i64 = 10;

#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    pub received: Received,
}

impl Entry {
    /// The `type` shown in the table: the 1.6.0 name, or for unknown JSON
    /// events the payload's own `type`, so nothing is hidden.
    pub fn kind(&self) -> String {
        match &self.received.event {
            Event::Unknown(raw) => serde_json::from_str::<serde_json::Value>(raw)
                .ok()
                .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
                .map_or_else(|| "unknown".to_string(), |t| format!("? {t}")),
            other => other.kind().to_string(),
        }
    }

    pub fn details(&self) -> String {
        match &self.received.event {
            Event::TableChanged {
                operation, table, ..
            } => format!("{} {table}", operation.as_str()),
            Event::Cancellation { ids, .. } => {
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                format!("cancel ids {}", ids.join(","))
            }
            Event::HealthCheck { id, .. } => format!("id {id}"),
            Event::Unknown(_) => self.received.event.fields(),
        }
    }

    /// The payload pretty-printed when it is JSON, else as received.
    pub fn pretty(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.received.raw)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| self.received.raw.clone())
    }

    fn matches(&self, filter: &str) -> bool {
        matches_filter(&self.kind(), filter)
            || matches_filter(&self.details(), filter)
            || matches_filter(&self.received.raw, filter)
    }
}

#[derive(Debug, Clone)]
pub struct EventsTab {
    buffer: VecDeque<Entry>,
    capacity: usize,
    next_seq: u64,
    /// Frozen at this sequence number (inclusive) while paused.
    pub paused_at: Option<u64>,
    /// Filter, scroll and the event whose JSON is open (by sequence
    /// number); the selection is kept apart, as a sequence number.
    pub list: ListView<u64>,
    /// The selected event; `None` follows the newest.
    pub selected: Option<u64>,
    /// Events evicted because the buffer was full.
    pub evicted: u64,
    /// Arrivals counted apart from the buffer, which keeps only the newest.
    arrivals: RateMeter,
    /// The latest stretch the console did not listen (a busy queue while
    /// other tabs were on screen): from, to.
    not_heard: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl EventsTab {
    pub fn new(capacity: usize) -> EventsTab {
        EventsTab {
            buffer: VecDeque::with_capacity(capacity.min(4_096)),
            capacity: capacity.max(1),
            next_seq: 1,
            paused_at: None,
            list: ListView::default(),
            selected: None,
            evicted: 0,
            arrivals: RateMeter::new(RATE_WINDOW_SECONDS),
            not_heard: None,
        }
    }

    /// The console did not listen from `from` to `to`: events of that
    /// stretch are missing, and the header says so.
    pub fn not_heard(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) {
        self.not_heard = Some((from, to));
    }

    /// The stretch not listened to, while the buffer reaches back to it
    /// (once every buffered event is newer, the gap is out of view).
    pub fn gap_in_view(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let (from, to) = self.not_heard?;
        let reaches_back = self
            .buffer
            .front()
            .is_none_or(|e| e.received.received_at <= to);
        reaches_back.then_some((from, to))
    }

    pub fn push(&mut self, received: Received) {
        self.arrivals.record(received.received_at);
        if self.buffer.len() == self.capacity {
            self.buffer.pop_front();
            self.evicted += 1;
        }
        self.buffer.push_back(Entry {
            seq: self.next_seq,
            received,
        });
        self.next_seq += 1;
    }

    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Events received since the view was paused.
    pub fn arrived_while_paused(&self) -> u64 {
        self.paused_at
            .map_or(0, |at| self.next_seq.saturating_sub(at + 1))
    }

    pub fn toggle_pause(&mut self) {
        self.paused_at = match self.paused_at {
            Some(_) => None,
            None => Some(self.next_seq - 1),
        };
    }

    pub fn clear(&mut self) {
        self.buffer.clear();
        self.selected = None;
        self.list.detail = None;
        if self.paused_at.is_some() {
            self.paused_at = Some(self.next_seq - 1);
        }
    }

    /// Events in view, newest first: at most up to the pause point, filtered.
    pub fn visible(&self) -> Vec<&Entry> {
        let limit = self.paused_at.unwrap_or(u64::MAX);
        self.buffer
            .iter()
            .rev()
            // Without a filter no entry is formatted: a frame costs the
            // rows on screen, not the whole buffer.
            .filter(|e| {
                e.seq <= limit && (self.list.filter.is_empty() || e.matches(&self.list.filter))
            })
            .collect()
    }

    /// Index of the selection within `visible`.
    pub fn selected_index(&self, visible: &[&Entry]) -> usize {
        self.selected
            .and_then(|seq| visible.iter().position(|e| e.seq == seq))
            .unwrap_or(0)
    }

    /// Move the selection over the visible events, `page` at a time.
    pub fn navigate(&mut self, command: Command, page: usize) {
        let visible = self.visible();
        if visible.is_empty() {
            self.selected = None;
            return;
        }
        let current = self.selected_index(&visible);
        let len = visible.len();
        let next = move_cursor(current, len, page, command);
        // Back at the top means "follow the newest" again.
        self.selected = (next > 0).then(|| visible[next].seq);
        self.list.scroll_to(next, len, page);
    }

    pub fn selected_entry(&self) -> Option<&Entry> {
        let visible = self.visible();
        let i = self.selected_index(&visible);
        visible.get(i).copied()
    }

    pub fn entry(&self, seq: u64) -> Option<&Entry> {
        self.buffer.iter().find(|e| e.seq == seq)
    }

    /// The event whose JSON is open.
    pub fn detail_entry(&self) -> Option<&Entry> {
        self.list.detail.and_then(|seq| self.entry(seq))
    }

    /// The open event, or else the selected one, onto the clipboard.
    fn copy(&self) -> Vec<Reply> {
        let entry = match self.list.detail {
            Some(seq) => self.entry(seq),
            None => self.selected_entry(),
        };
        match entry.map(|e| e.received.raw.clone()) {
            Some(raw) => vec![
                Reply::Copy(raw),
                Reply::Flash(Level::Info, "copied the event JSON (OSC 52)".into()),
            ],
            None => vec![Reply::Flash(Level::Info, "no event to copy".into())],
        }
    }

    /// Events per second over the last few seconds, however many the
    /// buffer keeps.
    pub fn rate(&self, now: DateTime<Utc>) -> f64 {
        match self.not_heard {
            Some((_, heard_from)) => self.arrivals.per_second_since(now, heard_from),
            None => self.arrivals.per_second(now),
        }
    }
}

impl TabView for EventsTab {
    fn shows_events(&self) -> bool {
        true
    }

    fn title(&self) -> &'static str {
        "Events"
    }

    fn list(&self) -> Option<&dyn ListControls> {
        Some(&self.list)
    }

    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        Some(&mut self.list)
    }

    fn reset_selection(&mut self) {
        self.selected = None;
        self.list.reset_selection();
    }

    fn detail_commands(&self) -> &'static [Command] {
        &[Command::Copy]
    }

    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply> {
        match command {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => self.navigate(command, view::page_height(cx.body)),
            Command::Pause => self.toggle_pause(),
            // A cancellation names jobs: Enter opens the (first) job's
            // detail, where its log shows the cancel; other events open
            // their JSON.
            Command::Open => match self.selected_entry().map(|e| &e.received.event) {
                Some(Event::Cancellation { ids, .. }) if !ids.is_empty() => {
                    let mut replies = vec![Reply::ShowJob(ids[0])];
                    if ids.len() > 1 {
                        replies.push(Reply::Flash(
                            Level::Info,
                            format!(
                                "the event names {}; showing job {}",
                                plural(ids.len(), "job"),
                                ids[0]
                            ),
                        ));
                    }
                    return replies;
                }
                _ => self.list.detail = self.selected_entry().map(|e| e.seq),
            },
            Command::Clear => {
                let n = self.len();
                self.clear();
                return vec![Reply::Flash(
                    Level::Info,
                    format!("cleared {}", plural(n, "event")),
                )];
            }
            Command::Copy => return self.copy(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn ev(n: i64) -> Received {
        let at = DateTime::from_timestamp(1_700_000_000 + n, 0).unwrap();
        Received::new(
            &format!(
                r#"{{"channel":"ch_pgqueuer","operation":"insert","sent_at":"2023-11-14T22:13:20Z","table":"t{n}","type":"table_changed_event"}}"#
            ),
            at,
        )
    }

    #[test]
    fn buffer_is_bounded_and_counts_evictions() {
        let mut t = EventsTab::new(3);
        for n in 0..5 {
            t.push(ev(n));
        }
        assert_eq!(t.len(), 3);
        assert_eq!(t.evicted, 2);
        let tables: Vec<String> = t.visible().iter().map(|e| e.details()).collect();
        assert_eq!(tables, ["insert t4", "insert t3", "insert t2"]);
    }

    #[test]
    fn pause_freezes_the_view_but_keeps_collecting() {
        let mut t = EventsTab::new(100);
        t.push(ev(1));
        t.toggle_pause();
        t.push(ev(2));
        t.push(ev(3));
        assert_eq!(t.visible().len(), 1);
        assert_eq!(t.arrived_while_paused(), 2);
        assert_eq!(t.len(), 3);
        t.toggle_pause();
        assert_eq!(t.visible().len(), 3);
        assert_eq!(t.arrived_while_paused(), 0);
    }

    #[test]
    fn filter_matches_type_details_and_raw_text() {
        let mut t = EventsTab::new(100);
        t.push(ev(1));
        t.push(ev(2));
        t.push(Received::new(
            r#"{"type":"custom_event","x":1}"#,
            Utc::now(),
        ));
        t.push(Received::new("not json", Utc::now()));
        t.list.filter = "insert t2".into();
        assert_eq!(t.visible().len(), 1);
        t.list.filter = "CUSTOM".into();
        assert_eq!(t.visible()[0].kind(), "? custom_event");
        t.list.filter = "not json".into();
        assert_eq!(t.visible()[0].kind(), "unknown");
    }

    #[test]
    fn selection_sticks_to_its_event_and_top_follows() {
        let mut t = EventsTab::new(100);
        for n in 0..5 {
            t.push(ev(n));
        }
        t.navigate(Command::Down, 10);
        let chosen = t.selected_entry().unwrap().seq;
        t.push(ev(9));
        assert_eq!(t.selected_entry().unwrap().seq, chosen);
        t.navigate(Command::Top, 10);
        assert_eq!(t.selected, None);
        assert_eq!(t.selected_entry().unwrap().details(), "insert t9");
    }

    #[test]
    fn rate_counts_recent_events() {
        let mut t = EventsTab::new(100);
        for n in 0..20 {
            t.push(ev(n));
        }
        let now = DateTime::from_timestamp(1_700_000_020, 0).unwrap();
        // One a second, whatever the window's alignment.
        assert!((t.rate(now) - 1.0).abs() < 1e-9, "{}", t.rate(now));
    }

    #[test]
    fn rate_is_not_capped_by_the_buffer_size() {
        // 5,000 a second for 10 s into the default buffer of 10,000: the
        // buffer holds 2 s of them, the rate must still read 5,000/s.
        let mut t = EventsTab::new(10_000);
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        for n in 0..50_000 {
            let at = start + Duration::microseconds(200 * n);
            t.push(Received::new(r#"{"type":"table_changed_event"}"#, at));
        }
        assert_eq!(t.len(), 10_000);
        let rate = t.rate(start + Duration::seconds(10));
        assert!((rate - 5_000.0).abs() < 50.0, "rate {rate}/s");
    }
}
