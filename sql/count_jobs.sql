SELECT count(*) AS count, max(id) AS newest_id,
       coalesce(array_agg(id ORDER BY id) FILTER (WHERE $3::bigint[] IS NOT NULL), '{}') AS found
          FROM {queue_table}
         WHERE status = ANY($1::text[]::{queue_status_type}[])
           AND ($2::bigint IS NULL OR id <= $2::bigint)
           AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
           AND {filter}
