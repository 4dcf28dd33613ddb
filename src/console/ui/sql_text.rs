//! SQL as a dialog shows it: the statements come from `sql/*.sql` files and
//! Rust string literals whose lines carry the indentation of the code they
//! sat in, so they are dedented first; a line wider than the dialog wraps at
//! a space, its continuation indented under it, so a long `WHERE` never
//! starts again at the left edge looking like a clause of its own.

use unicode_width::UnicodeWidthStr;

/// What continuation rows add to their line's indentation.
const HANGING: usize = 4;

/// `statement`'s lines without the indentation they share. The first line
/// is often trimmed already (`"WITH x AS (\n        SELECT …"`), so the
/// shared indentation is that of the others; trailing blanks are dropped.
pub fn dedent(statement: &str) -> Vec<String> {
    let lines: Vec<&str> = statement.trim_end().lines().collect();
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let shared = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent(l))
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let l = l.trim_end();
            if i == 0 {
                l.trim_start().to_string()
            } else {
                l.get(shared.min(indent(l))..).unwrap_or(l).to_string()
            }
        })
        .collect()
}

/// `statement` as rows of at most `width` columns, each starting with
/// `margin` (the dialog's two spaces).
pub fn rows(statement: &str, margin: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in dedent(statement) {
        let body = line.trim_start_matches(' ');
        let indent = line.len() - body.len();
        let first = format!("{margin}{}", " ".repeat(indent));
        let rest = format!("{first}{}", " ".repeat(HANGING));
        wrap_into(&mut out, body, &first, &rest, width);
    }
    out
}

/// `text` after `first` on its first row and after `rest` on the others,
/// broken at spaces (inside a word only when the word alone is too wide).
fn wrap_into(out: &mut Vec<String>, text: &str, first: &str, rest: &str, width: usize) {
    let mut row = first.to_string();
    let mut empty = true;
    for word in text.split(' ') {
        let sep = if empty { "" } else { " " };
        if row.width() + sep.len() + word.width() <= width {
            row.push_str(sep);
            row.push_str(word);
            empty = false;
            continue;
        }
        if !empty {
            out.push(std::mem::replace(&mut row, rest.to_string()));
        }
        // A word wider than a whole row is cut across rows.
        let mut word = word;
        while row.width() + word.width() > width {
            let room = width.saturating_sub(row.width()).max(1);
            let (head, tail) = split_at_width(word, room);
            if head.is_empty() {
                break;
            }
            row.push_str(head);
            out.push(std::mem::replace(&mut row, rest.to_string()));
            word = tail;
        }
        row.push_str(word);
        empty = word.is_empty();
    }
    out.push(row);
}

/// The longest prefix of `word` at most `columns` wide, and the rest.
fn split_at_width(word: &str, columns: usize) -> (&str, &str) {
    let mut used = 0;
    for (at, c) in word.char_indices() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > columns {
            return word.split_at(at);
        }
        used += w;
    }
    (word, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_indentation_goes_the_first_line_aside() {
        let sql = "WITH selected AS (\n            SELECT id FROM q\n             WHERE x\n        )\n        SELECT id FROM selected\n";
        assert_eq!(
            dedent(sql),
            [
                "WITH selected AS (",
                "    SELECT id FROM q",
                "     WHERE x",
                ")",
                "SELECT id FROM selected"
            ]
        );
        assert_eq!(dedent("  BEGIN;"), ["BEGIN;"]);
    }

    #[test]
    fn long_lines_wrap_at_spaces_under_their_indentation() {
        let sql = "UPDATE q\n           SET status = 'queued', execute_after = now(), updated = now(), attempts = 0\n         WHERE id = 1";
        let rows = rows(sql, "  ", 40);
        assert_eq!(
            rows,
            [
                "  UPDATE q",
                "    SET status = 'queued', execute_after",
                "        = now(), updated = now(),",
                "        attempts = 0",
                "  WHERE id = 1",
            ]
        );
        assert!(rows.iter().all(|r| r.width() <= 40));
    }

    #[test]
    fn a_word_wider_than_the_row_is_split_not_lost() {
        let rows = rows(&"x".repeat(25), "  ", 12);
        assert!(rows.iter().all(|r| r.width() <= 12), "{rows:?}");
        let joined: String = rows.iter().map(|r| r.trim()).collect();
        assert_eq!(joined, "x".repeat(25));
    }
}
