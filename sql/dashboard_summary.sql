SELECT entrypoint,
                count(*) FILTER (WHERE status = 'queued'::{queue_status_type}) AS queued,
                count(*) FILTER (WHERE status = 'picked'::{queue_status_type}) AS picked,
                count(*) FILTER (WHERE status = 'failed'::{queue_status_type}) AS failed,
                extract(epoch FROM now() - min(created) FILTER (WHERE status = 'queued'::{queue_status_type}))::float8
                    AS oldest_queued_age_seconds
         FROM {queue_table} GROUP BY entrypoint ORDER BY entrypoint
