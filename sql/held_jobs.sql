SELECT q.id, q.priority, q.created, q.updated, q.heartbeat, q.execute_after, q.status::text,
                q.entrypoint, q.attempts, q.queue_manager_id, q.slot, q.headers,
                coalesce(length(q.payload), 0)::bigint, tb.traceback, tb.created
         FROM {queue_table} q
         LEFT JOIN LATERAL (
             SELECT l.traceback, l.created FROM {queue_table_log} l
             WHERE l.job_id = q.id AND l.traceback IS NOT NULL
             ORDER BY l.created DESC, l.id DESC LIMIT 1
         ) tb ON true
         WHERE q.status = 'failed'::{queue_status_type}
         ORDER BY q.updated DESC, q.id DESC LIMIT $1
