WITH requeued AS (
            UPDATE {queue_table}
               SET status = 'queued'::{queue_status_type}, execute_after = now(), updated = now(),
                   attempts = 0, queue_manager_id = NULL
             WHERE id = ANY($1::bigint[]) AND status = 'failed'::{queue_status_type}
            RETURNING id, entrypoint, priority
        ), logged AS (
            INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
            SELECT id, 'queued'::{queue_status_type}, entrypoint, priority FROM requeued
        )
        SELECT id FROM requeued ORDER BY id
