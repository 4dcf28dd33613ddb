//! Server-enforced read-only sessions.

/// Make PostgreSQL itself refuse writes on this connection: every later
/// transaction starts read-only. Read-only mode (console and scripted
/// commands alike) refuses mutations in the action layer; this is the second
/// lock, so a write that slipped past that check still fails on the server.
pub async fn enforce(client: &tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute("SET default_transaction_read_only = on")
        .await
}
