//! `pgq metrics` and `pgq run --metrics-listen` against a real PostgreSQL:
//! the exposition parsed by the official Python Prometheus parser
//! (`prometheus_client`), equality with PGQueuer 1.6.0's own
//! `collect_metrics`, a SELECT-only role, single-flight scrapes, `/readyz`
//! across an outage of the test's database, and the worker's own series.

use crate::common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{Spawned, TestDb, admin_dsn, assert_exit, manifest_file, stderr, wait_for};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(30);
const COLLECT_METRICS: &str = include_str!("../../fixtures/collect_metrics.py");
const SCRAPE_METRICS: &str = include_str!("../../fixtures/scrape_metrics.py");

/// The test venv with `prometheus_client` added (once per test run).
fn prometheus_venv() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let venv = common::python_venv();
        let marker = venv.join(".prometheus_client");
        let lock = std::fs::File::create(venv.join(".prometheus_client.lock")).expect("lock file");
        lock.lock().expect("lock");
        if !marker.exists() {
            let out = Command::new(venv.join("bin/pip"))
                .args(["install", "--quiet", "prometheus_client"])
                .output()
                .expect("pip install");
            assert!(
                out.status.success(),
                "pip install prometheus_client failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::write(&marker, "").expect("marker");
        }
        let _ = lock.unlock();
    });
}

/// A running `pgq metrics` (or worker) and the address it serves on.
pub(crate) struct Served {
    pub(crate) process: Spawned,
    pub(crate) addr: String,
}

/// Wait for the line announcing the address and take `http://HOST:PORT` from it.
pub(crate) fn served(process: Spawned) -> Served {
    let line = process
        .stderr_line(WAIT, |l| l.contains("http://"))
        .expect("the server announces its address");
    let start = line.find("http://").unwrap() + "http://".len();
    let addr: String = line[start..]
        .chars()
        .take_while(|c| *c != '/' && !c.is_whitespace())
        .collect();
    Served { process, addr }
}

fn start_metrics(db: &TestDb, extra: &[&str]) -> Served {
    // Installing the parser can take a while once: not inside a test's wait.
    prometheus_venv();
    let mut args = vec!["metrics", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    served(db.spawn_pgq(&args, &[]))
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    content_type: String,
    pub(crate) body: String,
}

/// One HTTP/1.1 GET over a plain TCP connection.
pub(crate) async fn get(addr: &str, path: &str) -> Reply {
    receive(send(addr, path).await).await
}

/// Connect and send a GET; the reply is read by [`receive`].
pub(crate) async fn send(addr: &str, path: &str) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    stream
}

async fn receive(mut stream: tokio::net::TcpStream) -> Reply {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    parse_reply(&String::from_utf8(raw).expect("utf-8 reply"))
}

fn parse_reply(raw: &str) -> Reply {
    let (head, body) = raw.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: body.to_string(),
    }
}

/// Scrape `/metrics` with Python and parse it with prometheus_client.
fn scrape(db: &TestDb, addr: &str) -> Value {
    prometheus_venv();
    let url = format!("http://{addr}/metrics");
    let out = db.python(SCRAPE_METRICS, &[("METRICS_URL", &url)]);
    assert_exit(&out, 0);
    serde_json::from_slice(&out.stdout).expect("scrape JSON")
}

type Samples = BTreeMap<(String, Vec<(String, String)>), f64>;

/// `name{labels}` → value for the samples of the families named `names`.
fn samples(families: &Value, names: &[&str]) -> Samples {
    families["families"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| names.contains(&f["name"].as_str().unwrap()))
        .flat_map(|f| f["samples"].as_array().unwrap().iter())
        .map(|s| (key(s), s["value"].as_f64().unwrap()))
        .collect()
}

fn key(sample: &Value) -> (String, Vec<(String, String)>) {
    let labels = sample["labels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    (sample["name"].as_str().unwrap().to_string(), labels)
}

fn family<'a>(families: &'a Value, name: &str) -> &'a Value {
    families["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {families}"))
}

