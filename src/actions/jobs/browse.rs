//! The job browser's reads: keyset pages of jobs (the queue table, or the
//! finished jobs in the log) under a [`JobFilter`], and one job's detail.
//!
//! Pages are keyed by job id, never by OFFSET: a next page starts right after
//! the last id shown, so page 20,000 costs what page 1 does, on the primary
//! key of the queue and the `(job_id, created)` index of the log. No index
//! is added to PGQueuer's schema.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::actions::jobs::filter::{FilterError, JobFilter, Param, Where};
use crate::actions::jobs::queue_row::QueueRow;
use crate::actions::{ActionError, Session, db_err};
use crate::db::rows::{FromRow, by_name};
use crate::db::statements::Statement;

/// Which end of the id range a page starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    #[default]
    NewestFirst,
    OldestFirst,
}

/// One page of a listing: where it starts and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub order: Order,
    /// Continue after this job id (the previous page's `next_after_id`).
    pub after_id: Option<i64>,
    pub limit: u32,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            order: Order::NewestFirst,
            after_id: None,
            limit: 50,
        }
    }
}

/// How long a payload/header search may run before the server stops it.
pub const DEFAULT_SEARCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A job in a listing. From the log (history) only the log's columns are known.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobRow {
    pub id: i64,
    pub entrypoint: String,
    pub status: String,
    pub priority: i32,
    /// Queue: when the job was enqueued. History: when it finished.
    pub created: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
    pub heartbeat: Option<DateTime<Utc>>,
    pub execute_after: Option<DateTime<Utc>>,
    pub attempts: Option<i32>,
    pub dedupe_key: Option<String>,
    pub queue_manager_id: Option<Uuid>,
    pub headers: Option<serde_json::Value>,
    pub payload_bytes: Option<i64>,
    /// The first bytes of the payload, for a preview column.
    #[serde(skip)]
    pub payload_head: Option<Vec<u8>>,
    /// History: whether the log row carries a traceback.
    pub has_traceback: Option<bool>,
}

by_name! {
    /// A finished job's log row in a history listing.
    struct HistoryRow {
        job_id: i64,
        priority: i32,
        created: DateTime<Utc>,
        status: String,
        entrypoint: String,
        has_traceback: bool,
    }
}

by_name! {
    /// One job's payload (`job_payloads.sql`).
    struct JobPayload {
        id: i64,
        payload: Option<Vec<u8>>,
    }
}

impl JobRow {
    /// A queue row of a listing, with its payload's first bytes.
    fn from_queue(r: &Row) -> Result<JobRow, tokio_postgres::Error> {
        let q = QueueRow::from_row(r)?;
        Ok(JobRow {
            id: q.id,
            priority: q.priority,
            queue_manager_id: q.queue_manager_id,
            created: q.created,
            updated: Some(q.updated),
            heartbeat: Some(q.heartbeat),
            execute_after: Some(q.execute_after),
            status: q.status,
            entrypoint: q.entrypoint,
            dedupe_key: q.dedupe_key,
            attempts: Some(q.attempts),
            headers: q.headers,
            payload_bytes: q.payload_bytes,
            payload_head: r.try_get("payload_head")?,
            has_traceback: None,
        })
    }

    fn from_log(r: &Row) -> Result<JobRow, tokio_postgres::Error> {
        let h = HistoryRow::from_row(r)?;
        Ok(JobRow {
            id: h.job_id,
            priority: h.priority,
            created: h.created,
            status: h.status,
            entrypoint: h.entrypoint,
            has_traceback: Some(h.has_traceback),
            updated: None,
            heartbeat: None,
            execute_after: None,
            attempts: None,
            dedupe_key: None,
            queue_manager_id: None,
            headers: None,
            payload_bytes: None,
            payload_head: None,
        })
    }
}

/// A page of jobs and the cursor of the next one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobsPage {
    pub history: bool,
    pub rows: Vec<JobRow>,
    /// `--after-id` for the next page; `None` when this page is the last.
    pub next_after_id: Option<i64>,
    /// The server's EXPLAIN ANALYZE of the page's statement, when asked
    /// for (the benchmark's server-side times).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<String>,
}

