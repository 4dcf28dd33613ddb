//! The session actions run on, and the one door their writes go through.
//!
//! Statements an action *applies* (its writes, and the transaction around
//! them) go through [`Session::apply`], [`Session::apply_batch`] and
//! [`Session::transaction`], which record them (see [`super::record`]): the
//! console's SQL log and the check that a preview is what runs both read that
//! record, so no action places a `record` call by hand. Reads that only
//! inform the action (catalog inspection, counts for a question) go through
//! [`Session::client`] and are not part of the record. On a dry run,
//! [`Session::apply_batch_unless_dry`] records without sending, so the
//! record of a dry run is the preview of the real one.

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::record::{record, record_with};
use super::{ActionError, db_err};
use crate::db::connect::Connection;
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

impl Session {
    /// The client for reads that inform an action without being what it applies.
    pub fn client(&self) -> &crate::db::client::Client {
        &self.conn.client
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
