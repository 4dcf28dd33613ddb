SELECT id, expression, status::text AS status,
       extract(epoch FROM next_run - now())::float8 AS next_in,
       extract(epoch FROM now() - last_run)::float8 AS last_run_age,
       extract(epoch FROM now() - greatest(heartbeat, updated))::float8 AS touched_age,
       extract(epoch FROM now() - heartbeat)::float8 AS heartbeat_age
FROM {schedules_table}
WHERE entrypoint = $1
ORDER BY next_run ASC, id ASC
