SELECT id, priority, queue_manager_id, created, updated, heartbeat, execute_after,
                status::text, entrypoint, extract(epoch FROM now() - heartbeat)::float8
         FROM {queue_table}
         WHERE status = 'picked'::{queue_status_type} AND heartbeat < now() - make_interval(secs => $1)
         ORDER BY heartbeat ASC LIMIT $2
