//! Reading `sslrootcert` files: which PEM sections count, and what an
//! operator sees when the file is not a usable certificate bundle.
//!
//! The server is the one from `PGQ_TEST_DSN` with Debian's self-signed
//! "snakeoil" certificate (see tests/connect.rs).

use std::fs;
use std::path::Path;

use pgq::db::connect::{ConnectCause, connect};
use pgq::settings::conn::{ConnectionSettings, Env};

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

fn test_dsn() -> String {
    std::env::var("PGQ_TEST_DSN")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// verify-ca against the test server with `root` as the root certificate file.
fn verify_ca_with(root: &Path) -> ConnectionSettings {
    let dsn = test_dsn();
    let sep = if dsn.contains('?') { '&' } else { '?' };
    let dsn = format!("{dsn}{sep}sslmode=verify-ca&sslrootcert={}", root.display());
    ConnectionSettings::resolve(
        Some(&dsn),
        &Env::from_pairs(std::iter::empty::<(String, String)>()),
    )
    .unwrap_or_else(|e| panic!("cannot resolve {dsn:?}: {e}"))
}

/// The one-line message for a root file that cannot be used.
async fn root_cert_error(contents: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.crt");
    fs::write(&root, contents).unwrap();
    let err = match connect(&verify_ca_with(&root)).await {
        Ok(_) => panic!("connect with root file {contents:?} unexpectedly succeeded"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(matches!(err.cause(), ConnectCause::RootCert(_)), "{text}");
    assert!(
        text.contains(&format!(
            "could not read root certificate file \"{}\": ",
            root.display()
        )),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    text
}

fn snakeoil() -> String {
    fs::read_to_string(SNAKEOIL).expect("the test server's snakeoil certificate")
}

#[tokio::test]
async fn root_file_without_certificates_says_so() {
    let text = root_cert_error("this is not a certificate\n").await;
    assert!(text.ends_with(": no certificates found"), "{text}");
}

/// A cut-off file names the section that lacks its end, as text (not as a
/// list of bytes).
#[tokio::test]
async fn truncated_root_file_names_the_missing_end_marker() {
    let pem = snakeoil();
    let cut = pem.find("-----END CERTIFICATE-----").unwrap();
    let text = root_cert_error(&pem[..cut]).await;
    assert!(
        text.ends_with(": section end \"CERTIFICATE\" missing"),
        "{text}"
    );
}

#[tokio::test]
async fn root_file_with_broken_base64_is_refused() {
    let pem = snakeoil();
    let body_start = pem.find('\n').unwrap() + 1;
    let mut broken = pem.clone();
    broken.replace_range(body_start..body_start + 4, "!!!!");
    let text = root_cert_error(&broken).await;
    assert!(text.contains("base64 decode error: "), "{text}");
}

/// Sections that are not certificates (a key someone concatenated into the
/// bundle) are skipped, as libpq does; the certificates still anchor TLS.
#[tokio::test]
async fn non_certificate_sections_in_the_root_file_are_skipped() {
    let bundle = format!(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
        snakeoil()
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.crt");
    fs::write(&root, bundle).unwrap();
    let conn = connect(&verify_ca_with(&root))
        .await
        .unwrap_or_else(|e| panic!("connect failed: {e}"));
    let tls: bool = conn
        .client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(tls);
}
