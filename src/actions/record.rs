//! A record of the SQL that actions send, for the console's SQL log and for
//! tests that check a preview against what really ran.
//!
//! Recording is scoped to a task (`tokio::task_local!`): the console's db
//! task wraps each action in [`recording`]; everywhere else `record` is a
//! no-op, so scripted commands and workers pay nothing. Only the session
//! wrapper (`super::session`) records, as it sends: no action records by hand.
//! The audit log (`super::audit`) keeps its own record, with parameters, in
//! a scope of its own, so it works inside and outside the console's.

use std::cell::RefCell;
use std::future::Future;

use tokio_postgres::types::ToSql;

tokio::task_local! {
    static SQL: RefCell<Vec<String>>;
    static AUDITED: RefCell<Vec<Sent>>;
}

/// A statement as sent, with its parameters (each as its `Debug` text).
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub sql: String,
    pub params: Vec<String>,
}

/// Note that `sql` is about to be sent (exact text, placeholders included).
pub(super) fn record(sql: &str) {
    record_with(sql, &[]);
}

/// [`record`], with the parameters bound to its placeholders.
pub(super) fn record_with(sql: &str, params: &[&(dyn ToSql + Sync)]) {
    let _ = SQL.try_with(|log| log.borrow_mut().push(sql.to_string()));
    let _ = AUDITED.try_with(|log| {
        log.borrow_mut().push(Sent {
            sql: sql.to_string(),
            params: params.iter().map(|p| format!("{p:?}")).collect(),
        })
    });
}

/// Run `fut`, returning its output and every statement it sent, with parameters.
pub(super) async fn auditing<F: Future>(fut: F) -> (F::Output, Vec<Sent>) {
    AUDITED
        .scope(RefCell::new(Vec::new()), async move {
            let out = fut.await;
            let sent = AUDITED.with(|log| log.take());
            (out, sent)
        })
        .await
}

/// Run `fut`, returning its output and every statement it recorded.
pub async fn recording<F: Future>(fut: F) -> (F::Output, Vec<String>) {
    SQL.scope(RefCell::new(Vec::new()), async move {
        let out = fut.await;
        let sql = SQL.with(|log| log.take());
        (out, sql)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_inside_the_scope_only() {
        record("outside");
        let ((), sql) = recording(async { record("SELECT 1") }).await;
        assert_eq!(sql, ["SELECT 1"]);
    }
}
