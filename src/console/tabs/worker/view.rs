//! The Worker tab: jobs in flight, per-entrypoint done / failed / rate, the
//! recent log lines, and shutdown progress.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{WorkerTab, finished};
use crate::console::tabs::Screen;
use crate::console::ui::columns::{self, Col, Text};
use crate::console::ui::cut;
use crate::output::format::{age, count};
use crate::output::plural;
use crate::worker::WorkerState;

pub fn draw(frame: &mut Frame, area: Rect, screen: &Screen, w: &WorkerTab) {
    let t = &screen.theme;
    let s = &w.snapshot;
    let [header, top, log] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(3),
        Constraint::Fill(2),
    ])
    .areas(area);
    let state = match s.state {
        WorkerState::Connecting => ("connecting".to_string(), t.warn),
        WorkerState::Running => ("running".to_string(), t.ok),
        WorkerState::Reconnecting(n) => (format!("reconnecting ({n})"), t.error),
        WorkerState::Stopping => (
            format!(
                "stopping: waiting for {}{}",
                plural(s.in_flight.len(), "running job"),
                if w.owns_worker {
                    " · q again stops them now"
                } else {
                    ""
                }
            ),
            t.warn,
        ),
        WorkerState::Stopped => ("stopped".to_string(), t.dim),
    };
    let id = s.queue_manager_id.to_string();
    frame.render_widget(
        Line::from(vec![
            Span::styled(" worker ", t.dim),
            Span::raw(id[..8].to_string()),
            Span::styled("  ", t.dim),
            Span::styled(state.0, state.1),
            Span::styled(
                format!(
                    "  {} in flight · {}",
                    s.in_flight.len(),
                    plural(s.schedules_fired as usize, "schedule fire")
                ),
                t.dim,
            ),
        ]),
        header,
    );

    let [per_entrypoint, in_flight] =
        Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(top);
    // Entrypoints with totals, and those whose first jobs are still running.
    let mut names: Vec<&String> = s.entrypoints.keys().collect();
    for job in &s.in_flight {
        if !names.contains(&&job.entrypoint) {
            names.push(&job.entrypoint);
        }
    }
    names.sort();
    let zero = crate::worker::Counters::default();
    let rows = names
        .into_iter()
        .map(|name| (name, s.entrypoints.get(name).unwrap_or(&zero)))
        .map(|(name, c)| {
            let running = s.in_flight.iter().filter(|j| &j.entrypoint == name).count();
            let cells: Vec<Text> = vec![
                name.clone().into(),
                running.to_string().into(),
                count(c.successful as i64).into(),
                count((c.exception + c.failed) as i64).into(),
                count(c.retried as i64).into(),
                format!("{:.1}/s", w.rate(name)).into(),
            ];
            (cells, None)
        })
        .collect();
    let total: u64 = s.entrypoints.values().map(finished).sum();
    let cols = [
        Col::new("Entrypoint", Constraint::Fill(1), 9),
        Col::new("Run", Constraint::Length(4), 8).right(),
        Col::new("Done", Constraint::Length(7), 7).right(),
        Col::new("Fail", Constraint::Length(6), 6).right(),
        Col::new("Retry", Constraint::Length(5), 4).right(),
        Col::new("Rate", Constraint::Length(7), 5).right(),
    ];
    let entrypoints_block = Block::default()
        .borders(Borders::TOP | Borders::RIGHT)
        .border_style(t.dim)
        .title(Span::styled(format!(" {total} finished ",), t.title));
    let inner = entrypoints_block.inner(per_entrypoint).width;
    let table = columns::table(&cols, rows, inner, t.header).block(entrypoints_block);
    frame.render_widget(table, per_entrypoint);

    let jobs = w.running();
    let shown = in_flight.height.saturating_sub(2) as usize;
    let selected = w.selected_row();
    // Keep the selected row on screen.
    let skip = selected.map_or(0, |i| (i + 1).saturating_sub(shown));
    let rows = jobs
        .iter()
        .enumerate()
        .skip(skip)
        .take(shown)
        .map(|(i, j)| {
            let running = (screen.now - j.started).num_milliseconds() as f64 / 1e3;
            let cells: Vec<Text> = vec![
                j.entrypoint.clone().into(),
                j.id.to_string().into(),
                if j.completing {
                    "done".to_string()
                } else {
                    age(Some(running))
                }
                .into(),
            ];
            (cells, (Some(i) == selected).then_some(t.selected))
        })
        .collect();
    let cols = [
        Col::new("In flight", Constraint::Fill(1), 9),
        Col::new("Job", Constraint::Length(8), 8).right(),
        Col::new("For", Constraint::Length(7), 7).right(),
    ];
    frame.render_widget(
        columns::table(&cols, rows, in_flight.width, t.header)
            .block(Block::default().borders(Borders::TOP).border_style(t.dim)),
        in_flight,
    );

    let height = log.height.saturating_sub(1) as usize;
    let lines: Vec<Line> = w
        .log
        .iter()
        .rev()
        .take(height)
        .rev()
        // A long line ends in "…" (the whole line is in the log file).
        .map(|l| cut::line(vec![Span::raw(short_line(l))], log.width))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(t.dim)
                .title(Span::styled(" log ", t.title)),
        ),
        log,
    );
}

/// `2026-11-27T22:01:36.024+00:00 [pgq] INFO: …` → `22:01:36 INFO: …`: the
/// date and the logger name are the same on every line of this tab.
fn short_line(line: &str) -> String {
    let bytes = line.as_bytes();
    if line.len() > 20 && bytes[4] == b'-' && bytes[10] == b'T' {
        let time = &line[11..19];
        let rest = line.split_once(' ').map_or("", |(_, r)| r);
        let rest = rest.strip_prefix("[pgq] ").unwrap_or(rest);
        format!("{time} {rest}")
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_lose_the_date_and_logger() {
        assert_eq!(
            super::short_line("2026-11-27T22:01:36.024+00:00 [pgq] INFO: Retry requested x=1"),
            "22:01:36 INFO: Retry requested x=1"
        );
        assert_eq!(super::short_line("plain"), "plain");
    }
}
