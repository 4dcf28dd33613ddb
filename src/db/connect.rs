//! Opening a connection: TLS per `sslmode`, per-host failover, timeouts, and
//! turning `tokio_postgres` errors into one-line messages an operator can act
//! on.
//!
//! TLS always uses rustls with the `ring` provider. `sslmode` behaves as in
//! libpq, with these documented differences:
//! - `allow` is treated as `prefer` (TLS first, plaintext if the server
//!   refuses TLS); libpq tries plaintext first.
//! - `allow`/`prefer` never verify the certificate; libpq verifies the chain
//!   when `~/.postgresql/root.crt` exists, even in these modes.
//! - A failed TLS handshake under `prefer` is reported, not retried in
//!   plaintext.
//!
//! Unix-socket connections never use TLS, whatever the `sslmode`: the server
//! does not offer it there, and libpq does not ask.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::sync::mpsc;

use crate::output::format::format_duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::settings::conn::{ConnectionSettings, Endpoint, Host, RootCert, SslMode};

/// An open connection whose protocol driver runs on a spawned tokio task.
pub struct Connection {
    /// The client; `is_closed()` turns true once the server connection ends.
    pub client: super::client::Client,
    /// NOTIFY messages received on this connection (LISTEN is issued by
    /// callers). Yields `None` once the connection has ended.
    pub notifications: mpsc::UnboundedReceiver<tokio_postgres::Notification>,
}

/// Why connecting failed. Displays as one line naming the target and the
/// cause, e.g. `cannot connect to postgres@127.0.0.1:5999/db: connection
/// refused (…)`; never contains the password.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {target}: {cause}")]
pub struct ConnectError {
    target: String,
    cause: ConnectCause,
}

impl ConnectError {
    /// The `user@host:port/db` label of what was being connected to.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// What went wrong.
    pub fn cause(&self) -> &ConnectCause {
        &self.cause
    }
}

/// The reason a connection attempt failed, classified so callers can react
/// (e.g. choose an exit code) without parsing text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectCause {
    /// Nothing listens on the TCP port.
    Refused,
    /// The Unix socket file does not exist.
    NoSocket(PathBuf),
    /// The socket file exists but nobody accepts on it.
    SocketRefused(PathBuf),
    /// The host name does not resolve.
    UnknownHost { host: String, detail: String },
    /// No answer within the connect timeout.
    Timeout(Duration),
    /// The server rejected the credentials (SQLSTATE class 28).
    Auth(String),
    /// The server asked for a password and none was configured.
    PasswordMissing,
    /// The database does not exist (SQLSTATE 3D000).
    NoDatabase(String),
    /// Any other error reported by the server (too many connections, …).
    Server(String),
    /// The server declined TLS but the `sslmode` requires it.
    TlsUnsupported(SslMode),
    /// The TLS handshake or certificate verification failed.
    Tls(String),
    /// The root certificate file needed for verification is unusable.
    RootCert(String),
    /// Something answered on the port, but not in PostgreSQL's protocol
    /// (an HTTP server, a TLS-only proxy, …); names `host:port`.
    NotPostgres(String),
    /// Anything else (I/O errors, protocol errors).
    Other(String),
    /// Every host in a multi-host list failed; one entry per host.
    AllHosts(Vec<(String, ConnectCause)>),
}

impl fmt::Display for ConnectCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectCause::Refused => f.write_str(
                "connection refused (is the server running and accepting TCP connections?)",
            ),
            ConnectCause::NoSocket(path) => write!(
                f,
                "socket \"{}\" does not exist (is the server running locally and accepting connections on that socket?)",
                path.display()
            ),
            ConnectCause::SocketRefused(path) => write!(
                f,
                "connection refused on socket \"{}\" (is the server running locally?)",
                path.display()
            ),
            ConnectCause::UnknownHost { host, detail } => {
                write!(f, "could not translate host name \"{host}\" to address: {detail}")
            }
            ConnectCause::Timeout(t) => write!(f, "timed out after {}", format_duration(*t)),
            ConnectCause::Auth(msg) | ConnectCause::NoDatabase(msg) | ConnectCause::Server(msg) => {
                f.write_str(msg)
            }
            ConnectCause::PasswordMissing => f.write_str(
                "the server requested a password but none was supplied (use the DSN, PGPASSWORD or a password file)",
            ),
            ConnectCause::TlsUnsupported(mode) => {
                write!(f, "server does not support SSL, but sslmode={mode}")
            }
            ConnectCause::Tls(msg) => write!(f, "TLS error: {msg}"),
            ConnectCause::NotPostgres(endpoint) => write!(
                f,
                "the server at {endpoint} did not answer as PostgreSQL (is another service listening on that port?)"
            ),
            ConnectCause::RootCert(msg) | ConnectCause::Other(msg) => f.write_str(msg),
            ConnectCause::AllHosts(failures) => {
                let parts: Vec<String> = failures
                    .iter()
                    .map(|(label, cause)| format!("{label}: {cause}"))
                    .collect();
                f.write_str(&parts.join("; "))
            }
        }
    }
}

