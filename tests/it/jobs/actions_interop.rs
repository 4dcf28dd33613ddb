//! `pgq cancel`, `pgq delete` and `pgq purge` beside workers: a running job
//! of the real Python PGQueuer 1.6.0 worker or of `pgq run` is stopped by
//! `pgq cancel` and logged `canceled` exactly once; a canceled queued job
//! never runs; held jobs made by Python are deleted the way Python's own
//! clear path logs them, and Python's numbers agree afterwards.

use crate::common;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::{TestDb, assert_exit, log_statuses, manifest_file, python_drain, stderr, stdout};

const WAIT: Duration = Duration::from_secs(30);
const CANCEL_WORKER: &str = include_str!("../../fixtures/cancel_worker.py");

/// The Python cancel worker in the background, its stdout lines on a channel.
pub(crate) fn spawn_cancel_worker(db: &TestDb, sleep: &str) -> (Child, Receiver<String>) {
    let mut child = Command::new(common::python_venv().join("bin/python"))
        .arg("-c")
        .arg(CANCEL_WORKER)
        .env("PGDSN", db.dsn())
        .env("SLEEP", sleep)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn python");
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

pub(crate) fn wait_exit(child: &mut Child) -> Option<i32> {
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The statuses logged for `id`, in order.
async fn history(db: &TestDb, id: i64) -> Vec<String> {
    log_statuses(&db.client().await)
        .await
        .into_iter()
        .filter(|(job, _)| *job == id)
        .map(|(_, s)| s)
        .collect()
}

#[tokio::test]
async fn pgq_cancel_stops_a_job_a_python_worker_runs() {
    let db = TestDb::installed();
    let id = db.enqueue(&["long", "x"]);
    let (mut worker, lines) = spawn_cancel_worker(&db, "60");
    let started = lines.recv_timeout(WAIT).expect("the job starts");
    assert_eq!(started, format!("started {id}"));

    assert_exit(&db.pgq(&["cancel", &id.to_string()]), 0);
    // The handler's cancellation scope was cancelled by the event.
    assert_eq!(
        lines.recv_timeout(WAIT).expect("the handler ends"),
        format!("canceled {id}")
    );
    // Drain mode: the worker exits once its (no-op) completion is written.
    assert_eq!(wait_exit(&mut worker), Some(0));
    assert_eq!(history(&db, id).await, ["queued", "picked", "canceled"]);
}

#[tokio::test]
async fn pgq_cancel_stops_a_command_pgq_run_runs() {
    let db = TestDb::installed();
    let id = db.enqueue(&["long", "x"]);
    let manifest =
        manifest_file("[[entrypoint]]\nname = \"long\"\ncommand = [\"sleep\", \"120\"]\n");
    let mut worker = db.spawn_pgq(
        &[
            "run",
            manifest.path().to_str().unwrap(),
            "--mode",
            "drain",
            "--dequeue-timeout",
            "1",
        ],
        &[],
    );
    let client = db.client().await;
    common::wait_for(WAIT, || async {
        let picked: i64 = client
            .query_one("SELECT count(*) FROM pgqueuer WHERE status = 'picked'", &[])
            .await
            .unwrap()
            .get(0);
        (picked == 1).then_some(())
    })
    .await
    .expect("the worker picks the job");

    assert_exit(&db.pgq(&["cancel", &id.to_string()]), 0);
    // The command is stopped: a drain worker ends long before `sleep 120`.
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    assert_eq!(history(&db, id).await, ["queued", "picked", "canceled"]);
}

#[tokio::test]
async fn a_canceled_queued_job_never_runs() {
    let db = TestDb::installed();
    let python_job = db.enqueue(&["long", "x"]);
    let pgq_job = db.enqueue(&["touch", "x"]);
    let out = db.pgq(&["cancel", &python_job.to_string(), &pgq_job.to_string()]);
    assert_exit(&out, 0);

    let (mut worker, lines) = spawn_cancel_worker(&db, "0");
    assert_eq!(wait_exit(&mut worker), Some(0));
    // Every line, up to the end of the child's output (not only those read so far).
    assert_eq!(lines.iter().collect::<Vec<_>>(), Vec::<String>::new());

    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let manifest = manifest_file(&format!(
        "[[entrypoint]]\nname = \"touch\"\ncommand = [\"touch\", \"{}\"]\n",
        marker.display()
    ));
    let out = db.pgq(&["run", manifest.path().to_str().unwrap(), "--mode", "drain"]);
    assert_exit(&out, 0);
    assert!(!marker.exists(), "the canceled job ran");
    for id in [python_job, pgq_job] {
        assert_eq!(history(&db, id).await, ["queued", "canceled"]);
    }
}

#[tokio::test]
async fn held_jobs_of_a_python_worker_are_deleted_like_python_clears_them() {
    let db = TestDb::installed();
    let ids: Vec<i64> = (0..3).map(|_| db.enqueue(&["h", "x"])).collect();
    let keep = db.enqueue(&["other", "x"]);
    python_drain(&db, "h", true);
    let client = db.client().await;
    let held: i64 = client
        .query_one("SELECT count(*) FROM pgqueuer WHERE status = 'failed'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 3);

    let out = db.pgq(&["delete", &ids[0].to_string()]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), format!("Deleted 1 job ({}).\n", ids[0]));
    let out = db.pgq(&["delete", "--entrypoint", "h", "--status", "failed"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("2 held (failed) jobs match"),
        "{}",
        stderr(&out)
    );
    assert_exit(&db.pgq(&["delete", "--entrypoint", "h", "--yes"]), 0);

    for id in &ids {
        assert_eq!(
            history(&db, *id).await,
            ["queued", "picked", "failed", "deleted"]
        );
    }
    // Python reads the log through its strict models and counts what is left.
    let out = db.python(
        r#"
import asyncio, asyncpg, os
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries
async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    q = Queries(AsyncpgDriver(conn))
    sizes = await q.queue_size()
    print(sum(s.count for s in sizes), sorted({s.entrypoint for s in sizes}))
    logs = await q.queue_log()
    print(sum(1 for l in logs if l.status == "deleted"))
asyncio.run(main())
"#,
        &[],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "1 ['other']\n3\n");
    // Python's dashboard counts the deletions.
    let out = db.python_pgq(&["dashboard", "-n", "1000"], &[]);
    assert_exit(&out, 0);
    let deleted: i64 = stdout(&out)
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() > 4 && cells[3] == "h" && cells[4] == "deleted")
                .then(|| cells[2].parse::<i64>().unwrap())
        })
        .sum();
    assert_eq!(deleted, 3, "{}", stdout(&out));
    assert_eq!(
        client
            .query_one("SELECT id FROM pgqueuer", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        keep
    );
}
