//! Filling connection settings from a DSN's parameters, the libpq
//! environment variables and libpq's compiled-in defaults.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::dsn::Params;
use super::*;

/// Combines DSN parameters, the environment and defaults.
pub(super) struct Resolver<'a> {
    pub(super) params: Params,
    pub(super) env: &'a Env,
}

/// One looked-up setting with its origin.
struct Setting<'a> {
    value: &'a str,
    origin: Origin,
}

impl Setting<'_> {
    fn invalid(&self, key: &'static str, expected: &'static str) -> ConnSettingsError {
        ConnSettingsError::InvalidValue {
            key,
            value: self.value.to_owned(),
            origin: self.origin.clone(),
            expected,
        }
    }
}

impl<'a> Resolver<'a> {
    /// The DSN value of `key`, else the libpq environment variable `var`.
    fn setting(&self, key: &str, var: &'static str) -> Option<Setting<'_>> {
        if let Some(value) = self.params.get(key) {
            return Some(Setting {
                value,
                origin: Origin::Dsn,
            });
        }
        self.env.get(var).map(|value| Setting {
            value,
            origin: Origin::Env(var),
        })
    }

    pub(super) fn resolve(&self) -> Result<ConnectionSettings> {
        let user = self.user();
        let database = self
            .setting("dbname", "PGDATABASE")
            .map_or_else(|| user.clone(), |s| s.value.to_owned());
        let root_cert = self.root_cert();
        let ssl_mode = self.ssl_mode(&root_cert)?;
        let mut settings = ConnectionSettings {
            endpoints: self.endpoints()?,
            user,
            database,
            explicit_password: self
                .setting("password", "PGPASSWORD")
                .map(|s| s.value.to_owned()),
            passfile: self.passfile(),
            ssl_mode,
            root_cert,
            application_name: self.application_name(),
            connect_timeout: self.connect_timeout()?,
            options: self
                .setting("options", "PGOPTIONS")
                .map(|s| s.value.to_owned()),
            target_session_attrs: self.target_session_attrs()?,
            channel_binding: self.channel_binding()?,
            pooler: Default::default(),
        };
        self.check_gssencmode()?;
        settings.fill_passwords();
        Ok(settings)
    }

    /// libpq uses the OS user name; we approximate it with `USER`/`LOGNAME`
    /// and fall back to `postgres`, the usual administrative role.
    fn user(&self) -> String {
        self.setting("user", "PGUSER")
            .map(|s| s.value)
            .or_else(|| self.env.get("USER"))
            .or_else(|| self.env.get("LOGNAME"))
            .unwrap_or("postgres")
            .to_owned()
    }

    fn root_cert(&self) -> RootCert {
        match self.setting("sslrootcert", "PGSSLROOTCERT") {
            Some(s) if s.value == SYSTEM_ROOT_CERT => RootCert::System,
            Some(s) => RootCert::File(PathBuf::from(s.value)),
            None => match self.env.get("HOME") {
                Some(home) => RootCert::File(Path::new(home).join(".postgresql/root.crt")),
                None => RootCert::None,
            },
        }
    }

    /// `sslmode`, defaulting to `prefer`, or to `verify-full` with
    /// `sslrootcert=system`, which (like libpq 16) refuses weaker modes:
    /// trusting public CAs without checking the host name proves nothing.
    fn ssl_mode(&self, root_cert: &RootCert) -> Result<SslMode> {
        let system = *root_cert == RootCert::System;
        let Some(s) = self.setting("sslmode", "PGSSLMODE") else {
            return Ok(if system {
                SslMode::VerifyFull
            } else {
                SslMode::Prefer
            });
        };
        let mode: SslMode = s.value.parse().map_err(|()| {
            s.invalid(
                "sslmode",
                "disable, allow, prefer, require, verify-ca or verify-full",
            )
        })?;
        if system && mode != SslMode::VerifyFull {
            return Err(ConnSettingsError::Conflict(format!(
                "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
            )));
        }
        Ok(mode)
    }

    fn passfile(&self) -> Option<PathBuf> {
        match self.setting("passfile", "PGPASSFILE") {
            Some(s) => Some(PathBuf::from(s.value)),
            None => self.env.get("HOME").map(|h| Path::new(h).join(".pgpass")),
        }
    }

    /// Precedence: DSN `application_name` > `PGQUEUER_APPLICATION_NAME` >
    /// `PGAPPNAME` > DSN `fallback_application_name` > `pgq`.
    fn application_name(&self) -> String {
        self.params
            .get("application_name")
            .or_else(|| self.env.get("PGQUEUER_APPLICATION_NAME"))
            .or_else(|| self.env.get("PGAPPNAME"))
            .or_else(|| self.params.get("fallback_application_name"))
            .unwrap_or(DEFAULT_APPLICATION_NAME)
            .to_owned()
    }

    /// `PGQUEUER_CONNECT_TIMEOUT` (float seconds) beats `connect_timeout` /
    /// `PGCONNECT_TIMEOUT` (libpq integer seconds, at least 2), which beat
    /// [`DEFAULT_CONNECT_TIMEOUT`]. An explicit 0 means no limit, as in libpq.
    fn connect_timeout(&self) -> Result<Option<Duration>> {
        if let Some(value) = self.env.get("PGQUEUER_CONNECT_TIMEOUT") {
            return parse_float_timeout(value);
        }
        let Some(s) = self.setting("connect_timeout", "PGCONNECT_TIMEOUT") else {
            return Ok(Some(DEFAULT_CONNECT_TIMEOUT));
        };
        let secs: i64 = s
            .value
            .trim()
            .parse()
            .map_err(|_| s.invalid("connect_timeout", "whole seconds"))?;
        Ok(match secs {
            ..=0 => None,
            // libpq rounds 1 up to 2 so that a connect cannot fail "immediately".
            1 => Some(Duration::from_secs(2)),
            n => Some(Duration::from_secs(n.unsigned_abs())),
        })
    }

    fn target_session_attrs(&self) -> Result<TargetSessionAttrs> {
        let Some(s) = self.setting("target_session_attrs", "PGTARGETSESSIONATTRS") else {
            return Ok(TargetSessionAttrs::Any);
        };
        match s.value {
            "any" => Ok(TargetSessionAttrs::Any),
            "read-write" => Ok(TargetSessionAttrs::ReadWrite),
            "read-only" => Ok(TargetSessionAttrs::ReadOnly),
            _ => Err(s.invalid("target_session_attrs", "any, read-write or read-only")),
        }
    }

    fn channel_binding(&self) -> Result<ChannelBinding> {
        let Some(s) = self.setting("channel_binding", "PGCHANNELBINDING") else {
            return Ok(ChannelBinding::Prefer);
        };
        match s.value {
            "disable" => Ok(ChannelBinding::Disable),
            "prefer" => Ok(ChannelBinding::Prefer),
            "require" => Ok(ChannelBinding::Require),
            _ => Err(s.invalid("channel_binding", "disable, prefer or require")),
        }
    }

    /// `pgq` never uses GSSAPI encryption, which satisfies every
    /// `gssencmode` except `require`.
    fn check_gssencmode(&self) -> Result<()> {
        match self.setting("gssencmode", "PGGSSENCMODE") {
            None => Ok(()),
            Some(s) if matches!(s.value, "disable" | "prefer" | "allow") => Ok(()),
            Some(s) if s.value == "require" => Err(ConnSettingsError::UnsupportedOption(
                "gssencmode=require".into(),
            )),
            Some(s) => Err(s.invalid("gssencmode", "disable, prefer or require")),
        }
    }

    /// Builds the host list from `host`, `hostaddr` and `port`, which may each
    /// be comma-separated lists, with libpq's matching rules.
    fn endpoints(&self) -> Result<Vec<Endpoint>> {
        let hosts: Vec<&str> = self
            .setting("host", "PGHOST")
            .map(|s| s.value.split(',').collect())
            .unwrap_or_default();
        let addrs = self.hostaddrs()?;
        if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
            return Err(ConnSettingsError::Conflict(format!(
                "could not match {} host names to {} hostaddr values",
                hosts.len(),
                addrs.len()
            )));
        }
        let count = hosts.len().max(addrs.len()).max(1);
        let ports = self.ports(count)?;
        let endpoints = (0..count)
            .map(|i| {
                let addr = addrs.get(i).copied().flatten();
                Endpoint {
                    host: endpoint_host(hosts.get(i).copied(), addr),
                    hostaddr: addr,
                    port: ports[i],
                    password: None,
                }
            })
            .collect();
        Ok(endpoints)
    }

