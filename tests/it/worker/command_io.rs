//! What a worker's command executor does with a command's output and
//! environment, against the real `pgq` binary and a real PostgreSQL: output
//! that is not UTF-8, output far beyond the line and log caps (memory, log
//! size, a pipe that keeps draining), and the worker's database secrets kept
//! out of a command's environment unless the manifest passes them.

use crate::common;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{TestDb, assert_exit, log_statuses, manifest_file, path, pgq_cmd, stderr, wait_for};

const WAIT: Duration = Duration::from_secs(60);

async fn statuses_of(db: &TestDb, job: i64) -> Vec<String> {
    log_statuses(&db.client().await)
        .await
        .into_iter()
        .filter(|(id, _)| *id == job)
        .map(|(_, s)| s)
        .collect()
}

/// The worker log lines of one job.
fn job_lines(log: &str, job: i64) -> Vec<&str> {
    let tag = format!("job_id={job} ");
    log.lines().filter(|l| l.contains(&tag)).collect()
}

#[tokio::test]
async fn output_that_is_not_utf8_is_logged_lossily_and_the_job_succeeds() {
    let db = TestDb::installed();
    // After the invalid bytes each stream gets 300 kB more (beyond any pipe
    // buffer): a reader that gave up at the bad byte would close the pipe
    // and `tr` would die of SIGPIPE, failing the job (`set -e`).
    let manifest = manifest_file(
        r#"[[entrypoint]]
name = "bytes"
command = ["sh", "-c", '''
set -e
printf 'out \377\376 latin1 caf\351\n'
printf 'err \377 stderr\n' >&2
head -c 300000 /dev/zero | tr '\0' o
echo
head -c 300000 /dev/zero | tr '\0' e >&2
echo >&2
echo stdout-still-read
echo stderr-still-read >&2
''']
"#,
    );
    let job = db.enqueue(&["bytes"]);
    let out = db.pgq(&["run", path(&manifest), "--mode", "drain"]);
    assert_exit(&out, 0);
    let log = stderr(&out);
    assert_eq!(
        statuses_of(&db, job).await,
        ["queued", "picked", "successful"],
        "{log}"
    );
    let lines = job_lines(&log, job);
    for needle in [
        "out \u{fffd}\u{fffd} latin1 caf\u{fffd}",
        "err \u{fffd} stderr",
        "stdout-still-read",
        "stderr-still-read",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "no log line with {needle:?} in:\n{log}"
        );
    }
}

/// Peak resident memory (VmHWM) of a running process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc status");
    kib * 1024
}

/// The end of a long log, for a failure message.
fn last_chars(text: &str, n: usize) -> String {
    let chars: Vec<char> = text.chars().rev().take(n).collect();
    chars.into_iter().rev().collect()
}

#[tokio::test]
async fn huge_output_keeps_the_worker_small_and_the_log_within_the_default_cap() {
    let db = TestDb::installed();
    // 50 MB without a newline, then 50 MB of 101-byte lines.
    let manifest = manifest_file(
        r#"[[entrypoint]]
name = "flood"
command = ["sh", "-c", '''
set -e
head -c 50000000 /dev/zero | tr '\0' a
echo
yes 0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789 | head -c 50000000
''']
timeout = "120s"
"#,
    );
    let job = db.enqueue(&["flood"]);
    let mut worker = pgq_cmd(&["run", path(&manifest)], &[])
        .env("PGDSN", db.dsn())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pgq run");
    let mut log_pipe = worker.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut log = Vec::new();
        log_pipe.read_to_end(&mut log).expect("read the worker log");
        log
    });

    let started = Instant::now();
    let done = wait_for(WAIT, || async {
        let statuses = statuses_of(&db, job).await;
        (statuses.len() > 2).then_some(statuses)
    })
    .await;
    let elapsed = started.elapsed();
    // Read before the worker exits: the peak over the whole job.
    let peak = peak_rss(worker.id());
    let _ = std::process::Command::new("kill")
        .arg(worker.id().to_string())
        .status();
    let exit = worker.wait().expect("wait for the worker");
    let log = reader.join().expect("log reader");
    let text = String::from_utf8_lossy(&log);
    assert_eq!(
        done.as_deref(),
        Some(&["queued", "picked", "successful"].map(String::from)[..]),
        "the job never finished successfully; log tail:\n{}",
        last_chars(&text, 4000)
    );
    assert_eq!(exit.code(), Some(0), "worker exit after SIGTERM");
    eprintln!(
        "100 MB of output: job took {elapsed:?}, worker peak RSS {} KiB, log {} bytes",
        peak / 1024,
        log.len()
    );
    // The old reader held the 50 MB line (twice: as read, as logged).
    assert!(
        peak < 40 << 20,
        "worker peak RSS {} KiB with a 16 KiB line cap",
        peak / 1024
    );
    // The default cap is 1 MiB of log per job; allow one overshooting line
    // per stream and the worker's own few lines.
    assert!(
        log.len() < (1 << 20) + (64 << 10),
        "the log grew to {} bytes",
        log.len()
    );
    let cut = job_lines(&text, job)
        .into_iter()
        .find(|l| l.contains("WARNING: command output cut:"))
        .unwrap_or_else(|| panic!("no cut warning in:\n{}", last_chars(&text, 2000)))
        .to_string();
    assert!(
        cut.contains("1 line(s) longer than max_line_bytes = 16384 lost 49983616 byte(s)")
            && cut.contains("were not logged after max_log_bytes = 1048576"),
        "{cut}"
    );
}

