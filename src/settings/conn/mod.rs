//! Connection settings, resolved the way libpq resolves them.
//!
//! `tokio-postgres` only understands what it is handed explicitly: it reads no
//! `PG*` environment variables, no `~/.pgpass`, and knows nothing about
//! `sslrootcert`, `verify-ca` or `verify-full`. Operators expect `pgq` to reach
//! the same server as `psql` given the same environment, so this module
//! re-implements the relevant part of libpq's resolution and layers the
//! PGQueuer CLI rules on top:
//!
//! 1. DSN source: the explicit DSN (`--dsn` or a context's), else
//!    `PGQUEUER_DSN`, else `PGDSN`, else none (pure libpq environment).
//! 2. Every parameter the DSN leaves out is filled from the libpq environment
//!    variables, then from libpq's compiled-in defaults.
//! 3. `PGQUEUER_CONNECT_TIMEOUT` and `PGQUEUER_APPLICATION_NAME` adjust the
//!    timeout and the application name.
//!
//! Resolution reads the environment from an [`Env`] value rather than the
//! process so that it can be tested without mutating global state.
//!
//! Files: `dsn` parses a DSN, `resolve` fills the rest from the environment
//! and defaults, `pgpass` reads the password file; this file holds the types.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use tokio_postgres::config::{ChannelBinding, TargetSessionAttrs};

use super::pooler::Pooler;

mod dsn;
mod pgpass;
mod resolve;

pub use dsn::dsn_has_password;
use dsn::{Params, parse_dsn};
use pgpass::{pgpass_lookup, read_passfile};
use resolve::Resolver;

/// libpq's compiled-in Unix socket directory on Debian and its derivatives.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
/// The PostgreSQL default port.
pub const DEFAULT_PORT: u16 = 5432;
/// Used when nothing configures a connect timeout.
///
/// libpq waits forever by default; an operations tool that hangs on a
/// black-holed address is worse than one that reports the problem, so `pgq`
/// gives up after this long unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// `application_name` reported to the server when nothing else sets one.
pub const DEFAULT_APPLICATION_NAME: &str = "pgq";

/// Value of `sslrootcert` that selects the system trust store (libpq 16+).
const SYSTEM_ROOT_CERT: &str = "system";

/// Keywords `pgq` honours, in DSNs and (through their `PG*` variables) the
/// environment.
const SUPPORTED_KEYWORDS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "dbname",
    "sslmode",
    "sslrootcert",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "passfile",
    "options",
    "target_session_attrs",
    "channel_binding",
    "gssencmode",
];

/// libpq keywords `pgq` does not implement. They are rejected rather than
/// ignored because several of them (client certificates, `require_auth`, …)
/// change security properties the user relies on.
const UNSUPPORTED_KEYWORDS: &[&str] = &[
    "service",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "sslcompression",
    "sslnegotiation",
    "sslkeylogfile",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "requiressl",
    "requirepeer",
    "require_auth",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "load_balance_hosts",
    "replication",
    "client_encoding",
    "min_protocol_version",
    "max_protocol_version",
];

/// A snapshot of environment variables used for resolution.
///
/// Empty values count as unset, as they do for libpq.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// Captures the current process environment (non-UTF-8 entries are skipped).
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Env { vars }
    }

    /// Builds an environment from explicit pairs, for tests and embedding.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Env { vars }
    }

    /// Returns a copy with `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// The value of `key`, treating an empty value as unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for Env {
    /// Lists variable names only: values may hold passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.vars.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Env").field("names", &names).finish()
    }
}

/// libpq's `sslmode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// Plaintext only.
    Disable,
    /// libpq tries plaintext first; `pgq` treats it like [`SslMode::Prefer`].
    Allow,
    /// TLS if the server offers it, without certificate checks.
    Prefer,
    /// TLS mandatory; certificate checked only if a root certificate exists.
    Require,
    /// TLS mandatory, certificate chain checked, host name not checked.
    VerifyCa,
    /// TLS mandatory, certificate chain and host name checked.
    VerifyFull,
}

impl SslMode {
    /// The libpq spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the connection must fail rather than fall back to plaintext.
    pub fn requires_tls(self) -> bool {
        matches!(
            self,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "disable" => Ok(SslMode::Disable),
            "allow" => Ok(SslMode::Allow),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            _ => Err(()),
        }
    }
}

