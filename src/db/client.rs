//! The client every pgq connection hands out: tokio-postgres' client, with
//! statements sent prepared (the default) or unnamed (behind a transaction
//! pooler, `--pooler transaction`).
//!
//! `tokio_postgres::Client::query(&str, …)` prepares a *named* statement
//! (`s0`, `s1`, …), runs it, and closes it in three separate exchanges. A
//! transaction pooler may hand each exchange to another server connection:
//! the run then finds no `sN` there (SQLSTATE 26000), or a later prepare meets
//! a leftover `sN` of another pgq process (42P05). Unnamed statements parse,
//! bind and run in one exchange, so they never outlive it.
//!
//! Unnamed statements need each parameter's type up front; see
//! [`declared_type`] for how it is found without touching the call sites.

use std::sync::Arc;

use tokio_postgres::types::{Kind, ToSql, Type};
use tokio_postgres::{CancelToken, Error, Row, SimpleQueryMessage};

use crate::settings::pooler::Pooler;

/// A connection's client. Method names and signatures follow
/// `tokio_postgres::Client`, so call sites read the same in both modes.
pub struct Client {
    inner: tokio_postgres::Client,
    unnamed: bool,
}

/// A statement kept for repeated use: prepared on the server, or (behind a
/// transaction pooler) only its text, sent unnamed each time.
#[derive(Clone)]
pub enum Statement {
    Prepared(tokio_postgres::Statement),
    Unnamed(Arc<str>),
}

/// What [`Client`]'s query methods accept: SQL text or a kept [`Statement`].
pub trait Query {
    #[doc(hidden)]
    fn target(&self) -> Target<'_>;
}

#[doc(hidden)]
pub enum Target<'a> {
    Text(&'a str),
    Prepared(&'a tokio_postgres::Statement),
}

impl Query for str {
    fn target(&self) -> Target<'_> {
        Target::Text(self)
    }
}

impl Query for String {
    fn target(&self) -> Target<'_> {
        Target::Text(self)
    }
}

impl Query for Statement {
    fn target(&self) -> Target<'_> {
        match self {
            Statement::Prepared(s) => Target::Prepared(s),
            Statement::Unnamed(text) => Target::Text(text),
        }
    }
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Client {
    pub fn new(inner: tokio_postgres::Client, pooler: Pooler) -> Client {
        Client {
            inner,
            unnamed: pooler.is_transaction(),
        }
    }

    /// Whether a transaction pooler sits in between: statements go out
    /// unnamed and nothing may rely on session state.
    pub fn behind_transaction_pooler(&self) -> bool {
        self.unnamed
    }

    /// Prepare `sql` for repeated use; behind a transaction pooler only its
    /// text is kept (a prepared statement would live on one backend only).
    pub async fn prepare(&self, sql: &str) -> Result<Statement, Error> {
        if self.unnamed {
            Ok(Statement::Unnamed(Arc::from(sql)))
        } else {
            self.inner.prepare(sql).await.map(Statement::Prepared)
        }
    }

    pub async fn query<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: Params<'_>,
    ) -> Result<Vec<Row>, Error> {
        match self.route(statement) {
            Route::Prepared(s) => self.inner.query(s, params).await,
            Route::Text(sql) => self.inner.query(sql, params).await,
            Route::Unnamed(sql) => self.inner.query_typed(sql, &typed(params)).await,
        }
    }

    pub async fn query_one<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: Params<'_>,
    ) -> Result<Row, Error> {
        match self.route(statement) {
            Route::Prepared(s) => self.inner.query_one(s, params).await,
            Route::Text(sql) => self.inner.query_one(sql, params).await,
            Route::Unnamed(sql) => self.inner.query_typed_one(sql, &typed(params)).await,
        }
    }

    pub async fn query_opt<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: Params<'_>,
    ) -> Result<Option<Row>, Error> {
        match self.route(statement) {
            Route::Prepared(s) => self.inner.query_opt(s, params).await,
            Route::Text(sql) => self.inner.query_opt(sql, params).await,
            Route::Unnamed(sql) => self.inner.query_typed_opt(sql, &typed(params)).await,
        }
    }

    pub async fn execute<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: Params<'_>,
    ) -> Result<u64, Error> {
        match self.route(statement) {
            Route::Prepared(s) => self.inner.execute(s, params).await,
            Route::Text(sql) => self.inner.execute(sql, params).await,
            Route::Unnamed(sql) => self.inner.execute_typed(sql, &typed(params)).await,
        }
    }

    /// Rows as they arrive (a large result read slice by slice).
    pub async fn query_raw(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<tokio_postgres::RowStream, Error> {
        if self.unnamed {
            self.inner.query_typed_raw(sql, typed(params)).await
        } else {
            self.inner.query_raw(sql, params.iter().copied()).await
        }
    }

    /// The simple protocol never names a statement: the same in both modes.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        self.inner.batch_execute(sql).await
    }

    /// Apply session settings (`SET …` statements) for this connection's
    /// life; `false`, and nothing sent, behind a transaction pooler: there a
    /// session `SET` would stay on the pooled server connection and reach
    /// whichever client gets it next.
    pub async fn set_session(&self, sets: &str) -> Result<bool, Error> {
        if self.unnamed {
            return Ok(false);
        }
        self.inner.batch_execute(sets).await.map(|()| true)
    }

    pub async fn simple_query(&self, sql: &str) -> Result<Vec<SimpleQueryMessage>, Error> {
        self.inner.simple_query(sql).await
    }

    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    pub fn cancel_token(&self) -> CancelToken {
        self.inner.cancel_token()
    }

    fn route<'a, Q: Query + ?Sized>(&self, statement: &'a Q) -> Route<'a> {
        match statement.target() {
            Target::Prepared(s) => Route::Prepared(s),
            Target::Text(sql) if self.unnamed => Route::Unnamed(sql),
            Target::Text(sql) => Route::Text(sql),
        }
    }
}

