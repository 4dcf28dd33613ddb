UPDATE {schedules_table} SET next_run = date_trunc('seconds', now()), updated = now() WHERE id = ANY($1) AND status IS DISTINCT FROM 'picked' RETURNING id
