//! Job writes: enqueue (single and bulk) and requeue of held jobs.
//!
//! Rows are written exactly as Python PGQueuer 1.6.0 writes them: status
//! `queued`, `execute_after = now() + delay`, headers a JSON object or JSON
//! `null`, and one `queued` log row per inserted job.

use std::time::Duration;

use tokio_postgres::types::ToSql;

use super::{ActionError, Outcome, Session, db_err};
use crate::db::statements::Statement;

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

pub fn command_line(jobs: &[JobSpec], on_conflict: Conflict) -> String {
    let conflict = match on_conflict {
        Conflict::Raise => "",
        Conflict::Skip => " --on-conflict skip",
        Conflict::UpdatePriority => " --on-conflict update-priority",
    };
    match jobs {
        [job] => {
            let mut line = format!("pgq queue {}", shell_quote(&job.entrypoint));
            if let Some(p) = &job.payload {
                line.push(' ');
                line.push_str(&shell_quote(&String::from_utf8_lossy(p)));
            }
            if job.priority != 0 {
                line.push_str(&format!(" --priority {}", job.priority));
            }
            if !job.execute_after.is_zero() {
                line.push_str(&format!(
                    " --execute-after {}s",
                    job.execute_after.as_secs_f64()
                ));
            }
            if let Some(k) = &job.dedupe_key {
                line.push_str(&format!(" --dedupe-key {}", shell_quote(k)));
            }
            if !job.headers.is_null() {
                line.push_str(&format!(
                    " --headers {}",
                    shell_quote(&job.headers.to_string())
                ));
            }
            line + conflict
        }
        _ => format!("pgq queue --batch jobs.ndjson{conflict}"),
    }
}