/// Connects to the first endpoint that accepts, like libpq with a host list.
///
/// The connect timeout bounds each endpoint's whole attempt (TCP, TLS,
/// authentication), as libpq's `connect_timeout` does per host; with a
/// single host it bounds the whole call.
pub async fn connect(settings: &ConnectionSettings) -> Result<Connection, ConnectError> {
    let error = |cause| ConnectError {
        target: settings.target(),
        cause,
    };
    let tls = TlsPlan::for_settings(settings).map_err(error)?;
    let mut failures = Vec::new();
    for endpoint in settings.endpoints() {
        match connect_endpoint(settings, endpoint, &tls).await {
            Ok(conn) => return Ok(conn),
            Err(cause) => failures.push((endpoint.label(), cause)),
        }
    }
    let cause = match failures.len() {
        1 => failures.remove(0).1,
        _ => ConnectCause::AllHosts(failures),
    };
    Err(error(cause))
}

/// How TCP connections negotiate TLS, decided once per `connect` call.
enum TlsPlan {
    /// `sslmode=disable`.
    Off,
    /// `allow`/`prefer`: TLS if offered, unverified.
    IfOffered(ClientConfig),
    /// `require`/`verify-*`: TLS or fail.
    Required(ClientConfig),
}

/// What a server certificate is checked against.
enum Verification {
    None,
    /// Chain only (`verify-ca`, or `require` with a root certificate present).
    Chain(Arc<RootCertStore>),
    /// Chain and host name (`verify-full`).
    Full(Arc<RootCertStore>),
}

impl TlsPlan {
    fn for_settings(settings: &ConnectionSettings) -> Result<TlsPlan, ConnectCause> {
        let mode = settings.ssl_mode();
        let root = settings.root_cert();
        let verification = match mode {
            SslMode::Disable => return Ok(TlsPlan::Off),
            SslMode::Allow | SslMode::Prefer => Verification::None,
            // libpq: `require` verifies the chain if a root certificate exists.
            SslMode::Require => match existing_roots(root)? {
                Some(roots) => Verification::Chain(roots),
                None => Verification::None,
            },
            SslMode::VerifyCa => Verification::Chain(required_roots(root)?),
            SslMode::VerifyFull => Verification::Full(required_roots(root)?),
        };
        let config = client_config(verification)?;
        Ok(if mode.requires_tls() {
            TlsPlan::Required(config)
        } else {
            TlsPlan::IfOffered(config)
        })
    }
}

/// Roots for `require`: used only if the file exists (or `system`).
fn existing_roots(root: &RootCert) -> Result<Option<Arc<RootCertStore>>, ConnectCause> {
    match root {
        RootCert::File(path) if !path.exists() => Ok(None),
        RootCert::None => Ok(None),
        _ => required_roots(root).map(Some),
    }
}

/// Roots for `verify-ca`/`verify-full`, where a missing file is an error.
fn required_roots(root: &RootCert) -> Result<Arc<RootCertStore>, ConnectCause> {
    match root {
        RootCert::System => Ok(Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })),
        RootCert::File(path) => load_root_file(path).map(Arc::new),
        RootCert::None => Err(ConnectCause::RootCert(
            "could not get home directory to locate root certificate file (set sslrootcert)".into(),
        )),
    }
}

