//! Running a worker statement again when it lost to a concurrent
//! transaction.
//!
//! Every worker write is one statement in its own transaction. When
//! PostgreSQL ends it with a deadlock (40P01), a serialization failure
//! (40001) or a lock timeout (55P03), the server has rolled the whole
//! statement back: nothing of it was written, so running it again is the
//! whole retry, and it cannot record an outcome twice (a row another
//! transaction deleted meanwhile is simply not found, and logs nothing).
//! Giving up at once instead ended the worker over an operator's
//! concurrent cancel (issue 19).

use std::future::Future;
use std::time::Duration;

use crate::db::jitter::jittered;
use serde_json::Value;
use tokio_postgres::error::SqlState;

use super::log;
use crate::actions::DbErrorText;

/// Attempts in all, the first included; then the error goes to the caller.
pub(crate) const ATTEMPTS: u32 = 5;
/// Backoff before the first retry; doubles per retry (jittered).
const FIRST_BACKOFF: Duration = Duration::from_millis(20);

/// Whether the server rolled the statement back because of another
/// transaction, so the same statement may succeed when run again.
pub(crate) fn is_transient(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|code| {
        [
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::LOCK_NOT_AVAILABLE,
        ]
        .contains(code)
    })
}

/// Run `statement` until it succeeds, fails for another reason, or failed
/// transiently [`ATTEMPTS`] times; a warning names each retry. `what` says
/// what the statement does, as in the worker's other messages.
pub(crate) async fn retrying<T, Fut>(
    what: &str,
    mut statement: impl FnMut() -> Fut,
) -> Result<T, tokio_postgres::Error>
where
    Fut: Future<Output = Result<T, tokio_postgres::Error>>,
{
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1.. {
        match statement().await {
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                let code = e.code().map_or("", SqlState::code);
                log::warning(
                    &format!(
                        "{what} failed (attempt {attempt} of {ATTEMPTS}), trying again: {}",
                        DbErrorText(&e)
                    ),
                    &[("sqlstate", Value::from(code))],
                );
                // 50–150 %, so two workers that deadlocked each other do
                // not meet again at the same moment.
                tokio::time::sleep(jittered(backoff, 0.5)).await;
                backoff *= 2;
            }
            result => return result,
        }
    }
    unreachable!("the loop returns by the last attempt")
}
