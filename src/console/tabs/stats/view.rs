//! The Stats tab: per-entrypoint table with a totals row, and the
//! throughput chart over the window (successful / errors / canceled).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table,
};

use super::StatsTab;
use crate::actions::stats::{Completions, EntrypointStats, SERIES_BUCKETS};
use crate::console::tabs::Screen;
use crate::console::ui::format::{age, count, percent};

const CHART_HEIGHT: u16 = 9;

/// Header line, table, and the chart when there is room for it.
fn layout(area: Rect) -> [Rect; 3] {
    let chart_height = if area.height >= 16 { CHART_HEIGHT } else { 0 };
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(chart_height),
    ])
    .areas(area)
}

/// Entrypoint rows visible in `body`, between the column titles and the
/// totals row.
pub fn page_height(body: Rect) -> usize {
    layout(body)[1].height.saturating_sub(4) as usize
}

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, s: &StatsTab) {
    let [header, table, chart] = layout(area);
    let chart_height = chart.height;
    draw_header(frame, header, screen, s);
    draw_table(frame, table, screen, s);
    if chart_height > 0 {
        draw_chart(frame, chart, screen, s);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, screen: &Screen, s: &StatsTab) {
    let t = &screen.theme;
    let mut spans = vec![
        Span::styled(" window ", t.dim),
        Span::styled(s.window.label(), t.title),
        Span::styled("  sort ", t.dim),
        Span::raw(format!("{} ↓", s.sort.label())),
    ];
    if !s.list.filter.is_empty() {
        spans.push(Span::styled("  filter ", t.dim));
        spans.push(Span::styled(s.list.filter.clone(), t.warn));
    }
    spans.push(Span::raw("  "));
    if s.paused {
        spans.push(Span::styled(" PAUSED ", t.tab_active));
    } else {
        spans.push(Span::styled("live", t.ok));
    }
    if s.error.is_some() {
        spans.push(Span::styled("  last refresh failed", t.error));
    }
    frame.render_widget(Line::from(spans), area);
}

fn numbers(e: &EntrypointStats) -> [String; 8] {
    [
        count(e.queued),
        count(e.picked),
        count(e.held),
        age(e.oldest_queued_age_seconds),
        count(e.done.successful),
        count(e.done.exception + e.done.failed),
        count(e.done.canceled),
        percent(e.done.failure_rate()),
    ]
}

fn draw_table(frame: &mut Frame, area: Rect, screen: &Screen, s: &StatsTab) {
    let t = &screen.theme;
    let stale = !screen.connected;
    let base = if stale { t.dim } else { t.base };
    let window = s.window.label();
    let header = Row::new(
        [
            "Entrypoint".to_string(),
            "Queued".into(),
            "Picked".into(),
            "Held".into(),
            "Oldest".into(),
            format!("OK/{window}"),
            "Errors".into(),
            "Cancel".into(),
            "Fail%".into(),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            if i == 0 {
                Cell::from(h)
            } else {
                Cell::from(Line::from(h).right_aligned())
            }
        }),
    )
    .style(t.header);
    let row = |e: &EntrypointStats, style: Style| {
        let mut cells = vec![Cell::from(e.entrypoint.clone())];
        cells.extend(
            numbers(e)
                .into_iter()
                .map(|n| Cell::from(Line::from(n).right_aligned())),
        );
        Row::new(cells).style(style)
    };
    let rows = s.rows();
    let mut table_rows: Vec<Row> = rows.iter().map(|e| row(e, base)).collect();
    let block = Block::default()
        .borders(Borders::TOP | Borders::BOTTOM)
        .border_style(t.dim);
    if let (None, Some(error)) = (&s.data, &s.error) {
        frame.render_widget(
            Paragraph::new(format!(" {error}"))
                .style(t.error)
                .wrap(ratatui::widgets::Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    }
    let empty = match &s.data {
        None => Some("loading…"),
        Some(d) if d.entrypoints.is_empty() => {
            Some("no jobs in the queue and none finished in this window")
        }
        Some(_) if rows.is_empty() => Some("no entrypoint matches the filter"),
        Some(_) => None,
    };
    if let Some(text) = empty {
        frame.render_widget(
            Paragraph::new(format!(" {text}")).style(t.dim).block(block),
            area,
        );
        return;
    }
    if let Some(totals) = s.totals() {
        table_rows.push(row(&totals, t.total));
    }
    // Paged over the entrypoint rows, between the titles and the totals.
    let mut state = s
        .list
        .state_for(rows.len(), area.height.saturating_sub(4) as usize);
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(6),
    ];
    let table = Table::new(table_rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_chart(frame: &mut Frame, area: Rect, screen: &Screen, s: &StatsTab) {
    let t = &screen.theme;
    let Some(data) = &s.data else {
        return;
    };
    let bucket = s.window.duration().as_secs() / SERIES_BUCKETS as u64;
    let per = if bucket >= 60 {
        format!("{}m", bucket / 60)
    } else {
        format!("{bucket}s")
    };
    let series = |f: fn(&Completions) -> i64| -> Vec<(f64, f64)> {
        data.series
            .iter()
            .enumerate()
            .map(|(i, c)| (i as f64, f(c) as f64))
            .collect()
    };
    let ok = series(|c| c.successful);
    let err = series(|c| c.exception + c.failed);
    let cancel = series(|c| c.canceled);
    let max = ok
        .iter()
        .chain(&err)
        .chain(&cancel)
        .map(|p| p.1)
        .fold(0.0, f64::max)
        .max(1.0);
    let marker = if t.monochrome {
        Marker::Dot
    } else {
        Marker::Braille
    };
    fn dataset<'a>(
        name: &'static str,
        data: &'a [(f64, f64)],
        style: Style,
        marker: Marker,
    ) -> Dataset<'a> {
        Dataset::default()
            .name(name)
            .marker(marker)
            .graph_type(GraphType::Line)
            .style(style)
            .data(data)
    }
    let datasets = vec![
        dataset("ok", &ok, t.success_series, marker),
        dataset("errors", &err, t.error_series, marker),
        dataset("canceled", &cancel, t.cancel_series, marker),
    ];
    // The legend lives in the title: ratatui hides its own legend box on
    // small charts, and the colours must stay explained at 80×24.
    let title = Line::from(vec![
        Span::styled(
            format!(" throughput: jobs per {per}, last {}  ", s.window.label()),
            t.title,
        ),
        Span::styled("── ok ", t.success_series),
        Span::styled("── errors ", t.error_series),
        Span::styled("── canceled ", t.cancel_series),
    ]);
    let chart = Chart::new(datasets)
        .block(Block::default().title(title))
        .x_axis(
            Axis::default()
                .bounds([0.0, (SERIES_BUCKETS - 1) as f64])
                .labels([format!("-{}", s.window.label()), "now".to_string()])
                .style(t.dim),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max])
                .labels(["0".to_string(), count(max as i64)])
                .style(t.dim),
        )
        .legend_position(None);
    frame.render_widget(chart, area);
}
