SELECT coalesce(max(id), 0)::bigint FROM {queue_table}
