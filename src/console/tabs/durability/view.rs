//! The Durability tab: each table's persistence, size and rows; the three
//! levels; and for the selected level, what it means and the dry-run SQL.
//! Between them, retention: the log's and statistics' rows and oldest row,
//! and the age the prune key deletes beyond.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{DurabilityTab, meaning};
use crate::actions::retention::prune::{BACKLOG_COUNT_LIMIT, age_text};
use crate::actions::schema::tables::TablesReport;
use crate::console::keymap::Command;
use crate::console::tabs::Screen;
use crate::console::ui::columns::{self, Col, Text};
use crate::console::ui::cut;
use crate::output::format::human_bytes;
use crate::output::format::{group, relative};
use crate::settings::durability::Durability;
use crate::settings::durability::TableRole;

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, d: &DurabilityTab) {
    let t = &screen.theme;
    let [header, tables, retention, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(6),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(area);
    let Some(report) = &d.report else {
        frame.render_widget(Paragraph::new(" loading…").style(t.dim), header);
        return;
    };
    let mut spans = vec![
        Span::styled(" installation is at ", t.dim),
        Span::styled(
            report.level.map_or_else(
                || "custom (no level matches)".to_string(),
                |l| l.to_string(),
            ),
            t.title,
        ),
    ];
    if let Some((level, took)) = d.last_change {
        spans.push(Span::styled(
            format!(
                "  · switched to {level} in {:.0} ms this session",
                took.as_secs_f64() * 1e3
            ),
            t.ok,
        ));
    }
    frame.render_widget(cut::line(spans, header.width), header);

    let rows = report
        .tables
        .iter()
        .map(|tb| {
            let persistence = match tb.unlogged {
                Some(true) => "UNLOGGED",
                Some(false) => "LOGGED",
                None => "missing",
            };
            let cells: Vec<Text> = vec![
                tb.table.clone().into(),
                persistence.into(),
                human_bytes(tb.total_bytes).into(),
                group(tb.estimated_rows).into(),
            ];
            (cells, None)
        })
        .collect();
    let cols = [
        Col::new("Table", Constraint::Fill(1), 9),
        Col::new("Now", Constraint::Length(9), 8),
        Col::new("Size", Constraint::Length(10), 7).right(),
        Col::new("Est. rows", Constraint::Length(12), 6).right(),
    ];
    let table = columns::table(&cols, rows, tables.width, t.header)
        .block(Block::default().borders(Borders::TOP).border_style(t.dim));
    frame.render_widget(table, tables);
    frame.render_widget(
        Paragraph::new(retention_lines(report, screen, d)).wrap(Wrap { trim: false }),
        retention,
    );

    let [levels, detail] =
        Layout::horizontal([Constraint::Length(16), Constraint::Fill(1)]).areas(rest);
    let items: Vec<Line> = Durability::ALL
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let current = report.level == Some(*level);
            let pointer = if i == d.selected { "›" } else { " " };
            let text = format!("{pointer}{level}{}", if current { " ✓" } else { "" });
            if i == d.selected {
                Line::from(Span::styled(format!("{text:<14}"), t.selected))
            } else {
                Line::from(text)
            }
        })
        .collect();
    frame.render_widget(
        Paragraph::new(items).block(
            Block::default()
                .borders(Borders::TOP | Borders::RIGHT)
                .border_style(t.dim)
                .title(Span::styled(" level ", t.header)),
        ),
        levels,
    );

    let level = d.level();
    let mut lines = vec![Line::from(meaning(level))];
    match d.preview_for(level) {
        None => lines.push(Line::from(Span::styled("computing the dry run…", t.dim))),
        Some(Err(e)) => lines.push(Line::from(Span::styled(
            format!("dry run failed: {e}"),
            t.error,
        ))),
        Some(Ok(p)) if p.nothing_to_do => lines.push(Line::from(Span::styled(
            "Nothing to do: every table already has this persistence.",
            t.ok,
        ))),
        Some(Ok(p)) => {
            lines.push(Line::from(Span::styled(
                "Dry run: exactly what Enter runs after you confirm",
                t.header,
            )));
            for stmt in &p.statements {
                lines.extend(stmt.lines().map(|l| Line::from(format!("  {l}"))));
            }
            if let Some(w) = &p.warning {
                lines.push(Line::from(Span::styled(format!("⚠ {w}"), t.warn)));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(t.dim)
                .title(Span::styled(format!(" {level} "), t.title)),
        ),
        detail,
    );
}

/// "log ≈1,000,000 rows, oldest 41d02h ago · statistics …", then the prune key.
fn retention_lines<'a>(report: &TablesReport, screen: &Screen, d: &DurabilityTab) -> Vec<Line<'a>> {
    let t = &screen.theme;
    let Some(info) = &report.retention else {
        return vec![Line::from(Span::styled(
            " retention: log or statistics table missing",
            t.dim,
        ))];
    };
    let rows = |role| {
        report
            .tables
            .iter()
            .find(|tb| tb.role == role)
            .map_or(0, |tb| tb.estimated_rows)
    };
    let oldest = |at: Option<chrono::DateTime<chrono::Utc>>| {
        at.map_or_else(
            || "empty".to_string(),
            |at| format!("oldest {}", relative(at, screen.now)),
        )
    };
    let backlog = if info.not_aggregated > BACKLOG_COUNT_LIMIT {
        format!("{}+", group(BACKLOG_COUNT_LIMIT))
    } else {
        group(info.not_aggregated)
    };
    // Two lines that fit 80 columns.
    let facts = format!(
        " log ≈{} · {}   statistics ≈{} · {}",
        group(rows(TableRole::Log)),
        oldest(info.oldest_log),
        group(rows(TableRole::Statistics)),
        oldest(info.oldest_statistics),
    );
    let keys = screen.keymap;
    let action = format!(
        " {backlog} unaggregated kept · {} prunes older than {} · {} changes the age",
        keys.first_key(Command::Prune),
        age_text(d.prune_age()),
        keys.first_key(Command::Retention),
    );
    vec![
        Line::from(Span::styled(facts, t.dim)),
        Line::from(Span::styled(action, t.dim)),
    ]
}
