SELECT id, created, status::text AS status, priority, entrypoint, traceback
FROM {queue_table_log}
WHERE job_id = $1
ORDER BY created ASC, id ASC
LIMIT $2
