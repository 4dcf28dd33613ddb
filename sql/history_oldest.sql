SELECT job_id, priority, created, status::text, entrypoint, traceback IS NOT NULL
FROM {queue_table_log}
WHERE {filter}
ORDER BY job_id ASC, created DESC
LIMIT $1
