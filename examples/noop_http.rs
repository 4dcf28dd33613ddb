//! A no-op HTTP service for bench/http_executor.sh: answers every request
//! with 200 and an empty body, on one thread (so it takes little CPU from
//! the worker and PostgreSQL it is measured beside).
//!
//!     cargo run --release --example noop_http -- [ADDR]   (default 127.0.0.1:0)
//!
//! Prints the address it listens on, then serves until killed.

use std::io::Write;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::OK });
    axum::serve(listener, app).await
}
