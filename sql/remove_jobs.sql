WITH selected AS (
            SELECT id FROM {queue_table}
             WHERE status = ANY($1::text[]::{queue_status_type}[])
               AND ($2::bigint IS NULL OR id <= $2::bigint)
               AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
               AND {filter}
             ORDER BY id
             LIMIT $4
               FOR UPDATE SKIP LOCKED
        ), removed AS (
            DELETE FROM {queue_table} WHERE id = ANY(ARRAY(SELECT id FROM selected))
            RETURNING id, entrypoint, priority
        ), logged AS (
            INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
            SELECT id, $5::text::{queue_status_type}, entrypoint, priority FROM removed
        )
        SELECT id FROM removed ORDER BY id
