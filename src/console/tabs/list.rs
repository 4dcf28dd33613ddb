//! The list view every list tab shares: filter text, selection, tags, the
//! row whose detail pane is open, and the table's scroll state.
//!
//! The scroll state is a ratatui [`TableState`] kept here between frames and
//! moved only by navigation, so the view does not jump when the selection
//! moves inside the visible rows. The page height comes from the tab's
//! layout of the known terminal size, never from a value the last draw left
//! behind, so drawing stays a pure function of the state.

use std::collections::BTreeSet;

use ratatui::widgets::TableState;

use super::move_cursor;
use crate::console::keymap::Command;

#[derive(Debug, Clone)]
pub struct ListView<K: Ord> {
    pub filter: String,
    /// Index of the selected row among the filtered rows.
    pub selected: usize,
    pub tagged: BTreeSet<K>,
    /// The row whose detail pane is open.
    pub detail: Option<K>,
    /// Selection and scroll offset as last placed by navigation.
    pub table: TableState,
}

/// What the app asks of any tab's list, whatever its row key: the filter,
/// the selection reset, and the detail pane. Tabs hand out their
/// `ListView` as this, and `TabView`'s defaults do the rest.
pub trait ListControls {
    fn filter(&self) -> &str;
    fn filter_mut(&mut self) -> &mut String;
    fn reset_selection(&mut self);
    fn detail_open(&self) -> bool;
    fn close_detail(&mut self);
    /// An action took the tagged rows: they are spent.
    fn clear_tags(&mut self);
}

impl<K: Ord + Copy> ListControls for ListView<K> {
    fn filter(&self) -> &str {
        &self.filter
    }

    fn filter_mut(&mut self) -> &mut String {
        &mut self.filter
    }

    fn reset_selection(&mut self) {
        ListView::reset_selection(self);
    }

    fn detail_open(&self) -> bool {
        self.detail.is_some()
    }

    fn close_detail(&mut self) {
        self.detail = None;
    }

    fn clear_tags(&mut self) {
        self.tagged.clear();
    }
}

impl<K: Ord> Default for ListView<K> {
    fn default() -> Self {
        ListView {
            filter: String::new(),
            selected: 0,
            tagged: BTreeSet::new(),
            detail: None,
            table: TableState::default(),
        }
    }
}

impl<K: Ord + Copy> ListView<K> {
    /// Move the selection over `len` rows shown `page` at a time, scrolling
    /// only as far as needed to keep it visible.
    pub fn navigate(&mut self, len: usize, page: usize, command: Command) {
        self.selected = move_cursor(self.selected, len, page, command);
        self.scroll_to(self.selected, len, page);
    }

    /// Keep the scroll offset so that row `selected` of `len` is visible.
    pub fn scroll_to(&mut self, selected: usize, len: usize, page: usize) {
        let offset = window(self.table.offset(), selected, len, page);
        self.table = TableState::default()
            .with_offset(offset)
            .with_selected(Some(selected));
    }

    /// New data arrived: drop tags of rows that are gone (they would act on
    /// nothing), and keep the selection on the row it was on, found by its
    /// key among the `shown` rows, so a live list moving under the cursor
    /// never moves what a key acts on; a row that left keeps the position.
    pub fn accept(&mut self, shown: &[K], previous: Option<K>, exists: impl Fn(&K) -> bool) {
        self.tagged.retain(|k| exists(k));
        if let Some(at) = previous.and_then(|p| shown.iter().position(|k| *k == p)) {
            self.selected = at;
        }
        self.selected = self.selected.min(shown.len().saturating_sub(1));
    }

    /// New data arrived in a list without keys: keep the selection in range.
    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
    }

    pub fn toggle_tag(&mut self, key: Option<K>) {
        if let Some(key) = key
            && !self.tagged.remove(&key)
        {
            self.tagged.insert(key);
        }
    }

    /// The tagged rows, or else the given selected one.
    pub fn targets(&self, selected: Option<K>) -> Vec<K> {
        if self.tagged.is_empty() {
            selected.into_iter().collect()
        } else {
            self.tagged.iter().copied().collect()
        }
    }

    /// Back to the first row (the filter changed).
    pub fn reset_selection(&mut self) {
        self.selected = 0;
        self.table = TableState::default();
    }

    /// The state to draw `len` rows with, `page` of them visible: the kept
    /// offset, moved only if the selection would be off screen at this
    /// size. Pure, so a frame never changes what the next one starts from.
    pub fn state_for(&self, len: usize, page: usize) -> TableState {
        let selected = self.selected.min(len.saturating_sub(1));
        TableState::default()
            .with_offset(window(self.table.offset(), selected, len, page))
            .with_selected(Some(selected))
    }
}

/// The first visible row of `len` rows, `page` at a time, starting from
/// `offset` and moving as little as possible to show `selected`; never past
/// the point where the last page is full.
pub fn window(offset: usize, selected: usize, len: usize, page: usize) -> usize {
    let page = page.max(1);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + page {
        selected + 1 - page
    } else {
        offset
    };
    offset.min(len.saturating_sub(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_moves_only_when_the_selection_leaves_the_page() {
        assert_eq!(window(0, 3, 50, 10), 0);
        assert_eq!(window(0, 12, 50, 10), 3);
        assert_eq!(window(40, 48, 50, 10), 40, "moving up inside the page");
        assert_eq!(window(40, 35, 50, 10), 35);
        assert_eq!(window(45, 49, 50, 10), 40, "the last page stays full");
        assert_eq!(window(7, 0, 3, 10), 0);
    }

    #[test]
    fn scroll_offset_survives_moves_inside_the_page() {
        let mut list: ListView<i64> = ListView::default();
        list.navigate(50, 10, Command::Bottom);
        assert_eq!(list.table.offset(), 40);
        list.navigate(50, 10, Command::Up);
        assert_eq!((list.selected, list.table.offset()), (48, 40));
        assert_eq!(list.state_for(50, 10).offset(), 40);
        // A smaller terminal shows the selection without storing anything.
        assert_eq!(list.state_for(50, 5).offset(), 44);
        assert_eq!(list.table.offset(), 40);
    }

    #[test]
    fn tags_toggle_and_vanish_with_their_rows() {
        let mut list: ListView<i64> = ListView::default();
        list.toggle_tag(Some(3));
        list.toggle_tag(Some(4));
        list.toggle_tag(Some(3));
        assert_eq!(list.targets(Some(9)), vec![4]);
        list.accept(&[9], Some(9), |k| *k != 4);
        assert_eq!(list.targets(Some(9)), vec![9]);
    }

    #[test]
    fn the_selection_stays_on_its_row_while_rows_move() {
        let mut list: ListView<i64> = ListView::default();
        list.accept(&[10, 11, 12], None, |_| true);
        list.navigate(3, 10, Command::Down);
        assert_eq!(list.selected, 1, "on 11");
        // Two new rows arrive above it: the selection follows job 11.
        list.accept(&[8, 9, 10, 11, 12], Some(11), |_| true);
        assert_eq!(list.selected, 3);
        // Job 11 left: the position stays, within range.
        list.accept(&[8, 9], Some(11), |_| true);
        assert_eq!(list.selected, 1);
    }
}
