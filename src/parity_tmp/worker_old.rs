//! The worker's SQL, in PGQueuer 1.6.0's shapes (facts §7, §9.2).
//!
//! The dequeue statement follows PGQueuer's four gate shapes (entrypoint
//! capacity slots on/off × per-worker budget on/off) clause for clause, so a
//! pgq worker and a Python worker on one queue count picked rows, assign
//! `slot`s and skip locked rows identically. Differences are only in how
//! values travel: intervals are passed as seconds (`make_interval`) and the
//! enum casts go through `text`, because tokio-postgres has no interval type
//! and cannot bind a custom enum directly.

use crate::settings::names::ObjectNames;

/// Bind order: $1 batch size, $2 entrypoints, $3 queue_manager_id,
/// $4 heartbeat timeout (seconds), then $5 limits (capacity shape) and the
/// global limit ($5 or $6, budget shape).
pub fn dequeue(n: &ObjectNames, capacity_gated: bool, budget_gated: bool) -> String {
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    let batch = "$1::bigint";
    let eps = "$2::text[]";
    let qm = "$3::uuid";
    let heartbeat = "make_interval(secs => $4::float8)";
    let global = if capacity_gated {
        "$6::bigint"
    } else {
        "$5::bigint"
    };
    let mut ctes: Vec<(&str, String)> = Vec::new();

    if capacity_gated {
        ctes.push((
            "params",
            format!(
                "SELECT UNNEST({eps}) AS entrypoint, UNNEST($5::bigint[]) AS concurrency_limit"
            ),
        ));
        ctes.push((
            "picked",
            format!(
                "SELECT entrypoint, COUNT(*) AS total FROM {queue}
                 WHERE queue_manager_id IS NOT NULL AND entrypoint = ANY({eps})
                 GROUP BY entrypoint"
            ),
        ));
        ctes.push((
            "available",
            "SELECT params.entrypoint,
                    CASE WHEN params.concurrency_limit <= 0 THEN NULL
                         ELSE params.concurrency_limit - COALESCE(picked.total, 0) END AS remaining
             FROM params LEFT JOIN picked ON picked.entrypoint = params.entrypoint
             WHERE params.concurrency_limit <= 0
                OR COALESCE(picked.total, 0) < params.concurrency_limit"
                .to_string(),
        ));
    } else {
        ctes.push(("available", format!("SELECT UNNEST({eps}) AS entrypoint")));
    }

    let mut budget_where = String::new();
    let mut budget_and = String::new();
    let mut eligible_limit = batch.to_string();
    if budget_gated {
        ctes.push((
            "worker_load",
            format!(
                "SELECT COUNT(*) AS total, GREATEST(LEAST({batch}, {global} - COUNT(*)), 0) AS headroom
                 FROM {queue} WHERE queue_manager_id = {qm} AND entrypoint = ANY({eps})"
            ),
        ));
        let under = format!("(SELECT total FROM worker_load) < {global}");
        budget_where = format!("WHERE {under}");
        budget_and = format!("AND {under}");
        eligible_limit = "(SELECT headroom FROM worker_load)".to_string();
    }

    if capacity_gated {
        ctes.push((
            "unlimited_claims",
            format!(
                "SELECT job.id, job.priority, available.entrypoint
                 FROM available CROSS JOIN LATERAL (
                     SELECT candidate.id, candidate.priority FROM {queue} candidate
                     WHERE candidate.entrypoint = available.entrypoint
                       AND candidate.status = 'queued' AND candidate.execute_after < NOW()
                     ORDER BY candidate.priority DESC, candidate.id ASC
                     LIMIT {batch} FOR UPDATE SKIP LOCKED
                 ) job
                 WHERE available.remaining IS NULL"
            ),
        ));
        // The window is fixed before locking so SKIP LOCKED cannot slide past the cap.
        ctes.push((
            "limited_claims",
            format!(
                "SELECT job.id, job.priority, available.entrypoint
                 FROM available CROSS JOIN LATERAL (
                     SELECT locked.id, locked.priority FROM (
                         SELECT candidate.id FROM {queue} candidate
                         WHERE candidate.entrypoint = available.entrypoint
                           AND candidate.status = 'queued' AND candidate.execute_after < NOW()
                         ORDER BY candidate.priority DESC, candidate.id ASC
                         LIMIT LEAST({batch}, available.remaining)
                     ) capped CROSS JOIN LATERAL (
                         SELECT target.id, target.priority FROM {queue} target
                         WHERE target.id = capped.id
                           AND target.status = 'queued' AND target.execute_after < NOW()
                         FOR UPDATE OF target SKIP LOCKED
                     ) locked
                     ORDER BY locked.priority DESC, locked.id ASC
                     LIMIT LEAST({batch}, available.remaining)
                 ) job
                 WHERE available.remaining IS NOT NULL"
            ),
        ));
        ctes.push((
            "next_queued",
            format!(
                "SELECT job.id, job.priority, job.entrypoint FROM (
                     SELECT id, priority, entrypoint FROM unlimited_claims
                     UNION ALL
                     SELECT id, priority, entrypoint FROM limited_claims
                 ) job
                 {budget_where}
                 ORDER BY job.priority DESC, job.id ASC
                 LIMIT {batch}"
            ),
        ));
    } else {
        ctes.push((
            "next_queued",
            format!(
                "SELECT job.id, job.priority
                 FROM available CROSS JOIN LATERAL (
                     SELECT candidate.id, candidate.priority FROM {queue} candidate
                     WHERE candidate.entrypoint = available.entrypoint
                       AND candidate.status = 'queued' AND candidate.execute_after < NOW()
                     ORDER BY candidate.priority DESC, candidate.id ASC
                     LIMIT {batch} FOR UPDATE SKIP LOCKED
                 ) job
                 {budget_where}
                 ORDER BY job.priority DESC, job.id ASC
                 LIMIT {batch}"
            ),
        ));
    }

    // Stale re-picks skip the capacity gate: they move a row that is already
    // counted as picked, and gating them could block recovery for ever.
    let stale_entrypoint = if capacity_gated {
        ", stale.entrypoint"
    } else {
        ""
    };
    ctes.push((
        "next_stale",
        format!(
            "SELECT stale.id, stale.priority{stale_entrypoint} FROM {queue} stale
             WHERE stale.status = 'picked' AND stale.entrypoint = ANY({eps})
               AND stale.heartbeat < NOW() - {heartbeat}
               AND stale.execute_after < NOW()
               {budget_and}
             ORDER BY stale.priority DESC, stale.id ASC
             FOR UPDATE SKIP LOCKED
             LIMIT {batch}"
        ),
    ));

    if capacity_gated {
        ctes.push((
            "eligible",
            format!(
                "SELECT id, priority, entrypoint, fresh FROM (
                     SELECT id, priority, entrypoint, TRUE AS fresh FROM next_queued
                     UNION ALL
                     SELECT id, priority, entrypoint, FALSE AS fresh FROM next_stale
                 ) combined
                 ORDER BY priority DESC, id ASC
                 LIMIT {eligible_limit}"
            ),
        ));
        // The partial unique index on (entrypoint, slot) of picked rows makes
        // the loser of a slot race fail with 23505 instead of overshooting.
        ctes.push((
            "free_slots",
            format!(
                "SELECT available.entrypoint, slots.slot,
                        ROW_NUMBER() OVER (PARTITION BY available.entrypoint ORDER BY slots.slot) AS slot_rank
                 FROM available
                 JOIN params ON params.entrypoint = available.entrypoint
                 CROSS JOIN LATERAL GENERATE_SERIES(
                     0,
                     params.concurrency_limit - available.remaining + LEAST({batch}, available.remaining) - 1
                 ) AS slots(slot)
                 WHERE available.remaining IS NOT NULL
                   AND NOT EXISTS (
                       SELECT FROM {queue} holder
                       WHERE holder.entrypoint = available.entrypoint
                         AND holder.status = 'picked' AND holder.slot = slots.slot
                   )"
            ),
        ));
        ctes.push((
            "slot_assignments",
            "SELECT ranked.id, free_slots.slot FROM (
                 SELECT id, entrypoint,
                        ROW_NUMBER() OVER (PARTITION BY entrypoint ORDER BY priority DESC, id ASC) AS slot_rank
                 FROM eligible WHERE fresh
             ) ranked
             JOIN free_slots ON free_slots.entrypoint = ranked.entrypoint
                            AND free_slots.slot_rank = ranked.slot_rank"
                .to_string(),
        ));
        ctes.push((
            "claimed",
            format!(
                "UPDATE {queue} job
                 SET status = 'picked', updated = NOW(), heartbeat = NOW(), queue_manager_id = {qm},
                     slot = CASE WHEN eligible.fresh THEN slot_assignments.slot ELSE job.slot END
                 FROM eligible
                 LEFT JOIN slot_assignments ON slot_assignments.id = eligible.id
                 LEFT JOIN params ON params.entrypoint = eligible.entrypoint
                 WHERE job.id = eligible.id
                   AND (NOT eligible.fresh OR params.concurrency_limit <= 0
                        OR slot_assignments.slot IS NOT NULL)
                 RETURNING job.*"
            ),
        ));
    } else {
        ctes.push((
            "eligible",
            format!(
                "SELECT id FROM (
                     SELECT id, priority FROM next_queued
                     UNION ALL
                     SELECT id, priority FROM next_stale
                 ) combined
                 ORDER BY priority DESC, id ASC
                 LIMIT {eligible_limit}"
            ),
        ));
        ctes.push((
            "claimed",
            format!(
                "UPDATE {queue}
                 SET status = 'picked', updated = NOW(), heartbeat = NOW(), queue_manager_id = {qm}
                 WHERE id IN (SELECT id FROM eligible)
                 RETURNING *"
            ),
        ));
    }
    ctes.push((
        "log_pick",
        format!(
            "INSERT INTO {log} (job_id, status, entrypoint, priority)
             SELECT id, status, entrypoint, priority FROM claimed"
        ),
    ));
    let with = ctes
        .iter()
        .map(|(name, body)| format!("{name} AS (\n{body}\n)"))
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        "WITH {with}\nSELECT id, priority, entrypoint, payload, headers, attempts, created, execute_after\n\
         FROM claimed ORDER BY priority DESC, id ASC"
    )
}

