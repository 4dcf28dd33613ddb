SELECT {job_columns}, extract(epoch FROM now() - heartbeat)::float8 AS seconds_since_heartbeat
FROM {queue_table}
WHERE status = 'picked'::{queue_status_type} AND heartbeat < now() - make_interval(secs => $1)
ORDER BY heartbeat ASC
LIMIT $2