fn value(families: &Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    families["families"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["samples"].as_array().unwrap().iter())
        .find(|s| s["name"] == name && key(s).1 == want)
        .map(|s| s["value"].as_f64().unwrap())
}

/// PGQueuer's two series as Python 1.6.0's `collect_metrics` computes them.
/// It aggregates the log into the statistics table first (a write).
fn python_collect(db: &TestDb, window_secs: u32) -> Samples {
    prometheus_venv();
    let out = db.python(
        COLLECT_METRICS,
        &[("METRICS_WINDOW", &window_secs.to_string())],
    );
    assert_exit(&out, 0);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).expect("collect JSON");
    list.iter()
        .map(|s| (key(s), s["value"].as_f64().unwrap()))
        .collect()
}

/// Jobs and log rows of every kind the two series count: queued, picked
/// and held jobs over several priorities; log rows aggregated, not yet
/// aggregated, with `aggregated` NULL, inside and outside the window.
async fn seed(db: &TestDb) {
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO pgqueuer (priority, entrypoint, status, payload)
             SELECT g % 3, 'ep_' || (g % 4), 'queued', NULL FROM generate_series(1, 40) g;
             UPDATE pgqueuer SET status = 'picked', queue_manager_id = gen_random_uuid()
              WHERE id IN (SELECT id FROM pgqueuer ORDER BY id LIMIT 7);
             UPDATE pgqueuer SET status = 'picked', queue_manager_id = gen_random_uuid(),
                    heartbeat = now() - interval '1 hour'
              WHERE id IN (SELECT id FROM pgqueuer WHERE status = 'queued' ORDER BY id LIMIT 3);
             UPDATE pgqueuer SET status = 'failed'
              WHERE id IN (SELECT id FROM pgqueuer WHERE status = 'queued' ORDER BY id LIMIT 2);
             INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
             SELECT now() - (g % 50) * interval '1 second', g,
                    (ARRAY['successful', 'exception', 'queued', 'canceled', 'deleted', 'failed', 'picked'])[1 + g % 7]::pgqueuer_status,
                    g % 2, 'ep_' || (g % 3), false
               FROM generate_series(1, 300) g;
             INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
             VALUES (now() - interval '1 hour', 1, 'successful', 0, 'ep_0', false),
                    (now() - interval '10 seconds', 2, 'successful', 0, 'ep_0', NULL),
                    (now() - interval '10 seconds', 3, 'successful', 0, 'ep_9', true);
             INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
             VALUES (date_trunc('sec', now() - interval '20 seconds'), 5, 0, 'successful', 'ep_0'),
                    (date_trunc('sec', now() - interval '20 seconds'), 2, 1, 'exception', 'ep_1'),
                    (date_trunc('sec', now() - interval '30 seconds'), 4, 0, 'successful', 'ep_9'),
                    (date_trunc('sec', now() - interval '2 hours'), 100, 0, 'successful', 'ep_0');",
        )
        .await
        .expect("seed");
}

fn pgqueuer_series(scraped: &Value) -> Samples {
    samples(scraped, &["pgqueuer_queue_count", "pgqueuer_logs_count"])
}

