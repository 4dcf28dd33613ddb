WITH job AS (
    SELECT id, priority, entrypoint, status, execute_after, heartbeat, dedupe_key
    FROM {queue_table} WHERE id = $1
),
recent AS (
    SELECT l.entrypoint = job.entrypoint AS mine, l.status
    FROM {queue_table_log} l CROSS JOIN job
    WHERE l.created > now() - make_interval(secs => $2)
),
last_pick AS (
    SELECT max(l.created) AS at
    FROM {queue_table_log} l CROSS JOIN job
    WHERE l.entrypoint = job.entrypoint AND l.status = 'picked'::{queue_status_type}
      AND l.created > now() - interval '7 days'
),
blocker AS (
    SELECT b.id, b.status::text AS status
    FROM {queue_table} b CROSS JOIN job
    WHERE job.dedupe_key IS NOT NULL AND b.dedupe_key = job.dedupe_key AND b.id <> job.id
      AND b.status IN ('queued'::{queue_status_type}, 'picked'::{queue_status_type})
    ORDER BY b.id LIMIT 1
)
SELECT extract(epoch FROM job.execute_after - now())::float8 AS due_in,
       (SELECT count(*) FROM {queue_table} q
         WHERE q.entrypoint = job.entrypoint AND q.status = 'queued'::{queue_status_type}
           AND q.execute_after < now()
           AND (q.priority > job.priority OR (q.priority = job.priority AND q.id < job.id)))::bigint AS ahead,
       (SELECT count(*) FROM recent
         WHERE mine AND status NOT IN ('queued'::{queue_status_type}, 'picked'::{queue_status_type}))::bigint
           AS finished_recently,
       (SELECT count(*) FROM recent WHERE mine AND status = 'picked'::{queue_status_type})::bigint
           AS picked_recently,
       (SELECT count(*) FROM recent WHERE NOT mine AND status = 'picked'::{queue_status_type})::bigint
           AS others_picked_recently,
       (SELECT extract(epoch FROM now() - at)::float8 FROM last_pick) AS last_pick_age,
       (SELECT count(*) FROM {queue_table} q
         WHERE q.entrypoint = job.entrypoint AND q.status = 'picked'::{queue_status_type}
           AND q.heartbeat >= now() - make_interval(secs => $3))::bigint AS running,
       extract(epoch FROM now() - job.heartbeat)::float8 AS heartbeat_age,
       (SELECT id FROM blocker) AS blocker_id,
       (SELECT status FROM blocker) AS blocker_status
FROM job
