//! Names of the PGQueuer objects in one installation.
//!
//! PGQueuer derives every object name from a raw prefix (no separator) unless an
//! explicit override is set, and optionally places the objects in a schema.
//! Everything here is validated once, so the SQL renderers can splice the
//! names into DDL: a name that reaches them is a plain lower-case identifier.

use std::fmt;

use super::keywords::{self, Category};

/// PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Looks up a setting from the environment (or a test's fake environment).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "invalid prefix {0:?}: use lower-case letters, digits and underscores, starting with a letter or underscore"
    )]
    Prefix(String),
    #[error(
        "invalid schema {0:?}: use letters, digits and underscores, starting with a letter or underscore"
    )]
    Schema(String),
    #[error(
        "invalid {field} {value:?}: use a lower-case identifier (letters, digits, underscores; no quotes, dots or spaces)"
    )]
    Object { field: &'static str, value: String },
    #[error(
        "invalid channel {0:?}: use letters, digits, '_', '.' and '-', starting with a letter, digit or underscore"
    )]
    Channel(String),
    #[error(
        "invalid {field} {value:?}: it is a reserved word in PostgreSQL, and pgq (like PGQueuer) writes names unquoted; choose another name"
    )]
    Keyword { field: &'static str, value: String },
    #[error(
        "name {name:?} is {len} bytes; PostgreSQL truncates identifiers to 63 bytes, so pgq could not find it again (shorten the prefix or the {field} name)"
    )]
    TooLong {
        field: &'static str,
        name: String,
        len: usize,
    },
}

/// Every object name of one PGQueuer installation, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectNames {
    pub prefix: String,
    pub schema: Option<String>,
    pub queue_table: String,
    pub queue_table_log: String,
    pub statistics_table: String,
    pub schedules_table: String,
    pub queue_status_type: String,
    pub function: String,
    pub trigger: String,
    pub channel: String,
    /// Enum used by statistics before PGQueuer 0.19; only dropped, never created.
    pub legacy_statistics_status_type: String,
}

/// Settings fields with their preferred and legacy environment variable names.
const OVERRIDES: [(&str, &str, &str); 8] = [
    ("queue_table", "PGQUEUER_QUEUE_TABLE", "QUEUE_TABLE"),
    (
        "queue_table_log",
        "PGQUEUER_QUEUE_TABLE_LOG",
        "QUEUE_TABLE_LOG",
    ),
    (
        "statistics_table",
        "PGQUEUER_STATISTICS_TABLE",
        "STATISTICS_TABLE",
    ),
    (
        "schedules_table",
        "PGQUEUER_SCHEDULES_TABLE",
        "SCHEDULES_TABLE",
    ),
    (
        "queue_status_type",
        "PGQUEUER_QUEUE_STATUS_TYPE",
        "QUEUE_STATUS_TYPE",
    ),
    ("function", "PGQUEUER_FUNCTION", "FUNCTION"),
    ("trigger", "PGQUEUER_TRIGGER", "TRIGGER"),
    ("channel", "PGQUEUER_CHANNEL", "CHANNEL"),
];

impl Default for ObjectNames {
    fn default() -> Self {
        Self::with_prefix("", None).expect("the empty prefix is valid")
    }
}

impl ObjectNames {
    /// Names for `prefix` and `schema` with no per-object overrides.
    pub fn with_prefix(prefix: &str, schema: Option<&str>) -> Result<Self, NameError> {
        Self::resolve(Some(prefix), schema, &|_| None)
    }

