WITH input AS MATERIALIZED (
            SELECT t.*
            FROM unnest($1::int[], $2::text[], $3::bytea[], $4::text[]::interval[], $5::text[], $6::jsonb[], $7::bigint[], $8::int[])
                 WITH ORDINALITY AS t(priority, entrypoint, payload, delay, dedupe_key, headers, id, own_priority, ord)
        ), written AS (
            INSERT INTO {queue_table} (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
            SELECT id, priority, entrypoint, payload, now() + delay, dedupe_key, headers, 'queued'::{queue_status_type}
            FROM input ORDER BY ord
            ON CONFLICT (dedupe_key) WHERE ((status = ANY (ARRAY['queued'::{queue_status_type}, 'picked'::{queue_status_type}])) AND (dedupe_key IS NOT NULL)) DO UPDATE SET priority = GREATEST({queue_table}.priority, EXCLUDED.priority)
            RETURNING id, entrypoint, priority, dedupe_key, xmax = 0 AS fresh
        ), logged AS (
            INSERT INTO {queue_table_log} (job_id, status, entrypoint, priority)
            SELECT written.id, 'queued'::{queue_status_type}, written.entrypoint, input.own_priority
            FROM written JOIN input ON input.id = written.id WHERE written.fresh
        )
        SELECT input.ord, coalesce(mine.id, kept.id), coalesce(mine.fresh, false)
        FROM input
        LEFT JOIN written AS mine ON mine.id = input.id
        LEFT JOIN written AS kept ON NOT kept.fresh AND kept.dedupe_key = input.dedupe_key
        ORDER BY input.ord
