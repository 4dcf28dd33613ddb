SELECT count(*)
          FROM {queue_table}
         WHERE status = ANY($1::text[]::{queue_status_type}[])
           AND {filter}
