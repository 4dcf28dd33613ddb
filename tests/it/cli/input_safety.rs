//! Names, messages, passwords and read-only sessions: reserved words refused
//! before connecting, a non-PostgreSQL port and a role without privileges
//! named as such, no colour codes in piped diagnostics, a warning for a
//! password on the command line, and read-only mode enforced by the server.

use crate::common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::time::{Duration, Instant};

use common::{TestDb, admin_dsn, assert_exit, pgq_cmd, stderr, stdout};

/// A login role for one test, dropped when the guard goes. Declare it
/// before the `TestDb` so the database (holding its grants) is dropped first.
struct TestRole {
    name: String,
}

impl TestRole {
    async fn new() -> TestRole {
        let name = format!("pgq_r_{}", uuid::Uuid::new_v4().simple());
        admin(&format!("CREATE ROLE {name} LOGIN")).await;
        TestRole { name }
    }

    /// The test database's DSN, logging in as this role.
    fn dsn(&self, db: &TestDb) -> String {
        let mut url = url::Url::parse(&db.dsn()).expect("test DSN is a URI");
        url.set_username(&self.name).expect("user in URI");
        url.to_string()
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        let sql = format!("DROP ROLE IF EXISTS {}", self.name);
        // Own thread and runtime: Drop may run inside a test's runtime.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(async {
                    let client = common::connect(&admin_dsn()).await;
                    let _ = client.batch_execute(&sql).await;
                });
        })
        .join();
    }
}

async fn admin(sql: &str) {
    let client = common::connect(&admin_dsn()).await;
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

// ---- item 10: reserved words ------------------------------------------

#[tokio::test]
async fn reserved_words_are_refused_as_names_before_connecting() {
    // Nothing listens on port 1: a name error must come before any connect.
    let nowhere = [("PGDSN", "postgres://postgres@127.0.0.1:1/db")];
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec!["--schema", "user", "install"],
            vec![],
            "schema \"user\"",
        ),
        (
            vec!["--schema", "select", "verify", "--expect", "present"],
            vec![],
            "schema \"select\"",
        ),
        (
            vec!["--schema", "USER", "upgrade", "--plan"],
            vec![],
            "schema \"user\"",
        ),
        (
            vec!["install"],
            vec![("PGQUEUER_QUEUE_TABLE", "user")],
            "queue_table \"user\"",
        ),
        (
            vec!["install"],
            vec![("PGQUEUER_QUEUE_STATUS_TYPE", "int")],
            "queue_status_type \"int\"",
        ),
        (
            vec!["install"],
            vec![("PGQUEUER_FUNCTION", "values")],
            "function \"values\"",
        ),
        (
            vec!["sql", "install"],
            vec![("TRIGGER", "left")],
            "trigger \"left\"",
        ),
    ];
    for (args, env, needle) in cases {
        let env: Vec<(&str, &str)> = nowhere.iter().copied().chain(env).collect();
        let out = pgq_cmd(&args, &env).output().unwrap();
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(err.contains("reserved word"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(!err.contains("syntax error"), "{err}");
        assert_eq!(stdout(&out), "");
    }
    // Unreserved key words and ordinary names still work.
    let db = TestDb::new();
    let out = db.pgq(&["--schema", "action", "install"]);
    assert_exit(&out, 0);
    let out = db.pgq(&["--schema", "action", "verify", "--expect", "present"]);
    assert_exit(&out, 0);
}

/// What Python PGQueuer 1.6.0 does with the same name: it splices names
/// unquoted too, so it fails, with the raw syntax error. Refusing up front is
/// the consistent choice: both tools must name the same objects.
#[tokio::test]
async fn python_pgqueuer_also_fails_on_a_reserved_schema() {
    let db = TestDb::new();
    let out = db.python_pgq(&["--schema", "user", "install"], &[]);
    assert!(!out.status.success(), "python accepted --schema user");
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("syntax error at or near \"user\""), "{text}");
    let client = db.client().await;
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgqueuer%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}

