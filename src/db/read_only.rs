//! Server-enforced read-only sessions.

/// Make PostgreSQL itself refuse writes on this connection: every later
/// transaction starts read-only. Read-only mode (console and scripted
/// commands alike) refuses mutations in the action layer; this is the second
/// lock, so a write that slipped past that check still fails on the server.
///
/// Behind a transaction pooler a session `SET` would stay on a pooled server
/// connection and make *other* clients read-only, so there only the action
/// layer's check applies.
pub async fn enforce(client: &super::client::Client) -> Result<(), tokio_postgres::Error> {
    let applied = client
        .set_session("SET default_transaction_read_only = on")
        .await?;
    if !applied {
        tracing::debug!("behind a transaction pooler: read-only is enforced by pgq alone");
    }
    Ok(())
}
