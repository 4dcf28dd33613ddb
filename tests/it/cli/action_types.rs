//! Each action's command line is its exact scripted equivalent: run through a
//! shell against an installation with a schema and a prefix, it does what the
//! action does, on that installation (not on `pgqueuer` in the search path).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{TestDb, assert_exit};
use pgq::actions::jobs::enqueue::{Conflict, JobSpec};
use pgq::actions::reports::stats::StatsWindow;
use pgq::actions::schedules::ScheduleRef;
use pgq::actions::{Action, Expect, kinds};
use pgq::settings::durability::Durability;
use pgq::settings::names::ObjectNames;

const SCHEMA: &str = "jobs";

/// A job row as written: entrypoint, payload, priority, dedupe key, headers.
type Written = (
    String,
    Option<Vec<u8>>,
    i32,
    Option<String>,
    Option<serde_json::Value>,
);
const PREFIX: &str = "app_";

fn names() -> ObjectNames {
    ObjectNames::with_prefix(PREFIX, Some(SCHEMA)).unwrap()
}

/// A directory holding a `psql` that connects to the test database, so a
/// command line's `psql -c …` runs there, and `pgq` on the PATH.
fn shims(db: &TestDb) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let psql = dir.path().join("psql");
    std::fs::write(
        &psql,
        format!(
            "#!/bin/sh\nexec /usr/bin/psql '{}' -X -q \"$@\"\n",
            db.dsn()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&psql, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin: PathBuf = Path::new(env!("CARGO_BIN_EXE_pgq"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}:/usr/bin:/bin", dir.path().display(), bin.display());
    (dir, path)
}

/// Run `line` as a shell would, with nothing but the DSN in the environment.
fn shell(db: &TestDb, path: &str, line: &str) -> Output {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(line)
        .env_clear()
        .env("PATH", path)
        .env("PGDSN", db.dsn())
        .env("HOME", std::env::temp_dir())
        .env(
            "PGQ_STATE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("pgq-state"),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn run_line(db: &TestDb, path: &str, action: &Action) -> Output {
    let line = action.command_line(&names());
    let out = shell(db, path, &line);
    assert!(
        out.status.success(),
        "{line}\nexit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

async fn install(db: &TestDb) {
    assert_exit(
        &db.pgq(&["--schema", SCHEMA, "--prefix", PREFIX, "install"]),
        0,
    );
    db.client()
        .await
        .batch_execute(
            "INSERT INTO jobs.app_pgqueuer_schedules (expression, entrypoint, next_run)
             VALUES ('0 0 1 1 *', 'yearly', now() + interval '300 days'),
                    ('* * * * *', 'nightly', now() + interval '1 day')",
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_schedules_now_command_line_targets_the_schema_and_prefix() {
    let db = TestDb::new();
    install(&db).await;
    let (_dir, path) = shims(&db);
    let client = db.client().await;
    let id: i64 = client
        .query_one(
            "SELECT id FROM jobs.app_pgqueuer_schedules WHERE entrypoint = 'yearly'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    run_line(&db, &path, &kinds::RunSchedulesNow { ids: vec![id] }.into());
    let due: bool = client
        .query_one(
            "SELECT next_run <= now() FROM jobs.app_pgqueuer_schedules WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(due, "the command line made schedule {id} due");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_line_runs_on_the_sessions_installation() {
    let db = TestDb::new();
    install(&db).await;
    let (_dir, path) = shims(&db);
    let client = db.client().await;
    let job = JobSpec {
        entrypoint: "typed".into(),
        payload: Some(b"{\"n\": 1} it's".to_vec()),
        priority: 4,
        execute_after: Duration::from_millis(1500),
        dedupe_key: Some("key one".into()),
        headers: serde_json::json!({"trace": "a b"}),
    };
    let reads: Vec<Action> = vec![
        kinds::Verify {
            expect: Expect::Present,
            strict: true,
        }
        .into(),
        kinds::Dashboard { limit: 5 }.into(),
        kinds::ListFailed { limit: 5 }.into(),
        kinds::Stale {
            threshold: Duration::from_millis(1500),
            limit: 5,
        }
        .into(),
        kinds::Workers {
            stale_after: Duration::from_millis(1500),
            job_limit: 5,
        }
        .into(),
        kinds::LatencyPercentiles {
            window: Duration::from_secs(600),
        }
        .into(),
        kinds::Backlog.into(),
        kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }
        .into(),
        kinds::ServerVersion.into(),
        kinds::ListSchedules.into(),
        kinds::TableInfo.into(),
        kinds::HeldJobs { limit: 5 }.into(),
        kinds::Size.into(),
        kinds::ListTables.into(),
        kinds::Throughput {
            window: Duration::from_millis(1500),
        }
        .into(),
        kinds::ListLog(pgq::actions::reports::activity::LogQuery {
            limit: 5,
            entrypoints: vec!["it's".into()],
            status: Some(pgq::actions::jobs::filter::JobStatus::Successful),
            job_id: Some(7),
        })
        .into(),
    ];
    for action in &reads {
        assert!(!action.mutates());
        run_line(&db, &path, action);
    }

    run_line(
        &db,
        &path,
        &kinds::Enqueue {
            jobs: vec![job.clone()],
            on_conflict: Conflict::Raise,
        }
        .into(),
    );
    let row = client
        .query_one(
            "SELECT id, priority, payload, dedupe_key, headers,
                    execute_after - created > interval '1 second'
             FROM jobs.app_pgqueuer WHERE entrypoint = 'typed'",
            &[],
        )
        .await
        .unwrap();
    let id: i64 = row.get(0);
    assert_eq!(row.get::<_, i32>(1), job.priority);
    assert_eq!(row.get::<_, Option<Vec<u8>>>(2), job.payload);
    assert_eq!(row.get::<_, Option<String>>(3), job.dedupe_key);
    assert_eq!(
        row.get::<_, Option<serde_json::Value>>(4),
        Some(job.headers.clone())
    );
    assert!(row.get::<_, bool>(5), "the delay came through");

    // A payload the command line would read as "from stdin", and several
    // jobs at once (a batch on stdin).
    let dash = JobSpec {
        entrypoint: "dash".into(),
        payload: Some(b"-".to_vec()),
        priority: 0,
        execute_after: Duration::ZERO,
        dedupe_key: None,
        headers: serde_json::Value::Null,
    };
    let many: Vec<JobSpec> = (0..3)
        .map(|i| JobSpec {
            entrypoint: "many".into(),
            payload: Some(format!("{{\"i\": {i}}} it's").into_bytes()),
            dedupe_key: Some(format!("many {i}")),
            ..job.clone()
        })
        .collect();
    for jobs in [vec![dash.clone()], many.clone()] {
        run_line(
            &db,
            &path,
            &kinds::Enqueue {
                jobs,
                on_conflict: Conflict::Skip,
            }
            .into(),
        );
    }
    let rows = client
        .query(
            "SELECT entrypoint, payload, priority, dedupe_key, headers FROM jobs.app_pgqueuer
             WHERE entrypoint IN ('dash', 'many') ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let written: Vec<Written> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let expected: Vec<_> = std::iter::once(&dash)
        .chain(&many)
        .map(|j| {
            (
                j.entrypoint.clone(),
                j.payload.clone(),
                j.priority,
                j.dedupe_key.clone(),
                Some(j.headers.clone()),
            )
        })
        .collect();
    assert_eq!(written, expected);

    client
        .batch_execute("UPDATE jobs.app_pgqueuer SET status = 'failed'")
        .await
        .unwrap();
    run_line(&db, &path, &kinds::Requeue { ids: vec![id] }.into());
    let status: String = client
        .query_one(
            "SELECT status::text FROM jobs.app_pgqueuer WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "queued");

    run_line(
        &db,
        &path,
        &kinds::SetDurability {
            level: Durability::Balanced,
            lock_timeout: Some(Duration::from_millis(2500)),
        }
        .into(),
    );
    let unlogged: bool = client
        .query_one(
            "SELECT relpersistence = 'u' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'jobs' AND c.relname = 'app_pgqueuer_log'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(unlogged, "balanced makes the log unlogged");

    run_line(&db, &path, &kinds::Autovac { rollback: false }.into());
    run_line(
        &db,
        &path,
        &kinds::RemoveSchedules {
            refs: vec![ScheduleRef::Entrypoint("nightly".into())],
        }
        .into(),
    );
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM jobs.app_pgqueuer_schedules WHERE entrypoint = 'nightly'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);

    run_line(
        &db,
        &path,
        &kinds::Upgrade {
            durability: Durability::Balanced,
            widen_id: false,
        }
        .into(),
    );
    run_line(&db, &path, &kinds::Uninstall.into());
    run_line(
        &db,
        &path,
        &kinds::Install {
            durability: Durability::Volatile,
            create_schema: false,
        }
        .into(),
    );
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'jobs' AND c.relname LIKE 'app\\_pgqueuer%' AND c.relkind = 'r'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 4, "installed again in the schema, with the prefix");
}
