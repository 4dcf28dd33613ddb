WITH selected AS (
            SELECT id FROM {queue_table}
             WHERE status = ANY($1::text[]::{queue_status_type}[])
               AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
               AND ($3::text[] IS NULL OR entrypoint = ANY($3::text[]))
               AND ($4::float8 IS NULL OR created < now() - make_interval(secs => $4::float8))
               AND ($5::bigint IS NULL OR id <= $5::bigint)
             ORDER BY id
             LIMIT $6
               FOR UPDATE SKIP LOCKED
        ), removed AS (
            DELETE FROM {queue_table} WHERE id = ANY(ARRAY(SELECT id FROM selected))
            RETURNING id, entrypoint, priority
        ), logged AS (
            INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
            SELECT id, $7::text::{queue_status_type}, entrypoint, priority FROM removed
        )
        SELECT id FROM removed ORDER BY id
