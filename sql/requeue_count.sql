SELECT count(*) FROM {queue_table} WHERE id = ANY($1) AND status = 'failed'::{queue_status_type}
