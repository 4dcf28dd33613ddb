//! The template database that [`TestDb::installed`](super::TestDb::installed)
//! clones: one per distinct schema, built once and shared by every test
//! thread and every test process on the server.
//!
//! Its name carries a hash of the DDL that `pgq install --dry-run` prints, so
//! a change to the schema (or a branch with another schema on the same
//! server) gets its own template instead of a stale one. An advisory lock
//! makes one process build it while the others wait; the template is marked
//! `IS_TEMPLATE` only once the install succeeded, so a half-built one left by
//! a crashed run is rebuilt.

use std::sync::OnceLock;

use super::{admin_dsn, assert_exit, connect, ensure_server, pgq_cmd};

/// Advisory lock key (any constant no other user of the server takes).
const BUILD_LOCK: i64 = 0x7067_715f_7470_6c31; // "pgq_tpl1"

/// The name of the template holding a plain `pgq install`, built if needed.
pub fn installed() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        ensure_server();
        let ddl = pgq_cmd(&["install", "--dry-run"], &[])
            .output()
            .expect("run pgq install --dry-run");
        assert_exit(&ddl, 0);
        let name = format!(
            "pgq_tpl_{:08x}_{}",
            crc32fast::hash(&ddl.stdout),
            ddl.stdout.len()
        );
        build_once(&name);
        name
    })
}

fn dsn_of(database: &str) -> String {
    let mut url = url::Url::parse(&admin_dsn()).expect("PGQ_TEST_DSN must be a URI");
    url.set_path(database);
    url.to_string()
}

/// Create `name` with the schema unless a complete one exists already.
fn build_once(name: &str) {
    let name = name.to_string();
    // Own thread and runtime: callable from inside a test's runtime.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let admin = connect(&admin_dsn()).await;
            // Held until this connection ends, also if the build panics.
            admin
                .execute("SELECT pg_advisory_lock($1)", &[&BUILD_LOCK])
                .await
                .expect("template build lock");
            let ready: Option<bool> = admin
                .query_opt(
                    "SELECT datistemplate FROM pg_database WHERE datname = $1",
                    &[&name],
                )
                .await
                .expect("look up the template")
                .map(|row| row.get(0));
            if ready == Some(true) {
                return;
            }
            // Two round trips: neither statement runs in a transaction block.
            for sql in [
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                format!("CREATE DATABASE {name}"),
            ] {
                admin
                    .batch_execute(&sql)
                    .await
                    .expect("create the template");
            }
            let out = pgq_cmd(&["install"], &[])
                .env("PGDSN", dsn_of(&name))
                .output()
                .expect("run pgq install");
            assert_exit(&out, 0);
            // No connections from now on: CREATE DATABASE … TEMPLATE needs
            // the template to itself.
            admin
                .batch_execute(&format!(
                    "ALTER DATABASE {name} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
                ))
                .await
                .expect("mark the template ready");
        });
    })
    .join()
    .expect("building the template database failed");
}
