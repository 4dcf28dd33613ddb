//! Job writes: enqueue (single and bulk) and requeue of held jobs.
//!
//! Rows are written exactly as Python PGQueuer 1.6.0 writes them: status
//! `queued`, `execute_after = now() + delay`, headers a JSON object or JSON
//! `null`, and one `queued` log row per inserted job.

use std::time::Duration;

use super::{ActionError, Outcome, Session, db_err};
use crate::schema::declare::dedupe_predicate;
use crate::schema::render::spelled;

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

/// The enqueue statement: parallel arrays expanded with UNNEST, ids drawn in a
/// materialised CTE (so each input row keeps its id across the join), one log
/// row per inserted job, and one result row per input in input order.
pub fn enqueue_sql(session: &Session, on_conflict: Conflict) -> String {
    let n = &session.names;
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    let status = spelled(&n.queue_status_type, n);
    let predicate = spelled(&dedupe_predicate(&n.queue_status_type), n);
    let action = match on_conflict {
        Conflict::UpdatePriority => {
            format!("DO UPDATE SET priority = GREATEST({queue}.priority, EXCLUDED.priority)")
        }
        _ => "DO NOTHING".into(),
    };
    format!(
        "WITH input AS MATERIALIZED (
            SELECT nextval(pg_get_serial_sequence('{queue}', 'id')) AS id, t.*
            FROM unnest($1::int[], $2::text[], $3::bytea[], $4::text[]::interval[], $5::text[], $6::jsonb[])
                 WITH ORDINALITY AS t(priority, entrypoint, payload, delay, dedupe_key, headers, ord)
        ), written AS (
            INSERT INTO {queue} (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
            SELECT id, priority, entrypoint, payload, now() + delay, dedupe_key, headers, 'queued'::{status}
            FROM input ORDER BY ord
            ON CONFLICT (dedupe_key) WHERE {predicate} {action}
            RETURNING id, entrypoint, priority, dedupe_key, xmax = 0 AS fresh
        ), logged AS (
            INSERT INTO {log} (job_id, status, entrypoint, priority)
            SELECT id, 'queued'::{status}, entrypoint, priority FROM written WHERE fresh
        )
        SELECT input.ord, coalesce(mine.id, kept.id), coalesce(mine.fresh, false)
        FROM input
        LEFT JOIN written AS mine ON mine.id = input.id
        LEFT JOIN written AS kept ON NOT kept.fresh AND kept.dedupe_key = input.dedupe_key
        ORDER BY input.ord"
    )
}

fn interval_of(d: Duration) -> String {
    format!("{} microseconds", d.as_micros())
}

pub(super) async fn enqueue(
    session: &Session,
    jobs: &[JobSpec],
    on_conflict: Conflict,
) -> Result<Outcome, ActionError> {
    let mut priority = Vec::with_capacity(jobs.len());
    let mut entrypoint = Vec::with_capacity(jobs.len());
    let mut payload = Vec::with_capacity(jobs.len());
    let mut delay = Vec::with_capacity(jobs.len());
    let mut dedupe = Vec::with_capacity(jobs.len());
    let mut headers = Vec::with_capacity(jobs.len());
    for job in jobs {
        priority.push(job.priority);
        entrypoint.push(job.entrypoint.as_str());
        payload.push(job.payload.as_deref());
        delay.push(interval_of(job.execute_after));
        dedupe.push(job.dedupe_key.as_deref());
        headers.push(&job.headers);
    }
    let client = session.client();
    // Delays travel as text ("N microseconds") and are cast in SQL.
    let sql = enqueue_sql(session, on_conflict);
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
            &[&priority, &entrypoint, &payload, &delay, &dedupe, &headers],
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
    let statuses: Vec<EnqueueStatus> = rows
        .iter()
        .map(
            |row| match (row.get::<_, Option<i64>>(1), row.get::<_, Option<bool>>(2)) {
                (Some(id), Some(true)) => EnqueueStatus::Enqueued(id),
                (Some(id), _) => EnqueueStatus::Updated(id),
                (None, _) => EnqueueStatus::Skipped,
            },
        )
        .collect();
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
pub fn requeue_sql(session: &Session) -> String {
    let n = &session.names;
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    let status = spelled(&n.queue_status_type, n);
    format!(
        "WITH requeued AS (
            UPDATE {queue}
               SET status = 'queued'::{status}, execute_after = now(), updated = now(),
                   attempts = 0, queue_manager_id = NULL
             WHERE id = ANY($1::bigint[]) AND status = 'failed'::{status}
            RETURNING id, entrypoint, priority
        ), logged AS (
            INSERT INTO {log} (job_id, status, entrypoint, priority)
            SELECT id, 'queued'::{status}, entrypoint, priority FROM requeued
        )
        SELECT id FROM requeued ORDER BY id"
    )
}
