WITH transitions AS (
            SELECT entrypoint, status, created,
                   lag(status) OVER w AS prev_status,
                   lag(created) OVER w AS prev_created
            FROM {queue_table_log}
            WHERE created > now() - make_interval(secs => $1)
            WINDOW w AS (PARTITION BY job_id ORDER BY created, id)
         ), durations AS (
            SELECT entrypoint COLLATE "C" AS entrypoint,
                   prev_status = 'picked' AS execution,
                   least(floor(extract(epoch FROM now() - created)::float8 / $2::float8)::int, $3::int - 1) AS slice,
                   extract(epoch FROM created - prev_created)::float8 AS seconds
            FROM transitions
            WHERE (prev_status = 'picked' AND status IN ('successful', 'exception', 'canceled', 'failed'))
               OR (prev_status = 'queued' AND status = 'picked')
         )
         SELECT execution, entrypoint, slice, count(*) AS count,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY seconds) AS p95,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY seconds) AS p99,
                max(seconds) AS max
         FROM durations
         GROUP BY GROUPING SETS ((execution, entrypoint, slice), (execution, entrypoint), (execution, slice), (execution))
