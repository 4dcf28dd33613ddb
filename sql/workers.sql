SELECT queue_manager_id, count(*), min(heartbeat), max(heartbeat),
                array_agg(DISTINCT entrypoint ORDER BY entrypoint),
                extract(epoch FROM now() - max(heartbeat))::float8,
                extract(epoch FROM now() - min(heartbeat))::float8,
                count(*) FILTER (WHERE heartbeat < now() - make_interval(secs => $1)),
                (array_agg(id ORDER BY id))[1:$2],
                (array_agg(entrypoint ORDER BY id))[1:$2],
                (array_agg(priority ORDER BY id))[1:$2],
                (array_agg(extract(epoch FROM now() - updated)::float8 ORDER BY id))[1:$2],
                (array_agg(extract(epoch FROM now() - heartbeat)::float8 ORDER BY id))[1:$2],
                (array_agg(heartbeat < now() - make_interval(secs => $1) ORDER BY id))[1:$2],
                (array_agg(updated ORDER BY id))[1:$2],
                (array_agg(heartbeat ORDER BY id))[1:$2]
         FROM {queue_table}
         WHERE status = 'picked'::{queue_status_type} AND queue_manager_id IS NOT NULL
         GROUP BY 1 ORDER BY 1