/// Where a server certificate's chain is anchored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCert {
    /// `sslrootcert=system`: the bundled Mozilla roots (webpki-roots).
    System,
    /// A PEM file: `sslrootcert` / `PGSSLROOTCERT`, else `~/.postgresql/root.crt`.
    /// It may not exist; only `verify-ca`/`verify-full` insist that it does.
    File(PathBuf),
    /// Neither configured nor derivable (no `HOME`).
    None,
}

/// Where a server is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// Host name or IP address.
    Tcp(String),
    /// Directory holding the server's Unix socket (`.s.PGSQL.<port>`).
    Unix(PathBuf),
}

/// One server to try, in order, like each entry of libpq's host list.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    host: Host,
    hostaddr: Option<IpAddr>,
    port: u16,
    password: Option<String>,
}

impl Endpoint {
    /// The host (name, IP or socket directory).
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Numeric address to connect to instead of resolving the host name.
    pub fn hostaddr(&self) -> Option<IpAddr> {
        self.hostaddr
    }

    /// The TCP port, or the socket file suffix for Unix sockets.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether a password (explicit or from the password file) is known.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The password to send; kept crate-private so it is not logged by accident.
    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// `host:port`, with IPv6 literals bracketed; never contains the password.
    pub fn label(&self) -> String {
        match &self.host {
            Host::Tcp(h) if h.contains(':') => format!("[{h}]:{}", self.port),
            Host::Tcp(h) => format!("{h}:{}", self.port),
            Host::Unix(dir) => format!("{}:{}", dir.display(), self.port),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("host", &self.host)
            .field("hostaddr", &self.hostaddr)
            .field("port", &self.port)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Where a setting came from, for error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The DSN.
    Dsn,
    /// The named environment variable.
    Env(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Dsn => f.write_str("in the connection string"),
            Origin::Env(var) => write!(f, "in {var}"),
        }
    }
}

/// Why connection settings could not be resolved. Messages never contain a
/// password: the only values echoed are those that failed validation, and
/// passwords are never validated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnSettingsError {
    /// The DSN is malformed.
    #[error("invalid connection string: {0}")]
    Syntax(String),
    /// The DSN names a keyword libpq does not know.
    #[error("invalid connection option \"{0}\"")]
    UnknownOption(String),
    /// The DSN names a libpq keyword `pgq` does not implement.
    #[error("connection option \"{0}\" is not supported by pgq")]
    UnsupportedOption(String),
    /// A value does not parse.
    #[error("invalid {key} value \"{value}\" {origin} (expected {expected})")]
    InvalidValue {
        /// libpq keyword or environment variable concerned.
        key: &'static str,
        /// The offending value.
        value: String,
        /// Where it came from.
        origin: Origin,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// Individually valid settings that cannot be combined.
    #[error("{0}")]
    Conflict(String),
}

type Result<T, E = ConnSettingsError> = std::result::Result<T, E>;

/// Fully resolved connection settings.
///
/// `Debug` redacts passwords; [`ConnectionSettings::target`] never shows them.
#[derive(Clone)]
pub struct ConnectionSettings {
    endpoints: Vec<Endpoint>,
    user: String,
    database: String,
    explicit_password: Option<String>,
    passfile: Option<PathBuf>,
    ssl_mode: SslMode,
    root_cert: RootCert,
    application_name: String,
    connect_timeout: Option<Duration>,
    options: Option<String>,
    target_session_attrs: TargetSessionAttrs,
    channel_binding: ChannelBinding,
    /// What sits between pgq and the server; decides prepared vs unnamed statements.
    pooler: Pooler,
}

impl ConnectionSettings {
    /// Resolves settings from an explicit DSN (`--dsn` or a context's; empty
    /// means unset) and the environment, following the module-level rules.
    pub fn resolve(explicit_dsn: Option<&str>, env: &Env) -> Result<ConnectionSettings> {
        let set = |d: &&str| !d.trim().is_empty();
        // PGQueuer 2.2 reads PGQUEUER_DSN before PGDSN: a shell that sets
        // both for different tools reaches the queue's database.
        let dsn = explicit_dsn
            .filter(set)
            .or_else(|| env.get("PGQUEUER_DSN").filter(set))
            .or_else(|| env.get("PGDSN").filter(set));
        let params = match dsn {
            Some(dsn) => parse_dsn(dsn)?,
            None => Params::default(),
        };
        Resolver { params, env }.resolve()
    }