fn load_root_file(path: &Path) -> Result<RootCertStore, ConnectCause> {
    let unusable = |why: String| {
        ConnectCause::RootCert(format!(
            "could not read root certificate file \"{}\": {why}",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ConnectCause::RootCert(format!(
            "root certificate file \"{}\" does not exist (provide the file, use sslrootcert=system, or use an sslmode that does not verify the server certificate)",
            path.display()
        )),
        _ => unusable(e.to_string()),
    })?;
    let mut store = RootCertStore::empty();
    // Only CERTIFICATE sections count; anything else in the bundle (a key
    // someone concatenated in) is skipped, as libpq does.
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| unusable(pem_problem(&e)))?;
        store.add(cert).map_err(|e| unusable(e.to_string()))?;
    }
    if store.is_empty() {
        return Err(unusable("no certificates found".into()));
    }
    Ok(store)
}

/// What is wrong with a PEM file, in words: the parser's own text shows the
/// section label as a list of bytes.
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "section end {:?} missing",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => {
            format!("illegal section start: {:?}", String::from_utf8_lossy(line))
        }
        other => other.to_string(),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(verification: Verification) -> Result<ClientConfig, ConnectCause> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match verification {
        Verification::None => Arc::new(NoVerification(provider.clone())),
        Verification::Chain(roots) => Arc::new(ChainOnly(webpki_verifier(roots, &provider)?)),
        Verification::Full(roots) => webpki_verifier(roots, &provider)?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectCause::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

fn webpki_verifier(
    roots: Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, ConnectCause> {
    WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| ConnectCause::Tls(e.to_string()))
}

/// Accepts any certificate (`prefer`, `require` without a root certificate)
/// but still checks handshake signatures, so the session key is bound to
/// the presented certificate.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: full WebPKI verification except the host-name check.
/// WebPKI checks the chain before the name, so a name mismatch implies the
/// chain was valid.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// One attempt against one endpoint, bounded by the connect timeout.
async fn connect_endpoint(
    settings: &ConnectionSettings,
    endpoint: &Endpoint,
    tls: &TlsPlan,
) -> Result<Connection, ConnectCause> {
    use tokio_postgres::config::SslMode as PgSslMode;
    let mut config = base_config(settings, endpoint);
    // No TLS on Unix sockets (see module docs); NoTls also avoids handing the
    // TLS connector an empty server name.
    let (mode, client) = match (endpoint.host(), tls) {
        (Host::Unix(_), _) | (_, TlsPlan::Off) => (PgSslMode::Disable, None),
        (Host::Tcp(_), TlsPlan::IfOffered(client)) => (PgSslMode::Prefer, Some(client)),
        (Host::Tcp(_), TlsPlan::Required(client)) => (PgSslMode::Require, Some(client)),
    };
    config.ssl_mode(mode);
    match client {
        None => open(&config, NoTls, settings, endpoint).await,
        Some(client) => {
            let connector = MakeRustlsConnect::new(client.clone());
            open(&config, connector, settings, endpoint).await
        }
    }
}

/// The `tokio_postgres` configuration for one endpoint, without TLS mode.
fn base_config(settings: &ConnectionSettings, endpoint: &Endpoint) -> tokio_postgres::Config {
    let mut config = tokio_postgres::Config::new();
    match endpoint.host() {
        Host::Tcp(name) => config.host(name),
        Host::Unix(dir) => config.host_path(dir),
    };
    if let Some(addr) = endpoint.hostaddr() {
        config.hostaddr(addr);
    }
    config
        .port(endpoint.port())
        .user(settings.user())
        .dbname(settings.database())
        .application_name(settings.application_name())
        .target_session_attrs(settings.target_session_attrs())
        .channel_binding(settings.channel_binding());
    if let Some(password) = endpoint.password() {
        config.password(password);
    }
    if let Some(options) = settings.options() {
        config.options(options);
    }
    if let Some(timeout) = settings.connect_timeout() {
        config.connect_timeout(timeout);
    }
    config
}

/// Connects with the given TLS connector and spawns the driver.
async fn open<T>(
    config: &tokio_postgres::Config,
    tls: T,
    settings: &ConnectionSettings,
    endpoint: &Endpoint,
) -> Result<Connection, ConnectCause>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let attempt = config.connect(tls);
    let result = match settings.connect_timeout() {
        Some(limit) => tokio::time::timeout(limit, attempt)
            .await
            .map_err(|_| ConnectCause::Timeout(limit))?,
        None => attempt.await,
    };
    let (client, connection) = result.map_err(|e| {
        classify(
            &e,
            endpoint,
            settings.ssl_mode(),
            settings.connect_timeout(),
        )
    })?;
    Ok(Connection {
        client: super::client::Client::new(client, settings.pooler()),
        notifications: spawn_driver(connection),
    })
}

