//! The audit log: changes made with the real binary (commands and the
//! console) append one JSON line each with who, where, what and how it went;
//! dry runs append nothing; an unwritable log never stops a change; `pgq
//! audit` reads it back.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pty::Console;
use common::{TestDb, assert_exit, pgq_cmd, stderr, stdout};

const WAIT: Duration = Duration::from_secs(30);
/// Not a real password: the test server trusts every local connection, so
/// it is ignored, and must appear in no audit line.
const PASSWORD: &str = "Tr0ub4dor-audit-secret";

fn dsn_with_password(db: &TestDb) -> String {
    let mut url = url::Url::parse(&db.dsn()).unwrap();
    url.set_password(Some(PASSWORD)).unwrap();
    url.to_string()
}

/// `pgq ARGS` on `db` through a DSN with a password, auditing into `state`.
fn pgq(db: &TestDb, state: &Path, args: &[&str]) -> std::process::Output {
    pgq_cmd(
        args,
        &[
            ("PGDSN", &dsn_with_password(db)),
            ("PGQ_STATE_DIR", state.to_str().unwrap()),
        ],
    )
    .output()
    .unwrap()
}

/// The complete lines of the log (one being written is not read yet).
fn lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn audit_file(state: &Path) -> PathBuf {
    state.join("audit.jsonl")
}

async fn queued(db: &TestDb) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM pgqueuer", &[])
        .await
        .unwrap()
        .get(0)
}

/// The fields every finished line has, whatever the change.
#[track_caller]
fn assert_complete(line: &serde_json::Value, db: &TestDb) {
    let time = line["time"].as_str().unwrap();
    let parsed = chrono::DateTime::parse_from_rfc3339(time).unwrap();
    assert_eq!(parsed.offset().local_minus_utc(), 0, "{line}");
    assert!(time.ends_with('Z'), "{line}");
    assert!(!line["user"].as_str().unwrap().is_empty(), "{line}");
    assert!(!line["host"].as_str().unwrap().is_empty(), "{line}");
    assert_eq!(
        line["target"].as_str().unwrap(),
        format!("postgres@127.0.0.1:5432/{}", db.name),
        "{line}"
    );
    assert_eq!(line["phase"], "finished", "{line}");
    assert_eq!(line["ok"], true, "{line}");
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0, "{line}");
    assert!(!line["sql"].as_array().unwrap().is_empty(), "{line}");
}

#[tokio::test]
async fn a_cli_purge_and_cancel_write_lines_with_every_field_and_no_password() {
    let db = TestDb::installed();
    let state = tempfile::tempdir().unwrap();
    let canceled = db.enqueue(&["stays_briefly", "{}"]);
    db.enqueue(&["nightly", "{}"]);
    db.enqueue(&["nightly", "{}"]);

    let out = pgq(&db, state.path(), &["cancel", &canceled.to_string()]);
    assert_exit(&out, 0);
    let out = pgq(
        &db,
        state.path(),
        &["purge", "--entrypoint", "nightly", "--yes"],
    );
    assert_exit(&out, 0);
    assert_eq!(queued(&db).await, 0);

    let text = std::fs::read_to_string(audit_file(state.path())).unwrap();
    assert!(!text.contains(PASSWORD), "{text}");
    let logged = lines(&audit_file(state.path()));
    // The cancel by id is one line; the purge by filter says when it starts.
    assert_eq!(logged.len(), 3, "{text}");

    let cancel = &logged[0];
    assert_complete(cancel, &db);
    assert_eq!(cancel["command"], format!("pgq cancel {canceled}"));
    assert_eq!(cancel["context"], serde_json::Value::Null);
    assert!(
        cancel["outcome"]
            .as_str()
            .unwrap()
            .starts_with(&format!("canceled 1 job ({canceled})")),
        "{cancel}"
    );
    let sql = cancel["sql"].as_array().unwrap();
    let delete = sql
        .iter()
        .find(|s| s["statement"].as_str().unwrap().contains("DELETE"))
        .unwrap_or_else(|| panic!("no DELETE in {cancel}"));
    assert!(
        delete["params"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains(&canceled.to_string())),
        "{cancel}"
    );

    assert_eq!(logged[1]["phase"], "started", "{text}");
    assert!(
        logged[1]["command"]
            .as_str()
            .unwrap()
            .starts_with("pgq purge")
    );
    let purge = &logged[2];
    assert_complete(purge, &db);
    assert_eq!(purge["command"], logged[1]["command"]);
    assert!(
        purge["command"]
            .as_str()
            .unwrap()
            .contains("--entrypoint nightly"),
        "{purge}"
    );
    assert!(
        purge["outcome"]
            .as_str()
            .unwrap()
            .starts_with("purged 2 jobs"),
        "{purge}"
    );
}

