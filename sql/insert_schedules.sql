WITH params AS (
            SELECT UNNEST($1::text[]) AS expression, UNNEST($2::text[]) AS entrypoint,
                   UNNEST($3::float8[]) AS delay
        )
        INSERT INTO {schedules_table} (expression, next_run, entrypoint)
        SELECT expression, date_trunc('seconds', NOW() + make_interval(secs => delay)), entrypoint
        FROM params
        ON CONFLICT (entrypoint, expression) DO NOTHING
