//! Upgrade planner: diff an inspected schema against the declaration and emit
//! only the statements that close the gap, in dependency order.
//!
//! Each statement carries the reason it exists, so `verify --strict` reports the
//! same differences that `upgrade` would fix: one mechanism, no second opinion.

use super::declare::{self, UNIQUE_COUNT_KEY};
use super::model::{ColumnKind, Index, Schema, Table};
use super::render::{self, spelled};
use crate::settings::durability::Durability;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Why the statement is needed, phrased as the difference it repairs.
    pub reason: String,
    pub sql: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Things the operator should know that no statement changes (never counted).
    pub notes: Vec<String>,
}

impl Plan {
    pub fn statements(&self) -> Vec<String> {
        self.steps.iter().map(|s| s.sql.clone()).collect()
    }
    fn push(&mut self, reason: impl Into<String>, sql: impl Into<String>) {
        self.steps.push(Step {
            reason: reason.into(),
            sql: sql.into(),
        });
    }
}

/// A column whose installed type has no supported conversion to the declared one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{table}.{column} is {installed} in the database but declared {declared}; no supported conversion. Alter the column by hand, then re-run upgrade."
)]
pub struct DriftError {
    pub table: String,
    pub column: String,
    pub installed: String,
    pub declared: String,
}

pub struct PlanOptions {
    /// Durability used for tables that must be created (existing tables keep theirs).
    pub durability: Durability,
    pub widen_id: bool,
}

/// Statements bringing `live` to PGQueuer 1.6.0's schema for `names`.
pub fn plan(live: &Schema, names: &ObjectNames, options: &PlanOptions) -> Result<Plan, DriftError> {
    let declared = declare::target(names, options.durability);
    let mut plan = Plan::default();
    if let Some(schema) = &names.schema
        && !live.namespace_exists
    {
        plan.push(
            format!("missing schema {schema}"),
            format!("CREATE SCHEMA IF NOT EXISTS {schema};"),
        );
    }
    plan_enums(live, &declared, names, &mut plan);
    for table in &declared.tables {
        match live.table(&table.name) {
            None => plan.push(
                format!("missing table {}", table.name),
                render::table(table, names, false),
            ),
            Some(installed) => plan_table(installed, table, names, options, &mut plan)?,
        }
    }
    plan_retired(live, names, &mut plan);
    plan_indexes(live, &declared, names, &mut plan);
    plan_routines(live, &declared, names, &mut plan);
    for legacy in declare::retired(names).types {
        if live.enum_type(&legacy).is_some() {
            plan.push(
                format!("retired type {legacy} still present"),
                format!("DROP TYPE IF EXISTS {};", names.qualify(&legacy)),
            );
        }
    }
    Ok(plan)
}

fn plan_enums(live: &Schema, declared: &Schema, names: &ObjectNames, plan: &mut Plan) {
    for e in &declared.enums {
        match live.enum_type(&e.name) {
            None => plan.push(
                format!("missing type {}", e.name),
                render::enum_type(e, names),
            ),
            Some(installed) => {
                // One statement per label: a label added by ALTER TYPE cannot be
                // used in the transaction that added it.
                for label in e.labels.iter().filter(|l| !installed.labels.contains(l)) {
                    plan.push(
                        format!("type {} lacks label '{label}'", e.name),
                        format!(
                            "ALTER TYPE {} ADD VALUE IF NOT EXISTS '{label}';",
                            names.qualify(&e.name)
                        ),
                    );
                }
            }
        }
    }
}

