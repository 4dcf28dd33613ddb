//! Durability levels: which PGQueuer tables are WAL-logged.

use std::fmt;
use std::str::FromStr;

/// One of the four PGQueuer tables, by the role it plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableRole {
    Queue,
    Log,
    Statistics,
    Schedules,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// Every table UNLOGGED: fastest, everything is lost on a crash, nothing is replicated.
    Volatile,
    /// Queue and schedules LOGGED; log and statistics UNLOGGED.
    Balanced,
    /// Every table LOGGED (the default).
    #[default]
    Durable,
}

impl Durability {
    pub const ALL: [Durability; 3] = [
        Durability::Volatile,
        Durability::Balanced,
        Durability::Durable,
    ];

    /// Whether `table` is UNLOGGED at this level (PGQueuer 1.6's mapping).
    pub fn unlogged(self, table: TableRole) -> bool {
        match self {
            Durability::Volatile => true,
            Durability::Balanced => matches!(table, TableRole::Log | TableRole::Statistics),
            Durability::Durable => false,
        }
    }

    /// The level whose mapping equals the given persistence of each table, if any.
    pub fn matching(unlogged: impl Fn(TableRole) -> Option<bool>) -> Option<Durability> {
        Durability::ALL.into_iter().find(|level| {
            [
                TableRole::Queue,
                TableRole::Log,
                TableRole::Statistics,
                TableRole::Schedules,
            ]
            .into_iter()
            .all(|role| unlogged(role) == Some(level.unlogged(role)))
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Volatile => "volatile",
            Durability::Balanced => "balanced",
            Durability::Durable => "durable",
        }
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "volatile" => Ok(Durability::Volatile),
            "balanced" => Ok(Durability::Balanced),
            "durable" => Ok(Durability::Durable),
            other => Err(format!(
                "unknown durability {other:?} (expected volatile, balanced or durable)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_matches_pgqueuer() {
        use TableRole::*;
        let row = |d: Durability| [Queue, Log, Statistics, Schedules].map(|t| d.unlogged(t));
        assert_eq!(row(Durability::Volatile), [true, true, true, true]);
        assert_eq!(row(Durability::Balanced), [false, true, true, false]);
        assert_eq!(row(Durability::Durable), [false, false, false, false]);
        assert!("bogus".parse::<Durability>().is_err());
        assert_eq!(
            Durability::matching(|t| Some(Durability::Balanced.unlogged(t))),
            Some(Durability::Balanced)
        );
        assert_eq!(Durability::matching(|t| Some(t == Queue)), None);
    }
}
