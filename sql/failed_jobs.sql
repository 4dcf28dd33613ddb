SELECT id, priority, created, updated, heartbeat, execute_after, status::text, entrypoint,
                attempts, queue_manager_id, slot, headers, coalesce(length(payload), 0)::bigint
         FROM {queue_table} WHERE status = 'failed'::{queue_status_type} ORDER BY created DESC, id DESC LIMIT $1
