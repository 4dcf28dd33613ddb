//! Job writes: enqueue (single and bulk) and requeue of held jobs.
//!
//! Rows are written exactly as Python PGQueuer 1.6.0 writes them: status
//! `queued`, `execute_after = now() + delay`, headers a JSON object or JSON
//! `null`, and one `queued` log row per inserted job.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use tokio_postgres::types::ToSql;

use crate::actions::preview::Preview;
use crate::actions::session::missing_schema_or;
use crate::actions::{Act, ActionError, Finish, Session, db_err};
use crate::db::rows::{self, by_name};
use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

/// One job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub entrypoint: String,
    pub payload: Option<Vec<u8>>,
    pub priority: i32,
    pub execute_after: Duration,
    pub dedupe_key: Option<String>,
    /// A JSON object, or `Value::Null` for "no headers" (stored as JSON null,
    /// as Python does; never an array or scalar, which would break workers).
    pub headers: serde_json::Value,
}

/// What to do when a queued or picked job already holds a dedupe key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Report the duplicate as an error; a bulk chunk is rolled back.
    Raise,
    Skip,
    /// Keep the existing job with the higher of the two priorities.
    UpdatePriority,
}

/// Per input job, in input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueStatus {
    Enqueued(i64),
    /// A job with the same dedupe key exists; nothing was written.
    Skipped,
    /// The existing job (this id) kept, its priority raised if lower.
    Updated(i64),
}

#[derive(Debug, Clone, Default)]
pub struct EnqueueResult {
    pub statuses: Vec<EnqueueStatus>,
}

impl EnqueueResult {
    pub fn count(&self, pred: impl Fn(&EnqueueStatus) -> bool) -> usize {
        self.statuses.iter().filter(|s| pred(s)).count()
    }
}

/// `pgq queue …` that enqueues exactly `jobs`: one job as arguments, several
/// as a `--batch` read from standard input. Payloads are shown as text (a
/// payload that is not UTF-8 cannot be typed on a command line).
pub fn command_line(names: &ObjectNames, jobs: &[JobSpec], on_conflict: Conflict) -> String {
    let conflict = match on_conflict {
        Conflict::Raise => "",
        Conflict::Skip => " --on-conflict skip",
        Conflict::UpdatePriority => " --on-conflict update-priority",
    };
    let [job] = jobs else {
        let lines: Vec<String> = jobs
            .iter()
            .map(|job| shell_quote(&batch_line(job).to_string()))
            .collect();
        let queue = crate::actions::pgq(names, &format!("queue --batch -{conflict}"));
        return format!("printf '%s\\n' {} | {queue}", lines.join(" "));
    };
    let mut options = String::new();
    if job.priority != 0 {
        options.push_str(&format!(" --priority {}", job.priority));
    }
    if !job.execute_after.is_zero() {
        options.push_str(&format!(
            " --execute-after {}s",
            job.execute_after.as_secs_f64()
        ));
    }
    if let Some(k) = &job.dedupe_key {
        options.push_str(&format!(" --dedupe-key {}", shell_quote(k)));
    }
    if !job.headers.is_null() {
        options.push_str(&format!(
            " --headers {}",
            shell_quote(&job.headers.to_string())
        ));
    }
    options.push_str(conflict);
    // A payload of "-" or "@file" would be read from stdin or a file: pipe it.
    let payload = job.payload.as_deref().map(String::from_utf8_lossy);
    let piped = payload
        .as_deref()
        .filter(|p| *p == "-" || p.starts_with('@'));
    let mut positionals = shell_quote(&job.entrypoint);
    match (&payload, piped) {
        (_, Some(_)) => positionals.push_str(" -"),
        (Some(p), None) => {
            positionals.push(' ');
            positionals.push_str(&shell_quote(p));
        }
        (None, None) => {}
    }
    // An entrypoint starting with '-' would read as an option: options go
    // first, then `--` ends them.
    let line = if job.entrypoint.starts_with('-') {
        crate::actions::pgq(names, &format!("queue{options} -- {positionals}"))
    } else {
        crate::actions::pgq(names, &format!("queue {positionals}{options}"))
    };
    match piped {
        Some(p) => format!("printf '%s' {} | {line}", shell_quote(p)),
        None => line,
    }
}