#[tokio::test]
async fn manifest_caps_shorten_lines_count_the_rest_and_keep_draining() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("finished");
    // All on stderr, so the order of logged lines is fixed. 2 000 000 lines
    // (~15 MB) after the 8 KiB log budget is spent: the command finishes
    // (and touches the marker) only if the pipe keeps being drained.
    let manifest = manifest_file(&format!(
        r#"[[entrypoint]]
name = "chatty"
command = ["sh", "-c", '''
set -e
{{ head -c 1000 /dev/zero | tr '\0' x; echo; seq 1 2000000; }} >&2
touch {}
''']
timeout = "60s"
max_line_bytes = 100
max_log_bytes = "8KiB"
"#,
        marker.display()
    ));
    let job = db.enqueue(&["chatty"]);
    let out = db.pgq(&["run", path(&manifest), "--mode", "drain"]);
    assert_exit(&out, 0);
    let log = stderr(&out);
    assert_eq!(
        statuses_of(&db, job).await,
        ["queued", "picked", "successful"],
        "{log}"
    );
    assert!(marker.exists(), "the command did not run to its end");

    let lines = job_lines(&log, job);
    let logged: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains(" INFO: "))
        .copied()
        .collect();
    let first = logged.first().expect("a logged line");
    assert!(
        first.contains(&format!("INFO: {} job_id=", "x".repeat(100)))
            && first.contains("cut_bytes=900"),
        "{first}"
    );
    // Lines 2.. are seq's 1..=k; everything after k was counted, not logged.
    let k = logged.len() as u64 - 1;
    assert!(
        logged[1..]
            .iter()
            .enumerate()
            .all(|(i, l)| { l.contains(&format!("INFO: {} job_id=", i + 1)) })
    );
    let job_log_bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    assert!(
        job_log_bytes < 8192 + 1024,
        "{job_log_bytes} bytes of log for an 8 KiB budget"
    );
    let unlogged_bytes: u64 = (k + 1..=2_000_000)
        .map(|i| i.to_string().len() as u64 + 1)
        .sum();
    let warning = lines
        .iter()
        .find(|l| l.contains("WARNING: command output cut:"))
        .unwrap_or_else(|| panic!("no cut warning in:\n{log}"));
    assert!(
        warning.contains(&format!(
            "command output cut: 1 line(s) longer than max_line_bytes = 100 lost 900 byte(s); \
             {} line(s) ({unlogged_bytes} byte(s)) were not logged after max_log_bytes = 8192",
            2_000_000 - k
        )),
        "{warning}"
    );
}

