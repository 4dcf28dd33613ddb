DELETE FROM {schedules_table} WHERE entrypoint = ANY($1::text[])
