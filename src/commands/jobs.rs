//! `pgq queue` (single and --batch) and `pgq requeue`.

use std::io::{IsTerminal, Read};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::CommandContext;
use super::{CommandError, object_names, open_session};
use crate::actions::jobs::enqueue::{
    Analyzed, BulkCause, Conflict, EnqueueResult, EnqueueStatus, JobSpec, Requeued, analyze_queue,
    enqueue_bulk, repeated_keys,
};
use crate::actions::{self, Session, kinds};
use crate::cli::{OnConflict, QueueArgs};
use crate::output::{self, Exit, plural};
use crate::settings::duration::parse_duration;

/// Rows per INSERT statement in --batch mode: large enough to amortise round
/// trips, small enough to keep one statement's arrays a few MB.
const BATCH_CHUNK: usize = 1000;

fn conflict(arg: OnConflict) -> Conflict {
    match arg {
        OnConflict::Raise => Conflict::Raise,
        OnConflict::Skip => Conflict::Skip,
        OnConflict::UpdatePriority => Conflict::UpdatePriority,
    }
}

/// Python-repr style quoting of a key, as PGQueuer prints it.
fn py_repr(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn read_payload(arg: &str) -> Result<Vec<u8>, CommandError> {
    if arg == "-" {
        let mut buf = vec![];
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CommandError::Other(format!("reading the payload from stdin: {e}")))?;
        Ok(buf)
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read(path)
            .map_err(|e| CommandError::Other(format!("reading the payload from {path}: {e}")))
    } else {
        Ok(arg.as_bytes().to_vec())
    }
}

/// `--headers` (a JSON object) merged with `--header KEY=VALUE` pairs; JSON
/// null when there are none, exactly as Python stores "no headers".
fn build_headers(headers: Option<&str>, pairs: &[String]) -> Result<Value, CommandError> {
    let mut map = match headers {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(CommandError::Other(format!(
                    "--headers must be a JSON object, not {}",
                    json_kind(&other)
                )));
            }
            Err(e) => {
                return Err(CommandError::Other(format!(
                    "--headers is not valid JSON: {e}"
                )));
            }
        },
    };
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| CommandError::Other(format!("--header {pair:?}: expected KEY=VALUE")))?;
        if key.is_empty() {
            return Err(CommandError::Other(format!("--header {pair:?}: empty key")));
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.into()));
        map.insert(key.to_string(), value);
    }
    Ok(if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(super) async fn queue(ctx: &CommandContext, args: &QueueArgs) -> Result<Exit, CommandError> {
    if let Some(source) = &args.batch {
        return batch(ctx, source, conflict(args.on_conflict), !args.no_analyze).await;
    }
    if args.no_analyze {
        return Err(CommandError::Usage(
            "--no-analyze applies only to --batch".into(),
        ));
    }
    let entrypoint = args.entrypoint.clone().unwrap_or_default();
    if entrypoint.is_empty() {
        return Err(CommandError::Other(
            "the entrypoint must not be empty".into(),
        ));
    }
    let job = JobSpec {
        entrypoint,
        payload: args.payload.as_deref().map(read_payload).transpose()?,
        priority: args.priority,
        execute_after: args.execute_after.unwrap_or_default(),
        dedupe_key: args.dedupe_key.clone(),
        headers: build_headers(args.headers.as_deref(), &args.header)?,
    };
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let action = kinds::Enqueue {
        jobs: vec![job.clone()],
        on_conflict: conflict(args.on_conflict),
    };
    let result = actions::run(&session, &action, false).await?;
    let key = job.dedupe_key.as_deref().unwrap_or_default();
    let status = result
        .statuses
        .first()
        .copied()
        .unwrap_or(EnqueueStatus::Skipped);
    if ctx.json {
        let (state, id) = match status {
            EnqueueStatus::Enqueued(id) => ("enqueued", Some(id)),
            EnqueueStatus::Updated(id) => ("updated", Some(id)),
            EnqueueStatus::Skipped => ("skipped", None),
        };
        let exit = if state == "skipped" && args.on_conflict == OnConflict::Raise {
            Exit::Failure
        } else {
            Exit::Ok
        };
        output::stdout_exact(&output::json_line(&serde_json::json!({
            "status": state, "id": id, "dedupe_key": job.dedupe_key,
        })));
        return Ok(exit);
    }
    match status {
        EnqueueStatus::Enqueued(id) => output::stdout(&format!("Enqueued job {id}.\n")),
        EnqueueStatus::Updated(id) => output::stdout(&format!(
            "Kept job {id} (duplicate dedupe_key {}); its priority is now at least {}.\n",
            py_repr(key),
            job.priority
        )),
        EnqueueStatus::Skipped if args.on_conflict == OnConflict::Skip => {
            output::stdout(&format!(
                "Skipped: duplicate dedupe_key {}.\n",
                py_repr(key)
            ));
        }
        EnqueueStatus::Skipped => {
            output::status(&format!("Error: duplicate dedupe_key {}.", py_repr(key)));
            return Ok(Exit::Failure);
        }
    }
    Ok(Exit::Ok)
}

/// One NDJSON line as a job. `payload`: a string is stored as its UTF-8 bytes,
/// other JSON values as their JSON text, null/absent as NULL.
fn parse_line(line: &str) -> Result<JobSpec, String> {
    // Most lines are well-formed: read them straight into the known fields.
    // Anything that does not fit (unknown or repeated key, null entrypoint,
    // bad value) is read again the general way, which words the error.
    // (Only for objects: a derived struct would also accept an array.)
    if line.trim_start().starts_with('{')
        && let Ok(fields) = serde_json::from_str::<LineFields>(line)
        && let Ok(job) = fields.job()
    {
        return Ok(job);
    }
    parse_line_value(line)
}

/// The keys of a line. In the fast read `None` is absent or JSON null.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LineFields {
    entrypoint: Option<Value>,
    payload: Option<Value>,
    priority: Option<Value>,
    execute_after: Option<Value>,
    dedupe_key: Option<Value>,
    headers: Option<Value>,
}