/// Completions (`log_jobs`): $1 ids, $2 statuses (text), $3 tracebacks
/// (text of JSON or NULL). Held (`failed`) rows stay, the rest are deleted;
/// log rows only for rows found.
pub fn log_jobs(n: &ObjectNames) -> String {
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    let status = n.qualify(&n.queue_status_type);
    format!(
        "WITH job_status AS (
            SELECT UNNEST($1::bigint[]) AS id,
                   UNNEST($2::text[]::{status}[]) AS status,
                   UNNEST($3::text[]::jsonb[]) AS traceback
        ), deleted AS (
            DELETE FROM {queue}
            WHERE id = ANY(SELECT js.id FROM job_status js WHERE js.status != 'failed')
            RETURNING id, entrypoint, priority
        ), held AS (
            UPDATE {queue} SET status = 'failed', updated = NOW(), queue_manager_id = NULL
            WHERE id = ANY(SELECT js.id FROM job_status js WHERE js.status = 'failed')
            RETURNING id, entrypoint, priority
        ), all_resolved AS (
            SELECT id, entrypoint, priority FROM deleted
            UNION ALL
            SELECT id, entrypoint, priority FROM held
        )
        INSERT INTO {log} (job_id, status, entrypoint, priority, traceback)
        SELECT job_status.id, job_status.status, all_resolved.entrypoint,
               all_resolved.priority, job_status.traceback
        FROM job_status JOIN all_resolved ON all_resolved.id = job_status.id"
    )
}