/// One line of a `--batch` file for `job`.
fn batch_line(job: &JobSpec) -> serde_json::Value {
    let mut line = serde_json::Map::new();
    line.insert("entrypoint".into(), job.entrypoint.clone().into());
    if let Some(p) = &job.payload {
        line.insert("payload".into(), String::from_utf8_lossy(p).into());
    }
    if job.priority != 0 {
        line.insert("priority".into(), job.priority.into());
    }
    if !job.execute_after.is_zero() {
        line.insert(
            "execute_after".into(),
            job.execute_after.as_secs_f64().into(),
        );
    }
    if let Some(k) = &job.dedupe_key {
        line.insert("dedupe_key".into(), k.clone().into());
    }
    if !job.headers.is_null() {
        line.insert("headers".into(), job.headers.clone());
    }
    line.into()
}

pub(crate) fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,/:@=+".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Where a statement's job ids come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// `nextval` of the queue's sequence, drawn in the statement.
    Drawn,
    /// Drawn beforehand (bulk enqueue) and passed as `$7`, one per input.
    Given,
}

/// The enqueue statement: parallel arrays expanded with UNNEST, ids drawn in a
/// materialised CTE (so each input row keeps its id across the join) or given,
/// one log row per inserted job, and one result row per input in input order.
fn enqueue_sql(session: &Session, on_conflict: Conflict, ids: Ids) -> String {
    let statement = match (ids, on_conflict) {
        (Ids::Drawn, Conflict::UpdatePriority) => Statement::EnqueueUpdatePriority,
        (Ids::Drawn, Conflict::Raise | Conflict::Skip) => Statement::Enqueue,
        (Ids::Given, Conflict::UpdatePriority) => Statement::EnqueueGivenIdsUpdatePriority,
        (Ids::Given, Conflict::Raise | Conflict::Skip) => Statement::EnqueueGivenIds,
    };
    // The files spell the unique index's predicate in ON CONFLICT; a test in
    // db::statements keeps it equal to the declared one. Bulk inputs (given
    // ids) also carry `own_priority`: the job's own priority, which its
    // `queued` log row records, while `priority` (the value inserted, or
    // merged on conflict) may have been raised by later repeats of its key
    // in the same input (see `fold_repeats`).
    statement.render(&session.names)
}

/// Bulk fast path, for a chunk in which no job has a dedupe key: nothing can
/// conflict (the unique index only holds non-NULL keys), so every input is
/// written. Ids are given (`$1`, drawn beforehand in input order); the same
/// rows and log rows as [`enqueue_sql`], without the result-mapping joins.
/// One INSERT into the queue table, so one NOTIFY, as before.
///
/// A chunk whose jobs all run at once (`delays` false) stores `now()`, which
/// is `now() + interval '0 microseconds'` exactly; one with no headers at all
/// (`headers` false) stores the JSON `null` every job would have sent. The
/// server then decodes neither array (about a tenth of its work per row).
fn fast_enqueue_sql(session: &Session, delays: bool, headers: bool) -> String {
    let statement = match (delays, headers) {
        (false, false) => Statement::EnqueueFast,
        (true, false) => Statement::EnqueueFastDelays,
        (false, true) => Statement::EnqueueFastHeaders,
        (true, true) => Statement::EnqueueFastDelaysHeaders,
    };
    statement.render(&session.names)
}

/// Draws `$1` ids from the queue's sequence, in order (one array): what the
/// enqueue statement's own `nextval` would have drawn.
fn draw_ids_sql(session: &Session) -> String {
    Statement::DrawIds.render(&session.names)
}

fn interval_of(d: Duration) -> String {
    format!("{} microseconds", d.as_micros())
}

/// The statement's parameter arrays, borrowed from the jobs.
struct Columns<'a> {
    priority: Vec<i32>,
    entrypoint: Vec<&'a str>,
    payload: Vec<Option<&'a [u8]>>,
    delay: Vec<&'a str>,
    dedupe: Vec<Option<&'a str>>,
    headers: Vec<&'a serde_json::Value>,
}

