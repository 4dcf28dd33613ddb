SELECT entrypoint, max(created) AS last_picked
         FROM {queue_table_log}
         WHERE status = 'picked'::{queue_status_type}
           AND created > now() - make_interval(secs => $1)
         GROUP BY entrypoint ORDER BY entrypoint
