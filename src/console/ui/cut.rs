//! Cutting text to a number of terminal columns. A cut always shows: the
//! text ends in `…`, so a reader never takes a shortened word (or a cron
//! expression, or a number) for the whole of it. Widths are display
//! columns (a CJK character or an emoji takes two), not bytes or chars.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// The display width of `text`.
pub fn width(text: &str) -> usize {
    text.width()
}

/// `text` if it fits `columns`, else its longest prefix that leaves room
/// for `…`, followed by `…` (output's cut, which the CLI uses too).
pub use crate::output::fit_width as cut;
use crate::output::shortened;

/// A line of styled parts in `columns`: whole if it fits, else cut where
/// it crosses the edge, ending in `…` (the styles kept).
pub fn line(spans: Vec<Span<'_>>, columns: u16) -> Line<'_> {
    let mut room = columns as usize;
    let mut out = Vec::with_capacity(spans.len());
    let total: usize = spans.iter().map(|s| width(&s.content)).sum();
    if total <= room {
        return Line::from(spans);
    }
    for span in spans {
        let w = width(&span.content);
        if w < room {
            room -= w;
            out.push(span);
            continue;
        }
        // This part crosses the edge (or ends on it with more to come).
        out.push(Span::styled(shortened(&span.content, room), span.style));
        break;
    }
    Line::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_too_long_ends_in_an_ellipsis_at_the_edge() {
        let parts = || vec![Span::raw(" 3 schedules"), Span::raw("  times UTC (local)")];
        let shown = |l: Line| {
            l.spans
                .iter()
                .map(|s| s.content.to_string())
                .collect::<String>()
        };
        assert_eq!(shown(line(parts(), 40)), " 3 schedules  times UTC (local)");
        assert_eq!(shown(line(parts(), 20)), " 3 schedules  times…");
        assert_eq!(width(&shown(line(parts(), 20))), 20);
        // Cut right after a part: the ellipsis still shows.
        assert_eq!(shown(line(parts(), 12)), " 3 schedule…");
        assert_eq!(shown(line(parts(), 13)), " 3 schedules…");
    }

    #[test]
    fn fitting_text_is_untouched() {
        assert_eq!(cut("send_email", 10), "send_email");
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn cut_text_ends_in_an_ellipsis_within_the_width() {
        assert_eq!(cut("resize_image", 10), "resize_im…");
        assert_eq!(cut("resize_image", 1), "…");
        assert_eq!(cut("resize_image", 0), "");
        for n in 0..14 {
            assert!(width(&cut("resize_image", n)) <= n);
        }
    }

    #[test]
    fn wide_characters_count_two_columns() {
        // "日本語" is six columns: five leave room for two characters and "…".
        assert_eq!(cut("日本語", 5), "日本…");
        assert_eq!(cut("日本語", 4), "日…");
        assert_eq!(width(&cut("🚀🚀🚀", 4)), 3);
    }
}