impl<'a> Columns<'a> {
    /// `delays` holds the text of each non-zero delay ("N microseconds");
    /// zero delays share one string.
    fn new(jobs: &[&'a JobSpec], delays: &'a [Option<String>]) -> Self {
        Columns {
            priority: jobs.iter().map(|j| j.priority).collect(),
            entrypoint: jobs.iter().map(|j| j.entrypoint.as_str()).collect(),
            payload: jobs.iter().map(|j| j.payload.as_deref()).collect(),
            delay: delays
                .iter()
                .map(|d| d.as_deref().unwrap_or("0 microseconds"))
                .collect(),
            dedupe: jobs.iter().map(|j| j.dedupe_key.as_deref()).collect(),
            headers: jobs.iter().map(|j| &j.headers).collect(),
        }
    }
}

fn delays_of(jobs: &[&JobSpec]) -> Vec<Option<String>> {
    jobs.iter()
        .map(|j| (!j.execute_after.is_zero()).then(|| interval_of(j.execute_after)))
        .collect()
}

/// Result rows of [`enqueue_sql`] (ord, id, fresh) as statuses.
fn statuses_of(rows: &[tokio_postgres::Row]) -> Vec<EnqueueStatus> {
    rows.iter()
        .map(
            |row| match (row.get::<_, Option<i64>>(1), row.get::<_, Option<bool>>(2)) {
                (Some(id), Some(true)) => EnqueueStatus::Enqueued(id),
                (Some(id), _) => EnqueueStatus::Updated(id),
                (None, _) => EnqueueStatus::Skipped,
            },
        )
        .collect()
}

pub(in crate::actions) async fn enqueue(
    session: &Session,
    jobs: &[JobSpec],
    on_conflict: Conflict,
) -> Result<EnqueueResult, ActionError> {
    let jobs: Vec<&JobSpec> = jobs.iter().collect();
    let delays = delays_of(&jobs);
    let c = Columns::new(&jobs, &delays);
    // Delays travel as text ("N microseconds") and are cast in SQL.
    let sql = enqueue_sql(session, on_conflict, Ids::Drawn);
    let insert = async || {
        let rows = session
            .apply(
                &sql,
                &[
                    &c.priority,
                    &c.entrypoint,
                    &c.payload,
                    &c.delay,
                    &c.dedupe,
                    &c.headers,
                ],
            )
            .await
            .map_err(|e| missing_schema_or(session, e, "enqueueing"))?;
        Ok(EnqueueResult {
            statuses: statuses_of(&rows),
        })
    };
    // Raise rolls the whole call back when any input was a duplicate, so a bulk
    // chunk is written entirely or not at all.
    if on_conflict == Conflict::Raise && jobs.len() > 1 {
        session
            .transaction("enqueueing", async || {
                let result = insert().await?;
                Ok(if result.statuses.contains(&EnqueueStatus::Skipped) {
                    Finish::Rollback(result)
                } else {
                    Finish::Commit(result)
                })
            })
            .await
    } else {
        insert().await
    }
}

/// How a bulk enqueue ended.
#[derive(Debug)]
pub struct BulkOutcome {
    /// One status per input job, in input order, for every job before the
    /// failed chunk's first job (all of them when there is no failure).
    pub statuses: Vec<EnqueueStatus>,
    pub failure: Option<BulkFailure>,
}

/// Why a bulk enqueue stopped. Every chunk before the failed one is
/// committed; nothing of it or after it is written.
#[derive(Debug)]
pub struct BulkFailure {
    /// Input indices of the failed chunk's first and last job, and its number
    /// of jobs. Causes found before writing (`Held`, `Repeated`) fail the
    /// first chunk: nothing at all was written.
    pub first: usize,
    pub last: usize,
    pub size: usize,
    pub cause: BulkCause,
}

#[derive(Debug)]
pub enum BulkCause {
    /// `Conflict::Raise`, found before writing: the job at this input index
    /// has a dedupe key that a queued or picked job already holds.
    Held(usize),
    /// `Conflict::Raise`: a job repeats an earlier job's key (see
    /// [`repeated_keys`]); found before writing.
    Repeated(Repeat),
    /// `Conflict::Raise`, found while inserting: the job at this input index
    /// has a key taken after the check before writing (another producer).
    Duplicate(usize),
    Error(ActionError),
}

/// A job whose dedupe key an earlier job of the same input already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeat {
    /// Input index of the first job with the key.
    pub first: usize,
    /// Input index of this later job.
    pub at: usize,
}

/// Every job whose dedupe key an earlier job of `jobs` has, in input order.
/// New rows are all `queued`, which the unique dedupe index covers, so such
/// a pair always conflicts. One pass over a map of the keys.
pub fn repeated_keys(jobs: &[JobSpec]) -> Vec<Repeat> {
    let mut first = HashMap::new();
    jobs.iter()
        .enumerate()
        .filter_map(|(at, job)| match first.entry(job.dedupe_key.as_deref()?) {
            Entry::Occupied(seen) => Some(Repeat {
                first: *seen.get(),
                at,
            }),
            Entry::Vacant(slot) => {
                slot.insert(at);
                None
            }
        })
        .collect()
}

