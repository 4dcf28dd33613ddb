UPDATE {queue_table} SET heartbeat = NOW() WHERE id = ANY($1::bigint[])
