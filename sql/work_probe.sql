SELECT
            EXISTS (SELECT 1 FROM {queue_table} WHERE entrypoint = ANY($1::text[])
                    AND status = 'queued' AND execute_after <= NOW()) AS eligible,
            (SELECT EXTRACT(EPOCH FROM execute_after - NOW())::float8 FROM {queue_table}
              WHERE status = 'queued' AND execute_after > NOW() AND entrypoint = ANY($1::text[])
              ORDER BY execute_after LIMIT 1) AS eta,
            EXISTS (SELECT 1 FROM {queue_table} WHERE entrypoint = ANY($1::text[])
                    AND status = 'queued') AS queued
