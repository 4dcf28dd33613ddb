//! The worker's event log: one line per event on stderr, as text or JSON.
//!
//! Levels and their names follow Python's `logging` (which `pgq run
//! --log-level` configures in PGQueuer), so operators can keep their flags.
//! The logger is process-global and configured once by `pgq run`; a library
//! user who never configures it gets INFO and text. Filtering is one atomic
//! load, so DEBUG lines for every job cost nothing at INFO.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use chrono::{Local, SecondsFormat};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 10,
    Info = 20,
    Warning = 30,
    Error = 40,
    Critical = 50,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// Python's level names, case-insensitive, including the aliases
    /// `FATAL`, `WARN` and `NOTSET` (which logs everything).
    pub fn parse(text: &str) -> Result<Level, String> {
        match text.trim().to_ascii_uppercase().as_str() {
            "DEBUG" | "NOTSET" => Ok(Level::Debug),
            "INFO" => Ok(Level::Info),
            "WARNING" | "WARN" => Ok(Level::Warning),
            "ERROR" => Ok(Level::Error),
            "CRITICAL" | "FATAL" => Ok(Level::Critical),
            _ => Err(format!(
                "{text:?} is not a log level (DEBUG, INFO, WARNING, ERROR, CRITICAL)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `<local ISO-8601 time> [pgq] LEVEL: message key=value …`
    Text,
    /// One JSON object per line: ts, level, logger, message and the fields
    Json,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);
/// Where lines go instead of stderr while a console owns the screen.
static SINK: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<String>>> =
    std::sync::Mutex::new(None);

/// Send event lines to `sink` (a console's Worker tab) instead of stderr;
/// `None` restores stderr.
pub fn redirect(sink: Option<tokio::sync::mpsc::UnboundedSender<String>>) {
    if let Ok(mut guard) = SINK.lock() {
        *guard = sink;
    }
}
static JSON: AtomicBool = AtomicBool::new(false);

/// Set the minimum level and the line format for the whole process.
pub fn configure(level: Level, format: Format) {
    LEVEL.store(level as u8, Ordering::Relaxed);
    JSON.store(format == Format::Json, Ordering::Relaxed);
}

pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// A field value for [`emit`]: anything JSON can hold.
pub type Field<'a> = (&'a str, Value);

/// Write one event line to stderr if `level` is enabled.
pub fn emit(level: Level, message: &str, fields: &[Field<'_>]) {
    emit_counted(level, message, fields);
}

/// [`emit`], returning the bytes the line took (0 when filtered out), so a
/// caller can hold a producer to a log budget.
pub(crate) fn emit_counted(level: Level, message: &str, fields: &[Field<'_>]) -> usize {
    if !enabled(level) {
        return 0;
    }
    let now = Local::now().to_rfc3339_opts(SecondsFormat::Millis, false);
    let line = if JSON.load(Ordering::Relaxed) {
        let mut object = Map::new();
        object.insert("ts".into(), Value::String(now));
        object.insert("level".into(), Value::String(level.as_str().into()));
        object.insert("logger".into(), Value::String("pgq".into()));
        object.insert("message".into(), Value::String(message.into()));
        for (key, value) in fields {
            object.insert((*key).to_string(), value.clone());
        }
        Value::Object(object).to_string()
    } else {
        let mut line = format!("{now} [pgq] {}: {message}", level.as_str());
        for (key, value) in fields {
            match value {
                Value::String(s) if !s.contains(char::is_whitespace) && !s.is_empty() => {
                    line.push_str(&format!(" {key}={s}"))
                }
                other => line.push_str(&format!(" {key}={other}")),
            }
        }
        line
    };
    let size = line.len() + 1;
    if let Ok(guard) = SINK.lock()
        && let Some(sink) = guard.as_ref()
    {
        let _ = sink.send(line);
        return size;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
    size
}

pub fn debug(message: &str, fields: &[Field<'_>]) {
    emit(Level::Debug, message, fields)
}
pub fn info(message: &str, fields: &[Field<'_>]) {
    emit(Level::Info, message, fields)
}
pub fn warning(message: &str, fields: &[Field<'_>]) {
    emit(Level::Warning, message, fields)
}
pub fn error(message: &str, fields: &[Field<'_>]) {
    emit(Level::Error, message, fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_level_names() {
        assert_eq!(Level::parse("debug"), Ok(Level::Debug));
        assert_eq!(Level::parse("Warn"), Ok(Level::Warning));
        assert_eq!(Level::parse("FATAL"), Ok(Level::Critical));
        assert_eq!(Level::parse("notset"), Ok(Level::Debug));
        assert!(Level::parse("verbose").is_err());
    }
}
