//! The worker manifest: the TOML file `pgq run FACTORY` takes where Python
//! PGQueuer takes a `module:function` factory (Rust cannot import code at run
//! time).
//!
//! ```toml
//! [[entrypoint]]
//! name = "send_email"
//! command = ["python3", "send_email.py"]   # payload on stdin, exit 0 = success
//! timeout = "30s"                           # optional
//! max_line_bytes = "16KiB"                  # longest output line logged (default)
//! max_log_bytes = "1MiB"                    # log bytes one job may write (default)
//! pass_database_env = false                 # default: PGPASSWORD, PGDSN, PGQUEUER_DSN withheld
//! concurrency_limit = 4                     # fleet-wide, 0 = unlimited
//! on_failure = "hold"                       # or "delete" (default)
//! max_attempts = 5                          # database retries (optional)
//! initial_delay = "1s"
//! max_delay = "5m"
//! multiplier = 2.0
//!
//! [[entrypoint]]
//! name = "ping"
//! builtin = "noop"                          # noop | sleep | fail | echo
//!
//! [[entrypoint]]
//! name = "notify"
//! url = "https://mailer.internal/jobs/notify"  # POST, payload as the body
//! timeout = "30s"                              # optional
//! headers = { Authorization = "Bearer ${MAILER_TOKEN}" }  # ${VAR}: worker env
//! ca_file = "/etc/ssl/internal-ca.pem"         # optional; default: webpki roots
//!
//! [[schedule]]
//! entrypoint = "nightly_cleanup"
//! expression = "0 3 * * *"                  # croniter dialect, UTC
//! command = ["./cleanup.sh"]
//! ```
//!
//! Everything is checked before connecting: unknown keys, a missing or doubly
//! given executor, an empty command, duplicate entrypoints or schedules, bad
//! cron expressions and out-of-range numbers are reported with the file, the
//! line and the column.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{OnFailure, RetryPolicy};

/// How a job (or a schedule fire) is executed on the worker's machine.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecutorSpec {
    Command(CommandSpec),
    Builtin(Builtin),
}

/// How an entrypoint's jobs are executed: locally, or by a service over HTTP
/// (schedules have no job to send, so they run locally only).
#[derive(Debug, Clone, PartialEq)]
pub enum EntrypointExecutor {
    Local(ExecutorSpec),
    Http(HttpSpec),
}

/// An entrypoint served by POSTing each job to a URL (see `worker::http`).
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    /// `http` or `https`; used as written (no `${VAR}` expansion, so keep
    /// secrets out of it and in `headers`).
    pub url: reqwest::Url,
    /// Limit on the whole exchange, from connecting to the response's end.
    pub timeout: Option<Duration>,
    /// Header name → value template: `${VAR}` is replaced by the worker's
    /// environment variable when the worker starts (names already checked).
    pub headers: BTreeMap<String, String>,
    /// PEM bundle of the roots to trust instead of the built-in webpki
    /// roots (relative paths: from the worker's working directory).
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CommandSpec {
    /// Program and arguments; `pgq run … -- ARGS` are appended at run time.
    pub argv: Vec<String>,
    /// Kill the command (SIGTERM, then SIGKILL after `kill_grace`) when it
    /// runs longer; the job then fails like any other error.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL when a command is stopped.
    pub kill_grace: Duration,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Working directory (default: the worker's).
    pub workdir: Option<PathBuf>,
    /// How much of the command's stdout/stderr reaches the worker log.
    pub output: OutputLimits,
    /// Pass the worker's own connection secrets (`PGPASSWORD`, `PGDSN`,
    /// `PGQUEUER_DSN`) on to the command; by default they are withheld so a
    /// job that prints its environment cannot put them into the log.
    pub pass_database_env: bool,
}

/// Caps on what a command's output may cost the worker and its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputLimits {
    /// Bytes of one output line kept (the rest of the line is counted and
    /// dropped); also the most memory one stream's reader holds.
    pub max_line_bytes: usize,
    /// Bytes of log lines one run may write, stdout and stderr together;
    /// later output is still read (so the command never blocks) but only
    /// counted.
    pub max_log_bytes: u64,
}