    /// Resolve names like PGQueuer 1.6: flags first, then `PGQUEUER_*` variables,
    /// then their legacy bare spellings (`CHANNEL`, `TRIGGER`, …), which PGQueuer
    /// honours too, so a deployment's environment renames objects for both tools.
    pub fn resolve(
        prefix: Option<&str>,
        schema: Option<&str>,
        env: EnvLookup<'_>,
    ) -> Result<Self, NameError> {
        let prefix = match prefix {
            Some(p) => p.to_string(),
            None => env("PGQUEUER_PREFIX").unwrap_or_default(),
        };
        validate_prefix(&prefix)?;
        let schema = match schema {
            Some(s) => Some(s.to_string()),
            None => env("PGQUEUER_SCHEMA").or_else(|| env("DB_SCHEMA")),
        }
        .filter(|s| !s.is_empty());
        let schema = schema.map(|s| validate_schema(&s)).transpose()?;

        let default_for = |field: &str| -> String {
            let base = match field {
                "queue_table" => "pgqueuer",
                "queue_table_log" => "pgqueuer_log",
                "statistics_table" => "pgqueuer_statistics",
                "schedules_table" => "pgqueuer_schedules",
                "queue_status_type" => "pgqueuer_status",
                "function" => "fn_pgqueuer_changed",
                "trigger" => "tg_pgqueuer_changed",
                _ => "ch_pgqueuer",
            };
            format!("{prefix}{base}")
        };
        let mut values = Vec::with_capacity(OVERRIDES.len());
        for (field, preferred, legacy) in OVERRIDES {
            let explicit = env(preferred)
                .or_else(|| env(legacy))
                .filter(|v| !v.is_empty());
            let value = explicit.unwrap_or_else(|| default_for(field));
            if field == "channel" {
                validate_channel(&value)?;
            } else {
                validate_object(field, &value)?;
            }
            values.push(value);
        }
        let [
            queue_table,
            queue_table_log,
            statistics_table,
            schedules_table,
            queue_status_type,
            function,
            trigger,
            channel,
        ]: [String; 8] = values.try_into().expect("one value per override");
        let names = ObjectNames {
            legacy_statistics_status_type: format!("{prefix}pgqueuer_statistics_status"),
            prefix,
            schema,
            queue_table,
            queue_table_log,
            statistics_table,
            schedules_table,
            queue_status_type,
            function,
            trigger,
            channel,
        };
        names.check_derived_lengths()?;
        Ok(names)
    }

