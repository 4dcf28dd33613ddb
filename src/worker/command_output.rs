//! A command's stdout and stderr, forwarded to the worker log with bounded
//! memory and a bounded share of the log.
//!
//! A command may write anything: bytes that are not UTF-8, a line of hundreds
//! of megabytes without a newline, gigabytes of chatter. Whatever comes, the
//! reader keeps draining the pipe until EOF — a reader that stopped would
//! block the command on a full pipe or kill it with SIGPIPE — while it holds
//! at most `max_line_bytes` of a line and writes at most `max_log_bytes` of
//! log lines per run. What it drops it counts, and the run reports the counts
//! in one warning.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::log;
use super::manifest::OutputLimits;

/// Bytes asked of the pipe per read: a few pipe buffers, so a fast writer
/// costs few wake-ups.
const READ_CHUNK: usize = 64 * 1024;

/// The log bytes one run may still write, shared by its stdout and stderr.
pub(crate) struct LogBudget(AtomicU64);

impl LogBudget {
    pub(crate) fn new(bytes: u64) -> Arc<LogBudget> {
        Arc::new(LogBudget(AtomicU64::new(bytes)))
    }

    fn left(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }

    /// Charge a written line; the line that crosses the limit is still
    /// written whole, so the log overshoots by at most one line per stream.
    fn charge(&self, bytes: usize) {
        let bytes = bytes as u64;
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left.saturating_sub(bytes))
            });
    }
}

/// What one stream's reader saw but did not log, and the tail it kept.
#[derive(Debug, Default)]
pub(crate) struct StreamReport {
    /// The last lines (as logged: capped, lossy), for a failure's traceback.
    pub tail: Vec<String>,
    /// Lines shortened to `max_line_bytes`, and the bytes cut from them.
    pub lines_shortened: u64,
    pub bytes_shortened: u64,
    /// Lines not logged at all because the run's log budget was spent, and
    /// their bytes (newlines included).
    pub lines_unlogged: u64,
    pub bytes_unlogged: u64,
}

impl StreamReport {
    fn add(&mut self, other: &StreamReport) {
        self.lines_shortened += other.lines_shortened;
        self.bytes_shortened += other.bytes_shortened;
        self.lines_unlogged += other.lines_unlogged;
        self.bytes_unlogged += other.bytes_unlogged;
    }
}

/// Log each line of `stream` (stream name and `fields` attached) within
/// `limits` and `budget`; keep the last `keep` lines.
pub(crate) async fn forward(
    stream: impl AsyncRead + Unpin,
    name: &'static str,
    mut fields: Vec<log::Field<'static>>,
    keep: usize,
    limits: OutputLimits,
    budget: Arc<LogBudget>,
) -> StreamReport {
    fields.push(("stream", Value::from(name)));
    let mut sink = LineSink {
        fields,
        keep,
        budget,
        tail: VecDeque::new(),
        report: StreamReport::default(),
    };
    let mut reader = BufReader::with_capacity(READ_CHUNK, stream);
    let mut line = CappedLine::new(limits.max_line_bytes);
    // Ends at EOF, or at a read error (a pipe that fails has nothing more).
    while let Ok(chunk) = reader.fill_buf().await {
        if chunk.is_empty() {
            break;
        }
        let (used, complete) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                line.push(&chunk[..i]);
                (i + 1, true)
            }
            None => {
                line.push(chunk);
                (chunk.len(), false)
            }
        };
        reader.consume(used);
        if complete {
            sink.line(&mut line, true);
        }
    }
    if line.started() {
        sink.line(&mut line, false);
    }
    sink.report.tail = sink.tail.into();
    sink.report
}

/// The start of the current line (at most `cap` bytes) and how many bytes of
/// it were dropped.
struct CappedLine {
    kept: Vec<u8>,
    cut: u64,
    cap: usize,
}

impl CappedLine {
    fn new(cap: usize) -> Self {
        CappedLine {
            kept: Vec::new(),
            cut: 0,
            cap,
        }
    }

    fn started(&self) -> bool {
        !self.kept.is_empty() || self.cut > 0
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.kept.len()).min(bytes.len());
        self.kept.extend_from_slice(&bytes[..room]);
        self.cut += (bytes.len() - room) as u64;
    }

    /// The line as text: invalid UTF-8 becomes U+FFFD, a character split by
    /// the cap is dropped whole, and a CRLF line loses its CR. Resets the
    /// line for reuse (its buffer stays allocated, at most `cap` bytes).
    fn take_text(&mut self) -> (String, u64) {
        let (end, cut) = if self.cut > 0 {
            let end = complete_utf8_prefix(&self.kept);
            (end, self.cut + (self.kept.len() - end) as u64)
        } else if self.kept.last() == Some(&b'\r') {
            (self.kept.len() - 1, 0)
        } else {
            (self.kept.len(), 0)
        };
        let text = String::from_utf8_lossy(&self.kept[..end]).into_owned();
        self.kept.clear();
        self.cut = 0;
        (text, cut)
    }
}

