SELECT id, payload, headers
          FROM {queue_table}
         WHERE status = ANY($1::text[]::{queue_status_type}[])
           AND ($2::bigint IS NULL OR id <= $2::bigint)
           AND id > $3::bigint
           AND {filter}
         ORDER BY id
         LIMIT $4
