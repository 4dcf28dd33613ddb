//! The Workers tab: one row per queue manager holding picked jobs (short
//! id, jobs held, heartbeat ages, stale jobs, entrypoints), and below it the
//! jobs the selected worker holds.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::WorkersTab;
use crate::actions::reports::live_workers::ALIVE_WINDOW_SECONDS;
use crate::actions::reports::workers::{LAST_PICKED_WINDOW, STALE_AFTER, WorkerRow};
use crate::console::tabs::Screen;
use crate::console::ui::columns::{self, Col, Text};
use crate::console::ui::cut;
use crate::output::format::{age, count};

/// Header lines (who is alive, what was last picked), the workers (as many
/// rows as there are, up to half the height), and the selected worker's jobs.
fn layout(area: Rect, workers: usize) -> [Rect; 3] {
    let list = (workers as u16 + 2).clamp(4, area.height.saturating_sub(2) / 2);
    Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(list),
        Constraint::Fill(1),
    ])
    .areas(area)
}

/// Worker rows visible in `body` (below the top border and column titles)
/// when `workers` rows are listed.
pub fn page_height(body: Rect, workers: usize) -> usize {
    layout(body, workers)[1].height.saturating_sub(2) as usize
}

/// Seconds from `at` to `now` as a short age (`42s`, `3m05s`).
fn since(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    age(Some((now - at).num_milliseconds() as f64 / 1e3))
}

/// The first block of the queue manager id: enough to tell workers apart.
fn short(w: &WorkerRow) -> String {
    w.queue_manager_id.simple().to_string()[..8].to_string()
}

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, w: &WorkersTab) {
    let rows = w.rows();
    let [header, list, detail] = layout(area, rows.len());
    draw_header(frame, header, screen, w);
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(screen.theme.dim);
    let empty = match &w.workers {
        None => Some("loading…"),
        Some(all) if all.is_empty() => Some("no worker holds a picked job right now"),
        Some(_) if rows.is_empty() => Some("no worker matches the filter"),
        Some(_) => None,
    };
    if let Some(text) = empty {
        frame.render_widget(
            Paragraph::new(format!(" {text}"))
                .style(screen.theme.dim)
                .block(block),
            list,
        );
        return;
    }
    draw_workers(frame, list, screen, w, &rows);
    if let Some(selected) = rows.get(w.list.selected) {
        draw_jobs(frame, detail, screen, selected);
    }
}

fn draw_header(frame: &mut Frame, area: Rect, screen: &Screen, w: &WorkersTab) {
    let t = &screen.theme;
    let all = w.workers.as_deref().unwrap_or_default();
    let held: i64 = all.iter().map(|r| r.active_jobs).sum();
    let stale = all.iter().filter(|r| r.stale).count();
    // Idle workers hold no picked rows: their health checks are what
    // shows them alive.
    let alive = w.alive.alive(screen.now);
    let mut spans = vec![
        Span::styled(" ", t.dim),
        Span::styled(alive.to_string(), t.title),
        Span::styled(
            format!(
                " {} alive (health checks, last {ALIVE_WINDOW_SECONDS} s); ",
                if alive == 1 { "worker" } else { "workers" }
            ),
            t.dim,
        ),
    ];
    // Listening again after a pause: workers heard before it may not have
    // sent their next health check yet.
    if let Some(since) = w.heard_since {
        let listening = (screen.now - since).num_seconds().max(0);
        if listening < ALIVE_WINDOW_SECONDS {
            spans.push(Span::styled(
                format!("counting ({listening} s listening); "),
                t.warn,
            ));
        }
    }
    spans.extend([
        Span::styled(all.len().to_string(), t.title),
        Span::styled(if all.len() == 1 { " holds " } else { " hold " }, t.dim),
        Span::styled(count(held), t.title),
        Span::styled(if held == 1 { " job" } else { " jobs" }, t.dim),
    ]);
    if stale > 0 {
        spans.push(Span::styled(format!("  {stale} STALE"), t.error));
    }
    // The threshold is a reminder: it gives way on a narrow terminal.
    let threshold = format!("  stale after {}", age(Some(STALE_AFTER.as_secs_f64())));
    if Line::from(spans.clone()).width() + threshold.len() <= area.width as usize {
        spans.push(Span::styled(threshold, t.dim));
    }
    if !w.list.filter.is_empty() {
        spans.push(Span::styled("  filter ", t.dim));
        spans.push(Span::styled(w.list.filter.clone(), t.warn));
    }
    let [first, second] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(cut::line(spans, first.width), first);
    frame.render_widget(last_picked_line(screen, w, second.width), second);
}

