//! A throwaway PostgreSQL cluster for `pgq demo` when no server answers:
//! `initdb` into a temporary directory, `pg_ctl start` on a free port
//! (Unix socket in the same directory), and on drop `pg_ctl stop` and the
//! directory removed. PostgreSQL refuses to run as root, so as root the
//! cluster runs as the `postgres` system user.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server answered and no server binaries (initdb, pg_ctl) were found on PATH \
         or under /usr/lib/postgresql/*/bin; install PostgreSQL (e.g. apt install postgresql) \
         or point pgq at a server with --dsn"
    )]
    NoBinaries,
    #[error(
        "pgq demo runs as root and PostgreSQL refuses to: create the system user 'postgres' \
         (useradd --system postgres) or run the demo as an ordinary user"
    )]
    NoPostgresUser,
    #[error("{step} failed: {detail}")]
    Step { step: &'static str, detail: String },
}

pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    run_as: Option<&'static str>,
    keep_dir: bool,
}

/// The directory holding `initdb` and `pg_ctl`: PATH first, else the
/// newest `/usr/lib/postgresql/<version>/bin`.
pub fn find_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_both(&dir) {
                // Resolve symlinks so postgres finds its share/ and lib/.
                let real = std::fs::canonicalize(dir.join("initdb"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .unwrap_or(dir);
                return Some(real);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_both(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> Result<u16, ClusterError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ClusterError::Step {
            step: "finding a free port",
            detail: e.to_string(),
        })
}

impl Cluster {
    /// Create and start a cluster; blocks for the few seconds initdb takes.
    pub fn start() -> Result<Cluster, ClusterError> {
        let bin = find_binaries().ok_or(ClusterError::NoBinaries)?;
        let run_as = if is_root() {
            let exists = Command::new("id")
                .arg("-u")
                .arg("postgres")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !exists {
                return Err(ClusterError::NoPostgresUser);
            }
            Some("postgres")
        } else {
            None
        };
        let dir = std::env::temp_dir().join(format!("pgq-demo-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).map_err(|e| ClusterError::Step {
            step: "creating the cluster directory",
            detail: e.to_string(),
        })?;
        let cluster = Cluster {
            bin,
            dir,
            port: free_port()?,
            run_as,
            keep_dir: false,
        };
        if let Some(user) = run_as {
            cluster.run(
                "handing the directory to postgres",
                Command::new("chown").arg(user).arg(&cluster.dir),
                false,
            )?;
        }
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            Command::new(cluster.bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]),
            true,
        )?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            cluster.port,
            cluster.dir.display()
        );
        cluster.run(
            "pg_ctl start",
            Command::new(cluster.bin.join("pg_ctl"))
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(cluster.dir.join("server.log"))
                .arg("-o")
                .arg(options)
                .args(["-w", "-t", "30", "start"]),
            true,
        )?;
        Ok(cluster)
    }

    /// Stop the server but keep its directory (`pgq demo --keep`), and say
    /// how to start it again.
    pub fn keep(mut self) {
        self.keep_dir = true;
        crate::output::status(&format!(
            "demo: the throwaway cluster's data is kept in {dir}; start it again with: \
             {pg_ctl} -D {dir}/data -o '-p {port} -k {dir}' start",
            dir = self.dir.display(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            port = self.port,
        ));
    }

    pub fn dsn(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn run(
        &self,
        step: &'static str,
        command: &mut Command,
        as_cluster_user: bool,
    ) -> Result<(), ClusterError> {
        let mut command = match (as_cluster_user, self.run_as) {
            (true, Some(user)) => {
                let mut wrapped = Command::new("runuser");
                wrapped
                    .arg("-u")
                    .arg(user)
                    .arg("--")
                    .arg(command.get_program())
                    .args(command.get_args());
                wrapped
            }
            _ => std::mem::replace(command, Command::new("true")),
        };
        let out = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| ClusterError::Step {
                step,
                detail: e.to_string(),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            Err(ClusterError::Step { step, detail })
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.exists() {
            let _ = self.run(
                "pg_ctl stop",
                Command::new(self.bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .args(["-m", "immediate", "-w", "stop"]),
                true,
            );
        }
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
