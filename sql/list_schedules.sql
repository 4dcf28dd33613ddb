SELECT id, expression, heartbeat, created, updated, next_run, last_run, status::text AS status, entrypoint FROM {schedules_table} ORDER BY last_run ASC, id ASC