/// The statement, WHERE clause (the cursor included) and parameters of a page.
pub fn page_query(
    session_names: &crate::settings::names::ObjectNames,
    filter: &JobFilter,
    history: bool,
    page: &PageRequest,
) -> Result<(String, Where), FilterError> {
    // $1 is the skeleton's LIMIT; the filter's binds follow.
    let mut w = if history {
        filter.log_where(2)?
    } else {
        filter.queue_where(2)?
    };
    let id_column = if history { "job_id" } else { "id" };
    if let Some(after) = page.after_id {
        let op = match page.order {
            Order::NewestFirst => "<",
            Order::OldestFirst => ">",
        };
        let n = w.params.len() + 2;
        let cursor = format!("{id_column} {op} ${n}");
        w.sql = if w.sql == "true" {
            cursor
        } else {
            format!("{} AND {cursor}", w.sql)
        };
        w.params.push(Param::BigInt(after));
    }
    let statement = match (history, page.order) {
        (false, Order::NewestFirst) => Statement::JobsNewest,
        (false, Order::OldestFirst) => Statement::JobsOldest,
        (true, Order::NewestFirst) => Statement::HistoryNewest,
        (true, Order::OldestFirst) => Statement::HistoryOldest,
    };
    Ok((statement.render_filtered(session_names, &w.sql), w))
}

pub(in crate::actions) async fn page(
    session: &Session,
    filter: &JobFilter,
    history: bool,
    request: &PageRequest,
    search_timeout: Duration,
) -> Result<JobsPage, ActionError> {
    let limit = i64::from(request.limit);
    if filter.search.is_none() {
        let (sql, w) = page_query(&session.names, filter, history, request)?;
        let rows = query_page(session, &sql, limit, &w, "listing jobs").await?;
        return finish(history, rows, limit, "listing jobs");
    }
    session
        .read_only(search_timeout, "starting the search", async || {
            search_pages(session, filter, request, search_timeout).await
        })
        .await
        .map_err(|e| e.search_timed_out_or_self(search_timeout))
}

/// EXPLAIN (ANALYZE, BUFFERS) of the page's (first) statement, with the
/// same parameters: what the server spends on it, without the client.
pub(in crate::actions) async fn explain(
    session: &Session,
    filter: &JobFilter,
    history: bool,
    request: &PageRequest,
) -> Result<Vec<String>, ActionError> {
    let (sql, w) = page_query(&session.names, filter, history, request)?;
    let limit = i64::from(request.limit);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&limit];
    params.extend(w.refs());
    session
        .read_sql(
            &format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"),
            &params,
            "explaining the page",
        )
        .await
}

async fn query_page(
    session: &Session,
    sql: &str,
    limit: i64,
    w: &Where,
    context: &str,
) -> Result<Vec<Row>, ActionError> {
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&limit];
    params.extend(w.refs());
    session.read_rows(sql, &params, context).await
}

fn finish(
    history: bool,
    rows: Vec<Row>,
    limit: i64,
    context: &str,
) -> Result<JobsPage, ActionError> {
    let decode = if history {
        JobRow::from_log
    } else {
        JobRow::from_queue
    };
    let rows = rows
        .iter()
        .map(decode)
        .collect::<Result<Vec<JobRow>, _>>()
        .map_err(db_err(context))?;
    let next_after_id = (rows.len() as i64 >= limit && limit > 0)
        .then(|| rows.last().map(|r| r.id))
        .flatten();
    Ok(JobsPage {
        history,
        rows,
        next_after_id,
        plan: Vec::new(),
    })
}

