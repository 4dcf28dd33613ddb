//! The PGQueuer 1.6.0 schema, declared in catalog spelling.
//!
//! This is the one place to edit when the target PGQueuer schema changes.
//! Types, defaults and index bodies are written exactly as `pg_catalog`
//! reports them back, so a fresh install inspects equal to this declaration
//! (and Python PGQueuer's planner, which compares the same strings, agrees).

use super::model::{Column, ColumnKind, EnumType, Function, Index, Schema, Table, Trigger};
use crate::settings::durability::{Durability, TableRole};
use crate::settings::names::ObjectNames;

/// The PGQueuer release whose schema pgq installs and upgrades to.
pub const PGQUEUER_SCHEMA_VERSION: &str = "1.6.0";

pub const STATUS_LABELS: [&str; 7] = [
    "queued",
    "picked",
    "successful",
    "exception",
    "canceled",
    "deleted",
    "failed",
];

const TIMESTAMP: &str = "timestamp with time zone";

/// Bucket key of the statistics unique index (the aggregation's ON CONFLICT arbiter).
pub const UNIQUE_COUNT_KEY: &str =
    "priority, date_trunc('sec'::text, timezone('UTC'::text, created)), status, entrypoint";

fn col(name: &str, ty: &str) -> Column {
    Column {
        name: name.to_string(),
        ty: ty.to_string(),
        not_null: false,
        default: None,
        kind: ColumnKind::Plain,
        primary_key: false,
    }
}

impl Column {
    fn not_null(mut self) -> Self {
        self.not_null = true;
        self
    }
    fn default(mut self, expr: &str) -> Self {
        self.default = Some(expr.to_string());
        self
    }
    fn id(kind: ColumnKind) -> Self {
        Column {
            kind,
            primary_key: true,
            ..col("id", "bigint").not_null()
        }
    }
}

/// Partial-index predicate of the dedupe index; an `ON CONFLICT` arbiter must restate it.
pub fn dedupe_predicate(status: &str) -> String {
    format!(
        "((status = ANY (ARRAY['queued'::{status}, 'picked'::{status}])) AND (dedupe_key IS NOT NULL))"
    )
}

fn queue_table(n: &ObjectNames, d: Durability) -> Table {
    let status = &n.queue_status_type;
    Table {
        name: n.queue_table.clone(),
        role: TableRole::Queue,
        unlogged: d.unlogged(TableRole::Queue),
        columns: vec![
            Column::id(ColumnKind::Serial),
            col("priority", "integer").not_null(),
            col("queue_manager_id", "uuid"),
            col("created", TIMESTAMP).not_null().default("now()"),
            col("updated", TIMESTAMP).not_null().default("now()"),
            col("heartbeat", TIMESTAMP).not_null().default("now()"),
            col("execute_after", TIMESTAMP).not_null().default("now()"),
            col("status", status).not_null(),
            col("entrypoint", "text").not_null(),
            col("dedupe_key", "text"),
            col("payload", "bytea"),
            col("headers", "jsonb"),
            col("attempts", "integer").not_null().default("0"),
            col("slot", "bigint"),
        ],
        unique: vec![],
        id_sequence_type: Some("bigint".into()),
    }
}

fn log_table(n: &ObjectNames, d: Durability) -> Table {
    Table {
        name: n.queue_table_log.clone(),
        role: TableRole::Log,
        unlogged: d.unlogged(TableRole::Log),
        columns: vec![
            Column::id(ColumnKind::Identity),
            col("created", TIMESTAMP).not_null().default("now()"),
            col("job_id", "bigint").not_null(),
            col("status", &n.queue_status_type).not_null(),
            col("priority", "integer").not_null(),
            col("entrypoint", "text").not_null(),
            col("traceback", "jsonb"),
            col("aggregated", "boolean").default("false"),
        ],
        unique: vec![],
        id_sequence_type: Some("bigint".into()),
    }
}

fn statistics_table(n: &ObjectNames, d: Durability) -> Table {
    Table {
        name: n.statistics_table.clone(),
        role: TableRole::Statistics,
        unlogged: d.unlogged(TableRole::Statistics),
        columns: vec![
            Column::id(ColumnKind::Serial),
            // Not timezone('UTC', now()): that yields a timestamp without zone and
            // would shift the instant in a non-UTC session.
            col("created", TIMESTAMP)
                .not_null()
                .default("date_trunc('sec'::text, now())"),
            col("count", "bigint").not_null(),
            col("priority", "integer").not_null(),
            col("status", &n.queue_status_type).not_null(),
            col("entrypoint", "text").not_null(),
        ],
        unique: vec![],
        id_sequence_type: Some("bigint".into()),
    }
}

fn schedules_table(n: &ObjectNames, d: Durability) -> Table {
    let status = &n.queue_status_type;
    Table {
        name: n.schedules_table.clone(),
        role: TableRole::Schedules,
        unlogged: d.unlogged(TableRole::Schedules),
        columns: vec![
            Column::id(ColumnKind::Serial),
            col("expression", "text").not_null(),
            col("entrypoint", "text").not_null(),
            col("heartbeat", TIMESTAMP).not_null().default("now()"),
            col("created", TIMESTAMP).not_null().default("now()"),
            col("updated", TIMESTAMP).not_null().default("now()"),
            col("next_run", TIMESTAMP).not_null().default("now()"),
            col("last_run", TIMESTAMP),
            col("status", status).default(&format!("'queued'::{status}")),
        ],
        unique: vec![vec!["expression".into(), "entrypoint".into()]],
        id_sequence_type: Some("bigint".into()),
    }
}

fn index(name: String, table: &str, body: String, unique: bool) -> Index {
    Index {
        name,
        table: table.to_string(),
        body,
        unique,
    }
}

