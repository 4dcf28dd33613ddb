WITH back AS (
            UPDATE {queue_table}
            SET status = 'queued', queue_manager_id = NULL, slot = NULL, updated = NOW()
            WHERE id = ANY($1::bigint[]) AND status = 'picked' AND queue_manager_id = $2::uuid
            RETURNING id, entrypoint, priority
        )
        INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
        SELECT id, 'queued', entrypoint, priority FROM back
