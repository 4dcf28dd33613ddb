WITH guard AS (
            SELECT pg_try_advisory_xact_lock(hashtext('{statistics_table}')) AS proceed
        ), batch AS (
            SELECT id FROM {queue_table_log}, guard
            WHERE NOT aggregated AND guard.proceed
            LIMIT $1
        ), flagged AS (
            UPDATE {queue_table_log} SET aggregated = TRUE
            WHERE id = ANY (ARRAY(SELECT id FROM batch)) AND NOT aggregated
            RETURNING entrypoint, priority, status, created
        ), upserted AS (
            INSERT INTO {statistics_table} (count, created, entrypoint, priority, status)
            SELECT COUNT(*), date_trunc('sec', created), entrypoint, priority, status
            FROM flagged
            GROUP BY entrypoint, priority, status, date_trunc('sec', created)
            ON CONFLICT (priority, date_trunc('sec'::text, timezone('UTC'::text, created)), status, entrypoint)
            DO UPDATE SET count = {statistics_table}.count + EXCLUDED.count
        )
        SELECT COUNT(*) FROM flagged
