//! Connection tests against a real PostgreSQL server.
//!
//! The server is taken from `PGQ_TEST_DSN` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`): trust authentication for
//! the test user, `ssl=on` with Debian's self-signed "snakeoil" certificate,
//! and a Unix socket in `/var/run/postgresql`. The authentication tests
//! prepend one `pg_hba.conf` rule for the dedicated role `pgq_auth_test`.
//!
//! Every test builds its environment with `Env::from_pairs`, so nothing here
//! depends on (or changes) the process environment or `$HOME`.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pgq::db::connect::{ConnectCause, Connection, connect};
use pgq::settings::conn::{ConnectionSettings, Env, Host, SslMode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const SOCKET_DIR: &str = "/var/run/postgresql";
const AUTH_ROLE: &str = "pgq_auth_test";
const AUTH_PASSWORD: &str = "pgq-auth-secret";

fn test_dsn() -> String {
    std::env::var("PGQ_TEST_DSN")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied())
}

fn settings(dsn: &str, pairs: &[(&str, &str)]) -> ConnectionSettings {
    ConnectionSettings::resolve(Some(dsn), &env(pairs))
        .unwrap_or_else(|e| panic!("cannot resolve {dsn:?}: {e}"))
}

/// Host, port, user and database of the test server, for building DSNs.
struct Server {
    host: String,
    port: u16,
    user: String,
    database: String,
}

fn server() -> Server {
    let s = settings(&test_dsn(), &[]);
    let endpoint = &s.endpoints()[0];
    let host = match endpoint.host() {
        Host::Tcp(h) => h.clone(),
        Host::Unix(dir) => dir.display().to_string(),
    };
    Server {
        host,
        port: endpoint.port(),
        user: s.user().to_owned(),
        database: s.database().to_owned(),
    }
}

/// The test DSN with extra query parameters.
fn dsn_with(query: &str) -> String {
    let dsn = test_dsn();
    let sep = if dsn.contains('?') { '&' } else { '?' };
    format!("{dsn}{sep}{query}")
}

async fn must_connect(s: &ConnectionSettings) -> Connection {
    match connect(s).await {
        Ok(c) => c,
        Err(e) => panic!("connect failed: {e}"),
    }
}

async fn connect_err(s: &ConnectionSettings) -> (String, ConnectCause) {
    match connect(s).await {
        Ok(_) => panic!("connect to {} unexpectedly succeeded", s.target()),
        Err(e) => {
            // Shown with `--nocapture`: the messages are the point of these tests.
            eprintln!("connect error: {e}");
            (e.to_string(), e.cause().clone())
        }
    }
}