#[tokio::test]
async fn queue_and_log_counts_equal_python_collect_metrics() {
    let db = TestDb::installed();
    seed(&db).await;
    let server = start_metrics(&db, &["--window", "10m"]);

    // Before Python's aggregation: pgq counts the log rows not yet aggregated.
    let before = scrape(&db, &server.addr);
    let unaggregated: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unaggregated, 301, "pgq's scrape wrote nothing");
    let python = python_collect(&db, 600);
    // After it: the same numbers, now read from the statistics table.
    let after = scrape(&db, &server.addr);

    assert!(!python.is_empty());
    assert_eq!(pgqueuer_series(&before), python);
    assert_eq!(pgqueuer_series(&after), python);

    // Valid exposition: content type, HELP and TYPE for every family.
    assert_eq!(
        before["content_type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    for name in ["pgqueuer_queue_count", "pgqueuer_logs_count"] {
        let f = family(&before, name);
        assert_eq!(f["type"], "gauge", "{name}");
        assert!(!f["help"].as_str().unwrap().is_empty(), "{name}");
    }
    for f in before["families"].as_array().unwrap() {
        assert_ne!(f["type"], "unknown", "{} has no TYPE line", f["name"]);
        assert!(
            !f["help"].as_str().unwrap().is_empty(),
            "{} has no HELP",
            f["name"]
        );
    }
    // pgq's additions.
    assert_eq!(
        value(&before, "pgq_log_unaggregated_rows", &[]),
        Some(301.0)
    );
    assert_eq!(value(&after, "pgq_log_unaggregated_rows", &[]), Some(0.0));
    let stale: f64 = samples(&before, &["pgq_queue_stale_picked_jobs"])
        .values()
        .sum();
    assert_eq!(stale, 3.0);
    let age = value(
        &before,
        "pgq_queue_oldest_queued_age_seconds",
        &[("entrypoint", "ep_1")],
    )
    .expect("oldest queued age of ep_1");
    assert!((0.0..600.0).contains(&age), "{age}");
    let size = value(
        &before,
        "pgq_table_size_bytes",
        &[("table", "pgqueuer_log")],
    )
    .unwrap();
    assert!(size > 8192.0, "{size}");
}

#[tokio::test]
async fn label_values_are_escaped() {
    let db = TestDb::installed();
    // A backslash before a quote or another backslash, and a trailing one,
    // are what metrics-exporter-prometheus 0.18's escaper gets wrong alone.
    let weird = [
        "quote\"d",
        "back\\slash",
        "new\nline",
        "plain",
        "back\\\"quote",
        "two\\\\backslashes",
        "trailing\\",
        "literal\\n",
    ];
    let client = db.client().await;
    for ep in weird {
        client
            .execute(
                "INSERT INTO pgqueuer (priority, entrypoint, status) VALUES (0, $1, 'queued')",
                &[&ep],
            )
            .await
            .unwrap();
    }
    let server = start_metrics(&db, &[]);
    let scraped = scrape(&db, &server.addr);
    for ep in weird {
        let labels = [
            ("aggregation", "sum"),
            ("entrypoint", ep),
            ("status", "queued"),
        ];
        assert_eq!(
            value(&scraped, "pgqueuer_queue_count", &labels),
            Some(1.0),
            "{ep:?} in {scraped}"
        );
    }
}

/// A role that may only read the tables (and so never aggregate).
struct ReadOnlyRole {
    name: String,
}

impl Drop for ReadOnlyRole {
    fn drop(&mut self) {
        let name = self.name.clone();
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let _ = common::connect(&admin_dsn())
                    .await
                    .batch_execute(&format!("DROP ROLE IF EXISTS {name}"))
                    .await;
            })
        })
        .join()
        .unwrap();
    }
}

#[tokio::test]
async fn a_select_only_role_can_scrape_and_nothing_is_written() {
    let role = ReadOnlyRole {
        name: format!("pgq_reader_{}", uuid::Uuid::new_v4().simple()),
    };
    let db = TestDb::installed();
    seed(&db).await;
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "CREATE ROLE {r} LOGIN;
             REVOKE ALL ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA public TO {r};
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {r};",
            r = role.name
        ))
        .await
        .unwrap();
    let mut url = url::Url::parse(&db.dsn()).unwrap();
    url.set_username(&role.name).unwrap();
    let dsn = url.to_string();
    let server = start_metrics(&db, &["--dsn", &dsn]);
    let ready = get(&server.addr, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let scraped = scrape(&db, &server.addr);
    let unaggregated: i64 = client
        .query_one(
            "SELECT count(*) FROM pgqueuer_log WHERE NOT aggregated",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unaggregated, 301, "the scrape aggregated nothing");
    let python = python_collect(&db, 300);
    assert_eq!(pgqueuer_series(&scraped), python);
    drop(server);
    drop(client);
    drop(db);
    drop(role);
}

