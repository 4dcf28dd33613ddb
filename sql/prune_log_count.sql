SELECT count(*) FILTER (WHERE aggregated) AS eligible, count(*) FILTER (WHERE NOT aggregated) AS held_back
FROM {queue_table_log}
WHERE created < $1 AND ($2::text[] IS NULL OR entrypoint = ANY($2))
