//! Per-tab view state and the list navigation they share. Drawing lives in
//! `console::ui`; these modules only hold state and react to commands.

pub mod durability;
pub mod enqueue;
pub mod event_rate;
pub mod events;
pub mod held;
pub mod schedules;
pub mod stats;
pub mod worker;

use super::keymap::Command;

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
