//! The Held tab: jobs in `failed` status (held by `on_failure = "hold"`),
//! with attempts and the last traceback.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{HeldTab, traceback_text};
use crate::console::tabs::Screen;
use crate::console::ui::columns::{self, Col, Text};
use crate::console::ui::cut;
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
    frame.render_widget(cut::line(spans, header.width), header);
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
    let body = rows
        .iter()
        .map(|j| {
            let mark = if h.list.tagged.contains(&j.job.id) {
                "●"
            } else {
                " "
            };
            let cells: Vec<Text> = vec![
                mark.into(),
                j.job.id.to_string().into(),
                escape_line(&j.job.entrypoint).into_owned().into(),
                j.job.attempts.to_string().into(),
                relative(j.job.updated, screen.now).into(),
                first_line(&j.traceback).into(),
            ];
            (cells, None)
        })
        .collect();
    let cols = [
        Col::new("", Constraint::Length(1), 9),
        Col::new("Id", Constraint::Length(7), 9).right(),
        Col::new("Entrypoint", Constraint::Fill(1), 8),
        Col::new("Tries", Constraint::Length(5), 5).right(),
        Col::new("Held since", Constraint::Length(10), 6),
        Col::new("Last error", Constraint::Fill(2), 7),
    ];
    let widget = columns::table(&cols, body, table.width, t.header)
        .block(block)
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(widget, table, &mut state);
}
