//! The HTTP executor (`url = …` in a manifest) against a real local HTTP
//! server: what a request carries, how answers map to log rows and
//! database retries, the timeout, cancellation of a hanging request, and
//! that a `${VAR}` secret never reaches the worker's log.

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, Uri};
use common::{TestDb, assert_exit, log_statuses, manifest_file, path, stderr, wait_for};

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "tok-5ecr3t-value";

/// One request the server received.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A local HTTP server on its own thread and runtime (so a test may block
/// on the worker's output while it serves). By path: `/ok` answers 200,
/// `/fail` 500, `/missing` 404 with a 5000-byte body, `/hang` never.
struct Server {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Server {
    fn start() -> Server {
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = received.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr")).unwrap();
                let app = axum::Router::new().fallback(
                    move |uri: Uri, headers: HeaderMap, body: Bytes| {
                        let record = record.clone();
                        async move {
                            let path = uri.path().to_string();
                            record.lock().unwrap().push(Received {
                                path: path.clone(),
                                headers,
                                body,
                            });
                            match path.as_str() {
                                "/ok" => (StatusCode::OK, Body::from("fine")),
                                "/fail" => (
                                    StatusCode::INTERNAL_SERVER_ERROR,
                                    Body::from("database down"),
                                ),
                                "/missing" => {
                                    let body = format!("no such mailbox {}", "x".repeat(5000));
                                    (StatusCode::NOT_FOUND, Body::from(body))
                                }
                                _ => std::future::pending().await,
                            }
                        }
                    },
                );
                axum::serve(listener, app).await.expect("serve");
            });
        });
        Server {
            addr: rx.recv_timeout(WAIT).expect("server address"),
            received,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn count(&self, path: &str) -> usize {
        self.received().iter().filter(|r| r.path == path).count()
    }
}

async fn statuses_of(db: &TestDb, job: i64) -> Vec<String> {
    log_statuses(&db.client().await)
        .await
        .into_iter()
        .filter(|(id, _)| *id == job)
        .map(|(_, s)| s)
        .collect()
}

/// The traceback of the job's last log row with `status`.
async fn traceback(db: &TestDb, job: i64, status: &str) -> serde_json::Value {
    db.client()
        .await
        .query_one(
            "SELECT traceback FROM pgqueuer_log WHERE job_id = $1 AND status::text = $2 ORDER BY id DESC LIMIT 1",
            &[&job, &status],
        )
        .await
        .expect("log row")
        .get(0)
}

/// Run a worker in drain mode with `MAILER_TOKEN` set, at DEBUG (the most
/// the log ever says), and return its output.
fn drain(db: &TestDb, manifest: &tempfile::NamedTempFile) -> std::process::Output {
    db.pgq_env(
        &[
            "run",
            path(manifest),
            "--mode",
            "drain",
            "--log-level",
            "DEBUG",
        ],
        &[("MAILER_TOKEN", TOKEN)],
    )
}

