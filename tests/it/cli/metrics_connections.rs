//! The metrics server's connections against hostile or stuck clients, on the
//! real binary over real TCP: half-open requests (a request line, then a
//! header line now and then, never the blank line) must not take the file
//! descriptors a worker's command jobs need, must not silence `/healthz`,
//! are closed by the server, and never hold up the exit after a signal.

use crate::cli::metrics::{Served, get, served};
use crate::common;

use std::os::unix::process::CommandExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{TestDb, manifest_file, pgq_cmd, wait_for, wait_for_successful};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(30);
/// The soft and hard open-file limit of the worker under attack: far fewer
/// than the half-open connections, as systemd's 1,024 is fewer than 1,100.
const OPEN_FILES: libc::rlim_t = 256;
const HALF_OPEN: usize = 320;
/// The server's header timeout is 5 s; a connection it has not closed after
/// this long was never going to be.
const CLOSED_WITHIN: Duration = Duration::from_secs(15);
/// A signal's exit, including the metrics server's bounded wind-down.
const EXITS_WITHIN: Duration = Duration::from_secs(5);

fn path(file: &tempfile::NamedTempFile) -> &str {
    file.path().to_str().expect("utf-8 temp path")
}

/// `pgq run MANIFEST --metrics-listen 127.0.0.1:0 EXTRA…` with soft and
/// hard open-file limits of `open_files` (the hard one too, so pgq cannot
/// raise its way out of the test).
fn start_worker(
    db: &TestDb,
    manifest: &tempfile::NamedTempFile,
    extra: &[&str],
    open_files: Option<libc::rlim_t>,
) -> Served {
    let mut args = vec!["run", path(manifest), "--metrics-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let mut cmd = pgq_cmd(&args, &[]);
    if let Some(n) = open_files {
        // SAFETY: setrlimit is async-signal-safe and uses only the stack.
        unsafe {
            cmd.pre_exec(move || {
                let limit = libc::rlimit {
                    rlim_cur: n,
                    rlim_max: n,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    served(db.spawn_prepared(cmd))
}

/// Many clients, each holding a half-open request to `addr` and opening a
/// new one whenever the server closes it, until stopped.
struct Flood {
    stop: Arc<AtomicBool>,
    connected: Arc<AtomicUsize>,
    clients: Vec<tokio::task::JoinHandle<Vec<Held>>>,
}

/// One half-open connection: how long it stayed open, and whether the
/// server closed it (false: still open at the client's deadline).
struct Held {
    open_for: Duration,
    closed_by_server: bool,
}

impl Flood {
    fn start(addr: &str, clients: usize) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let connected = Arc::new(AtomicUsize::new(0));
        let clients = (0..clients)
            .map(|_| {
                let (addr, stop, connected) = (addr.to_string(), stop.clone(), connected.clone());
                tokio::spawn(async move {
                    let mut held = Vec::new();
                    let mut first = true;
                    while first || !stop.load(Ordering::Relaxed) {
                        let Ok(stream) = TcpStream::connect(&addr).await else {
                            // Refused or reset while the server is at its
                            // limits: try again shortly.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        };
                        if first {
                            connected.fetch_add(1, Ordering::Relaxed);
                            first = false;
                        }
                        held.push(hold_half_open(stream).await);
                        // Pace the reconnects: pressure, not a busy loop.
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    held
                })
            })
            .collect();
        Flood {
            stop,
            connected,
            clients,
        }
    }

    /// Stop reconnecting; each client waits for its last connection to be
    /// closed by the server (or gives up after [`CLOSED_WITHIN`]).
    async fn finish(self) -> Vec<Held> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for client in self.clients {
            all.extend(client.await.expect("flood client"));
        }
        all
    }
}

/// Send a request line, then a header line every second, never the end of
/// the head; return once the server closes the connection.
async fn hold_half_open(mut stream: TcpStream) -> Held {
    let opened = Instant::now();
    let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\n").await;
    let mut buf = [0u8; 512];
    loop {
        let left = match CLOSED_WITHIN.checked_sub(opened.elapsed()) {
            Some(left) => left,
            None => {
                return Held {
                    open_for: opened.elapsed(),
                    closed_by_server: false,
                };
            }
        };
        tokio::select! {
            read = stream.read(&mut buf) => match read {
                // Whatever the server sends (a 408, nothing) ends with a close.
                Ok(n) if n > 0 => continue,
                _ => return Held { open_for: opened.elapsed(), closed_by_server: true },
            },
            _ = tokio::time::sleep(left.min(Duration::from_secs(1))) => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return Held { open_for: opened.elapsed(), closed_by_server: true };
                }
            }
        }
    }
}

/// `/healthz` within 5 s, or why not.
async fn healthz(addr: &str) -> Result<(), String> {
    match tokio::time::timeout(Duration::from_secs(5), get(addr, "/healthz")).await {
        Ok(reply) if reply.status == 200 => Ok(()),
        Ok(reply) => Err(format!("/healthz answered {}", reply.status)),
        Err(_) => Err("/healthz did not answer within 5 s".into()),
    }
}

/// This test process holds hundreds of sockets: let it use its hard limit.
fn raise_own_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls on a struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_neither_starve_command_jobs_nor_silence_healthz() {
    raise_own_open_file_limit();
    const JOBS: i64 = 30;
    let db = TestDb::installed();
    let manifest = manifest_file("[[entrypoint]]\nname = \"cmd\"\ncommand = [\"cat\"]\n");
    let worker = start_worker(&db, &manifest, &[], Some(OPEN_FILES));

    let flood = Flood::start(&worker.addr, HALF_OPEN);
    let all_connected = wait_for(WAIT, || async {
        (flood.connected.load(Ordering::Relaxed) == HALF_OPEN).then_some(())
    })
    .await;
    assert!(all_connected.is_some(), "the flood never connected");

    let mut failures = Vec::new();
    // Jobs enqueued while the flood holds its connections: each spawns a
    // process with pipes, so each needs free file descriptors.
    db.client()
        .await
        .execute(
            "INSERT INTO pgqueuer (priority, entrypoint, status, payload)
             SELECT 0, 'cmd', 'queued', 'x'::bytea FROM generate_series(1, $1::bigint)",
            &[&JOBS],
        )
        .await
        .expect("enqueue");
    for _ in 0..3 {
        if let Err(e) = healthz(&worker.addr).await {
            failures.push(e);
        }
    }
    let client = db.client().await;
    if !wait_for_successful(&client, JOBS, WAIT).await {
        let statuses = common::log_statuses(&client).await;
        let failed = statuses.iter().filter(|(_, s)| s == "exception").count();
        failures.push(format!(
            "not every command job succeeded ({failed} exceptions): {:?}",
            worker
                .process
                .stderr_line(Duration::from_secs(1), |l| l.contains("ERROR"))
        ));
    }

    let held = flood.finish().await;
    let kept = held.iter().filter(|h| !h.closed_by_server).count();
    if kept > 0 {
        failures.push(format!(
            "{kept} of {} half-open connections were still open after {CLOSED_WITHIN:?}",
            held.len()
        ));
    }
    let longest = held.iter().map(|h| h.open_for).max().unwrap_or_default();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(longest < CLOSED_WITHIN, "{longest:?}");
    // And the server is well again.
    healthz(&worker.addr)
        .await
        .expect("healthz after the flood");
    let exceptions: i64 = client
        .query_one(
            "SELECT count(*) FROM pgqueuer_log WHERE status = 'exception'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(exceptions, 0);
}

/// Connect and start a request that never ends.
async fn half_open(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("send");
    stream
}

/// Wait for the child's exit for at most `within`; `None` if it is still
/// running then (it is killed).
fn exit_within(served: &mut Served, within: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    let code = served.process.wait_exit(within);
    (code, started.elapsed())
}

#[tokio::test]
async fn a_half_open_request_does_not_hold_up_a_stopping_worker() {
    let db = TestDb::installed();
    let manifest = manifest_file("[[entrypoint]]\nname = \"cmd\"\ncommand = [\"cat\"]\n");
    let mut worker = start_worker(&db, &manifest, &[], None);
    let ready = wait_for(WAIT, || async {
        (get(&worker.addr, "/readyz").await.status == 200).then_some(())
    })
    .await;
    assert!(ready.is_some(), "the worker never got ready");
    let _held = half_open(&worker.addr).await;
    worker.process.signal("TERM");
    let (code, took) = exit_within(&mut worker, EXITS_WITHIN);
    assert_eq!(code, Some(0), "still running after {took:?}");
}

#[tokio::test]
async fn a_second_signal_exits_at_once_despite_a_slow_job_and_a_half_open_request() {
    let db = TestDb::installed();
    let manifest =
        manifest_file("[[entrypoint]]\nname = \"slow\"\ncommand = [\"sleep\", \"60\"]\n");
    let mut worker = start_worker(&db, &manifest, &[], None);
    assert_eq!(
        db.client()
            .await
            .execute(
                "INSERT INTO pgqueuer (priority, entrypoint, status) VALUES (0, 'slow', 'queued')",
                &[],
            )
            .await
            .unwrap(),
        1
    );
    let client = db.client().await;
    let picked = wait_for(WAIT, || async {
        let n: i64 = client
            .query_one("SELECT count(*) FROM pgqueuer WHERE status = 'picked'", &[])
            .await
            .unwrap()
            .get(0);
        (n == 1).then_some(())
    })
    .await;
    assert!(picked.is_some(), "the slow job was never picked");
    let _held = half_open(&worker.addr).await;
    worker.process.signal("TERM");
    assert!(
        worker
            .process
            .stderr_line(WAIT, |l| l.contains("received, shutting down"))
            .is_some()
    );
    worker.process.signal("TERM");
    let (code, took) = exit_within(&mut worker, EXITS_WITHIN);
    assert_eq!(code, Some(0), "still running after {took:?}");
    // The stopped job went back to the queue.
    let status: String = client
        .query_one("SELECT status::text FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "queued");
}

/// `pgq metrics` with a scrape stuck behind a lock (its statement would
/// wait 10 s for its timeout) and a half-open request: SIGTERM still ends
/// it within the server's few seconds of grace.
#[tokio::test]
async fn a_stuck_scrape_and_a_half_open_request_do_not_hold_up_pgq_metrics_after_sigterm() {
    let db = TestDb::installed();
    let mut server = served(db.spawn_pgq(&["metrics", "--listen", "127.0.0.1:0"], &[]));
    assert_eq!(get(&server.addr, "/healthz").await.status, 200);
    let mut locker = db.client().await;
    let lock = locker.transaction().await.unwrap();
    lock.batch_execute("LOCK TABLE pgqueuer IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let _stuck = crate::cli::metrics::send(&server.addr, "/metrics").await;
    let watcher = db.client().await;
    let waiting = wait_for(WAIT, || async {
        let n: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'",
                &[&db.name],
            )
            .await
            .unwrap()
            .get(0);
        (n > 0).then_some(())
    })
    .await;
    assert!(waiting.is_some(), "the scrape never reached the lock");
    let _held = half_open(&server.addr).await;
    server.process.signal("TERM");
    let (code, took) = exit_within(&mut server, EXITS_WITHIN);
    assert_eq!(code, Some(0), "still running after {took:?}");
    lock.rollback().await.unwrap();
}
