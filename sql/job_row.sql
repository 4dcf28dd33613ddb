WITH job AS MATERIALIZED (
  SELECT *, sha256(payload) AS payload_sha256 FROM {queue_table} WHERE id = $1
)
SELECT id, priority, queue_manager_id, created, updated, heartbeat, execute_after, status::text,
       entrypoint, dedupe_key,
       CASE WHEN payload_sha256 IS NOT DISTINCT FROM $2::bytea THEN NULL ELSE payload END,
       headers, attempts, slot, payload_sha256
FROM job
