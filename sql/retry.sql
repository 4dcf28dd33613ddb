WITH retry AS (
            UPDATE {queue_table}
            SET status = 'queued', execute_after = NOW() + make_interval(secs => $2::float8),
                attempts = attempts + 1, updated = NOW(), queue_manager_id = NULL
            WHERE id = $1::bigint
            RETURNING id, entrypoint, priority
        )
        INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority, traceback)
        SELECT id, 'queued', entrypoint, priority, $3::text::jsonb FROM retry
