SELECT entrypoint, status::text, count(*)::bigint,
                extract(epoch FROM now() - min(created) FILTER (WHERE status = 'queued'::{queue_status_type}))::float8,
                count(*) FILTER (WHERE status = 'picked'::{queue_status_type}
                                   AND heartbeat < now() - make_interval(secs => $1))::bigint
         FROM {queue_table} GROUP BY entrypoint, status
