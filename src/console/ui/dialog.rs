//! The confirmation dialog and the overlay of the session's changes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::widgets::centered;
use super::{confirm, messages, sql_text};
use crate::console::app::App;
use crate::console::dialog::Phase;
use crate::console::keymap::Command;

pub fn draw_confirm(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let Some(c) = &app.confirm else { return };
    let p = &c.preview;
    let text = confirm::text(c, &app.conn.target, t, area);
    let shape = confirm::Shape::of(area, &text);
    frame.render_widget(Clear, shape.popup);
    let block = Block::bordered()
        .title(Span::styled(" Confirm ", t.title))
        .border_style(t.warn);
    frame.render_widget(block, shape.popup);
    let scroll = c.scroll.min(shape.max_scroll);
    frame.render_widget(text.scroll((scroll, 0)), shape.body);
    let buttons = shape.buttons;
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
        Phase::Running if c.action.runs_alone() => {
            let so_far = crate::console::dialog::progress(&c.watch)
                .map(|p| format!(" {p}"))
                .unwrap_or_default();
            let stop = app.keymap.first_key(Command::DialogStop);
            let send_away = app.keymap.first_key(Command::DialogCancel);
            Line::from(Span::styled(
                format!("running…{so_far} ({stop}: stop, {send_away}: run in the background)"),
                t.info,
            ))
        }
        Phase::Running => Line::from(Span::styled("running…", t.info)),
        Phase::Done { .. } => Line::from(Span::styled("[ Close ]", t.selected)),
    };
    frame.render_widget(footer.centered(), buttons);
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
                sql_text::rows(stmt, "    ", popup.width.saturating_sub(2) as usize)
                    .into_iter()
                    .map(|l| Line::from(Span::styled(l, t.dim))),
            );
        }
        lines.push(Line::from(""));
    }
    // The flash messages too: an outcome's line in the status bar may
    // have been cut or gone; here it is whole, among the changes' context.
    lines.push(Line::from(Span::styled(
        format!(
            "Messages, newest first ({} shows them alone)",
            app.keymap.first_key(Command::Messages)
        ),
        t.header,
    )));
    lines.extend(messages::lines(&app.messages, t));
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

/// The `m` overlay (see [`messages`]).
pub fn draw_messages(frame: &mut Frame, body: Rect, app: &App) {
    let t = &app.theme;
    let h = &app.messages;
    let area = messages::popup(body);
    frame.render_widget(Clear, area);
    let max = messages::max_scroll(h, t, frame.area());
    frame.render_widget(
        Paragraph::new(messages::lines(h, t))
            .wrap(Wrap { trim: false })
            .scroll((h.scroll.min(max), 0))
            .block(messages::block(t)),
        area,
    );
}
