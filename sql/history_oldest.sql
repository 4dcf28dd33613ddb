SELECT job_id, priority, created, status::text AS status, entrypoint, traceback IS NOT NULL AS has_traceback
FROM {queue_table_log}
WHERE {filter}
ORDER BY job_id ASC, created DESC
LIMIT $1