#[tokio::test]
async fn a_context_is_named_and_audit_log_in_config_moves_the_log() {
    let db = TestDb::installed();
    let id = db.enqueue(&["mail", "{}"]);
    let config = tempfile::tempdir().unwrap();
    let elsewhere = config.path().join("logs/changes.jsonl");
    std::fs::write(
        config.path().join("config.toml"),
        format!(
            "audit_log = {:?}\n[contexts.prod]\ndsn = {:?}\n",
            elsewhere.to_str().unwrap(),
            dsn_with_password(&db)
        ),
    )
    .unwrap();
    let state = tempfile::tempdir().unwrap();
    let out = pgq_cmd(
        &["--context", "prod", "cancel", &id.to_string()],
        &[
            ("PGQ_CONFIG_DIR", config.path().to_str().unwrap()),
            ("PGQ_STATE_DIR", state.path().to_str().unwrap()),
        ],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    assert!(!audit_file(state.path()).exists());
    let logged = lines(&elsewhere);
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_complete(&logged[0], &db);
    assert_eq!(logged[0]["context"], "prod");
    assert!(!logged[0].to_string().contains(PASSWORD));
}

#[tokio::test]
async fn dry_runs_write_nothing() {
    let db = TestDb::installed();
    let state = tempfile::tempdir().unwrap();
    let id = db.enqueue(&["nightly", "{}"]);
    for args in [
        &["cancel", &id.to_string(), "--dry-run"][..],
        &["purge", "--entrypoint", "nightly", "--dry-run"],
        &["prune", "--log-older-than", "1d", "--dry-run"],
        &["alter-durability", "volatile", "--dry-run"],
    ] {
        let out = pgq(&db, state.path(), args);
        assert_exit(&out, 0);
    }
    assert_eq!(queued(&db).await, 1);
    assert!(
        !audit_file(state.path()).exists(),
        "{:?}",
        lines(&audit_file(state.path()))
    );
}

#[tokio::test]
async fn an_unwritable_audit_log_is_reported_once_and_the_change_still_happens() {
    let db = TestDb::installed();
    db.enqueue(&["nightly", "{}"]);
    db.enqueue(&["nightly", "{}"]);
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be: refused even to root.
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let state = file.join("state");
    // By filter: a line when it starts and one when it ends, both refused.
    let out = pgq(&db, &state, &["purge", "--entrypoint", "nightly", "--yes"]);
    assert_exit(&out, 0);
    assert_eq!(queued(&db).await, 0);
    let err = stderr(&out);
    assert_eq!(err.matches("audit log not writable").count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "warning: audit log not writable: {}",
            state.join("audit.jsonl").display()
        )),
        "{err}"
    );
    assert!(stdout(&out).contains("Purged 2 jobs"), "{}", stdout(&out));
}

