//! How scripted commands speak: results on stdout, diagnostics on stderr, and
//! one exit code per outcome; [`format`] words numbers, ages and sizes for
//! every surface (commands, the console, the action layer's sentences).

pub mod format;

pub use format::plural;

use std::borrow::Cow;
use std::io::Write;
use std::process::ExitCode;

use unicode_width::UnicodeWidthChar;

/// Exit statuses shared by every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failure = 1,
    Usage = 2,
    /// `verify`: the installation is newer than the schema pgq writes.
    Newer = 3,
    /// Stopped by SIGINT after finishing cleanly (128 + 2, as shells report it).
    Interrupted = 130,
    /// Stopped by SIGTERM after finishing cleanly (128 + 15).
    Terminated = 143,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Write human-readable `text` to stdout, every character that could act
/// on a terminal shown escaped ([`escape_block`]): job payloads, entrypoints
/// and tracebacks are written by whoever enqueues, and reach this way.
pub fn stdout(text: &str) {
    stdout_exact(&escape_block(text));
}

/// Write `text` to stdout byte for byte: JSON (which serde escapes itself),
/// SQL scripts and shell completions, all meant for programs. A closed pipe
/// (`pgq sql install | head`) is not an error worth a message.
pub fn stdout_exact(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A tab as shown: spaces, since a raw tab's width depends on the terminal
/// and would break the alignment of tables and the console's cells.
const TAB: &str = "    ";

/// `text` made safe to show on one line: control characters (newlines
/// included), DEL, C1 and bidirectional overrides escaped, tabs as spaces.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    escape(text, false)
}

/// `text` made safe to show as a block of lines: as [`escape_line`], but
/// newlines (and a `\r` before one) stay line breaks.
pub fn escape_block(text: &str) -> Cow<'_, str> {
    escape(text, true)
}

fn escape(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !text.chars().any(|c| needs_escape(c, keep_newlines)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if keep_newlines && c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        match escaped(c, keep_newlines) {
            Some(shown) => out.push_str(&shown),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char, keep_newlines: bool) -> bool {
    !(keep_newlines && c == '\n') && (c.is_control() || is_bidi_control(c))
}

/// How `c` is shown when it must not reach a terminal as itself: `\x1b`
/// for C0 and DEL, `\u009b` for C1 and bidi controls (the `\uXXXX` form is
/// also valid JSON, so an escaped JSON string still means the same text).
/// `None` when `c` is shown as itself.
pub fn escaped(c: char, keep_newlines: bool) -> Option<Cow<'static, str>> {
    if !needs_escape(c, keep_newlines) {
        return None;
    }
    Some(match c {
        '\t' => Cow::Borrowed(TAB),
        '\n' => Cow::Borrowed("\\n"),
        '\r' => Cow::Borrowed("\\r"),
        c if (c as u32) <= 0x7f => Cow::Owned(format!("\\x{:02x}", c as u32)),
        c => Cow::Owned(format!("\\u{:04x}", c as u32)),
    })
}

/// Characters that reorder the text around them on a terminal that applies
/// the Unicode bidirectional algorithm, so text can look like something it
/// is not: embeddings and overrides (U+202A–202E), isolates (U+2066–2069)
/// and the invisible direction marks (U+200E, U+200F, U+061C).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

/// Columns `c` takes on a terminal once escaped (a tab as its spaces).
pub fn shown_width(c: char, keep_newlines: bool) -> usize {
    match escaped(c, keep_newlines) {
        Some(shown) => shown.len(),
        None => c.width().unwrap_or(0),
    }
}

/// `text` cut to at most `columns` terminal columns (an emoji takes two),
/// with `…` in the last column when anything was cut. The one cut every
/// output uses, the console's included (`console::ui::cut`).
pub fn fit_width(text: &str, columns: usize) -> Cow<'_, str> {
    use unicode_width::UnicodeWidthStr;
    if text.width() <= columns {
        return Cow::Borrowed(text);
    }
    Cow::Owned(shortened(text, columns))
}

/// `text`'s longest prefix narrower than `columns`, and `…` (nothing at
/// all in zero columns): what shows when more follows that does not fit.
pub fn shortened(text: &str, columns: usize) -> String {
    if columns == 0 {
        return String::new();
    }
    let room = columns - 1;
    let mut used = 0;
    let mut out = String::with_capacity(columns + 2);
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Whether diagnostics on stderr may use colour: only on a terminal (never
/// into a file or pipe), and not when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>).
pub fn stderr_colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One diagnostic line on stderr. Errors quote values a user or a job
/// supplied, so the line is escaped as [`stdout`] text is.
pub fn status(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{}", escape_block(line));
}

pub fn note(line: &str) {
    status(&format!("note: {line}"));
}

pub fn warning(line: &str) {
    status(&format!("warning: {line}"));
}

pub fn error(line: &str) {
    status(&format!("error: {line}"));
}

/// An aligned text table in PGQueuer's default ("pretty") look. Each cell is
/// one line, escaped: a newline or escape sequence in a value cannot add
/// rows or move the columns (comfy-table pads by display width).
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::ASCII_FULL_CONDENSED)
        .set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row.iter().map(|cell| escape_line(cell).into_owned()));
    }
    format!("{table}\n")
}

/// Python's `str(datetime)`: `2026-11-27 18:31:42.433733+00:00`, microseconds
/// omitted when zero.
pub fn py_datetime<Tz: chrono::TimeZone>(dt: &chrono::DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    use chrono::Timelike;
    if dt.nanosecond() / 1000 == 0 {
        dt.format("%Y-%m-%d %H:%M:%S%:z").to_string()
    } else {
        dt.format("%Y-%m-%d %H:%M:%S%.6f%:z").to_string()
    }
}

/// Serialise a value as one compact JSON line.
pub fn json_line<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string(value) {
        Ok(text) => text + "\n",
        Err(e) => format!("{{\"error\":\"cannot serialise output: {e}\"}}\n"),
    }
}
