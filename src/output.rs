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

/// "1 statement" / "3 statements".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