/// What a bulk enqueue writes once repeated keys are folded into the first
/// job with the key, which leaves the database as enqueuing the jobs one by
/// one in input order would:
/// - `Skip`: a repeat is skipped (by then its key is held, by the first job
///   or by the job that made the first one skip);
/// - `UpdatePriority`: a repeat raises the priority of the job holding its
///   key, so the first job is written with the highest priority among its
///   key's jobs (its `queued` log row keeps its own, as one by one).
///
/// No key then appears twice in the writes, so no chunk has to wait for
/// another one's commit and no statement meets its own key twice (which
/// `ON CONFLICT DO UPDATE` refuses). (Should a later chunk fail, a repeat
/// after it has still raised its first job, written before it.)
struct Folded {
    /// Input indices of the jobs written, in input order.
    written: Vec<usize>,
    repeats: Vec<Repeat>,
    /// Input index of a first job → the priority to write for it.
    raised: HashMap<usize, i32>,
}

fn fold_repeats(jobs: &[JobSpec], repeats: Vec<Repeat>, on_conflict: Conflict) -> Folded {
    if repeats.is_empty() {
        return Folded {
            written: (0..jobs.len()).collect(),
            repeats,
            raised: HashMap::new(),
        };
    }
    let mut repeated = vec![false; jobs.len()];
    let mut raised = HashMap::new();
    for r in &repeats {
        repeated[r.at] = true;
        if on_conflict == Conflict::UpdatePriority {
            let top = raised.entry(r.first).or_insert(jobs[r.first].priority);
            *top = (*top).max(jobs[r.at].priority);
        }
    }
    Folded {
        written: (0..jobs.len()).filter(|&i| !repeated[i]).collect(),
        repeats,
        raised,
    }
}

impl Folded {
    /// Statuses in input order for the inputs before `end`, from the
    /// statuses of the written jobs (a prefix of `written`, covering every
    /// written job before `end`). A repeat gets what its own enqueue would
    /// have returned: skipped, or updated with the id of the job holding the key.
    fn unfold(
        &self,
        end: usize,
        written: Vec<EnqueueStatus>,
        on_conflict: Conflict,
    ) -> Vec<EnqueueStatus> {
        if self.repeats.is_empty() {
            let mut written = written;
            written.truncate(end);
            return written;
        }
        let mut all = vec![None; end];
        for (&i, status) in self.written.iter().zip(written) {
            if i < end {
                all[i] = Some(status);
            }
        }
        for r in self.repeats.iter().take_while(|r| r.at < end) {
            all[r.at] = Some(match (on_conflict, all[r.first]) {
                (
                    Conflict::UpdatePriority,
                    Some(EnqueueStatus::Enqueued(id) | EnqueueStatus::Updated(id)),
                ) => EnqueueStatus::Updated(id),
                _ => EnqueueStatus::Skipped,
            });
        }
        all.into_iter().flatten().collect()
    }
}

/// Progress shared by the bulk workers (all polled on one task).
#[derive(Debug, Clone, Copy)]
struct Turns {
    /// Chunks whose ids have been drawn: chunk `i` draws when this is `i`.
    drawn: usize,
    /// Chunks committed: chunk `i` commits when this is `i`.
    committed: usize,
    /// The lowest failed chunk (`usize::MAX`: none). Chunks after it stop.
    failed: usize,
}

struct Bulk<'a, F> {
    jobs: &'a [JobSpec],
    folded: &'a Folded,
    chunk_size: usize,
    chunks: usize,
    on_conflict: Conflict,
    turns: tokio::sync::watch::Sender<Turns>,
    next: std::cell::Cell<usize>,
    results: std::cell::RefCell<Vec<Vec<EnqueueStatus>>>,
    failure: std::cell::RefCell<Option<(usize, BulkCause)>>,
    on_written: F,
}

