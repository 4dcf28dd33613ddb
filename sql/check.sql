WITH oldest AS (
    SELECT id, entrypoint, extract(epoch FROM now() - created)::float8 AS age
    FROM {queue_table} WHERE status = 'queued'::{queue_status_type}
    ORDER BY created ASC, id ASC LIMIT 1
),
queued AS (
    SELECT entrypoint, count(*)::bigint AS n FROM {queue_table}
    WHERE status = 'queued'::{queue_status_type} GROUP BY entrypoint
),
finished AS (
    SELECT status, count FROM {statistics_table}
     WHERE created > now() - make_interval(secs => $2)
    UNION ALL
    SELECT status, count(*) FROM {queue_table_log}
     WHERE NOT aggregated AND date_trunc('sec', created) > now() - make_interval(secs => $2)
     GROUP BY status
),
late AS (
    SELECT entrypoint, expression, extract(epoch FROM now() - next_run)::float8 AS lateness
    FROM {schedules_table} WHERE next_run < now()
    ORDER BY next_run ASC, id ASC LIMIT 1
)
SELECT (SELECT id FROM oldest) AS oldest_id, (SELECT entrypoint FROM oldest) AS oldest_entrypoint,
       (SELECT age FROM oldest) AS oldest_age,
       coalesce((SELECT array_agg(entrypoint ORDER BY entrypoint) FROM queued), '{}') AS queued_entrypoints,
       coalesce((SELECT array_agg(n ORDER BY entrypoint) FROM queued), '{}') AS queued_counts,
       (SELECT count(*) FROM {queue_table} WHERE status = 'failed'::{queue_status_type})::bigint AS held,
       (SELECT count(*) FROM {queue_table} WHERE status = 'picked'::{queue_status_type}
          AND heartbeat < now() - make_interval(secs => $1))::bigint AS stale,
       coalesce((SELECT sum(count) FROM finished
          WHERE status IN ('exception'::{queue_status_type}, 'failed'::{queue_status_type})), 0)::bigint
          AS failed,
       coalesce((SELECT sum(count) FROM finished
          WHERE status IN ('successful'::{queue_status_type}, 'exception'::{queue_status_type}, 'failed'::{queue_status_type})), 0)::bigint
          AS finished,
       (SELECT entrypoint FROM late) AS late_entrypoint, (SELECT expression FROM late) AS late_expression,
       (SELECT lateness FROM late) AS lateness
