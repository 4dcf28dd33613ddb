WITH windowed AS (
            SELECT entrypoint, status, count FROM {statistics_table}
             WHERE created > now() - make_interval(secs => $1)
            UNION ALL
            SELECT entrypoint, status, count(*) FROM {queue_table_log}
             WHERE NOT aggregated AND date_trunc('sec', created) > now() - make_interval(secs => $1)
             GROUP BY entrypoint, status
         )
         SELECT entrypoint, status::text AS status, sum(count)::bigint AS count
         FROM windowed GROUP BY entrypoint, status