async fn query_bool(conn: &Connection, sql: &str) -> bool {
    conn.client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn uses_tls(conn: &Connection) -> bool {
    query_bool(
        conn,
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .await
}

/// A port on 127.0.0.1 that nothing listens on.
fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

// ---- DSN forms and the environment ------------------------------------

#[tokio::test]
async fn uri_dsn_connects() {
    let conn = must_connect(&settings(&test_dsn(), &[])).await;
    let row = conn.client.query_one("SELECT 1::int4", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
}

#[tokio::test]
async fn conninfo_dsn_connects_with_application_name() {
    let srv = server();
    let dsn = format!(
        "host={} port={} user='{}' dbname={} application_name='pgq conninfo test'",
        srv.host, srv.port, srv.user, srv.database
    );
    let conn = must_connect(&settings(&dsn, &[])).await;
    let row = conn
        .client
        .query_one("SELECT current_setting('application_name')", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "pgq conninfo test");
}

#[tokio::test]
async fn libpq_environment_fills_in_everything() {
    let srv = server();
    let port = srv.port.to_string();
    let env = env(&[
        ("PGHOST", &srv.host),
        ("PGPORT", &port),
        ("PGUSER", &srv.user),
        ("PGDATABASE", &srv.database),
        ("PGAPPNAME", "from-pgappname"),
    ]);
    let s = ConnectionSettings::resolve(None, &env).unwrap();
    assert_eq!(
        s.target(),
        format!("{}@{}:{}/{}", srv.user, srv.host, srv.port, srv.database)
    );
    let conn = must_connect(&s).await;
    let row = conn
        .client
        .query_one(
            "SELECT current_user::text, current_database()::text, current_setting('application_name')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), srv.user);
    assert_eq!(row.get::<_, String>(1), srv.database);
    assert_eq!(row.get::<_, String>(2), "from-pgappname");
}

#[tokio::test]
async fn pgqueuer_dsn_is_used_without_explicit_dsn() {
    let dsn = test_dsn();
    let s = ConnectionSettings::resolve(None, &env(&[("PGQUEUER_DSN", &dsn)])).unwrap();
    must_connect(&s).await;
}

#[tokio::test]
async fn unix_socket_connects_without_tls() {
    let srv = server();
    for dsn in [
        format!(
            "host={SOCKET_DIR} user={} dbname={}",
            srv.user, srv.database
        ),
        format!(
            "postgresql://{}@%2Fvar%2Frun%2Fpostgresql/{}",
            srv.user, srv.database
        ),
        // libpq ignores sslmode on Unix sockets; so do we.
        format!(
            "postgresql:///{}?host={SOCKET_DIR}&user={}&sslmode=require",
            srv.database, srv.user
        ),
    ] {
        let s = settings(&dsn, &[]);
        assert!(
            s.target().contains(&format!("@{SOCKET_DIR}:")),
            "{}",
            s.target()
        );
        let conn = must_connect(&s).await;
        assert!(
            query_bool(&conn, "SELECT inet_server_addr() IS NULL").await,
            "{dsn} did not use the socket"
        );
    }
}

#[tokio::test]
async fn default_host_is_the_socket_directory() {
    let srv = server();
    let s = ConnectionSettings::resolve(None, &env(&[("PGUSER", &srv.user)])).unwrap();
    assert_eq!(
        s.target(),
        format!("{0}@{SOCKET_DIR}:5432/{0}", srv.user),
        "libpq's Debian default"
    );
    let conn = must_connect(&s).await;
    assert!(query_bool(&conn, "SELECT inet_server_addr() IS NULL").await);
}

#[tokio::test]
async fn multi_host_list_fails_over_to_the_next_host() {
    let srv = server();
    let dsn = format!(
        "host=127.0.0.1,{} port={},{} user={} dbname={}",
        srv.host,
        unused_port(),
        srv.port,
        srv.user,
        srv.database
    );
    must_connect(&settings(&dsn, &[])).await;
}

#[tokio::test]
async fn with_database_connects_to_that_database() {
    let s = settings(&test_dsn(), &[]).with_database("template1");
    let conn = must_connect(&s).await;
    let row = conn
        .client
        .query_one("SELECT current_database()::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "template1");
}

// ---- TLS -------------------------------------------------------------

#[tokio::test]
async fn sslmode_require_and_prefer_use_tls_disable_does_not() {
    for (mode, expect_tls) in [
        ("require", true),
        ("prefer", true),
        ("allow", true),
        ("disable", false),
    ] {
        let s = settings(&dsn_with(&format!("sslmode={mode}")), &[]);
        let conn = must_connect(&s).await;
        assert_eq!(uses_tls(&conn).await, expect_tls, "sslmode={mode}");
    }
}

#[tokio::test]
async fn verify_full_rejects_certificate_not_issued_for_the_ip() {
    let s = settings(
        &dsn_with(&format!("sslmode=verify-full&sslrootcert={SNAKEOIL}")),
        &[],
    );
    let (text, cause) = connect_err(&s).await;
    assert!(matches!(cause, ConnectCause::Tls(_)), "{text}");
    let host = server().host;
    assert!(
        text.contains(&format!(
            "TLS error: server certificate is not valid for host \"{host}\""
        )),
        "{text}"
    );
    assert!(
        text.starts_with(&format!("cannot connect to {}:", s.target())),
        "{text}"
    );
}

/// The snakeoil certificate is self-signed, so it can anchor its own chain:
/// verify-ca (which skips the host-name check) accepts it.
#[tokio::test]
async fn verify_ca_accepts_self_signed_snakeoil_as_its_own_root() {
    let s = settings(
        &dsn_with(&format!("sslmode=verify-ca&sslrootcert={SNAKEOIL}")),
        &[],
    );
    let conn = must_connect(&s).await;
    assert!(uses_tls(&conn).await);
}

/// verify-full succeeds when the host name is one the certificate names.
/// Debian's snakeoil certificate names the machine's host name at install
/// time, so read the name from a verify-full failure and retry with it.
#[tokio::test]
async fn verify_full_accepts_snakeoil_for_its_own_name() {
    let srv = server();
    let dsn = |host: &str| {
        format!(
            "host={host} hostaddr=127.0.0.1 port={} user={} dbname={} sslmode=verify-full sslrootcert={SNAKEOIL}",
            srv.port, srv.user, srv.database
        )
    };
    let (text, _) = connect_err(&settings(&dsn("pgq-wrong-name.invalid"), &[])).await;
    let names = text
        .split_once("(certificate names: ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no certificate names in: {text}"));
    let name = names.split(", ").next().unwrap();
    let conn = must_connect(&settings(&dsn(name), &[])).await;
    assert!(uses_tls(&conn).await);
}

#[tokio::test]
async fn verify_full_with_system_roots_rejects_self_signed_certificate() {
    let s = settings(&dsn_with("sslrootcert=system"), &[]);
    assert_eq!(s.ssl_mode(), SslMode::VerifyFull);
    let (text, _) = connect_err(&s).await;
    assert!(
        text.contains("TLS error: server certificate verify failed: certificate is not signed by a trusted root"),
        "{text}"
    );
}

#[tokio::test]
async fn verify_ca_with_missing_root_file_is_a_clear_error() {
    let s = settings(
        &dsn_with("sslmode=verify-ca&sslrootcert=/nonexistent/root.crt"),
        &[],
    );
    let (text, cause) = connect_err(&s).await;
    assert!(matches!(cause, ConnectCause::RootCert(_)), "{text}");
    assert!(
        text.contains("root certificate file \"/nonexistent/root.crt\" does not exist"),
        "{text}"
    );
}

#[tokio::test]
async fn verify_full_defaults_to_home_root_crt() {
    let home = tempfile::tempdir().unwrap();
    let home_str = home.path().to_str().unwrap();
    let s = settings(&dsn_with("sslmode=verify-full"), &[("HOME", home_str)]);
    let (text, _) = connect_err(&s).await;
    let expected = home.path().join(".postgresql/root.crt");
    assert!(
        text.contains(&format!(
            "root certificate file \"{}\" does not exist",
            expected.display()
        )),
        "{text}"
    );
}

/// libpq: `require` verifies the chain when `~/.postgresql/root.crt` exists.
#[tokio::test]
async fn require_verifies_chain_when_home_root_crt_exists() {
    let home = tempfile::tempdir().unwrap();
    let pg_dir = home.path().join(".postgresql");
    fs::create_dir(&pg_dir).unwrap();
    let home_env = [("HOME", home.path().to_str().unwrap())];

    fs::copy(SNAKEOIL, pg_dir.join("root.crt")).unwrap();
    let conn = must_connect(&settings(&dsn_with("sslmode=require"), &home_env)).await;
    assert!(uses_tls(&conn).await);

    let public_cas = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if public_cas.exists() {
        fs::copy(public_cas, pg_dir.join("root.crt")).unwrap();
        let (text, _) = connect_err(&settings(&dsn_with("sslmode=require"), &home_env)).await;
        assert!(text.contains("not signed by a trusted root"), "{text}");
    }
}

/// A fake server that answers the SSLRequest with 'N' (no TLS).
#[tokio::test]
async fn require_against_server_without_tls_is_a_clear_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 8];
            if socket.read_exact(&mut request).await.is_ok() {
                let _ = socket.write_all(b"N").await;
            }
        }
    });
    let dsn = format!("postgres://postgres@127.0.0.1:{port}/db?sslmode=require");
    let (text, cause) = connect_err(&settings(&dsn, &[])).await;
    assert_eq!(cause, ConnectCause::TlsUnsupported(SslMode::Require));
    assert_eq!(
        text,
        format!(
            "cannot connect to postgres@127.0.0.1:{port}/db: server does not support SSL, but sslmode=require"
        )
    );
}

