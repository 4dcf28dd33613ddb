SELECT id, payload FROM {queue_table} WHERE id = ANY($1)
