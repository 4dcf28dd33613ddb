//! The Stats tab: per-entrypoint table with a totals row, the latency of
//! the selected entrypoint (percentiles and a p95 sparkline), and the
//! throughput chart over the window (successful / errors / canceled).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph, Row, Sparkline, Table,
};

use super::StatsTab;
use crate::actions::reports::latency::{Latency, Percentiles};
use crate::actions::reports::stats::{Completions, EntrypointStats, SERIES_BUCKETS};
use crate::console::tabs::Screen;
use crate::console::ui::cut::{self, cut};
use crate::output::format::{age, count, duration, percent};

const CHART_HEIGHT: u16 = 9;
const LATENCY_HEIGHT: u16 = 3;

/// Header line, table, latency panel and the chart when there is room.
fn layout(area: Rect) -> [Rect; 4] {
    let chart_height = if area.height >= 16 { CHART_HEIGHT } else { 0 };
    let latency_height = if area.height >= 12 { LATENCY_HEIGHT } else { 0 };
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(latency_height),
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
    let [header, table, latency, chart] = layout(area);
    draw_header(frame, header, screen, s);
    draw_table(frame, table, screen, s);
    if latency.height > 0 {
        draw_latency(frame, latency, screen, s);
    }
    if chart.height > 0 {
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
    if let Some(notice) = &screen.newer_schema {
        spans.push(Span::styled(format!("  {notice}"), t.warn));
    }
    frame.render_widget(cut::line(spans, area.width), area);
}

/// One number column of the table. When the terminal is narrow, columns
/// with the lowest `keep` go first, whole.
struct Column {
    title: String,
    width: u16,
    keep: u8,
    value: fn(&EntrypointStats, &Latency) -> String,
}

/// The narrowest the entrypoint column gets before number columns go.
const NAME_MIN: u16 = 14;

fn columns(window: &str) -> Vec<Column> {
    fn col(
        title: impl Into<String>,
        width: u16,
        keep: u8,
        value: fn(&EntrypointStats, &Latency) -> String,
    ) -> Column {
        Column {
            title: title.into(),
            width,
            keep,
            value,
        }
    }
    fn exec(l: &Latency) -> Option<&Percentiles> {
        l.execution.as_ref()
    }
    fn wait(l: &Latency) -> Option<&Percentiles> {
        l.wait.as_ref()
    }
    vec![
        col("Queued", 7, 15, |e, _| count(e.queued)),
        col("Picked", 7, 13, |e, _| count(e.picked)),
        col("Held", 7, 11, |e, _| count(e.held)),
        col("Oldest", 6, 14, |e, _| age(e.oldest_queued_age_seconds)),
        col(format!("OK/{window}"), 7, 12, |e, _| {
            count(e.done.successful)
        }),
        col("Errors", 7, 12, |e, _| {
            count(e.done.exception + e.done.failed)
        }),
        col("Cancel", 6, 9, |e, _| count(e.done.canceled)),
        col("Fail%", 6, 10, |e, _| percent(e.done.failure_rate())),
        col("Run50", 6, 5, |_, l| duration(exec(l).map(|p| p.p50))),
        col("Run95", 6, 8, |_, l| duration(exec(l).map(|p| p.p95))),
        col("Run99", 6, 6, |_, l| duration(exec(l).map(|p| p.p99))),
        col("Wait50", 6, 4, |_, l| duration(wait(l).map(|p| p.p50))),
        col("Wait95", 6, 7, |_, l| duration(wait(l).map(|p| p.p95))),
        col("Wait99", 6, 3, |_, l| duration(wait(l).map(|p| p.p99))),
    ]
}

/// The columns that fit `width` (one space between columns), in order.
fn fitting(mut cols: Vec<Column>, width: u16) -> Vec<Column> {
    let need =
        |cols: &[Column]| -> u16 { NAME_MIN + cols.iter().map(|c| c.width + 1).sum::<u16>() };
    while need(&cols) > width {
        let Some(drop) = cols
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.keep)
            .map(|(i, _)| i)
        else {
            break;
        };
        cols.remove(drop);
    }
    cols
}

fn draw_table(frame: &mut Frame, area: Rect, screen: &Screen, s: &StatsTab) {
    let t = &screen.theme;
    let stale = !screen.connected;
    let base = if stale { t.dim } else { t.base };
    let cols = fitting(columns(s.window.label()), area.width);
    let header = Row::new(
        std::iter::once(Cell::from("Entrypoint")).chain(
            cols.iter()
                .map(|c| Cell::from(Line::from(c.title.clone()).right_aligned())),
        ),
    )
    .style(t.header);
    let none = Latency::default();
    let latency = |name: &str| -> &Latency {
        s.data
            .as_ref()
            .and_then(|d| d.latency.entrypoints.get(name))
            .unwrap_or(&none)
    };
    // The name column takes what the numbers leave; a longer name ends in "…".
    let name_width = area
        .width
        .saturating_sub(cols.iter().map(|c| c.width + 1).sum::<u16>());
    let row = |e: &EntrypointStats, l: &Latency, style: Style| {
        let name = crate::output::escape_line(&e.entrypoint);
        let mut cells = vec![Cell::from(cut(&name, name_width as usize).into_owned())];
        cells.extend(
            cols.iter()
                .map(|c| Cell::from(Line::from((c.value)(e, l)).right_aligned())),
        );
        Row::new(cells).style(style)
    };
    let rows = s.rows();
    let mut table_rows: Vec<Row> = rows
        .iter()
        .map(|e| row(e, latency(&e.entrypoint), base))
        .collect();
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
        table_rows.push(row(&totals, overall(s).unwrap_or(&none), t.total));
    }
    // Paged over the entrypoint rows, between the titles and the totals.
    let mut state = s
        .list
        .state_for(rows.len(), area.height.saturating_sub(4) as usize);
    let widths: Vec<Constraint> = std::iter::once(Constraint::Fill(1))
        .chain(cols.iter().map(|c| Constraint::Length(c.width)))
        .collect();
    let table = Table::new(table_rows, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(table, area, &mut state);
}