/// `$1` ids.
pub fn heartbeat(n: &ObjectNames) -> String {
    format!(
        "UPDATE {} SET heartbeat = NOW() WHERE id = ANY($1::bigint[])",
        n.qualify(&n.queue_table)
    )
}

/// A database retry: $1 id, $2 delay seconds, $3 traceback JSON text.
pub fn retry(n: &ObjectNames) -> String {
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    format!(
        "WITH retry AS (
            UPDATE {queue}
            SET status = 'queued', execute_after = NOW() + make_interval(secs => $2::float8),
                attempts = attempts + 1, updated = NOW(), queue_manager_id = NULL
            WHERE id = $1::bigint
            RETURNING id, entrypoint, priority
        )
        INSERT INTO {log} (job_id, status, entrypoint, priority, traceback)
        SELECT id, 'queued', entrypoint, priority, $3::text::jsonb FROM retry"
    )
}

/// pgq's own: a forced shutdown hands still-running jobs back. $1 ids,
/// $2 this worker's id (a row another worker re-picked is left alone).
/// Logged `queued`, like a retry or requeue.
pub fn return_to_queue(n: &ObjectNames) -> String {
    let queue = n.qualify(&n.queue_table);
    let log = n.qualify(&n.queue_table_log);
    format!(
        "WITH back AS (
            UPDATE {queue}
            SET status = 'queued', queue_manager_id = NULL, slot = NULL, updated = NOW()
            WHERE id = ANY($1::bigint[]) AND status = 'picked' AND queue_manager_id = $2::uuid
            RETURNING id, entrypoint, priority
        )
        INSERT INTO {log} (job_id, status, entrypoint, priority)
        SELECT id, 'queued', entrypoint, priority FROM back"
    )
}

