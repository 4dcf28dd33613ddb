SELECT queue_manager_id, count(*) AS active_jobs, min(heartbeat) AS oldest_heartbeat,
                max(heartbeat) AS newest_heartbeat,
                array_agg(DISTINCT entrypoint ORDER BY entrypoint) AS entrypoints,
                extract(epoch FROM now() - max(heartbeat))::float8 AS newest_heartbeat_age_seconds,
                extract(epoch FROM now() - min(heartbeat))::float8 AS oldest_heartbeat_age_seconds,
                count(*) FILTER (WHERE heartbeat < now() - make_interval(secs => $1)) AS stale_jobs,
                (array_agg(id ORDER BY id))[1:$2] AS job_ids,
                (array_agg(entrypoint ORDER BY id))[1:$2] AS job_entrypoints,
                (array_agg(priority ORDER BY id))[1:$2] AS job_priorities,
                (array_agg(extract(epoch FROM now() - updated)::float8 ORDER BY id))[1:$2] AS job_picked_ages,
                (array_agg(extract(epoch FROM now() - heartbeat)::float8 ORDER BY id))[1:$2] AS job_heartbeat_ages,
                (array_agg(heartbeat < now() - make_interval(secs => $1) ORDER BY id))[1:$2] AS job_stale,
                (array_agg(updated ORDER BY id))[1:$2] AS job_picked,
                (array_agg(heartbeat ORDER BY id))[1:$2] AS job_heartbeats
         FROM {queue_table}
         WHERE status = 'picked'::{queue_status_type} AND queue_manager_id IS NOT NULL
         GROUP BY 1 ORDER BY 1
