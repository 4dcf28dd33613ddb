//! The worker's event log: one line per event on stderr, as text or JSON.
//!
//! Levels and their names follow Python's `logging` (which `pgq run
//! --log-level` configures in PGQueuer), so operators can keep their flags.
//! Events are `tracing` events with the target [`TARGET`]; [`layer`] is the
//! tracing-subscriber layer that writes them in PGQueuer's line shape or as
//! JSON, so the worker shares the process's one logging system (`main`
//! installs the layer beside the `PGQ_LOG` formatter, which skips these
//! events). A library user who installs no subscriber gets the layer on the
//! first event: INFO and text, as before. The level is an atomic checked
//! before anything is built, so DEBUG lines for every job cost nothing at
//! INFO.

use std::fmt;
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

/// The `tracing` target of the worker's events.
pub const TARGET: &str = "pgq::worker";

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
    install_if_alone();
    let fields = Fields(
        fields
            .iter()
            .map(|(key, value)| ((*key).to_string(), value.clone()))
            .collect(),
    );
    // tracing's field values are a closed set; the JSON values travel as one
    // `Fields` value, which the layer gets back by downcasting.
    let fields = &fields as &(dyn std::error::Error + 'static);
    let python_level = level.as_str();
    WRITTEN.set(0);
    match level {
        Level::Debug => tracing::debug!(target: TARGET, python_level, fields, "{message}"),
        Level::Info => tracing::info!(target: TARGET, python_level, fields, "{message}"),
        Level::Warning => tracing::warn!(target: TARGET, python_level, fields, "{message}"),
        Level::Error | Level::Critical => {
            tracing::error!(target: TARGET, python_level, fields, "{message}")
        }
    }
    WRITTEN.get()
}

thread_local! {
    /// Bytes the layer wrote for the event this thread just emitted
    /// (events are delivered on the emitting thread).
    static WRITTEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A library user who set up no `tracing` subscriber still gets the lines.
fn install_if_alone() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !tracing::dispatcher::has_been_set() {
            use tracing_subscriber::layer::SubscriberExt;
            let subscriber = tracing_subscriber::registry().with(layer());
            let _ = tracing::subscriber::set_global_default(subscriber);
        }
    });
}

/// An event's fields, in the caller's order.
#[derive(Debug)]
struct Fields(Vec<(String, Value)>);

/// How other subscribers (say a library user's own formatter) show them.
impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_text_fields(f, &self.0)
    }
}

impl std::error::Error for Fields {}

/// ` key=value …`: strings bare unless empty or spaced, anything else as JSON.
fn write_text_fields(out: &mut impl fmt::Write, fields: &[(String, Value)]) -> fmt::Result {
    for (key, value) in fields {
        match value {
            Value::String(s) if !s.contains(char::is_whitespace) && !s.is_empty() => {
                write!(out, " {key}={s}")?
            }
            other => write!(out, " {key}={other}")?,
        }
    }
    Ok(())
}

/// The layer that writes the worker's events (target [`TARGET`]) in
/// PGQueuer's line shape or as JSON, to stderr or the console's sink.
pub fn layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer;
    WorkerLines.with_filter(tracing_subscriber::filter::filter_fn(|meta| {
        meta.target() == TARGET
    }))
}

struct WorkerLines;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for WorkerLines {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut parts = Parts::default();
        event.record(&mut parts);
        let line = render(&parts);
        WRITTEN.set(line.len() + 1);
        if let Ok(guard) = SINK.lock()
            && let Some(sink) = guard.as_ref()
        {
            let _ = sink.send(line);
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
    }
}

/// What the layer reads back from one event.
#[derive(Default)]
struct Parts {
    level: &'static str,
    message: String,
    fields: Vec<(String, Value)>,
}

impl tracing::field::Visit for Parts {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "python_level" => {
                self.level = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
                    .into_iter()
                    .find(|name| *name == value)
                    .unwrap_or("INFO")
            }
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }

    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        if field.name() == "fields"
            && let Some(fields) = value.downcast_ref::<Fields>()
        {
            self.fields = fields.0.clone();
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

/// `<local ISO-8601 time> [pgq] LEVEL: message key=value …`, or one JSON
/// object with ts, level, logger, message and the fields.
fn render(parts: &Parts) -> String {
    let now = Local::now().to_rfc3339_opts(SecondsFormat::Millis, false);
    if JSON.load(Ordering::Relaxed) {
        let mut object = Map::new();
        object.insert("ts".into(), Value::String(now));
        object.insert("level".into(), Value::String(parts.level.into()));
        object.insert("logger".into(), Value::String("pgq".into()));
        object.insert("message".into(), Value::String(parts.message.clone()));
        for (key, value) in &parts.fields {
            object.insert(key.clone(), value.clone());
        }
        Value::Object(object).to_string()
    } else {
        let mut line = format!("{now} [pgq] {}: {}", parts.level, parts.message);
        let _ = write_text_fields(&mut line, &parts.fields);
        // A command's output is relayed here as it came: its escape
        // sequences must not reach the operator's terminal, nor a newline
        // forge a log line.
        crate::output::escape_line(&line).into_owned()
    }
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
