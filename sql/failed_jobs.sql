SELECT {job_columns}
FROM {queue_table}
WHERE status = 'failed'::{queue_status_type}
ORDER BY created DESC, id DESC
LIMIT $1
