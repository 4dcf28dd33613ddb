//! `pgq sql upgrade`: an offline script that brings any earlier PGQueuer schema
//! (0.18 onwards) to 1.6.0 without looking at the database first.
//!
//! Blind to what is installed, every statement is guarded (`IF NOT EXISTS`, `DO`
//! blocks checking the catalog), so the script can be applied repeatedly. It must
//! run in autocommit: enum labels added here are used by later statements.

use super::declare;
use super::model::ColumnKind;
use super::plan::fold_statistics;
use super::render::{self, spelled};
use crate::settings::durability::Durability;
use crate::settings::names::ObjectNames;

pub fn converge(n: &ObjectNames, d: Durability, widen_id: bool) -> Vec<String> {
    let target = declare::target(n, d);
    let retired = declare::retired(n);
    let ns = n.schema_expr();
    let mut out = vec![];
    if let Some(schema) = &n.schema {
        out.push(format!("CREATE SCHEMA IF NOT EXISTS {schema};"));
    }
    for e in &target.enums {
        out.push(format!(
            "DO $$\nBEGIN\n    {}\nEXCEPTION\n    WHEN duplicate_object THEN NULL;\nEND $$;",
            render::enum_type(e, n)
        ));
        for label in &e.labels {
            out.push(format!(
                "ALTER TYPE {} ADD VALUE IF NOT EXISTS '{label}';",
                n.qualify(&e.name)
            ));
        }
    }
    for t in &target.tables {
        let qualified = n.qualify(&t.name);
        let mut create = String::new();
        for (table, column) in retired.columns.iter().filter(|(table, _)| *table == t.name) {
            create.push_str(&format!(
                "-- {table}.{column} is no longer used by PGQueuer; drop it once its data is not needed:\n--   ALTER TABLE {qualified} DROP COLUMN {column};\n"
            ));
        }
        create.push_str(&render::table(t, n, true));
        out.push(create);
        for c in t.columns.iter().filter(|c| c.kind == ColumnKind::Plain) {
            out.push(format!(
                "ALTER TABLE {qualified} ADD COLUMN IF NOT EXISTS {};",
                render::column(c, n)
            ));
            if let Some(default) = &c.default {
                out.push(format!(
                    "ALTER TABLE {qualified} ALTER COLUMN {} SET DEFAULT {};",
                    c.name,
                    spelled(default, n)
                ));
            }
        }
    }
    for (table, column) in &retired.columns {
        out.push(format!(
            "DO $$\nBEGIN\n    IF EXISTS (SELECT 1 FROM information_schema.columns\n               WHERE table_schema = {ns} AND table_name = '{table}' AND column_name = '{column}') THEN\n        ALTER TABLE {} ALTER COLUMN {column} DROP NOT NULL;\n    END IF;\nEND $$;",
            n.qualify(table)
        ));
    }
    let status = spelled(&n.queue_status_type, n);
    out.push(format!(
        "DO $$\nBEGIN\n    IF (SELECT udt_name FROM information_schema.columns\n        WHERE table_schema = {ns} AND table_name = '{stats}' AND column_name = 'status')\n       IS DISTINCT FROM '{bare}' THEN\n        ALTER TABLE {qstats} ALTER COLUMN status TYPE {status} USING status::TEXT::{status};\n    END IF;\nEND $$;",
        stats = n.statistics_table,
        bare = n.queue_status_type,
        qstats = n.qualify(&n.statistics_table),
    ));
    out.push(fold_statistics(n));
    for index in &retired.indexes {
        out.push(format!("DROP INDEX IF EXISTS {};", n.qualify(index)));
    }
    // Indexes whose definition changed after they shipped: IF NOT EXISTS cannot
    // fix those, so drop them first when the catalog definition differs.
    let redefined = [
        format!("{}_not_aggregated", n.queue_table_log),
        declare::unique_count_name(n),
    ];
    for index in &target.indexes {
        if redefined.contains(&index.name) {
            let body = spelled(&index.body, n).replace('\'', "''");
            out.push(format!(
                "DO $$\nBEGIN\n    IF EXISTS (\n        SELECT 1 FROM pg_index x\n        JOIN pg_class i ON i.oid = x.indexrelid\n        JOIN pg_class t ON t.oid = x.indrelid\n        JOIN pg_namespace s ON s.oid = i.relnamespace\n        WHERE s.nspname = {ns} AND i.relname = '{name}'\n          AND (t.relname <> '{table}' OR x.indisunique <> {unique}\n               OR substring(pg_get_indexdef(x.indexrelid) FROM position(' USING ' IN pg_get_indexdef(x.indexrelid)) + 1) <> '{body}')\n    ) THEN\n        DROP INDEX {qualified};\n    END IF;\nEND $$;",
                name = index.name,
                table = index.table,
                unique = if index.unique { "TRUE" } else { "FALSE" },
                qualified = n.qualify(&index.name),
            ));
        }
        out.push(render::index(index, n, true));
    }
    for f in &target.functions {
        out.push(render::function(f, n, true));
    }
    for t in &target.triggers {
        out.push(format!(
            "DROP TRIGGER IF EXISTS {} ON {};",
            t.name,
            n.qualify(&t.table)
        ));
        out.push(render::trigger(t, n, false));
    }
    if widen_id {
        for t in target
            .tables
            .iter()
            .filter(|t| t.columns.iter().any(|c| c.kind == ColumnKind::Serial))
        {
            let qualified = n.qualify(&t.name);
            out.push(format!(
                "DO $$\nBEGIN\n    IF (SELECT data_type FROM information_schema.columns\n        WHERE table_schema = {ns} AND table_name = '{table}' AND column_name = 'id') = 'integer' THEN\n        ALTER TABLE {qualified} ALTER COLUMN id TYPE BIGINT;\n    END IF;\nEND $$;",
                table = t.name
            ));
            out.push(format!(
                "DO $$\nDECLARE\n    seq text := pg_get_serial_sequence('{qualified}', 'id');\nBEGIN\n    IF seq IS NOT NULL THEN\n        EXECUTE format('ALTER SEQUENCE %s AS BIGINT', seq);\n    END IF;\nEND $$;"
            ));
        }
    }
    for t in &retired.types {
        out.push(format!("DROP TYPE IF EXISTS {};", n.qualify(t)));
    }
    out
}