// ---- item 11a: a service that is not PostgreSQL ---------------------------

/// A TCP service on 127.0.0.1 that answers every connection with `reply`
/// and closes its side, then waits for the client to close (so the client
/// reads the reply and an end of stream, never a reset).
fn fake_service(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut request = [0u8; 8];
                let _ = stream.read_exact(&mut request);
                let _ = stream.write_all(reply);
                let _ = stream.shutdown(Shutdown::Write);
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest);
            });
        }
    });
    port
}

#[test]
fn a_port_that_does_not_speak_postgresql_is_named() {
    let replies: [&'static [u8]; 3] = [
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        // Starts with the 'S' that means "TLS, yes" to a PostgreSQL client.
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"",
    ];
    for reply in replies {
        let port = fake_service(reply);
        for sslmode in ["prefer", "disable"] {
            let dsn = format!("postgres://postgres@127.0.0.1:{port}/db?sslmode={sslmode}");
            let out = pgq_cmd(&["verify", "--expect", "present"], &[("PGDSN", &dsn)])
                .output()
                .unwrap();
            assert_exit(&out, 1);
            let err = stderr(&out);
            let what = format!("{:?} sslmode={sslmode}", String::from_utf8_lossy(reply));
            assert!(
                err.contains(&format!(
                    "the server at 127.0.0.1:{port} did not answer as PostgreSQL"
                )),
                "{what}: {err}"
            );
            assert_eq!(err.lines().count(), 1, "{what}: {err}");
        }
    }
}

// ---- item 11b: a role without privileges ---------------------------------

#[tokio::test]
async fn verify_and_upgrade_plan_say_the_role_lacks_privileges() {
    let role = TestRole::new().await;
    let db = TestDb::installed();
    let dsn = role.dsn(&db);
    let as_role = [("PGDSN", dsn.as_str())];
    for args in [
        vec!["verify", "--expect", "present"],
        vec!["verify", "--expect", "absent"],
        vec!["upgrade", "--plan"],
    ] {
        let out = pgq_cmd(&args, &as_role).output().unwrap();
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "role \"{}\" lacks privileges on the PgQueuer installation",
                role.name
            )),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(
                "SELECT on tables pgqueuer, pgqueuer_log, pgqueuer_schedules, pgqueuer_statistics"
            ),
            "{args:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!stdout(&out).contains("missing table"), "{}", stdout(&out));
        assert!(!err.contains("up to date"), "{err}");
    }

    // Only what is still missing is named: here the schema, then one table.
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "CREATE SCHEMA jobs;
             REVOKE ALL ON SCHEMA jobs FROM PUBLIC;
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
             REVOKE SELECT ON pgqueuer_log FROM {role};",
            role = role.name
        ))
        .await
        .unwrap();
    assert_exit(&db.pgq(&["--schema", "jobs", "install"]), 0);
    let out = pgq_cmd(&["--schema", "jobs", "upgrade", "--plan"], &as_role)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(": USAGE on schema jobs; SELECT on tables pgqueuer, "),
        "{}",
        stderr(&out)
    );
    let out = pgq_cmd(&["verify", "--expect", "present"], &as_role)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(": SELECT on table pgqueuer_log ("),
        "{}",
        stderr(&out)
    );

    // Reading is enough (a monitoring role): both commands succeed.
    client
        .batch_execute(&format!("GRANT SELECT ON pgqueuer_log TO {}", role.name))
        .await
        .unwrap();
    let out = pgq_cmd(&["verify", "--expect", "present"], &as_role)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let out = pgq_cmd(&["upgrade", "--plan"], &as_role).output().unwrap();
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("already up to date"),
        "{}",
        stderr(&out)
    );
}

// ---- item 11c: colour only on a terminal -----------------------------------

