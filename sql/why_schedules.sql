SELECT id, expression, status::text,
       extract(epoch FROM next_run - now())::float8,
       extract(epoch FROM now() - last_run)::float8,
       extract(epoch FROM now() - greatest(heartbeat, updated))::float8,
       extract(epoch FROM now() - heartbeat)::float8
FROM {schedules_table}
WHERE entrypoint = $1
ORDER BY next_run ASC, id ASC
