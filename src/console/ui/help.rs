//! The `?` overlay: every binding, generated from the live keymap. When the
//! list is taller than the screen it flows into a second column.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Clear, Row, Table};

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
    // The key column fits the longest key list ("Tab/Shift-Tab"), so no
    // binding is cut; 13 columns at least, as the layout always had.
    let key_width = bindings
        .iter()
        .map(|b| b.keys.chars().count() + 2)
        .max()
        .unwrap_or(0)
        .clamp(13, 24) as u16;
    let mut rows = Vec::new();
    let mut last_scope = None;
    for b in bindings {
        if last_scope != Some(b.scope) {
            rows.push(Row::new(vec![Cell::from(Span::styled(
                b.scope.title(),
                t.header,
            ))]));
            last_scope = Some(b.scope);
        }
        rows.push(Row::new(vec![
            Cell::from(Span::styled(format!(" {}", b.keys), t.key)),
            Cell::from(b.help),
        ]));
    }
    let widths = [Constraint::Length(key_width), Constraint::Fill(1)];
    let height = inner.height as usize;
    if rows.len() <= height {
        frame.render_widget(Table::new(rows, widths), inner);
        return;
    }
    let [left, right] = Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)])
        .spacing(1)
        .areas(inner);
    let rest = rows.split_off(height.min(rows.len()));
    frame.render_widget(Table::new(rows, widths), left);
    frame.render_widget(Table::new(rest, widths), right);
}
