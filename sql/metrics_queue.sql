SELECT entrypoint, status::text AS status, count(*)::bigint AS count,
                extract(epoch FROM now() - min(created) FILTER (WHERE status = 'queued'::{queue_status_type}))::float8
                    AS oldest_queued_seconds,
                count(*) FILTER (WHERE status = 'picked'::{queue_status_type}
                                   AND heartbeat < now() - make_interval(secs => $1))::bigint AS stale
         FROM {queue_table} GROUP BY entrypoint, status
