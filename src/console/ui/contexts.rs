//! The `:` picker: config.toml's contexts, the current one marked, each
//! with its target and read-only flag; Enter reconnects to the selected.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::cut;
use super::widgets::centered;
use crate::console::app::App;

pub fn draw(frame: &mut Frame, body: Rect, app: &App) {
    let t = &app.theme;
    let picker = &app.contexts;
    let height = (picker.choices.len() as u16 + 2).min(body.height);
    let area = centered(body, 90, 100);
    let area = Rect::new(
        area.x,
        body.y + (body.height - height) / 2,
        area.width,
        height,
    );
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .title(Span::styled(
            " Contexts (config.toml) · Enter connects · Esc closes ",
            t.title,
        ))
        .border_style(t.key);
    let inner = block.inner(area).width as usize;
    let lines: Vec<Line> = picker
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mark = if picker.current == Some(i) {
                "● "
            } else {
                "  "
            };
            let mut spans = vec![
                Span::styled(mark, t.ok),
                Span::styled(format!("{:<12} ", c.name), t.title),
            ];
            match &c.target {
                Ok(target) => spans.push(Span::raw(target.clone())),
                Err(why) => spans.push(Span::styled(format!("unusable: {why}"), t.error)),
            }
            if c.read_only {
                spans.push(Span::styled("  READ-ONLY", t.warn));
            }
            let line = cut::line(spans, inner as u16);
            if i == picker.selected {
                line.style(t.selected)
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