#[tokio::test]
async fn pgq_audit_reads_the_log_back_as_text_or_json_since_a_time() {
    let db = TestDb::installed();
    let state = tempfile::tempdir().unwrap();
    let audit = |args: &[&str]| pgq(&db, state.path(), &[&["audit"][..], args].concat());

    let out = audit(&[]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains(&format!(
            "no audit log yet at {}",
            audit_file(state.path()).display()
        )),
        "{}",
        stderr(&out)
    );

    let id = db.enqueue(&["mail", "{}"]);
    assert_exit(&pgq(&db, state.path(), &["cancel", &id.to_string()]), 0);
    let user_host = format!(
        "{}@",
        lines(&audit_file(state.path())).first().unwrap()["user"]
            .as_str()
            .unwrap()
    );
    // A line from long ago, as another pgq would have written it.
    let old = serde_json::json!({
        "time": "2020-01-01T00:00:00.000Z", "user": "ann", "host": "old-box",
        "target": "ann@db:5432/app", "context": null, "command": "pgq purge 1",
        "phase": "finished", "sql": [], "ok": true, "outcome": "purged 1 job (1) in 1 batch",
        "duration_ms": 3.0
    });
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(audit_file(state.path()))
        .unwrap();
    std::io::Write::write_all(&mut file, format!("{old}\n").as_bytes()).unwrap();
    std::io::Write::write_all(&mut file, b"not json\n").unwrap();

    let out = audit(&[]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let shown: Vec<&str> = text.lines().collect();
    assert_eq!(shown.len(), 2, "{text}");
    assert!(shown[0].contains(&user_host), "{text}");
    assert!(
        shown[0].contains(&format!("postgres@127.0.0.1:5432/{}", db.name)),
        "{text}"
    );
    assert!(shown[0].contains(&format!("pgq cancel {id}")), "{text}");
    assert!(
        shown[0].contains(&format!("canceled 1 job ({id})")),
        "{text}"
    );
    assert!(
        shown[1].starts_with("2020-01-01T00:00:00.000Z  ann@old-box"),
        "{text}"
    );
    assert!(stderr(&out).contains("1 line of"), "{}", stderr(&out));

    let out = audit(&["--since", "1h"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains(&format!("pgq cancel {id}")), "{text}");

    let out = pgq(
        &db,
        state.path(),
        &["--json", "audit", "--since", "2019-06-01T00:00:00Z"],
    );
    assert_exit(&out, 0);
    let written = std::fs::read_to_string(audit_file(state.path())).unwrap();
    let json_lines: Vec<&str> = written.lines().filter(|l| *l != "not json").collect();
    assert_eq!(stdout(&out), format!("{}\n", json_lines.join("\n")));

    let out = audit(&["--since", "yesterday"]);
    assert_exit(&out, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_the_console_writes_a_line() {
    let db = TestDb::installed();
    let id = db.enqueue(&["long", "{}"]);
    let mut console = Console::start(&dsn_with_password(&db), &[]);
    console.press("2");
    console.wait_for("the queued job", WAIT, |s| {
        s.contains("long") && s.contains("queued")
    });
    console.press("c");
    console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    console.press("\t");
    console.press("\r");
    let path = audit_file(console.state_dir());
    let start = Instant::now();
    let logged = loop {
        let logged = lines(&path);
        if !logged.is_empty() {
            break logged;
        }
        assert!(
            start.elapsed() < WAIT,
            "no audit line; the screen shows:\n{}",
            console.contents()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_complete(&logged[0], &db);
    assert_eq!(logged[0]["command"], format!("pgq cancel {id}"));
    assert!(!std::fs::read_to_string(&path).unwrap().contains(PASSWORD));
    assert_eq!(queued(&db).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_flashes_an_unwritable_audit_log_and_still_cancels() {
    let db = TestDb::installed();
    db.enqueue(&["long", "{}"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let state = file.join("state");
    let mut console = Console::start_with(
        &db.dsn(),
        &[],
        30,
        100,
        &[("PGQ_STATE_DIR", state.to_str().unwrap())],
    );
    console.press("2");
    console.wait_for("the queued job", WAIT, |s| {
        s.contains("long") && s.contains("queued")
    });
    console.press("c");
    console.wait_for("the dialog", WAIT, |s| s.contains("[ Cancel ]"));
    console.press("\t");
    console.press("\r");
    // In the status bar, as a flash: on stderr it would draw over the screen.
    console.wait_for("the flash in the status bar", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("connected │") && l.contains("audit log not writable"))
    });
    let start = Instant::now();
    while queued(&db).await != 0 {
        assert!(start.elapsed() < WAIT, "the job is still queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_full_disk_is_reported_once() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let db = TestDb::installed();
    db.enqueue(&["nightly", "{}"]);
    let config = tempfile::tempdir().unwrap();
    // Every write to /dev/full fails with ENOSPC, as on a full disk.
    std::fs::write(
        config.path().join("config.toml"),
        "audit_log = \"/dev/full\"\n",
    )
    .unwrap();
    let out = pgq_cmd(
        &["purge", "--entrypoint", "nightly", "--yes"],
        &[
            ("PGDSN", &db.dsn()),
            ("PGQ_CONFIG_DIR", config.path().to_str().unwrap()),
        ],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    assert_eq!(queued(&db).await, 0);
    let err = stderr(&out);
    assert_eq!(err.matches("audit log not writable").count(), 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
}
