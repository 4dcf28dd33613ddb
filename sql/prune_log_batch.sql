WITH gone AS (
    DELETE FROM {queue_table_log}
    WHERE id = ANY(ARRAY(
        SELECT id FROM {queue_table_log}
        WHERE created < $1 AND created >= coalesce($4::timestamptz, '-infinity') AND aggregated
          AND ($2::text[] IS NULL OR entrypoint = ANY($2))
        ORDER BY created
        LIMIT $3
    ))
    RETURNING created
)
SELECT count(*) AS gone, max(created) AS last FROM gone
