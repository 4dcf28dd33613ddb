SELECT count(*) FILTER (WHERE aggregated), count(*) FILTER (WHERE NOT aggregated)
FROM {queue_table_log}
WHERE created < $1 AND ($2::text[] IS NULL OR entrypoint = ANY($2))