impl LineFields {
    fn job(self) -> Result<JobSpec, String> {
        let entrypoint = match self.entrypoint {
            Some(Value::String(s)) if !s.is_empty() => s,
            Some(_) => return Err("\"entrypoint\" must be a non-empty string".into()),
            None => return Err("missing \"entrypoint\"".into()),
        };
        let payload = match self.payload {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.into_bytes()),
            Some(other) => Some(other.to_string().into_bytes()),
        };
        let priority = match self.priority {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .ok_or("\"priority\" must be a 32-bit integer")?,
            Some(_) => return Err("\"priority\" must be an integer".into()),
        };
        let execute_after = match self.execute_after {
            None | Some(Value::Null) => Duration::ZERO,
            Some(Value::Number(n)) => {
                let secs = n.as_f64().unwrap_or(-1.0);
                if !(secs.is_finite() && secs >= 0.0) {
                    return Err("\"execute_after\" must be zero or more seconds".into());
                }
                crate::settings::duration::from_seconds(secs)
                    .map_err(|e| format!("\"execute_after\": {e}"))?
            }
            Some(Value::String(s)) => {
                parse_duration(&s).map_err(|e| format!("\"execute_after\": {e}"))?
            }
            Some(_) => {
                return Err("\"execute_after\" must be a duration like \"90s\" or seconds".into());
            }
        };
        let dedupe_key = match self.dedupe_key {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err("\"dedupe_key\" must be a string".into()),
        };
        let headers = match self.headers {
            None | Some(Value::Null) => Value::Null,
            Some(Value::Object(map)) => Value::Object(map),
            Some(other) => {
                return Err(format!(
                    "\"headers\" must be an object, not {}",
                    json_kind(&other)
                ));
            }
        };
        Ok(JobSpec {
            entrypoint,
            payload,
            priority,
            execute_after,
            dedupe_key,
            headers,
        })
    }
}

