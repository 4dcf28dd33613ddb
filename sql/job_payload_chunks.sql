WITH job AS MATERIALIZED (
  SELECT payload, sha256(payload) AS payload_sha256 FROM {queue_table} WHERE id = $1
)
SELECT payload_sha256, substring(payload FROM chunk_start FOR $2) AS slice
FROM job, generate_series(1, length(payload), $2) AS chunk_start
ORDER BY chunk_start
