//! Layout pieces shared by the frame and the tabs' views. Nothing here
//! knows the app, so tabs can draw with it without an import cycle.

use ratatui::layout::{Constraint, Layout, Rect};

/// Tab bar, body, status bar and hint line.
pub fn screen(area: Rect) -> [Rect; 4] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The area tabs draw in on a terminal of `area`: list tabs derive their
/// page height from it when keys arrive, so nothing is remembered from the
/// last draw.
pub fn body_area(area: Rect) -> Rect {
    screen(area)[1]
}

/// A centred rectangle `percent_x`% wide and `percent_y`% tall within `area`.
pub fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let w = area.width * percent_x / 100;
    let h = area.height * percent_y / 100;
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
