//! What sits between pgq and PostgreSQL: nothing (or a session pooler), or a
//! transaction pooler such as PgBouncer with `pool_mode = transaction`.
//!
//! A transaction pooler hands each transaction to whichever server
//! connection is free, so nothing may outlive a transaction: no named
//! prepared statements (PgBouncer before 1.21 does not track them, and the
//! next statement meets another backend: SQLSTATE 26000 or 42P05), no
//! session advisory locks, no `SET` outside a transaction, no LISTEN.

use std::fmt;
use std::str::FromStr;

/// How connections behave; prepared statements stay the default because
/// they save a parse per statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pooler {
    /// A direct connection, or a session pooler: session state is kept.
    #[default]
    #[value(alias = "session")]
    #[serde(alias = "session")]
    None,
    /// A transaction pooler: unnamed statements, no session state, no LISTEN.
    Transaction,
}

impl Pooler {
    /// Whether statements must be sent unnamed and nothing may rely on the session.
    pub fn is_transaction(self) -> bool {
        self == Pooler::Transaction
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Pooler::None => "none",
            Pooler::Transaction => "transaction",
        }
    }
}

impl fmt::Display for Pooler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Pooler {
    type Err = String;

    /// `session` means the same as `none`: a session pooler keeps session state.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "session" | "" => Ok(Pooler::None),
            "transaction" => Ok(Pooler::Transaction),
            other => Err(format!(
                "unknown pooler mode \"{other}\" (expected none, session or transaction)"
            )),
        }
    }
}

/// The words every "prepared statement sN …" failure through a transaction
/// pooler gets, so the operator learns the cause and the fix at once.
pub const HINT: &str = "a transaction pooler (PgBouncer) between pgq and PostgreSQL? set --pooler transaction (or PGQ_POOLER=transaction)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_case_insensitively() {
        assert_eq!("Transaction".parse::<Pooler>(), Ok(Pooler::Transaction));
        assert_eq!("session".parse::<Pooler>(), Ok(Pooler::None));
        assert_eq!("none".parse::<Pooler>(), Ok(Pooler::None));
        assert!("statement".parse::<Pooler>().is_err());
    }
}