fn plan_table(
    installed: &Table,
    declared: &Table,
    names: &ObjectNames,
    options: &PlanOptions,
    plan: &mut Plan,
) -> Result<(), DriftError> {
    let qualified = names.qualify(&declared.name);
    let t = &declared.name;
    if installed.unlogged != declared.unlogged {
        let is = if installed.unlogged {
            "UNLOGGED"
        } else {
            "LOGGED"
        };
        let want = if declared.unlogged {
            "UNLOGGED"
        } else {
            "LOGGED"
        };
        let level = options.durability;
        plan.notes.push(format!(
            "{t} is {is}, but PGQUEUER_DURABILITY={level} declares it {want}. If the table is as intended, set PGQUEUER_DURABILITY to match; to change the table, run 'pgq alter-durability {level}'."
        ));
    }
    let mut retyped = vec![];
    for column in &declared.columns {
        let Some(live) = installed.column(&column.name) else {
            if column.kind == ColumnKind::Plain {
                plan.push(
                    format!("{t} lacks column {}", column.name),
                    format!(
                        "ALTER TABLE {qualified} ADD COLUMN {};",
                        render::column(column, names)
                    ),
                );
            } else {
                plan.notes.push(format!(
                    "{t}.{} is missing and is a generated id column; upgrade does not add it, add it by hand.",
                    column.name
                ));
            }
            continue;
        };
        if live.ty != column.ty {
            let drift = || DriftError {
                table: t.clone(),
                column: column.name.clone(),
                installed: live.ty.clone(),
                declared: column.ty.clone(),
            };
            if live.kind != column.kind {
                return Err(drift());
            }
            if live.ty == "integer" && column.ty == "bigint" {
                if column.name == "id" && !options.widen_id {
                    plan.notes.push(format!(
                        "{t}.id is still integer and widening is disabled. Run ALTER TABLE {qualified} ALTER COLUMN id TYPE bigint out of band."
                    ));
                } else {
                    retyped.push(column.name.clone());
                    plan.push(
                        format!("{t}.{} is integer, declared bigint", column.name),
                        format!(
                            "ALTER TABLE {qualified} ALTER COLUMN {} TYPE bigint;",
                            column.name
                        ),
                    );
                }
            } else if column.ty == names.queue_status_type {
                let status = spelled(&column.ty, names);
                retyped.push(column.name.clone());
                plan.push(
                    format!("{t}.{} is {}, declared {}", column.name, live.ty, column.ty),
                    format!(
                        "ALTER TABLE {qualified} ALTER COLUMN {0} TYPE {status} USING {0}::TEXT::{status};",
                        column.name
                    ),
                );
            } else {
                return Err(drift());
            }
        } else if live.kind != column.kind {
            plan.notes.push(format!(
                "{t}.{} is {:?} in the database but declared {:?}. Upgrade does not convert it; change it by hand.",
                column.name, live.kind, column.kind
            ));
        }
        if live.not_null != column.not_null {
            let verb = if column.not_null {
                "SET NOT NULL"
            } else {
                "DROP NOT NULL"
            };
            plan.push(
                format!("{t}.{} nullability differs", column.name),
                format!(
                    "ALTER TABLE {qualified} ALTER COLUMN {} {verb};",
                    column.name
                ),
            );
        }
        if column.kind == ColumnKind::Plain
            && live.kind == ColumnKind::Plain
            && live.default != column.default
        {
            let change = match &column.default {
                Some(d) => format!("SET DEFAULT {}", spelled(d, names)),
                None => "DROP DEFAULT".into(),
            };
            plan.push(
                format!(
                    "{t}.{} default is {}, declared {}",
                    column.name,
                    live.default.as_deref().unwrap_or("none"),
                    column.default.as_deref().unwrap_or("none")
                ),
                format!(
                    "ALTER TABLE {qualified} ALTER COLUMN {} {change};",
                    column.name
                ),
            );
        }
        if column.primary_key && !live.primary_key {
            plan.notes.push(format!(
                "{t}.{} is not the primary key, which PGQueuer declares it to be. Upgrade does not add one; add it by hand.",
                column.name
            ));
        }
    }
    if !retyped.is_empty() {
        plan.notes.insert(0, format!(
            "Upgrading {t} rewrites it ({}). PostgreSQL holds ACCESS EXCLUSIVE for the whole rewrite, blocking enqueues, dequeues and reads for a time that grows with the row count. Prefer a maintenance window.",
            retyped.join(", ")
        ));
    }
    if let (Some(live_seq), Some(want_seq)) =
        (&installed.id_sequence_type, &declared.id_sequence_type)
        && live_seq != want_seq
    {
        if options.widen_id {
            plan.push(
                format!("the id sequence of {t} is {live_seq}, declared {want_seq}"),
                widen_sequence(&qualified),
            );
        } else {
            plan.notes.push(format!(
                "The id sequence behind {t} is still {live_seq} and widening is disabled; widening the column leaves it capped. Run ALTER SEQUENCE … AS BIGINT on pg_get_serial_sequence('{qualified}', 'id')."
            ));
        }
    }
    for unique in &declared.unique {
        if !installed.unique.contains(unique) {
            plan.push(
                format!("{t} lacks UNIQUE ({})", unique.join(", ")),
                format!(
                    "ALTER TABLE {qualified} ADD UNIQUE ({});",
                    unique.join(", ")
                ),
            );
        }
    }
    Ok(())
}

/// `ALTER COLUMN TYPE bigint` leaves the owned sequence capped at int4; widen it too.
fn widen_sequence(qualified_table: &str) -> String {
    format!(
        "DO $$\nDECLARE\n    seq text := pg_get_serial_sequence('{qualified_table}', 'id');\nBEGIN\n    IF seq IS NOT NULL THEN\n        EXECUTE format('ALTER SEQUENCE %s AS BIGINT', seq);\n    END IF;\nEND $$;"
    )
}

