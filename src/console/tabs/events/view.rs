//! The Events tab: every NOTIFY payload, newest first, and its JSON view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, TableState, Wrap};

use super::EventsTab;
use crate::console::tabs::Screen;
use crate::console::tabs::list::window;
use crate::console::ui::columns::{self, Col, Text};
use crate::console::ui::cut::{self, width};
use crate::console::ui::widgets::centered;
use crate::output::format::group;
use crate::output::{escape_block, escape_line};

/// The Type column's bounds: the longest known type, and an unknown one
/// marked "? ", fit; a foreign type longer still is cut with "…".
const TYPE_MIN: usize = 20;
const TYPE_MAX: usize = 28;

/// A header line above the table.
fn layout(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area)
}

/// Table rows visible in `body` (below the top border and column titles).
pub fn page_height(body: Rect) -> usize {
    layout(body)[1].height.saturating_sub(2) as usize
}

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, ev: &EventsTab) {
    let [header, table] = layout(area);
    let t = &screen.theme;
    let mut spans = vec![
        Span::styled(" ", t.dim),
        Span::styled(group(ev.len() as i64), t.title),
        Span::styled(
            format!(" of {} buffered", group(ev.capacity() as i64)),
            t.dim,
        ),
        Span::styled("  rate ", t.dim),
        Span::raw(format!("{:.1}/s", ev.rate(screen.now))),
    ];
    if ev.evicted > 0 {
        spans.push(Span::styled(
            format!("  {} dropped (oldest)", group(ev.evicted as i64)),
            t.dim,
        ));
    }
    if let Some((from, to)) = ev.gap_in_view() {
        // Events of that stretch were not listened to (a busy queue while
        // other tabs were on screen): said, not hidden.
        spans.push(Span::styled(
            format!(
                "  not heard {}–{}",
                from.format("%H:%M:%S"),
                to.format("%H:%M:%S")
            ),
            t.warn,
        ));
    }
    if !ev.list.filter.is_empty() {
        spans.push(Span::styled("  filter ", t.dim));
        spans.push(Span::styled(ev.list.filter.clone(), t.warn));
    }
    spans.push(Span::raw("  "));
    if ev.paused_at.is_some() {
        spans.push(Span::styled(
            format!(" PAUSED · {} new ", group(ev.arrived_while_paused() as i64)),
            t.tab_active,
        ));
    } else if screen.standby {
        spans.push(Span::styled("standby", t.warn));
    } else {
        spans.push(Span::styled("live", t.ok));
    }
    frame.render_widget(cut::line(spans, header.width), header);

    let visible = ev.visible();
    let block = Block::default().borders(Borders::TOP).border_style(t.dim);
    if visible.is_empty() {
        let text = if let Some(notice) = screen.standby_notice.clone().filter(|_| ev.is_empty()) {
            format!(" {notice}")
        } else if ev.is_empty() {
            format!(" waiting for events on channel {} …", screen.channel)
        } else {
            " no event matches the filter".to_string()
        };
        frame.render_widget(Paragraph::new(text).style(t.dim).block(block), table);
        return;
    }
    let page = page_height(area);
    let selected = ev.selected_index(&visible);
    // Only the rows that can be on screen are built, whatever the buffer
    // size, from the scroll position navigation left.
    let first = window(ev.list.table.offset(), selected, visible.len(), page);
    let shown: Vec<_> = visible.iter().skip(first).take(page.max(1)).collect();
    let rows = shown
        .iter()
        .map(|e| {
            let at = e.received.received_at.format("%H:%M:%S%.3f").to_string();
            let delay = e
                .received
                .delay_ms()
                .map_or_else(|| "-".to_string(), |ms| format!("{ms}ms"));
            let cells: Vec<Text> = vec![
                at.into(),
                escape_line(&e.kind()).into_owned().into(),
                escape_line(&e.details()).into_owned().into(),
                delay.into(),
            ];
            (cells, None)
        })
        .collect();
    // The type names the event: as wide as the longest on screen (an
    // unknown one, "? requests_per_second_event", included), within bounds.
    let kind = shown
        .iter()
        .map(|e| width(&e.kind()))
        .max()
        .unwrap_or(0)
        .clamp(TYPE_MIN, TYPE_MAX) as u16;
    let cols = [
        Col::new("Received (UTC)", Constraint::Length(14), 9),
        Col::new("Type", Constraint::Length(kind), 8),
        Col::new("Details", Constraint::Fill(1), 7),
        Col::new("Delay", Constraint::Length(8), 6).right(),
    ];
    let table_widget = columns::table(&cols, rows, table.width, t.header)
        .block(block)
        .row_highlight_style(t.selected);
    let mut state = TableState::default().with_selected(Some(selected - first));
    frame.render_stateful_widget(table_widget, table, &mut state);
}

pub fn draw_detail(frame: &mut Frame, area: Rect, screen: &Screen, ev: &EventsTab) {
    let t = &screen.theme;
    let Some(entry) = ev.detail_entry() else {
        return;
    };
    let popup = centered(area, 80, 80);
    frame.render_widget(Clear, popup);
    let title = format!(
        " {} · received {} ",
        entry.kind(),
        entry
            .received
            .received_at
            .format("%Y-%m-%d %H:%M:%S%.3f UTC")
    );
    frame.render_widget(
        Paragraph::new(escape_block(&entry.pretty()).into_owned())
            .wrap(Wrap { trim: false })
            .block(
                Block::bordered()
                    .title(Span::styled(title, t.title))
                    .border_style(t.key),
            ),
        popup,
    );
}
