UPDATE {schedules_table} SET heartbeat = NOW(), updated = NOW() WHERE id = ANY($1::bigint[])