#[tokio::test]
async fn concurrent_scrapes_share_one_collection() {
    let db = TestDb::installed();
    let server = start_metrics(&db, &[]);
    // Hold the queue table so the collection waits inside its transaction
    // until every scrape has arrived.
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE pgqueuer IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // Every request is on the wire before the collection can finish.
    let mut scrapes = Vec::new();
    for _ in 0..20 {
        let stream = send(&server.addr, "/metrics").await;
        scrapes.push(tokio::spawn(receive(stream)));
    }
    let watcher = db.client().await;
    let waiting = wait_for(WAIT, || async {
        let n: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(waiting, Some(1), "one collection waits for the lock");
    blocker.batch_execute("COMMIT").await.unwrap();
    for scrape in scrapes {
        let reply = scrape.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(
            reply.body.contains("\npgq_metrics_collections_total 1\n"),
            "every scrape got the first collection:\n{}",
            reply.body
        );
    }
    let next = get(&server.addr, "/metrics").await;
    assert!(next.body.contains("\npgq_metrics_collections_total 2\n"));
}

async fn admin(sql: &str) {
    common::connect(&admin_dsn())
        .await
        .batch_execute(sql)
        .await
        .expect(sql);
}

#[tokio::test]
async fn an_outage_answers_200_with_the_up_gauge_at_0_and_the_next_scrape_after_it_works() {
    let db = TestDb::installed();
    let server = start_metrics(&db, &[]);
    assert_eq!(get(&server.addr, "/metrics").await.status, 200);
    assert_eq!(get(&server.addr, "/readyz").await.status, 200);

    // The test's own database goes away: no new connections, and the
    // server's connection is terminated.
    admin(&format!(
        "ALTER DATABASE {db} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}';",
        db = db.name
    ))
    .await;
    // Exporter convention: 200 with an up-gauge at 0 (a non-200 is a failed
    // scrape to Prometheus), the reason in one comment line.
    let metrics = get(&server.addr, "/metrics").await;
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    let reason = metrics.body.lines().next().unwrap();
    assert!(
        reason.starts_with("# database unavailable: "),
        "{}",
        metrics.body
    );
    assert!(!metrics.body.contains("SELECT"), "{}", metrics.body);
    assert!(
        metrics.body.contains("\npgq_queue_metrics_up 0\n"),
        "{}",
        metrics.body
    );
    assert!(
        !metrics.body.contains("pgqueuer_queue_count"),
        "{}",
        metrics.body
    );
    // Prometheus' own parser takes the body, comment included.
    let parsed = scrape(&db, &server.addr);
    assert_eq!(value(&parsed, "pgq_queue_metrics_up", &[]), Some(0.0));
    let ready = get(&server.addr, "/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(get(&server.addr, "/healthz").await.status, 200);

    admin(&format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS true",
        db.name
    ))
    .await;
    let back = wait_for(WAIT, || async {
        let r = get(&server.addr, "/metrics").await;
        r.body.contains("\npgq_queue_metrics_up 1\n").then_some(r)
    })
    .await
    .expect("metrics answer again after the outage");
    assert!(back.body.contains("pgq_metrics_collections_total"));
    assert!(
        back.body.contains("pgqueuer_queue_count")
            || back.body.contains("pgq_log_unaggregated_rows")
    );
    assert_eq!(get(&server.addr, "/readyz").await.status, 200);
}

#[tokio::test]
async fn readyz_is_503_without_the_schema_and_healthz_is_200() {
    let db = TestDb::new();
    let server = start_metrics(&db, &[]);
    let ready = get(&server.addr, "/readyz").await;
    assert_eq!(ready.status, 503);
    assert!(ready.body.contains("not installed"), "{}", ready.body);
    assert!(ready.body.contains("pgqueuer"), "{}", ready.body);
    let health = get(&server.addr, "/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    assert_eq!(health.content_type, "text/plain; charset=utf-8");
}

#[tokio::test]
async fn listen_address_errors() {
    let db = TestDb::installed();
    let out = db.pgq(&["metrics", "--listen", "nowhere"]);
    assert_exit(&out, 2);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = db.pgq(&["metrics", "--listen", &addr]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains(&format!("cannot listen on {addr}")),
        "{}",
        stderr(&out)
    );
}

const WORKER_MANIFEST: &str = r#"
[[entrypoint]]
name = "ok"
builtin = "noop"

[[entrypoint]]
name = "boom"
builtin = "fail"

[[entrypoint]]
name = "slow"
builtin = "sleep"
"#;

fn start_worker(db: &TestDb, manifest: &tempfile::NamedTempFile) -> Served {
    prometheus_venv();
    let path = manifest.path().to_str().unwrap();
    served(db.spawn_pgq(&["run", path, "--metrics-listen", "127.0.0.1:0"], &[]))
}

#[tokio::test]
async fn a_worker_serves_its_own_series_beside_the_queue_series() {
    let db = TestDb::installed();
    for _ in 0..5 {
        assert_exit(&db.pgq(&["queue", "ok", "x"]), 0);
    }
    for _ in 0..2 {
        assert_exit(&db.pgq(&["queue", "boom", "x"]), 0);
    }
    let manifest = manifest_file(WORKER_MANIFEST);
    let server = start_worker(&db, &manifest);
    let finished = |s: &Value, ep: &str, status: &str| {
        value(
            s,
            "pgq_worker_jobs_finished_total",
            &[("entrypoint", ep), ("status", status)],
        )
    };
    let scraped = wait_for(WAIT, || async {
        let s = scrape(&db, &server.addr);
        // The state and in-flight gauges follow the worker's snapshot, which
        // is published a moment after the counters move: wait for both.
        (finished(&s, "ok", "successful") == Some(5.0)
            && finished(&s, "boom", "exception") == Some(2.0)
            && value(&s, "pgq_worker_state", &[("state", "running")]) == Some(1.0)
            && value(&s, "pgq_worker_jobs_in_flight", &[]) == Some(0.0))
        .then_some(s)
    })
    .await
    .expect("the worker's counters reach the jobs it ran");
    assert_eq!(
        family(&scraped, "pgq_worker_jobs_finished")["type"],
        "counter"
    );
    assert_eq!(
        family(&scraped, "pgq_worker_job_duration_seconds")["type"],
        "histogram"
    );
    assert_eq!(
        value(
            &scraped,
            "pgq_worker_job_duration_seconds_count",
            &[("entrypoint", "ok")]
        ),
        Some(5.0)
    );
    let batches = value(&scraped, "pgq_worker_dequeue_batches_total", &[]).unwrap();
    assert!(batches >= 1.0, "{batches}");
    assert_eq!(
        value(&scraped, "pgq_worker_dequeued_jobs_total", &[]),
        Some(7.0)
    );
    assert!(value(&scraped, "pgq_worker_dequeue_duration_seconds_count", &[]).unwrap() >= 1.0);
    assert_eq!(
        value(&scraped, "pgq_worker_state", &[("state", "connecting")]),
        Some(0.0)
    );
    assert_eq!(
        value(&scraped, "pgq_worker_reconnects_total", &[]),
        Some(0.0)
    );
    // The queue's series are served too.
    assert!(value(&scraped, "pgq_log_unaggregated_rows", &[]).is_some());
    assert_eq!(get(&server.addr, "/readyz").await.status, 200);
}

/// A worker's own series matter most while its database is away: they are
/// served through the outage, with `pgq_queue_metrics_up` saying that the
/// queue's series are missing.
#[tokio::test]
async fn a_worker_serves_its_own_series_while_the_database_is_unreachable() {
    let db = TestDb::installed();
    for _ in 0..3 {
        assert_exit(&db.pgq(&["queue", "ok", "x"]), 0);
    }
    let manifest = manifest_file(WORKER_MANIFEST);
    prometheus_venv();
    let path = manifest.path().to_str().unwrap();
    let server = served(db.spawn_pgq(
        &[
            "run",
            path,
            "--metrics-listen",
            "127.0.0.1:0",
            "--restart-on-failure",
            "--restart-delay",
            "0.2",
        ],
        &[],
    ));
    let ran_three = |s: &Value| {
        value(
            s,
            "pgq_worker_jobs_finished_total",
            &[("entrypoint", "ok"), ("status", "successful")],
        ) == Some(3.0)
    };
    let before = wait_for(WAIT, || async {
        let s = scrape(&db, &server.addr);
        ran_three(&s).then_some(s)
    })
    .await
    .expect("the worker runs the three jobs");
    assert_eq!(value(&before, "pgq_queue_metrics_up", &[]), Some(1.0));

    // The database goes away for the worker and its metrics connection
    // alike, and stays away: every reconnect is refused.
    admin(&format!(
        "ALTER DATABASE {db} ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}';",
        db = db.name
    ))
    .await;
    let reconnecting = wait_for(WAIT, || async {
        let r = get(&server.addr, "/readyz").await;
        (r.body == "worker is reconnecting\n").then_some(())
    })
    .await;
    let during = get(&server.addr, "/metrics").await;
    let parsed = (during.status == 200).then(|| scrape(&db, &server.addr));
    admin(&format!(
        "ALTER DATABASE {} ALLOW_CONNECTIONS true",
        db.name
    ))
    .await;
    assert!(
        reconnecting.is_some(),
        "the worker never noticed the outage"
    );
    assert_eq!(during.status, 200, "{}", during.body);
    let parsed = parsed.unwrap();
    assert!(ran_three(&parsed), "{}", during.body);
    assert_eq!(value(&parsed, "pgq_queue_metrics_up", &[]), Some(0.0));
    assert_eq!(
        value(&parsed, "pgq_worker_state", &[("state", "reconnecting")]),
        Some(1.0)
    );
    assert!(
        !during.body.contains("pgqueuer_queue_count"),
        "{}",
        during.body
    );

    // Back: the queue's series return beside the worker's.
    let after = wait_for(WAIT, || async {
        let s = scrape(&db, &server.addr);
        (value(&s, "pgq_queue_metrics_up", &[]) == Some(1.0)).then_some(s)
    })
    .await
    .expect("the queue series return after the outage");
    assert!(ran_three(&after));
}

#[tokio::test]
async fn a_stopping_worker_is_not_ready() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "slow", "60"]), 0);
    let manifest = manifest_file(WORKER_MANIFEST);
    let mut server = start_worker(&db, &manifest);
    wait_for(WAIT, || async {
        let s = scrape(&db, &server.addr);
        (value(&s, "pgq_worker_jobs_in_flight", &[]) == Some(1.0)).then_some(())
    })
    .await
    .expect("the slow job runs");
    assert_eq!(get(&server.addr, "/readyz").await.status, 200);

    // SIGTERM: the worker stops dequeuing and waits for the slow job.
    server.process.signal("TERM");
    let unready = wait_for(WAIT, || async {
        let r = get(&server.addr, "/readyz").await;
        (r.status == 503).then_some(r)
    })
    .await
    .expect("readyz turns 503 while stopping");
    assert_eq!(unready.body, "worker is stopping\n");
    assert_eq!(get(&server.addr, "/healthz").await.status, 200);
    let scraped = scrape(&db, &server.addr);
    assert_eq!(
        value(&scraped, "pgq_worker_state", &[("state", "stopping")]),
        Some(1.0)
    );
    // A second signal stops the job; the worker exits cleanly.
    server.process.signal("TERM");
    assert_eq!(server.process.wait_exit(WAIT), Some(0));
}

