//! Read what a database holds of one PGQueuer installation from `pg_catalog`.
//!
//! Only the declared, retired and rebuild-copy names are read, in the target
//! namespace (the configured schema, or `current_schema()`), and spelled the way
//! the declaration is, so the planner can compare strings.

use super::client::Client;
use super::rows::{self, FromRow, by_name};

use crate::schema::declare;
use crate::schema::model::{Column, ColumnKind, EnumType, Function, Index, Schema, Table, Trigger};
use crate::settings::durability::TableRole;
use crate::settings::names::ObjectNames;

/// Remove `schema.` qualifiers that the catalog adds when the namespace is not
/// on the search path; only where the schema name starts an identifier.
fn strip_qualifier(text: &str, schema: Option<&str>) -> String {
    let Some(schema) = schema else {
        return text.to_string();
    };
    let needle = format!("{schema}.");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(&needle) {
        let at_boundary = rest[..pos]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '"'));
        out.push_str(&rest[..pos]);
        if !at_boundary {
            out.push_str(&needle);
        }
        rest = &rest[pos + needle.len()..];
    }
    out.push_str(rest);
    out
}

by_name! {
    /// An index as the catalog has it (`pg_get_indexdef`).
    struct IndexRow {
        name: String,
        table_name: String,
        is_unique: bool,
        definition: String,
    }
}

by_name! {
    struct TableRow {
        name: String,
        unlogged: bool,
    }
}

by_name! {
    struct ColumnRow {
        table_name: String,
        name: String,
        type_name: String,
        not_null: bool,
        identity: String,
        default_expr: Option<String>,
        primary_key: bool,
    }
}

by_name! {
    /// A unique constraint's columns.
    struct UniqueRow {
        table_name: String,
        columns: Vec<String>,
    }
}

by_name! {
    /// The type of a table's id sequence.
    struct SequenceRow {
        table_name: String,
        sequence_type: String,
    }
}

by_name! {
    struct EnumRow {
        name: String,
        labels: Vec<String>,
    }
}

by_name! {
    struct FunctionRow {
        name: String,
        body: String,
    }
}

by_name! {
    struct TriggerRow {
        name: String,
        table_name: String,
        function: String,
        tgtype: i32,
    }
}

/// An index row as the declaration spells it: the definition from `USING`
/// on, unqualified.
fn index_of(row: IndexRow, ns: Option<&str>) -> Index {
    let definition = row.definition;
    let body = definition
        .find(" USING ")
        .map(|pos| definition[pos + 1..].to_string())
        .unwrap_or(definition);
    Index {
        name: row.name,
        table: row.table_name,
        unique: row.is_unique,
        body: strip_qualifier(&body, ns),
    }
}

fn role_of(names: &ObjectNames, table: &str) -> TableRole {
    if table == names.queue_table {
        TableRole::Queue
    } else if table == names.queue_table_log {
        TableRole::Log
    } else if table == names.statistics_table {
        TableRole::Statistics
    } else {
        TableRole::Schedules
    }
}

