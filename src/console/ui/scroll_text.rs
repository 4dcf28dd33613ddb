//! A long text (a 10 MB payload, a traceback) shown a window at a time.
//!
//! The text is cut into screen rows once per width: only where each row
//! starts is kept, so a frame escapes and draws just the rows on screen, and
//! a scroll offset (a `usize`, not ratatui's `u16` scroll) reaches the last
//! row however long the text is. Rows are measured as they are shown: an
//! escaped control character takes the columns of its escape.

use crate::output::{escape_line, shown_width};

/// Where each screen row of one text starts, for one width.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    width: usize,
    starts: Starts,
}

/// Row starts as 4-byte offsets (a 10 MB payload has a million rows), or
/// as `usize` for a text past 4 GiB.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Starts {
    Narrow(Vec<u32>),
    Wide(Vec<usize>),
}

impl Default for Starts {
    fn default() -> Starts {
        Starts::Narrow(Vec::new())
    }
}

impl Starts {
    fn for_text(len: usize) -> Starts {
        if u32::try_from(len).is_ok() {
            Starts::Narrow(Vec::new())
        } else {
            Starts::Wide(Vec::new())
        }
    }

    fn push(&mut self, at: usize) {
        match self {
            // `for_text` chose this for a text whose offsets fit.
            Starts::Narrow(v) => v.push(at as u32),
            Starts::Wide(v) => v.push(at),
        }
    }

    fn get(&self, i: usize) -> Option<usize> {
        match self {
            Starts::Narrow(v) => v.get(i).map(|&at| at as usize),
            Starts::Wide(v) => v.get(i).copied(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Starts::Narrow(v) => v.len(),
            Starts::Wide(v) => v.len(),
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Starts::Narrow(v) => v.shrink_to_fit(),
            Starts::Wide(v) => v.shrink_to_fit(),
        }
    }

    fn capacity_bytes(&self) -> usize {
        match self {
            Starts::Narrow(v) => v.capacity() * size_of::<u32>(),
            Starts::Wide(v) => v.capacity() * size_of::<usize>(),
        }
    }
}

impl Rows {
    /// `text` cut at its line breaks and wherever a line is wider than
    /// `width` columns (at least one character per row).
    pub fn of(text: &str, width: usize) -> Rows {
        let width = width.max(1);
        let mut starts = Starts::for_text(text.len());
        let mut column = 0;
        let mut in_row = false;
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if !in_row {
                starts.push(at);
                in_row = true;
                column = 0;
            }
            if c == '\n' {
                in_row = false;
                continue;
            }
            // A CRLF line break is shown as a line break.
            if c == '\r' && chars.peek().is_some_and(|&(_, next)| next == '\n') {
                continue;
            }
            let w = shown_width(c, false);
            if column + w > width && column > 0 {
                starts.push(at);
                column = 0;
            }
            column += w;
        }
        // Grown by doubling: up to half of it would be spare for as long
        // as the detail is open.
        starts.shrink_to_fit();
        Rows { width, starts }
    }

    /// Bytes it holds on the heap.
    pub fn capacity_bytes(&self) -> usize {
        self.starts.capacity_bytes()
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.len() == 0
    }

    /// Row `i` of `text` (the text these rows were made of), escaped for
    /// the screen, without its line break.
    pub fn row(&self, text: &str, i: usize) -> String {
        let Some(start) = self.starts.get(i) else {
            return String::new();
        };
        let end = self.starts.get(i + 1).unwrap_or(text.len());
        let row = &text[start..end];
        let row = row.strip_suffix('\n').unwrap_or(row);
        let row = row.strip_suffix('\r').unwrap_or(row);
        escape_line(row).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::Rows;

    fn all(text: &str, width: usize) -> Vec<String> {
        let rows = Rows::of(text, width);
        (0..rows.len()).map(|i| rows.row(text, i)).collect()
    }

    #[test]
    fn lines_and_long_lines_become_rows() {
        assert_eq!(all("ab\n\ncdefg", 3), ["ab", "", "cde", "fg"]);
        assert_eq!(all("a\r\nb\n", 3), ["a", "b"]);
        assert!(Rows::of("", 3).is_empty());
    }

    #[test]
    fn rows_are_measured_as_shown() {
        // An emoji takes two columns; an escape takes its own length.
        assert_eq!(all("🚀🚀🚀", 4), ["🚀🚀", "🚀"]);
        assert_eq!(all("a\u{1b}[2J", 5), ["a\\x1b", "[2J"]);
        assert_eq!(all("\u{202e}abc", 7), ["\\u202ea", "bc"]);
    }
}