#[test]
fn bad_output_limits_are_usage_errors_naming_the_key() {
    let cases = [
        (
            "max_line_bytes = 0",
            "max_line_bytes must be at least 1 byte",
        ),
        (
            "max_log_bytes = \"1 PB\"",
            "max_log_bytes: \"1 PB\" is not a size",
        ),
        ("pass_database_env = 1", "invalid type"),
    ];
    for (line, needle) in cases {
        let manifest = manifest_file(&format!(
            "[[entrypoint]]\nname = \"a\"\ncommand = [\"true\"]\n{line}\n"
        ));
        let out = pgq_cmd(&["run", path(&manifest)], &[])
            .output()
            .expect("run pgq");
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("error: {}:4:", path(&manifest))) && err.contains(needle),
            "{line}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// Run one `env` job in drain mode with the worker connected as `how` sets
/// up, returning the worker's log.
fn drain_env_job(
    db: &TestDb,
    manifest: &tempfile::NamedTempFile,
    entrypoint: &str,
    how: impl FnOnce(&mut std::process::Command),
) -> (i64, String) {
    let job = db.enqueue(&[entrypoint]);
    let mut cmd = pgq_cmd(&["run", path(manifest), "--mode", "drain"], &[]);
    how(&mut cmd);
    let out = cmd.output().expect("run pgq");
    assert_exit(&out, 0);
    let log = stderr(&out);
    assert!(
        job_lines(&log, job)
            .iter()
            .any(|l| l.contains(&format!("PGQ_JOB_ID={job}"))),
        "the job's `env` output is not in the log:\n{log}"
    );
    (job, log)
}

/// The test database's DSN with a password in it (the server trusts the
/// test user, so the password is carried but never checked).
fn dsn_with_password(db: &TestDb, password: &str) -> String {
    let mut url = url::Url::parse(&db.dsn()).unwrap();
    url.set_password(Some(password)).unwrap();
    url.to_string()
}

#[tokio::test]
async fn commands_do_not_get_the_workers_database_secrets() {
    let db = TestDb::installed();
    let manifest = manifest_file("[[entrypoint]]\nname = \"show\"\ncommand = [\"env\"]\n");
    let with_pw = dsn_with_password(&db, "dsn-secret-4711");

    let (_, log) = drain_env_job(&db, &manifest, "show", |c| {
        c.env("PGDSN", db.dsn())
            .env("PGPASSWORD", "env-secret-0815");
    });
    assert!(!log.contains("env-secret-0815"), "{log}");
    assert!(!log.contains("PGDSN="), "{log}");

    let (_, log) = drain_env_job(&db, &manifest, "show", |c| {
        c.env("PGDSN", &with_pw);
    });
    assert!(!log.contains("dsn-secret-4711"), "PGDSN leaked:\n{log}");

    let (_, log) = drain_env_job(&db, &manifest, "show", |c| {
        c.env("PGQUEUER_DSN", &with_pw);
    });
    assert!(
        !log.contains("dsn-secret-4711"),
        "PGQUEUER_DSN leaked:\n{log}"
    );

    let (_, log) = drain_env_job(&db, &manifest, "show", |c| {
        c.args(["--dsn", &with_pw]);
    });
    assert!(!log.contains("dsn-secret-4711"), "--dsn leaked:\n{log}");
}

#[tokio::test]
async fn a_manifest_can_pass_the_database_secrets_on() {
    let db = TestDb::installed();
    let manifest = manifest_file(
        r#"[[entrypoint]]
name = "inherit"
command = ["env"]
pass_database_env = true

[[entrypoint]]
name = "explicit"
command = ["env"]
env = { PGPASSWORD = "given-in-the-manifest" }
"#,
    );
    let with_pw = dsn_with_password(&db, "dsn-secret-4711");
    let (job, log) = drain_env_job(&db, &manifest, "inherit", |c| {
        c.env("PGDSN", &with_pw)
            .env("PGPASSWORD", "env-secret-0815");
    });
    let lines = job_lines(&log, job);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("PGPASSWORD=env-secret-0815")),
        "{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("PGDSN={with_pw}"))),
        "{log}"
    );

    let (job, log) = drain_env_job(&db, &manifest, "explicit", |c| {
        c.env("PGDSN", &with_pw)
            .env("PGPASSWORD", "env-secret-0815");
    });
    let lines = job_lines(&log, job);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("PGPASSWORD=given-in-the-manifest")),
        "{log}"
    );
    assert!(!log.contains("env-secret-0815"), "{log}");
    assert!(!log.contains("dsn-secret-4711"), "{log}");
}
