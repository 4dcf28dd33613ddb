SELECT {job_columns}, substring(payload FROM 1 FOR 256) AS payload_head
FROM {queue_table}
WHERE {filter}
ORDER BY id ASC
LIMIT $1