impl Default for OutputLimits {
    /// 16 KiB per line is the size at which Docker's log drivers split a
    /// line: far beyond anything a person reads, small enough that a job's
    /// two readers hold little memory. 1 MiB per run is thousands of lines,
    /// yet a hundred concurrent runs add at most ~100 MiB of log; a job that
    /// needs more should write its own file.
    fn default() -> Self {
        OutputLimits {
            max_line_bytes: 16 * 1024,
            max_log_bytes: 1024 * 1024,
        }
    }
}

/// Built-in handlers for tests, demos and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Builtin {
    /// Succeed at once.
    Noop,
    /// Sleep for the payload's number of seconds (default 1), then succeed.
    Sleep,
    /// Fail with the payload text as the error message.
    Fail,
    /// Log the payload at INFO, then succeed.
    Echo,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EntrypointSpec {
    pub name: String,
    pub executor: EntrypointExecutor,
    pub concurrency_limit: u32,
    pub on_failure: OnFailure,
    pub retry: Option<RetryPolicy>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleSpec {
    pub entrypoint: String,
    /// Normalised as PGQueuer stores it (`@hourly` → `0 * * * *`).
    pub expression: String,
    pub executor: ExecutorSpec,
    pub clean_old: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifest {
    pub entrypoints: Vec<EntrypointSpec>,
    pub schedules: Vec<ScheduleSpec>,
}

/// A rejected manifest: `file:line:column: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub file: PathBuf,
    /// 1-based; absent when the file could not be read at all.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub reason: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ManifestError {}

const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    entrypoint: Vec<RawEntrypoint>,
    #[serde(default)]
    schedule: Vec<RawSchedule>,
}

/// The executor keys, shared by entrypoints and schedules.
struct RawExecutor {
    command: Option<Spanned<Vec<String>>>,
    builtin: Option<Spanned<Builtin>>,
    timeout: Option<Spanned<toml::Value>>,
    kill_grace: Option<Spanned<toml::Value>>,
    env: Option<Spanned<BTreeMap<String, String>>>,
    workdir: Option<Spanned<PathBuf>>,
    max_line_bytes: Option<Spanned<toml::Value>>,
    max_log_bytes: Option<Spanned<toml::Value>>,
    pass_database_env: Option<Spanned<bool>>,
}

/// The keys only an HTTP entrypoint has.
struct RawHttp {
    url: Option<Spanned<String>>,
    headers: Option<Spanned<BTreeMap<String, String>>>,
    ca_file: Option<Spanned<PathBuf>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntrypoint {
    name: Spanned<String>,
    command: Option<Spanned<Vec<String>>>,
    builtin: Option<Spanned<Builtin>>,
    url: Option<Spanned<String>>,
    headers: Option<Spanned<BTreeMap<String, String>>>,
    ca_file: Option<Spanned<PathBuf>>,
    timeout: Option<Spanned<toml::Value>>,
    kill_grace: Option<Spanned<toml::Value>>,
    env: Option<Spanned<BTreeMap<String, String>>>,
    workdir: Option<Spanned<PathBuf>>,
    max_line_bytes: Option<Spanned<toml::Value>>,
    max_log_bytes: Option<Spanned<toml::Value>>,
    pass_database_env: Option<Spanned<bool>>,
    concurrency_limit: Option<Spanned<i64>>,
    on_failure: Option<Spanned<String>>,
    max_attempts: Option<Spanned<i64>>,
    initial_delay: Option<Spanned<toml::Value>>,
    max_delay: Option<Spanned<toml::Value>>,
    multiplier: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    entrypoint: Spanned<String>,
    expression: Spanned<String>,
    command: Option<Spanned<Vec<String>>>,
    builtin: Option<Spanned<Builtin>>,
    timeout: Option<Spanned<toml::Value>>,
    kill_grace: Option<Spanned<toml::Value>>,
    env: Option<Spanned<BTreeMap<String, String>>>,
    workdir: Option<Spanned<PathBuf>>,
    max_line_bytes: Option<Spanned<toml::Value>>,
    max_log_bytes: Option<Spanned<toml::Value>>,
    pass_database_env: Option<Spanned<bool>>,
    #[serde(default)]
    clean_old: bool,
}

/// Read and check a manifest file.
pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|e| ManifestError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        reason: format!("cannot read the manifest: {e}"),
    })?;
    parse(path, &text)
}

