//! The session actions run on, and the one door their writes go through.
//!
//! Statements an action *applies* (its writes, and the transaction around
//! them) go through [`Session::apply`], [`Session::apply_batch`] and
//! [`Session::transaction`], which record them (see [`super::record`]): the
//! console's SQL log and the check that a preview is what runs both read that
//! record, so no action places a `record` call by hand.
//!
//! Reads that only inform the action (listings, reports, counts for a
//! question) go through the read door, [`Session::read`] and
//! [`Session::read_sql`]: rows decoded by column name ([`FromRow`]), and one
//! wording of errors (a missing table or type means PGQueuer is not
//! installed). Reads that need a snapshot or a limit run inside
//! [`Session::read_only`]: a read-only transaction whose statement timeout
//! is set in the same round trip as its BEGIN. Reads are not part of the
//! record. On a dry run,
//! [`Session::apply_batch_unless_dry`] records without sending, so the
//! record of a dry run is the preview of the real one.

use std::time::Duration;

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use super::record::{record, record_with};
use super::{ActionError, db_err};
use crate::db::connect::Connection;
use crate::db::rows::{self, FromRow};
use crate::db::statements::Statement;
use crate::settings::names::ObjectNames;

/// A connected session on one PGQueuer installation.
pub struct Session {
    pub conn: Connection,
    pub names: ObjectNames,
    /// Connection label without the password (`user@host:port/db`).
    pub target: String,
    /// Refuse every mutating action (console `--read-only`, config contexts).
    pub read_only: bool,
    /// Where its changes are logged (`None`: not logged, e.g. a demo's own database).
    pub audit: Option<super::audit::AuditTrail>,
}

/// How a [`Session::transaction`] ends when its work succeeded.
pub enum Finish<T> {
    Commit(T),
    /// Nothing is kept (a dry run, or a condition the work found unmet).
    Rollback(T),
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl Session {
    /// The raw client, for what the read door does not cover (streams,
    /// pipelined writes): prefer [`Session::read`].
    pub fn client(&self) -> &crate::db::client::Client {
        &self.conn.client
    }

    /// The rows of `statement` (names filled in) as `T`, read by column
    /// name. `context` words a failure ("reading held jobs").
    pub async fn read<T: FromRow>(
        &self,
        statement: Statement,
        params: Params<'_>,
        context: &str,
    ) -> Result<Vec<T>, ActionError> {
        self.read_sql(&statement.render(&self.names), params, context)
            .await
    }

    /// [`Session::read`] for a statement already rendered (a composed
    /// `{filter}`, an EXPLAIN around one).
    pub async fn read_sql<T: FromRow>(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &str,
    ) -> Result<Vec<T>, ActionError> {
        let rows = self.read_rows(sql, params, context).await?;
        rows::all(&rows).map_err(db_err(context))
    }

    /// The one row of `statement` (an aggregate always returns one).
    pub async fn read_one<T: FromRow>(
        &self,
        statement: Statement,
        params: Params<'_>,
        context: &str,
    ) -> Result<T, ActionError> {
        let sql = statement.render(&self.names);
        let rows = self.read_rows(&sql, params, context).await?;
        one_row(&rows, context)
    }

    /// The undecoded rows, for a reader that decides per row what to read.
    pub async fn read_rows(
        &self,
        sql: &str,
        params: Params<'_>,
        context: &str,
    ) -> Result<Vec<Row>, ActionError> {
        self.conn
            .client
            .query(sql, params)
            .await
            .map_err(|e| missing_schema_or(self, e, context))
    }

    /// Run `work` (reads) in one read-only transaction that sees one
    /// snapshot, whose statements the server stops after `timeout`. BEGIN
    /// and the timeout go out in one batch, and `work`'s first statements
    /// right behind it without waiting for its answer (the connection
    /// keeps their order), so the transaction costs no round trip of its
    /// own but the COMMIT. COMMIT ends it when `work` succeeded (its
    /// failure is reported), ROLLBACK when not. `context` words a failure
    /// of BEGIN or COMMIT; `work`'s own errors pass through (see
    /// [`ActionError::stopped_by_timeout`]).
    pub async fn read_only<T>(
        &self,
        timeout: Duration,
        context: &str,
        work: impl AsyncFnOnce() -> Result<T, ActionError>,
    ) -> Result<T, ActionError> {
        let millis = statement_timeout_millis(timeout);
        let client = &self.conn.client;
        let begin = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = {millis}"
        );
        // Polled in order: BEGIN is on the wire before any of `work`'s
        // statements. Boxed: `work` may be large (a search's page loop), and
        // an action's future holds every kind's inline, on a worker's stack
        // when first polled.
        let work = Box::pin(work());
        let (begun, result) = tokio::join!(client.batch_execute(&begin), work);
        match (begun, result) {
            (Ok(()), Ok(value)) => {
                client
                    .batch_execute("COMMIT")
                    .await
                    .map_err(db_err(context))?;
                Ok(value)
            }
            (begun, result) => {
                // Read only: nothing to keep, and a failed read has ended
                // it anyway; the first error is the one to report.
                let _ = client.batch_execute("ROLLBACK").await;
                begun.map_err(db_err(context))?;
                result
            }
        }
    }

