WITH params AS (
SELECT UNNEST($2::text[]) AS entrypoint, UNNEST($5::bigint[]) AS concurrency_limit
),
picked AS (
SELECT entrypoint, COUNT(*) AS total FROM {queue_table}
                 WHERE queue_manager_id IS NOT NULL AND entrypoint = ANY($2::text[])
                 GROUP BY entrypoint
),
available AS (
SELECT params.entrypoint,
                    CASE WHEN params.concurrency_limit <= 0 THEN NULL
                         ELSE params.concurrency_limit - COALESCE(picked.total, 0) END AS remaining
             FROM params LEFT JOIN picked ON picked.entrypoint = params.entrypoint
             WHERE params.concurrency_limit <= 0
                OR COALESCE(picked.total, 0) < params.concurrency_limit
),
worker_load AS (
SELECT COUNT(*) AS total, GREATEST(LEAST($1::bigint, $6::bigint - COUNT(*)), 0) AS headroom
                 FROM {queue_table} WHERE queue_manager_id = $3::uuid AND entrypoint = ANY($2::text[])
),
unlimited_claims AS (
SELECT job.id, job.priority, available.entrypoint
                 FROM available CROSS JOIN LATERAL (
                     SELECT candidate.id, candidate.priority FROM {queue_table} candidate
                     WHERE candidate.entrypoint = available.entrypoint
                       AND candidate.status = 'queued' AND candidate.execute_after < NOW()
                     ORDER BY candidate.priority DESC, candidate.id ASC
                     LIMIT $1::bigint FOR UPDATE SKIP LOCKED
                 ) job
                 WHERE available.remaining IS NULL
),
limited_claims AS (
SELECT job.id, job.priority, available.entrypoint
                 FROM available CROSS JOIN LATERAL (
                     SELECT locked.id, locked.priority FROM (
                         SELECT candidate.id FROM {queue_table} candidate
                         WHERE candidate.entrypoint = available.entrypoint
                           AND candidate.status = 'queued' AND candidate.execute_after < NOW()
                         ORDER BY candidate.priority DESC, candidate.id ASC
                         LIMIT LEAST($1::bigint, available.remaining)
                     ) capped CROSS JOIN LATERAL (
                         SELECT target.id, target.priority FROM {queue_table} target
                         WHERE target.id = capped.id
                           AND target.status = 'queued' AND target.execute_after < NOW()
                         FOR UPDATE OF target SKIP LOCKED
                     ) locked
                     ORDER BY locked.priority DESC, locked.id ASC
                     LIMIT LEAST($1::bigint, available.remaining)
                 ) job
                 WHERE available.remaining IS NOT NULL
),
next_queued AS (
SELECT job.id, job.priority, job.entrypoint FROM (
                     SELECT id, priority, entrypoint FROM unlimited_claims
                     UNION ALL
                     SELECT id, priority, entrypoint FROM limited_claims
                 ) job
                 WHERE (SELECT total FROM worker_load) < $6::bigint
                 ORDER BY job.priority DESC, job.id ASC
                 LIMIT $1::bigint
),
next_stale AS (
SELECT stale.id, stale.priority, stale.entrypoint FROM {queue_table} stale
             WHERE stale.status = 'picked' AND stale.entrypoint = ANY($2::text[])
               AND stale.heartbeat < NOW() - make_interval(secs => $4::float8)
               AND stale.execute_after < NOW()
               AND (SELECT total FROM worker_load) < $6::bigint
             ORDER BY stale.priority DESC, stale.id ASC
             FOR UPDATE SKIP LOCKED
             LIMIT $1::bigint
),
eligible AS (
SELECT id, priority, entrypoint, fresh FROM (
                     SELECT id, priority, entrypoint, TRUE AS fresh FROM next_queued
                     UNION ALL
                     SELECT id, priority, entrypoint, FALSE AS fresh FROM next_stale
                 ) combined
                 ORDER BY priority DESC, id ASC
                 LIMIT (SELECT headroom FROM worker_load)
),
free_slots AS (
SELECT available.entrypoint, slots.slot,
                        ROW_NUMBER() OVER (PARTITION BY available.entrypoint ORDER BY slots.slot) AS slot_rank
                 FROM available
                 JOIN params ON params.entrypoint = available.entrypoint
                 CROSS JOIN LATERAL GENERATE_SERIES(
                     0,
                     params.concurrency_limit - available.remaining + LEAST($1::bigint, available.remaining) - 1
                 ) AS slots(slot)
                 WHERE available.remaining IS NOT NULL
                   AND NOT EXISTS (
                       SELECT FROM {queue_table} holder
                       WHERE holder.entrypoint = available.entrypoint
                         AND holder.status = 'picked' AND holder.slot = slots.slot
                   )
),
slot_assignments AS (
SELECT ranked.id, free_slots.slot FROM (
                 SELECT id, entrypoint,
                        ROW_NUMBER() OVER (PARTITION BY entrypoint ORDER BY priority DESC, id ASC) AS slot_rank
                 FROM eligible WHERE fresh
             ) ranked
             JOIN free_slots ON free_slots.entrypoint = ranked.entrypoint
                            AND free_slots.slot_rank = ranked.slot_rank
),
claimed AS (
UPDATE {queue_table} job
                 SET status = 'picked', updated = NOW(), heartbeat = NOW(), queue_manager_id = $3::uuid,
                     slot = CASE WHEN eligible.fresh THEN slot_assignments.slot ELSE job.slot END
                 FROM eligible
                 LEFT JOIN slot_assignments ON slot_assignments.id = eligible.id
                 LEFT JOIN params ON params.entrypoint = eligible.entrypoint
                 WHERE job.id = eligible.id
                   AND (NOT eligible.fresh OR params.concurrency_limit <= 0
                        OR slot_assignments.slot IS NOT NULL)
                 RETURNING job.*
),
log_pick AS (
INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
             SELECT id, status, entrypoint, priority FROM claimed
)
SELECT id, priority, entrypoint, payload, headers, attempts, created, execute_after
FROM claimed ORDER BY priority DESC, id ASC