/// The length of `bytes` without a UTF-8 sequence left incomplete at its end.
fn complete_utf8_prefix(bytes: &[u8]) -> usize {
    let n = bytes.len();
    for back in 1..=n.min(4) {
        let byte = bytes[n - back];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead
        }
        let width = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if width > back { n - back } else { n };
    }
    n
}

struct LineSink {
    fields: Vec<log::Field<'static>>,
    keep: usize,
    budget: Arc<LogBudget>,
    tail: VecDeque<String>,
    report: StreamReport,
}

impl LineSink {
    fn line(&mut self, line: &mut CappedLine, newline: bool) {
        let seen = (line.kept.len() as u64) + line.cut + u64::from(newline);
        let (text, cut) = line.take_text();
        if self.budget.left() {
            let written = if cut > 0 {
                self.report.lines_shortened += 1;
                self.report.bytes_shortened += cut;
                let mut fields = self.fields.clone();
                fields.push(("cut_bytes", Value::from(cut)));
                log::emit_counted(log::Level::Info, &text, &fields)
            } else {
                log::emit_counted(log::Level::Info, &text, &self.fields)
            };
            self.budget.charge(written);
        } else {
            self.report.lines_unlogged += 1;
            self.report.bytes_unlogged += seen;
        }
        // The traceback tail is kept past the budget too: a failing command's
        // last words are what its traceback needs.
        if self.keep > 0 {
            if self.tail.len() == self.keep {
                self.tail.pop_front();
            }
            self.tail.push_back(text);
        }
    }
}

/// Say in one warning what the run's output lost, if anything.
pub(crate) fn report_cuts(
    reports: &[&StreamReport],
    limits: OutputLimits,
    fields: &[log::Field<'static>],
) {
    let mut total = StreamReport::default();
    for r in reports {
        total.add(r);
    }
    let mut parts = Vec::new();
    if total.lines_shortened > 0 {
        parts.push(format!(
            "{} line(s) longer than max_line_bytes = {} lost {} byte(s)",
            total.lines_shortened, limits.max_line_bytes, total.bytes_shortened
        ));
    }
    if total.lines_unlogged > 0 {
        parts.push(format!(
            "{} line(s) ({} byte(s)) were not logged after max_log_bytes = {}",
            total.lines_unlogged, total.bytes_unlogged, limits.max_log_bytes
        ));
    }
    if parts.is_empty() {
        return;
    }
    let mut fields = fields.to_vec();
    fields.push((
        "cut_bytes",
        Value::from(total.bytes_shortened + total.bytes_unlogged),
    ));
    log::warning(
        &format!("command output cut: {}", parts.join("; ")),
        &fields,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(cap: usize, pieces: &[&[u8]]) -> (String, u64) {
        let mut line = CappedLine::new(cap);
        for p in pieces {
            line.push(p);
        }
        line.take_text()
    }

    #[test]
    fn lines_are_capped_lossy_and_count_what_was_cut() {
        assert_eq!(
            text_of(16, &[b"ok \xff\xfe end"]),
            ("ok \u{fffd}\u{fffd} end".into(), 0)
        );
        assert_eq!(text_of(16, &[b"crlf\r"]), ("crlf".into(), 0));
        assert_eq!(text_of(4, &[b"abcdef", b"gh"]), ("abcd".into(), 4));
        // "é" is two bytes; the cap falls between them, so both go.
        assert_eq!(text_of(4, &["abcé".as_bytes(), b"z"]), ("abc".into(), 3));
        assert_eq!(text_of(4, &["ab€".as_bytes()]), ("ab".into(), 3));
    }

    #[test]
    fn a_complete_character_at_the_cap_is_kept() {
        assert_eq!(complete_utf8_prefix("ab€".as_bytes()), 5);
        assert_eq!(complete_utf8_prefix(&"ab€".as_bytes()[..4]), 2);
        assert_eq!(complete_utf8_prefix(b"abc"), 3);
        assert_eq!(complete_utf8_prefix(b""), 0);
    }
}
