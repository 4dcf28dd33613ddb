SELECT id, job_id, created, status::text AS status, priority, entrypoint, traceback
FROM {queue_table_log}
WHERE ($2::text[] IS NULL OR entrypoint = ANY($2::text[]))
  AND ($3::text IS NULL OR status::text = $3::text)
  AND ($4::bigint IS NULL OR job_id = $4::bigint)
ORDER BY id DESC
LIMIT $1