fn shell_quote(text: &str) -> String {
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
    // db::statements keeps it equal to the declared one.
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
    fn new(jobs: &'a [JobSpec], delays: &'a [Option<String>]) -> Self {
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

fn delays_of(jobs: &[JobSpec]) -> Vec<Option<String>> {
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

pub(super) async fn enqueue(
    session: &Session,
    jobs: &[JobSpec],
    on_conflict: Conflict,
) -> Result<Outcome, ActionError> {
    let delays = delays_of(jobs);
    let c = Columns::new(jobs, &delays);
    let client = session.client();
    // Delays travel as text ("N microseconds") and are cast in SQL.
    let sql = enqueue_sql(session, on_conflict, Ids::Drawn);
    // Raise rolls the whole call back when any input was a duplicate, so a bulk
    // chunk is written entirely or not at all.
    let transactional = on_conflict == Conflict::Raise && jobs.len() > 1;
    if transactional {
        super::record::record("BEGIN");
        client
            .batch_execute("BEGIN")
            .await
            .map_err(db_err("enqueueing"))?;
    }
    super::record::record(&sql);
    let rows = client
        .query(
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
        .await;
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            if transactional {
                let _ = client.batch_execute("ROLLBACK").await;
            }
            return Err(missing_schema_or(session, e, "enqueueing"));
        }
    };
    let statuses = statuses_of(&rows);
    if transactional {
        let duplicate = statuses.contains(&EnqueueStatus::Skipped);
        let end = if duplicate { "ROLLBACK" } else { "COMMIT" };
        super::record::record(end);
        client
            .batch_execute(end)
            .await
            .map_err(db_err("enqueueing"))?;
    }
    Ok(Outcome::Enqueued(EnqueueResult { statuses }))
}

/// How a bulk enqueue ended.
#[derive(Debug)]
pub struct BulkOutcome {
    /// One status per job written, in input order: the jobs of every chunk
    /// before `failure` (all of them when there is none).
    pub statuses: Vec<EnqueueStatus>,
    pub failure: Option<BulkFailure>,
}

/// The first chunk that was not written. It, and every chunk after it, left
/// nothing in the database; every chunk before it is committed.
#[derive(Debug)]
pub struct BulkFailure {
    /// Index of the chunk (chunk `i` holds jobs `i * chunk_size ..`).
    pub chunk: usize,
    pub cause: BulkCause,
}

#[derive(Debug)]
pub enum BulkCause {
    /// `Conflict::Raise`: the job at this index within the chunk has a dedupe
    /// key already held by a queued or picked job (or by an earlier job of
    /// the same chunk).
    Duplicate(usize),
    Error(ActionError),
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
    chunk_size: usize,
    chunks: usize,
    on_conflict: Conflict,
    /// Per chunk, the last earlier chunk sharing a dedupe key with it.
    after: Vec<Option<usize>>,
    turns: tokio::sync::watch::Sender<Turns>,
    next: std::cell::Cell<usize>,
    results: std::cell::RefCell<Vec<Vec<EnqueueStatus>>>,
    failure: std::cell::RefCell<Option<BulkFailure>>,
    on_written: F,
}

impl<F: Fn(usize)> Bulk<'_, F> {
    fn chunk(&self, i: usize) -> &[JobSpec] {
        let start = i * self.chunk_size;
        &self.jobs[start..(start + self.chunk_size).min(self.jobs.len())]
    }

    fn fail(&self, chunk: usize, cause: BulkCause) {
        let mut failure = self.failure.borrow_mut();
        if failure.as_ref().is_none_or(|f| chunk < f.chunk) {
            *failure = Some(BulkFailure { chunk, cause });
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
            if let Some(d) = self.after[i] {
                // A dedupe key is shared with chunk `d`: insert only once `d`
                // is committed, exactly as one connection would have seen it
                // (and never wait on a row lock held by our own later chunk).
                self.wait(|t| t.committed > d || t.failed <= i).await;
            }
            if self.wait(|t| t.drawn == i || t.failed <= i).await.failed <= i {
                return;
            }
            let n = i32::try_from(chunk.len()).expect("chunk size fits i32");
            let params: [&(dyn ToSql + Sync); 1] = [&n];
            // Pipelined: BEGIN and the draw go out together.
            let (begun, drawn) = futures_util::join!(
                client.batch_execute("BEGIN"),
                client.query_one(&s.draw_ids, &params)
            );
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
                                Err(BulkCause::Duplicate(pos))
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
                    let _ = client.batch_execute("ROLLBACK").await;
                    self.fail(i, cause);
                    return;
                }
            };
            if self.wait(|t| t.committed == i || t.failed < i).await.failed < i {
                // An earlier chunk failed: nothing from it on is written.
                let _ = client.batch_execute("ROLLBACK").await;
                return;
            }
            if let Err(e) = client.batch_execute("COMMIT").await {
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
        chunk: &[JobSpec],
        ids: &[i64],
    ) -> Result<Vec<EnqueueStatus>, ActionError> {
        let client = session.client();
        let delays = delays_of(chunk);
        let c = Columns::new(chunk, &delays);
        if c.dedupe.iter().all(Option::is_none) {
            let has_delays = delays.iter().any(Option::is_some);
            let has_headers = chunk.iter().any(|j| !j.headers.is_null());
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
        // Prepared per chunk, as a one-off statement: the planner then sees
        // the real array sizes (a cached generic plan may not).
        let rows = client
            .query(
                &s.dedupe,
                &[
                    &c.priority,
                    &c.entrypoint,
                    &c.payload,
                    &c.delay,
                    &c.dedupe,
                    &c.headers,
                    &ids,
                ],
            )
            .await
            .map_err(|e| missing_schema_or(session, e, "enqueueing"))?;
        Ok(statuses_of(&rows))
    }
}

/// Statements of one bulk connection, prepared once each.
struct Prepared {
    draw_ids: tokio_postgres::Statement,
    /// [`fast_enqueue_sql`] by (delays, headers), prepared on first use.
    fast: [Option<tokio_postgres::Statement>; 4],
    dedupe: String,
}

impl Prepared {
    async fn fast(
        &mut self,
        session: &Session,
        delays: bool,
        headers: bool,
    ) -> Result<tokio_postgres::Statement, ActionError> {
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

/// Enqueue `jobs` in chunks of `chunk_size`, each chunk one INSERT statement
/// in its own transaction, all or nothing, over every given session at once
/// (one connection each; one session is the plain sequential loop).
///
/// What lands in the database is what one connection inserting chunk after
/// chunk would leave: the same rows and `queued` log rows, one NOTIFY per
/// chunk, ids increasing in input order (drawn from the queue's sequence
/// chunk by chunk, in order), commits in input order, and a dedupe key that
/// appears in two chunks seen by the later chunk as committed. When a chunk
/// fails, the chunks before it are committed and nothing of it or after it
/// is. `on_written` gets the number of jobs committed so far.
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
    if sessions.iter().any(|s| s.read_only) {
        return Err(ActionError::ReadOnly {
            action: command_line(jobs, on_conflict),
        });
    }
    // All sessions reach the same server: asking one is enough.
    super::refuse_on_standby(&sessions[0], || command_line(jobs, on_conflict)).await?;
    let chunks = jobs.len().div_ceil(chunk_size);
    if chunks == 0 {
        return Ok(BulkOutcome {
            statuses: vec![],
            failure: None,
        });
    }
    let mut last = std::collections::HashMap::new();
    let after = (0..chunks)
        .map(|i| {
            let start = i * chunk_size;
            let chunk = &jobs[start..(start + chunk_size).min(jobs.len())];
            let mut after = None;
            for key in chunk.iter().filter_map(|j| j.dedupe_key.as_deref()) {
                if let Some(d) = last.insert(key, i).filter(|&d| d < i) {
                    after = after.max(Some(d));
                }
            }
            after
        })
        .collect();
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
    let bulk = Bulk {
        jobs,
        chunk_size,
        chunks,
        on_conflict,
        after,
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
    let statuses = bulk.results.into_inner().into_iter().flatten().collect();
    Ok(BulkOutcome {
        statuses,
        failure: bulk.failure.into_inner(),
    })
}

/// An undefined table (42P01) or type (42704) means PGQueuer is not installed here.
pub(super) fn missing_schema_or(
    session: &Session,
    e: tokio_postgres::Error,
    context: &str,
) -> ActionError {
    let code = e.code().map(|c| c.code().to_string());
    if matches!(code.as_deref(), Some("42P01" | "42704" | "3F000")) {
        return ActionError::NotInstalled {
            names: session.names.to_string(),
            missing: e
                .as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_default(),
        };
    }
    db_err(context)(e)
}

/// Put held (`failed`) jobs back to `queued` with attempts reset; ids that are
/// not held are ignored. Logs one `queued` row per requeued job, like PGQueuer.
pub(super) async fn requeue(session: &Session, ids: &[i64]) -> Result<Outcome, ActionError> {
    let sql = requeue_sql(session);
    super::record::record(&sql);
    let rows = session
        .client()
        .query(&sql, &[&ids])
        .await
        .map_err(|e| missing_schema_or(session, e, "requeueing"))?;
    Ok(Outcome::Requeued {
        requested: ids.len(),
        requeued: rows.iter().map(|r| r.get(0)).collect(),
    })
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