    /// Send a statement the action applies (recorded).
    pub async fn apply(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        record_with(sql, params);
        self.conn.client.query(sql, params).await
    }

    /// Send statements the action applies as one simple-query batch (recorded).
    pub async fn apply_batch(&self, sql: &str) -> Result<(), tokio_postgres::Error> {
        record(sql);
        self.conn.client.batch_execute(sql).await
    }

    /// [`Session::apply_batch`], or on a dry run only its record: a dry
    /// run's record is then exactly what a real run sends, and is its preview.
    pub async fn apply_batch_unless_dry(
        &self,
        sql: &str,
        dry_run: bool,
    ) -> Result<(), tokio_postgres::Error> {
        if dry_run {
            record(sql);
            Ok(())
        } else {
            self.apply_batch(sql).await
        }
    }

    pub async fn begin(&self) -> Result<(), tokio_postgres::Error> {
        self.apply_batch("BEGIN").await
    }

    pub async fn commit(&self) -> Result<(), tokio_postgres::Error> {
        self.apply_batch("COMMIT").await
    }

    /// Best effort: after a failure the error that caused it is what the user
    /// needs to see, and a lost connection ends the transaction anyway.
    pub async fn rollback(&self) {
        let _ = self.apply_batch("ROLLBACK").await;
    }

    /// Run `work` inside BEGIN … COMMIT, or ROLLBACK when it fails or asks
    /// for it. `context` words an error of BEGIN or COMMIT themselves.
    pub async fn transaction<T>(
        &self,
        context: &str,
        work: impl AsyncFnOnce() -> Result<Finish<T>, ActionError>,
    ) -> Result<T, ActionError> {
        self.begin().await.map_err(db_err(context))?;
        match work().await {
            Ok(Finish::Commit(value)) => {
                self.commit().await.map_err(db_err(context))?;
                Ok(value)
            }
            Ok(Finish::Rollback(value)) => {
                self.apply_batch("ROLLBACK")
                    .await
                    .map_err(db_err(context))?;
                Ok(value)
            }
            Err(e) => {
                self.rollback().await;
                Err(e)
            }
        }
    }
}

/// An undefined table (42P01), type (42704) or schema (3F000) means
/// PGQueuer is not installed here; anything else is worded by `context`.
pub(crate) fn missing_schema_or(
    session: &Session,
    e: tokio_postgres::Error,
    context: &str,
) -> ActionError {
    let code = e.code().map(|c| c.code().to_string());
    if matches!(code.as_deref(), Some("42P01" | "42704" | "3F000")) {
        return ActionError::NotInstalled {
            names: session.names.to_string(),
            // 'relation "pgqueuer" does not exist' → 'relation "pgqueuer"'.
            missing: e
                .as_db_error()
                .map(|d| {
                    let m = d.message();
                    m.strip_suffix(" does not exist").unwrap_or(m).to_string()
                })
                .unwrap_or_default(),
        };
    }
    db_err(context)(e)
}

impl ActionError {
    /// The server stopped a statement by its statement timeout (see
    /// [`Session::read_only`]).
    pub fn stopped_by_timeout(&self) -> bool {
        matches!(self, ActionError::Db { source, .. } if source.code() == Some(&SqlState::QUERY_CANCELED))
    }

    /// A search stopped by its statement timeout (`timeout`) says so, not
    /// "query canceled"; any other error stays as it is.
    pub fn search_timed_out_or_self(self, timeout: std::time::Duration) -> ActionError {
        if self.stopped_by_timeout() {
            ActionError::SearchTimedOut {
                seconds: timeout.as_secs_f64(),
            }
        } else {
            self
        }
    }
}

/// `timeout` as `SET statement_timeout` takes it: whole milliseconds, at
/// least 1 (0 would mean none), at most what the setting holds.
pub(crate) fn statement_timeout_millis(timeout: Duration) -> u128 {
    timeout.as_millis().clamp(1, i32::MAX as u128)
}

/// The one row `rows` must hold (an aggregate always returns one), as `T`.
pub(crate) fn one_row<T: FromRow>(
    rows: &[tokio_postgres::Row],
    context: &str,
) -> Result<T, ActionError> {
    match rows {
        [row] => T::from_row(row).map_err(db_err(context)),
        _ => Err(ActionError::Selection(format!(
            "{context}: expected one row, got {}",
            rows.len()
        ))),
    }
}
