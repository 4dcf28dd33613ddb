//! The Held tab: jobs in `failed` status (held by `on_failure = "hold"`),
//! with attempts and the last traceback.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::{HeldTab, traceback_text};
use crate::console::tabs::Screen;
use crate::output::escape_line;
use crate::output::format::relative;

fn first_line(tb: &Option<serde_json::Value>) -> String {
    tb.as_ref()
        .map(traceback_text)
        .and_then(|t| t.lines().next().map(|l| escape_line(l).into_owned()))
        .unwrap_or_else(|| "-".into())
}

/// A header line above the table.
fn layout(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area)
}

/// Table rows visible in `body` (below the top border and column titles).
pub fn page_height(body: Rect) -> usize {
    layout(body)[1].height.saturating_sub(2) as usize
}

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, h: &HeldTab) {
    let t = &screen.theme;
    let [header, table] = layout(area);
    let rows = h.rows();
    let total = h.jobs.as_ref().map_or(0, Vec::len);
    let mut spans = vec![
        Span::styled(" ", t.dim),
        Span::styled(total.to_string(), t.title),
        Span::styled(
            if total == 1 {
                " held job"
            } else {
                " held jobs"
            },
            t.dim,
        ),
    ];
    if !h.list.tagged.is_empty() {
        spans.push(Span::styled(
            format!("  {} tagged", h.list.tagged.len()),
            t.warn,
        ));
    }
    if !h.list.filter.is_empty() {
        spans.push(Span::styled("  filter ", t.dim));
        spans.push(Span::styled(h.list.filter.clone(), t.warn));
    }
    frame.render_widget(Line::from(spans), header);
    let block = Block::default().borders(Borders::TOP).border_style(t.dim);
    let empty = match &h.jobs {
        None => Some("loading…"),
        Some(j) if j.is_empty() => {
            Some("no held jobs (entrypoints with on_failure = \"hold\" keep failed jobs here)")
        }
        Some(_) if rows.is_empty() => Some("no held job matches the filter"),
        Some(_) => None,
    };
    if let Some(text) = empty {
        frame.render_widget(
            Paragraph::new(format!(" {text}")).style(t.dim).block(block),
            table,
        );
        return;
    }
    let mut state = h.list.state_for(rows.len(), page_height(area));
    let body: Vec<Row> = rows
        .iter()
        .map(|j| {
            let mark = if h.list.tagged.contains(&j.job.id) {
                "●"
            } else {
                " "
            };
            Row::new(vec![
                Cell::from(mark),
                Cell::from(Line::from(j.job.id.to_string()).right_aligned()),
                Cell::from(escape_line(&j.job.entrypoint).into_owned()),
                Cell::from(Line::from(j.job.attempts.to_string()).right_aligned()),
                Cell::from(relative(j.job.updated, screen.now)),
                Cell::from(first_line(&j.traceback)),
            ])
        })
        .collect();
    let header = Row::new(vec![
        Cell::from(""),
        Cell::from(Line::from("Id").right_aligned()),
        Cell::from("Entrypoint"),
        Cell::from(Line::from("Tries").right_aligned()),
        Cell::from("Held since"),
        Cell::from("Last error"),
    ])
    .style(t.header);
    let widths = [
        Constraint::Length(1),
        Constraint::Length(7),
        Constraint::Fill(1),
        Constraint::Length(5),
        Constraint::Length(10),
        Constraint::Fill(2),
    ];
    let widget = Table::new(body, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(widget, table, &mut state);
}
