//! One row of the queue table, as every listing, report and detail reads it.
//!
//! The statements that return queue rows select `{job_columns}` (filled by
//! `db::statements` from [`crate::db::statements::JOB_COLUMNS`]), so the
//! column list is written once; [`QueueRow`] reads it by name. The shapes
//! the commands print (a listing's [`crate::actions::jobs::browse::JobRow`], a detail's
//! [`crate::actions::jobs::browse::QueueJob`], a report's [`crate::actions::reports::FailedJob`] and
//! [`crate::actions::reports::StaleJob`]) are views of it that keep their JSON as
//! it was, each adding the statement's own extra columns by name.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::rows::by_name;

by_name! {
    /// The queue table's columns, the payload as its length.
    #[derive(Debug, Clone, PartialEq)]
    pub struct QueueRow {
        pub id: i64,
        pub priority: i32,
        pub queue_manager_id: Option<Uuid>,
        pub created: DateTime<Utc>,
        pub updated: DateTime<Utc>,
        pub heartbeat: DateTime<Utc>,
        pub execute_after: DateTime<Utc>,
        pub status: String,
        pub entrypoint: String,
        pub dedupe_key: Option<String>,
        pub attempts: i32,
        pub headers: Option<serde_json::Value>,
        pub slot: Option<i64>,
        /// `None` for a NULL payload.
        pub payload_bytes: Option<i64>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::statements::JOB_COLUMNS;

    /// `{job_columns}` names each column as `QueueRow` reads it: a column
    /// added to one and not the other fails here, not on a live database.
    #[test]
    fn job_columns_are_the_queue_row_fields() {
        let named: Vec<&str> = JOB_COLUMNS
            .split(',')
            .map(|c| c.split_whitespace().last().unwrap_or_default())
            .collect();
        assert_eq!(named, QueueRow::COLUMNS);
    }
}
