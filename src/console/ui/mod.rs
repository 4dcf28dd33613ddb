//! Drawing: a pure function of [`App`] state onto a ratatui frame.
//!
//! Layout: tab bar, the tab's body, a status bar and a key-hint line; the
//! help overlay and the event detail are drawn on top. Below the minimum
//! size a single message replaces the layout.

pub mod columns;
pub mod confirm;
mod contexts;
pub mod cut;
mod dialog;
pub mod fit;
mod help;
pub mod messages;
pub mod scroll_text;
mod sql_text;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::app::{App, Level, Link};
use super::keymap::{Command, Scope};
use widgets::screen;

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "Terminal too small: {}×{}\nneeds at least {MIN_WIDTH}×{MIN_HEIGHT}\n\nq quits",
            area.width, area.height
        );
        let y = area.height.saturating_sub(4) / 2;
        let centered = Rect::new(
            area.x,
            area.y + y,
            area.width,
            area.height.saturating_sub(y),
        );
        frame.render_widget(
            Paragraph::new(text)
                .alignment(Alignment::Center)
                .wrap(Wrap { trim: true }),
            centered,
        );
        return;
    }
    let [tabs, body, status, hints] = screen(area);
    draw_tabs(frame, tabs, app);
    let tab = app.current();
    let screen = app.screen();
    if let Some(tab) = tab {
        tab.draw(frame, body, &screen);
    }
    if let Link::Reconnecting { error, .. } = &app.conn.link {
        // Over the tab's header line: the data below is stale, and why.
        let line = Rect::new(body.x, body.y, body.width, 1);
        frame.render_widget(Clear, line);
        // The error is cut ("…"), never the way out of it.
        let error = format!(" ✖ {error}");
        let mut after = " · showing the last data · r retries now";
        if cut::width(&error) + cut::width(after) > line.width as usize {
            after = " · r retries now";
        }
        let room = (line.width as usize).saturating_sub(cut::width(after));
        let error = cut::cut(&error, room).into_owned();
        frame.render_widget(
            Line::from(vec![
                Span::styled(error, app.theme.error),
                Span::styled(after, app.theme.dim),
            ]),
            line,
        );
    }
    draw_status(frame, status, app);
    draw_hints(frame, hints, app);
    if let Some(tab) = tab.filter(|t| t.detail_open()) {
        tab.draw_detail(frame, body, &screen);
    }
    if app.sql_log.open {
        dialog::draw_sql_log(frame, body, app);
    }
    if app.messages.open {
        dialog::draw_messages(frame, body, app);
    }
    if app.contexts.open {
        contexts::draw(frame, body, app);
    }
    if app.confirm.is_some() {
        dialog::draw_confirm(frame, body, app);
    }
    if app.help {
        help::draw(frame, body, app);
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut labels = Vec::new();
    let mut current = 0;
    for tab in app.tabs() {
        let Some(view) = app.tab_view(tab) else {
            continue;
        };
        if tab == app.tab {
            current = labels.len();
        }
        labels.push(fit::TabLabel {
            key: app.keymap.first_key(Command::ShowTab(tab)),
            title: view.title(),
            short: view.short_title(),
        });
    }
    let bar = fit::fit_tabs(&labels, current, area.width as usize);
    let mut spans = Vec::new();
    if bar.brand {
        spans.push(Span::styled(fit::BRAND, t.title));
    }
    for (i, cell) in bar.cells.into_iter().enumerate() {
        let style = if i == current {
            t.tab_active
        } else {
            t.tab_inactive
        };
        spans.push(Span::raw(" ".repeat(bar.gap)));
        spans.push(Span::styled(cell, style));
    }
    frame.render_widget(Line::from(spans), area);
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let (badge, style) = match &app.conn.link {
        Link::Connecting { attempt: 1 } => ("● connecting".to_string(), t.warn),
        Link::Connecting { attempt } => (format!("● connecting ({attempt})"), t.warn),
        Link::Connected => ("● connected".to_string(), t.ok),
        Link::Reconnecting {
            attempt, retry_at, ..
        } => {
            let wait = (*retry_at - app.now).num_seconds().max(0);
            (
                format!("● reconnecting {attempt} (next in {wait}s)"),
                t.error,
            )
        }
    };
    let sep = || Span::styled(" │ ", t.dim);
    // Parts with a rank: on a narrow terminal the least needed go whole
    // ("PG 1" never shows); the connection's state and read-only stay.
    let mut parts: Vec<(Vec<Span>, u8)> = vec![(vec![Span::styled(badge, style)], 9)];
    if let Some(name) = app.contexts.current_name() {
        parts.push((vec![sep(), Span::styled(format!("ctx {name}"), t.title)], 8));
    }
    if app.conn.read_only {
        parts.push((vec![Span::styled(" READ-ONLY", t.warn)], 9));
    }
    if let Some(notice) = app.standby_notice().or_else(|| app.live_events_notice()) {
        parts.push((vec![sep(), Span::styled(notice, t.warn)], 7));
    } else if let Some(notice) = app.events_paused_notice() {
        // Not a fault: said plainly, and among the first to go when narrow.
        parts.push((vec![sep(), Span::styled(notice, t.dim)], 4));
    }
    if let Some(notice) = app.background_notice() {
        parts.push((vec![sep(), Span::styled(notice, t.info)], 7));
    }
    if !app.conn.newer_schema.is_empty() {
        parts.push((
            vec![Span::styled(
                format!(" SCHEMA > {}", crate::schema::generations::WRITTEN),
                t.warn,
            )],
            8,
        ));
    }
    if let Some(at) = app.updated_at() {
        let ago = (app.now - at).num_seconds().max(0);
        parts.push((vec![sep(), Span::raw(format!("updated {ago}s ago"))], 4));
    }
    parts.push((vec![sep(), Span::raw(app.conn.target.clone())], 6));
    if !app.conn.names.is_empty() {
        parts.push((vec![sep(), Span::raw(app.conn.names.clone())], 5));
    }
    if let Some(v) = &app.conn.server_version {
        // "15.4 (Debian 15.4-1.pgdg120+1)" → "PG 15.4"
        let short = v.split_whitespace().next().unwrap_or(v);
        parts.push((vec![sep(), Span::raw(format!("PG {short}"))], 1));
    }
    let widths: Vec<usize> = parts
        .iter()
        .map(|(spans, _)| Line::from(spans.clone()).width())
        .collect();
    let ranks: Vec<u8> = parts.iter().map(|(_, rank)| *rank).collect();
    let keep = fit::keep_parts(&widths, &ranks, area.width as usize);
    let spans: Vec<Span> = parts
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .flat_map(|((spans, _), _)| spans)
        .collect();
    // What is left and still too wide (a very long target) ends in "…".
    frame.render_widget(cut::line(spans, area.width), area);
    if let Some(flash) = &app.flash {
        let (text, style) = (
            flash.text.clone(),
            if flash.level == Level::Error {
                t.error
            } else {
                t.info
            },
        );
        // The message wins the right-hand side: it is what the user needs
        // now. Too long, it is cut with "…" and names the key that shows it
        // in full.
        let room = (area.width * 2 / 3) as usize;
        let mut line = vec![Span::styled(format!(" {text}"), style)];
        if cut::width(&text) + 1 > room {
            let more = format!(" [{}]", app.keymap.first_key(Command::Messages));
            let shown = cut::cut(&text, room.saturating_sub(1 + cut::width(&more)));
            line = vec![
                Span::styled(format!(" {shown}"), style),
                Span::styled(more, t.key),
            ];
        }
        let width = Line::from(line.clone()).width() as u16 + 1;
        let right = Rect::new(area.right() - width, area.y, width, 1);
        frame.render_widget(Clear, right);
        frame.render_widget(Line::from(line), right);
    }
}

