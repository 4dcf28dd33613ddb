SELECT id, priority, queue_manager_id, created, updated, heartbeat, execute_after, status::text,
       entrypoint, dedupe_key, length(payload), headers, attempts, slot, sha256(payload)
FROM {queue_table}
WHERE id = $1
