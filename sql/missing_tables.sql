SELECT name FROM unnest(ARRAY['{queue_table}', '{queue_table_log}', '{statistics_table}', '{schedules_table}']) AS name
         WHERE to_regclass(name) IS NULL
