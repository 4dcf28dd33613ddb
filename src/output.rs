//! How scripted commands speak: results on stdout, diagnostics on stderr, and
//! one exit code per outcome.

use std::io::Write;
use std::process::ExitCode;

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

/// Write `text` to stdout as is. A closed pipe (`pgq sql install | head`) is
/// not an error worth a message.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Whether diagnostics on stderr may use colour: only on a terminal (never
/// into a file or pipe), and not when `NO_COLOR` is set to a non-empty value
/// (<https://no-color.org>).
pub fn stderr_colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One diagnostic line on stderr.
pub fn status(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
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

/// A count that reads naturally: "1 statement", "3 statements",
/// "1 retry", "2 retries", "0 jobs". The last word of `word` (singular) is
/// made plural by the regular English rules, which is all pgq's nouns need.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {}", plural_of(word))
    }
}

fn plural_of(word: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    let mut chars = word.chars().rev();
    match (chars.next(), chars.next()) {
        (Some('y'), Some(c)) if !vowel(c) => format!("{}ies", &word[..word.len() - 1]),
        (Some('s' | 'x'), _) => format!("{word}es"),
        (Some('h'), Some('c' | 's')) => format!("{word}es"),
        _ => format!("{word}s"),
    }
}

/// An aligned text table in PGQueuer's default ("pretty") look.
pub fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::ASCII_FULL_CONDENSED)
        .set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row);
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

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn counts_read_naturally() {
        assert_eq!(plural(1, "schedule"), "1 schedule");
        assert_eq!(plural(0, "schedule"), "0 schedules");
        assert_eq!(plural(3, "held job"), "3 held jobs");
        assert_eq!(plural(2, "retry"), "2 retries");
        assert_eq!(plural(2, "day"), "2 days");
        assert_eq!(plural(2, "match"), "2 matches");
        assert_eq!(plural(1, "byte"), "1 byte");
    }
}
