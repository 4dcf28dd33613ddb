SELECT queue_manager_id, count(*), min(heartbeat), max(heartbeat),
                array_agg(DISTINCT entrypoint ORDER BY entrypoint)
         FROM {queue_table}
         WHERE status = 'picked'::{queue_status_type} AND queue_manager_id IS NOT NULL
         GROUP BY 1 ORDER BY 1