fn plan_retired(live: &Schema, names: &ObjectNames, plan: &mut Plan) {
    let retired = declare::retired(names);
    for index in &retired.indexes {
        if live.index(index).is_some() {
            plan.push(
                format!("retired index {index} still present"),
                format!("DROP INDEX IF EXISTS {};", names.qualify(index)),
            );
        }
    }
    for (table, column) in &retired.columns {
        let Some(col) = live.table(table).and_then(|t| t.column(column)) else {
            continue;
        };
        let qualified = names.qualify(table);
        if col.not_null {
            plan.push(
                format!("retired column {table}.{column} is NOT NULL"),
                format!("ALTER TABLE {qualified} ALTER COLUMN {column} DROP NOT NULL;"),
            );
        }
        plan.notes.push(format!(
            "{table}.{column} is no longer used by PGQueuer. Once you no longer need the data: ALTER TABLE {qualified} DROP COLUMN {column};"
        ));
    }
}

/// Merge statistics rows that share a bucket (pre-0.19 buckets also keyed on
/// time_in_queue), summing `count` into the lowest id, so the unique index can build.
pub fn fold_statistics(names: &ObjectNames) -> String {
    let stats = names.qualify(&names.statistics_table);
    format!(
        "WITH buckets AS (\n    SELECT id,\n           row_number() OVER w AS rank_in_bucket,\n           sum(count) OVER w AS bucket_total\n    FROM {stats}\n    WINDOW w AS (PARTITION BY {UNIQUE_COUNT_KEY} ORDER BY id\n                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)\n), kept AS (\n    UPDATE {stats} AS s SET count = b.bucket_total\n    FROM buckets AS b\n    WHERE s.id = b.id AND b.rank_in_bucket = 1 AND s.count <> b.bucket_total\n)\nDELETE FROM {stats} AS s\nUSING buckets AS b\nWHERE s.id = b.id AND b.rank_in_bucket > 1;"
    )
}

fn same_definition(live: &Index, declared: &Index) -> bool {
    live.table == declared.table && live.unique == declared.unique && live.body == declared.body
}