/// " last picked  send_email 3s ago · resize_image 2m05s ago", most recent
/// first: idle workers hold nothing, so this says what they last took.
fn last_picked_line<'a>(screen: &Screen, w: &'a WorkersTab, width: u16) -> Line<'a> {
    let t = &screen.theme;
    let mut spans = vec![Span::styled(" last picked ", t.dim)];
    match &w.last_picked {
        None => spans.push(Span::styled("…", t.dim)),
        Some(picked) if picked.is_empty() => spans.push(Span::styled(
            format!(
                "nothing in the last {}",
                age(Some(LAST_PICKED_WINDOW.as_secs_f64()))
            ),
            t.dim,
        )),
        Some(picked) => {
            let mut recent: Vec<_> = picked.iter().collect();
            recent.sort_by_key(|p| std::cmp::Reverse(p.last_picked));
            for (i, p) in recent.into_iter().enumerate() {
                if i > 0 {
                    spans.push(Span::styled(" · ", t.dim));
                }
                spans.push(Span::styled(p.entrypoint.as_str(), t.base));
                spans.push(Span::styled(
                    format!(" {} ago", since(p.last_picked, screen.now)),
                    t.dim,
                ));
            }
        }
    }
    cut::line(spans, width)
}

fn draw_workers(
    frame: &mut Frame,
    area: Rect,
    screen: &Screen,
    w: &WorkersTab,
    rows: &[&WorkerRow],
) {
    let t = &screen.theme;
    let base = if screen.connected { t.base } else { t.dim };
    let body = rows
        .iter()
        .map(|r| {
            let status = if r.stale {
                Text::styled(format!("STALE {}", r.stale_jobs), t.error)
            } else {
                Text::styled("ok", t.ok)
            };
            let cells: Vec<Text> = vec![
                short(r).into(),
                count(r.active_jobs).into(),
                since(r.newest_heartbeat, screen.now).into(),
                since(r.oldest_heartbeat, screen.now).into(),
                status,
                r.entrypoints.join(", ").into(),
            ];
            (cells, Some(base))
        })
        .collect();
    let cols = [
        Col::new("Worker", Constraint::Length(8), 9),
        Col::new("Held", Constraint::Length(7), 7).right(),
        Col::new("Beat", Constraint::Length(6), 6).right(),
        Col::new("Stalest", Constraint::Length(7), 5).right(),
        Col::new("State", Constraint::Length(9), 8),
        Col::new("Entrypoints", Constraint::Fill(1), 4),
    ];
    let mut state = w
        .list
        .state_for(rows.len(), area.height.saturating_sub(2) as usize);
    let table = columns::table(&cols, body, area.width, t.header)
        .block(Block::default().borders(Borders::TOP).border_style(t.dim))
        .row_highlight_style(t.selected);
    frame.render_stateful_widget(table, area, &mut state);
}

/// The jobs the worker holds (the first of them by id when it holds many).
fn draw_jobs(frame: &mut Frame, area: Rect, screen: &Screen, r: &WorkerRow) {
    let t = &screen.theme;
    let shown = r.jobs.len() as i64;
    let mut title = vec![
        Span::styled(" jobs held by ", t.dim),
        Span::styled(r.queue_manager_id.to_string(), t.title),
    ];
    if shown < r.active_jobs {
        title.push(Span::styled(
            format!(" (first {} of {})", count(shown), count(r.active_jobs)),
            t.dim,
        ));
    }
    title.push(Span::raw(" "));
    let body = r
        .jobs
        .iter()
        .map(|j| {
            let beat = since(j.heartbeat, screen.now);
            let beat = if j.stale {
                Text::styled(format!("{beat} STALE"), t.error)
            } else {
                beat.into()
            };
            let cells: Vec<Text> = vec![
                j.id.to_string().into(),
                j.entrypoint.clone().into(),
                j.priority.to_string().into(),
                since(j.picked, screen.now).into(),
                beat,
            ];
            (cells, None)
        })
        .collect();
    let cols = [
        Col::new("Id", Constraint::Length(9), 9).right(),
        Col::new("Entrypoint", Constraint::Fill(1), 8),
        Col::new("Prio", Constraint::Length(5), 5).right(),
        Col::new("Picked", Constraint::Length(7), 6).right(),
        Col::new("Heartbeat", Constraint::Length(14), 7),
    ];
    let table = columns::table(&cols, body, area.width, t.header).block(
        Block::default()
            .borders(Borders::TOP)
            .border_style(t.dim)
            .title(Line::from(title)),
    );
    frame.render_widget(table, area);
}