#[tokio::test]
async fn execution_and_wait_percentiles_per_entrypoint_are_served() {
    let db = TestDb::installed();
    // Three jobs of `e`, each queued 1 s before it was picked, running 1, 2
    // and 3 s; one job of `slow` picked but not finished (no execution yet).
    db.client()
        .await
        .batch_execute(
            "INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint)
             SELECT now() - interval '60 seconds' + d.t * interval '1 second', j, d.s::pgqueuer_status, 0, 'e'
               FROM generate_series(1, 3) j,
                    LATERAL (VALUES (0, 'queued'), (1, 'picked'), (1 + j, 'successful')) d(t, s);
             INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint)
             VALUES (now() - interval '20 seconds', 9, 'queued', 0, 'slow'),
                    (now() - interval '15 seconds', 9, 'picked', 0, 'slow');",
        )
        .await
        .expect("seed");
    let server = start_metrics(&db, &[]);
    let scraped = scrape(&db, &server.addr);
    let execution = |q: &str| {
        value(
            &scraped,
            "pgq_job_execution_seconds",
            &[("entrypoint", "e"), ("quantile", q)],
        )
    };
    let close = |got: Option<f64>, want: f64| {
        let got = got.unwrap_or_else(|| panic!("missing, want {want}: {scraped}"));
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    };
    // percentile_cont over 1, 2, 3 s.
    close(execution("0.5"), 2.0);
    close(execution("0.95"), 2.9);
    close(execution("0.99"), 2.98);
    close(
        value(
            &scraped,
            "pgq_job_execution_seconds_max",
            &[("entrypoint", "e")],
        ),
        3.0,
    );
    close(
        value(
            &scraped,
            "pgq_job_execution_seconds_count",
            &[("entrypoint", "e")],
        ),
        3.0,
    );
    close(
        value(
            &scraped,
            "pgq_job_wait_seconds",
            &[("entrypoint", "slow"), ("quantile", "0.5")],
        ),
        5.0,
    );
    assert_eq!(
        value(
            &scraped,
            "pgq_job_execution_seconds",
            &[("entrypoint", "slow"), ("quantile", "0.5")],
        ),
        None,
        "nothing of slow finished"
    );
    assert_eq!(
        family(&scraped, "pgq_job_execution_seconds")["type"],
        "gauge"
    );

    // The percentiles' statement reads the whole window of the log, far
    // more than the counts: the next scrape, moments later, refreshes the
    // counts but serves the percentiles computed 30 s ago at most.
    db.client()
        .await
        .batch_execute(
            "INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint)
             VALUES (now() - interval '8 seconds', 20, 'picked', 0, 'e'),
                    (now() - interval '1 second', 20, 'successful', 0, 'e');",
        )
        .await
        .expect("one more job");
    let next = scrape(&db, &server.addr);
    let logs = |s: &Value| {
        value(
            s,
            "pgqueuer_logs_count",
            &[
                ("aggregation", "sum"),
                ("entrypoint", "e"),
                ("status", "successful"),
            ],
        )
    };
    assert_eq!(logs(&scraped), Some(3.0));
    assert_eq!(logs(&next), Some(4.0), "the counts follow every scrape");
    assert_eq!(
        value(
            &next,
            "pgq_job_execution_seconds_count",
            &[("entrypoint", "e")],
        ),
        Some(3.0),
        "the percentiles were served from the last computation"
    );
}