/// The general read: any JSON value, then the keys one by one; every error
/// message comes from here.
fn parse_line_value(line: &str) -> Result<JobSpec, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(mut obj) = value else {
        return Err(format!("expected a JSON object, got {}", json_kind(&value)));
    };
    // `Some(Value::Null)` for a key given as null: an error for the
    // entrypoint, "absent" for the others.
    let job = LineFields {
        entrypoint: obj.remove("entrypoint"),
        payload: obj.remove("payload"),
        priority: obj.remove("priority"),
        execute_after: obj.remove("execute_after"),
        dedupe_key: obj.remove("dedupe_key"),
        headers: obj.remove("headers"),
    }
    .job()?;
    if let Some(key) = obj.keys().next() {
        return Err(format!("unknown key {key:?}"));
    }
    Ok(job)
}

fn read_source(source: &str) -> Result<Vec<u8>, CommandError> {
    let mut bytes = vec![];
    let result = if source == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(source).and_then(|mut f| {
            // Sized up front: one allocation for a large file.
            let size = f.metadata().map_or(0, |m| m.len() as usize);
            bytes.reserve_exact(size + 1);
            f.read_to_end(&mut bytes).map(|_| ())
        })
    };
    result.map_err(|e| CommandError::Other(format!("reading {source}: {e}")))?;
    Ok(bytes)
}

/// The input as text. Invalid UTF-8 is a bad line like any other: reported
/// with its line and byte column (the first place on each line), and
/// nothing is enqueued.
fn batch_text(bytes: Vec<u8>, label: &str) -> Result<String, CommandError> {
    let bytes = match String::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(e) => e.into_bytes(),
    };
    let mut errors = vec![];
    let (mut line, mut line_start, mut offset) = (1, 0, 0);
    let mut reported = 0;
    for chunk in bytes.utf8_chunks() {
        for newline in newlines(chunk.valid().as_bytes()) {
            line += 1;
            line_start = offset + newline + 1;
        }
        offset += chunk.valid().len();
        let invalid = chunk.invalid();
        if !invalid.is_empty() && line != reported {
            let hex: Vec<String> = invalid.iter().map(|b| format!("0x{b:02X}")).collect();
            errors.push(format!(
                "{label}:{line}:{}: invalid UTF-8 ({} {})",
                offset - line_start + 1,
                if hex.len() == 1 { "byte" } else { "bytes" },
                hex.join(" ")
            ));
            reported = line;
        }
        offset += invalid.len();
    }
    Err(CommandError::Other(bad_lines(errors)))
}

/// Positions of the newlines in `bytes`.
fn newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter_map(|(i, &b)| (b == b'\n').then_some(i))
}

/// Bad-line messages (each "FILE:LINE: …") as one message: the first 10,
/// then how many more, then that nothing was written.
fn bad_lines(errors: Vec<String>) -> String {
    let shown = errors.len().min(10);
    let mut message = errors[..shown].join("\n");
    if errors.len() > shown {
        message.push_str(&format!(
            "\n… and {}",
            plural(errors.len() - shown, "more bad line")
        ));
    }
    message.push_str("\nNothing was enqueued.");
    message
}

/// Under `--on-conflict raise`, a dedupe key given twice in the input would
/// fail at insert time, after earlier chunks were committed: refused here,
/// before anything is written, naming both lines of each repeat.
fn check_repeated_keys(jobs: &[JobSpec], lines: &[usize], label: &str) -> Result<(), CommandError> {
    let repeats = repeated_keys(jobs);
    if repeats.is_empty() {
        return Ok(());
    }
    let errors = repeats
        .iter()
        .map(|r| {
            format!(
                "{label}:{}: duplicate dedupe_key {}, first on line {}",
                lines[r.at],
                py_repr(jobs[r.at].dedupe_key.as_deref().unwrap_or_default()),
                lines[r.first]
            )
        })
        .collect();
    let mut message = bad_lines(errors);
    message.push_str(
        " Use --on-conflict skip to keep the first line of each key, or update-priority to keep it at the highest priority of its lines.",
    );
    Err(CommandError::Other(message))
}

