//! The `m` overlay's text and shape: every flash message of the session,
//! newest first, with its time, wrapped so nothing is cut. The shape comes
//! from the terminal size alone, so the app bounds scrolling with the
//! numbers it is drawn with (`dialog::draw_messages`); nothing here knows
//! the app.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::widgets::{body_area, centered};
use crate::console::flash_history::FlashHistory;
use crate::console::tabs::Level;
use crate::console::theme::Theme;

/// The messages as lines: `12:00:03 ✖ refused: …`, newest first.
pub fn lines(history: &FlashHistory, t: &Theme) -> Vec<Line<'static>> {
    if history.is_empty() {
        return vec![Line::from(Span::styled(
            "No message yet. What the status bar says is kept here in full.",
            t.dim,
        ))];
    }
    history
        .newest_first()
        .map(|m| {
            let (mark, style) = match m.level {
                Level::Error => ("✖", t.error),
                Level::Info => ("·", t.info),
            };
            Line::from(vec![
                Span::styled(format!("{} ", m.at.format("%H:%M:%S")), t.dim),
                Span::styled(format!("{mark} "), style),
                Span::styled(m.text.clone(), style),
            ])
        })
        .collect()
}

pub fn popup(body: Rect) -> Rect {
    centered(body, 96, 96)
}

pub fn block(t: &Theme) -> Block<'static> {
    Block::bordered()
        .title(Span::styled(
            " Messages of this session, in full · newest first ",
            t.title,
        ))
        .border_style(t.key)
}

/// How far the overlay scrolls on a terminal of `viewport`.
pub fn max_scroll(history: &FlashHistory, t: &Theme, viewport: Rect) -> u16 {
    let area = popup(body_area(viewport));
    let inner = block(t).inner(area);
    let rows = Paragraph::new(lines(history, t))
        .wrap(Wrap { trim: false })
        .line_count(inner.width) as u16;
    rows.saturating_sub(inner.height)
}
