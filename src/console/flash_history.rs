//! Every flash message of the session, kept after it leaves the status bar.
//!
//! The status bar has one line and a few seconds for a message; an error
//! from PostgreSQL is often longer than that. The history keeps the last
//! [`CAPACITY`] messages with their time, so a cut or vanished message can
//! be read in full (`m`, and at the end of the `L` overlay).

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::keymap::Command;
use super::tabs::Level;

/// Bounded: a console left open for days does not grow without limit.
pub const CAPACITY: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub at: DateTime<Utc>,
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct FlashHistory {
    entries: VecDeque<Message>,
    /// The overlay listing them is open.
    pub open: bool,
    /// Rows scrolled down in the overlay.
    pub scroll: u16,
}

impl FlashHistory {
    pub fn push(&mut self, at: DateTime<Utc>, level: Level, text: &str) {
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Message {
            at,
            level,
            text: text.to_string(),
        });
    }

    /// Newest first, as the overlays list them.
    pub fn newest_first(&self) -> impl Iterator<Item = &Message> {
        self.entries.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn show(&mut self) {
        self.open = true;
        self.scroll = 0;
    }

    /// A key while the overlay is open; `max_scroll` is how far its text
    /// scrolls on the screen it is drawn on (so Up moves at once).
    pub fn on_command(&mut self, command: Command, max_scroll: u16) {
        match command {
            Command::Messages | Command::Back | Command::Help => self.open = false,
            Command::Down => self.scroll = (self.scroll + 1).min(max_scroll),
            Command::PageDown => self.scroll = (self.scroll + 10).min(max_scroll),
            Command::Up => self.scroll = self.scroll.saturating_sub(1),
            Command::PageUp => self.scroll = self.scroll.saturating_sub(10),
            Command::Top => self.scroll = 0,
            Command::Bottom => self.scroll = max_scroll,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_hundred_newest_first() {
        let mut h = FlashHistory::default();
        let t = DateTime::<Utc>::UNIX_EPOCH;
        for i in 0..150 {
            h.push(t, Level::Info, &format!("message {i}"));
        }
        assert_eq!(h.len(), CAPACITY);
        let texts: Vec<&str> = h.newest_first().map(|m| m.text.as_str()).collect();
        assert_eq!(texts.first(), Some(&"message 149"));
        assert_eq!(texts.last(), Some(&"message 50"));
    }

    #[test]
    fn scrolling_stops_at_the_last_row() {
        let mut h = FlashHistory::default();
        h.show();
        for _ in 0..10 {
            h.on_command(Command::Down, 3);
        }
        assert_eq!(h.scroll, 3);
        h.on_command(Command::Up, 3);
        assert_eq!(h.scroll, 2);
        h.on_command(Command::Back, 3);
        assert!(!h.open);
    }
}