/// A search: the SQL narrows, and a key=value search is decided on the
/// payloads of the rows it returned, page after page until this page is full.
async fn search_pages(
    session: &Session,
    filter: &JobFilter,
    request: &PageRequest,
    timeout: Duration,
) -> Result<JobsPage, ActionError> {
    let limit = i64::from(request.limit);
    let context = format!(
        "searching payloads and headers (stopped after {}s: narrow the filter or raise the search timeout)",
        timeout.as_secs_f64()
    );
    let Some(search) = filter
        .search
        .as_ref()
        .filter(|_| filter.needs_payload_check())
    else {
        let (sql, w) = page_query(&session.names, filter, false, request)?;
        let rows = query_page(session, &sql, limit, &w, &context).await?;
        return finish(false, rows, limit, &context);
    };
    let started = Instant::now();
    let mut found: Vec<JobRow> = Vec::new();
    let mut cursor = request.clone();
    loop {
        let (sql, w) = page_query(&session.names, filter, false, &cursor)?;
        let candidates = finish(
            false,
            query_page(session, &sql, limit, &w, &context).await?,
            limit,
            &context,
        )?;
        let ids: Vec<i64> = candidates.rows.iter().map(|r| r.id).collect();
        let payload_of = read_payloads(session, &ids, &context).await?;
        for row in candidates.rows {
            let payload = payload_of.get(&row.id).and_then(Option::as_deref);
            if search.matches(payload, row.headers.as_ref()) {
                found.push(row);
            }
        }
        match candidates.next_after_id {
            Some(next) if (found.len() as i64) < limit => {
                if started.elapsed() > timeout {
                    return Err(ActionError::SearchTimedOut {
                        seconds: timeout.as_secs_f64(),
                    });
                }
                cursor.after_id = Some(next);
            }
            Some(_) => break,
            None => {
                found.truncate(request.limit as usize);
                return Ok(JobsPage {
                    history: false,
                    rows: found,
                    next_after_id: None,
                    plan: Vec::new(),
                });
            }
        }
    }
    found.truncate(request.limit as usize);
    let next_after_id = found.last().map(|r| r.id);
    Ok(JobsPage {
        history: false,
        rows: found,
        next_after_id,
        plan: Vec::new(),
    })
}

/// One job: its queue row when it is still there, and its whole log.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobDetail {
    pub id: i64,
    pub job: Option<QueueJob>,
    pub log: Vec<LogEntry>,
    /// Why the job is where it is (`pgq why`'s sentences).
    /// Filled by `why::detail`; empty from [`detail`] alone.
    pub why: Vec<crate::actions::reports::reasons::Reason>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueJob {
    pub id: i64,
    pub priority: i32,
    pub queue_manager_id: Option<Uuid>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub heartbeat: DateTime<Utc>,
    pub execute_after: DateTime<Utc>,
    pub status: String,
    pub entrypoint: String,
    pub dedupe_key: Option<String>,
    /// `None` also when the caller already had it (see [`Self::payload_left_out`]).
    #[serde(skip)]
    pub payload: Option<Vec<u8>>,
    pub headers: Option<serde_json::Value>,
    pub attempts: i32,
    pub slot: Option<i64>,
    /// The payload's SHA-256 (`None` for a NULL payload), always sent.
    #[serde(skip)]
    pub payload_sha256: Option<Vec<u8>>,
}

impl QueueJob {
    /// The payload was not read because it is the one whose digest the
    /// caller passed (`known_payload`).
    pub fn payload_left_out(&self) -> bool {
        self.payload.is_none() && self.payload_sha256.is_some()
    }
}

by_name! {
    #[derive(Debug, Clone, Serialize, PartialEq)]
    pub struct LogEntry {
        pub id: i64,
        pub created: DateTime<Utc>,
        pub status: String,
        pub priority: i32,
        pub entrypoint: String,
        pub traceback: Option<serde_json::Value>,
    }
}

/// `job_row.sql`: the queue row and its payload's digest.
struct QueueJobRow {
    row: QueueRow,
    payload_sha256: Option<Vec<u8>>,
}

impl FromRow for QueueJobRow {
    fn from_row(r: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(QueueJobRow {
            row: QueueRow::from_row(r)?,
            payload_sha256: r.try_get("payload_sha256")?,
        })
    }
}

impl From<QueueJobRow> for QueueJob {
    fn from(
        QueueJobRow {
            row,
            payload_sha256,
        }: QueueJobRow,
    ) -> QueueJob {
        QueueJob {
            id: row.id,
            priority: row.priority,
            queue_manager_id: row.queue_manager_id,
            created: row.created,
            updated: row.updated,
            heartbeat: row.heartbeat,
            execute_after: row.execute_after,
            status: row.status,
            entrypoint: row.entrypoint,
            dedupe_key: row.dedupe_key,
            // Read by `detail`, unless the caller has it.
            payload: None,
            headers: row.headers,
            attempts: row.attempts,
            slot: row.slot,
            payload_sha256,
        }
    }
}

impl JobDetail {
    /// The newest traceback of the log, if any.
    pub fn last_traceback(&self) -> Option<&LogEntry> {
        self.log.iter().rev().find(|e| e.traceback.is_some())
    }

    pub fn entrypoint(&self) -> &str {
        self.job
            .as_ref()
            .map(|j| j.entrypoint.as_str())
            .or_else(|| self.log.last().map(|e| e.entrypoint.as_str()))
            .unwrap_or_default()
    }