enum Route<'a> {
    Prepared(&'a tokio_postgres::Statement),
    Text(&'a str),
    Unnamed(&'a str),
}

fn typed<'a>(params: Params<'a>) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    params.iter().map(|p| (*p, declared_type(*p))).collect()
}

/// The type to declare for a parameter of an unnamed statement: the one
/// PostgreSQL would infer when preparing.
///
/// tokio-postgres' `ToSql` impls accept exactly one PostgreSQL type per
/// Rust type (i64: int8, DateTime<Utc>: timestamptz, …), and a prepared
/// statement only ever ran with that pairing, so the first candidate the
/// value accepts is the type the server inferred. Two exceptions keep
/// inference on the server's side: strings are declared `unknown` (the
/// server infers text, name or an enum exactly as when preparing) and so
/// are enums (pgq's `JobStatus`), whose OID differs per database. A value
/// no candidate accepts is declared `unknown`, and tokio-postgres then
/// reports the mismatch as it would for a prepared statement.
pub fn declared_type(value: &(dyn ToSql + Sync)) -> Type {
    let mut scratch = bytes::BytesMut::new();
    candidates()
        .iter()
        .find(|ty| {
            scratch.clear();
            value.to_sql_checked(ty, &mut scratch).is_ok()
        })
        .cloned()
        .unwrap_or(Type::UNKNOWN)
}

/// Types tried in order; strings first (they accept `unknown`), then the
/// scalar and array types pgq binds.
fn candidates() -> &'static [Type] {
    static CANDIDATES: std::sync::OnceLock<Vec<Type>> = std::sync::OnceLock::new();
    CANDIDATES.get_or_init(|| {
        vec![
            Type::UNKNOWN,
            Type::INT8,
            Type::INT4,
            Type::INT2,
            Type::FLOAT8,
            Type::FLOAT4,
            Type::BOOL,
            Type::BYTEA,
            Type::UUID,
            Type::TIMESTAMPTZ,
            Type::TIMESTAMP,
            Type::DATE,
            Type::JSONB,
            Type::OID,
            Type::CHAR,
            Type::TEXT_ARRAY,
            Type::INT8_ARRAY,
            Type::INT4_ARRAY,
            Type::INT2_ARRAY,
            Type::FLOAT8_ARRAY,
            Type::BOOL_ARRAY,
            Type::BYTEA_ARRAY,
            Type::UUID_ARRAY,
            Type::TIMESTAMPTZ_ARRAY,
            Type::JSONB_ARRAY,
            // OID 0: "unspecified", so the server infers the enum, as when preparing.
            Type::new(
                "enum".into(),
                0,
                Kind::Enum(Vec::new()),
                "pg_catalog".into(),
            ),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_types_declare_what_the_server_would_infer() {
        let text: &str = "x";
        let owned = String::from("x");
        let ids: Vec<i64> = vec![1];
        let names: Vec<String> = vec!["a".into()];
        let maybe: Option<i32> = None;
        let payloads: Vec<Option<Vec<u8>>> = vec![None];
        assert_eq!(declared_type(&text), Type::UNKNOWN);
        assert_eq!(declared_type(&owned), Type::UNKNOWN);
        assert_eq!(declared_type(&1i64), Type::INT8);
        assert_eq!(declared_type(&1i32), Type::INT4);
        assert_eq!(declared_type(&1.5f64), Type::FLOAT8);
        assert_eq!(declared_type(&ids), Type::INT8_ARRAY);
        assert_eq!(declared_type(&names), Type::TEXT_ARRAY);
        assert_eq!(declared_type(&maybe), Type::INT4);
        assert_eq!(declared_type(&payloads), Type::BYTEA_ARRAY);
        assert_eq!(declared_type(&uuid::Uuid::nil()), Type::UUID);
        assert_eq!(declared_type(&chrono::Utc::now()), Type::TIMESTAMPTZ);
        assert_eq!(declared_type(&serde_json::json!({})), Type::JSONB);
    }
}
