//! A throwaway primary and a hot standby of it, for tests that need a real
//! read replica: `initdb` a dedicated primary on a free port (the shared
//! test server is big and busy), `pg_basebackup -R` it into a standby, and
//! start that on another free port. Both run as the `postgres` system user
//! when the tests run as root (PostgreSQL refuses root). Dropping the pair
//! stops both servers and removes their directory, also when a test fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct ReplicaPair {
    bin: PathBuf,
    dir: PathBuf,
    pub primary_port: u16,
    pub standby_port: u16,
    run_as: Option<&'static str>,
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

impl ReplicaPair {
    /// Start both servers; `Err` says why a replica cannot be had here
    /// (no server binaries, replication refused, …) so the test can skip.
    pub fn start() -> Result<ReplicaPair, String> {
        let bin = pgq::commands::demo::cluster::find_binaries()
            .ok_or("no PostgreSQL server binaries (initdb, pg_ctl) found")?;
        if !bin.join("pg_basebackup").is_file() {
            return Err(format!("no pg_basebackup in {}", bin.display()));
        }
        let run_as = is_root().then_some("postgres");
        let dir = std::env::temp_dir().join(format!(
            "pgq-standby-test-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        // From here on, Drop cleans up whatever was started.
        let pair = ReplicaPair {
            bin,
            dir,
            primary_port: free_port(),
            standby_port: free_port(),
            run_as,
        };
        if let Some(user) = run_as {
            run(Command::new("chown").arg(user).arg(&pair.dir))?;
        }
        let primary = pair.dir.join("primary");
        pair.as_cluster_user(
            Command::new(pair.bin.join("initdb"))
                .arg("-D")
                .arg(&primary)
                // trust for replication too, from 127.0.0.1 and the socket.
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
        )?;
        pair.pg_ctl_start(&primary, pair.primary_port, "-c wal_level=replica")?;
        let standby = pair.dir.join("standby");
        pair.as_cluster_user(
            Command::new(pair.bin.join("pg_basebackup"))
                .args(["-h", "127.0.0.1", "-U", "postgres", "-R", "-X", "stream"])
                .arg("-p")
                .arg(pair.primary_port.to_string())
                .arg("-D")
                .arg(&standby),
        )
        .map_err(|e| format!("replication is not allowed here: {e}"))?;
        pair.pg_ctl_start(&standby, pair.standby_port, "")?;
        Ok(pair)
    }

    fn pg_ctl_start(&self, data: &Path, port: u16, extra: &str) -> Result<(), String> {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off {extra}",
            self.dir.display()
        );
        self.as_cluster_user(
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(data)
                .arg("-l")
                .arg(data.with_extension("log"))
                .arg("-o")
                .arg(options)
                .args(["-w", "-t", "60", "start"]),
        )
    }

    fn as_cluster_user(&self, command: &mut Command) -> Result<(), String> {
        match self.run_as {
            Some(user) => run(Command::new("runuser")
                .arg("-u")
                .arg(user)
                .arg("--")
                .arg(command.get_program())
                .args(command.get_args())),
            None => run(command),
        }
    }

    pub fn primary_dsn(&self) -> String {
        dsn(self.primary_port)
    }

    pub fn standby_dsn(&self) -> String {
        dsn(self.standby_port)
    }

    /// One statement on the primary through psql; its output, trimmed.
    pub fn primary_sql(&self, sql: &str) -> String {
        self.psql(self.primary_port, sql)
    }

    pub fn standby_sql(&self, sql: &str) -> String {
        self.psql(self.standby_port, sql)
    }

    fn psql(&self, port: u16, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-Atc",
            ])
            .arg(sql)
            .arg("-p")
            .arg(port.to_string())
            .env_remove("PGDATABASE")
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql -p {port} -c {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Wait until the standby has replayed everything the primary wrote so far.
    #[track_caller]
    pub fn wait_replayed(&self) {
        let lsn = self.primary_sql("SELECT pg_current_wal_lsn()");
        let sql = format!("SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn");
        let start = Instant::now();
        while self.standby_sql(&sql) != "t" {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the standby did not replay up to {lsn} within 30s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `pg_ctl promote`: the standby becomes a primary of its own.
    pub fn promote(&self) {
        self.as_cluster_user(
            Command::new(self.bin.join("pg_ctl"))
                .arg("-D")
                .arg(self.dir.join("standby"))
                .args(["-w", "-t", "60", "promote"]),
        )
        .expect("pg_ctl promote");
    }
}

impl Drop for ReplicaPair {
    fn drop(&mut self) {
        for data in ["standby", "primary"] {
            let data = self.dir.join(data);
            if data.join("PG_VERSION").exists() {
                let _ = self.as_cluster_user(
                    Command::new(self.bin.join("pg_ctl"))
                        .arg("-D")
                        .arg(&data)
                        .args(["-m", "immediate", "-w", "stop"]),
                );
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dsn(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable")
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{:?}: {e}", command.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed: {}",
            command.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
