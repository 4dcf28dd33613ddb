//! The Schedules tab: every row of the schedules table with its next run
//! (relative, UTC and local), last run, status and heartbeat age.

use chrono::{DateTime, Local, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::{SchedulesTab, is_stale};
use crate::console::tabs::Screen;
use crate::console::ui::columns::{self, Col, Text};
use crate::console::ui::cut::{self, width};
use crate::console::ui::widgets::centered;
use crate::output::format::{age, relative};

/// The widest the expression column grows: longer expressions are cut
/// with "…" (the detail shows them whole).
const EXPRESSION_MAX: usize = 32;

/// A header line above the table.
fn layout(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area)
}

/// Table rows visible in `body` (below the top border and column titles).
pub fn page_height(body: Rect) -> usize {
    layout(body)[1].height.saturating_sub(2) as usize
}

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, s: &SchedulesTab) {
    let t = &screen.theme;
    let [header, table] = layout(area);
    let rows = s.rows();
    let total = s.listing.as_ref().map_or(0, |l| l.rows.len());
    let mut spans = vec![
        Span::styled(" ", t.dim),
        Span::styled(format!("{total}"), t.title),
        Span::styled(
            if total == 1 {
                " schedule"
            } else {
                " schedules"
            },
            t.dim,
        ),
    ];
    if !s.list.tagged.is_empty() {
        spans.push(Span::styled(
            format!("  {} tagged", s.list.tagged.len()),
            t.warn,
        ));
    }
    if !s.list.filter.is_empty() {
        spans.push(Span::styled("  filter ", t.dim));
        spans.push(Span::styled(s.list.filter.clone(), t.warn));
    }
    spans.push(Span::styled(
        "  times UTC (local in details) · ! = stale heartbeat",
        t.dim,
    ));
    frame.render_widget(cut::line(spans, header.width), header);

    let block = Block::default().borders(Borders::TOP).border_style(t.dim);
    let empty = match &s.listing {
        None => Some("loading…"),
        Some(l) if l.rows.is_empty() => Some(
            "no schedules: register them with a scheduler (PGQueuer's @pgq.schedule or pgq run)",
        ),
        Some(_) if rows.is_empty() => Some("no schedule matches the filter"),
        Some(_) => None,
    };
    if let Some(text) = empty {
        frame.render_widget(
            Paragraph::new(format!(" {text}")).style(t.dim).block(block),
            table,
        );
        return;
    }
    let mut state = s.list.state_for(rows.len(), page_height(area));
    let now = screen.now;
    let body = rows
        .iter()
        .map(|r| {
            let sc = &r.schedule;
            let mark = if s.list.tagged.contains(&sc.id) {
                "●"
            } else {
                " "
            };
            let stale = is_stale(r, now);
            let heartbeat = format!(
                "{}{}",
                age(Some((now - sc.heartbeat).num_milliseconds() as f64 / 1e3)),
                // "!" marks a stale heartbeat without colour too (NO_COLOR).
                if stale { "!" } else { "" }
            );
            let next = if sc.is_paused() {
                "paused".into()
            } else {
                format!(
                    "{} {}",
                    sc.next_run.format("%H:%M:%S"),
                    relative(sc.next_run, now)
                )
            };
            let cells: Vec<Text> = vec![
                mark.into(),
                sc.id.to_string().into(),
                sc.entrypoint.clone().into(),
                sc.expression.clone().into(),
                next.into(),
                sc.last_run
                    .map_or_else(|| "-".into(), |l| relative(l, now))
                    .into(),
                sc.status.clone().unwrap_or_else(|| "-".into()).into(),
                heartbeat.into(),
            ];
            (cells, stale.then_some(t.warn))
        })
        .collect();
    // A cut changes what a cron expression means ("*/10" read as "*/1"):
    // the column is as wide as the longest one on the page, up to a bound
    // that a real expression rarely passes (beyond it, "…" says so).
    let expression = rows
        .iter()
        .map(|r| width(&r.schedule.expression))
        .max()
        .unwrap_or(0)
        .clamp("Expression".len(), EXPRESSION_MAX) as u16;
    let cols = [
        Col::new("", Constraint::Length(1), 9),
        Col::new("Id", Constraint::Length(4), 8).right(),
        Col::new("Entrypoint", Constraint::Fill(1), 9),
        Col::new("Expression", Constraint::Length(expression), 9),
        Col::new("Next run (UTC)", Constraint::Length(18), 7),
        Col::new("Last run", Constraint::Length(10), 4),
        Col::new("Status", Constraint::Length(6), 5),
        Col::new("Beat", Constraint::Length(7), 6),
    ];
    let widget = columns::table(&cols, body, table.width, t.header)
        .block(block)
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(widget, table, &mut state);
}

pub fn draw_detail(frame: &mut Frame, area: Rect, screen: &Screen, s: &SchedulesTab) {
    let t = &screen.theme;
    let Some(row) = s.detail_row() else {
        return;
    };
    let sc = &row.schedule;
    let popup = centered(area, 80, 90);
    frame.render_widget(Clear, popup);
    let both = |at: DateTime<Utc>| {
        format!(
            "{} UTC · {} local · {}",
            at.format("%Y-%m-%d %H:%M:%S"),
            at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S %:z"),
            relative(at, screen.now)
        )
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled("expression  ", t.dim),
            Span::raw(sc.expression.clone()),
        ]),
        Line::from(vec![
            Span::styled("status      ", t.dim),
            Span::raw(sc.status.clone().unwrap_or_else(|| "-".into())),
        ]),
        Line::from(vec![
            Span::styled("next run    ", t.dim),
            Span::raw(if sc.is_paused() {
                "paused (pgq's far-future next_run)".into()
            } else {
                both(sc.next_run)
            }),
        ]),
        Line::from(vec![
            Span::styled("last run    ", t.dim),
            Span::raw(sc.last_run.map_or_else(|| "never".into(), both)),
        ]),
        Line::from(vec![
            Span::styled("heartbeat   ", t.dim),
            Span::raw(both(sc.heartbeat)),
        ]),
        Line::from(vec![
            Span::styled("created     ", t.dim),
            Span::raw(both(sc.created)),
        ]),
        Line::from(""),
        Line::from(Span::styled(
            if sc.is_paused() {
                "Next 10 fire times once resumed (croniter semantics, UTC):"
            } else {
                "Next 10 fire times (croniter semantics, UTC):"
            },
            t.header,
        )),
    ];
    // Computed by the tab when the data or the clock moved, not here.
    match s.detail_fires() {
        Some(Ok(fires)) => {
            lines.extend(fires.iter().map(|f| Line::from(format!("  {}", both(*f)))))
        }
        Some(Err(e)) => lines.push(Line::from(Span::styled(
            format!("  cannot compute: {e}"),
            t.error,
        ))),
        None => {}
    }
    let title = format!(" schedule {} · {} ", sc.id, sc.entrypoint);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(Span::styled(title, t.title))
                .border_style(t.key),
        ),
        popup,
    );
}
