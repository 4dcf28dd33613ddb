WITH params AS (
            SELECT UNNEST($1::text[]) AS expression, UNNEST($2::text[]) AS entrypoint,
                   UNNEST($3::float8[]) AS delay
        ), picked_jobs AS (
            SELECT id, expression, entrypoint FROM {schedules_table}
            WHERE ((entrypoint, expression) IN (SELECT entrypoint, expression FROM params)
                   AND next_run <= NOW() AND status = 'queued')
               OR ((entrypoint, expression) IN (SELECT entrypoint, expression FROM params)
                   AND NOW() - heartbeat > interval '30 seconds' AND status = 'picked')
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {schedules_table}
        SET status = 'picked', updated = NOW(), heartbeat = NOW(),
            next_run = date_trunc('seconds', NOW() + make_interval(secs => (
                SELECT delay FROM params
                WHERE params.entrypoint = {schedules_table}.entrypoint AND params.expression = {schedules_table}.expression
            )))
        WHERE (entrypoint, expression) IN (SELECT entrypoint, expression FROM picked_jobs)
        RETURNING id, entrypoint, expression, next_run
