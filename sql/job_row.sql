SELECT {job_columns}, sha256(payload) AS payload_sha256
FROM {queue_table}
WHERE id = $1
