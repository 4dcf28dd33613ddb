SELECT entrypoint, count(*), min(created),
                extract(epoch FROM now() - min(created))::float8,
                avg(extract(epoch FROM now() - created))::float8
         FROM {queue_table} WHERE status = 'queued'::{queue_status_type}
         GROUP BY entrypoint ORDER BY entrypoint
