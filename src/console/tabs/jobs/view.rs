//! Draws the Jobs tab: a header with the filter and page, the page of jobs,
//! and a job's detail as a scrollable overlay.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::JobsTab;
use super::payload::ShownPayload;
use crate::actions::jobs::browse::{JobDetail, Order};
use crate::actions::jobs::payload::preview;
use crate::console::tabs::Screen;
use crate::console::tabs::held::traceback_text;
use crate::console::ui::columns::{self, Col, Text};
use crate::console::ui::cut;
use crate::console::ui::scroll_text::Rows;
use crate::console::ui::widgets::centered;
use crate::output::escape_line;
use crate::output::format::{AGE_WIDTH, age, relative};

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
    frame.render_widget(cut::line(spans, header.width), header);
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
    // Ranks: what stays when the terminal is too narrow for every column
    // with its whole header (the id and entrypoint go last).
    let (cols, body): (Vec<Col>, columns::Rows) = if j.history {
        (
            vec![
                Col::new("Id", Constraint::Length(9), 9).right(),
                Col::new("Entrypoint", Constraint::Fill(1), 8),
                Col::new("Status", Constraint::Length(10), 7),
                Col::new("Prio", Constraint::Length(5), 5).right(),
                Col::new("Finished", Constraint::Length(10), 6),
            ],
            rows.iter()
                .map(|r| {
                    let cells: Vec<Text> = vec![
                        r.id.to_string().into(),
                        escape_line(&r.entrypoint).into_owned().into(),
                        r.status.clone().into(),
                        r.priority.to_string().into(),
                        format!("{} ago", since(r.created)).into(),
                    ];
                    (cells, None)
                })
                .collect(),
        )
    } else {
        (
            vec![
                Col::new("Id", Constraint::Length(8), 9).right(),
                Col::new("Entrypoint", Constraint::Fill(2), 8),
                Col::new("Status", Constraint::Length(6), 7),
                Col::new("Prio", Constraint::Length(4), 5).right(),
                Col::new("Age", Constraint::Length(AGE_WIDTH), 6),
                Col::new("Runs", Constraint::Length(8), 4),
                Col::new("Try", Constraint::Length(3), 3).right(),
                Col::new("Key", Constraint::Fill(1), 1),
                Col::new("Worker", Constraint::Length(8), 2),
                Col::new("Payload", Constraint::Fill(2), 3),
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
                    let cells: Vec<Text> = vec![
                        id.into(),
                        escape_line(&r.entrypoint).into_owned().into(),
                        r.status.clone().into(),
                        r.priority.to_string().into(),
                        since(r.created).into(),
                        deferred
                            .map_or("now".into(), |at| relative(at, screen.now))
                            .into(),
                        r.attempts.unwrap_or(0).to_string().into(),
                        escape_line(r.dedupe_key.as_deref().unwrap_or_default())
                            .into_owned()
                            .into(),
                        r.queue_manager_id
                            .filter(|_| r.status == "picked")
                            .map(|u| u.to_string()[..8].to_string())
                            .unwrap_or_default()
                            .into(),
                        r.payload_head
                            .as_deref()
                            .map(|h| {
                                escape_line(&preview(h, r.payload_bytes.unwrap_or(0))).into_owned()
                            })
                            .unwrap_or_default()
                            .into(),
                    ];
                    (cells, None)
                })
                .collect(),
        )
    };
    let widget = columns::table(&cols, body, table.width, t.header)
        .block(block)
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(widget, table, &mut state);
}

/// One piece of the detail: a line drawn as it is (short, pgq's own text),
/// or a text cut into rows of the popup's width, with a label (or an indent)
/// before its first row. A piece's rows are known without drawing it, so a
/// frame draws only the rows in the window.
enum Piece<'a> {
    Line(Line<'a>),
    Text {
        label: Span<'a>,
        text: Cow<'a, str>,
        rows: Cow<'a, Rows>,
    },
}

impl Piece<'_> {
    fn height(&self) -> usize {
        match self {
            Piece::Line(_) => 1,
            Piece::Text { rows, .. } => rows.len().max(1),
        }
    }

    /// Its row `i` as a line of the window.
    fn line(&self, i: usize) -> Line<'_> {
        match self {
            Piece::Line(line) => line.clone(),
            Piece::Text { label, text, rows } => {
                let lead = if i == 0 {
                    label.clone()
                } else {
                    Span::raw(" ".repeat(label.width()))
                };
                Line::from(vec![lead, Span::raw(rows.row(text, i))])
            }
        }
    }
}

/// A text after a label of `label.width()` columns, in `width` columns.
fn text_piece<'a>(label: Span<'a>, text: Cow<'a, str>, width: usize) -> Piece<'a> {
    let rows = Rows::of(&text, width.saturating_sub(label.width()));
    Piece::Text {
        label,
        text,
        rows: Cow::Owned(rows),
    }
}

fn field<'a>(screen: &Screen, name: &str, value: String, width: usize) -> Piece<'a> {
    text_piece(
        Span::styled(format!("{name:<14}"), screen.theme.dim),
        Cow::Owned(value),
        width,
    )
}

/// The indent before each payload row.
const PAYLOAD_INDENT: &str = "  ";

/// The payload's rows for a popup `width` columns wide: made once per
/// detail and width (cut from the whole payload), reused by every frame.
fn payload_rows(shown: &ShownPayload, width: usize) -> std::cell::Ref<'_, Rows> {
    let width = width.saturating_sub(PAYLOAD_INDENT.len()).max(1);
    let cache = &shown.rows;
    if cache
        .borrow()
        .as_ref()
        .is_none_or(|rows| rows.width() != width)
    {
        // The old rows go first: both at once would double the peak.
        *cache.borrow_mut() = None;
        *cache.borrow_mut() = Some(Rows::of(shown.view.text(), width));
    }
    std::cell::Ref::map(cache.borrow(), |rows| rows.as_ref().expect("made above"))
}

