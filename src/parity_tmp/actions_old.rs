//! TEMPORARY: the statement builders as they were before sql/, copied
//! verbatim, to generate sql/ and prove the rendered files byte-identical.
#![allow(dead_code, clippy::all)]
use crate::schema::declare::dedupe_predicate;
use crate::schema::render::spelled;
use crate::settings::names::ObjectNames;

pub struct Session<'a> {
    pub names: &'a ObjectNames,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    Raise,
    Skip,
    UpdatePriority,
}

/// Where a statement's job ids come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ids {
    /// `nextval` of the queue's sequence, drawn in the statement.
    Drawn,
    /// Drawn beforehand (bulk enqueue) and passed as `$7`, one per input.
    Given,
}

/// The enqueue statement: parallel arrays expanded with UNNEST, ids drawn in a
/// materialised CTE (so each input row keeps its id across the join) or given,
/// one log row per inserted job, and one result row per input in input order.
pub fn enqueue_sql(session: &Session, on_conflict: Conflict, ids: Ids) -> String {
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
    let input = match ids {
        Ids::Drawn => format!(
            "SELECT nextval(pg_get_serial_sequence('{queue}', 'id')) AS id, t.*
            FROM unnest($1::int[], $2::text[], $3::bytea[], $4::text[]::interval[], $5::text[], $6::jsonb[])
                 WITH ORDINALITY AS t(priority, entrypoint, payload, delay, dedupe_key, headers, ord)"
        ),
        Ids::Given => "SELECT t.*
            FROM unnest($1::int[], $2::text[], $3::bytea[], $4::text[]::interval[], $5::text[], $6::jsonb[], $7::bigint[])
                 WITH ORDINALITY AS t(priority, entrypoint, payload, delay, dedupe_key, headers, id, ord)"
            .to_string(),
    };
    format!(
        "WITH input AS MATERIALIZED (
            {input}
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
pub fn fast_enqueue_sql(session: &Session, delays: bool, headers: bool) -> String {
    let n = &session.names;
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    let status = spelled(&n.queue_status_type, n);
    let mut arrays = vec!["$1::bigint[]", "$2::int[]", "$3::text[]", "$4::bytea[]"];
    let mut names = vec!["id", "priority", "entrypoint", "payload"];
    let execute_after = if delays {
        arrays.push("$5::text[]::interval[]");
        names.push("delay");
        "now() + delay"
    } else {
        "now()"
    };
    let headers = if headers {
        arrays.push(if delays { "$6::jsonb[]" } else { "$5::jsonb[]" });
        names.push("headers");
        "headers"
    } else {
        "'null'::jsonb"
    };
    let (arrays, names) = (arrays.join(", "), names.join(", "));
    format!(
        "WITH written AS (
            INSERT INTO {queue} (id, priority, entrypoint, payload, execute_after, headers, status)
            SELECT id, priority, entrypoint, payload, {execute_after}, {headers}, 'queued'::{status}
            FROM unnest({arrays}) AS t({names})
            RETURNING id, entrypoint, priority
        )
        INSERT INTO {log} (job_id, status, entrypoint, priority)
        SELECT id, 'queued'::{status}, entrypoint, priority FROM written"
    )
}

/// Draws `$1` ids from the queue's sequence, in order (one array): what the
/// enqueue statement's own `nextval` would have drawn.
pub fn draw_ids_sql(session: &Session) -> String {
    let n = &session.names;
    let queue = n.qualify(&n.queue_table);
    format!(
        "SELECT array_agg(nextval((SELECT pg_get_serial_sequence('{queue}', 'id')::regclass)))
         FROM generate_series(1, $1::int)"
    )
}
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
struct Tables {
    queue: String,
    log: String,
    stats: String,
    status: String,
}

fn tables(session: &Session) -> Tables {
    let n = &session.names;
    Tables {
        queue: n.qualify(&n.queue_table),
        log: n.qualify(&n.queue_table_log),
        stats: n.qualify(&n.statistics_table),
        status: spelled(&n.queue_status_type, n),
    }
}

pub fn dashboard_stats(session: &Session) -> String {
    let t = tables(session);
    let stats_sql = format!(
        "WITH recent AS (
            SELECT id, created, count, entrypoint, status, priority
            FROM {stats} ORDER BY id DESC LIMIT $1
        ), pending AS (
            SELECT date_trunc('sec', created) AS created, count(*) AS count, entrypoint, status, priority
            FROM {log} WHERE NOT aggregated
            GROUP BY date_trunc('sec', created), entrypoint, status, priority
        )
        SELECT coalesce(r.created, p.created), coalesce(r.count, 0) + coalesce(p.count, 0),
               coalesce(r.entrypoint, p.entrypoint), coalesce(r.status, p.status)::text,
               coalesce(r.priority, p.priority)
        FROM recent r
        FULL JOIN pending p
          ON r.priority = p.priority AND r.status = p.status AND r.entrypoint = p.entrypoint
         AND date_trunc('sec', r.created) = p.created
        ORDER BY r.id DESC NULLS FIRST, p.created DESC, 3, 4, 5
        LIMIT $1",
        stats = t.stats,
        log = t.log,
    );
    stats_sql
}
pub fn dashboard_summary(session: &Session) -> String {
    let t = tables(session);
    let summary_sql = format!(
        "SELECT entrypoint,
                count(*) FILTER (WHERE status = 'queued'::{status}),
                count(*) FILTER (WHERE status = 'picked'::{status}),
                count(*) FILTER (WHERE status = 'failed'::{status}),
                extract(epoch FROM now() - min(created) FILTER (WHERE status = 'queued'::{status}))::float8
         FROM {queue} GROUP BY entrypoint ORDER BY entrypoint",
        status = t.status,
        queue = t.queue,
    );
    summary_sql
}
pub fn failed(session: &Session) -> String {
    let t = tables(session);
    let sql = format!(
        "SELECT id, priority, created, updated, heartbeat, execute_after, status::text, entrypoint,
                attempts, queue_manager_id, slot, headers, coalesce(length(payload), 0)::bigint
         FROM {queue} WHERE status = 'failed'::{status} ORDER BY created DESC, id DESC LIMIT $1",
        queue = t.queue,
        status = t.status
    );
    sql
}
pub fn stale(session: &Session) -> String {
    let t = tables(session);
    let sql = format!(
        "SELECT id, priority, queue_manager_id, created, updated, heartbeat, execute_after,
                status::text, entrypoint, extract(epoch FROM now() - heartbeat)::float8
         FROM {queue}
         WHERE status = 'picked'::{status} AND heartbeat < now() - make_interval(secs => $1)
         ORDER BY heartbeat ASC LIMIT $2",
        queue = t.queue,
        status = t.status
    );
    sql
}
pub fn workers(session: &Session) -> String {
    let t = tables(session);
    let sql = format!(
        "SELECT queue_manager_id, count(*), min(heartbeat), max(heartbeat),
                array_agg(DISTINCT entrypoint ORDER BY entrypoint)
         FROM {queue}
         WHERE status = 'picked'::{status} AND queue_manager_id IS NOT NULL
         GROUP BY 1 ORDER BY 1",
        queue = t.queue,
        status = t.status
    );
    sql
}
pub fn backlog(session: &Session) -> String {
    let t = tables(session);
    let sql = format!(
        "SELECT entrypoint, count(*), min(created),
                extract(epoch FROM now() - min(created))::float8,
                avg(extract(epoch FROM now() - created))::float8
         FROM {queue} WHERE status = 'queued'::{status}
         GROUP BY entrypoint ORDER BY entrypoint",
        queue = t.queue,
        status = t.status
    );
    sql
}
pub fn stats(session: &Session) -> (String, String) {
    let n = &session.names;
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    let stats = n.qualify(&n.statistics_table);
    let status = spelled(&n.queue_status_type, n);
    let depth_sql = format!(
        "SELECT entrypoint,
                count(*) FILTER (WHERE status = 'queued'::{status}),
                count(*) FILTER (WHERE status = 'picked'::{status}),
                count(*) FILTER (WHERE status = 'failed'::{status}),
                extract(epoch FROM now() - min(created) FILTER (WHERE status = 'queued'::{status}))::float8
         FROM {queue} GROUP BY entrypoint"
    );
    // Terminal outcomes in the window, bucketed by age: slice 0 is the newest.
    let done_sql = format!(
        "WITH done AS (
            SELECT entrypoint, status, created, count FROM {stats}
             WHERE created > now() - make_interval(secs => $1)
               AND status IN ('successful', 'exception', 'canceled', 'failed')
            UNION ALL
            SELECT entrypoint, status, created, 1 FROM {log}
             WHERE NOT aggregated AND created > now() - make_interval(secs => $1)
               AND status IN ('successful', 'exception', 'canceled', 'failed')
         )
         SELECT entrypoint, status::text,
                least(floor(extract(epoch FROM now() - created)::float8 / $2::float8)::int, $3::int - 1),
                sum(count)::bigint
         FROM done GROUP BY 1, 2, 3"
    );
    (depth_sql, done_sql)
}
/// Columns in PGQueuer's order; the status enum as text so it reads into a
/// String whatever the enum's (prefixed) name is.
const COLUMNS: &str = "id, expression, heartbeat, created, updated, next_run, last_run, status::text AS status, entrypoint";

