UPDATE {schedules_table} SET status = 'queued', last_run = NOW(), updated = NOW() WHERE id = ANY($1::bigint[])