/// Percentiles over every entrypoint; a filtered total has none (they
/// cannot be derived from the rows shown).
fn overall(s: &StatsTab) -> Option<&Latency> {
    let data = s.data.as_ref()?;
    s.list.filter.is_empty().then_some(&data.latency.overall)
}

/// The selected entrypoint's latency (or all entrypoints' when no row is
/// selected): percentiles, then the p95 of each slice of the window.
fn draw_latency(frame: &mut Frame, area: Rect, screen: &Screen, s: &StatsTab) {
    let t = &screen.theme;
    let Some(data) = &s.data else {
        return;
    };
    let rows = s.rows();
    let selected = rows.get(s.list.selected).map(|e| e.entrypoint.as_str());
    let (name, latency, series) = match selected {
        Some(name) => (
            name,
            data.latency.entrypoints.get(name),
            data.latency.series.entrypoints.get(name),
        ),
        None => (
            "all entrypoints",
            Some(&data.latency.overall),
            Some(&data.latency.series.overall),
        ),
    };
    let [title, run, wait] = Layout::vertical([Constraint::Length(1); 3]).areas(area);
    if let Some(error) = &data.latency.error {
        frame.render_widget(Span::styled(" latency", t.title), title);
        frame.render_widget(
            Paragraph::new(format!(" {error}"))
                .style(t.error)
                .wrap(ratatui::widgets::Wrap { trim: true }),
            Rect { height: 2, ..run },
        );
        return;
    }
    frame.render_widget(
        Line::from(vec![
            Span::styled(" latency ", t.title),
            Span::raw(name.to_string()),
            Span::styled(
                format!(
                    "  last {} · bars: p95 per {}, newest right",
                    s.window.label(),
                    slice_label(s)
                ),
                t.dim,
            ),
        ]),
        title,
    );
    let lines = [
        (
            "run ",
            latency.and_then(|l| l.execution),
            series.map(|p| &p.execution),
        ),
        (
            "wait",
            latency.and_then(|l| l.wait),
            series.map(|p| &p.wait),
        ),
    ];
    // Not computed for this window yet, or computed before the jobs the
    // counts show finished (the percentiles are asked for less often).
    let computed = s.latency_at.is_some_and(|(window, _)| window == s.window);
    let lagging = computed && s.latency_lags_counts_of(selected);
    for ((label, p, values), line) in lines.into_iter().zip([run, wait]) {
        let text = match p {
            Some(p) => format!(
                " {label} p50 {:>6} p95 {:>6} p99 {:>6} max {:>6} n {:>7} ",
                duration(Some(p.p50)),
                duration(Some(p.p95)),
                duration(Some(p.p99)),
                duration(Some(p.max)),
                count(p.count)
            ),
            // Not computed yet for this window (right after start or a
            // window change): "nothing finished" would contradict the counts.
            None if !computed || lagging && !s.lag_retry_spent => format!(" {label} computing… "),
            // Jobs finished whose pick came before the window have no
            // duration in it; the counts still show them.
            None if lagging && label == "run " => {
                " run  none measured: the jobs finished here were picked before the window "
                    .to_string()
            }
            None if label == "run " => " run  nothing finished in this window ".to_string(),
            None => " wait nothing picked in this window ".to_string(),
        };
        let [text_area, spark_area] = Layout::horizontal([
            Constraint::Length(text.chars().count() as u16),
            Constraint::Fill(1),
        ])
        .areas(line);
        frame.render_widget(Span::styled(text, t.base), text_area);
        if let Some(values) = values {
            draw_sparkline(frame, spark_area, screen, values);
        }
    }
}

/// The newest slices that fit, in milliseconds; empty slices left blank.
fn draw_sparkline(frame: &mut Frame, area: Rect, screen: &Screen, values: &[Option<f64>]) {
    let shown = values.len().min(area.width as usize);
    let data: Vec<Option<u64>> = values[values.len() - shown..]
        .iter()
        .map(|v| v.map(|s| (s * 1_000.0).round() as u64))
        .collect();
    if data.iter().all(Option::is_none) {
        return;
    }
    let style = if screen.connected {
        screen.theme.success_series
    } else {
        screen.theme.dim
    };
    frame.render_widget(Sparkline::default().data(data).style(style), area);
}

/// The length of one slice of the window: `5s`, `1m`, `24m`.
fn slice_label(s: &StatsTab) -> String {
    let bucket = s.window.duration().as_secs() / SERIES_BUCKETS as u64;
    if bucket >= 60 {
        format!("{}m", bucket / 60)
    } else {
        format!("{bucket}s")
    }
}

fn draw_chart(frame: &mut Frame, area: Rect, screen: &Screen, s: &StatsTab) {
    let t = &screen.theme;
    let Some(data) = &s.data else {
        return;
    };
    let per = slice_label(s);
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