/// The counter's value in a raw exposition text.
pub(crate) fn counter_in(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Every completion's DELETE notifies the channel, and a job finished used
/// to wake the worker too: each woke a dequeue (and a probe) that could
/// only come back empty, about three dequeues per job, on the connection
/// the next job's dequeue waits for. A job arriving alone now costs one.
#[tokio::test]
async fn a_worker_fed_one_job_at_a_time_runs_one_dequeue_per_job() {
    let db = TestDb::installed();
    let manifest = manifest_file("[[entrypoint]]\nname = \"ok\"\nbuiltin = \"noop\"\n");
    let server = start_worker(&db, &manifest);
    let client = db.client().await;
    let batches = async || {
        let reply = get(&server.addr, "/metrics").await;
        counter_in(&reply.body, "pgq_worker_dequeue_batches_total").expect("dequeue counter")
    };
    let jobs = 20_i64;
    let mut before = 0.0;
    for n in 1..=jobs {
        assert_exit(&db.pgq(&["queue", "ok", "x"]), 0);
        assert!(
            common::wait_for_successful(&client, n, WAIT).await,
            "job {n} was never completed"
        );
        if n == 1 {
            // Start-up dequeues are not the per-job cost.
            before = batches().await;
        }
    }
    let per_job = (batches().await - before) / (jobs - 1) as f64;
    assert!(
        per_job <= 1.3,
        "{per_job:.2} dequeues per job arriving alone (was about 2.8)"
    );
}
