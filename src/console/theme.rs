//! Colours and text styles. The default theme uses the 16 ANSI colours, which
//! every terminal and SSH session renders; the monochrome theme (`NO_COLOR`,
//! `--no-color`, `theme = "monochrome"`) uses only bold, dim and reverse
//! video, so the selection stays visible without colour.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theme {
    pub monochrome: bool,
    pub base: Style,
    pub title: Style,
    pub tab_active: Style,
    pub tab_inactive: Style,
    pub header: Style,
    pub selected: Style,
    pub dim: Style,
    pub key: Style,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub info: Style,
    pub total: Style,
    pub success_series: Style,
    pub error_series: Style,
    pub cancel_series: Style,
}

impl Theme {
    pub fn colour() -> Theme {
        Theme {
            monochrome: false,
            base: Style::new(),
            title: Style::new().add_modifier(Modifier::BOLD),
            tab_active: Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            tab_inactive: Style::new().fg(Color::Gray),
            header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            selected: Style::new().fg(Color::Black).bg(Color::Cyan),
            dim: Style::new().fg(Color::DarkGray),
            key: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            error: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            info: Style::new().fg(Color::Cyan),
            total: Style::new().add_modifier(Modifier::BOLD),
            success_series: Style::new().fg(Color::Green),
            error_series: Style::new().fg(Color::Red),
            cancel_series: Style::new().fg(Color::Yellow),
        }
    }

    pub fn monochrome() -> Theme {
        let plain = Style::new();
        let bold = Style::new().add_modifier(Modifier::BOLD);
        Theme {
            monochrome: true,
            base: plain,
            title: bold,
            tab_active: Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            tab_inactive: plain,
            header: bold.add_modifier(Modifier::UNDERLINED),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            dim: Style::new().add_modifier(Modifier::DIM),
            key: bold,
            ok: plain,
            warn: bold,
            error: bold,
            info: plain,
            total: bold,
            success_series: plain,
            error_series: bold,
            cancel_series: Style::new().add_modifier(Modifier::DIM),
        }
    }
}
