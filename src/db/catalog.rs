//! Read what a database holds of one PGQueuer installation from `pg_catalog`.
//!
//! Only the declared, retired and rebuild-copy names are read, in the target
//! namespace (the configured schema, or `current_schema()`), and spelled the way
//! the declaration is, so the planner can compare strings.

use super::client::Client;

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

/// An index row (name, table, unique, `pg_get_indexdef`) as the
/// declaration spells it: the definition from `USING` on, unqualified.
fn index_of(row: &tokio_postgres::Row, ns: Option<&str>) -> Index {
    let definition: String = row.get(3);
    let body = definition
        .find(" USING ")
        .map(|pos| definition[pos + 1..].to_string())
        .unwrap_or(definition);
    Index {
        name: row.get(0),
        table: row.get(1),
        unique: row.get(2),
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
        namespace_exists: schema_row.get(0),
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
            "SELECT c.relname::text, c.relpersistence = 'u'
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
             ORDER BY 1",
            &[&ns, &table_names],
        )
        .await?;
    for row in rows {
        let name: String = row.get(0);
        live.tables.push(Table {
            role: role_of(names, &name),
            name,
            unlogged: row.get(1),
            columns: vec![],
            unique: vec![],
            id_sequence_type: None,
        });
    }

    let columns = client
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
                    a.attnotnull, a.attidentity::text, pg_get_expr(d.adbin, d.adrelid),
                    EXISTS (SELECT 1 FROM pg_constraint k
                            WHERE k.conrelid = c.oid AND k.contype = 'p' AND k.conkey = ARRAY[a.attnum])
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
    for row in columns {
        let table: String = row.get(0);
        let identity: String = row.get(4);
        let default: Option<String> = row.get(5);
        let kind = if !identity.is_empty() {
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
            name: row.get(1),
            ty: strip_qualifier(row.get::<_, &str>(2), ns),
            not_null: row.get(3),
            default: match kind {
                ColumnKind::Plain => default.map(|d| strip_qualifier(&d, ns)),
                _ => None,
            },
            kind,
            primary_key: row.get(6),
        };
        if let Some(t) = live.tables.iter_mut().find(|t| t.name == table) {
            t.columns.push(column);
        }
    }

    let uniques = client
        .query(
            "SELECT c.relname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
                          ORDER BY u.ord)
             FROM pg_constraint k
             JOIN pg_class c ON c.oid = k.conrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema())
               AND k.contype = 'u' AND c.relname = ANY($2)
             ORDER BY k.conname",
            &[&ns, &table_names],
        )
        .await?;
    for row in uniques {
        let table: String = row.get(0);
        if let Some(t) = live.tables.iter_mut().find(|t| t.name == table) {
            t.unique.push(row.get(1));
        }
    }

    let sequences = client
        .query(
            "SELECT c.relname::text, format_type(s.seqtypid, NULL)
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
    for row in sequences {
        let table: String = row.get(0);
        if let Some(t) = live.tables.iter_mut().find(|t| t.name == table) {
            t.id_sequence_type = Some(row.get(1));
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
            "SELECT i.relname::text, t.relname::text, x.indisunique, pg_get_indexdef(x.indexrelid)
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
    live.indexes = indexes.iter().map(|r| index_of(r, ns)).collect();

    // Everything else on PGQueuer's tables: what a newer release (or an
    // operator) added, reported and left alone.
    let known: Vec<String> = index_names.clone();
    let other_indexes = client
        .query(
            "SELECT i.relname::text, t.relname::text, x.indisunique, pg_get_indexdef(x.indexrelid)
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
    live.others.indexes = other_indexes.iter().map(|r| index_of(r, ns)).collect();
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
    live.others.constraints = constraints
        .iter()
        .map(|r| strip_qualifier(r.get::<_, &str>(0), ns))
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
    live.others.triggers = other_triggers.iter().map(|r| r.get(0)).collect();

    let type_names = vec![
        names.queue_status_type.clone(),
        names.legacy_statistics_status_type.clone(),
    ];
    let enums = client
        .query(
            "SELECT t.typname::text,
                    ARRAY(SELECT e.enumlabel::text FROM pg_enum e
                          WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
             FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND t.typname = ANY($2)
             ORDER BY 1",
            &[&ns, &type_names],
        )
        .await?;
    for row in enums {
        live.enums.push(EnumType {
            name: row.get(0),
            labels: row.get(1),
        });
    }

    let functions = client
        .query(
            "SELECT p.proname::text, p.prosrc
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND p.proname = $2",
            &[&ns, &names.function],
        )
        .await?;
    for row in functions {
        live.functions.push(Function {
            name: row.get(0),
            body: row.get(1),
        });
    }

    let triggers = client
        .query(
            "SELECT g.tgname::text, c.relname::text, p.proname::text, g.tgtype::int
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
    for row in triggers {
        let tgtype: i32 = row.get(3);
        live.triggers.push(Trigger {
            name: row.get(0),
            table: row.get(1),
            function: row.get(2),
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
        tables.push((table.clone(), row.get(0)));
    }
    let function = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON p.pronamespace = n.oid
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND p.proname = $2)",
            &[&ns, &names.function],
        )
        .await?
        .get(0);
    let trigger = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_class c ON t.tgrelid = c.oid
             JOIN pg_namespace n ON c.relnamespace = n.oid
             WHERE n.nspname = COALESCE($1::text, current_schema()) AND t.tgname = $2)",
            &[&ns, &names.trigger],
        )
        .await?
        .get(0);
    Ok(Presence {
        tables,
        function,
        trigger,
    })
}

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
             SELECT current_user::text,
                    ARRAY(SELECT what || CASE WHEN count(*) > 1 THEN 's ' ELSE ' ' END
                                 || string_agg(name, ', ' ORDER BY name)
                          FROM missing GROUP BY rank, what ORDER BY rank)",
            &[&ns, &tables],
        )
        .await?;
    Ok(Privileges {
        role: row.get(0),
        missing: row.get(1),
    })
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
