//! Draws the Jobs tab: a header with the filter and page, the page of jobs,
//! and a job's detail as a scrollable overlay.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};

use super::JobsTab;
use crate::actions::browse::{JobDetail, Order};
use crate::actions::payload::{PayloadView, preview};
use crate::console::tabs::Screen;
use crate::console::tabs::held::traceback_text;
use crate::console::ui::format::{age, relative};
use crate::console::ui::widgets::centered;

fn layout(area: Rect) -> [Rect; 2] {
    Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area)
}

/// Table rows visible in `body` (below the top border and column titles).
pub fn page_height(body: Rect) -> usize {
    layout(body)[1].height.saturating_sub(2) as usize
}

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, j: &JobsTab) {
    let t = &screen.theme;
    let [header, table] = layout(area);
    let rows = j.rows();
    let mut spans = vec![
        Span::styled(" ", t.dim),
        Span::styled(if j.history { "finished jobs" } else { "queue" }, t.title),
        Span::styled(
            match j.order {
                Order::NewestFirst => " newest first",
                Order::OldestFirst => " oldest first",
            },
            t.dim,
        ),
        Span::styled(format!("  page {}", j.previous.len() + 1), t.dim),
    ];
    if let Some(first) = rows.first() {
        spans.push(Span::styled(
            format!(
                " (ids {}…{})",
                first.id,
                rows.last().map_or(first.id, |r| r.id)
            ),
            t.dim,
        ));
    }
    if !j.list.tagged.is_empty() {
        spans.push(Span::styled(
            format!("  {} tagged", j.list.tagged.len()),
            t.warn,
        ));
    }
    // Before the filter, which may run past the edge.
    if j.loading {
        let doing = if j.applied.search.is_some() {
            "  searching…"
        } else {
            "  loading…"
        };
        spans.push(Span::styled(doing, t.warn));
    }
    if j.applied.search.is_some() && !j.loading {
        spans.push(Span::styled("  not live (r searches again)", t.dim));
    }
    if !j.list.filter.is_empty() {
        spans.push(Span::styled("  filter ", t.dim));
        spans.push(Span::styled(j.list.filter.clone(), t.warn));
    } else {
        // The filter line's syntax, where it is used.
        spans.push(Span::styled(
            "  / status: ep: prio:N..M id: key: worker: text|k=v",
            t.dim,
        ));
    }
    frame.render_widget(Line::from(spans), header);
    let block = Block::default().borders(Borders::TOP).border_style(t.dim);
    let empty = match (&j.page, &j.error) {
        (_, Some(e)) => Some(e.clone()),
        (None, None) => Some("loading…".into()),
        (Some(p), None) if p.rows.is_empty() => Some(if j.applied.is_empty() {
            "no jobs".into()
        } else {
            "no job matches the filter".into()
        }),
        _ => None,
    };
    if let Some(text) = empty {
        frame.render_widget(
            Paragraph::new(format!(" {text}"))
                .style(t.dim)
                .wrap(Wrap { trim: false })
                .block(block),
            table,
        );
        return;
    }
    let mut state = j.list.state_for(rows.len(), page_height(area));
    let since = |at: chrono::DateTime<chrono::Utc>| {
        age(Some((screen.now - at).num_milliseconds() as f64 / 1e3))
    };
    let (titles, widths, body): (Vec<&str>, Vec<Constraint>, Vec<Row>) = if j.history {
        (
            vec!["Id", "Entrypoint", "Status", "Prio", "Finished"],
            vec![
                Constraint::Length(9),
                Constraint::Fill(1),
                Constraint::Length(10),
                Constraint::Length(5),
                Constraint::Length(10),
            ],
            rows.iter()
                .map(|r| {
                    Row::new(vec![
                        Cell::from(Line::from(r.id.to_string()).right_aligned()),
                        Cell::from(r.entrypoint.clone()),
                        Cell::from(r.status.clone()),
                        Cell::from(Line::from(r.priority.to_string()).right_aligned()),
                        Cell::from(format!("{} ago", since(r.created))),
                    ])
                })
                .collect(),
        )
    } else {
        (
            vec![
                "Id",
                "Entrypoint",
                "Status",
                "Prio",
                "Age",
                "Runs",
                "Try",
                "Key",
                "Worker",
                "Payload",
            ],
            vec![
                Constraint::Length(8),
                Constraint::Fill(2),
                Constraint::Length(6),
                Constraint::Length(4),
                Constraint::Length(5),
                Constraint::Length(8),
                Constraint::Length(3),
                Constraint::Fill(1),
                Constraint::Length(8),
                Constraint::Fill(2),
            ],
            rows.iter()
                .map(|r| {
                    let deferred = r.execute_after.filter(|at| *at > screen.now);
                    // A tag marks the id (the page has no column to spare).
                    let id = if j.list.tagged.contains(&r.id) {
                        format!("●{}", r.id)
                    } else {
                        r.id.to_string()
                    };
                    Row::new(vec![
                        Cell::from(Line::from(id).right_aligned()),
                        Cell::from(r.entrypoint.clone()),
                        Cell::from(r.status.clone()),
                        Cell::from(Line::from(r.priority.to_string()).right_aligned()),
                        Cell::from(since(r.created)),
                        Cell::from(deferred.map_or("now".into(), |at| relative(at, screen.now))),
                        Cell::from(Line::from(r.attempts.unwrap_or(0).to_string()).right_aligned()),
                        Cell::from(r.dedupe_key.clone().unwrap_or_default()),
                        Cell::from(
                            r.queue_manager_id
                                .filter(|_| r.status == "picked")
                                .map(|u| u.to_string()[..8].to_string())
                                .unwrap_or_default(),
                        ),
                        Cell::from(
                            r.payload_head
                                .as_deref()
                                .map(|h| preview(h, r.payload_bytes.unwrap_or(0)))
                                .unwrap_or_default(),
                        ),
                    ])
                })
                .collect(),
        )
    };
    let header = Row::new(titles.into_iter().map(Cell::from)).style(t.header);
    let widget = Table::new(body, widths)
        .header(header)
        .block(block)
        .column_spacing(1)
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(widget, table, &mut state);
}

