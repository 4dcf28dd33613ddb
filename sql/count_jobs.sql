SELECT count(*), coalesce(array_agg(id ORDER BY id) FILTER (WHERE $2::bigint[] IS NOT NULL), '{}'), max(id)
          FROM {queue_table}
         WHERE status = ANY($1::text[]::{queue_status_type}[])
           AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))
           AND ($3::text[] IS NULL OR entrypoint = ANY($3::text[]))
           AND ($4::float8 IS NULL OR created < now() - make_interval(secs => $4::float8))
           AND ($5::bigint IS NULL OR id <= $5::bigint)
