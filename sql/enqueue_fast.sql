WITH written AS (
            INSERT INTO {queue_table} (id, priority, entrypoint, payload, execute_after, headers, status)
            SELECT id, priority, entrypoint, payload, now(), 'null'::jsonb, 'queued'::{queue_status_type}
            FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bytea[]) AS t(id, priority, entrypoint, payload)
            RETURNING id, entrypoint, priority
        )
        INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
        SELECT id, 'queued'::{queue_status_type}, entrypoint, priority FROM written
