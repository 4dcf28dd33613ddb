WITH available AS (
SELECT UNNEST($2::text[]) AS entrypoint
),
next_queued AS (
SELECT job.id, job.priority
                 FROM available CROSS JOIN LATERAL (
                     SELECT candidate.id, candidate.priority FROM {queue_table} candidate
                     WHERE candidate.entrypoint = available.entrypoint
                       AND candidate.status = 'queued' AND candidate.execute_after < NOW()
                     ORDER BY candidate.priority DESC, candidate.id ASC
                     LIMIT $1::bigint FOR UPDATE SKIP LOCKED
                 ) job
                 
                 ORDER BY job.priority DESC, job.id ASC
                 LIMIT $1::bigint
),
next_stale AS (
SELECT stale.id, stale.priority FROM {queue_table} stale
             WHERE stale.status = 'picked' AND stale.entrypoint = ANY($2::text[])
               AND stale.heartbeat < NOW() - make_interval(secs => $4::float8)
               AND stale.execute_after < NOW()
               
             ORDER BY stale.priority DESC, stale.id ASC
             FOR UPDATE SKIP LOCKED
             LIMIT $1::bigint
),
eligible AS (
SELECT id FROM (
                     SELECT id, priority FROM next_queued
                     UNION ALL
                     SELECT id, priority FROM next_stale
                 ) combined
                 ORDER BY priority DESC, id ASC
                 LIMIT $1::bigint
),
claimed AS (
UPDATE {queue_table}
                 SET status = 'picked', updated = NOW(), heartbeat = NOW(), queue_manager_id = $3::uuid
                 WHERE id IN (SELECT id FROM eligible)
                 RETURNING *
),
log_pick AS (
INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
             SELECT id, status, entrypoint, priority FROM claimed
)
SELECT id, priority, entrypoint, payload, headers, attempts, created, execute_after
FROM claimed ORDER BY priority DESC, id ASC
