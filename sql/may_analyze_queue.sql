SELECT current_user::text AS role,
                pg_has_role(c.relowner, 'USAGE')
             OR pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')
             OR CASE WHEN current_setting('server_version_num')::int >= 170000
                     THEN has_table_privilege(c.oid, 'MAINTAIN') ELSE false END
             AS permitted
         FROM pg_class c WHERE c.oid = '{queue_table}'::regclass
