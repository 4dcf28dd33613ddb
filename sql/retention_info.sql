SELECT (SELECT min(created) FROM {queue_table_log}) AS oldest_log,
       (SELECT created FROM {statistics_table} ORDER BY id LIMIT 1) AS oldest_statistics,
       (SELECT count(*) FROM (SELECT 1 FROM {queue_table_log} WHERE NOT aggregated LIMIT $1) AS waiting)
           AS not_aggregated
