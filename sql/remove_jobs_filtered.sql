WITH selected AS (
            SELECT id FROM {queue_table}
             WHERE status = ANY($1::text[]::{queue_status_type}[])
               AND {filter}
             LIMIT $2
               FOR UPDATE
        ), removed AS (
            DELETE FROM {queue_table} WHERE id = ANY(ARRAY(SELECT id FROM selected))
            RETURNING id, entrypoint, priority
        ), logged AS (
            INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
            SELECT id, $3::text::{queue_status_type}, entrypoint, priority FROM removed
        )
        SELECT id FROM removed ORDER BY id
