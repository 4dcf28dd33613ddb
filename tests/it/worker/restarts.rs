//! A worker that cannot work (issue 19): a manifest whose strings the
//! database or `exec` would refuse is rejected before connecting, and a
//! worker whose connection fails right after each connect waits longer
//! before every reconnect instead of hammering the database.

use crate::common;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{TestDb, manifest_file, path};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn a_nul_in_a_manifest_string_is_rejected_at_load_with_its_position() {
    // A port that accepts connections but never answers: a worker that got
    // as far as connecting leaves a connection in its backlog.
    let database = TcpListener::bind("127.0.0.1:0").expect("bind");
    database.set_nonblocking(true).expect("nonblocking");
    let dsn = format!(
        "postgres://nobody@127.0.0.1:{}/none",
        database.local_addr().expect("addr").port()
    );
    let cases = [
        (
            "[[entrypoint]]\nname = \"a\\u0000b\"\nbuiltin = \"noop\"\n",
            "2:8",
            "entrypoint name contains a NUL character",
        ),
        (
            "[[entrypoint]]\nname = \"a\"\ncommand = [\"echo\", \"x\\u0000\"]\n",
            "3:11",
            "command argument 1 contains a NUL character",
        ),
        (
            "[[entrypoint]]\nname = \"a\"\ncommand = [\"true\"]\nenv = { K = \"\\u0000\" }\n",
            "4:7",
            "env \"K\" contains a NUL character",
        ),
        (
            "[[entrypoint]]\nname = \"a\"\ncommand = [\"true\"]\nenv = { \"K\\u0000\" = \"v\" }\n",
            "4:7",
            "env name contains a NUL character",
        ),
        (
            "[[entrypoint]]\nname = \"a\"\ncommand = [\"true\"]\nworkdir = \"/tmp\\u0000\"\n",
            "4:11",
            "workdir contains a NUL character",
        ),
        (
            "[[schedule]]\nentrypoint = \"s\\u0000\"\nexpression = \"* * * * *\"\nbuiltin = \"noop\"\n",
            "2:14",
            "schedule entrypoint contains a NUL character",
        ),
    ];
    for (text, position, needle) in cases {
        let file = manifest_file(text);
        let mut child = common::pgq_cmd(&["--dsn", &dsn, "run", path(&file)], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn pgq");
        let deadline = Instant::now() + WAIT;
        let status = loop {
            match database.accept() {
                Ok(_) => {
                    let _ = child.kill();
                    panic!("{text}: the worker connected before rejecting the manifest");
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("accept: {e}"),
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "{text}: pgq did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().expect("stderr");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(2), "{text}\n{err}");
        let prefix = format!("error: {}:{position}: ", file.path().display());
        assert!(err.starts_with(&prefix), "{text}\nwanted {prefix}\n{err}");
        assert!(err.contains(needle), "{text}\n{err}");
        assert_eq!(err.lines().count(), 1, "one line, no backtrace:\n{err}");
    }
    assert!(
        matches!(database.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
        "something connected"
    );
}

/// One `Database failure` line: when it was logged, its attempt number and
/// the delay it announced.
#[derive(Debug)]
struct Failure {
    at: chrono::DateTime<chrono::FixedOffset>,
    attempt: u32,
    retry_in: Duration,
}

fn parse_failure(line: &str) -> Option<Failure> {
    if !line.contains("ERROR: Database failure") {
        return None;
    }
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .map(str::to_string)
    };
    Some(Failure {
        at: chrono::DateTime::parse_from_rfc3339(line.split_whitespace().next()?).ok()?,
        attempt: field("attempt")?.parse().ok()?,
        retry_in: Duration::from_secs_f64(field("retry_in_s")?.parse().ok()?),
    })
}

#[tokio::test]
async fn a_connection_that_fails_right_after_each_connect_backs_off_longer_each_time() {
    let db = TestDb::installed();
    let client = db.client().await;
    // Every dequeue fails once connected: the picking UPDATE raises.
    client
        .batch_execute(
            "CREATE FUNCTION refuse_pick() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'picking is broken'; END $$;
             CREATE TRIGGER refuse_pick BEFORE UPDATE ON pgqueuer
                 FOR EACH ROW EXECUTE FUNCTION refuse_pick();
             INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'ping');",
        )
        .await
        .expect("break picking");
    let manifest = manifest_file("[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n");
    let worker = db.spawn_pgq(
        &[
            "run",
            path(&manifest),
            "--restart-on-failure",
            "--restart-delay",
            "0.25",
            // The fault is injected by a trigger pgq does not know.
            "--allow-newer-schema",
        ],
        &[],
    );
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    while failures.len() < 5 {
        let line = worker
            .stderr_line(WAIT, |l| l.contains("Database failure"))
            .unwrap_or_else(|| panic!("fewer than 5 failures logged: {failures:?}\n{seen:#?}"));
        seen.push(line.clone());
        failures.push(parse_failure(&line).unwrap_or_else(|| panic!("unparsable: {line}")));
    }
    let log = seen.join("\n");
    assert!(log.contains("picking is broken"), "{log}");
    for (i, f) in failures.iter().enumerate() {
        let n = i as u32 + 1;
        assert_eq!(f.attempt, n, "attempts count up:\n{log}");
        assert_eq!(
            f.retry_in,
            Duration::from_millis(250) * 2u32.pow(n - 1),
            "the delay doubles:\n{log}"
        );
    }
    // And the worker really waited that long before each reconnect.
    for pair in failures.windows(2) {
        let gap = (pair[1].at - pair[0].at).to_std().expect("ordered");
        assert!(gap >= pair[0].retry_in, "waited {gap:?}:\n{log}");
    }
}