/// Check manifest text; `path` only labels the errors.
pub fn parse(path: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let at = |span: Option<Range<usize>>, reason: String| {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = line_column(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ManifestError {
            file: path.to_path_buf(),
            line,
            column,
            reason,
        }
    };
    let raw: RawManifest = toml::from_str(text).map_err(|e| {
        let reason = e.message().trim().replace('\n', "; ");
        at(e.span(), reason)
    })?;

    let mut manifest = Manifest::default();
    let mut names = HashSet::new();
    for ep in raw.entrypoint {
        let name_span = ep.name.span();
        let name = ep.name.into_inner();
        if name.trim().is_empty() {
            return Err(at(Some(name_span), "entrypoint name is empty".into()));
        }
        refuse_nul(&at, &name_span, "entrypoint name", &name, TO_POSTGRES)?;
        if !names.insert(name.clone()) {
            return Err(at(
                Some(name_span),
                format!("duplicate entrypoint {name:?}: names must be unique"),
            ));
        }
        let owner = format!("entrypoint {name:?}");
        let raw_http = RawHttp {
            url: ep.url,
            headers: ep.headers,
            ca_file: ep.ca_file,
        };
        let raw_executor = RawExecutor {
            command: ep.command,
            builtin: ep.builtin,
            timeout: ep.timeout,
            kill_grace: ep.kill_grace,
            env: ep.env,
            workdir: ep.workdir,
            max_line_bytes: ep.max_line_bytes,
            max_log_bytes: ep.max_log_bytes,
            pass_database_env: ep.pass_database_env,
        };
        let executor = match raw_http.url {
            Some(url) => {
                if let Some(local) = raw_executor
                    .command
                    .as_ref()
                    .map(|c| c.span())
                    .or_else(|| raw_executor.builtin.as_ref().map(|b| b.span()))
                {
                    return Err(at(
                        Some(local),
                        format!("{owner} has a url and a local executor; choose one"),
                    ));
                }
                EntrypointExecutor::Http(http_executor(
                    &at,
                    &owner,
                    url,
                    raw_http.headers,
                    raw_http.ca_file,
                    raw_executor,
                )?)
            }
            None => {
                let stray = [
                    raw_http.headers.as_ref().map(|v| ("headers", v.span())),
                    raw_http.ca_file.as_ref().map(|v| ("ca_file", v.span())),
                ];
                if let Some((key, span)) = stray.into_iter().flatten().next() {
                    return Err(at(Some(span), format!("{key} only applies to a url")));
                }
                EntrypointExecutor::Local(executor(&at, name_span.clone(), &owner, raw_executor)?)
            }
        };
        let concurrency_limit = match ep.concurrency_limit {
            None => 0,
            Some(v) => u32::try_from(*v.get_ref()).map_err(|_| {
                at(
                    Some(v.span()),
                    format!(
                        "concurrency_limit must be 0 (unlimited) or more, got {}",
                        v.get_ref()
                    ),
                )
            })?,
        };
        let on_failure = match ep.on_failure {
            None => OnFailure::Delete,
            Some(v) => match v.get_ref().as_str() {
                "delete" => OnFailure::Delete,
                "hold" => OnFailure::Hold,
                other => {
                    return Err(at(
                        Some(v.span()),
                        format!("on_failure must be \"delete\" or \"hold\", got {other:?}"),
                    ));
                }
            },
        };
        let retry = match ep.max_attempts {
            None => {
                let stray = [
                    ep.initial_delay
                        .as_ref()
                        .map(|v| ("initial_delay", v.span())),
                    ep.max_delay.as_ref().map(|v| ("max_delay", v.span())),
                    ep.multiplier.as_ref().map(|v| ("multiplier", v.span())),
                ];
                if let Some((key, span)) = stray.into_iter().flatten().next() {
                    return Err(at(
                        Some(span),
                        format!("{key} only applies with max_attempts (database retries)"),
                    ));
                }
                None
            }
            Some(max) => {
                let defaults = RetryPolicy::default();
                let max_attempts = u32::try_from(*max.get_ref()).map_err(|_| {
                    at(
                        Some(max.span()),
                        format!("max_attempts must be 0 or more, got {}", max.get_ref()),
                    )
                })?;
                let initial_delay = optional_duration(&at, ep.initial_delay, "initial_delay")?
                    .unwrap_or(defaults.initial_delay);
                let max_delay = optional_duration(&at, ep.max_delay, "max_delay")?
                    .unwrap_or(defaults.max_delay);
                let multiplier = match ep.multiplier {
                    None => defaults.multiplier,
                    Some(m) if m.get_ref().is_finite() && *m.get_ref() > 0.0 => *m.get_ref(),
                    Some(m) => {
                        return Err(at(
                            Some(m.span()),
                            format!("multiplier must be a positive number, got {}", m.get_ref()),
                        ));
                    }
                };
                Some(RetryPolicy {
                    max_attempts,
                    initial_delay,
                    max_delay,
                    multiplier,
                })
            }
        };
        manifest.entrypoints.push(EntrypointSpec {
            name,
            executor,
            concurrency_limit,
            on_failure,
            retry,
        });
    }

    let mut seen = HashSet::new();
    for s in raw.schedule {
        let ep_span = s.entrypoint.span();
        let entrypoint = s.entrypoint.into_inner();
        if entrypoint.trim().is_empty() {
            return Err(at(Some(ep_span), "schedule entrypoint is empty".into()));
        }
        refuse_nul(
            &at,
            &ep_span,
            "schedule entrypoint",
            &entrypoint,
            TO_POSTGRES,
        )?;
        let expr_span = s.expression.span();
        refuse_nul(
            &at,
            &expr_span,
            "expression",
            s.expression.get_ref(),
            TO_POSTGRES,
        )?;
        let expression = crate::cron::normalize(s.expression.get_ref())
            .map_err(|e| at(Some(expr_span.clone()), e.to_string()))?;
        // Evaluate once so an expression that never fires is caught here.
        crate::cron::next_fires(&expression, chrono::Utc::now(), 1)
            .map_err(|e| at(Some(expr_span.clone()), e.to_string()))?;
        if !seen.insert((entrypoint.clone(), expression.clone())) {
            return Err(at(
                Some(expr_span),
                format!(
                    "duplicate schedule ({entrypoint:?}, {expression:?}): each (entrypoint, expression) pair must be unique"
                ),
            ));
        }
        let executor = executor(
            &at,
            ep_span,
            &format!("schedule {entrypoint:?}"),
            RawExecutor {
                command: s.command,
                builtin: s.builtin,
                timeout: s.timeout,
                kill_grace: s.kill_grace,
                env: s.env,
                workdir: s.workdir,
                max_line_bytes: s.max_line_bytes,
                max_log_bytes: s.max_log_bytes,
                pass_database_env: s.pass_database_env,
            },
        )?;
        manifest.schedules.push(ScheduleSpec {
            entrypoint,
            expression,
            executor,
            clean_old: s.clean_old,
        });
    }

    if manifest.entrypoints.is_empty() && manifest.schedules.is_empty() {
        return Err(at(
            None,
            "the manifest declares no [[entrypoint]] and no [[schedule]]".into(),
        ));
    }
    Ok(manifest)
}

type At<'a> = dyn Fn(Option<Range<usize>>, String) -> ManifestError + 'a;

impl RawExecutor {
    /// Refuse the keys only a command executor takes (`timeout` too unless
    /// `timeout_allowed`); env and workdir are reported at `executor_span`.
    fn refuse_command_keys(
        &self,
        at: &At<'_>,
        owner: &str,
        executor_span: Range<usize>,
        timeout_allowed: bool,
    ) -> Result<(), ManifestError> {
        let timeout = self.timeout.as_ref().filter(|_| !timeout_allowed);
        let command_only = [
            timeout.map(|v| ("timeout", v.span())),
            self.kill_grace.as_ref().map(|v| ("kill_grace", v.span())),
            self.max_line_bytes
                .as_ref()
                .map(|v| ("max_line_bytes", v.span())),
            self.max_log_bytes
                .as_ref()
                .map(|v| ("max_log_bytes", v.span())),
            self.pass_database_env
                .as_ref()
                .map(|v| ("pass_database_env", v.span())),
        ];
        if let Some((key, span)) = command_only.into_iter().flatten().next() {
            return Err(at(Some(span), format!("{key} only applies to a command")));
        }
        if self.env.is_some() || self.workdir.is_some() {
            return Err(at(
                Some(executor_span),
                format!("{owner}: env and workdir only apply to a command"),
            ));
        }
        Ok(())
    }
}

fn executor(
    at: &At<'_>,
    owner_span: Range<usize>,
    owner: &str,
    raw: RawExecutor,
) -> Result<ExecutorSpec, ManifestError> {
    match (raw.command.clone(), raw.builtin.clone()) {
        (Some(_), Some(b)) => Err(at(
            Some(b.span()),
            format!("{owner} has both command and builtin; choose one"),
        )),
        (None, None) => Err(at(
            Some(owner_span),
            format!(
                "{owner} needs an executor: command = [\"prog\", …], builtin = \"noop\" or (entrypoints) url = \"https://…\""
            ),
        )),
        (None, Some(b)) => {
            raw.refuse_command_keys(at, owner, b.span(), false)?;
            Ok(ExecutorSpec::Builtin(b.into_inner()))
        }
        (Some(cmd), None) => {
            let span = cmd.span();
            let argv = cmd.into_inner();
            if argv.first().is_none_or(|p| p.trim().is_empty()) {
                return Err(at(
                    Some(span),
                    format!("{owner}: command is empty; give at least the program"),
                ));
            }
            for (i, arg) in argv.iter().enumerate() {
                let what = match i {
                    0 => "the command's program".to_string(),
                    i => format!("command argument {i}"),
                };
                refuse_nul(at, &span, &what, arg, TO_EXEC)?;
            }
            if let Some(env) = &raw.env {
                for (key, value) in env.get_ref() {
                    refuse_nul(at, &env.span(), "an env name", key, TO_EXEC)?;
                    refuse_nul(at, &env.span(), &format!("env {key:?}"), value, TO_EXEC)?;
                }
            }
            if let Some(dir) = &raw.workdir {
                refuse_nul_path(at, dir, "workdir")?;
            }
            let timeout = optional_duration(at, raw.timeout, "timeout")?;
            if timeout.is_some_and(|t| t.is_zero()) {
                return Err(at(Some(span), "timeout must be more than zero".into()));
            }
            let kill_grace =
                optional_duration(at, raw.kill_grace, "kill_grace")?.unwrap_or(DEFAULT_KILL_GRACE);
            let defaults = OutputLimits::default();
            let max_line_bytes = match optional_bytes(at, raw.max_line_bytes, "max_line_bytes")? {
                None => defaults.max_line_bytes,
                Some((n, span)) => usize::try_from(n)
                    .map_err(|_| at(Some(span), format!("max_line_bytes: {n} is too large")))?,
            };
            let max_log_bytes = optional_bytes(at, raw.max_log_bytes, "max_log_bytes")?
                .map_or(defaults.max_log_bytes, |(n, _)| n);
            Ok(ExecutorSpec::Command(CommandSpec {
                argv,
                timeout,
                kill_grace,
                env: raw.env.map(Spanned::into_inner).unwrap_or_default(),
                workdir: raw.workdir.map(Spanned::into_inner),
                output: OutputLimits {
                    max_line_bytes,
                    max_log_bytes,
                },
                pass_database_env: raw.pass_database_env.is_some_and(|v| v.into_inner()),
            }))
        }
    }
}

fn http_executor(
    at: &At<'_>,
    owner: &str,
    url: Spanned<String>,
    headers: Option<Spanned<BTreeMap<String, String>>>,
    ca_file: Option<Spanned<PathBuf>>,
    raw: RawExecutor,
) -> Result<HttpSpec, ManifestError> {
    let url_span = url.span();
    // An HTTP entrypoint has a timeout of its own.
    raw.refuse_command_keys(at, owner, url_span.clone(), true)?;
    let url = reqwest::Url::parse(url.get_ref())
        .map_err(|e| at(Some(url_span.clone()), format!("url: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(at(
            Some(url_span),
            "url must be an http:// or https:// address with a host".into(),
        ));
    }
    let timeout = optional_duration(at, raw.timeout, "timeout")?;
    if timeout.is_some_and(|t| t.is_zero()) {
        return Err(at(Some(url_span), "timeout must be more than zero".into()));
    }
    let headers = match headers {
        None => BTreeMap::new(),
        Some(h) => {
            let span = h.span();
            let headers = h.into_inner();
            for (name, template) in &headers {
                let what = format!("header {name:?}");
                refuse_nul(at, &span, &what, template, "an HTTP header")?;
                super::http_setup::check_manifest_header(name, template)
                    .map_err(|e| at(Some(span.clone()), format!("headers: {e}")))?;
            }
            headers
        }
    };
    if let Some(file) = &ca_file {
        refuse_nul_path(at, file, "ca_file")?;
    }
    Ok(HttpSpec {
        url,
        timeout,
        headers,
        ca_file: ca_file.map(Spanned::into_inner),
    })
}

/// Where a string goes, for [`refuse_nul`]'s message.
const TO_POSTGRES: &str = "PostgreSQL text";
const TO_EXEC: &str = "a command's arguments and environment";

/// TOML strings may hold `\u0000`, but PostgreSQL text, a program's
/// arguments, environment and paths, and HTTP headers cannot: caught here,
/// the worker would fail only at its first dequeue (or job), and under
/// `--restart-on-failure` fail that way for ever.
fn refuse_nul(
    at: &At<'_>,
    span: &Range<usize>,
    what: &str,
    value: &str,
    goes_to: &str,
) -> Result<(), ManifestError> {
    if value.contains('\0') {
        return Err(at(
            Some(span.clone()),
            format!("{what} contains a NUL character (\\u0000), which {goes_to} cannot hold"),
        ));
    }
    Ok(())
}

fn refuse_nul_path(at: &At<'_>, path: &Spanned<PathBuf>, key: &str) -> Result<(), ManifestError> {
    let bytes = path.get_ref().as_os_str().as_encoded_bytes();
    if bytes.contains(&0) {
        return Err(at(
            Some(path.span()),
            format!("{key} contains a NUL character (\\u0000), which a file path cannot hold"),
        ));
    }
    Ok(())
}

/// A duration given as seconds (`1.5`) or text (`"90s"`, `"5m"`, `"1h30m"`).
fn optional_duration(
    at: &At<'_>,
    value: Option<Spanned<toml::Value>>,
    key: &str,
) -> Result<Option<Duration>, ManifestError> {
    let Some(value) = value else { return Ok(None) };
    let span = value.span();
    let parsed = match value.get_ref() {
        toml::Value::Integer(i) if *i >= 0 => crate::settings::duration::from_seconds(*i as f64),
        toml::Value::Float(f) if f.is_finite() && *f >= 0.0 => {
            crate::settings::duration::from_seconds(*f)
        }
        toml::Value::String(s) => crate::settings::duration::parse_duration(s),
        other => Err(format!("{other} is not a duration")),
    };
    parsed.map(Some).map_err(|e| {
        at(
            Some(span),
            format!("{key}: {e} (use seconds or e.g. \"90s\", \"5m\")"),
        )
    })
}

/// A positive size given as bytes (`4096`) or text (`"16KiB"`, `"1MiB"`),
/// with the span for later range errors.
fn optional_bytes(
    at: &At<'_>,
    value: Option<Spanned<toml::Value>>,
    key: &str,
) -> Result<Option<(u64, Range<usize>)>, ManifestError> {
    let Some(value) = value else { return Ok(None) };
    let span = value.span();
    let parsed = match value.get_ref() {
        toml::Value::Integer(i) => u64::try_from(*i).map_err(|_| format!("{i} is negative")),
        toml::Value::String(s) => parse_byte_size(s),
        other => Err(format!("{other} is not a size")),
    };
    match parsed {
        Ok(0) => Err(at(Some(span), format!("{key} must be at least 1 byte"))),
        Ok(n) => Ok(Some((n, span))),
        Err(e) => Err(at(
            Some(span),
            format!("{key}: {e} (use bytes or e.g. \"16KiB\", \"1MiB\")"),
        )),
    }
}

/// `"512"`, `"512B"`, `"16KiB"`, `"1MiB"`, `"2GiB"` (binary units, any case).
fn parse_byte_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(format!("{text:?} is not a size (units: B, KiB, MiB, GiB)")),
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("{text:?} is not a size (units: B, KiB, MiB, GiB)"))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<Manifest, ManifestError> {
        parse(Path::new("w.toml"), text)
    }

    #[test]
    fn full_manifest() {
        let m = check(
            r#"
[[entrypoint]]
name = "send"
command = ["python3", "send.py"]
timeout = "30s"
concurrency_limit = 4
on_failure = "hold"
max_attempts = 3
initial_delay = 0.5
multiplier = 3

[[entrypoint]]
name = "ping"
builtin = "noop"

[[schedule]]
entrypoint = "cleanup"
expression = "@hourly"
builtin = "echo"
"#,
        )
        .unwrap();
        assert_eq!(m.entrypoints.len(), 2);
        let send = &m.entrypoints[0];
        assert_eq!(send.concurrency_limit, 4);
        assert_eq!(send.on_failure, OnFailure::Hold);
        let retry = send.retry.clone().unwrap();
        assert_eq!(retry.max_attempts, 3);
        assert_eq!(retry.initial_delay, Duration::from_millis(500));
        assert_eq!(retry.max_delay, Duration::from_secs(300));
        assert_eq!(retry.multiplier, 3.0);
        match &send.executor {
            EntrypointExecutor::Local(ExecutorSpec::Command(c)) => {
                assert_eq!(c.timeout, Some(Duration::from_secs(30)));
                assert_eq!(c.kill_grace, DEFAULT_KILL_GRACE);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.schedules[0].expression, "0 * * * *");
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\ncolour = 1\n",
                4,
                "unknown field",
            ),
            (
                "[[entrypoint]]\nname = \"a\"\ncommand = []\n",
                3,
                "command is empty",
            ),
            (
                "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\n[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\n",
                5,
                "duplicate entrypoint",
            ),
            (
                "[[schedule]]\nentrypoint = \"a\"\nexpression = \"61 * * * *\"\nbuiltin = \"noop\"\n",
                3,
                "61",
            ),
            ("[[entrypoint]]\nname = \"a\"\n", 2, "needs an executor"),
            (
                "[[entrypoint]]\nname = \"a\"\nbuiltin = \"nope\"\n",
                3,
                "unknown variant",
            ),
            (
                "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\non_failure = \"keep\"\n",
                4,
                "on_failure",
            ),
            (
                "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\nconcurrency_limit = -1\n",
                4,
                "concurrency_limit",
            ),
            (
                "[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\nmultiplier = 2\n",
                4,
                "max_attempts",
            ),
            ("[[entrypoint]\n", 1, ""),
        ];
        for (text, line, needle) in cases {
            let err = check(text).expect_err(text);
            assert_eq!(err.line, Some(line), "{text}: {err}");
            assert!(err.reason.contains(needle), "{text}: {err}");
            assert!(
                err.to_string().starts_with(&format!("w.toml:{line}:")),
                "{err}"
            );
        }
        assert!(check("").unwrap_err().reason.contains("no [[entrypoint]]"));
    }

    fn command_spec(extra: &str) -> Result<CommandSpec, ManifestError> {
        let m = check(&format!(
            "[[entrypoint]]\nname = \"a\"\ncommand = [\"true\"]\n{extra}"
        ))?;
        match &m.entrypoints[0].executor {
            EntrypointExecutor::Local(ExecutorSpec::Command(c)) => Ok(c.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn output_limits_and_database_env() {
        let c = command_spec("").unwrap();
        assert_eq!(c.output, OutputLimits::default());
        assert!(!c.pass_database_env);
        let c = command_spec(
            "max_line_bytes = 100\nmax_log_bytes = \"2MiB\"\npass_database_env = true\n",
        )
        .unwrap();
        assert_eq!(c.output.max_line_bytes, 100);
        assert_eq!(c.output.max_log_bytes, 2 << 20);
        assert!(c.pass_database_env);
        assert_eq!(
            command_spec("max_line_bytes = \"16 kib\"\n")
                .unwrap()
                .output
                .max_line_bytes,
            16384
        );
        let cases = [
            (
                "max_line_bytes = 0\n",
                "max_line_bytes must be at least 1 byte",
            ),
            ("max_log_bytes = -5\n", "max_log_bytes: -5 is negative"),
            (
                "max_log_bytes = \"lots\"\n",
                "max_log_bytes: \"lots\" is not a size",
            ),
            ("max_line_bytes = \"1TiB\"\n", "units: B, KiB, MiB, GiB"),
            (
                "max_line_bytes = 1.5\n",
                "max_line_bytes: 1.5 is not a size",
            ),
            ("pass_database_env = \"yes\"\n", "invalid type"),
        ];
        for (extra, needle) in cases {
            let err = command_spec(extra).expect_err(extra);
            assert_eq!(err.line, Some(4), "{extra}: {err}");
            assert!(err.reason.contains(needle), "{extra}: {err}");
        }
        let err = check("[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\nmax_log_bytes = 10\n")
            .unwrap_err();
        assert!(
            err.reason
                .contains("max_log_bytes only applies to a command"),
            "{err}"
        );
    }

    #[test]
    fn http_entrypoints() {
        let m = check(
            "[[entrypoint]]\nname = \"mail\"\nurl = \"https://mailer.internal/jobs\"\ntimeout = \"5s\"\nheaders = { Authorization = \"Bearer ${MAILER_TOKEN}\" }\nca_file = \"ca.pem\"\nmax_attempts = 2\n",
        )
        .unwrap();
        match &m.entrypoints[0].executor {
            EntrypointExecutor::Http(h) => {
                assert_eq!(h.url.as_str(), "https://mailer.internal/jobs");
                assert_eq!(h.timeout, Some(Duration::from_secs(5)));
                assert_eq!(h.headers["Authorization"], "Bearer ${MAILER_TOKEN}");
                assert_eq!(h.ca_file, Some(PathBuf::from("ca.pem")));
            }
            other => panic!("{other:?}"),
        }
        let cases = [
            ("url = \"ftp://x/\"\n", "http:// or https://"),
            ("url = \"not a url\"\n", "url:"),
            ("url = \"http://x/\"\nbuiltin = \"noop\"\n", "choose one"),
            (
                "url = \"http://x/\"\nkill_grace = 1\n",
                "only applies to a command",
            ),
            ("url = \"http://x/\"\ntimeout = 0\n", "more than zero"),
            (
                "url = \"http://x/\"\nheaders = { \"PGQ-Job-Id\" = \"1\" }\n",
                "set by the worker",
            ),
            (
                "url = \"http://x/\"\nheaders = { X = \"${OPEN\" }\n",
                "no closing",
            ),
            (
                "builtin = \"noop\"\nheaders = { X = \"1\" }\n",
                "only applies to a url",
            ),
        ];
        for (extra, needle) in cases {
            let err = check(&format!("[[entrypoint]]\nname = \"a\"\n{extra}")).expect_err(extra);
            assert!(err.reason.contains(needle), "{extra}: {err}");
            assert!(err.line.is_some(), "{extra}: {err}");
        }
        let err = check(
            "[[schedule]]\nentrypoint = \"a\"\nexpression = \"@hourly\"\nurl = \"http://x/\"\n",
        )
        .unwrap_err();
        assert!(err.reason.contains("unknown field"), "{err}");
    }
}
