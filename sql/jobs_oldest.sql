SELECT id, priority, queue_manager_id, created, updated, heartbeat, execute_after, status::text,
       entrypoint, dedupe_key, attempts, headers, length(payload)::bigint,
       substring(payload FROM 1 FOR 256)
FROM {queue_table}
WHERE {filter}
ORDER BY id ASC
LIMIT $1