/// Runs the connection on a tokio task, forwarding notifications and logging
/// notices. The task (and with it the connection) ends when the server
/// closes the connection or the client is dropped.
fn spawn_driver<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
) -> mpsc::UnboundedReceiver<tokio_postgres::Notification>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    // The receiver may be gone; the connection still serves the client.
                    let _ = sender.send(n);
                }
                Ok(AsyncMessage::Notice(notice)) => tracing::info!(
                    severity = notice.severity(),
                    code = notice.code().code(),
                    "server notice: {}",
                    notice.message()
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("connection ended: {}", describe_chain(&e));
                    break;
                }
            }
        }
    });
    receiver
}

/// Maps a `tokio_postgres` connect error to a [`ConnectCause`]. The error's
/// kind is private, so this walks the source chain for server errors, rustls
/// errors and I/O errors, falling back to the error's own text.
fn classify(
    err: &tokio_postgres::Error,
    endpoint: &Endpoint,
    mode: SslMode,
    timeout: Option<Duration>,
) -> ConnectCause {
    if let Some(db) = err.as_db_error() {
        return classify_db(db.code(), db.message());
    }
    for source in chain(err) {
        if let Some(cause) = classify_source(source, endpoint, mode, timeout) {
            return cause;
        }
    }
    ConnectCause::Other(describe_chain(err))
}

fn classify_db(code: &SqlState, message: &str) -> ConnectCause {
    let message = message.to_owned();
    if *code == SqlState::INVALID_CATALOG_NAME {
        ConnectCause::NoDatabase(message)
    } else if code.code().starts_with("28") {
        ConnectCause::Auth(message)
    } else {
        ConnectCause::Server(message)
    }
}

/// Recognises one link of an error chain.
fn classify_source(
    source: &(dyn StdError + 'static),
    endpoint: &Endpoint,
    mode: SslMode,
    timeout: Option<Duration>,
) -> Option<ConnectCause> {
    if let Some(tls) = source.downcast_ref::<rustls::Error>() {
        return Some(tls_cause(tls, endpoint));
    }
    if let Some(io) = source.downcast_ref::<io::Error>() {
        return Some(classify_io(io, endpoint, mode, timeout));
    }
    match source.to_string().as_str() {
        "server does not support TLS" => Some(ConnectCause::TlsUnsupported(mode)),
        "password missing" => Some(ConnectCause::PasswordMissing),
        // Bytes that are no PostgreSQL message, or a close without a word (a
        // PostgreSQL server explains itself with an error message first).
        "unexpected message from server"
        | "error parsing response from server"
        | "connection closed" => Some(ConnectCause::NotPostgres(endpoint.label())),
        _ => None,
    }
}

fn classify_io(
    io: &io::Error,
    endpoint: &Endpoint,
    mode: SslMode,
    timeout: Option<Duration>,
) -> ConnectCause {
    // tokio-rustls wraps rustls errors in io::Error; `source()` skips them.
    if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return tls_cause(tls, endpoint);
    }
    let socket = match endpoint.host() {
        Host::Unix(dir) => Some(dir.join(format!(".s.PGSQL.{}", endpoint.port()))),
        Host::Tcp(_) => None,
    };
    let text = io.to_string();
    match (io.kind(), socket) {
        (io::ErrorKind::ConnectionRefused, None) => ConnectCause::Refused,
        (io::ErrorKind::ConnectionRefused, Some(path)) => ConnectCause::SocketRefused(path),
        (io::ErrorKind::NotFound, Some(path)) => ConnectCause::NoSocket(path),
        // Our own limit, enforced inside tokio-postgres; without one this is
        // the operating system giving up, reported as is.
        (io::ErrorKind::TimedOut, _) if timeout.is_some() => {
            ConnectCause::Timeout(timeout.unwrap_or_default())
        }
        (io::ErrorKind::UnexpectedEof, _) if mode.requires_tls() => ConnectCause::Tls(format!(
            "server closed the connection during the TLS handshake ({text})"
        )),
        // The peer closed mid-message or before its first byte: what it sent
        // was not framed as PostgreSQL messages ("bytes remaining on stream"
        // is how tokio-util's codec words it).
        (io::ErrorKind::UnexpectedEof, _) => ConnectCause::NotPostgres(endpoint.label()),
        _ if text == "bytes remaining on stream" => ConnectCause::NotPostgres(endpoint.label()),
        _ if text.starts_with("failed to lookup address") => ConnectCause::UnknownHost {
            host: match endpoint.host() {
                Host::Tcp(h) => h.clone(),
                Host::Unix(dir) => dir.display().to_string(),
            },
            detail: text
                .strip_prefix("failed to lookup address information: ")
                .unwrap_or(&text)
                .to_owned(),
        },
        _ => ConnectCause::Other(text),
    }
}

