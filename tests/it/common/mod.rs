//! Shared test harness: a real PostgreSQL, one fresh database per test, the
//! real `pgq` binary, and the real Python `pgqueuer==1.6.0` in a venv that the
//! tests create themselves.
#![allow(dead_code)]

pub mod console;
pub mod pooler;
pub mod pty;
pub mod standby;
mod template;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio_postgres::{Client, NoTls};

/// Admin DSN of the test server.
pub fn admin_dsn() -> String {
    std::env::var("PGQ_TEST_DSN")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// Make sure the server answers; start the Debian cluster if it does not.
pub fn ensure_server() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let url = url::Url::parse(&admin_dsn()).expect("PGQ_TEST_DSN must be a URI");
        let host = url.host_str().unwrap_or("127.0.0.1").to_string();
        let port = url.port().unwrap_or(5432);
        let up = || {
            TcpStream::connect_timeout(
                &format!("{host}:{port}")
                    .parse()
                    .expect("numeric host in PGQ_TEST_DSN"),
                Duration::from_secs(1),
            )
            .is_ok()
        };
        if up() {
            return;
        }
        let versions = std::fs::read_dir("/etc/postgresql").expect("PostgreSQL is not installed");
        for version in versions.flatten() {
            let _ = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect"])
                .arg(version.file_name())
                .args(["main", "start"])
                .status();
        }
        for _ in 0..50 {
            if up() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("PostgreSQL at {host}:{port} did not come up");
    });
}

pub async fn connect(dsn: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(dsn, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {dsn}: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

pub(crate) fn run_admin(sql: String) {
    // Own thread and runtime: usable from Drop and from inside other runtimes.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let client = connect(&admin_dsn()).await;
            client
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    })
    .join()
    .expect("admin thread");
}

/// A database created for one test and dropped when the test ends.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    /// An empty database: for tests that install with options of their own,
    /// install an old release, or check what happens without a schema.
    pub fn new() -> Self {
        ensure_server();
        let name = format!("pgq_t_{}", uuid::Uuid::new_v4().simple());
        run_admin(format!("CREATE DATABASE {name}"));
        TestDb { name }
    }

    /// A database holding exactly what a plain `pgq install` leaves, cloned
    /// from a template (a file copy is much cheaper than running the DDL in
    /// every test).
    pub fn installed() -> Self {
        ensure_server();
        let template = template::installed();
        let name = format!("pgq_t_{}", uuid::Uuid::new_v4().simple());
        run_admin(format!("CREATE DATABASE {name} TEMPLATE {template}"));
        TestDb { name }
    }

    pub fn dsn(&self) -> String {
        let mut url = url::Url::parse(&admin_dsn()).expect("PGQ_TEST_DSN must be a URI");
        url.set_path(&self.name);
        url.to_string()
    }

    pub async fn client(&self) -> Client {
        connect(&self.dsn()).await
    }

    /// Run the real `pgq` binary against this database.
    pub fn pgq(&self, args: &[&str]) -> Output {
        self.pgq_env(args, &[])
    }

    pub fn pgq_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        pgq_cmd(args, env)
            .env("PGDSN", self.dsn())
            .output()
            .expect("run pgq")
    }

    /// Run Python PGQueuer 1.6.0's `pgq` against this database.
    pub fn python_pgq(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(python_venv().join("bin/pgq"));
        clean_env(&mut cmd);
        cmd.args(args).env("PGDSN", self.dsn());
        for (k, v) in env.iter().filter(|(_, v)| !v.is_empty()) {
            cmd.env(k, v);
        }
        cmd.output().expect("run python pgq")
    }

    /// Run a Python snippet with the venv's interpreter; `PGDSN` points here.
    pub fn python(&self, script: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(python_venv().join("bin/python"));
        clean_env(&mut cmd);
        cmd.arg("-c").arg(script).env("PGDSN", self.dsn());
        for (k, v) in env.iter().filter(|(_, v)| !v.is_empty()) {
            cmd.env(k, v);
        }
        cmd.output().expect("run python")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::panic::catch_unwind(|| {
            run_admin(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        });
    }
}

/// Settings leaking in from the developer's shell must not change test results.
fn clean_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_ascii_uppercase();
        let ours = key.starts_with("PGQUEUER_")
            || key.starts_with("PG") && key != "PGQ_TEST_DSN"
            || matches!(
                key.as_str(),
                "QUEUE_TABLE"
                    | "QUEUE_TABLE_LOG"
                    | "STATISTICS_TABLE"
                    | "SCHEDULES_TABLE"
                    | "QUEUE_STATUS_TYPE"
                    | "FUNCTION"
                    | "TRIGGER"
                    | "CHANNEL"
                    | "DURABILITY"
                    | "WIDEN_ID"
                    | "DB_SCHEMA"
            );
        if ours {
            cmd.env_remove(&key);
        }
    }
    cmd.stdin(Stdio::null());
}

