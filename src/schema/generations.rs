//! Schema generations: which PGQueuer release an installation's objects
//! belong to.
//!
//! pgq writes PGQueuer 1.6.0's schema ([`super::declare`]) and upgrades from
//! the releases before it ([`super::plan`], [`super::declare::retired`]). A
//! database may also carry objects that no release pgq knows has: a later
//! PGQueuer's additions (2.0's statistics index, 2.3's `cancel_requested`,
//! 2.3's rebuilt dequeue index), or an operator's own. Such a database is
//! *newer*: pgq reads it as usual but changes none of its schema, and says
//! what it found. What later releases add is data here, taken from their
//! release notes; when a 2.x package can be installed and tested against,
//! its schema becomes one more declaration beside 1.6.0's.

use std::fmt;

use super::declare::{self, STATUS_LABELS};
use super::model::Schema;
use crate::settings::names::ObjectNames;

/// The PGQueuer release whose schema pgq writes.
pub const WRITTEN: &str = declare::PGQUEUER_SCHEMA_VERSION;

/// One object that makes a database newer than the schema pgq writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Newer {
    /// `column pgqueuer.cancel_requested`, `index pgqueuer_ep_prio_id_idx: (…) where pgq knows (…)`.
    pub object: String,
    /// The release whose notes name this change, when it is a known one.
    pub release: Option<&'static str>,
}

impl fmt::Display for Newer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.release {
            Some(release) => write!(f, "{} (PGQueuer {release})", self.object),
            None => write!(f, "{} (no PGQueuer release pgq knows)", self.object),
        }
    }
}

/// What a later release adds or changes, by the object's name.
enum Change {
    Column { table: String, column: &'static str },
    Index(String),
    Redefined(String),
}

/// The schema changes of PGQueuer's later releases, from their notes.
fn later_releases(n: &ObjectNames) -> Vec<(Change, &'static str)> {
    vec![
        (Change::Index(format!("{}_created", n.statistics_table)), "2.0.0"),
        (
            Change::Column {
                table: n.queue_table.clone(),
                column: "cancel_requested",
            },
            "2.3.0",
        ),
        (
            Change::Redefined(format!("{}_ep_prio_id_idx", n.queue_table)),
            "2.3.0",
        ),
    ]
}

fn release_of_column(n: &ObjectNames, table: &str, column: &str) -> Option<&'static str> {
    later_releases(n).into_iter().find_map(|(c, r)| match c {
        Change::Column { table: t, column: c } if t == table && c == column => Some(r),
        _ => None,
    })
}

fn release_of_index(n: &ObjectNames, name: &str, redefined: bool) -> Option<&'static str> {
    later_releases(n).into_iter().find_map(|(c, r)| match c {
        Change::Index(i) if !redefined && i == name => Some(r),
        Change::Redefined(i) if redefined && i == name => Some(r),
        _ => None,
    })
}

/// Whether `body` is a definition an earlier release gave index `name`
/// (which the upgrade planner then rebuilds to 1.6.0's).
fn earlier_definition(n: &ObjectNames, name: &str, body: &str) -> bool {
    // Before 0.19 the statistics bucket also keyed on time_in_queue.
    let unique_count = name == declare::unique_count_name(n) && body.contains("time_in_queue");
    // 1.1.1 to 1.2.x: a four-column composite instead of `((1))`.
    let not_aggregated = name == format!("{}_not_aggregated", n.queue_table_log)
        && body.contains("WHERE (NOT aggregated)");
    unique_count || not_aggregated
}