/// A peer that agreed to TLS and then sent no TLS records is no PostgreSQL
/// server (an SSH banner starts with the `S` that means "TLS, yes").
fn tls_cause(err: &rustls::Error, endpoint: &Endpoint) -> ConnectCause {
    match err {
        rustls::Error::InvalidMessage(_) => ConnectCause::NotPostgres(endpoint.label()),
        other => ConnectCause::Tls(describe_tls(other, endpoint)),
    }
}

/// Short, actionable wording for the certificate failures people hit.
fn describe_tls(err: &rustls::Error, endpoint: &Endpoint) -> String {
    let host = match endpoint.host() {
        Host::Tcp(h) => h.as_str(),
        Host::Unix(_) => "",
    };
    match err {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "server certificate verify failed: certificate is not signed by a trusted root (self-signed or unknown CA; check sslrootcert)".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        }) => format!(
            "server certificate is not valid for host \"{host}\" (certificate names: {})",
            presented
                .iter()
                .map(|name| presented_name(name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            format!("server certificate is not valid for host \"{host}\"")
        }
        rustls::Error::InvalidCertificate(other) => {
            format!("server certificate verify failed: {other}")
        }
        other => other.to_string(),
    }
}

/// rustls lists presented names in `Debug` form (`DnsName("db.example")`);
/// show just the name.
fn presented_name(name: &str) -> &str {
    name.split_once("(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .unwrap_or(name)
}

fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e| (*e).source())
}

/// `outer: inner: innermost`, for errors nothing more specific matched.
fn describe_chain(err: &(dyn StdError + 'static)) -> String {
    chain(err)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_host_causes_are_joined() {
        let cause = ConnectCause::AllHosts(vec![
            ("a:1".into(), ConnectCause::Refused),
            ("b:2".into(), ConnectCause::Timeout(Duration::from_secs(3))),
        ]);
        let text = cause.to_string();
        assert!(text.starts_with("a:1: connection refused"), "{text}");
        assert!(text.ends_with("b:2: timed out after 3s"), "{text}");
    }

    #[test]
    fn presented_names_are_unwrapped() {
        assert_eq!(presented_name("DnsName(\"localhost\")"), "localhost");
        assert_eq!(
            presented_name("IpAddress(127.0.0.1)"),
            "IpAddress(127.0.0.1)"
        );
        assert_eq!(presented_name("plain"), "plain");
    }

    #[test]
    fn sqlstates_are_classified() {
        assert!(matches!(
            classify_db(&SqlState::INVALID_PASSWORD, "x"),
            ConnectCause::Auth(_)
        ));
        assert!(matches!(
            classify_db(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION, "x"),
            ConnectCause::Auth(_)
        ));
        assert!(matches!(
            classify_db(&SqlState::INVALID_CATALOG_NAME, "x"),
            ConnectCause::NoDatabase(_)
        ));
        assert!(matches!(
            classify_db(&SqlState::TOO_MANY_CONNECTIONS, "x"),
            ConnectCause::Server(_)
        ));
    }
}
