WITH gone AS (
    DELETE FROM {statistics_table}
    WHERE id = ANY(ARRAY(
        SELECT id FROM {statistics_table}
        WHERE created < $1 AND id > $4
          AND ($2::text[] IS NULL OR entrypoint = ANY($2))
        ORDER BY id
        LIMIT $3
    ))
    RETURNING id
)
SELECT count(*) AS gone, max(id) AS last FROM gone
