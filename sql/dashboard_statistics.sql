WITH recent AS (
            SELECT id, created, count, entrypoint, status, priority
            FROM {statistics_table} ORDER BY id DESC LIMIT $1
        ), pending AS (
            SELECT date_trunc('sec', created) AS created, count(*) AS count, entrypoint, status, priority
            FROM {queue_table_log} WHERE NOT aggregated
            GROUP BY date_trunc('sec', created), entrypoint, status, priority
        )
        SELECT coalesce(r.created, p.created) AS created,
               coalesce(r.count, 0) + coalesce(p.count, 0) AS count,
               coalesce(r.entrypoint, p.entrypoint) AS entrypoint,
               coalesce(r.status, p.status)::text AS status,
               coalesce(r.priority, p.priority) AS priority
        FROM recent r
        FULL JOIN pending p
          ON r.priority = p.priority AND r.status = p.status AND r.entrypoint = p.entrypoint
         AND date_trunc('sec', r.created) = p.created
        ORDER BY r.id DESC NULLS FIRST, p.created DESC, 3, 4, 5
        LIMIT $1