/// Everything in `live` that neither PGQueuer 1.6.0 nor an earlier release
/// pgq upgrades from has: empty for every database pgq may change.
pub fn newer(live: &Schema, n: &ObjectNames) -> Vec<Newer> {
    let declared = declare::target(n, Default::default());
    let retired = declare::retired(n);
    let mut found = Vec::new();
    for table in &live.tables {
        let Some(known) = declared.table(&table.name) else {
            continue;
        };
        for column in &table.columns {
            let retired = retired
                .columns
                .iter()
                .any(|(t, c)| *t == table.name && *c == column.name);
            if known.column(&column.name).is_none() && !retired {
                found.push(Newer {
                    object: format!("column {}.{}", table.name, column.name),
                    release: release_of_column(n, &table.name, &column.name),
                });
            }
        }
        for unique in &table.unique {
            if !known.unique.contains(unique) {
                found.push(Newer {
                    object: format!("unique ({}) on {}", unique.join(", "), table.name),
                    release: None,
                });
            }
        }
    }
    for index in &live.indexes {
        let Some(known) = declared.index(&index.name) else {
            continue;
        };
        let same = index.table == known.table
            && index.unique == known.unique
            && index.body == known.body;
        if !same && !earlier_definition(n, &index.name, &index.body) {
            found.push(Newer {
                object: format!(
                    "index {}: {} where pgq knows {}",
                    index.name,
                    definition(index.unique, &index.body),
                    definition(known.unique, &known.body)
                ),
                release: release_of_index(n, &index.name, true),
            });
        }
    }
    for index in &live.others.indexes {
        found.push(Newer {
            object: format!(
                "index {} on {}: {}",
                index.name,
                index.table,
                definition(index.unique, &index.body)
            ),
            release: release_of_index(n, &index.name, false),
        });
    }
    for e in &live.enums {
        if e.name != n.queue_status_type {
            continue;
        }
        for label in e.labels.iter().filter(|l| !STATUS_LABELS.contains(&l.as_str())) {
            found.push(Newer {
                object: format!("type label {}.'{label}'", e.name),
                release: None,
            });
        }
    }
    found.extend(live.others.constraints.iter().map(|c| Newer {
        object: format!("constraint {c}"),
        release: None,
    }));
    found.extend(live.others.triggers.iter().map(|t| Newer {
        object: format!("trigger {t}"),
        release: None,
    }));
    found
}

fn definition(unique: bool, body: &str) -> String {
    if unique {
        format!("UNIQUE {body}")
    } else {
        body.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::model::{Column, ColumnKind, Index};
    use crate::settings::durability::Durability;

    fn shaped_like_2_3(n: &ObjectNames) -> Schema {
        let mut live = declare::target(n, Durability::Durable);
        let queue = live.tables.iter_mut().find(|t| t.name == n.queue_table).unwrap();
        queue.columns.push(Column {
            name: "cancel_requested".into(),
            ty: "boolean".into(),
            not_null: true,
            default: Some("false".into()),
            kind: ColumnKind::Plain,
            primary_key: false,
        });
        live.indexes
            .iter_mut()
            .find(|i| i.name == "pgqueuer_ep_prio_id_idx")
            .unwrap()
            .body = "USING btree (entrypoint, priority DESC, execute_after, id) WHERE (status = 'queued'::pgqueuer_status)".into();
        live.others.indexes.push(Index {
            name: "pgqueuer_statistics_created".into(),
            table: "pgqueuer_statistics".into(),
            body: "USING btree (created)".into(),
            unique: false,
        });
        live
    }

    #[test]
    fn the_written_schema_is_not_newer() {
        let n = ObjectNames::default();
        assert!(newer(&declare::target(&n, Durability::Balanced), &n).is_empty());
    }

    #[test]
    fn each_later_addition_is_named_with_its_release() {
        let n = ObjectNames::default();
        let found: Vec<String> = newer(&shaped_like_2_3(&n), &n)
            .iter()
            .map(Newer::to_string)
            .collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!(found[0], "column pgqueuer.cancel_requested (PGQueuer 2.3.0)");
        assert!(
            found[1].starts_with("index pgqueuer_ep_prio_id_idx: USING btree (entrypoint, priority DESC, execute_after, id)")
                && found[1].contains("where pgq knows USING btree (entrypoint, priority DESC, id)")
                && found[1].ends_with("(PGQueuer 2.3.0)"),
            "{}",
            found[1]
        );
        assert_eq!(
            found[2],
            "index pgqueuer_statistics_created on pgqueuer_statistics: USING btree (created) (PGQueuer 2.0.0)"
        );
    }

    #[test]
    fn unknown_objects_are_newer_too() {
        let n = ObjectNames::default();
        let mut live = declare::target(&n, Durability::Durable);
        live.enums[0].labels.push("paused".into());
        live.others.triggers.push("pgqueuer.audit".into());
        let found = newer(&live, &n);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].to_string(),
            "type label pgqueuer_status.'paused' (no PGQueuer release pgq knows)"
        );
    }
}
