WITH guard AS (
            SELECT pg_try_advisory_xact_lock(hashtext('{statistics_table}')) AS proceed
        ), log_aggregation AS (
            SELECT entrypoint, priority, status, COUNT(*) AS count,
                   date_trunc('sec', created) AS created
            FROM {queue_table_log}, guard
            WHERE NOT aggregated AND guard.proceed
            GROUP BY entrypoint, priority, status, date_trunc('sec', created)
        ), updated_logs AS (
            UPDATE {queue_table_log} SET aggregated = TRUE FROM guard
            WHERE NOT aggregated AND guard.proceed
            RETURNING id
        )
        INSERT INTO {statistics_table} (count, created, entrypoint, priority, status)
        SELECT count, created, entrypoint, priority, status FROM log_aggregation
        ON CONFLICT (priority, date_trunc('sec'::text, timezone('UTC'::text, created)), status, entrypoint)
        DO UPDATE SET count = {statistics_table}.count + EXCLUDED.count
