UPDATE {schedules_table} AS s SET next_run = v.next_run, updated = now() FROM UNNEST($1::bigint[], $2::timestamptz[]) AS v(id, next_run) WHERE s.id = v.id RETURNING s.id