    /// Human label such as `postgres@127.0.0.1:5432/mydb`; hosts are
    /// comma-joined. Never contains the password.
    pub fn target(&self) -> String {
        let hosts: Vec<String> = self.endpoints.iter().map(Endpoint::label).collect();
        format!("{}@{}/{}", self.user, hosts.join(","), self.database)
    }

    /// The database to connect to.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The role to connect as.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The effective `sslmode`.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// Where server certificates are anchored when they are verified.
    pub fn root_cert(&self) -> &RootCert {
        &self.root_cert
    }

    /// Servers to try, in order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The `application_name` to report.
    pub fn application_name(&self) -> &str {
        &self.application_name
    }

    /// Per-server connect timeout; `None` only when explicitly set to 0.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
    }

    /// Command-line options sent to the server (`options` / `PGOPTIONS`).
    pub fn options(&self) -> Option<&str> {
        self.options.as_deref()
    }

    /// libpq's `target_session_attrs` (`any`, `read-write`, `read-only`).
    pub fn target_session_attrs(&self) -> TargetSessionAttrs {
        self.target_session_attrs
    }

    /// libpq's `channel_binding`.
    pub fn channel_binding(&self) -> ChannelBinding {
        self.channel_binding
    }

    /// What sits between pgq and the server (`--pooler`).
    pub fn pooler(&self) -> Pooler {
        self.pooler
    }

    /// The same settings behind the given kind of pooler.
    pub fn with_pooler(mut self, pooler: Pooler) -> Self {
        self.pooler = pooler;
        self
    }

    /// The same settings aimed at another database. Password-file lookups are
    /// redone because `.pgpass` entries may be database-specific.
    pub fn with_database(&self, db: &str) -> Self {
        let mut copy = self.clone();
        copy.database = db.to_owned();
        copy.fill_passwords();
        copy
    }

    /// Gives each endpoint the explicit password, else its password-file
    /// entry. The file is only read when some endpoint needs it.
    fn fill_passwords(&mut self) {
        let passfile = match (&self.explicit_password, &self.passfile) {
            (None, Some(path)) => read_passfile(path),
            _ => None,
        };
        for endpoint in &mut self.endpoints {
            endpoint.password = self.explicit_password.clone().or_else(|| {
                let content = passfile.as_deref()?;
                pgpass_lookup(content, endpoint, &self.database, &self.user)
            });
        }
    }
}