/// What to do after an empty dequeue (§8.2): is eligible work waiting, when
/// is the next deferred job due (seconds), is anything queued at all. One
/// round trip for PGQueuer's three probes. $1 entrypoints.
pub fn work_probe(n: &ObjectNames) -> String {
    let queue = n.qualify(&n.queue_table);
    format!(
        "SELECT
            EXISTS (SELECT 1 FROM {queue} WHERE entrypoint = ANY($1::text[])
                    AND status = 'queued' AND execute_after <= NOW()) AS eligible,
            (SELECT EXTRACT(EPOCH FROM execute_after - NOW())::float8 FROM {queue}
              WHERE status = 'queued' AND execute_after > NOW() AND entrypoint = ANY($1::text[])
              ORDER BY execute_after LIMIT 1) AS eta,
            EXISTS (SELECT 1 FROM {queue} WHERE entrypoint = ANY($1::text[])
                    AND status = 'queued') AS queued"
    )
}

/// Periodic log → statistics aggregation, serialised across workers by a
/// transaction-scoped advisory lock (losers do nothing).
pub fn aggregate_logs(n: &ObjectNames) -> String {
    let log = n.qualify(&n.queue_table_log);
    let stats = n.qualify(&n.statistics_table);
    format!(
        "WITH guard AS (
            SELECT pg_try_advisory_xact_lock(hashtext('{stats}')) AS proceed
        ), log_aggregation AS (
            SELECT entrypoint, priority, status, COUNT(*) AS count,
                   date_trunc('sec', created) AS created
            FROM {log}, guard
            WHERE NOT aggregated AND guard.proceed
            GROUP BY entrypoint, priority, status, date_trunc('sec', created)
        ), updated_logs AS (
            UPDATE {log} SET aggregated = TRUE FROM guard
            WHERE NOT aggregated AND guard.proceed
            RETURNING id
        )
        INSERT INTO {stats} (count, created, entrypoint, priority, status)
        SELECT count, created, entrypoint, priority, status FROM log_aggregation
        ON CONFLICT (priority, date_trunc('sec'::text, timezone('UTC'::text, created)), status, entrypoint)
        DO UPDATE SET count = {stats}.count + EXCLUDED.count"
    )
}

