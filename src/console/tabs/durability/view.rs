//! The Durability tab: each table's persistence, size and rows; the three
//! levels; and for the selected level, what it means and the dry-run SQL.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

use super::{DurabilityTab, meaning};
use crate::actions::preview::human_bytes;
use crate::console::tabs::Screen;
use crate::console::ui::format::group;
use crate::settings::durability::Durability;

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, d: &DurabilityTab) {
    let t = &screen.theme;
    let [header, tables, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(6),
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
    frame.render_widget(Line::from(spans), header);

    let rows: Vec<Row> = report
        .tables
        .iter()
        .map(|tb| {
            let persistence = match tb.unlogged {
                Some(true) => "UNLOGGED",
                Some(false) => "LOGGED",
                None => "missing",
            };
            Row::new(vec![
                Cell::from(tb.table.clone()),
                Cell::from(persistence),
                Cell::from(Line::from(human_bytes(tb.total_bytes)).right_aligned()),
                Cell::from(Line::from(group(tb.estimated_rows)).right_aligned()),
            ])
        })
        .collect();
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(12),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(vec![
                Cell::from("Table"),
                Cell::from("Now"),
                Cell::from(Line::from("Size").right_aligned()),
                Cell::from(Line::from("Est. rows").right_aligned()),
            ])
            .style(t.header),
        )
        .block(Block::default().borders(Borders::TOP).border_style(t.dim))
        .column_spacing(1);
    frame.render_widget(table, tables);

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
