SELECT c.relname::text AS name, c.relpersistence = 'u' AS unlogged,
                pg_total_relation_size(c.oid) AS total_bytes,
                -- Never analyzed (reltuples = -1): the statistics collector's count.
                (CASE WHEN c.reltuples < 0 THEN coalesce(s.n_live_tup, 0) ELSE c.reltuples END)::bigint
                    AS estimated_rows,
                pg_table_size(c.oid) AS table_bytes, pg_indexes_size(c.oid) AS index_bytes,
                ARRAY(SELECT o FROM unnest(c.reloptions) AS o WHERE o LIKE 'autovacuum%') AS autovacuum
         FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
         LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
         WHERE c.relkind = 'r' AND ns.nspname = {schema_expr} AND c.relname = ANY($1)
