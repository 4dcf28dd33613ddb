//! The Enqueue tab: the form with inline errors and a live JSON check, and
//! the jobs this session enqueued.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui_textarea::TextArea;

use super::{EnqueueForm, Field, conflict_label};
use crate::console::tabs::Screen;
use crate::console::ui::cut;

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, f: &EnqueueForm) {
    let t = &screen.theme;
    let submitted_height = (f.submitted.len().min(4) as u16 + 1).max(2);
    let [form, payload, submitted] = Layout::vertical([
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Length(submitted_height),
    ])
    .areas(area);

    let label = |field: Field| {
        let focused = f.editing && f.focus == field;
        let style = if focused { t.key } else { t.dim };
        let pointer = if focused { '›' } else { ' ' };
        Span::styled(format!("{pointer}{:<12}", field.label()), style)
    };
    let rows = Layout::vertical([Constraint::Length(1); 8]).split(form);
    let single = [
        (Field::Entrypoint, &f.entrypoint),
        (Field::Priority, &f.priority),
        (Field::Delay, &f.delay),
        (Field::DedupeKey, &f.dedupe_key),
    ];
    for (y, (field, area_text)) in single.into_iter().enumerate() {
        draw_line_field(
            frame,
            rows[y],
            label(field),
            area_text,
            f.editing && f.focus == field,
            f.error_of(field),
            screen,
        );
    }
    let choice = |field: Field, value: String| {
        let mut spans = vec![
            label(field),
            Span::styled(
                format!("‹ {value} ›"),
                if f.editing && f.focus == field {
                    t.selected
                } else {
                    t.base
                },
            ),
        ];
        if f.editing && f.focus == field {
            spans.push(Span::styled("  Space/←→ changes", t.dim));
        }
        Line::from(spans)
    };
    frame.render_widget(
        choice(Field::OnConflict, conflict_label(f.on_conflict).into()),
        rows[4],
    );
    draw_line_field(
        frame,
        rows[5],
        label(Field::Headers),
        &f.headers,
        f.editing && f.focus == Field::Headers,
        f.error_of(Field::Headers),
        screen,
    );
    frame.render_widget(
        choice(
            Field::Format,
            if f.raw {
                "raw text".into()
            } else {
                "JSON (checked)".into()
            },
        ),
        rows[6],
    );
    // Completion for the entrypoint, from what the queue, log and schedules know.
    let completions = f.completions(&screen.known_entrypoints);
    let hint = if f.editing && f.focus == Field::Entrypoint && !completions.is_empty() {
        Line::from(vec![
            Span::styled(" Tab completes: ", t.dim),
            Span::raw(completions.join("  ")),
        ])
    } else if !f.editing {
        Line::from(Span::styled(
            format!(
                " press {} to edit the form",
                screen.keymap.keys_of(crate::console::keymap::Command::Edit)
            ),
            t.dim,
        ))
    } else {
        Line::from("")
    };
    frame.render_widget(hint, rows[7]);

    // The payload editor with its live JSON check in the title.
    let check = match (f.raw, f.payload_error()) {
        (true, _) => Span::styled(" raw text ", t.dim),
        (false, None) => Span::styled(" JSON ok ", t.ok),
        (false, Some(e)) => Span::styled(format!(" JSON error: {e} "), t.error),
    };
    let focused = f.editing && f.focus == Field::Payload;
    let mut editor = f.payload.clone();
    editor.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(if focused { t.key } else { t.dim })
            .title(Line::from(vec![
                Span::styled(" Payload ", if focused { t.key } else { t.title }),
                check,
            ])),
    );
    editor.set_cursor_style(if focused { t.selected } else { Style::new() });
    frame.render_widget(&editor, payload);

    let mut lines = vec![Line::from(Span::styled(" Enqueued this session", t.header))];
    if f.submitted.is_empty() {
        lines.push(Line::from(Span::styled(" nothing yet", t.dim)));
    }
    for s in f.submitted.iter().rev().take(4) {
        lines.push(cut::line(
            vec![
                Span::styled(format!(" #{} ", s.job_id), t.title),
                Span::raw(format!("{}  ", s.outcome)),
                Span::styled(s.command_line.clone(), t.dim),
            ],
            submitted.width,
        ));
    }
    frame.render_widget(Paragraph::new(lines), submitted);
}

fn draw_line_field(
    frame: &mut Frame,
    area: Rect,
    label: Span<'static>,
    text: &TextArea<'static>,
    focused: bool,
    error: Option<&str>,
    screen: &Screen,
) {
    let t = &screen.theme;
    let [l, field, err] = Layout::horizontal([
        Constraint::Length(13),
        Constraint::Fill(2),
        Constraint::Fill(if error.is_some() { 2 } else { 0 }),
    ])
    .areas(area);
    frame.render_widget(Line::from(label), l);
    let mut editor = text.clone();
    editor.set_cursor_style(if focused { t.selected } else { Style::new() });
    frame.render_widget(&editor, field);
    if let Some(e) = error {
        frame.render_widget(
            cut::line(vec![Span::styled(format!(" ✖ {e}"), t.error)], err.width),
            err,
        );
    }
}