impl<F: Fn(usize)> Bulk<'_, F> {
    /// Input indices of chunk `i`'s jobs.
    fn chunk(&self, i: usize) -> &[usize] {
        let written = &self.folded.written;
        let start = i * self.chunk_size;
        &written[start..(start + self.chunk_size).min(written.len())]
    }

    fn fail(&self, chunk: usize, cause: BulkCause) {
        let mut failure = self.failure.borrow_mut();
        if failure.as_ref().is_none_or(|(f, _)| chunk < *f) {
            *failure = Some((chunk, cause));
            self.turns.send_modify(|t| t.failed = t.failed.min(chunk));
        }
    }

    async fn wait(&self, until: impl FnMut(&Turns) -> bool) -> Turns {
        let mut rx = self.turns.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail.
        *rx.wait_for(until).await.expect("bulk turns sender alive")
    }

    /// One connection's share: take the next chunk, draw its ids when the
    /// chunk before it has drawn, insert it in an open transaction, and commit
    /// when the chunk before it has committed. So ids increase in input order
    /// and the committed chunks are always a prefix of the input.
    async fn worker(&self, session: &Session, s: &mut Prepared) {
        let client = session.client();
        loop {
            let i = self.next.get();
            if i >= self.chunks || self.turns.borrow().failed <= i {
                return;
            }
            self.next.set(i + 1);
            let chunk = self.chunk(i);
            if self.wait(|t| t.drawn == i || t.failed <= i).await.failed <= i {
                return;
            }
            let n = i32::try_from(chunk.len()).expect("chunk size fits i32");
            let params: [&(dyn ToSql + Sync); 1] = [&n];
            // Pipelined: BEGIN and the draw go out together.
            let (begun, drawn) =
                futures_util::join!(session.begin(), client.query_one(&s.draw_ids, &params));
            self.turns.send_modify(|t| t.drawn = i + 1);
            let ids = match (begun, drawn) {
                (Ok(()), Ok(row)) => row.try_get::<_, Vec<i64>>(0),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            let outcome = match ids {
                Err(e) => Err(BulkCause::Error(db_err("drawing job ids")(e))),
                Ok(ids) => match self.insert(session, s, chunk, &ids).await {
                    Err(e) => Err(BulkCause::Error(e)),
                    Ok(statuses) => {
                        match statuses.iter().position(|s| *s == EnqueueStatus::Skipped) {
                            Some(pos) if self.on_conflict == Conflict::Raise => {
                                Err(BulkCause::Duplicate(chunk[pos]))
                            }
                            _ => Ok(statuses),
                        }
                    }
                },
            };
            let statuses = match outcome {
                Ok(statuses) => statuses,
                Err(cause) => {
                    // Said at once, so the chunks after this one stop now.
                    session.rollback().await;
                    self.fail(i, cause);
                    return;
                }
            };
            if self.wait(|t| t.committed == i || t.failed < i).await.failed < i {
                // An earlier chunk failed: nothing from it on is written.
                session.rollback().await;
                return;
            }
            if let Err(e) = session.commit().await {
                self.fail(i, BulkCause::Error(db_err("committing")(e)));
                return;
            }
            self.results.borrow_mut().push(statuses);
            self.turns.send_modify(|t| t.committed = i + 1);
            (self.on_written)(i * self.chunk_size + chunk.len());
        }
    }

    /// The chunk's INSERT (fast path when it holds no dedupe key).
    async fn insert(
        &self,
        session: &Session,
        s: &mut Prepared,
        chunk: &[usize],
        ids: &[i64],
    ) -> Result<Vec<EnqueueStatus>, ActionError> {
        let client = session.client();
        let jobs: Vec<&JobSpec> = chunk.iter().map(|&i| &self.jobs[i]).collect();
        let delays = delays_of(&jobs);
        let c = Columns::new(&jobs, &delays);
        if c.dedupe.iter().all(Option::is_none) {
            let has_delays = delays.iter().any(Option::is_some);
            let has_headers = jobs.iter().any(|j| !j.headers.is_null());
            let statement = s.fast(session, has_delays, has_headers).await?;
            let mut params: Vec<&(dyn ToSql + Sync)> =
                vec![&ids, &c.priority, &c.entrypoint, &c.payload];
            if has_delays {
                params.push(&c.delay);
            }
            if has_headers {
                params.push(&c.headers);
            }
            let written = client
                .execute(&statement, &params)
                .await
                .map_err(|e| missing_schema_or(session, e, "enqueueing"))?;
            debug_assert_eq!(written, ids.len() as u64);
            return Ok(ids.iter().map(|&id| EnqueueStatus::Enqueued(id)).collect());
        }
        // Written with the priority raised by later repeats of the key; the
        // log row keeps the job's own.
        let raised = &self.folded.raised;
        let priority: Vec<i32> = chunk
            .iter()
            .map(|i| raised.get(i).copied().unwrap_or(self.jobs[*i].priority))
            .collect();
        // Prepared per chunk, as a one-off statement: the planner then sees
        // the real array sizes (a cached generic plan may not).
        let rows = client
            .query(
                &s.dedupe,
                &[
                    &priority,
                    &c.entrypoint,
                    &c.payload,
                    &c.delay,
                    &c.dedupe,
                    &c.headers,
                    &ids,
                    &c.priority,
                ],
            )
            .await
            .map_err(|e| missing_schema_or(session, e, "enqueueing"))?;
        Ok(statuses_of(&rows))
    }
}

