//! A real PgBouncer (Debian's, /usr/sbin/pgbouncer) in front of the test
//! server, on a free port with a generated ini: trust authentication, one
//! pool mode, a small pool. As root it drops to the `postgres` user (it
//! refuses to run as root). Dropping it stops the process and removes its
//! directory, also when a test fails. No PgBouncer is a failure, not a skip:
//! `.ci/run` installs it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestDb;

const BINARY: &str = "/usr/sbin/pgbouncer";

pub struct Pooler {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    /// Server connections PgBouncer opens at most.
    pub pool_size: u32,
    database: String,
}

/// How the pooler hands server connections out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    Session,
    Transaction,
}

impl Pooler {
    /// PgBouncer in transaction mode with `pool_size` server connections for `db`.
    pub fn transaction(db: &TestDb, pool_size: u32) -> Pooler {
        Pooler::start(db, PoolMode::Transaction, pool_size)
    }

    pub fn start(db: &TestDb, mode: PoolMode, pool_size: u32) -> Pooler {
        assert!(
            std::path::Path::new(BINARY).is_file(),
            "{BINARY} is missing: install PgBouncer (apt-get install -y pgbouncer; .ci/run does)"
        );
        let admin = url::Url::parse(&super::admin_dsn()).expect("PGQ_TEST_DSN must be a URI");
        let server_host = admin.host_str().unwrap_or("127.0.0.1").to_string();
        let server_port = admin.port().unwrap_or(5432);
        let dir =
            std::env::temp_dir().join(format!("pgq-pgbouncer-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).expect("pgbouncer directory");
        let mode = match mode {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        };
        // A port can be taken between choosing and binding it: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let ini = dir.join("pgbouncer.ini");
            let users = dir.join("users.txt");
            std::fs::write(&users, "\"postgres\" \"\"\n").expect("userlist");
            std::fs::write(
                &ini,
                format!(
                    "[databases]\n\
                     {db} = host={server_host} port={server_port} dbname={db}\n\
                     [pgbouncer]\n\
                     listen_addr = 127.0.0.1\n\
                     listen_port = {port}\n\
                     unix_socket_dir =\n\
                     auth_type = trust\n\
                     auth_file = {users}\n\
                     pool_mode = {mode}\n\
                     default_pool_size = {pool_size}\n\
                     max_client_conn = 200\n\
                     ignore_startup_parameters = extra_float_digits,options\n\
                     server_reset_query =\n",
                    db = db.name,
                    users = users.display(),
                ),
            )
            .expect("pgbouncer.ini");
            let log = dir.join("pgbouncer.log");
            let mut cmd = Command::new(BINARY);
            if is_root() {
                set_mode(&dir, 0o755);
                for file in [&ini, &users] {
                    set_mode(file, 0o644);
                }
                cmd.args(["-u", "postgres"]);
            }
            let child = cmd
                .arg(&ini)
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).expect("log file"))
                .stderr(Stdio::from(
                    std::fs::File::options()
                        .append(true)
                        .open(&log)
                        .expect("log file"),
                ))
                .spawn()
                .unwrap_or_else(|e| panic!("starting {BINARY}: {e}"));
            let mut pooler = Pooler {
                child,
                dir: dir.clone(),
                port,
                pool_size,
                database: db.name.clone(),
            };
            if pooler.wait_ready(Duration::from_secs(10)) {
                return pooler;
            }
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
            let _ = pooler.child.kill();
            let _ = pooler.child.wait();
            // Dropping would remove the directory the next attempt reuses.
            std::mem::forget(pooler);
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("pgbouncer did not start:\n{last_log}");
    }

    /// The DSN of the test database through the pooler.
    pub fn dsn(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.port, self.database
        )
    }

    /// What PgBouncer logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    /// Accepting on its port and passing a query through to the server.
    fn wait_ready(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let answered = Command::new("psql")
                .arg(self.dsn())
                .args(["-Atqc", "SELECT 1"])
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|o| o.status.success());
            if answered {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Pooler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}
