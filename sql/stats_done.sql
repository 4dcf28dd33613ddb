WITH done AS (
            SELECT entrypoint, status, created, count FROM {statistics_table}
             WHERE created > now() - make_interval(secs => $1)
               AND status IN ('successful', 'exception', 'canceled', 'failed')
            UNION ALL
            SELECT entrypoint, status, created, 1 FROM {queue_table_log}
             WHERE NOT aggregated AND created > now() - make_interval(secs => $1)
               AND status IN ('successful', 'exception', 'canceled', 'failed')
         )
         SELECT entrypoint, status::text AS status,
                least(floor(extract(epoch FROM now() - created)::float8 / $2::float8)::int, $3::int - 1)
                    AS age_slice,
                sum(count)::bigint AS count
         FROM done GROUP BY 1, 2, 3
