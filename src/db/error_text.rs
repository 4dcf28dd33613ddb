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
                write!(f, " [SQLSTATE {}]", db.code().code())
            }
            None if self.0.is_closed() => f.write_str("the connection to the server was lost"),
            None => write!(f, "{}", self.0),
        }
    }
}
