SELECT entrypoint, count(*) AS queued_count, min(created) AS oldest_created,
                extract(epoch FROM now() - min(created))::float8 AS oldest_age_seconds,
                avg(extract(epoch FROM now() - created))::float8 AS avg_age_seconds
         FROM {queue_table} WHERE status = 'queued'::{queue_status_type}
         GROUP BY entrypoint ORDER BY entrypoint