fn table(session: &Session) -> String {
    session.names.qualify(&session.names.schedules_table)
}

pub fn list_schedules(session: &Session) -> String {
    let sql = format!(
        "SELECT {COLUMNS} FROM {} ORDER BY last_run ASC, id ASC",
        table(session)
    );
    sql
}
pub fn remove_sql(session: &Session) -> String {
    format!(
        "DELETE FROM {} WHERE id = ANY($1) OR entrypoint = ANY($2) RETURNING {COLUMNS}",
        table(session)
    )
}

/// Make schedules due now ($1: ids): the scheduler that registered them
/// fires them at its next poll. Only idle (`queued`) schedules are touched;
/// a running one keeps its state.
pub fn run_now_sql(session: &Session) -> String {
    format!(
        "UPDATE {} SET next_run = date_trunc('seconds', now()), updated = now() \
         WHERE id = ANY($1) AND status IS DISTINCT FROM 'picked' RETURNING id",
        table(session)
    )
}
pub fn table_info(session: &Session) -> String {
    let n = &session.names;
    let sql = format!(
        "SELECT c.relname::text, c.relpersistence = 'u', pg_total_relation_size(c.oid),
                -- Never analyzed (reltuples = -1): the statistics collector's count.
                (CASE WHEN c.reltuples < 0 THEN coalesce(s.n_live_tup, 0) ELSE c.reltuples END)::bigint
         FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
         LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
         WHERE c.relkind = 'r' AND ns.nspname = {} AND c.relname = ANY($1)",
        n.schema_expr()
    );
    sql
}
pub fn held_jobs(session: &Session) -> String {
    let n = &session.names;
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    let status = spelled(&n.queue_status_type, n);
    let sql = format!(
        "SELECT q.id, q.priority, q.created, q.updated, q.heartbeat, q.execute_after, q.status::text,
                q.entrypoint, q.attempts, q.queue_manager_id, q.slot, q.headers,
                coalesce(length(q.payload), 0)::bigint, tb.traceback, tb.created
         FROM {queue} q
         LEFT JOIN LATERAL (
             SELECT l.traceback, l.created FROM {log} l
             WHERE l.job_id = q.id AND l.traceback IS NOT NULL
             ORDER BY l.created DESC, l.id DESC LIMIT 1
         ) tb ON true
         WHERE q.status = 'failed'::{status}
         ORDER BY q.updated DESC, q.id DESC LIMIT $1"
    );
    sql
}
pub fn requeue_count(session: &Session) -> String {
            let n = &session.names;
            let sql = format!(
                "SELECT count(*) FROM {} WHERE id = ANY($1) AND status = 'failed'::{}",
                n.qualify(&n.queue_table),
                spelled(&n.queue_status_type, n)
            );
    sql
}