fn draw_hints(frame: &mut Frame, area: Rect, app: &App) {
    let t = &app.theme;
    let mut spans = Vec::new();
    if app.editing_filter {
        spans.push(Span::styled("filter: ", t.key));
        spans.push(Span::raw(format!("{}█", app.filter())));
        let key = |c| app.keymap.first_key(c);
        spans.push(Span::styled(
            format!(
                "   {} keep · {} clear",
                key(Command::FilterKeep),
                key(Command::FilterClear)
            ),
            t.dim,
        ));
    } else {
        let done = app
            .confirm
            .as_ref()
            .is_some_and(|c| matches!(c.phase, super::dialog::Phase::Done { .. }));
        let tab_hints = app.current().and_then(|t| t.hints(&app.keymap));
        let hints = if done {
            vec![(app.keymap.first_key(Command::DialogPress), "close")]
        } else if app.confirm.is_some() {
            let mut h: Vec<(String, &str)> = app
                .keymap
                .hints(&[Scope::Dialog], false)
                .into_iter()
                .map(|b| (b.keys, b.label))
                .collect();
            let scroll = format!(
                "{}/{}",
                app.keymap.first_key(Command::DialogDown),
                app.keymap.first_key(Command::DialogUp)
            );
            h.push((scroll, "scroll"));
            h
        } else if app.help {
            vec![("?/Esc".to_string(), "close help")]
        } else if app.contexts.open {
            vec![
                (app.keymap.first_key(Command::DialogPress), "connect"),
                (app.keymap.first_key(Command::DialogCancel), "close"),
                ("j/k".to_string(), "move"),
            ]
        } else if app.sql_log.open || app.messages.open {
            vec![
                (app.keymap.first_key(Command::Back), "close"),
                ("j/k".to_string(), "scroll"),
            ]
        } else if let Some(h) = tab_hints {
            h
        } else {
            app.keymap
                .hints(&app.scopes(), app.conn.refuses_changes())
                .into_iter()
                .filter(|b| app.has_filter() || b.label != "filter")
                .map(|b| (b.keys, b.label))
                .collect()
        };
        let help_key = app.keymap.first_key(Command::Help);
        // Quitting is always one visible key away.
        let pinned = [app.keymap.first_key(Command::Quit)];
        let fitted = fit::fit_hints(&hints, area.width as usize, &help_key, &pinned);
        for (i, (keys, label)) in fitted.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw(" ".repeat(fit::HINT_GAP)));
            }
            spans.push(Span::styled(keys, t.key));
            spans.push(Span::raw(format!(" {label}")));
        }
    }
    frame.render_widget(Line::from(spans), area);
}
