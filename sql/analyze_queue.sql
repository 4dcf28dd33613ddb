ANALYZE {queue_table}
