WITH job_status AS (
            SELECT UNNEST($1::bigint[]) AS id,
                   UNNEST($2::text[]::{queue_status_type}[]) AS status,
                   UNNEST($3::text[]::jsonb[]) AS traceback
        ), deleted AS (
            DELETE FROM {queue_table}
            WHERE id = ANY(SELECT js.id FROM job_status js WHERE js.status != 'failed')
            RETURNING id, entrypoint, priority
        ), held AS (
            UPDATE {queue_table} SET status = 'failed', updated = NOW(), queue_manager_id = NULL
            WHERE id = ANY(SELECT js.id FROM job_status js WHERE js.status = 'failed')
            RETURNING id, entrypoint, priority
        ), all_resolved AS (
            SELECT id, entrypoint, priority FROM deleted
            UNION ALL
            SELECT id, entrypoint, priority FROM held
        )
        INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority, traceback)
        SELECT job_status.id, job_status.status, all_resolved.entrypoint,
               all_resolved.priority, job_status.traceback
        FROM job_status JOIN all_resolved ON all_resolved.id = job_status.id
