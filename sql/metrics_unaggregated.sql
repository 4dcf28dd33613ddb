SELECT count(*)::bigint FROM {queue_table_log} WHERE NOT aggregated