pub fn pgq_cmd(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgq"));
    clean_env(&mut cmd);
    // Changes made by tests are audited here, not in the home directory of
    // whoever runs them; a test that reads its audit log passes its own.
    cmd.env(
        "PGQ_STATE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgq-state"),
    );
    cmd.args(args);
    // An empty value means "unset" (Python PGQueuer rejects an empty schema).
    for (k, v) in env.iter().filter(|(_, v)| !v.is_empty()) {
        cmd.env(k, v);
    }
    cmd
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert an exit code, showing both streams when it is wrong.
#[track_caller]
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status\n--- stdout\n{}\n--- stderr\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The venv with Python PGQueuer 1.6.0 (typer pinned to 0.19.2, the version
/// PGQueuer locks; newer typer breaks `pgq run`). Created once, shared by all
/// test processes under a file lock.
pub fn python_venv() -> PathBuf {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgqueuer-1.6.0-venv");
        let ready = dir.join(".ready");
        let lock_path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgqueuer-venv.lock");
        let lock = std::fs::File::create(&lock_path).expect("venv lock file");
        lock.lock().expect("lock venv");
        if !ready.exists() {
            let _ = std::fs::remove_dir_all(&dir);
            let status = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&dir)
                .status()
                .expect("python3 -m venv");
            assert!(status.success(), "creating the venv failed");
            let out = Command::new(dir.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "pgqueuer==1.6.0",
                    "asyncpg",
                    "typer==0.19.2",
                ])
                .output()
                .expect("pip install");
            assert!(
                out.status.success(),
                "pip install pgqueuer==1.6.0 failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::write(&ready, "").expect("mark venv ready");
        }
        let _ = lock.unlock();
        dir
    })
    .clone()
}

/// A canonical, comparable description of every PGQueuer-relevant catalog fact
/// in `schema` (tables, columns, persistence, constraints, indexes, sequences,
/// enum labels, triggers), one line each, sorted. Function bodies are left out:
/// pgq writes its own body (same behaviour), PGQueuer writes another.
pub async fn catalog_dump(client: &Client, schema: &str) -> Vec<String> {
    let sql = r#"
    WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1)
    SELECT 'table ' || c.relname || ' ' || c.relpersistence::text
      FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind = 'r'
    UNION ALL
    SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = (SELECT oid FROM ns) AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'constraint ' || c.relname || ' ' || k.contype::text || ' ' || pg_get_constraintdef(k.oid)
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(x.indexrelid)
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
     WHERE i.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT 'sequence ' || t.relname || ' ' || format_type(s.seqtypid, NULL) || ' ' || seq.relpersistence::text
      FROM pg_depend d JOIN pg_class seq ON seq.oid = d.objid AND seq.relkind = 'S'
      JOIN pg_sequence s ON s.seqrelid = seq.oid JOIN pg_class t ON t.oid = d.refobjid
     WHERE d.deptype IN ('a', 'i') AND t.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
      FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
     WHERE t.typnamespace = (SELECT oid FROM ns) GROUP BY t.typname
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(g.oid)
      FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
     WHERE NOT g.tgisinternal AND c.relnamespace = (SELECT oid FROM ns)
    UNION ALL
    SELECT 'function ' || p.proname || ' ' || pg_get_function_result(p.oid)
      FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM ns)
    "#;
    let mut lines: Vec<String> = client
        .query(sql, &[&schema])
        .await
        .expect("catalog dump")
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    lines.sort();
    lines
}

