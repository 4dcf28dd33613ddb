//! The open detail's payload as shown, and only that: a 10 MB payload is
//! held once, as its text (pretty JSON, text or a hex dump) and the row
//! index of that text; the payload's bytes are dropped once the text is made,
//! and its digest lets a refresh skip sending it again.

use std::cell::RefCell;

use crate::actions::jobs::payload::PayloadView;
use crate::console::ui::scroll_text::Rows;

#[derive(Debug, Clone)]
pub struct ShownPayload {
    pub view: PayloadView,
    /// The payload's size as stored.
    pub bytes: usize,
    /// Its SHA-256 as the server computed it (`None` for NULL).
    pub sha256: Option<Vec<u8>>,
    /// The text cut into screen rows for the detail's width, made by the
    /// first frame that shows it (only a frame knows the width).
    pub rows: RefCell<Option<Rows>>,
}

impl ShownPayload {
    /// The view of `payload` (consumed: text payloads become the view
    /// without a copy).
    pub fn of(payload: Option<Vec<u8>>, sha256: Option<Vec<u8>>) -> ShownPayload {
        let bytes = payload.as_ref().map_or(0, Vec::len);
        ShownPayload {
            view: PayloadView::as_stored(payload),
            bytes,
            sha256,
            rows: RefCell::new(None),
        }
    }

    /// Heap bytes it holds: what an open detail costs in memory.
    pub fn held_bytes(&self) -> usize {
        let rows = self.rows.borrow().as_ref().map_or(0, Rows::capacity_bytes);
        self.view.capacity() + rows + self.sha256.as_ref().map_or(0, Vec::capacity)
    }
}