/// The objects a 1.6 worker needs (PGQueuer's `verify_structure`), as one
/// row of booleans.
pub fn verify_structure(n: &ObjectNames) -> String {
    let ns = n.schema_expr();
    let col = |table: &str, column: &str| {
        format!(
            "EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = {ns} \
             AND table_name = '{table}' AND column_name = '{column}')"
        )
    };
    let idx = |index: &str| {
        format!(
            "EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace \
             WHERE s.nspname = {ns} AND c.relname = '{index}' AND c.relkind = 'i')"
        )
    };
    let labels = format!(
        "(SELECT count(*) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid \
         JOIN pg_namespace s ON s.oid = t.typnamespace \
         WHERE s.nspname = {ns} AND t.typname = '{}' AND e.enumlabel IN ('canceled', 'failed')) = 2",
        n.queue_status_type
    );
    let q = &n.queue_table;
    let l = &n.queue_table_log;
    let checks = [
        (format!("table {q}"), col(q, "id")),
        (
            format!("table {}", n.statistics_table),
            col(&n.statistics_table, "id"),
        ),
        (format!("table {l}"), col(l, "id")),
        (format!("column {q}.slot"), col(q, "slot")),
        (format!("column {q}.attempts"), col(q, "attempts")),
        (format!("column {q}.headers"), col(q, "headers")),
        (format!("column {q}.execute_after"), col(q, "execute_after")),
        (
            format!("column {q}.queue_manager_id"),
            col(q, "queue_manager_id"),
        ),
        (format!("column {l}.traceback"), col(l, "traceback")),
        (
            format!("enum labels canceled/failed of {}", n.queue_status_type),
            labels,
        ),
        (
            format!("index {l}_job_id_status"),
            idx(&format!("{l}_job_id_status")),
        ),
        (
            format!("index {q}_picked_slot_idx"),
            idx(&format!("{q}_picked_slot_idx")),
        ),
    ];
    let select = checks
        .iter()
        .map(|(label, expr)| format!("({expr}) AS \"{label}\""))
        .collect::<Vec<_>>()
        .join(",\n");
    format!("SELECT {select}")
}

/// Schedules (§9.2). $1 expressions, $2 entrypoints, $3 delays (seconds).
pub fn insert_schedules(n: &ObjectNames) -> String {
    format!(
        "WITH params AS (
            SELECT UNNEST($1::text[]) AS expression, UNNEST($2::text[]) AS entrypoint,
                   UNNEST($3::float8[]) AS delay
        )
        INSERT INTO {} (expression, next_run, entrypoint)
        SELECT expression, date_trunc('seconds', NOW() + make_interval(secs => delay)), entrypoint
        FROM params
        ON CONFLICT (entrypoint, expression) DO NOTHING",
        n.qualify(&n.schedules_table)
    )
}

/// Claim due (or stale picked) schedules registered here and move their
/// `next_run` on. Same bind order as [`insert_schedules`].
pub fn fetch_schedules(n: &ObjectNames) -> String {
    let t = n.qualify(&n.schedules_table);
    format!(
        "WITH params AS (
            SELECT UNNEST($1::text[]) AS expression, UNNEST($2::text[]) AS entrypoint,
                   UNNEST($3::float8[]) AS delay
        ), picked_jobs AS (
            SELECT id, expression, entrypoint FROM {t}
            WHERE ((entrypoint, expression) IN (SELECT entrypoint, expression FROM params)
                   AND next_run <= NOW() AND status = 'queued')
               OR ((entrypoint, expression) IN (SELECT entrypoint, expression FROM params)
                   AND NOW() - heartbeat > interval '30 seconds' AND status = 'picked')
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {t}
        SET status = 'picked', updated = NOW(), heartbeat = NOW(),
            next_run = date_trunc('seconds', NOW() + make_interval(secs => (
                SELECT delay FROM params
                WHERE params.entrypoint = {t}.entrypoint AND params.expression = {t}.expression
            )))
        WHERE (entrypoint, expression) IN (SELECT entrypoint, expression FROM picked_jobs)
        RETURNING id, entrypoint, expression, next_run"
    )
}

pub fn schedule_heartbeat(n: &ObjectNames) -> String {
    format!(
        "UPDATE {} SET heartbeat = NOW(), updated = NOW() WHERE id = ANY($1::bigint[])",
        n.qualify(&n.schedules_table)
    )
}

pub fn schedule_done(n: &ObjectNames) -> String {
    format!(
        "UPDATE {} SET status = 'queued', last_run = NOW(), updated = NOW() WHERE id = ANY($1::bigint[])",
        n.qualify(&n.schedules_table)
    )
}

/// `clean_old`: drop every schedule row of these entrypoints first.
pub fn delete_schedules(n: &ObjectNames) -> String {
    format!(
        "DELETE FROM {} WHERE entrypoint = ANY($1::text[])",
        n.qualify(&n.schedules_table)
    )
}