fn plan_indexes(live: &Schema, declared: &Schema, names: &ObjectNames, plan: &mut Plan) {
    let stats_exists = live.table(&names.statistics_table).is_some();
    let unique_count = declare::unique_count_name(names);
    for index in &declared.indexes {
        let installed = live.index(&index.name);
        if installed.is_some_and(|i| same_definition(i, index)) {
            continue;
        }
        if index.name == unique_count && stats_exists {
            plan.push(
                format!(
                    "statistics buckets must be folded before {} is built",
                    index.name
                ),
                fold_statistics(names),
            );
        }
        let copy = declare::rebuild_name(&index.name);
        let leftover = live.index(&copy);
        match installed {
            None => match leftover {
                // A rebuild cut off between its drop and its rename: finish it.
                Some(l) if same_definition(l, index) => plan.push(
                    format!("missing index {} (rebuild copy left behind)", index.name),
                    format!(
                        "ALTER INDEX {} RENAME TO {};",
                        names.qualify(&copy),
                        index.name
                    ),
                ),
                _ => {
                    if leftover.is_some() {
                        plan.push(
                            format!("stale rebuild copy of {}", index.name),
                            format!("DROP INDEX {};", names.qualify(&copy)),
                        );
                    }
                    plan.push(
                        format!("missing index {}", index.name),
                        render::index(index, names, false),
                    );
                }
            },
            Some(_) => {
                plan.notes.push(format!(
                    "Upgrading rebuilds {}. PostgreSQL holds a SHARE lock on {} for the whole build, blocking writes to it for a time that grows with the row count. Prefer a maintenance window.",
                    index.name, index.table
                ));
                let reason = format!("index {} is defined differently", index.name);
                plan.push(
                    &reason,
                    format!("DROP INDEX IF EXISTS {};", names.qualify(&copy)),
                );
                plan.push(&reason, render::index_named(index, &copy, names, false));
                plan.push(
                    &reason,
                    format!("DROP INDEX IF EXISTS {};", names.qualify(&index.name)),
                );
                plan.push(
                    &reason,
                    format!(
                        "ALTER INDEX {} RENAME TO {};",
                        names.qualify(&copy),
                        index.name
                    ),
                );
            }
        }
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Judge an installed notify function by what it does, not by its text: pgq
/// accepts PGQueuer's own body as well as its own, as long as it notifies the
/// configured channel with a `table_changed_event` built by `json_build_object`.
pub fn function_is_current(installed_body: &str, declared_body: &str, channel: &str) -> bool {
    if collapse_whitespace(installed_body) == collapse_whitespace(declared_body) {
        return true;
    }
    let literal = format!("'{channel}'");
    let notifies_channel = installed_body
        .split("pg_notify(")
        .nth(1)
        .is_some_and(|call| call.trim_start().starts_with(&literal));
    notifies_channel
        && installed_body.matches(&literal).count() >= 2
        && installed_body.contains("json_build_object")
        && installed_body.contains("'table_changed_event'")
        && installed_body.contains("lower(TG_OP)")
        && installed_body.contains("TG_TABLE_NAME")
}

fn plan_routines(live: &Schema, declared: &Schema, names: &ObjectNames, plan: &mut Plan) {
    for f in &declared.functions {
        match live.function(&f.name) {
            None => plan.push(
                format!("missing function {}", f.name),
                render::function(f, names, false),
            ),
            Some(installed) if !function_is_current(&installed.body, &f.body, &names.channel) => {
                plan.push(
                    format!(
                        "function {} does not emit the expected events on channel {}",
                        f.name, names.channel
                    ),
                    render::function(f, names, true),
                )
            }
            Some(_) => {}
        }
    }
    for t in &declared.triggers {
        let installed = live
            .triggers
            .iter()
            .find(|i| i.name == t.name && i.table == t.table);
        match installed {
            None => plan.push(
                format!("missing trigger {} on {}", t.name, t.table),
                render::trigger(t, names, false),
            ),
            Some(i) if i.function != t.function || i.row_level || !i.all_events => plan.push(
                format!(
                    "trigger {} differs (function {}, {}, {})",
                    t.name,
                    i.function,
                    if i.row_level {
                        "row level"
                    } else {
                        "statement level"
                    },
                    if i.all_events {
                        "all events"
                    } else {
                        "not all events"
                    }
                ),
                render::trigger(t, names, true),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> PlanOptions {
        PlanOptions {
            durability: Durability::Durable,
            widen_id: true,
        }
    }

    #[test]
    fn declared_schema_plans_nothing() {
        let n = ObjectNames::default();
        let live = declare::target(&n, Durability::Durable);
        let plan = plan(&live, &n, &opts()).unwrap();
        assert!(plan.steps.is_empty(), "{plan:?}");
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn empty_database_plans_a_full_install_in_order() {
        let n = ObjectNames::with_prefix("", Some("jobs")).unwrap();
        let live = Schema::default();
        let plan = plan(&live, &n, &opts()).unwrap();
        let sql = plan.statements();
        assert_eq!(sql[0], "CREATE SCHEMA IF NOT EXISTS jobs;");
        assert!(sql[1].starts_with("CREATE TYPE jobs.pgqueuer_status"));
        assert_eq!(sql.len(), 1 + 1 + 4 + 13 + 2);
    }

    #[test]
    fn incompatible_type_is_drift() {
        let n = ObjectNames::default();
        let mut live = declare::target(&n, Durability::Durable);
        let queue = live
            .tables
            .iter_mut()
            .find(|t| t.name == "pgqueuer")
            .unwrap();
        queue
            .columns
            .iter_mut()
            .find(|c| c.name == "payload")
            .unwrap()
            .ty = "text".into();
        let err = plan(&live, &n, &opts()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pgqueuer.payload is text in the database but declared bytea; no supported conversion. Alter the column by hand, then re-run upgrade."
        );
    }

    #[test]
    fn durability_mismatch_is_only_a_note() {
        let n = ObjectNames::default();
        let live = declare::target(&n, Durability::Volatile);
        let plan = plan(&live, &n, &opts()).unwrap();
        assert!(plan.steps.is_empty());
        assert_eq!(plan.notes.len(), 4);
    }

    #[test]
    fn changed_index_is_rebuilt_beside_the_original() {
        let n = ObjectNames::default();
        let mut live = declare::target(&n, Durability::Durable);
        live.indexes
            .iter_mut()
            .find(|i| i.name == "pgqueuer_statistics_unique_count")
            .unwrap()
            .body = "USING btree (priority)".into();
        let plan = plan(&live, &n, &opts()).unwrap();
        let sql = plan.statements();
        assert_eq!(sql.len(), 5, "{sql:#?}");
        assert!(sql[0].starts_with("WITH buckets AS"));
        assert_eq!(sql[1], "DROP INDEX IF EXISTS pgq_rebuild_e34a705f;");
        assert_eq!(
            sql[4],
            "ALTER INDEX pgq_rebuild_e34a705f RENAME TO pgqueuer_statistics_unique_count;"
        );
    }

    #[test]
    fn pgqueuer_style_function_body_is_accepted() {
        let python_like = "DECLARE to_emit BOOLEAN := false; BEGIN IF to_emit THEN PERFORM pg_notify(\n 'ch_pgqueuer',\n json_build_object('channel', 'ch_pgqueuer', 'operation', lower(TG_OP), 'sent_at', NOW(), 'table', TG_TABLE_NAME, 'type', 'table_changed_event')::text); END IF; END;";
        assert!(function_is_current(python_like, "x", "ch_pgqueuer"));
        assert!(!function_is_current(python_like, "x", "other_channel"));
    }
}
