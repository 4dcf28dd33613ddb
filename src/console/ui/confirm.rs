//! The confirmation dialog's text and shape, apart from drawing: the app
//! bounds the dialog's scrolling with the same numbers the frame draws with
//! (from the terminal size, never remembered from a draw).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::sql_text;
use crate::console::dialog::{Confirm, Phase};
use crate::console::theme::Theme;

/// What the dialog says: question, outcome, target, command, warning, SQL
/// and parameters, wrapped to the width of the dialog drawn in `area`
/// (the SQL dedented and wrapped under its own indentation).
pub fn text(c: &Confirm, target: &str, t: &Theme, area: Rect) -> Paragraph<'static> {
    let p = &c.preview;
    let mut lines = vec![Line::from(Span::styled(p.question.clone(), t.title))];
    match &c.phase {
        Phase::Done { ok: true, text } => {
            lines.push(Line::from(Span::styled(format!("✔ done: {text}"), t.ok)))
        }
        Phase::Done { ok: false, text } => lines.push(Line::from(Span::styled(
            format!("✖ failed: {text}"),
            t.error,
        ))),
        _ => {}
    }
    lines.extend([
        Line::from(vec![
            Span::styled("target   ", t.dim),
            Span::raw(target.to_string()),
        ]),
        Line::from(vec![
            Span::styled("command  ", t.dim),
            Span::raw(p.command_line.clone()),
        ]),
    ]);
    if let Some(w) = &p.warning {
        lines.push(Line::from(Span::styled(format!("⚠ {w}"), t.warn)));
    }
    if !p.statements.is_empty() {
        lines.push(Line::from(Span::styled("SQL", t.header)));
        let width = text_width(area) as usize;
        for stmt in &p.statements {
            lines.extend(
                sql_text::rows(stmt, "  ", width)
                    .into_iter()
                    .map(Line::from),
            );
        }
    }
    for param in &p.parameters {
        lines.push(Line::from(Span::styled(format!("  {param}"), t.dim)));
    }
    Paragraph::new(lines).wrap(Wrap { trim: false })
}

/// Where the dialog sits in the body `area`.
pub struct Shape {
    /// 94% of the width; as tall as the wrapped text plus a blank line,
    /// the buttons and the border, within 96% of the height.
    pub popup: Rect,
    /// The text's part of it.
    pub body: Rect,
    pub buttons: Rect,
    /// How far the text scrolls before its last line is at the bottom.
    pub max_scroll: u16,
}

/// The dialog's width in the body `area`: 94% of it.
fn popup_width(area: Rect) -> u16 {
    area.width * 94 / 100
}

/// The columns the dialog's text has inside its border.
fn text_width(area: Rect) -> u16 {
    popup_width(area).saturating_sub(2)
}

impl Shape {
    pub fn of(area: Rect, text: &Paragraph) -> Shape {
        let width = popup_width(area);
        let chrome = 2 + 1 + 1;
        let rows = text.line_count(text_width(area)) as u16;
        let height = (rows + chrome).min(area.height * 96 / 100);
        let popup = Rect::new(
            area.x + (area.width - width) / 2,
            area.y + (area.height - height) / 2,
            width,
            height,
        );
        let [body, _, buttons] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(Block::bordered().inner(popup));
        Shape {
            popup,
            body,
            buttons,
            max_scroll: rows.saturating_sub(body.height),
        }
    }
}