/// Inspect the installation named by `names`.
pub async fn inspect(
    client: &Client,
    names: &ObjectNames,
) -> Result<Schema, tokio_postgres::Error> {
    let ns = names.schema.as_deref();
    let schema_row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = COALESCE($1::text, current_schema()))",
            &[&ns],
        )
        .await?;
    let mut live = Schema {
        namespace_exists: bool::from_row(&schema_row)?,
        ..Schema::default()
    };
    if !live.namespace_exists {
        return Ok(live);
    }

    let table_names: Vec<String> = names
        .tables_sorted()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = client
        .query(
            "SELECT c.relname::text AS name, c.relpersistence = 'u' AS unlogged
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
             ORDER BY 1",
            &[&ns, &table_names],
        )
        .await?;
    for row in rows::all::<TableRow>(&rows)? {
        live.tables.push(Table {
            role: role_of(names, &row.name),
            name: row.name,
            unlogged: row.unlogged,
            columns: vec![],
            unique: vec![],
            id_sequence_type: None,
        });
    }

    let columns = client
        .query(
            "SELECT c.relname::text AS table_name, a.attname::text AS name,
                    format_type(a.atttypid, a.atttypmod) AS type_name,
                    a.attnotnull AS not_null, a.attidentity::text AS identity,
                    pg_get_expr(d.adbin, d.adrelid) AS default_expr,
                    EXISTS (SELECT 1 FROM pg_constraint k
                            WHERE k.conrelid = c.oid AND k.contype = 'p' AND k.conkey = ARRAY[a.attnum])
                        AS primary_key
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
               AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY c.relname, a.attnum",
            &[&ns, &table_names],
        )
        .await?;
    for row in rows::all::<ColumnRow>(&columns)? {
        let default = row.default_expr;
        let kind = if !row.identity.is_empty() {
            ColumnKind::Identity
        } else if default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("))
        {
            ColumnKind::Serial
        } else {
            ColumnKind::Plain
        };
        let column = Column {
            name: row.name,
            ty: strip_qualifier(&row.type_name, ns),
            not_null: row.not_null,
            default: match kind {
                ColumnKind::Plain => default.map(|d| strip_qualifier(&d, ns)),
                _ => None,
            },
            kind,
            primary_key: row.primary_key,
        };
        if let Some(t) = live.tables.iter_mut().find(|t| t.name == row.table_name) {
            t.columns.push(column);
        }
    }

    let uniques = client
        .query(
            "SELECT c.relname::text AS table_name,
                    ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
                          ORDER BY u.ord) AS columns
             FROM pg_constraint k
             JOIN pg_class c ON c.oid = k.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND k.contype = 'u' AND c.relname = ANY($2)
             ORDER BY k.conname",
            &[&ns, &table_names],
        )
        .await?;
    for row in rows::all::<UniqueRow>(&uniques)? {
        if let Some(t) = live.tables.iter_mut().find(|t| t.name == row.table_name) {
            t.unique.push(row.columns);
        }
    }

    let sequences = client
        .query(
            "SELECT c.relname::text AS table_name, format_type(s.seqtypid, NULL) AS sequence_type
             FROM pg_depend d
             JOIN pg_class seq ON seq.oid = d.objid AND seq.relkind = 'S'
             JOIN pg_sequence s ON s.seqrelid = seq.oid
             JOIN pg_class c ON c.oid = d.refobjid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.deptype IN ('a', 'i') AND a.attname = 'id'
               AND n.nspname = COALESCE($1::text, current_schema()) AND c.relname = ANY($2)",
            &[&ns, &table_names],
        )
        .await?;
    for row in rows::all::<SequenceRow>(&sequences)? {
        if let Some(t) = live.tables.iter_mut().find(|t| t.name == row.table_name) {
            t.id_sequence_type = Some(row.sequence_type);
        }
    }

    let declared = declare::target(names, Default::default());
    let retired = declare::retired(names);
    let mut index_names: Vec<String> = declared.indexes.iter().map(|i| i.name.clone()).collect();
    index_names.extend(
        declared
            .indexes
            .iter()
            .map(|i| declare::rebuild_name(&i.name)),
    );
    index_names.extend(retired.indexes.iter().cloned());
    let indexes = client
        .query(
            "SELECT i.relname::text AS name, t.relname::text AS table_name,
                    x.indisunique AS is_unique, pg_get_indexdef(x.indexrelid) AS definition
             FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = i.relnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND i.relname = ANY($2)
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
             ORDER BY 1",
            &[&ns, &index_names],
        )
        .await?;
    live.indexes = rows::all::<IndexRow>(&indexes)?
        .into_iter()
        .map(|r| index_of(r, ns))
        .collect();

    // Everything else on PGQueuer's tables: what a newer release (or an
    // operator) added, reported and left alone.
    let known: Vec<String> = index_names.clone();
    let other_indexes = client
        .query(
            "SELECT i.relname::text AS name, t.relname::text AS table_name,
                    x.indisunique AS is_unique, pg_get_indexdef(x.indexrelid) AS definition
             FROM pg_index x
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND t.relname = ANY($2) AND NOT (i.relname = ANY($3))
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
             ORDER BY 1",
            &[&ns, &table_names, &known],
        )
        .await?;
    live.others.indexes = rows::all::<IndexRow>(&other_indexes)?
        .into_iter()
        .map(|r| index_of(r, ns))
        .collect();
    let constraints = client
        .query(
            "SELECT c.relname::text || '.' || k.conname::text || ': ' || pg_get_constraintdef(k.oid)
             FROM pg_constraint k
             JOIN pg_class c ON c.oid = k.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND c.relname = ANY($2) AND k.contype IN ('c', 'f', 'x')
             ORDER BY 1",
            &[&ns, &table_names],
        )
        .await?;
    live.others.constraints = rows::all::<String>(&constraints)?
        .iter()
        .map(|c| strip_qualifier(c, ns))
        .collect();
    let other_triggers = client
        .query(
            "SELECT c.relname::text || '.' || g.tgname::text
             FROM pg_trigger g
             JOIN pg_class c ON c.oid = g.tgrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE NOT g.tgisinternal AND g.tgname <> $3
               AND n.nspname = COALESCE($1::text, current_schema()) AND c.relname = ANY($2)
             ORDER BY 1",
            &[&ns, &table_names, &names.trigger],
        )
        .await?;
    live.others.triggers = rows::all(&other_triggers)?;

    let type_names = vec![
        names.queue_status_type.clone(),
        names.legacy_statistics_status_type.clone(),
    ];
    let enums = client
        .query(
            "SELECT t.typname::text AS name,
                    ARRAY(SELECT e.enumlabel::text FROM pg_enum e
                          WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND t.typname = ANY($2)
             ORDER BY 1",
            &[&ns, &type_names],
        )
        .await?;
    for row in rows::all::<EnumRow>(&enums)? {
        live.enums.push(EnumType {
            name: row.name,
            labels: row.labels,
        });
    }

    let functions = client
        .query(
            "SELECT p.proname::text AS name, p.prosrc AS body
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND p.proname = $2",
            &[&ns, &names.function],
        )
        .await?;
    for row in rows::all::<FunctionRow>(&functions)? {
        live.functions.push(Function {
            name: row.name,
            body: row.body,
        });
    }

    let triggers = client
        .query(
            "SELECT g.tgname::text AS name, c.relname::text AS table_name,
                    p.proname::text AS function, g.tgtype::int AS tgtype
             FROM pg_trigger g
             JOIN pg_class c ON c.oid = g.tgrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_proc p ON p.oid = g.tgfoid
             WHERE NOT g.tgisinternal AND g.tgname = $2
               AND n.nspname = COALESCE($1::text, current_schema())
             ORDER BY (c.relname = $3) DESC",
            &[&ns, &names.trigger, &names.queue_table],
        )
        .await?;
    for row in rows::all::<TriggerRow>(&triggers)? {
        let tgtype = row.tgtype;
        live.triggers.push(Trigger {
            name: row.name,
            table: row.table_name,
            function: row.function,
            row_level: tgtype & 1 != 0,
            // INSERT 4 | DELETE 8 | UPDATE 16 | TRUNCATE 32, and not BEFORE (2) / INSTEAD (64).
            all_events: tgtype & 0b111_1110 == 60,
        });
    }
    Ok(live)
}

