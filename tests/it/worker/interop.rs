//! `pgq run` beside the real Python PGQueuer 1.6.0 on one database: jobs
//! enqueued by Python, a pgq and a Python worker sharing a fleet-wide
//! `concurrency_limit`, log rows that look the same whichever worker ran the
//! job (and that Python's strict models and `pgq dashboard` read), and a pgq
//! and a Python scheduler sharing one schedule.

use crate::common;

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TestDb, assert_exit, manifest_file, path, stderr, stdout, wait_for};

const WAIT: Duration = Duration::from_secs(30);

fn py(body: &str) -> String {
    format!("{}\n{body}", common::fixtures::INTEROP_PRELUDE)
}

/// Start a Python script in the background.
fn spawn_python(db: &TestDb, script: &str) -> Child {
    Command::new(common::python_venv().join("bin/python"))
        .arg("-c")
        .arg(script)
        .env("PGDSN", db.dsn())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python")
}

#[tokio::test]
async fn a_pgq_worker_runs_jobs_enqueued_by_python() {
    let db = TestDb::installed();
    let out = db.python(
        &py(r#"
async def main():
    conn, q = await connect()
    ids = await q.enqueue(["bin", "bin"], [b"\x00\xffraw", None], [3, 0], headers=[{"trace": "t-1"}, None])
    print(ids[0], ids[1])
    await conn.close()
asyncio.run(main())
"#),
        &[],
    );
    assert_exit(&out, 0);
    let ids: Vec<i64> = stdout(&out)
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest_file(&format!(
        r#"[[entrypoint]]
name = "bin"
command = ["sh", "-c", "cat > {dir}/$PGQ_JOB_ID.bin; echo \"$PGQ_PRIORITY $PGQ_HEADERS\" > {dir}/$PGQ_JOB_ID.meta"]
"#,
        dir = dir.path().display()
    ));
    assert_exit(&db.pgq(&["run", path(&manifest), "--mode", "drain"]), 0);
    let read = |id: i64, ext: &str| std::fs::read(dir.path().join(format!("{id}.{ext}"))).unwrap();
    assert_eq!(read(ids[0], "bin"), b"\x00\xffraw");
    assert_eq!(
        String::from_utf8(read(ids[0], "meta")).unwrap().trim(),
        r#"3 {"trace":"t-1"}"#
    );
    assert_eq!(read(ids[1], "bin"), b"");
    assert_eq!(
        String::from_utf8(read(ids[1], "meta")).unwrap().trim(),
        "0 null"
    );
}

#[tokio::test]
async fn pgq_and_python_workers_share_a_fleet_wide_concurrency_limit() {
    let db = TestDb::installed();
    let jobs = 24;
    let out = db.python(
        &py(&format!(
            r#"
async def main():
    conn, q = await connect()
    await q.enqueue(["limited"] * {jobs}, [None] * {jobs}, [0] * {jobs})
    await conn.close()
asyncio.run(main())
"#
        )),
        &[],
    );
    assert_exit(&out, 0);
    let manifest = manifest_file(
        "[[entrypoint]]\nname = \"limited\"\ncommand = [\"sleep\", \"0.3\"]\nconcurrency_limit = 2\n",
    );
    let python = spawn_python(
        &db,
        &py(r#"
async def main():
    conn, q = await connect()
    qm = QueueManager(q)

    @qm.entrypoint("limited", concurrency_limit=2)
    async def limited(job):
        await asyncio.sleep(0.3)

    await qm.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=0.2))
    await conn.close()
asyncio.run(main())
"#),
    );
    let client = db.client().await;
    // Python starts slower; let it claim first so both workers compete.
    let python_running = wait_for(WAIT, || async {
        let n: i64 = client
            .query_one("SELECT count(*) FROM pgqueuer WHERE status = 'picked'", &[])
            .await
            .unwrap()
            .get(0);
        (n > 0).then_some(())
    })
    .await;
    assert!(
        python_running.is_some(),
        "the Python worker never picked a job"
    );
    let mut pgq = db.spawn_pgq(
        &[
            "run",
            path(&manifest),
            "--mode",
            "drain",
            "--dequeue-timeout",
            "0.2",
        ],
        &[],
    );
    let mut max_picked = 0i64;
    let mut workers: HashSet<uuid::Uuid> = HashSet::new();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let rows = client
            .query(
                "SELECT queue_manager_id, slot FROM pgqueuer WHERE entrypoint = 'limited' AND status = 'picked'",
                &[],
            )
            .await
            .unwrap();
        max_picked = max_picked.max(rows.len() as i64);
        for r in &rows {
            if let Some(id) = r.get::<_, Option<uuid::Uuid>>(0) {
                workers.insert(id);
            }
            let slot: Option<i64> = r.get(1);
            assert!(matches!(slot, Some(0 | 1)), "slot {slot:?} outside [0, 2)");
        }
        let left: i64 = client
            .query_one("SELECT count(*) FROM pgqueuer", &[])
            .await
            .unwrap()
            .get(0);
        if left == 0 || std::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(pgq.wait_exit(WAIT), Some(0));
    let py_out = python.wait_with_output().unwrap();
    assert!(
        py_out.status.success(),
        "{}",
        String::from_utf8_lossy(&py_out.stderr)
    );
    assert!(max_picked <= 2, "{max_picked} jobs were picked at once");
    assert_eq!(
        max_picked, 2,
        "the limit was never reached; the test proves nothing"
    );
    assert_eq!(workers.len(), 2, "both workers should have run jobs");
    let done: i64 = client
        .query_one(
            "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(done, jobs);
}

/// `(status, traceback)` rows of one job.
async fn history(
    client: &tokio_postgres::Client,
    job: i64,
) -> Vec<(String, Option<serde_json::Value>)> {
    client
        .query(
            "SELECT status::text, traceback FROM pgqueuer_log WHERE job_id = $1 ORDER BY id",
            &[&job],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn keys(v: &serde_json::Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

#[tokio::test]
async fn log_rows_look_the_same_whichever_worker_ran_the_job() {
    let db = TestDb::installed();
    let enqueue = |db: &TestDb| -> Vec<i64> {
        ["ok", "bad", "again"]
            .iter()
            .map(|ep| {
                let out = db.pgq(&["queue", ep, "boom"]);
                assert_exit(&out, 0);
                stdout(&out)
                    .trim()
                    .trim_start_matches("Enqueued job ")
                    .trim_end_matches('.')
                    .parse()
                    .unwrap()
            })
            .collect()
    };
    let python_jobs = enqueue(&db);
    let out = db.python(
        &py(r#"
async def main():
    conn, q = await connect()
    qm = QueueManager(q)

    @qm.entrypoint("ok")
    async def ok(job):
        pass

    @qm.entrypoint("bad")
    async def bad(job):
        raise ValueError(job.payload.decode())

    @qm.entrypoint("again", executor_factory=lambda p: DatabaseRetryEntrypointExecutor(
        parameters=p, max_attempts=1, initial_delay=timedelta(seconds=0)))
    async def again(job):
        raise ValueError(job.payload.decode())

    await qm.run(mode=QueueExecutionMode.drain, dequeue_timeout=timedelta(seconds=0.2))
    await conn.close()
asyncio.run(main())
"#),
        &[],
    );
    assert_exit(&out, 0);
    let pgq_jobs = enqueue(&db);
    let manifest = manifest_file(
        r#"
[[entrypoint]]
name = "ok"
builtin = "noop"

[[entrypoint]]
name = "bad"
builtin = "fail"

[[entrypoint]]
name = "again"
builtin = "fail"
max_attempts = 1
initial_delay = 0
"#,
    );
    assert_exit(&db.pgq(&["run", path(&manifest), "--mode", "drain"]), 0);

    let client = db.client().await;
    for (py_job, pgq_job) in python_jobs.iter().zip(&pgq_jobs) {
        let (py_rows, pgq_rows) = (
            history(&client, *py_job).await,
            history(&client, *pgq_job).await,
        );
        let statuses = |rows: &[(String, Option<serde_json::Value>)]| {
            rows.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            statuses(&py_rows),
            statuses(&pgq_rows),
            "jobs {py_job} / {pgq_job}"
        );
        for ((_, py_tb), (_, pgq_tb)) in py_rows.iter().zip(&pgq_rows) {
            match (py_tb, pgq_tb) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    assert_eq!(keys(a), keys(b));
                    assert_eq!(
                        keys(&a["additional_context"]),
                        keys(&b["additional_context"])
                    );
                    assert_eq!(a["exception_message"], b["exception_message"]);
                    if a["exception_type"] == "RetryRequested" {
                        assert_eq!(b["exception_type"], "RetryRequested");
                        assert_eq!(
                            a["additional_context"]["retry_delay"],
                            b["additional_context"]["retry_delay"]
                        );
                    }
                }
                other => panic!("traceback presence differs: {other:?}"),
            }
        }
    }
    assert_eq!(
        history(&client, pgq_jobs[2])
            .await
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>(),
        ["queued", "picked", "queued", "picked", "exception"]
    );

    // Python's strict models read every row, and its dashboard shows both workers' work.
    let out = db.python(
        &py(r#"
async def main():
    conn, q = await connect()
    logs = await q.queue_log()
    print(len(logs), sum(1 for l in logs if l.traceback is not None))
    await conn.close()
asyncio.run(main())
"#),
        &[],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), "22 6", "{}", stderr(&out));
    let out = db.python_pgq(&["dashboard"], &[]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for needle in ["ok", "bad", "again", "successful", "exception"] {
        assert!(
            text.contains(needle),
            "{needle} missing from the dashboard:\n{text}"
        );
    }
}

#[tokio::test]
async fn a_pgq_and_a_python_scheduler_fire_each_schedule_once() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let fires = dir.path().join("fires");
    let manifest = manifest_file(&format!(
        r#"[[schedule]]
entrypoint = "tick"
expression = "* * * * * *"
command = ["sh", "-c", "echo $PGQ_SCHEDULE_NEXT_RUN pgq >> {}"]
"#,
        fires.display()
    ));
    let mut pgq = db.spawn_pgq(&["run", path(&manifest)], &[]);
    let python = spawn_python(
        &db,
        &format!(
            r#"
import asyncio, os, asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.sm import SchedulerManager
from pgqueuer.queries import Queries

async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    sm = SchedulerManager(Queries(AsyncpgDriver(conn)))

    @sm.schedule("tick", "* * * * * *")
    async def tick(schedule):
        # The next_run this fire's claim set (what pgq passes as
        # PGQ_SCHEDULE_NEXT_RUN); reading the row now could see the next
        # claim's, by pgq, when this handler starts late on a busy machine.
        with open({fires:?}, "a") as f:
            f.write(schedule.next_run.strftime("%Y-%m-%dT%H:%M:%S.000000Z") + " python\n")

    async def stop_after_fires():
        # Enough fires for the check, however slowly either side started.
        for _ in range(600):
            await asyncio.sleep(0.1)
            try:
                with open({fires:?}) as f:
                    if len(f.readlines()) >= 4:
                        break
            except FileNotFoundError:
                pass
        sm.shutdown.set()

    stopper = asyncio.get_running_loop().create_task(stop_after_fires())
    await sm.run()
    await stopper
    await conn.close()
asyncio.run(main())
"#,
            fires = fires.display().to_string()
        ),
    );
    let py_out = python.wait_with_output().unwrap();
    assert!(
        py_out.status.success(),
        "{}",
        String::from_utf8_lossy(&py_out.stderr)
    );
    pgq.signal("TERM");
    assert_eq!(pgq.wait_exit(WAIT), Some(0));
    let text = std::fs::read_to_string(&fires).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    // Each scheduler polls one second after the next fire, so a shared
    // schedule fires about every other second; which scheduler wins a fire
    // is a race. Python stops once four fires were written.
    assert!(lines.len() >= 4, "too few fires: {lines:?}");
    let mut ids: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "a fire ran twice: {lines:?}");
    let rows: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM pgqueuer_schedules", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "pgq and Python normalise the expression alike");
}