/// Statements of one bulk connection, prepared once each.
struct Prepared {
    draw_ids: crate::db::client::Statement,
    /// [`fast_enqueue_sql`] by (delays, headers), prepared on first use.
    fast: [Option<crate::db::client::Statement>; 4],
    dedupe: String,
}

impl Prepared {
    async fn fast(
        &mut self,
        session: &Session,
        delays: bool,
        headers: bool,
    ) -> Result<crate::db::client::Statement, ActionError> {
        let slot = &mut self.fast[usize::from(delays) * 2 + usize::from(headers)];
        if let Some(statement) = slot {
            return Ok(statement.clone());
        }
        let statement = session
            .client()
            .prepare(&fast_enqueue_sql(session, delays, headers))
            .await
            .map_err(|e| missing_schema_or(session, e, "enqueueing"))?;
        Ok(slot.insert(statement).clone())
    }
}

/// The first job (its index in `$2`) whose key (`$1`) a queued or picked job
/// holds: the unique index's own predicate, so each probe is an index-only
/// lookup (about 3 µs). The first, uncorrelated EXISTS runs once, before
/// any probe: when no job holds any key (a bulk load into a queue without
/// keyed jobs) the check costs one index lookup instead of one per key.
fn held_key_sql(session: &Session) -> String {
    Statement::HeldDedupeKey.render(&session.names)
}

/// Under `Conflict::Raise`, the first job whose key is already held, looked
/// up before anything is written.
async fn first_held_key(session: &Session, jobs: &[JobSpec]) -> Result<Option<usize>, ActionError> {
    let (keys, indices): (Vec<&str>, Vec<i64>) = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| Some((j.dedupe_key.as_deref()?, i as i64)))
        .unzip();
    if keys.is_empty() {
        return Ok(None);
    }
    let first: Vec<i64> = session
        .read_sql(
            &held_key_sql(session),
            &[&keys, &indices],
            "checking dedupe keys",
        )
        .await?;
    Ok(first.first().map(|&i| i as usize))
}