/// A password file that libpq (and pgq) ignore with a warning: world-readable.
fn insecure_passfile(dir: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("pgpass");
    std::fs::write(&path, "*:*:*:*:unused\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    path.to_str().unwrap().to_string()
}

/// Run `pgq` with stdin, stdout and stderr on a pseudo-terminal; everything
/// it wrote, once it exits.
fn pgq_on_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("open a pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_pgq"));
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy().to_ascii_uppercase();
        if k.starts_with("PG") || k == "NO_COLOR" {
            cmd.env_remove(&key);
        }
    }
    cmd.env("TERM", "xterm-256color");
    cmd.env(
        "PGQ_STATE_DIR",
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgq-state"),
    );
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = pair.slave.spawn_command(cmd).expect("spawn pgq in a pty");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().unwrap();
    let collected = std::thread::spawn(move || {
        let mut out = Vec::new();
        // Ends with EOF or EIO once the child has exited.
        let _ = reader.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "pgq did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(pair.master);
    String::from_utf8_lossy(&collected.join().unwrap()).into_owned()
}

#[test]
fn pgpass_warning_is_coloured_only_on_a_terminal_without_no_color() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let passfile = insecure_passfile(dir.path());
    let args = ["verify", "--expect", "absent"];
    let warning = "has group or world access";

    // Piped stderr: the warning, in plain text.
    let out = db.pgq_env(&args, &[("PGPASSFILE", &passfile)]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains(warning), "{err}");
    assert!(!err.contains('\x1b'), "escape codes in a pipe: {err:?}");

    // A terminal: coloured, unless NO_COLOR is set.
    let dsn = db.dsn();
    let env = [("PGDSN", dsn.as_str()), ("PGPASSFILE", passfile.as_str())];
    let text = pgq_on_terminal(&args, &env);
    assert!(text.contains(warning), "{text:?}");
    assert!(text.contains('\x1b'), "no colour on a terminal: {text:?}");
    let env = [
        ("PGDSN", dsn.as_str()),
        ("PGPASSFILE", passfile.as_str()),
        ("NO_COLOR", "1"),
    ];
    let text = pgq_on_terminal(&args, &env);
    assert!(text.contains(warning), "{text:?}");
    assert!(!text.contains('\x1b'), "colour despite NO_COLOR: {text:?}");
}

// ---- item 12: a password on the command line -------------------------------

#[test]
fn a_password_in_the_dsn_argument_is_warned_about_once() {
    let db = TestDb::installed();
    let mut url = url::Url::parse(&db.dsn()).unwrap();
    url.set_password(Some("hunter2")).unwrap();
    let with_password = url.to_string();
    let needle = "the password in --dsn is visible to other local users";

    // Any command, JSON or not, one or several connections: one warning, on
    // stderr, never showing the password.
    for args in [
        vec!["--json", "backlog"],
        vec!["verify", "--expect", "present"],
        vec!["sql", "install"],
    ] {
        let mut full = vec!["--dsn", with_password.as_str()];
        full.extend(&args);
        let out = db.pgq(&full);
        assert_exit(&out, 0);
        let err = stderr(&out);
        assert_eq!(err.matches(needle).count(), 1, "{args:?}: {err}");
        assert!(err.contains("PGPASSWORD") && err.contains("PGDSN"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(!stdout(&out).contains(needle), "{args:?}");
    }
    let out = db.pgq(&["--dsn", &with_password, "queue", "probe"]);
    assert_exit(&out, 0);
    assert_eq!(stderr(&out).matches(needle).count(), 1, "{}", stderr(&out));

    // The same DSN from the environment or a context is not on the command line.
    let out = db.pgq_env(&["--json", "backlog"], &[("PGDSN", &with_password)]);
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains(needle), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[contexts.ci]\ndsn = \"{with_password}\"\n"),
    )
    .unwrap();
    let config_dir = dir.path().to_str().unwrap();
    let out = db.pgq_env(
        &["--context", "ci", "--json", "backlog"],
        &[("PGQ_CONFIG_DIR", config_dir)],
    );
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains(needle), "{}", stderr(&out));
    // A DSN without a password on the command line is fine.
    let out = db.pgq(&["--dsn", &db.dsn(), "--json", "backlog"]);
    assert_exit(&out, 0);
    assert!(!stderr(&out).contains(needle), "{}", stderr(&out));
}