/// The detail's pieces: fields, payload, headers, timeline, last traceback,
/// for a popup `width` columns wide inside its border.
fn detail_pieces<'a>(
    screen: &Screen,
    d: &'a JobDetail,
    payload: Option<(&'a ShownPayload, &'a Rows)>,
    width: usize,
) -> Vec<Piece<'a>> {
    let t = &screen.theme;
    let time = |at: chrono::DateTime<chrono::Utc>| {
        format!(
            "{} ({})",
            at.format("%Y-%m-%d %H:%M:%S UTC"),
            relative(at, screen.now)
        )
    };
    let field = |name: &str, value: String| field(screen, name, value, width);
    let mut pieces = vec![
        field("entrypoint", d.entrypoint().to_string()),
        field("status", d.status().to_string()),
    ];
    match &d.job {
        Some(job) => {
            pieces.push(field("priority", job.priority.to_string()));
            pieces.push(field("attempts", job.attempts.to_string()));
            pieces.push(field(
                "queue manager",
                job.queue_manager_id.map_or("-".into(), |u| u.to_string()),
            ));
            pieces.push(field(
                "dedupe key",
                job.dedupe_key.clone().unwrap_or("-".into()),
            ));
            pieces.push(field("created", time(job.created)));
            pieces.push(field("updated", time(job.updated)));
            pieces.push(field("heartbeat", time(job.heartbeat)));
            pieces.push(field("execute after", time(job.execute_after)));
            pieces.push(field(
                "headers",
                job.headers
                    .as_ref()
                    .map_or("null".into(), |h| h.to_string()),
            ));
            if let Some((shown, rows)) = payload {
                pieces.push(field(
                    "payload",
                    format!(
                        "{} · {} bytes · y copies it",
                        shown.view.kind(),
                        shown.bytes
                    ),
                ));
                if !rows.is_empty() {
                    pieces.push(Piece::Text {
                        label: Span::raw(PAYLOAD_INDENT),
                        text: Cow::Borrowed(shown.view.text()),
                        rows: Cow::Borrowed(rows),
                    });
                }
            }
        }
        None => pieces.push(Piece::Line(Line::from(Span::styled(
            "no longer in the queue: shown from the log, which keeps no payload",
            t.dim,
        )))),
    }
    // The answer first: why it is where it is (`pgq why`'s sentences).
    if !d.why.is_empty() {
        pieces.push(Piece::Line(Line::from("")));
        pieces.push(Piece::Line(Line::from(Span::styled("why", t.title))));
        for reason in &d.why {
            pieces.push(text_piece(
                Span::raw("  "),
                escape_line(&reason.text),
                width,
            ));
        }
    }
    pieces.push(Piece::Line(Line::from("")));
    pieces.push(Piece::Line(Line::from(Span::styled("timeline", t.title))));
    for e in &d.log {
        pieces.push(Piece::Line(Line::from(vec![
            Span::styled(
                format!("  {}  ", e.created.format("%Y-%m-%d %H:%M:%S%.3f")),
                t.dim,
            ),
            Span::raw(format!("{:<10}", escape_line(&e.status))),
            Span::styled(
                if e.traceback.is_some() {
                    " traceback"
                } else {
                    ""
                },
                t.warn,
            ),
        ])));
    }
    if let Some(e) = d.last_traceback()
        && let Some(tb) = &e.traceback
    {
        pieces.push(Piece::Line(Line::from("")));
        pieces.push(Piece::Line(Line::from(Span::styled(
            "last traceback",
            t.title,
        ))));
        pieces.push(text_piece(
            Span::raw(""),
            Cow::Owned(traceback_text(tb)),
            width,
        ));
    }
    pieces
}

/// The rows `top..top + height` of `pieces`.
fn window<'a>(pieces: &'a [Piece<'a>], top: usize, height: usize) -> Vec<Line<'a>> {
    let mut lines = Vec::with_capacity(height);
    let mut skip = top;
    for piece in pieces {
        let rows = piece.height();
        if skip >= rows {
            skip -= rows;
            continue;
        }
        for i in skip..rows {
            if lines.len() == height {
                return lines;
            }
            lines.push(piece.line(i));
        }
        skip = 0;
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
    let block = Block::bordered()
        .title(Span::styled(format!(" job {id} "), t.title))
        .border_style(t.key);
    let inner = block.inner(popup);
    let (width, height) = (inner.width as usize, inner.height as usize);
    let rows = j
        .payload
        .as_ref()
        .map(|shown| (shown, payload_rows(shown, width)));
    let pieces = match &j.detail {
        Some(d) => detail_pieces(
            screen,
            d,
            rows.as_ref().map(|(shown, rows)| (*shown, &**rows)),
            width,
        ),
        None => vec![Piece::Line(Line::from(Span::styled("loading…", t.dim)))],
    };
    let total: usize = pieces.iter().map(Piece::height).sum();
    let last_top = total.saturating_sub(height);
    // Keys move the offset without knowing the popup's size; the bottom
    // (and G's "as far as it goes") is settled here and remembered for them.
    j.detail_last_top.set(last_top);
    let top = j.detail_scroll.min(last_top);
    frame.render_widget(
        Paragraph::new(window(&pieces, top, height)).block(block),
        popup,
    );
}