// ---- failures --------------------------------------------------------

#[tokio::test]
async fn refused_connection_names_host_and_port() {
    let port = unused_port();
    let dsn = format!("postgres://postgres@127.0.0.1:{port}/db");
    let (text, cause) = connect_err(&settings(&dsn, &[])).await;
    assert_eq!(cause, ConnectCause::Refused);
    assert_eq!(
        text,
        format!(
            "cannot connect to postgres@127.0.0.1:{port}/db: connection refused (is the server running and accepting TCP connections?)"
        )
    );
}

#[tokio::test]
async fn missing_socket_names_the_socket_file() {
    let dsn = format!("host={SOCKET_DIR} port=5999 user=postgres dbname=db");
    let (text, cause) = connect_err(&settings(&dsn, &[])).await;
    let socket = PathBuf::from(format!("{SOCKET_DIR}/.s.PGSQL.5999"));
    assert_eq!(cause, ConnectCause::NoSocket(socket), "{text}");
    assert!(
        text.starts_with(&format!(
            "cannot connect to postgres@{SOCKET_DIR}:5999/db: socket \"{SOCKET_DIR}/.s.PGSQL.5999\" does not exist"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_host_is_reported() {
    let s = settings("postgres://postgres@no-such-host.invalid/db", &[]);
    let (text, cause) = connect_err(&s).await;
    assert!(matches!(cause, ConnectCause::UnknownHost { .. }), "{text}");
    assert!(
        text.contains("could not translate host name \"no-such-host.invalid\" to address"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_database_is_named() {
    let s = settings(&test_dsn(), &[]).with_database("pgq_no_such_database");
    let (text, cause) = connect_err(&s).await;
    assert!(matches!(cause, ConnectCause::NoDatabase(_)), "{text}");
    assert_eq!(
        text,
        format!(
            "cannot connect to {}: database \"pgq_no_such_database\" does not exist",
            s.target()
        )
    );
}

/// A listener that accepts and never answers: deterministic, unlike a
/// black-holed address.
#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let dsn = format!("postgres://postgres@127.0.0.1:{port}/db?connect_timeout=30");
    let s = settings(&dsn, &[("PGQUEUER_CONNECT_TIMEOUT", "0.5")]);
    let started = Instant::now();
    let (text, cause) = connect_err(&s).await;
    assert_eq!(cause, ConnectCause::Timeout(Duration::from_millis(500)));
    assert_eq!(
        text,
        format!("cannot connect to postgres@127.0.0.1:{port}/db: timed out after 500ms")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

// ---- notifications and the driver ------------------------------------

#[tokio::test]
async fn notifications_arrive_and_closing_ends_the_stream() {
    // Per-process channel: parallel test processes share the server.
    let channel = format!("pgq_connect_test_{}", std::process::id());
    let mut conn = must_connect(&settings(&test_dsn(), &[])).await;
    conn.client
        .batch_execute(&format!("LISTEN {channel}; NOTIFY {channel}, 'hello'"))
        .await
        .unwrap();
    let note = tokio::time::timeout(Duration::from_secs(5), conn.notifications.recv())
        .await
        .expect("notification in time")
        .expect("channel open");
    assert_eq!(note.channel(), channel);
    assert_eq!(note.payload(), "hello");

    let pid: i32 = conn
        .client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let admin = must_connect(&settings(&test_dsn(), &[])).await;
    admin
        .client
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .await
        .unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), conn.notifications.recv())
        .await
        .expect("stream ends in time");
    assert!(end.is_none());
    assert!(conn.client.is_closed());
}

#[test]
fn connect_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let s = settings(&test_dsn(), &[]);
    let future = connect(&s);
    assert_send(&future);
}

// ---- password authentication ------------------------------------------

/// Makes `pgq_auth_test` a password role that must use SCRAM over TCP from
/// 127.0.0.1, then waits until the reloaded `pg_hba.conf` is in force.
///
/// Idempotent (the rule is added only if absent) and safe under parallel
/// test processes: they serialise on a PostgreSQL advisory lock, which,
/// unlike a lock file, is released even if a test process dies mid-setup
/// (and `File::lock` needs a newer Rust than the crate's MSRV). The file is
/// replaced atomically so the server never reads a half-written file.
async fn ensure_auth_role() {
    static READY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    READY.get_or_init(setup_auth_role).await;
}

/// Advisory-lock key shared by every process that edits `pg_hba.conf`.
const HBA_LOCK_KEY: i64 = 0x0070_6771_5f68_6261; // "pgq_hba"

async fn setup_auth_role() {
    let admin = must_connect(&settings(&test_dsn(), &[])).await;
    admin
        .client
        .execute("SELECT pg_advisory_lock($1)", &[&HBA_LOCK_KEY])
        .await
        .unwrap();
    admin
        .client
        .batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE {AUTH_ROLE} LOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$; \
             ALTER ROLE {AUTH_ROLE} LOGIN PASSWORD '{AUTH_PASSWORD}'"
        ))
        .await
        .unwrap();
    let hba_file: String = admin
        .client
        .query_one("SHOW hba_file", &[])
        .await
        .unwrap()
        .get(0);
    let rule = format!("host all {AUTH_ROLE} 127.0.0.1/32 scram-sha-256");
    prepend_line_once(Path::new(&hba_file), &rule);
    admin
        .client
        .execute("SELECT pg_reload_conf()", &[])
        .await
        .unwrap();
    wait_until_password_required().await;
    admin
        .client
        .execute("SELECT pg_advisory_unlock($1)", &[&HBA_LOCK_KEY])
        .await
        .unwrap();
}

/// Prepends `line` unless present, replacing the file atomically and keeping
/// its owner and mode (the server runs as another user).
fn prepend_line_once(path: &Path, line: &str) {
    let current = fs::read_to_string(path).unwrap();
    if current.lines().any(|l| l.trim() == line) {
        return;
    }
    let tmp = path.with_extension(format!("pgq-tmp-{}", std::process::id()));
    let mut file = fs::File::create(&tmp).unwrap();
    write!(file, "{line}\n{current}").unwrap();
    file.sync_all().unwrap();
    copy_owner_and_mode(path, &tmp);
    fs::rename(&tmp, path).unwrap();
}

#[cfg(unix)]
fn copy_owner_and_mode(from: &Path, to: &Path) {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(from).unwrap();
    fs::set_permissions(to, meta.permissions()).unwrap();
    std::os::unix::fs::chown(to, Some(meta.uid()), Some(meta.gid())).unwrap();
}

#[cfg(not(unix))]
fn copy_owner_and_mode(from: &Path, to: &Path) {
    fs::set_permissions(to, fs::metadata(from).unwrap().permissions()).unwrap();
}

/// `pg_reload_conf()` only signals the postmaster; poll until a wrong
/// password is actually rejected.
async fn wait_until_password_required() {
    let dsn = format!(
        "postgres://{AUTH_ROLE}:wrong@127.0.0.1:{}/postgres",
        server().port
    );
    for _ in 0..100 {
        if let Err(e) = connect(&settings(&dsn, &[])).await
            && matches!(e.cause(), ConnectCause::Auth(_))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("pg_hba.conf rule for {AUTH_ROLE} did not take effect");
}

fn auth_dsn(password: Option<&str>) -> String {
    let port = server().port;
    match password {
        Some(pw) => format!("postgres://{AUTH_ROLE}:{pw}@127.0.0.1:{port}/postgres"),
        None => format!("postgres://{AUTH_ROLE}@127.0.0.1:{port}/postgres"),
    }
}

#[cfg(unix)]
fn write_passfile(dir: &Path, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("pgpass-{mode:o}"));
    let line = format!("# test\n127.0.0.1:*:*:{AUTH_ROLE}:{AUTH_PASSWORD}\n");
    fs::write(&path, line).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[tokio::test]
async fn wrong_password_is_reported_without_leaking_it() {
    ensure_auth_role().await;
    let s = settings(&auth_dsn(Some("not-the-password")), &[]);
    let (text, cause) = connect_err(&s).await;
    assert!(matches!(cause, ConnectCause::Auth(_)), "{text}");
    assert_eq!(
        text,
        format!(
            "cannot connect to {AUTH_ROLE}@127.0.0.1:{}/postgres: password authentication failed for user \"{AUTH_ROLE}\"",
            server().port
        )
    );
    assert!(!text.contains("not-the-password"));
}

#[tokio::test]
async fn right_password_from_dsn_or_pgpassword_connects() {
    ensure_auth_role().await;
    must_connect(&settings(&auth_dsn(Some(AUTH_PASSWORD)), &[])).await;
    must_connect(&settings(&auth_dsn(None), &[("PGPASSWORD", AUTH_PASSWORD)])).await;
}

#[cfg(unix)]
#[tokio::test]
async fn private_password_file_is_used() {
    ensure_auth_role().await;
    let dir = tempfile::tempdir().unwrap();
    let passfile = write_passfile(dir.path(), 0o600);
    let s = settings(
        &auth_dsn(None),
        &[("PGPASSFILE", passfile.to_str().unwrap())],
    );
    let conn = must_connect(&s).await;
    let row = conn
        .client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), AUTH_ROLE);
}

#[cfg(unix)]
#[tokio::test]
async fn world_readable_password_file_is_ignored() {
    ensure_auth_role().await;
    let dir = tempfile::tempdir().unwrap();
    let passfile = write_passfile(dir.path(), 0o644);
    let s = settings(
        &auth_dsn(None),
        &[("PGPASSFILE", passfile.to_str().unwrap())],
    );
    let (text, cause) = connect_err(&s).await;
    assert_eq!(cause, ConnectCause::PasswordMissing, "{text}");
    assert!(
        text.contains("the server requested a password but none was supplied"),
        "{text}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn home_pgpass_is_the_default_password_file() {
    use std::os::unix::fs::PermissionsExt;
    ensure_auth_role().await;
    let home = tempfile::tempdir().unwrap();
    let pgpass = home.path().join(".pgpass");
    fs::write(&pgpass, format!("*:*:*:{AUTH_ROLE}:{AUTH_PASSWORD}\n")).unwrap();
    fs::set_permissions(&pgpass, fs::Permissions::from_mode(0o600)).unwrap();
    let s = settings(&auth_dsn(None), &[("HOME", home.path().to_str().unwrap())]);
    must_connect(&s).await;
}
