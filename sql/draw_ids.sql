SELECT array_agg(nextval((SELECT pg_get_serial_sequence('{queue_table}', 'id')::regclass)))
         FROM generate_series(1, $1::int)
