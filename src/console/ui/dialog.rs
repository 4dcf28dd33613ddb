//! The confirmation dialog and the overlay of the session's changes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::widgets::centered;
use crate::console::app::App;
use crate::console::dialog::Phase;

pub fn draw_confirm(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let Some(c) = &app.confirm else { return };
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
            Span::raw(app.conn.target.clone()),
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
        for stmt in &p.statements {
            lines.extend(stmt.lines().map(|l| Line::from(format!("  {l}"))));
        }
    }
    for param in &p.parameters {
        lines.push(Line::from(Span::styled(format!("  {param}"), t.dim)));
    }
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    let popup = fitted(area, &text);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Span::styled(" Confirm ", t.title))
        .border_style(t.warn);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [body, _, buttons] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    // Scrolling stops at the last line: past it the dialog would go blank.
    let rows = text.line_count(body.width) as u16;
    let scroll = c.scroll.min(rows.saturating_sub(body.height));
    frame.render_widget(text.scroll((scroll, 0)), body);
    let footer = match &c.phase {
        Phase::Asking if p.nothing_to_do => Line::from(vec![
            Span::styled("Nothing to change.  ", t.ok),
            Span::styled("[ Close ]", t.selected),
        ]),
        Phase::Asking => {
            let (cancel, confirm) = if c.confirm_focused {
                (t.base, t.selected)
            } else {
                (t.selected, t.base)
            };
            Line::from(vec![
                Span::styled("[ Cancel ]", cancel),
                Span::raw("   "),
                Span::styled("[ Confirm ]", confirm),
            ])
        }
        Phase::Running => Line::from(Span::styled("running…", t.info)),
        Phase::Done { .. } => Line::from(Span::styled("[ Close ]", t.selected)),
    };
    frame.render_widget(footer.centered(), buttons);
}

/// The dialog's frame: 94% of the width, and as tall as its wrapped text
/// plus a blank line, the buttons and the border, within 96% of the height
/// (longer text scrolls).
fn fitted(area: Rect, text: &Paragraph) -> Rect {
    let width = area.width * 94 / 100;
    let chrome = 2 + 1 + 1;
    let rows = text.line_count(width.saturating_sub(2)) as u16;
    let height = (rows + chrome).min(area.height * 96 / 100);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

pub fn draw_sql_log(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let popup = centered(area, 96, 96);
    frame.render_widget(Clear, popup);
    let mut lines = Vec::new();
    if app.sql_log.entries.is_empty() {
        lines.push(Line::from(Span::styled(
            "No change has been made in this session. Confirmed changes are listed here with the SQL they sent; what the tabs read is not.",
            t.dim,
        )));
    }
    for e in app.sql_log.entries.iter().rev() {
        let (mark, style, text) = match &e.outcome {
            Ok(s) => ("✔", t.ok, s.clone()),
            Err(s) => ("✖", t.error, s.clone()),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", e.at.format("%H:%M:%S")), t.dim),
            Span::styled(format!("{mark} "), style),
            Span::styled(e.command_line.clone(), t.title),
        ]));
        lines.push(Line::from(Span::styled(format!("  {text}"), style)));
        for stmt in &e.statements {
            lines.extend(
                stmt.lines()
                    .map(|l| Line::from(Span::styled(format!("    {l}"), t.dim))),
            );
        }
        lines.push(Line::from(""));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((app.sql_log.scroll, 0))
            .block(
                Block::bordered()
                    .title(Span::styled(
                        " Changes this session made or tried, with their SQL · newest first ",
                        t.title,
                    ))
                    .border_style(t.key),
            ),
        popup,
    );
}