/// PGQueuer 1.6.0's source distribution, downloaded from PyPI at test time (its
/// files are never committed here) and unpacked once under a file lock.
pub fn pgqueuer_sdist() -> PathBuf {
    static SDIST: OnceLock<PathBuf> = OnceLock::new();
    SDIST
        .get_or_init(|| {
            let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgqueuer-1.6.0-sdist");
            let root = base.join("pgqueuer-1.6.0");
            let lock = std::fs::File::create(
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgqueuer-sdist.lock"),
            )
            .expect("sdist lock");
            lock.lock().expect("lock sdist");
            if !root.join("test/schema_releases").is_dir() {
                std::fs::create_dir_all(&base).expect("sdist dir");
                let out = Command::new(python_venv().join("bin/pip"))
                    .args(["download", "--quiet", "--no-binary", ":all:", "--no-deps"])
                    .args(["pgqueuer==1.6.0", "-d"])
                    .arg(&base)
                    .output()
                    .expect("pip download");
                assert!(
                    out.status.success(),
                    "pip download: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let status = Command::new("tar")
                    .arg("xzf")
                    .arg(base.join("pgqueuer-1.6.0.tar.gz"))
                    .arg("-C")
                    .arg(&base)
                    .status()
                    .expect("tar");
                assert!(status.success(), "unpacking the sdist failed");
            }
            let _ = lock.unlock();
            root
        })
        .clone()
}

/// A long-running `pgq` child (e.g. `listen`) whose stdout and stderr lines
/// arrive on channels, so tests can wait for a line with a deadline.
pub struct Spawned {
    pub child: std::process::Child,
    pub stdout: std::sync::mpsc::Receiver<String>,
    pub stderr: std::sync::mpsc::Receiver<String>,
}

fn forward_lines(stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl TestDb {
    /// `pgq --json queue ARGS…` (entrypoint, payload, flags) on this
    /// database; the new job's id.
    pub fn enqueue(&self, args: &[&str]) -> i64 {
        let mut all = vec!["--json", "queue"];
        all.extend_from_slice(args);
        let out = self.pgq(&all);
        assert_exit(&out, 0);
        let text = stdout(&out);
        serde_json::from_str::<serde_json::Value>(text.trim())
            .ok()
            .and_then(|v| v["id"].as_i64())
            .unwrap_or_else(|| panic!("no job id in {text:?}"))
    }

    /// A session on this database as a scripted command opens one (the
    /// default names, no audit log), `read_only` or not.
    pub async fn session(&self, read_only: bool) -> pgq::actions::Session {
        use pgq::settings::conn::{ConnectionSettings, Env};
        let settings = ConnectionSettings::resolve(
            Some(&self.dsn()),
            &Env::from_pairs(Vec::<(String, String)>::new()),
        )
        .unwrap();
        let conn = pgq::db::connect::connect(&settings).await.unwrap();
        pgq::actions::Session {
            conn,
            names: pgq::settings::names::ObjectNames::with_prefix("", None).unwrap(),
            target: settings.target(),
            read_only,
            audit: None,
        }
    }
}

impl TestDb {
    /// Start the real `pgq` binary without waiting for it to finish.
    pub fn spawn_pgq(&self, args: &[&str], env: &[(&str, &str)]) -> Spawned {
        self.spawn_prepared(pgq_cmd(args, env))
    }

    /// [`Self::spawn_pgq`] for a [`pgq_cmd`] the test prepared further
    /// (a `pre_exec` that lowers a limit, say).
    pub fn spawn_prepared(&self, mut cmd: Command) -> Spawned {
        cmd.env("PGDSN", self.dsn());
        spawn(cmd)
    }
}

/// Start a prepared command (its own PGDSN, say) without waiting for it.
pub fn spawn(mut cmd: Command) -> Spawned {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pgq");
    let stdout = forward_lines(child.stdout.take().expect("piped stdout"));
    let stderr = forward_lines(child.stderr.take().expect("piped stderr"));
    Spawned {
        child,
        stdout,
        stderr,
    }
}

impl TestDb {
    /// Backend pids in this database running a `LISTEN` (the listener's last
    /// statement, or pgq's own NOTIFY probe, marked `/* pgq */`, sent right
    /// after it; a test's own NOTIFY is not one),
    /// waiting up to `timeout` for at least one.
    pub async fn wait_for_listener(&self, timeout: Duration) -> Vec<i32> {
        let client = self.client().await;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let pids: Vec<i32> = client
                .query(
                    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND (query LIKE 'LISTEN%' OR query LIKE '/* pgq */ SELECT pg_notify%')",
                    &[&self.name],
                )
                .await
                .expect("pg_stat_activity")
                .iter()
                .map(|r| r.get(0))
                .collect();
            if !pids.is_empty() || std::time::Instant::now() > deadline {
                return pids;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl TestDb {
    /// Wait up to `timeout` until no backend in this database is LISTENing;
    /// false if one still is.
    pub async fn wait_for_no_listener(&self, timeout: Duration) -> bool {
        let client = self.client().await;
        wait_for(timeout, || async {
            let listening: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND (query LIKE 'LISTEN%' OR query LIKE '/* pgq */ SELECT pg_notify%')",
                    &[&self.name],
                )
                .await
                .expect("pg_stat_activity")
                .get(0);
            (listening == 0).then_some(())
        })
        .await
        .is_some()
    }
}

impl Spawned {
    /// The next stdout line matching `pred` within `timeout` (other lines are
    /// skipped and returned in the panic message if none matches).
    pub fn stdout_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        wait_line(&self.stdout, timeout, pred)
    }

    pub fn stderr_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        wait_line(&self.stderr, timeout, pred)
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Wait for the exit status, killing the child after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn wait_line(
    rx: &std::sync::mpsc::Receiver<String>,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        match rx.recv_timeout(left) {
            Ok(line) if pred(&line) => return Some(line),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
}

/// The one number `sql` answers (a count); panics with the statement on error.
pub async fn count(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Poll `check` every 50 ms until it yields `Some`, or `None` after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Some(value);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Python scripts the tests run, kept as files in tests/fixtures/ (one
/// copy each, readable and runnable on their own).
pub mod fixtures {
    pub const DRAIN_WORKER: &str = include_str!("../../fixtures/drain_worker.py");
    pub const REGISTER_SCHEDULES: &str = include_str!("../../fixtures/register_schedules.py");
    pub const ENQUEUE_ONE: &str = include_str!("../../fixtures/enqueue_one.py");
    pub const HEALTH_CHECK_WORKER: &str = include_str!("../../fixtures/health_check_worker.py");
    pub const GREET_WORKER: &str = include_str!("../../fixtures/greet_worker.py");
    pub const CHECK_FIRE_TIMES: &str = include_str!("../../fixtures/check_fire_times.py");
    pub const CRON_TABLE: &str = include_str!("../../fixtures/cron_table.py");
    pub const INTEROP_PRELUDE: &str = include_str!("../../fixtures/interop_prelude.py");
}

/// Drain the queue once with a Python PGQueuer 1.6.0 worker serving `eps`
/// (comma-separated); every handler raises when `fail`. Returns the jobs it
/// ran: `{ep, id, payload (bytes as numbers), headers, priority}`.
pub fn python_drain(db: &TestDb, eps: &str, fail: bool) -> Vec<serde_json::Value> {
    let out = db.python(
        fixtures::DRAIN_WORKER,
        &[("EPS", eps), ("FAIL", if fail { "1" } else { "0" })],
    );
    assert!(out.status.success(), "python worker: {}", stderr(&out));
    let last = stdout(&out).lines().last().unwrap_or("[]").to_string();
    serde_json::from_str::<Vec<serde_json::Value>>(&last).unwrap()
}

/// Register `(entrypoint, cron expression)` schedules through Python
/// PGQueuer 1.6.0's SchedulerManager, which then runs for `run_seconds`.
pub fn python_schedules(db: &TestDb, schedules: &[(&str, &str)], run_seconds: &str) -> Output {
    python_schedules_until(db, schedules, run_seconds, "")
}

/// As [`python_schedules`], stopping once `fired`'s schedule has run
/// (`run_seconds` is then the limit; empty `fired`: run the whole time).
pub fn python_schedules_until(
    db: &TestDb,
    schedules: &[(&str, &str)],
    run_seconds: &str,
    fired: &str,
) -> Output {
    let lines: Vec<String> = schedules
        .iter()
        .map(|(ep, expr)| format!("{ep} {expr}"))
        .collect();
    db.python(
        fixtures::REGISTER_SCHEDULES,
        &[
            ("SCHEDULES", &lines.join("\n")),
            ("RUN_SECONDS", run_seconds),
            ("UNTIL_FIRED", fired),
        ],
    )
}

/// A temporary file's path, as a command line takes it.
pub fn path(file: &tempfile::NamedTempFile) -> &str {
    file.path().to_str().expect("utf-8 temp path")
}

/// A worker manifest in a temporary file (deleted when dropped).
pub fn manifest_file(text: &str) -> tempfile::NamedTempFile {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .suffix(".toml")
        .tempfile()
        .expect("temp manifest");
    file.write_all(text.as_bytes()).expect("write manifest");
    file
}

/// `(job_id, status)` of every log row, oldest first.
pub async fn log_statuses(client: &Client) -> Vec<(i64, String)> {
    client
        .query(
            "SELECT job_id, status::text FROM pgqueuer_log ORDER BY id",
            &[],
        )
        .await
        .expect("read the log")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// Wait until the log holds at least `n` `successful` rows.
pub async fn wait_for_successful(client: &Client, n: i64, timeout: Duration) -> bool {
    wait_for(timeout, || async {
        let row = client
            .query_one(
                "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'",
                &[],
            )
            .await
            .expect("count");
        (row.get::<_, i64>(0) >= n).then_some(())
    })
    .await
    .is_some()
}