/// Enqueue `jobs` in chunks of `chunk_size`, each chunk one INSERT statement
/// in its own transaction, all or nothing, over every given session at once
/// (one connection each; one session is the plain sequential loop).
///
/// What lands in the database is what enqueuing the jobs one by one in input
/// order would leave, with a dedupe key repeated within `jobs` handled as
/// [`Folded`] says: the same rows and `queued` log rows, one NOTIFY per
/// chunk, ids increasing in input order (drawn from the queue's sequence
/// chunk by chunk, in order), commits in input order. When a chunk fails,
/// the chunks before it are committed and nothing of it or after it is.
/// `on_written` gets the number of jobs committed so far.
///
/// Under `Conflict::Raise` a repeated key in `jobs`, or a key a queued or
/// picked job already holds, fails before anything is written; only a key
/// taken by another producer while the chunks are being written fails a
/// later chunk with the chunks before it committed.
///
/// Errors here (read-only session, PgQueuer not installed) mean nothing was
/// written.
pub async fn enqueue_bulk(
    sessions: &[Session],
    jobs: &[JobSpec],
    chunk_size: usize,
    on_conflict: Conflict,
    on_written: impl Fn(usize),
) -> Result<BulkOutcome, ActionError> {
    assert!(!sessions.is_empty() && chunk_size > 0);
    // All sessions are opened alike on one server: asking one is enough.
    crate::actions::refuse_writes(&sessions[0], || {
        command_line(&sessions[0].names, jobs, on_conflict)
    })
    .await?;
    // Refused before writing: the failed "chunk" is the whole input.
    let refused = |cause: BulkCause| BulkOutcome {
        statuses: vec![],
        failure: Some(BulkFailure {
            first: 0,
            last: jobs.len() - 1,
            size: jobs.len(),
            cause,
        }),
    };
    let repeats = repeated_keys(jobs);
    if on_conflict == Conflict::Raise
        && let Some(&repeat) = repeats.first()
    {
        return Ok(refused(BulkCause::Repeated(repeat)));
    }
    let folded = fold_repeats(jobs, repeats, on_conflict);
    let chunks = folded.written.len().div_ceil(chunk_size);
    if chunks == 0 {
        return Ok(BulkOutcome {
            statuses: vec![],
            failure: None,
        });
    }
    let sessions = &sessions[..sessions.len().min(chunks)];
    let mut prepared = Vec::with_capacity(sessions.len());
    for session in sessions {
        let client = session.client();
        let (draw_sql, plain_sql) = (
            draw_ids_sql(session),
            fast_enqueue_sql(session, false, false),
        );
        // Preparing also checks that PgQueuer is installed, before any write.
        let (draw_ids, plain) =
            futures_util::join!(client.prepare(&draw_sql), client.prepare(&plain_sql));
        let draw_ids = draw_ids.map_err(|e| missing_schema_or(session, e, "enqueueing"))?;
        let plain = plain.map_err(|e| missing_schema_or(session, e, "enqueueing"))?;
        prepared.push(Prepared {
            draw_ids,
            fast: [Some(plain), None, None, None],
            dedupe: enqueue_sql(session, on_conflict, Ids::Given),
        });
    }
    // A key held already would fail its chunk after the chunks before it
    // are committed; looked up first, so such a batch writes nothing.
    if on_conflict == Conflict::Raise
        && let Some(at) = first_held_key(&sessions[0], jobs).await?
    {
        return Ok(refused(BulkCause::Held(at)));
    }
    let bulk = Bulk {
        jobs,
        folded: &folded,
        chunk_size,
        chunks,
        on_conflict,
        turns: tokio::sync::watch::Sender::new(Turns {
            drawn: 0,
            committed: 0,
            failed: usize::MAX,
        }),
        next: std::cell::Cell::new(0),
        results: std::cell::RefCell::new(Vec::with_capacity(chunks)),
        failure: std::cell::RefCell::new(None),
        on_written,
    };
    futures_util::future::join_all(
        sessions
            .iter()
            .zip(&mut prepared)
            .map(|(session, s)| bulk.worker(session, s)),
    )
    .await;
    let written = bulk.results.into_inner().into_iter().flatten().collect();
    let failure = bulk.failure.into_inner().map(|(i, cause)| {
        let chunk = folded
            .written
            .chunks(chunk_size)
            .nth(i)
            .expect("failed chunk exists");
        BulkFailure {
            first: chunk[0],
            last: chunk[chunk.len() - 1],
            size: chunk.len(),
            cause,
        }
    });
    let end = failure.as_ref().map_or(jobs.len(), |f| f.first);
    Ok(BulkOutcome {
        statuses: folded.unfold(end, written, on_conflict),
        failure,
    })
}

/// Whether `analyze_queue` refreshed the queue table's planner statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Analyzed {
    Done,
    /// The role may not ANALYZE the table (PostgreSQL would only warn and
    /// skip it): not its owner, the database owner, a superuser or, from
    /// PostgreSQL 17, granted MAINTAIN.
    NotPermitted {
        role: String,
    },
}

/// ANALYZE the queue table, so that dequeues right after a bulk load plan
/// with statistics that know the new rows (autovacuum may take minutes).
pub async fn analyze_queue(session: &Session) -> Result<Analyzed, ActionError> {
    let may: MayAnalyze = session
        .read_one(
            Statement::MayAnalyzeQueue,
            &[],
            "checking ANALYZE privilege",
        )
        .await?;
    if !may.permitted {
        return Ok(Analyzed::NotPermitted { role: may.role });
    }
    session
        .apply_batch(&Statement::AnalyzeQueue.render(&session.names))
        .await
        .map_err(|e| missing_schema_or(session, e, "analyzing the queue table"))?;
    Ok(Analyzed::Done)
}

by_name! {
    /// `may_analyze_queue.sql`: the current role, and whether it may
    /// ANALYZE the queue table by the rules ANALYZE itself applies.
    /// (MAINTAIN is unknown before PostgreSQL 17, so it is asked only from
    /// 17 on; CASE keeps that order.)
    struct MayAnalyze {
        role: String,
        permitted: bool,
    }
}

/// Put held (`failed`) jobs back to `queued` with attempts reset; ids that are
/// not held are ignored. Logs one `queued` row per requeued job, like PGQueuer.
pub(in crate::actions) async fn requeue(
    session: &Session,
    ids: &[i64],
) -> Result<Requeued, ActionError> {
    let rows = session
        .apply(&requeue_sql(session), &[&ids])
        .await
        .map_err(|e| missing_schema_or(session, e, "requeueing"))?;
    Ok(Requeued {
        requested: ids.len(),
        requeued: rows::all(&rows).map_err(db_err("requeueing"))?,
    })
}

