//! Database errors as one line for people.

use std::fmt;

/// A PostgreSQL error as one line: message, detail and SQLSTATE; never a Debug dump.
pub struct DbErrorText<'a>(pub &'a tokio_postgres::Error);

impl fmt::Display for DbErrorText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_db_error() {
            Some(db) => {
                write!(f, "{}", db.message())?;
                if let Some(detail) = db.detail() {
                    write!(f, " ({detail})")?;
                }
                write!(f, " [SQLSTATE {}]", db.code().code())?;
                if lost_prepared_statement(db) {
                    write!(f, " ({})", crate::settings::pooler::HINT)?;
                }
                Ok(())
            }
            None if self.0.is_closed() => f.write_str("the connection to the server was lost"),
            None => write!(f, "{}", self.0),
        }
    }
}

/// tokio-postgres names its prepared statements `s0`, `s1`, …; one that
/// exists twice (42P05) or is gone (26000) means consecutive exchanges met
/// different server connections: a transaction pooler in between.
fn lost_prepared_statement(db: &tokio_postgres::error::DbError) -> bool {
    use tokio_postgres::error::SqlState;
    let code = db.code();
    let ours = db
        .message()
        .strip_prefix("prepared statement \"s")
        .and_then(|rest| rest.split_once('"'))
        .is_some_and(|(digits, _)| {
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        });
    ours && (*code == SqlState::DUPLICATE_PSTATEMENT
        || *code == SqlState::INVALID_SQL_STATEMENT_NAME)
}