/// Parse every line before writing anything: a bad line anywhere means
/// nothing is enqueued, and every bad line (up to 10) is reported. Returns the
/// jobs and, for each, its line number. Large inputs are parsed on several
/// threads, each taking a run of whole lines (nothing else runs yet).
fn parse_batch(text: &str, source: &str) -> Result<(Vec<JobSpec>, Vec<usize>), CommandError> {
    let threads = if text.len() >= 1 << 20 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    };
    // Split after a newline, so each part holds whole lines.
    let mut parts = Vec::with_capacity(threads);
    let mut rest = text;
    for k in (1..=threads).rev() {
        let cut = match rest.len() / k {
            0 => rest.len(),
            at => rest.as_bytes()[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| at + i + 1),
        };
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    let parsed: Vec<ParsedPart> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| scope.spawn(move || parse_part(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("parser thread"))
            .collect()
    });
    let total = parsed.iter().map(|p| p.jobs.len()).sum();
    let mut jobs = Vec::with_capacity(total);
    let mut lines = Vec::with_capacity(total);
    let mut errors = vec![];
    let mut offset = 0;
    for part in parsed {
        jobs.extend(part.jobs);
        lines.extend(part.lines.iter().map(|l| l + offset));
        errors.extend(
            part.errors
                .into_iter()
                .map(|(l, e)| format!("{source}:{}: {e}", l + offset)),
        );
        offset += part.line_count;
    }
    if errors.is_empty() {
        return Ok((jobs, lines));
    }
    Err(CommandError::Other(bad_lines(errors)))
}

/// One part's jobs, their line numbers and bad lines, numbered from 1
/// within the part.
struct ParsedPart {
    jobs: Vec<JobSpec>,
    lines: Vec<usize>,
    errors: Vec<(usize, String)>,
    line_count: usize,
}

fn parse_part(part: &str) -> ParsedPart {
    let estimate = part.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut parsed = ParsedPart {
        jobs: Vec::with_capacity(estimate),
        lines: Vec::with_capacity(estimate),
        errors: vec![],
        line_count: 0,
    };
    for (index, line) in part.lines().enumerate() {
        parsed.line_count = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(job) => {
                parsed.jobs.push(job);
                parsed.lines.push(index + 1);
            }
            Err(e) => parsed.errors.push((index + 1, e)),
        }
    }
    parsed
}

/// Connections used by `--batch` (at most one per chunk): chunks are inserted
/// on all of them at once, each still one statement in its own transaction,
/// ids drawn and commits made in input order (see `enqueue_bulk`). This keeps
/// the server busy while one chunk commits and the next one's ids are drawn.
/// On the 2-core benchmark server two connections beat one by about 20% and
/// three by a few percent (more backends fight over the same index pages).
const BATCH_CONNECTIONS: usize = 2;

