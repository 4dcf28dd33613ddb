//! Tables that never hide a word: each column's header fits whole (at
//! narrow widths the least needed columns go, rather than showing "Entr"
//! or "Wor"), and a cell wider than its column is cut with `…`, never
//! silently. The tabs describe their columns and give the cells as text;
//! the widths come from the same layout ratatui's `Table` uses.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Row, Table};

use super::cut::{cut, width};

/// Columns between two cells, as every tab's table has.
pub const SPACING: u16 = 1;

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// The header, shown whole or not at all.
    pub title: &'static str,
    pub width: Constraint,
    /// Which columns stay when the terminal is too narrow for all of them
    /// with whole headers: the lowest rank goes first.
    pub rank: u8,
    pub right: bool,
}

impl Col {
    pub const fn new(title: &'static str, width: Constraint, rank: u8) -> Col {
        Col {
            title,
            width,
            rank,
            right: false,
        }
    }

    /// Numbers read best right-aligned.
    pub const fn right(mut self) -> Col {
        self.right = true;
        self
    }
}

/// One cell: its text, and a style of its own if it has one.
#[derive(Debug, Clone, Default)]
pub struct Text {
    pub text: String,
    pub style: Option<Style>,
}

impl Text {
    pub fn styled(text: impl Into<String>, style: Style) -> Text {
        Text {
            text: text.into(),
            style: Some(style),
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text { text, style: None }
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::from(text.to_string())
    }
}

/// A table's rows: each its cells and the row's own style.
pub type Rows = Vec<(Vec<Text>, Option<Style>)>;

/// The columns shown in `width` columns (indexes into `cols`) and their
/// widths.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub shown: Vec<usize>,
    pub widths: Vec<u16>,
}

fn layout(cols: &[&Col], width: u16) -> Vec<u16> {
    Layout::horizontal(cols.iter().map(|c| c.width))
        .flex(Flex::Start)
        .spacing(SPACING)
        .split(Rect::new(0, 0, width, 1))
        .iter()
        .map(|r| r.width)
        .collect()
}

/// Drop the lowest-ranked columns until every header shown fits whole.
pub fn fit(cols: &[Col], width: u16) -> Fitted {
    let mut shown: Vec<usize> = (0..cols.len()).collect();
    loop {
        let picked: Vec<&Col> = shown.iter().map(|&i| &cols[i]).collect();
        let widths = layout(&picked, width);
        let cramped = picked
            .iter()
            .zip(&widths)
            .any(|(c, &w)| width_of(c.title) > w as usize);
        if !cramped || shown.len() <= 1 {
            return Fitted { shown, widths };
        }
        // The lowest rank goes; among equals, the rightmost.
        let (drop, _) = shown
            .iter()
            .enumerate()
            .min_by_key(|&(at, &i)| (cols[i].rank, std::cmp::Reverse(at)))
            .expect("at least two columns");
        shown.remove(drop);
    }
}

fn width_of(text: &str) -> usize {
    width(text)
}

/// A table of `cols` over `rows` (each row its cells, in `cols`' order, and
/// the row's style) for an area `width` columns wide: headers whole, cells
/// cut with `…`.
pub fn table(cols: &[Col], rows: Rows, width: u16, header: Style) -> Table<'static> {
    let fitted = fit(cols, width);
    let cell = |col: &Col, w: u16, text: &str, style: Option<Style>| {
        let shown = cut(text, w as usize).into_owned();
        let line = if col.right {
            Line::from(shown).right_aligned()
        } else {
            Line::from(shown)
        };
        match style {
            Some(s) => Cell::from(line).style(s),
            None => Cell::from(line),
        }
    };
    let head = Row::new(
        fitted
            .shown
            .iter()
            .zip(&fitted.widths)
            .map(|(&i, &w)| cell(&cols[i], w, cols[i].title, None)),
    )
    .style(header);
    let body: Vec<Row> = rows
        .into_iter()
        .map(|(mut cells, style)| {
            let row = Row::new(fitted.shown.iter().zip(&fitted.widths).map(|(&i, &w)| {
                let text = cells.get_mut(i).map(std::mem::take).unwrap_or_default();
                cell(&cols[i], w, &text.text, text.style)
            }));
            match style {
                Some(s) => row.style(s),
                None => row,
            }
        })
        .collect();
    let widths: Vec<Constraint> = fitted.shown.iter().map(|&i| cols[i].width).collect();
    Table::new(body, widths)
        .header(head)
        .column_spacing(SPACING)
        .flex(Flex::Start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Col> {
        vec![
            Col::new("Id", Constraint::Length(8), 9).right(),
            Col::new("Entrypoint", Constraint::Fill(2), 8),
            Col::new("Status", Constraint::Length(6), 7),
            Col::new("Key", Constraint::Fill(1), 2),
            Col::new("Worker", Constraint::Length(8), 3),
            Col::new("Payload", Constraint::Fill(2), 1),
        ]
    }

    #[test]
    fn wide_enough_shows_every_column() {
        let f = fit(&cols(), 120);
        assert_eq!(f.shown, [0, 1, 2, 3, 4, 5]);
        assert_eq!(f.widths.iter().sum::<u16>() + 5, 120);
    }

    #[test]
    fn narrow_drops_the_lowest_rank_rather_than_cut_a_header() {
        for width in 20..=120 {
            let f = fit(&cols(), width);
            for (&i, &w) in f.shown.iter().zip(&f.widths) {
                assert!(
                    cols()[i].title.len() <= w as usize,
                    "{width}: {} in {w}",
                    cols()[i].title
                );
            }
            // Id and Entrypoint are the last to go.
            if width >= 30 {
                assert!(f.shown.starts_with(&[0, 1]), "{width}: {:?}", f.shown);
            }
        }
        assert_eq!(fit(&cols(), 40).shown, [0, 1, 2, 4]);
    }
}