    /// The queue row's status, else the newest log status.
    pub fn status(&self) -> &str {
        self.job
            .as_ref()
            .map(|j| j.status.as_str())
            .or_else(|| self.log.last().map(|e| e.status.as_str()))
            .unwrap_or_default()
    }
}

/// The whole payloads of the given queue jobs (those still there).
pub async fn payloads(
    session: &Session,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Option<Vec<u8>>>, ActionError> {
    read_payloads(session, ids, "reading the jobs' payloads").await
}

async fn read_payloads(
    session: &Session,
    ids: &[i64],
    context: &str,
) -> Result<std::collections::HashMap<i64, Option<Vec<u8>>>, ActionError> {
    let ids = ids.to_vec();
    let rows: Vec<JobPayload> = session
        .read(Statement::JobPayloads, &[&ids], context)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.payload)).collect())
}

/// At most this many log rows per job (PGQueuer's own history view shows 100).
pub const LOG_HISTORY_LIMIT: i64 = 1000;

/// A payload is read in slices of this many bytes: the connection's read
/// buffer grows to the largest message it receives and keeps that size, so
/// a 10 MB payload read whole would cost 10 MB for as long as the
/// connection lives (the console's, for hours).
const PAYLOAD_SLICE: i32 = 1 << 20;

/// `known_payload` is the SHA-256 of the payload the caller holds: that
/// payload is not read again, so a detail refreshed while open does not
/// carry megabytes when only its status or heartbeat changed.
pub(in crate::actions) async fn detail(
    session: &Session,
    id: i64,
    known_payload: Option<&[u8]>,
) -> Result<JobDetail, ActionError> {
    // The row and its log go out together (one round trip).
    let (row_params, log_params): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 2]) =
        ([&id], [&id, &LOG_HISTORY_LIMIT]);
    let (rows, log) = tokio::try_join!(
        session.read::<QueueJobRow>(Statement::JobRow, &row_params, "reading the job"),
        session.read::<LogEntry>(
            Statement::JobLogHistory,
            &log_params,
            "reading the job's log"
        ),
    )?;
    let row = rows.into_iter().next();
    let payload_length = row.as_ref().and_then(|r| r.row.payload_bytes);
    let mut job = row.map(QueueJob::from);
    if let Some(job) = job.as_mut()
        && let Some(length) = payload_length
        && job.payload_sha256.as_deref() != known_payload
    {
        (job.payload, job.payload_sha256) = match length {
            0 => (Some(Vec::new()), job.payload_sha256.take()),
            _ => payload_in_slices(session, id, length).await?,
        };
    }
    if job.is_none() && log.is_empty() {
        return Err(ActionError::UnknownJob { id });
    }
    Ok(JobDetail {
        id,
        job,
        log,
        why: Vec::new(),
    })
}

/// Job `id`'s payload (`length` bytes when its row was read) and its
/// SHA-256, from one statement so that they agree even if the payload has
/// changed since; appended slice by slice as the slices arrive.
async fn payload_in_slices(
    session: &Session,
    id: i64,
    length: i64,
) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>), ActionError> {
    use futures_util::TryStreamExt;
    let sql = Statement::JobPayloadChunks.render(&session.names);
    let reading =
        |e| crate::actions::session::missing_schema_or(session, e, "reading the job's payload");
    let params: [&(dyn ToSql + Sync); 2] = [&id, &PAYLOAD_SLICE];
    let slices = session
        .client()
        .query_raw(&sql, &params)
        .await
        .map_err(reading)?;
    futures_util::pin_mut!(slices);
    let mut payload: Option<Vec<u8>> = None;
    let mut sha256 = None;
    while let Some(row) = slices.try_next().await.map_err(reading)? {
        let slice: &[u8] = row.try_get("slice").map_err(reading)?;
        if payload.is_none() {
            sha256 = row.try_get("payload_sha256").map_err(reading)?;
        }
        payload
            .get_or_insert_with(|| Vec::with_capacity(usize::try_from(length).unwrap_or_default()))
            .extend_from_slice(slice);
    }
    // A payload that grew meanwhile was grown by doubling: give back the
    // spare.
    if let Some(bytes) = payload.as_mut() {
        bytes.shrink_to_fit();
    }
    Ok((payload, sha256))
}
