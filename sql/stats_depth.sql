SELECT entrypoint,
                count(*) FILTER (WHERE status = 'queued'::{queue_status_type}),
                count(*) FILTER (WHERE status = 'picked'::{queue_status_type}),
                count(*) FILTER (WHERE status = 'failed'::{queue_status_type}),
                extract(epoch FROM now() - min(created) FILTER (WHERE status = 'queued'::{queue_status_type}))::float8
         FROM {queue_table} GROUP BY entrypoint