#[tokio::test]
async fn a_job_is_posted_with_its_payload_and_headers() {
    let db = TestDb::installed();
    let server = Server::start();
    let manifest = manifest_file(&format!(
        r#"[[entrypoint]]
name = "mail"
url = "{}"
headers = {{ Authorization = "Bearer ${{MAILER_TOKEN}}", X-Team = "ops" }}

[[entrypoint]]
name = "typed"
url = "{}"
"#,
        server.url("/ok"),
        server.url("/ok"),
    ));
    let mail = db.enqueue(&[
        "mail",
        "hello\tworld",
        "--header",
        "trace=abc123",
        "--header",
        "retries=3",
        "--header",
        "authorization=forged",
        "--header",
        "PGQ-Job-Id=999",
        "--header",
        "bad name=1",
    ]);
    let typed = db.enqueue(&[
        "typed",
        "{\"a\":1}",
        "--header",
        "content-type=application/json",
    ]);
    let out = drain(&db, &manifest);
    assert_exit(&out, 0);
    let log = stderr(&out);

    let received = server.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let by_job = |job: i64| {
        received
            .iter()
            .find(|r| r.headers["pgq-job-id"] == job.to_string().as_str())
            .unwrap_or_else(|| panic!("no request for job {job}: {received:?}"))
    };
    let r = by_job(mail);
    assert_eq!(&r.body[..], b"hello\tworld");
    let h = &r.headers;
    assert_eq!(h["content-type"], "application/octet-stream");
    // The manifest's credentials win over a job's header of the same name.
    assert_eq!(h["authorization"], format!("Bearer {TOKEN}").as_str());
    assert_eq!(h["x-team"], "ops");
    assert_eq!(h["trace"], "abc123");
    assert_eq!(h["retries"], "3");
    assert_eq!(h["pgq-entrypoint"], "mail");
    assert_eq!(h["pgq-attempts"], "0");
    assert_eq!(h.get_all("pgq-job-id").iter().count(), 1);
    let qm = h["pgq-queue-manager-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(qm).is_ok(), "{qm}");
    assert!(h.get("bad name").is_none());
    assert!(
        log.contains("Job header \"bad name\" not sent"),
        "the skipped header is not reported:\n{log}"
    );

    let r = by_job(typed);
    assert_eq!(&r.body[..], b"{\"a\":1}");
    assert_eq!(r.headers["content-type"], "application/json");

    for job in [mail, typed] {
        assert_eq!(
            statuses_of(&db, job).await,
            ["queued", "picked", "successful"]
        );
    }
    assert!(!log.contains(TOKEN), "the token reached the log:\n{log}");
}

#[tokio::test]
async fn a_500_and_a_timeout_are_retried_a_404_is_not() {
    let db = TestDb::installed();
    let server = Server::start();
    let manifest = manifest_file(&format!(
        r#"[[entrypoint]]
name = "flaky"
url = "{}"
max_attempts = 1
initial_delay = 0

[[entrypoint]]
name = "slow"
url = "{}"
timeout = "300ms"
max_attempts = 1
initial_delay = 0

[[entrypoint]]
name = "gone"
url = "{}"
headers = {{ Authorization = "Bearer ${{MAILER_TOKEN}}" }}
max_attempts = 3
initial_delay = 0
"#,
        server.url("/fail"),
        server.url("/hang"),
        server.url("/missing"),
    ));
    let flaky = db.enqueue(&["flaky", "p"]);
    let slow = db.enqueue(&["slow", "p"]);
    let gone = db.enqueue(&["gone", "p"]);
    let started = Instant::now();
    let out = drain(&db, &manifest);
    assert_exit(&out, 0);
    let log = stderr(&out);

    // 500 and timeout: the first try is retried once, then terminal.
    for job in [flaky, slow] {
        assert_eq!(
            statuses_of(&db, job).await,
            ["queued", "picked", "queued", "picked", "exception"],
            "job {job}"
        );
    }
    assert_eq!(server.count("/fail"), 2);
    assert_eq!(server.count("/hang"), 2);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the timeout did not end the hanging requests"
    );
    let tb = traceback(&db, flaky, "exception").await;
    assert_eq!(tb["exception_type"], "HTTPServerError");
    let text = tb["traceback"].as_str().unwrap();
    assert!(text.contains("500 Internal Server Error"), "{text}");
    assert!(text.contains("database down"), "{text}");
    let tb = traceback(&db, slow, "exception").await;
    assert_eq!(tb["exception_type"], "TimeoutError");
    assert!(
        tb["exception_message"].as_str().unwrap().contains("0.3s"),
        "{tb}"
    );

    // 404: one request, no retry although three were allowed.
    assert_eq!(
        statuses_of(&db, gone).await,
        ["queued", "picked", "exception"]
    );
    assert_eq!(server.count("/missing"), 1);
    let tb = traceback(&db, gone, "exception").await;
    assert_eq!(tb["exception_type"], "HTTPClientError");
    assert!(
        tb["exception_message"]
            .as_str()
            .unwrap()
            .contains("404 Not Found"),
        "{tb}"
    );
    let text = tb["traceback"].as_str().unwrap();
    assert!(text.contains("body (first 4 KiB):"), "{text}");
    let (_, xs) = text.split_once("no such mailbox ").expect("the body");
    assert_eq!(xs.len(), 4096 - "no such mailbox ".len(), "{text}");
    assert!(!log.contains(TOKEN), "the token reached the log:\n{log}");
    assert!(!text.contains(TOKEN));
}

#[tokio::test]
async fn a_cancellation_aborts_a_hanging_request() {
    let db = TestDb::installed();
    let server = Server::start();
    let manifest = manifest_file(&format!(
        "[[entrypoint]]\nname = \"wait\"\nurl = \"{}\"\n",
        server.url("/hang")
    ));
    let mut worker = db.spawn_pgq(&["run", path(&manifest)], &[]);
    let job = db.enqueue(&["wait", "p"]);
    let arrived = wait_for(WAIT, || async {
        (server.count("/hang") == 1).then_some(())
    })
    .await;
    assert!(arrived.is_some(), "the request never arrived");
    // The real PGQueuer 1.6.0 cancel: log `canceled` + cancellation_event.
    let out = db.python(
        r#"
import asyncio, os, asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    await Queries(AsyncpgDriver(conn)).mark_job_as_cancelled([int(os.environ["JOB"])])
    await conn.close()

asyncio.run(main())
"#,
        &[("JOB", &job.to_string())],
    );
    assert_exit(&out, 0);
    let started = Instant::now();
    assert!(
        worker
            .stderr_line(WAIT, |l| l.contains("Job canceled"))
            .is_some(),
        "the worker did not log the cancellation"
    );
    // Stopped by the cancellation, long before the stop grace (10 s) that
    // drops a handler ignoring it.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(statuses_of(&db, job).await.iter().any(|s| s == "canceled"));
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    assert_eq!(server.count("/hang"), 1, "the canceled job was sent again");
}

#[tokio::test]
async fn a_missing_variable_stops_the_worker_before_it_connects() {
    let db = TestDb::installed();
    let manifest = manifest_file(
        "[[entrypoint]]\nname = \"mail\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { X-Api-Key = \"k-${PGQ_TEST_UNSET_VAR}\" }\n",
    );
    let out = db.pgq(&["run", path(&manifest), "--mode", "drain"]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("\"mail\""), "{err}");
    assert!(err.contains("\"X-Api-Key\""), "{err}");
    assert!(
        err.contains("${PGQ_TEST_UNSET_VAR} is not set in the worker's environment"),
        "{err}"
    );
}
