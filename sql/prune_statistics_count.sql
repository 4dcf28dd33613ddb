SELECT count(*) AS eligible, 0::bigint AS held_back FROM {statistics_table}
WHERE created < $1 AND ($2::text[] IS NULL OR entrypoint = ANY($2))