/// `PGQ_BATCH_CONNECTIONS` overrides [`BATCH_CONNECTIONS`] (1: one connection,
/// chunk after chunk), e.g. for a pooler with few server connections to spare.
fn batch_connections() -> usize {
    std::env::var("PGQ_BATCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(BATCH_CONNECTIONS)
}

/// New jobs a batch must add before pgq runs ANALYZE on the queue table.
/// Dequeues plan from the table's statistics; after a bulk load they still
/// describe the table before it, and the dequeue then sorts the whole table
/// (measured 150-700 jobs/s instead of ~8,800 until ANALYZE, with autovacuum
/// lagging). Autovacuum's own trigger (10 % of the table + 50 rows) comes
/// late on a busy server. Below this the plan rarely changes, and ANALYZE (a
/// sample of at most 30,000 rows) is not worth its time.
const ANALYZE_AFTER_JOBS: usize = 10_000;

async fn batch(
    ctx: &CommandContext,
    source: &str,
    on_conflict: Conflict,
    analyze: bool,
) -> Result<Exit, CommandError> {
    let label = if source == "-" { "<stdin>" } else { source };
    // Read and check the file while the first connection opens; a bad file
    // is reported (and nothing written) even if connecting fails too.
    let parse = {
        let (source, label) = (source.to_string(), label.to_string());
        tokio::task::spawn_blocking(move || {
            let text = batch_text(read_source(&source)?, &label)?;
            let (jobs, lines) = parse_batch(&text, &label)?;
            if on_conflict == Conflict::Raise {
                check_repeated_keys(&jobs, &lines, &label)?;
            }
            Ok::<_, CommandError>((jobs, lines))
        })
    };
    let first = async {
        let names = object_names(ctx)?;
        let session = open_session(ctx, names.clone()).await?;
        Ok::<_, CommandError>((names, session))
    };
    let (parsed, first) = tokio::join!(parse, first);
    let (jobs, lines) = parsed.expect("parse task")?;
    let (names, session) = first?;
    let chunks = jobs.len().div_ceil(BATCH_CHUNK);
    let wanted = batch_connections().min(chunks).max(1);
    // More connections are a speed-up only, so one that fails to open (e.g.
    // max_connections reached) is done without.
    let extra =
        futures_util::future::join_all((1..wanted).map(|_| open_session(ctx, names.clone()))).await;
    let sessions: Vec<Session> = std::iter::once(session)
        .chain(extra.into_iter().filter_map(Result::ok))
        .collect();
    let progress = indicatif::ProgressBar::new(jobs.len() as u64);
    if !std::io::stderr().is_terminal() {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let outcome = enqueue_bulk(&sessions, &jobs, BATCH_CHUNK, on_conflict, |written| {
        progress.set_position(written as u64)
    })
    .await?;
    let total = EnqueueResult {
        statuses: outcome.statuses,
    };
    let enqueued = total.count(|s| matches!(s, EnqueueStatus::Enqueued(_)));
    if let Some(failure) = outcome.failure {
        progress.abandon();
        let key = |at: usize| py_repr(jobs[at].dedupe_key.as_deref().unwrap_or_default());
        let (first, last) = (lines[failure.first], lines[failure.last]);
        let size = plural(failure.size, "job");
        let hint = "Use --on-conflict skip or update-priority to continue past duplicates.";
        let message = match failure.cause {
            BulkCause::Held(at) => format!(
                "{label}:{}: duplicate dedupe_key {} (a queued or picked job holds it); nothing was enqueued. {hint}",
                lines[at],
                key(at)
            ),
            BulkCause::Repeated(r) => format!(
                "{label}:{}: duplicate dedupe_key {}, first on line {}; nothing was enqueued. {hint}",
                lines[r.at],
                key(r.at),
                lines[r.first]
            ),
            // Chunks commit one by one (see BATCH_CONNECTIONS), so the ones
            // before a key taken meanwhile stay written: said plainly.
            BulkCause::Duplicate(at) => {
                let before = match failure.first {
                    0 => "nothing was enqueued".to_string(),
                    f => format!(
                        "{} (lines {}-{}) were written before the conflict and stay queued",
                        plural(enqueued, "job"),
                        lines[0],
                        lines[f - 1]
                    ),
                };
                format!(
                    "{label}:{}: duplicate dedupe_key {} (taken while this batch was being written); this chunk of {size} (lines {first}-{last}) was not written, nor anything after it; {before}. {hint}",
                    lines[at],
                    key(at)
                )
            }
            BulkCause::Error(e) => {
                let before = match failure.first {
                    0 => "nothing was enqueued".to_string(),
                    _ => format!("{} enqueued before it", plural(enqueued, "job")),
                };
                format!(
                    "{label}:{first}-{last}: {e}; this chunk of {size} was not written, nor anything after it ({before})."
                )
            }
        };
        output::error(&message);
        return Ok(Exit::Failure);
    }
    progress.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let skipped = total.count(|s| *s == EnqueueStatus::Skipped);
    let updated = total.count(|s| matches!(s, EnqueueStatus::Updated(_)));
    let analyzed = if analyze && enqueued >= ANALYZE_AFTER_JOBS {
        Some(analyze_queue(&sessions[0]).await)
    } else {
        None
    };
    if ctx.json {
        output::stdout_exact(&output::json_line(&serde_json::json!({
            "enqueued": enqueued, "skipped": skipped, "updated": updated,
            "seconds": elapsed, "analyzed": matches!(analyzed, Some(Ok(Analyzed::Done))),
        })));
    } else {
        output::status(&format!(
            "Enqueued {} ({skipped} skipped, {updated} updated) in {elapsed:.2}s ({:.0} jobs/s).",
            plural(enqueued, "job"),
            jobs.len() as f64 / elapsed.max(1e-9)
        ));
    }
    // The batch is written whatever happens here: ANALYZE is an aid, never
    // a reason to fail.
    let table = names.qualify(&names.queue_table);
    match analyzed {
        None => {}
        Some(Ok(Analyzed::Done)) => output::status(&format!(
            "Analyzed {table} so the next dequeues plan with the new rows (--no-analyze skips this)."
        )),
        Some(Ok(Analyzed::NotPermitted { role })) => output::note(&format!(
            "{table} was not analyzed: role {} may not (only its owner may); dequeues may be slow until its owner runs ANALYZE {table} or autovacuum does.",
            py_repr(&role)
        )),
        Some(Err(e)) => output::warning(&format!(
            "{table} was not analyzed: {e}; dequeues may be slow until ANALYZE {table} runs."
        )),
    }
    Ok(Exit::Ok)
}

pub(super) async fn requeue(ctx: &CommandContext, ids: &[i64]) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let action = kinds::Requeue { ids: ids.to_vec() };
    let Requeued {
        requested,
        requeued,
    } = actions::run(&session, &action, false).await?;
    if ctx.json {
        output::stdout_exact(&output::json_line(&serde_json::json!({
            "requested": requested, "requeued": requeued,
        })));
    } else {
        output::stdout(&format!("Re-queued {}.\n", plural(requeued.len(), "job")));
        if requeued.len() < requested {
            output::note(&format!(
                "{} of the given ids are not held (status 'failed') jobs and were left alone.",
                requested - requeued.len()
            ));
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_lines() {
        let job = parse_line(r#"{"entrypoint":"e","payload":{"a":1},"priority":3,"execute_after":"5m","headers":{"x":"y"}}"#).unwrap();
        assert_eq!(job.payload.as_deref(), Some(br#"{"a":1}"#.as_slice()));
        assert_eq!(job.execute_after, Duration::from_secs(300));
        assert!(parse_line(r#"{"entrypoint":"e","headers":[1]}"#).is_err());
        assert!(parse_line(r#"{"entrypoint":"e","execute_after":-1}"#).is_err());
        assert!(parse_line(r#"{"payload":"x"}"#).is_err());
        assert!(parse_line(r#"{"entrypoint":"e","bogus":1}"#).is_err());
        assert!(parse_line("not json").is_err());
    }

    #[test]
    fn a_large_batch_is_split_on_whole_lines() {
        // > 1 MiB, multi-byte text everywhere, blank lines, CRLF, bad lines.
        let lines: Vec<String> = (0..40_000)
            .map(|i| match i % 1000 {
                7 => String::new(),
                8 => "   ".into(),
                9 => format!(r#"{{"entrypoint":"ü{i}","bad":1}}"#),
                10 => format!("{{\"entrypoint\":\"crlf{i}\"}}\r"),
                _ => format!(r#"{{"entrypoint":"ép{i}","payload":"ünïcödé {i}"}}"#),
            })
            .collect();
        let text = lines.join("\n");
        assert!(text.len() > 1 << 20);
        let Err(CommandError::Other(message)) = parse_batch(&text, "f") else {
            panic!("bad lines must fail");
        };
        assert!(message.starts_with("f:10: unknown key \"bad\"\nf:1010: unknown key"));
        assert!(message.contains("… and 30 more bad lines"));
        let good: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if i % 1000 == 9 { "" } else { l.as_str() })
            .collect::<Vec<_>>()
            .join("\n");
        let (jobs, numbers) = parse_batch(&good, "f").unwrap();
        let reference = parse_part(&good);
        assert_eq!(jobs, reference.jobs);
        assert_eq!(numbers, reference.lines);
        assert_eq!(jobs.len(), 40_000 - 3 * 40);
        assert_eq!(jobs[7].entrypoint, "crlf10", "lines 8-10 are blank");
        assert_eq!(numbers[7], 11);
        assert_eq!(*numbers.last().unwrap(), 40_000);
    }

    #[test]
    fn fast_and_general_reads_agree() {
        for line in [
            r#"{"entrypoint":"e"}"#,
            r#"  {"entrypoint":"e","payload":"p\u00fc","priority":-7,"dedupe_key":"k"}"#,
            r#"{"entrypoint":"e","payload":{"b":1,"a":[2,{"d":null,"c":1.5}]}}"#,
            r#"{"entrypoint":"e","payload":12,"execute_after":1.25,"headers":{"z":1,"a":{}}}"#,
            r#"{"entrypoint":"e","payload":null,"priority":null,"execute_after":null,"dedupe_key":null,"headers":null}"#,
            r#"{"entrypoint":"e","payload":""}"#,
            r#"{"entrypoint":"first","entrypoint":"second"}"#,
            r#"{"entrypoint":"e","priority":1,"priority":2}"#,
            r#"{"entrypoint":null}"#,
            r#"{"entrypoint":""}"#,
            r#"{"entrypoint":"e","priority":1.0}"#,
            r#"{"entrypoint":"e","priority":2147483648}"#,
            r#"{"entrypoint":"e","execute_after":"1h30m"}"#,
            r#"{"entrypoint":"e","execute_after":"soon"}"#,
            r#"{"entrypoint":"e","dedupe_key":5}"#,
            r#"{"entrypoint":"e","headers":"x"}"#,
            r#"{"entrypoint":"e","extra":1}"#,
            r#"{"entrypoint":"e"} trailing"#,
            r#"["e",null,0,null,null,null]"#,
            r#"["e"]"#,
            "\"e\"",
            "{}",
        ] {
            assert_eq!(parse_line(line), parse_line_value(line), "{line}");
        }
        let job = parse_line(r#"{"entrypoint":"e","payload":{"b":1,"a":2}}"#).unwrap();
        assert_eq!(job.payload.as_deref(), Some(br#"{"a":2,"b":1}"#.as_slice()));
        assert_eq!(
            parse_line(r#"{"entrypoint":"first","entrypoint":"second"}"#)
                .unwrap()
                .entrypoint,
            "second",
            "a repeated key: the last one wins, as before"
        );
        assert!(parse_line(r#"["e",null,0,null,null,null]"#).is_err());
    }

    #[test]
    fn headers_merge_and_validate() {
        assert_eq!(build_headers(None, &[]).unwrap(), Value::Null);
        let h = build_headers(Some(r#"{"a":1}"#), &["b=2".into(), "c=text".into()]).unwrap();
        assert_eq!(h, serde_json::json!({"a": 1, "b": 2, "c": "text"}));
        assert!(build_headers(Some("[1,2]"), &[]).is_err());
        assert!(build_headers(Some("{"), &[]).is_err());
        assert!(build_headers(None, &["novalue".into()]).is_err());
    }
}
