//! Whether the server is a hot standby (a read replica in recovery).
//!
//! A standby serves reads but refuses every write and `LISTEN`, with errors
//! that do not say why ("cannot execute LISTEN during recovery", "… in a
//! read-only transaction"). Callers ask here first so they can say in one
//! line that the server is a standby and that the primary is needed.

/// `pg_is_in_recovery()`: true on a hot standby, false on a primary
/// (including a standby that has been promoted since).
pub async fn in_recovery(client: &super::client::Client) -> Result<bool, tokio_postgres::Error> {
    let row = client.query_one("SELECT pg_is_in_recovery()", &[]).await?;
    Ok(row.get(0))
}

/// The one wording of "this is a standby" that every refusal shares;
/// `target` is the `user@host:port/db` label (never a password).
pub fn standby_reason(target: &str) -> String {
    format!("{target} is a read-only hot standby (in recovery); connect to the primary instead")
}
