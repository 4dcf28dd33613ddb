SELECT k.job FROM unnest($1::text[], $2::bigint[]) AS k(key, job)
         WHERE EXISTS (SELECT FROM {queue_table} WHERE ((status = ANY (ARRAY['queued'::{queue_status_type}, 'picked'::{queue_status_type}])) AND (dedupe_key IS NOT NULL)))
           AND EXISTS (SELECT FROM {queue_table} WHERE dedupe_key = k.key AND ((status = ANY (ARRAY['queued'::{queue_status_type}, 'picked'::{queue_status_type}])) AND (dedupe_key IS NOT NULL)))
         ORDER BY k.job LIMIT 1