impl fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("endpoints", &self.endpoints)
            .field("user", &self.user)
            .field("database", &self.database)
            .field(
                "password",
                &self.explicit_password.as_ref().map(|_| "<redacted>"),
            )
            .field("passfile", &self.passfile)
            .field("ssl_mode", &self.ssl_mode)
            .field("root_cert", &self.root_cert)
            .field("application_name", &self.application_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("options", &self.options)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("channel_binding", &self.channel_binding)
            .field("pooler", &self.pooler)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::resolve::default_host;
    use super::*;
    use std::fs;
    use std::path::Path;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    fn resolve(dsn: Option<&str>, pairs: &[(&str, &str)]) -> ConnectionSettings {
        match ConnectionSettings::resolve(dsn, &env(pairs)) {
            Ok(s) => s,
            Err(e) => panic!("resolve({dsn:?}) failed: {e}"),
        }
    }

    fn resolve_err(dsn: Option<&str>, pairs: &[(&str, &str)]) -> ConnSettingsError {
        match ConnectionSettings::resolve(dsn, &env(pairs)) {
            Ok(s) => panic!("resolve({dsn:?}) unexpectedly succeeded: {s:?}"),
            Err(e) => e,
        }
    }

    fn tcp(host: &str) -> Host {
        Host::Tcp(host.into())
    }

    // ---- DSN parsing -------------------------------------------------

    #[test]
    fn uri_with_everything() {
        let s = resolve(
            Some(
                "postgresql://alice:s%3Acret@db.example.com:6543/my%20db?sslmode=require&application_name=ops&connect_timeout=7",
            ),
            &[],
        );
        assert_eq!(s.user(), "alice");
        assert_eq!(s.database(), "my db");
        assert_eq!(s.endpoints().len(), 1);
        assert_eq!(s.endpoints()[0].host(), &tcp("db.example.com"));
        assert_eq!(s.endpoints()[0].port(), 6543);
        assert_eq!(s.endpoints()[0].password(), Some("s:cret"));
        assert_eq!(s.ssl_mode(), SslMode::Require);
        assert_eq!(s.application_name(), "ops");
        assert_eq!(s.connect_timeout(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn postgres_scheme_and_multiple_hosts() {
        let s = resolve(Some("postgres://u@host1:5432,host2/db"), &[]);
        let labels: Vec<String> = s.endpoints().iter().map(Endpoint::label).collect();
        assert_eq!(labels, ["host1:5432", "host2:5432"]);
        let s = resolve(Some("postgres://u@host1:5433,host2:5434/db"), &[]);
        assert_eq!(s.endpoints()[1].port(), 5434);
        assert_eq!(s.target(), "u@host1:5433,host2:5434/db");
    }

    #[test]
    fn uri_ipv6_hosts() {
        let s = resolve(Some("postgresql://u@[::1]:5433,[fe80::1]/db"), &[]);
        assert_eq!(s.endpoints()[0].host(), &tcp("::1"));
        assert_eq!(s.endpoints()[0].port(), 5433);
        assert_eq!(s.endpoints()[1].host(), &tcp("fe80::1"));
        assert_eq!(s.endpoints()[1].port(), 5432);
        assert_eq!(s.target(), "u@[::1]:5433,[fe80::1]:5432/db");
        assert!(matches!(
            resolve_err(Some("postgresql://[::1/db"), &[]),
            ConnSettingsError::Syntax(_)
        ));
    }

    #[test]
    fn uri_socket_hosts() {
        let s = resolve(Some("postgresql:///db?host=/tmp/sock&port=5999"), &[]);
        assert_eq!(s.endpoints()[0].host(), &Host::Unix("/tmp/sock".into()));
        assert_eq!(s.endpoints()[0].port(), 5999);
        let s = resolve(Some("postgresql://%2Fvar%2Frun%2Fpostgresql/db"), &[]);
        assert_eq!(
            s.endpoints()[0].host(),
            &Host::Unix(DEFAULT_SOCKET_DIR.into())
        );
        assert_eq!(
            s.target(),
            format!("{}@{DEFAULT_SOCKET_DIR}:5432/db", s.user())
        );
    }

    #[test]
    fn uri_errors() {
        let err = resolve_err(Some("postgres://u@h/db?bogus=1"), &[]);
        assert_eq!(
            err.to_string(),
            "invalid connection string: invalid URI query parameter: \"bogus\""
        );
        assert!(matches!(
            resolve_err(Some("postgres://u@h/db?sslmode"), &[]),
            ConnSettingsError::Syntax(_)
        ));
        assert!(matches!(
            resolve_err(Some("postgres://u@h/d%zzb"), &[]),
            ConnSettingsError::Syntax(_)
        ));
        assert!(matches!(
            resolve_err(Some("postgres://u@h/d%00b"), &[]),
            ConnSettingsError::Syntax(_)
        ));
        assert_eq!(
            resolve_err(Some("postgres://u@h/db?sslcert=x"), &[]),
            ConnSettingsError::UnsupportedOption("sslcert".into())
        );
    }

    #[test]
    fn uri_ssl_true_means_require() {
        let s = resolve(Some("postgres://u@h/db?ssl=true"), &[]);
        assert_eq!(s.ssl_mode(), SslMode::Require);
    }

    #[test]
    fn uri_password_with_raw_at_sign() {
        let s = resolve(Some("postgres://u:p@ss@h/db"), &[]);
        assert_eq!(s.endpoints()[0].password(), Some("p@ss"));
        assert_eq!(s.endpoints()[0].host(), &tcp("h"));
    }

    #[test]
    fn conninfo_with_quotes_and_escapes() {
        let s = resolve(
            Some(
                r"host=db1,db2 port = 6000 user='al ice' password='it\'s \\ secret' dbname=x\ y sslmode=verify-ca sslrootcert=/ca.pem",
            ),
            &[],
        );
        assert_eq!(s.user(), "al ice");
        assert_eq!(s.database(), "x y");
        assert_eq!(s.endpoints().len(), 2);
        assert_eq!(s.endpoints()[1].host(), &tcp("db2"));
        assert_eq!(s.endpoints()[1].port(), 6000);
        assert_eq!(s.endpoints()[0].password(), Some(r"it's \ secret"));
        assert_eq!(s.ssl_mode(), SslMode::VerifyCa);
        assert_eq!(s.root_cert(), &RootCert::File("/ca.pem".into()));
    }

    #[test]
    fn conninfo_errors() {
        assert_eq!(
            resolve_err(Some("host=h frobnicate=1"), &[]),
            ConnSettingsError::UnknownOption("frobnicate".into())
        );
        assert_eq!(
            resolve_err(Some("host=h frobnicate=1"), &[]).to_string(),
            "invalid connection option \"frobnicate\""
        );
        assert!(matches!(
            resolve_err(Some("host"), &[]),
            ConnSettingsError::Syntax(_)
        ));
        assert!(matches!(
            resolve_err(Some("password='unterminated"), &[]),
            ConnSettingsError::Syntax(_)
        ));
    }

    #[test]
    fn invalid_values_name_their_origin() {
        let err = resolve_err(Some("host=h sslmode=bogus"), &[]);
        assert_eq!(
            err.to_string(),
            "invalid sslmode value \"bogus\" in the connection string (expected disable, allow, prefer, require, verify-ca or verify-full)"
        );
        let err = resolve_err(None, &[("PGPORT", "http")]);
        assert!(err.to_string().contains("in PGPORT"), "{err}");
        let err = resolve_err(Some("host=a,b,c port=1,2"), &[]);
        assert_eq!(err.to_string(), "could not match 2 port numbers to 3 hosts");
        let err = resolve_err(None, &[("PGQUEUER_CONNECT_TIMEOUT", "soon")]);
        assert!(
            err.to_string().contains("PGQUEUER_CONNECT_TIMEOUT"),
            "{err}"
        );
        let err = resolve_err(None, &[("PGQUEUER_CONNECT_TIMEOUT", "-1")]);
        assert!(
            err.to_string().contains("PGQUEUER_CONNECT_TIMEOUT"),
            "{err}"
        );
    }

    // ---- precedence --------------------------------------------------

    #[test]
    fn explicit_dsn_beats_pgqueuer_dsn_beats_env() {
        let pairs = [
            ("PGQUEUER_DSN", "postgres://fromq@qhost/qdb"),
            ("PGHOST", "envhost"),
            ("PGUSER", "envuser"),
        ];
        let s = resolve(Some("postgres://explicit@xhost/xdb"), &pairs);
        assert_eq!(s.target(), "explicit@xhost:5432/xdb");
        let s = resolve(None, &pairs);
        assert_eq!(s.target(), "fromq@qhost:5432/qdb");
        let s = resolve(Some(""), &pairs);
        assert_eq!(
            s.target(),
            "fromq@qhost:5432/qdb",
            "empty DSN counts as unset"
        );
        let s = resolve(
            None,
            &[
                ("PGQUEUER_DSN", ""),
                ("PGHOST", "envhost"),
                ("PGUSER", "envuser"),
            ],
        );
        assert_eq!(s.target(), "envuser@envhost:5432/envuser");
    }

    #[test]
    fn pgqueuer_dsn_beats_pgdsn() {
        let both = [
            ("PGQUEUER_DSN", "postgres://fromq@qhost/qdb"),
            ("PGDSN", "postgres://fromp@phost/pdb"),
        ];
        assert_eq!(resolve(None, &both).target(), "fromq@qhost:5432/qdb");
        let s = resolve(None, &[("PGQUEUER_DSN", " "), both[1]]);
        assert_eq!(s.target(), "fromp@phost:5432/pdb", "blank counts as unset");
        let s = resolve(Some("postgres://x@xhost/xdb"), &both);
        assert_eq!(s.target(), "x@xhost:5432/xdb");
    }

    #[test]
    fn env_fills_what_the_dsn_leaves_out() {
        let pairs = [
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGSSLMODE", "disable"),
            ("PGPASSWORD", "envpw"),
        ];
        let s = resolve(Some("postgres:///dsndb"), &pairs);
        assert_eq!(s.target(), "envuser@envhost:6000/dsndb");
        assert_eq!(s.ssl_mode(), SslMode::Disable);
        assert_eq!(s.endpoints()[0].password(), Some("envpw"));
        let s = resolve(Some("host=dsnhost password=dsnpw"), &pairs);
        assert_eq!(s.target(), "envuser@dsnhost:6000/envdb");
        assert_eq!(s.endpoints()[0].password(), Some("dsnpw"));
    }

    #[test]
    fn defaults() {
        let s = resolve(None, &[]);
        assert_eq!(s.user(), "postgres");
        assert_eq!(s.database(), "postgres");
        assert_eq!(s.ssl_mode(), SslMode::Prefer);
        assert_eq!(s.application_name(), "pgq");
        assert_eq!(s.connect_timeout(), Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(s.endpoints()[0].host(), &default_host());
        assert_eq!(s.endpoints()[0].port(), 5432);
        assert_eq!(s.root_cert(), &RootCert::None);
        let s = resolve(None, &[("USER", "bob"), ("HOME", "/home/bob")]);
        assert_eq!(s.user(), "bob");
        assert_eq!(s.database(), "bob");
        assert_eq!(
            s.root_cert(),
            &RootCert::File("/home/bob/.postgresql/root.crt".into())
        );
        let s = resolve(None, &[("LOGNAME", "carol")]);
        assert_eq!(s.user(), "carol");
    }

    #[test]
    fn connect_timeout_precedence() {
        let s = resolve(
            Some("host=h connect_timeout=30"),
            &[("PGCONNECT_TIMEOUT", "20")],
        );
        assert_eq!(s.connect_timeout(), Some(Duration::from_secs(30)));
        let s = resolve(Some("host=h"), &[("PGCONNECT_TIMEOUT", "20")]);
        assert_eq!(s.connect_timeout(), Some(Duration::from_secs(20)));
        let s = resolve(
            Some("host=h connect_timeout=30"),
            &[
                ("PGCONNECT_TIMEOUT", "20"),
                ("PGQUEUER_CONNECT_TIMEOUT", "1.5"),
            ],
        );
        assert_eq!(s.connect_timeout(), Some(Duration::from_millis(1500)));
        let s = resolve(Some("host=h connect_timeout=1"), &[]);
        assert_eq!(
            s.connect_timeout(),
            Some(Duration::from_secs(2)),
            "libpq minimum"
        );
        let s = resolve(Some("host=h connect_timeout=0"), &[]);
        assert_eq!(s.connect_timeout(), None, "explicit 0 means no limit");
    }

    #[test]
    fn application_name_precedence() {
        let q = ("PGQUEUER_APPLICATION_NAME", "q");
        let pg = ("PGAPPNAME", "pg");
        assert_eq!(
            resolve(Some("host=h application_name=d"), &[q, pg]).application_name(),
            "d"
        );
        assert_eq!(resolve(Some("host=h"), &[q, pg]).application_name(), "q");
        assert_eq!(resolve(Some("host=h"), &[pg]).application_name(), "pg");
        assert_eq!(
            resolve(Some("host=h fallback_application_name=f"), &[]).application_name(),
            "f"
        );
        assert_eq!(resolve(Some("host=h"), &[]).application_name(), "pgq");
    }

    #[test]
    fn sslrootcert_system() {
        let s = resolve(Some("host=h sslrootcert=system"), &[]);
        assert_eq!(s.root_cert(), &RootCert::System);
        assert_eq!(s.ssl_mode(), SslMode::VerifyFull);
        assert!(matches!(
            resolve_err(Some("host=h sslrootcert=system sslmode=require"), &[]),
            ConnSettingsError::Conflict(_)
        ));
    }

    #[test]
    fn hostaddr_lists() {
        let s = resolve(Some("host=db.example hostaddr=10.1.2.3"), &[]);
        assert_eq!(s.endpoints()[0].host(), &tcp("db.example"));
        assert_eq!(
            s.endpoints()[0].hostaddr(),
            Some("10.1.2.3".parse().unwrap())
        );
        let s = resolve(Some("hostaddr=10.1.2.3,::1"), &[]);
        assert_eq!(s.endpoints()[1].host(), &tcp("::1"));
        assert!(matches!(
            resolve_err(Some("host=a,b hostaddr=10.1.2.3"), &[]),
            ConnSettingsError::Conflict(_)
        ));
        assert!(matches!(
            resolve_err(Some("hostaddr=db.example"), &[]),
            ConnSettingsError::InvalidValue { .. }
        ));
    }

    #[test]
    fn gssencmode_and_target_session_attrs() {
        assert!(
            ConnectionSettings::resolve(Some("host=h gssencmode=disable"), &Env::default()).is_ok()
        );
        assert!(matches!(
            resolve_err(Some("host=h gssencmode=require"), &[]),
            ConnSettingsError::UnsupportedOption(_)
        ));
        let s = resolve(Some("host=h target_session_attrs=read-write"), &[]);
        assert_eq!(s.target_session_attrs(), TargetSessionAttrs::ReadWrite);
    }

    // ---- password never leaks ---------------------------------------

    #[test]
    fn target_and_debug_never_show_password() {
        let s = resolve(
            Some("postgres://alice:hunter2secret@db:5432/app"),
            &[("PGPASSWORD", "otherpw")],
        );
        assert_eq!(s.target(), "alice@db:5432/app");
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2secret"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        let debug = format!("{:?}", env(&[("PGPASSWORD", "hunter2secret")]));
        assert!(!debug.contains("hunter2secret"), "{debug}");
        let s = resolve(
            Some("host=/tmp/x user=u password=hunter2secret dbname=d"),
            &[],
        );
        assert_eq!(s.target(), "u@/tmp/x:5432/d");
        assert!(!format!("{s:?}").contains("hunter2secret"));
    }

    #[test]
    fn passwords_in_a_dsn_are_detected() {
        assert!(dsn_has_password("postgres://alice:pw@db/app"));
        assert!(dsn_has_password("host=db password='p w'"));
        assert!(dsn_has_password("postgres://db/app?password=pw"));
        assert!(!dsn_has_password("postgres://alice@db/app"));
        assert!(!dsn_has_password("postgres://alice:@db/app"));
        assert!(!dsn_has_password("host=db user=alice"));
        assert!(!dsn_has_password("password='unterminated"));
    }

    #[test]
    fn with_database_switches_database_only() {
        let s = resolve(Some("postgres://u:pw@h:1/a"), &[]);
        let t = s.with_database("b");
        assert_eq!(t.target(), "u@h:1/b");
        assert_eq!(t.endpoints()[0].password(), Some("pw"));
        assert_eq!(s.database(), "a");
    }

    // ---- password file -----------------------------------------------

    #[cfg(unix)]
    fn write_passfile(dir: &Path, content: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("pgpass");
        fs::write(&path, content).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    /// Runs `f` with a subscriber that records formatted log lines.
    fn capture_logs(f: impl FnOnce()) -> String {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(data);
                Ok(data.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[cfg(unix)]
    #[test]
    fn insecure_passfile_is_ignored_with_a_warning_missing_one_silently() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_passfile(dir.path(), "*:*:*:*:pw\n", 0o640);
        let logs = capture_logs(|| assert_eq!(read_passfile(&path), None));
        assert!(logs.contains("WARN"), "{logs}");
        assert!(logs.contains("has group or world access"), "{logs}");
        let logs = capture_logs(|| assert_eq!(read_passfile(&dir.path().join("nope")), None));
        assert_eq!(logs, "");
        let logs = capture_logs(|| assert_eq!(read_passfile(dir.path()), None));
        assert!(logs.contains("is not a plain file"), "{logs}");
    }

    #[cfg(unix)]
    #[test]
    fn passfile_used_only_without_password_and_with_safe_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_passfile(dir.path(), "h:5432:d:u:frompass\n", 0o600);
        let passfile = path.to_str().unwrap();
        let s = resolve(Some("host=h user=u dbname=d"), &[("PGPASSFILE", passfile)]);
        assert_eq!(s.endpoints()[0].password(), Some("frompass"));
        let s = resolve(
            Some("host=h user=u dbname=d"),
            &[("PGPASSFILE", passfile), ("PGPASSWORD", "env")],
        );
        assert_eq!(s.endpoints()[0].password(), Some("env"));
        let s = resolve(
            Some(&format!("host=h user=u dbname=d passfile={passfile}")),
            &[],
        );
        assert_eq!(s.endpoints()[0].password(), Some("frompass"));
        let s = resolve(
            Some("host=h user=u dbname=other"),
            &[("PGPASSFILE", passfile)],
        );
        assert_eq!(s.endpoints()[0].password(), None);
        assert_eq!(
            s.with_database("d").endpoints()[0].password(),
            Some("frompass")
        );

        let path = write_passfile(dir.path(), "h:5432:d:u:frompass\n", 0o644);
        let s = resolve(
            Some("host=h user=u dbname=d"),
            &[("PGPASSFILE", path.to_str().unwrap())],
        );
        assert_eq!(
            s.endpoints()[0].password(),
            None,
            "world-readable file ignored"
        );

        let s = resolve(
            Some("host=h user=u dbname=d"),
            &[("HOME", dir.path().join("missing").to_str().unwrap())],
        );
        assert_eq!(s.endpoints()[0].password(), None, "missing file ignored");
    }
}