/// PGQueuer's own presence checks (`pgq verify`): table existence through
/// `information_schema.columns` (so privileges matter, as in PGQueuer), function
/// and trigger by name in the namespace.
pub struct Presence {
    pub tables: Vec<(String, bool)>,
    pub function: bool,
    pub trigger: bool,
}

pub async fn presence(
    client: &Client,
    names: &ObjectNames,
) -> Result<Presence, tokio_postgres::Error> {
    let ns = names.schema.as_deref();
    let mut tables = vec![];
    for table in [
        &names.queue_table,
        &names.statistics_table,
        &names.schedules_table,
        &names.queue_table_log,
    ] {
        let row = client
            .query_one(
                "SELECT EXISTS (SELECT FROM information_schema.columns
                 WHERE table_schema = COALESCE($1::text, current_schema()) AND table_name = $2)",
                &[&ns, table],
            )
            .await?;
        tables.push((table.clone(), bool::from_row(&row)?));
    }
    let function = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON p.pronamespace = n.oid
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND p.proname = $2)",
            &[&ns, &names.function],
        )
        .await
        .and_then(|row| bool::from_row(&row))?;
    let trigger = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON t.tgrelid = c.oid
             JOIN pg_namespace n ON c.relnamespace = n.oid
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND t.tgname = $2)",
            &[&ns, &names.trigger],
        )
        .await
        .and_then(|row| bool::from_row(&row))?;
    Ok(Presence {
        tables,
        function,
        trigger,
    })
}

by_name! {
    /// What the connected role lacks to read the installation: USAGE on the
    /// schema and SELECT on each table that exists. Read from `pg_catalog`, which
    /// every role sees whatever its grants, so a role without privileges is told
    /// so instead of "missing table". Reading is the bar, not writing: monitoring
    /// roles with SELECT only are a supported setup (and PGQueuer's own `verify`
    /// counts a table as present for them).
    pub struct Privileges {
        /// `current_user`.
        pub role: String,
        /// `SELECT on tables pgqueuer, pgqueuer_log`: one entry per kind of
        /// object, schema first.
        pub missing: Vec<String>,
    }
}

pub async fn privileges(
    client: &Client,
    names: &ObjectNames,
) -> Result<Privileges, tokio_postgres::Error> {
    let ns = names.schema.as_deref();
    let tables: Vec<&str> = names.tables_sorted();
    let row = client
        .query_one(
            "WITH ns AS (
                 SELECT oid, nspname FROM pg_namespace
                 WHERE nspname = COALESCE($1::text, current_schema())
             ), missing AS (
                 SELECT 0 AS rank, 'USAGE on schema' AS what, nspname AS name
                 FROM ns WHERE NOT has_schema_privilege(oid, 'USAGE')
                 UNION ALL
                 SELECT 1, 'SELECT on table', c.relname
                 FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
                 WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($2)
                   AND NOT has_table_privilege(c.oid, 'SELECT')
             )
             SELECT current_user::text AS role,
                    ARRAY(SELECT what || CASE WHEN count(*) > 1 THEN 's ' ELSE ' ' END
                                 || string_agg(name, ', ' ORDER BY name)
                          FROM missing GROUP BY rank, what ORDER BY rank) AS missing",
            &[&ns, &tables],
        )
        .await?;
    Privileges::from_row(&row)
}

#[cfg(test)]
mod tests {
    use super::strip_qualifier;

    #[test]
    fn strips_only_whole_schema_qualifiers() {
        assert_eq!(
            strip_qualifier("'queued'::jobs.pgqueuer_status", Some("jobs")),
            "'queued'::pgqueuer_status"
        );
        assert_eq!(strip_qualifier("myjobs.x", Some("jobs")), "myjobs.x");
        assert_eq!(strip_qualifier("jobs.x", None), "jobs.x");
    }
}