// ---- item 13: read-only sessions enforced by the server --------------------

/// A row-level security policy shows the queue's rows to the role only in
/// a read-only transaction, so what `backlog` reports reveals whether the
/// server ran the command's session read-only.
#[tokio::test]
async fn read_only_commands_run_in_read_only_server_sessions() {
    let role = TestRole::new().await;
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "probe"]), 0);
    db.client()
        .await
        .batch_execute(&format!(
            "GRANT SELECT ON pgqueuer TO {role};
             ALTER TABLE pgqueuer ENABLE ROW LEVEL SECURITY;
             CREATE POLICY only_read_only ON pgqueuer FOR SELECT TO {role}
                 USING (current_setting('transaction_read_only')::bool);",
            role = role.name
        ))
        .await
        .unwrap();
    let dsn = role.dsn(&db);
    let backlog = |args: &[&str], env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("PGDSN", &dsn));
        let out = pgq_cmd(args, &env).output().unwrap();
        assert_exit(&out, 0);
        stdout(&out)
    };

    let read_write = backlog(&["--json", "backlog"], &[]);
    assert!(
        !read_write.contains("probe"),
        "policy not in force: {read_write}"
    );

    let flag = backlog(&["--read-only", "--json", "backlog"], &[]);
    assert!(
        flag.contains("\"probe\""),
        "--read-only session was not read-only: {flag}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        format!("[contexts.ro]\ndsn = \"{dsn}\"\nread_only = true\n"),
    )
    .unwrap();
    let config_dir = dir.path().to_str().unwrap();
    let context = backlog(
        &["--context", "ro", "--json", "backlog"],
        &[("PGQ_CONFIG_DIR", config_dir)],
    );
    assert!(
        context.contains("\"probe\""),
        "read_only context was not read-only: {context}"
    );
}

/// Read-only sessions still run every reading command, including the ones
/// that take the upgrade lock or LISTEN.
#[tokio::test]
async fn reading_commands_work_in_read_only_sessions() {
    let db = TestDb::installed();
    for args in [
        vec!["--read-only", "verify", "--expect", "present", "--strict"],
        vec!["--read-only", "upgrade", "--plan"],
        vec!["--read-only", "--json", "dashboard"],
        vec!["--read-only", "--json", "schedules"],
    ] {
        let out = db.pgq(&args);
        assert_exit(&out, 0);
    }
    let listener = db.spawn_pgq(&["--read-only", "--json", "listen"], &[]);
    let wait = Duration::from_secs(20);
    assert!(!db.wait_for_listener(wait).await.is_empty(), "no LISTEN");
    db.client()
        .await
        .batch_execute("SELECT pg_notify('ch_pgqueuer', 'read-only probe')")
        .await
        .unwrap();
    assert!(
        listener
            .stdout_line(wait, |l| l.contains("read-only probe"))
            .is_some(),
        "the read-only listener received nothing"
    );
    // A write is still refused, by the action layer, with its own message.
    let out = db.pgq(&["--read-only", "queue", "probe"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
}

/// A worker only writes, so read-only mode refuses `run` before it takes a
/// job (it used to run the worker as if the flag were not there).
#[tokio::test]
async fn run_is_refused_in_read_only_mode() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "probe"]), 0);
    let manifest = common::manifest_file("[[entrypoint]]\nname = \"probe\"\nbuiltin = \"noop\"\n");
    let path = manifest.path().to_str().unwrap();
    let out = db.pgq(&["--read-only", "--headless", "run", path, "--mode", "drain"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    let queued: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(queued, 1, "the job was taken");
}
