SELECT id, priority, queue_manager_id, created, updated, heartbeat, execute_after, status::text,
       entrypoint, dedupe_key, payload, headers, attempts, slot
FROM {queue_table}
WHERE id = $1