    fn hostaddrs(&self) -> Result<Vec<Option<IpAddr>>> {
        let Some(s) = self.setting("hostaddr", "PGHOSTADDR") else {
            return Ok(Vec::new());
        };
        s.value
            .split(',')
            .map(|a| match a.trim() {
                "" => Ok(None),
                a => a
                    .parse()
                    .map(Some)
                    .map_err(|_| s.invalid("hostaddr", "numeric IP addresses")),
            })
            .collect()
    }

    /// One port per host, or a single port for all of them.
    fn ports(&self, count: usize) -> Result<Vec<u16>> {
        let Some(s) = self.setting("port", "PGPORT") else {
            return Ok(vec![DEFAULT_PORT; count]);
        };
        let ports = s
            .value
            .split(',')
            .map(|p| match p.trim() {
                "" => Ok(DEFAULT_PORT),
                p => p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| s.invalid("port", "port numbers 1-65535")),
            })
            .collect::<Result<Vec<u16>>>()?;
        match ports.len() {
            1 => Ok(vec![ports[0]; count]),
            n if n == count => Ok(ports),
            n => Err(ConnSettingsError::Conflict(format!(
                "could not match {n} port numbers to {count} hosts"
            ))),
        }
    }
}

/// The host of one list entry: the given name, else the hostaddr, else the
/// default (socket directory if present, else `localhost`).
pub(super) fn endpoint_host(name: Option<&str>, addr: Option<IpAddr>) -> Host {
    match (name.map(str::trim).filter(|n| !n.is_empty()), addr) {
        (Some(name), _) if name.starts_with('/') => Host::Unix(PathBuf::from(name)),
        (Some(name), _) => Host::Tcp(name.to_owned()),
        (None, Some(addr)) => Host::Tcp(addr.to_string()),
        (None, None) => default_host(),
    }
}

/// libpq's compiled default: the Unix socket directory when it exists.
pub(super) fn default_host() -> Host {
    if Path::new(DEFAULT_SOCKET_DIR).is_dir() {
        Host::Unix(PathBuf::from(DEFAULT_SOCKET_DIR))
    } else {
        Host::Tcp("localhost".into())
    }
}

pub(super) fn parse_float_timeout(value: &str) -> Result<Option<Duration>> {
    let invalid = || ConnSettingsError::InvalidValue {
        key: "PGQUEUER_CONNECT_TIMEOUT",
        value: value.to_owned(),
        origin: Origin::Env("PGQUEUER_CONNECT_TIMEOUT"),
        expected: "seconds, e.g. 2.5",
    };
    let secs: f64 = value.trim().parse().map_err(|_| invalid())?;
    if secs == 0.0 {
        return Ok(None);
    }
    Duration::try_from_secs_f64(secs)
        .map(Some)
        .map_err(|_| invalid())
}
