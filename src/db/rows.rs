//! Rows read by column name.
//!
//! A type that a statement's rows become is declared with [`by_name!`]: the
//! struct and, from the same field list, a [`FromRow`] that reads each field
//! from the column of the same name. The SQL then names its columns (an
//! alias for every expression), and the order of the SELECT list no longer
//! matters: a column added, moved or removed in a `.sql` file fails with
//! the column's name rather than reading its neighbour. Positional reads
//! stay only where they are measured (the worker's hot path).

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

/// What one row of a statement becomes.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error>;
}

/// Declares a struct whose fields are read from the columns of the same
/// name (`try_get("field")`), and its [`FromRow`]. Attributes (derives,
/// serde) and doc comments pass through; every field is a column.
macro_rules! by_name {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty,)*
        }

        impl $name {
            /// The columns it is read from, in field order.
            #[allow(dead_code)]
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        impl $crate::db::rows::FromRow for $name {
            fn from_row(row: &tokio_postgres::Row) -> Result<Self, tokio_postgres::Error> {
                Ok($name {
                    $($field: row.try_get(stringify!($field))?,)*
                })
            }
        }
    };
}
pub(crate) use by_name;

/// A one-column row is its value (`SELECT count(*) …`): the only column
/// there is needs no name.
macro_rules! single_column {
    ($($ty:ty),* $(,)?) => {
        $(impl FromRow for $ty {
            fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
                only_column(row)
            }
        })*
    };
}

single_column!(
    bool,
    i32,
    i64,
    f64,
    String,
    Option<bool>,
    Option<i32>,
    Option<i64>,
    Option<f64>,
    Option<String>,
    chrono::DateTime<chrono::Utc>,
    Option<chrono::DateTime<chrono::Utc>>,
    uuid::Uuid,
    Vec<String>,
);

fn only_column<T: for<'a> FromSql<'a>>(row: &Row) -> Result<T, tokio_postgres::Error> {
    row.try_get(0)
}

/// Every row of `rows` as `T`.
pub fn all<T: FromRow>(rows: &[Row]) -> Result<Vec<T>, tokio_postgres::Error> {
    rows.iter().map(T::from_row).collect()
}
