SELECT {job_columns}, tb.traceback, tb.failed_at
FROM {queue_table} q
LEFT JOIN LATERAL (
    SELECT l.traceback, l.created AS failed_at FROM {queue_table_log} l
    WHERE l.job_id = q.id AND l.traceback IS NOT NULL
    ORDER BY l.created DESC, l.id DESC LIMIT 1
) tb ON true
WHERE q.status = 'failed'::{queue_status_type}
ORDER BY q.updated DESC, q.id DESC
LIMIT $1
