WITH selected AS (
            SELECT id FROM {queue_table}
             WHERE status = ANY($1::text[]::{queue_status_type}[])
               AND ($2::bigint IS NULL OR id <= $2::bigint)
               AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
               AND {filter}
             ORDER BY id
             LIMIT $4
               FOR UPDATE SKIP LOCKED
        ), requeued AS (
            UPDATE {queue_table}
               SET status = 'queued'::{queue_status_type}, execute_after = now(), updated = now(),
                   attempts = 0, queue_manager_id = NULL
             WHERE id = ANY(ARRAY(SELECT id FROM selected))
            RETURNING id, entrypoint, priority
        ), logged AS (
            INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
            SELECT id, $5::text::{queue_status_type}, entrypoint, priority FROM requeued
        )
        SELECT id FROM requeued ORDER BY id