fn indexes(n: &ObjectNames) -> Vec<Index> {
    let q = &n.queue_table;
    let log = &n.queue_table_log;
    let s = &n.queue_status_type;
    let mut all = vec![
        index(
            format!("{q}_priority_id_id1_idx"),
            q,
            format!("USING btree (priority, id DESC) INCLUDE (id) WHERE (status = 'queued'::{s})"),
            false,
        ),
        index(
            format!("{q}_updated_id_id1_idx"),
            q,
            format!("USING btree (updated, id DESC) INCLUDE (id) WHERE (status = 'picked'::{s})"),
            false,
        ),
        index(
            format!("{q}_picked_heartbeat_idx"),
            q,
            format!("USING btree (heartbeat) WHERE (status = 'picked'::{s})"),
            false,
        ),
        index(
            format!("{q}_queue_manager_id_idx"),
            q,
            "USING btree (queue_manager_id) WHERE (queue_manager_id IS NOT NULL)".into(),
            false,
        ),
        index(
            format!("{q}_ep_prio_id_idx"),
            q,
            format!("USING btree (entrypoint, priority DESC, id) WHERE (status = 'queued'::{s})"),
            false,
        ),
        index(
            format!("{q}_ep_ea_idx"),
            q,
            format!("USING btree (entrypoint, execute_after) WHERE (status = 'queued'::{s})"),
            false,
        ),
        index(
            format!("{q}_unique_dedupe_key"),
            q,
            format!("USING btree (dedupe_key) WHERE {}", dedupe_predicate(s)),
            true,
        ),
        index(
            format!("{q}_picked_slot_idx"),
            q,
            format!(
                "USING btree (entrypoint, slot) WHERE ((status = 'picked'::{s}) AND (slot IS NOT NULL))"
            ),
            true,
        ),
        index(
            format!("{log}_not_aggregated"),
            log,
            "USING btree ((1)) WHERE (NOT aggregated)".into(),
            false,
        ),
        index(
            format!("{log}_created"),
            log,
            "USING btree (created)".into(),
            false,
        ),
        index(
            format!("{log}_status"),
            log,
            "USING btree (status)".into(),
            false,
        ),
        index(
            format!("{log}_job_id_status"),
            log,
            "USING btree (job_id, created DESC)".into(),
            false,
        ),
        index(
            unique_count_name(n),
            &n.statistics_table,
            format!("USING btree ({UNIQUE_COUNT_KEY})"),
            true,
        ),
    ];
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

pub fn unique_count_name(n: &ObjectNames) -> String {
    format!("{}_unique_count", n.statistics_table)
}

/// pgq's own body for the change-notification trigger function.
///
/// Same behaviour and payload as PGQueuer's: one `table_changed_event` per
/// INSERT, DELETE or TRUNCATE statement (and per UPDATE whose OLD and NEW differ,
/// which never happens at statement level, where both are NULL).
pub fn notify_function_body(channel: &str) -> String {
    format!(
        r#"
BEGIN
    -- Statement level: OLD and NEW are NULL here, so UPDATEs stay silent,
    -- exactly as PGQueuer's own function behaves.
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify(
        '{channel}',
        json_build_object(
            'channel', '{channel}',
            'operation', lower(TG_OP),
            'sent_at', NOW(),
            'table', TG_TABLE_NAME,
            'type', 'table_changed_event'
        )::text
    );
    RETURN NULL;
END;
"#
    )
}

/// The schema pgq installs: PGQueuer 1.6.0's, for these names and durability.
pub fn target(n: &ObjectNames, d: Durability) -> Schema {
    let mut tables = vec![
        queue_table(n, d),
        log_table(n, d),
        statistics_table(n, d),
        schedules_table(n, d),
    ];
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    Schema {
        namespace_exists: true,
        enums: vec![EnumType {
            name: n.queue_status_type.clone(),
            labels: STATUS_LABELS.iter().map(|l| l.to_string()).collect(),
        }],
        tables,
        indexes: indexes(n),
        functions: vec![Function {
            name: n.function.clone(),
            body: notify_function_body(&n.channel),
        }],
        triggers: vec![Trigger {
            name: n.trigger.clone(),
            table: n.queue_table.clone(),
            function: n.function.clone(),
            row_level: false,
            all_events: true,
        }],
        others: Default::default(),
    }
}

/// Objects older releases created that 1.6.0 no longer declares.
pub struct Retired {
    pub indexes: Vec<String>,
    pub types: Vec<String>,
    /// (table, column) pairs kept for their data; only NOT NULL is relaxed.
    pub columns: Vec<(String, String)>,
}

pub fn retired(n: &ObjectNames) -> Retired {
    Retired {
        indexes: vec![format!("{}_heartbeat_id_id1_idx", n.queue_table)],
        types: vec![n.legacy_statistics_status_type.clone()],
        columns: vec![(n.statistics_table.clone(), "time_in_queue".into())],
    }
}

/// Fixed-width name for an index being rebuilt beside the original, so a long
/// prefix cannot truncate it into the name it is about to replace.
pub fn rebuild_name(index: &str) -> String {
    format!("pgq_rebuild_{:08x}", crc32fast::hash(index.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declares_thirteen_indexes_sorted() {
        let s = target(&ObjectNames::default(), Durability::Durable);
        assert_eq!(s.indexes.len(), 13);
        let names: Vec<_> = s.indexes.iter().map(|i| i.name.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        let tables: Vec<_> = s.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            tables,
            [
                "pgqueuer",
                "pgqueuer_log",
                "pgqueuer_schedules",
                "pgqueuer_statistics"
            ]
        );
        assert_eq!(
            rebuild_name("pgqueuer_statistics_unique_count"),
            "pgq_rebuild_e34a705f"
        );
    }
}