/// Which of the jobs asked for were held, and so requeued.
#[derive(Debug, Clone, PartialEq)]
pub struct Requeued {
    pub requested: usize,
    pub requeued: Vec<i64>,
}

/// The requeue statement ($1: job ids).
/// The statement `Action::Enqueue` sends (ids drawn in the statement); the
/// console's preview shows exactly this.
pub fn enqueue_statement(session: &Session, on_conflict: Conflict) -> String {
    enqueue_sql(session, on_conflict, Ids::Drawn)
}

pub fn requeue_sql(session: &Session) -> String {
    Statement::Requeue.render(&session.names)
}

// The action: `pgq queue`: insert jobs in one statement (callers chunk large batches).

#[derive(Debug, Clone, PartialEq)]
pub struct Enqueue {
    pub jobs: Vec<JobSpec>,
    pub on_conflict: Conflict,
}

impl Act for Enqueue {
    type Output = EnqueueResult;
    const MUTATES: bool = true;
    const DRY_RUN: bool = false;

    fn sample() -> Self {
        Enqueue {
            jobs: vec![JobSpec {
                entrypoint: "sample".into(),
                payload: Some(b"{\"n\": 1}".to_vec()),
                priority: 3,
                execute_after: std::time::Duration::ZERO,
                dedupe_key: None,
                headers: serde_json::json!({"trace": "abc"}),
            }],
            on_conflict: Conflict::Raise,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        command_line(names, &self.jobs, self.on_conflict)
    }

    /// One job (the console's form) says what became of it; a batch is
    /// counted.
    fn outcome_text(&self, out: &EnqueueResult) -> String {
        use crate::actions::jobs::enqueue::EnqueueStatus;
        if let [only] = out.statuses.as_slice() {
            return match only {
                EnqueueStatus::Enqueued(id) => format!("enqueued job {id}"),
                EnqueueStatus::Updated(id) => {
                    format!("kept existing job {id} (priority raised if lower)")
                }
                EnqueueStatus::Skipped => {
                    "skipped: a job with this dedupe key is queued or picked".into()
                }
            };
        }
        let ids: Vec<String> = out
            .statuses
            .iter()
            .filter_map(|s| match s {
                EnqueueStatus::Enqueued(id) => Some(id.to_string()),
                _ => None,
            })
            .collect();
        format!(
            "enqueued {} ({}); {} skipped, {} updated (same dedupe key)",
            crate::output::plural(ids.len(), "job"),
            ids.join(", "),
            out.count(|s| matches!(s, EnqueueStatus::Skipped)),
            out.count(|s| matches!(s, EnqueueStatus::Updated(_)))
        )
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<EnqueueResult, ActionError> {
        enqueue(session, &self.jobs, self.on_conflict).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        Ok(enqueue_preview(
            session,
            &self.jobs,
            self.on_conflict,
            self.command_line(&session.names),
        ))
    }
}

/// The confirm dialog of an enqueue: its statement and parameters, shown per column.
fn enqueue_preview(
    session: &Session,
    jobs: &[JobSpec],
    on_conflict: Conflict,
    command_line: String,
) -> Preview {
    let sql = enqueue_statement(session, on_conflict);
    let statements = if on_conflict == Conflict::Raise && jobs.len() > 1 {
        vec!["BEGIN".into(), sql, "COMMIT".into()]
    } else {
        vec![sql]
    };
    let question = match jobs {
        [job] => format!("Enqueue a job for entrypoint {}?", job.entrypoint),
        _ => format!("Enqueue {} jobs?", jobs.len()),
    };
    let mut p = Preview::new(question, statements, command_line);
    let column = |name: &str, f: &dyn Fn(&JobSpec) -> String| {
        let values: Vec<String> = jobs.iter().map(f).collect();
        format!("{name} = {{{}}}", crate::actions::preview::list(&values))
    };
    p.parameters = vec![
        column("$1 priority", &|j| j.priority.to_string()),
        column("$2 entrypoint", &|j| j.entrypoint.clone()),
        column("$3 payload", &|j| match &j.payload {
            None => "NULL".into(),
            Some(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                let short: String = text.chars().take(60).collect();
                if short.len() < text.len() {
                    format!("{short}… ({} bytes)", bytes.len())
                } else {
                    short
                }
            }
        }),
        column("$4 delay", &|j| {
            format!("{} microseconds", j.execute_after.as_micros())
        }),
        column("$5 dedupe_key", &|j| {
            j.dedupe_key.clone().unwrap_or_else(|| "NULL".into())
        }),
        column("$6 headers", &|j| j.headers.to_string()),
    ];
    p
}
