SELECT id, expression, heartbeat, created, updated, next_run, last_run, status::text AS status, entrypoint FROM {schedules_table} WHERE id = ANY($1) OR entrypoint = ANY($2) ORDER BY id FOR UPDATE
