//! The `?` overlay: every binding, generated from the live keymap. When the
//! list is taller than the screen it flows into a second column.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Clear, Row, Table};

use super::cut::cut;
use super::widgets::centered;
use crate::console::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let popup = centered(area, 96, 100);
    frame.render_widget(Clear, popup);
    let block = Block::bordered()
        .title(Span::styled(
            " Keys on this tab · config.toml [keymap] overrides them ",
            t.title,
        ))
        .border_style(t.key);
    let inner = block.inner(popup);
    frame.render_widget(block, popup);

    let bindings = app.keymap.help(
        &app.help_scopes(),
        app.conn.refuses_changes(),
        &app.tab_entries(),
    );
    // The key column fits the longest key list ("Tab/Shift-Tab") and the
    // scope titles drawn in it ("Durability tab"), so neither is cut; 13
    // columns at least, as the layout always had.
    let key_width = bindings
        .iter()
        .map(|b| (b.keys.chars().count() + 2).max(b.scope.title().chars().count()))
        .max()
        .unwrap_or(0)
        .clamp(13, 24) as u16;
    let mut entries: Vec<Result<(String, &str), &'static str>> = Vec::new();
    let mut last_scope = None;
    for b in &bindings {
        if last_scope != Some(b.scope) {
            entries.push(Err(b.scope.title()));
            last_scope = Some(b.scope);
        }
        entries.push(Ok((format!(" {}", b.keys), b.help.as_str())));
    }
    // Two columns when the list is taller than the screen; a text longer
    // than its column ends in "…" (the manual, pgq(1), has it whole).
    let rows =
        |entries: &[Result<(String, &str), &'static str>], width: u16| -> Vec<Row<'static>> {
            let help_width = width.saturating_sub(key_width + 1) as usize;
            entries
                .iter()
                .map(|e| match e {
                    Err(title) => Row::new(vec![Cell::from(Span::styled(*title, t.header))]),
                    Ok((keys, help)) => Row::new(vec![
                        Cell::from(Span::styled(
                            cut(keys, key_width as usize).into_owned(),
                            t.key,
                        )),
                        Cell::from(cut(help, help_width).into_owned()),
                    ]),
                })
                .collect()
        };
    let widths = [Constraint::Length(key_width), Constraint::Fill(1)];
    let height = inner.height as usize;
    if entries.len() <= height {
        frame.render_widget(Table::new(rows(&entries, inner.width), widths), inner);
        return;
    }
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)])
        .spacing(1)
        .areas(inner);
    let (first, rest) = entries.split_at(height);
    frame.render_widget(Table::new(rows(first, left.width), widths), left);
    frame.render_widget(Table::new(rows(rest, right.width), widths), right);
}