    /// `schema.name` when a schema is configured, else the bare name.
    pub fn qualify(&self, name: &str) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{name}"),
            None => name.to_string(),
        }
    }

    /// SQL expression naming the target namespace in catalog queries.
    pub fn schema_expr(&self) -> String {
        match &self.schema {
            Some(schema) => format!("'{schema}'"),
            None => "current_schema()".to_string(),
        }
    }

    /// The four tables in PGQueuer's declaration order (sorted by name).
    pub fn tables_sorted(&self) -> Vec<&str> {
        let mut tables = vec![
            self.queue_table.as_str(),
            self.queue_table_log.as_str(),
            self.schedules_table.as_str(),
            self.statistics_table.as_str(),
        ];
        tables.sort_unstable();
        tables
    }

    /// Key of the session advisory lock that serialises upgrades of this
    /// installation: CRC-32 of the qualified queue table, as PGQueuer computes it.
    pub fn upgrade_lock_key(&self) -> i64 {
        i64::from(crc32fast::hash(self.qualify(&self.queue_table).as_bytes()))
    }

    /// Derived names (indexes) must survive PostgreSQL's 63-byte truncation,
    /// otherwise catalog lookups by the full name would never match. (Sequence
    /// and constraint names are chosen and shortened by PostgreSQL itself and
    /// are never looked up by name.)
    fn check_derived_lengths(&self) -> Result<(), NameError> {
        let derived = [
            (
                "queue_table",
                format!("{}_queue_manager_id_idx", self.queue_table),
            ),
            (
                "queue_table_log",
                format!("{}_not_aggregated", self.queue_table_log),
            ),
            (
                "queue_table_log",
                format!("{}_job_id_status", self.queue_table_log),
            ),
            (
                "statistics_table",
                format!("{}_unique_count", self.statistics_table),
            ),
            (
                "prefix",
                format!("{}pgqueuer_statistics_status", self.prefix),
            ),
            ("channel", self.channel.clone()),
        ];
        for (field, name) in derived {
            if name.len() > MAX_IDENTIFIER_BYTES {
                return Err(NameError::TooLong {
                    field,
                    len: name.len(),
                    name,
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for ObjectNames {
    /// Python-repr style, as PGQueuer prints it in messages and SQL headers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prefix='{}', schema=", self.prefix)?;
        match &self.schema {
            Some(s) => write!(f, "'{s}'"),
            None => write!(f, "None"),
        }
    }
}

fn is_identifier(value: &str, allow_upper: bool) -> bool {
    let mut chars = value.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let ok =
        |c: char| c.is_ascii_lowercase() || c == '_' || (allow_upper && c.is_ascii_uppercase());
    ok(first) && chars.all(|c| ok(c) || c.is_ascii_digit())
}

/// The prefix must be lower-case: objects are created unquoted (folded to lower
/// case), so a mixed-case prefix would make install succeed and every later
/// catalog lookup miss (PGQueuer 1.6 has exactly that bug).
fn validate_prefix(prefix: &str) -> Result<(), NameError> {
    if prefix.is_empty() || is_identifier(prefix, false) {
        Ok(())
    } else {
        Err(NameError::Prefix(prefix.to_string()))
    }
}

/// Schemas are lower-cased, as PGQueuer does, after checking the characters.
fn validate_schema(schema: &str) -> Result<String, NameError> {
    if !is_identifier(schema, true) {
        return Err(NameError::Schema(schema.to_string()));
    }
    if schema.len() > MAX_IDENTIFIER_BYTES {
        return Err(NameError::TooLong {
            field: "schema",
            name: schema.to_string(),
            len: schema.len(),
        });
    }
    let schema = schema.to_ascii_lowercase();
    reject_keyword("schema", &schema, Splice::Relation)?;
    Ok(schema)
}

fn validate_object(field: &'static str, value: &str) -> Result<(), NameError> {
    if !is_identifier(value, false) {
        return Err(NameError::Object {
            field,
            value: value.to_string(),
        });
    }
    if value.len() > MAX_IDENTIFIER_BYTES {
        return Err(NameError::TooLong {
            field,
            name: value.to_string(),
            len: value.len(),
        });
    }
    let splice = match field {
        "function" => Splice::Function,
        "queue_status_type" => Splice::Type,
        _ => Splice::Relation,
    };
    reject_keyword(field, value, splice)
}

/// Where an unquoted name lands in the DDL, which decides the key words it
/// cannot be (PostgreSQL's grammar: `ColId` for relations, schemas and
/// triggers; `type_function_name` for functions; both for a type, which is
/// created as one and used as the other).
#[derive(Clone, Copy)]
enum Splice {
    Relation,
    Function,
    Type,
}

fn reject_keyword(field: &'static str, value: &str, splice: Splice) -> Result<(), NameError> {
    let clash = match (keywords::category(value), splice) {
        (None, _) => false,
        (Some(Category::Reserved), _) | (Some(_), Splice::Type) => true,
        (Some(Category::TypeFuncName), Splice::Relation) => true,
        (Some(Category::ColName), Splice::Function) => true,
        (Some(_), _) => false,
    };
    if clash {
        return Err(NameError::Keyword {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Channels are used quoted (LISTEN "x") and as a string literal, so they keep
/// their case; the character set is PGQueuer's.
fn validate_channel(channel: &str) -> Result<(), NameError> {
    let mut chars = channel.chars();
    let valid = match chars.next() {
        Some(first) => {
            (first.is_ascii_alphanumeric() || first == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err(NameError::Channel(channel.to_string()))
    }
}

/// Validate a channel given on the command line (`listen --channel`).
pub fn checked_channel(channel: &str) -> Result<&str, NameError> {
    validate_channel(channel)?;
    if channel.len() > MAX_IDENTIFIER_BYTES {
        return Err(NameError::TooLong {
            field: "channel",
            name: channel.to_string(),
            len: channel.len(),
        });
    }
    Ok(channel)
}

/// `LISTEN "channel"`. Channels are validated (letters, digits, `_.-`), so
/// quoting is enough; doubling quotes keeps it safe even if validation ever
/// loosens.
pub fn listen_statement(channel: &str) -> String {
    format!("LISTEN {}", quoted_channel(channel))
}

/// `UNLISTEN "channel"`, quoted as [`listen_statement`] quotes it.
pub fn unlisten_statement(channel: &str) -> String {
    format!("UNLISTEN {}", quoted_channel(channel))
}

fn quoted_channel(channel: &str) -> String {
    format!("\"{}\"", channel.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_pgqueuer() {
        let n = ObjectNames::default();
        assert_eq!(n.queue_table, "pgqueuer");
        assert_eq!(n.queue_table_log, "pgqueuer_log");
        assert_eq!(n.statistics_table, "pgqueuer_statistics");
        assert_eq!(n.schedules_table, "pgqueuer_schedules");
        assert_eq!(n.queue_status_type, "pgqueuer_status");
        assert_eq!(n.function, "fn_pgqueuer_changed");
        assert_eq!(n.trigger, "tg_pgqueuer_changed");
        assert_eq!(n.channel, "ch_pgqueuer");
        assert_eq!(n.upgrade_lock_key(), 2389487409);
    }

    #[test]
    fn prefix_is_concatenated_without_separator_but_not_onto_overrides() {
        let env = env_of(&[("PGQUEUER_QUEUE_TABLE", "jobs"), ("CHANNEL", "Loud.ch-1")]);
        let n = ObjectNames::resolve(Some("billing"), None, &env).unwrap();
        assert_eq!(n.queue_table, "jobs");
        assert_eq!(n.queue_table_log, "billingpgqueuer_log");
        assert_eq!(n.channel, "Loud.ch-1");
        assert_eq!(
            n.legacy_statistics_status_type,
            "billingpgqueuer_statistics_status"
        );
    }

    #[test]
    fn schema_is_lowercased_and_qualifies_names() {
        let n = ObjectNames::with_prefix("app_", Some("Jobs")).unwrap();
        assert_eq!(n.schema.as_deref(), Some("jobs"));
        assert_eq!(n.qualify(&n.queue_table), "jobs.app_pgqueuer");
        assert_eq!(n.schema_expr(), "'jobs'");
        assert_eq!(
            ObjectNames::with_prefix("", Some("jobs"))
                .unwrap()
                .upgrade_lock_key(),
            3584373128
        );
    }

    #[test]
    fn hostile_names_are_rejected() {
        for bad in ["a'b", "a;b", "a b", "1abc", "Up_", "a\"b", "a.b", "a-b"] {
            assert!(ObjectNames::with_prefix(bad, None).is_err(), "prefix {bad}");
        }
        for bad in ["a'b", "x;drop", "a b", "", "a.b"] {
            if bad.is_empty() {
                continue;
            }
            assert!(
                ObjectNames::with_prefix("", Some(bad)).is_err(),
                "schema {bad}"
            );
        }
        let env = env_of(&[("PGQUEUER_CHANNEL", "bad channel")]);
        assert!(ObjectNames::resolve(None, None, &env).is_err());
        let env = env_of(&[("PGQUEUER_QUEUE_TABLE", "Jobs")]);
        assert!(ObjectNames::resolve(None, None, &env).is_err());
    }

    #[test]
    fn key_words_are_rejected_where_postgresql_cannot_parse_them() {
        for schema in ["user", "SELECT", "left"] {
            let err = ObjectNames::with_prefix("", Some(schema)).unwrap_err();
            assert!(matches!(err, NameError::Keyword { .. }), "{schema}: {err}");
        }
        // Column-name key words are fine as schema and table names…
        assert!(ObjectNames::with_prefix("", Some("values")).is_ok());
        let ok = env_of(&[("PGQUEUER_QUEUE_TABLE", "values"), ("FUNCTION", "left")]);
        assert!(ObjectNames::resolve(None, None, &ok).is_ok());
        // …but not as function or type names, and type-function key words are
        // not table, trigger or type names.
        for (var, value) in [
            ("PGQUEUER_QUEUE_TABLE", "user"),
            ("PGQUEUER_QUEUE_TABLE", "join"),
            ("PGQUEUER_TRIGGER", "left"),
            ("PGQUEUER_FUNCTION", "int"),
            ("PGQUEUER_QUEUE_STATUS_TYPE", "int"),
            ("PGQUEUER_QUEUE_STATUS_TYPE", "left"),
        ] {
            let pairs = [(var, value)];
            let env = env_of(&pairs);
            let err = ObjectNames::resolve(None, None, &env).unwrap_err();
            assert!(
                matches!(err, NameError::Keyword { .. }),
                "{var}={value}: {err}"
            );
        }
        // A prefix only ever precedes a fixed suffix, so it cannot form one.
        assert!(ObjectNames::with_prefix("user", None).is_ok());
    }

    #[test]
    fn long_names_are_rejected_before_postgres_truncates_them() {
        let long = "p".repeat(40);
        let err = ObjectNames::with_prefix(&long, None).unwrap_err();
        assert!(matches!(err, NameError::TooLong { .. }), "{err}");
        assert!(ObjectNames::with_prefix(&"p".repeat(20), None).is_ok());
        assert!(ObjectNames::with_prefix("", Some(&"s".repeat(64))).is_err());
    }
}