fn field<'a>(screen: &Screen, name: &'a str, value: String) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<14}"), screen.theme.dim),
        Span::raw(value),
    ])
}

/// The detail's lines: fields, payload, headers, timeline, last traceback.
pub fn detail_lines<'a>(
    screen: &Screen,
    d: &'a JobDetail,
    payload: Option<&'a PayloadView>,
) -> Vec<Line<'a>> {
    let t = &screen.theme;
    let time = |at: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} ({})",
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            relative(at, screen.now)
        )
    };
    let mut lines = vec![
        field(screen, "entrypoint", d.entrypoint().to_string()),
        field(screen, "status", d.status().to_string()),
    ];
    match &d.job {
        Some(job) => {
            lines.push(field(screen, "priority", job.priority.to_string()));
            lines.push(field(screen, "attempts", job.attempts.to_string()));
            lines.push(field(
                screen,
                "queue manager",
                job.queue_manager_id.map_or("-".into(), |u| u.to_string()),
            ));
            lines.push(field(
                screen,
                "dedupe key",
                job.dedupe_key.clone().unwrap_or("-".into()),
            ));
            lines.push(field(screen, "created", time(job.created)));
            lines.push(field(screen, "updated", time(job.updated)));
            lines.push(field(screen, "heartbeat", time(job.heartbeat)));
            lines.push(field(screen, "execute after", time(job.execute_after)));
            lines.push(field(
                screen,
                "headers",
                job.headers
                    .as_ref()
                    .map_or("null".into(), |h| h.to_string()),
            ));
            if let Some(view) = payload {
                let size = job.payload.as_ref().map_or(0, Vec::len);
                lines.push(field(
                    screen,
                    "payload",
                    format!("{} · {size} bytes · y copies it", view.kind()),
                ));
                lines.extend(
                    view.text()
                        .lines()
                        .map(|l| Line::from(format!("  {l}")))
                        .collect::<Vec<_>>(),
                );
            }
        }
        None => lines.push(Line::from(Span::styled(
            "no longer in the queue: shown from the log, which keeps no payload",
            t.dim,
        ))),
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("timeline", t.title)));
    for e in &d.log {
        lines.push(Line::from(vec![
            Span::styled(
                format!("  {}  ", e.created.format("%Y-%m-%d %H:%M:%S%.3f")),
                t.dim,
            ),
            Span::raw(format!("{:<10}", e.status)),
            Span::styled(
                if e.traceback.is_some() {
                    " traceback"
                } else {
                    ""
                },
                t.warn,
            ),
        ]));
    }
    if let Some(e) = d.last_traceback()
        && let Some(tb) = &e.traceback
    {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("last traceback", t.title)));
        lines.extend(
            traceback_text(tb)
                .lines()
                .map(|l| Line::from(l.to_string())),
        );
    }
    lines
}

pub fn draw_detail(frame: &mut Frame, area: Rect, screen: &Screen, j: &JobsTab) {
    let t = &screen.theme;
    let Some(id) = j.list.detail else {
        return;
    };
    let popup = centered(area, 94, 94);
    frame.render_widget(Clear, popup);
    let lines = match &j.detail {
        Some(d) => detail_lines(screen, d, j.payload.as_ref()),
        None => vec![Line::from(Span::styled("loading…", t.dim))],
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((j.detail_scroll, 0))
            .block(
                Block::bordered()
                    .title(Span::styled(format!(" job {id} "), t.title))
                    .border_style(t.key),
            ),
        popup,
    );
}
