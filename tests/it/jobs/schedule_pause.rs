//! Pausing, resuming, skipping and postponing schedules (`pgq schedules
//! --pause/--resume/--skip/--postpone`, the Schedules tab's p/u/s), against
//! the real Python PGQueuer 1.6.0 scheduler and `pgq run`'s own.

use crate::common;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use common::pty::Console;
use common::{TestDb, assert_exit, fixtures, manifest_file, stderr, stdout, wait_for};

const WAIT: Duration = Duration::from_secs(30);
const ENTER: &str = "\r";
const TAB: &str = "\t";

/// The sentinel every client reads as a date (asyncpg, Python's `pgq`).
const PAUSED: &str = "9999-12-31T00:00:00Z";

fn listing(db: &TestDb) -> Vec<serde_json::Value> {
    let out = db.pgq(&["--json", "schedules"]);
    assert_exit(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// What a change would touch: each row's id, next_run and updated.
fn state(db: &TestDb) -> Vec<(serde_json::Value, serde_json::Value, serde_json::Value)> {
    listing(db)
        .into_iter()
        .map(|r| (r["id"].clone(), r["next_run"].clone(), r["updated"].clone()))
        .collect()
}

fn row<'a>(rows: &'a [serde_json::Value], entrypoint: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["entrypoint"] == entrypoint)
        .unwrap_or_else(|| panic!("no schedule {entrypoint}: {rows:?}"))
}

fn next_run(rows: &[serde_json::Value], entrypoint: &str) -> DateTime<Utc> {
    let text = row(rows, entrypoint)["next_run"]
        .as_str()
        .unwrap()
        .to_string();
    DateTime::parse_from_rfc3339(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}"))
        .with_timezone(&Utc)
}

/// How many times each entrypoint fired, from the Python fixture's log.
fn fires(log: &Path, entrypoint: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == entrypoint)
        .count()
}

/// Run Python's SchedulerManager (a fresh start: it re-registers, without
/// clean_old) until `until` = "entrypoint n" fires happened, `limit` s at most.
fn python_scheduler(db: &TestDb, schedules: &[(&str, &str)], log: &Path, until: &str, limit: &str) {
    let lines: Vec<String> = schedules.iter().map(|(e, x)| format!("{e} {x}")).collect();
    let out = db.python(
        fixtures::REGISTER_SCHEDULES,
        &[
            ("SCHEDULES", &lines.join("\n")),
            ("RUN_SECONDS", limit),
            ("FIRE_LOG", log.to_str().unwrap()),
            ("UNTIL_COUNT", until),
        ],
    );
    assert_exit(&out, 0);
}

#[test]
fn python_scheduler_keeps_a_pause_across_restarts_and_fires_after_resume() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    // An every-second schedule to pause, and an every-3-seconds control.
    let schedules = [("quiet", "* * * * * *"), ("control", "* * * * * */3")];
    assert_exit(&common::python_schedules(&db, &schedules, "1"), 0);

    let out = db.pgq(&["schedules", "--pause", "quiet"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("Paused 1 schedule: ") && stderr(&out).contains("→ paused"),
        "{}",
        stderr(&out)
    );
    let rows = listing(&db);
    assert_eq!(row(&rows, "quiet")["paused"], true, "{rows:?}");
    assert_eq!(row(&rows, "quiet")["next_run"], PAUSED);
    assert_eq!(row(&rows, "quiet")["next_fires"], serde_json::json!([]));
    assert_eq!(row(&rows, "control")["paused"], false);
    let last_run = row(&rows, "quiet")["last_run"].clone();

    // Python reads the sentinel as a date, in any local time zone.
    let out = db.python_pgq(&["schedules"], &[("TZ", "Pacific/Kiritimati")]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("9999-12-31 14:00:00+14:00"),
        "{}",
        stdout(&out)
    );

    // A restarted scheduler (re-registering, no clean_old) keeps the row:
    // while the control fires three times (≥ 6 s, six periods of the
    // paused one), the paused schedule stays silent.
    let log = dir.path().join("fires-paused");
    python_scheduler(&db, &schedules, &log, "control 3", "90");
    assert!(
        fires(&log, "control") >= 3,
        "the control fired: the run did not time out"
    );
    assert_eq!(fires(&log, "quiet"), 0, "a paused schedule fired");
    let rows = listing(&db);
    assert_eq!(
        row(&rows, "quiet")["next_run"],
        PAUSED,
        "the pause survived"
    );
    assert_eq!(row(&rows, "quiet")["last_run"], last_run);

    let out = db.pgq(&["schedules", "--resume", "quiet"]);
    assert_exit(&out, 0);
    let rows = listing(&db);
    assert_eq!(row(&rows, "quiet")["paused"], false);
    let resumed_at = next_run(&rows, "quiet");
    assert!(
        resumed_at <= Utc::now() + chrono::Duration::seconds(2),
        "{resumed_at}"
    );

    let log = dir.path().join("fires-resumed");
    python_scheduler(&db, &schedules, &log, "quiet 1", "60");
    assert!(
        fires(&log, "quiet") >= 1,
        "the resumed schedule fired again"
    );
}

fn spawn_worker(db: &TestDb, manifest: &tempfile::NamedTempFile) -> common::Spawned {
    db.spawn_pgq(&["run", manifest.path().to_str().unwrap()], &[])
}

async fn lines_of(path: &Path, entrypoint: &str) -> usize {
    fires(path, entrypoint)
}

async fn queued(db: &TestDb, entrypoint: &str) -> bool {
    db.client()
        .await
        .query_one(
            "SELECT status::text = 'queued' FROM pgqueuer_schedules WHERE entrypoint = $1",
            &[&entrypoint],
        )
        .await
        .unwrap()
        .get(0)
}

/// Wait until `entrypoint` has fired `n` times in all.
async fn wait_fires(log: &Path, entrypoint: &str, n: usize) {
    wait_for(WAIT, || async {
        (lines_of(log, entrypoint).await >= n).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{entrypoint} fired fewer than {n} times in {WAIT:?}"));
}

#[tokio::test]
async fn pgq_run_scheduler_respects_a_pause_also_after_a_restart() {
    let db = TestDb::installed();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("fires");
    let manifest = manifest_file(&format!(
        r#"[[schedule]]
entrypoint = "quiet"
expression = "* * * * * *"
command = ["sh", "-c", "echo quiet >> {log}"]

[[schedule]]
entrypoint = "control"
expression = "* * * * * *"
command = ["sh", "-c", "echo control >> {log}"]
"#,
        log = log.display()
    ));
    let mut worker = spawn_worker(&db, &manifest);
    wait_fires(&log, "quiet", 1).await;

    assert_exit(&db.pgq(&["schedules", "--pause", "quiet"]), 0);
    // A fire claimed just before the pause finishes; then the row is idle.
    wait_for(WAIT, || async { queued(&db, "quiet").await.then_some(()) })
        .await
        .expect("the paused schedule went back to queued");
    let before = lines_of(&log, "quiet").await;
    let control = lines_of(&log, "control").await;
    wait_fires(&log, "control", control + 4).await;
    assert_eq!(
        lines_of(&log, "quiet").await,
        before,
        "paused, it did not fire"
    );

    // Restarted, pgq run re-registers (ON CONFLICT DO NOTHING): still paused.
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(WAIT), Some(0));
    let mut worker = spawn_worker(&db, &manifest);
    let control = lines_of(&log, "control").await;
    wait_fires(&log, "control", control + 4).await;
    assert_eq!(
        lines_of(&log, "quiet").await,
        before,
        "still paused after a restart"
    );

    assert_exit(&db.pgq(&["schedules", "--resume", "quiet"]), 0);
    wait_fires(&log, "quiet", before + 1).await;
    worker.signal("TERM");
    assert_eq!(worker.wait_exit(WAIT), Some(0));
}

async fn seed(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES
               ('0 * * * *', 'hourly'), ('0 3 * * *', 'nightly'), ('*/5 * * * *', 'nightly')",
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn pause_resume_skip_and_postpone_from_the_command_line() {
    let db = TestDb::installed();
    seed(&db).await;

    let out = db.pgq(&["schedules", "--pause", "nightly"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("Paused 2 schedules"),
        "{}",
        stderr(&out)
    );
    let text = stdout(&out);
    let nightly: Vec<&str> = text.lines().filter(|l| l.contains("nightly")).collect();
    assert_eq!(nightly.len(), 2, "{text}");
    assert!(
        nightly
            .iter()
            .all(|l| l.matches("paused").count() == 2 && !l.contains("9999")),
        "next_run and next fires read 'paused':\n{text}"
    );
    let rows = listing(&db);
    assert_eq!(row(&rows, "hourly")["paused"], false);
    let out = db.pgq(&["why", "--schedule", "nightly"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out)
            .matches("is paused (resume: pgq schedules --resume ")
            .count(),
        2,
        "{}",
        stdout(&out)
    );

    // Skip: from the next top of the hour to the one after it.
    let now = Utc::now();
    assert_exit(&db.pgq(&["schedules", "--skip", "hourly"]), 0);
    let skipped = next_run(&listing(&db), "hourly");
    assert_eq!((skipped.minute(), skipped.second()), (0, 0), "{skipped}");
    assert!(
        skipped > now + chrono::Duration::hours(1)
            && skipped <= now + chrono::Duration::hours(2) + chrono::Duration::seconds(5),
        "{now} → {skipped}"
    );
    // Skipping a paused schedule leaves it paused.
    assert_exit(&db.pgq(&["schedules", "--skip", "nightly"]), 0);
    assert!(
        listing(&db)
            .iter()
            .filter(|r| r["entrypoint"] == "nightly")
            .all(|r| r["paused"] == true)
    );

    // Resume: the next fire of each expression from the moment it ran
    // (between these two instants: a */5 boundary may pass meanwhile).
    let before = Utc::now();
    assert_exit(&db.pgq(&["schedules", "--resume", "nightly"]), 0);
    let after = Utc::now();
    let rows = listing(&db);
    for r in rows.iter().filter(|r| r["entrypoint"] == "nightly") {
        assert_eq!(r["paused"], false);
        let expression = r["expression"].as_str().expect("expression");
        let first_after = |t| pgq::cron::next_fires(expression, t, 1).expect("cron")[0];
        let resumed: chrono::DateTime<Utc> = r["next_run"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .expect("next_run");
        assert!(
            resumed == first_after(before) || resumed == first_after(after),
            "{r}"
        );
    }

    // Postpone by a duration.
    let now = Utc::now();
    assert_exit(
        &db.pgq(&["schedules", "--postpone", "hourly", "--until", "+2h"]),
        0,
    );
    let postponed = next_run(&listing(&db), "hourly");
    let expected = now + chrono::Duration::hours(2);
    assert!(
        (postponed - expected).num_seconds().abs() <= 10,
        "{postponed} vs {expected}"
    );
    // And to a given time.
    assert_exit(
        &db.pgq(&[
            "schedules",
            "--postpone",
            "hourly",
            "--until",
            "2999-01-02T03:04:05Z",
        ]),
        0,
    );
    assert_eq!(
        row(&listing(&db), "hourly")["next_run"],
        "2999-01-02T03:04:05Z"
    );
}

#[tokio::test]
async fn wrong_use_and_unknown_schedules_change_nothing() {
    let db = TestDb::installed();
    seed(&db).await;
    let before = state(&db);

    for (args, what) in [
        (
            &["schedules", "--postpone", "hourly", "--until", "+0s"][..],
            "not in the future",
        ),
        (
            &[
                "schedules",
                "--postpone",
                "hourly",
                "--until",
                "2001-01-01T00:00:00Z",
            ],
            "not in the future",
        ),
        (
            &["schedules", "--postpone", "hourly", "--until", "soon"],
            "expected +DURATION",
        ),
        (
            &[
                "schedules",
                "--postpone",
                "hourly",
                "--until",
                "9999-12-31T12:00:00Z",
            ],
            "use --pause",
        ),
        (&["schedules", "--postpone", "hourly"], "--until"),
        (&["schedules", "--until", "+1h"], "--postpone"),
        (
            &["schedules", "--pause", "hourly", "--resume", "nightly"],
            "cannot be used with",
        ),
        (
            &["schedules", "--pause", "hourly", "--remove", "nightly"],
            "cannot be used with",
        ),
        (&["schedules", "--dry-run"], "--pause"),
    ] {
        let out = db.pgq(args);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(what), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }

    let out = db.pgq(&[
        "schedules",
        "--pause",
        "hourly",
        "--pause",
        "nosuch",
        "--pause",
        "999",
    ]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("no schedule matches 'nosuch', '999'; nothing was changed"),
        "{err}"
    );
    assert_eq!(state(&db), before, "nothing changed");

    // A dry run prints the SQL and what would move, and changes nothing.
    let out = db.pgq(&["schedules", "--pause", "hourly", "--dry-run"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.contains("SELECT id, expression"), "{text}");
    assert!(
        text.contains("UPDATE pgqueuer_schedules AS s SET next_run = v.next_run"),
        "{text}"
    );
    assert!(text.contains("9999-12-31 00:00:00+00"), "{text}");
    assert!(
        text.contains("-- would pause 1 schedule (dry run: nothing changed)"),
        "{text}"
    );
    let out = db.pgq(&["--json", "schedules", "--skip", "nightly", "--dry-run"]);
    assert_exit(&out, 0);
    let dry: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["schedules"].as_array().unwrap().len(), 2, "{dry}");
    assert_eq!(state(&db), before, "dry runs changed nothing");

    let out = db.pgq(&[
        "schedules",
        "--pause",
        "hourly",
        "--pause",
        "nosuch",
        "--ignore-missing",
    ]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("note: no schedule matches 'nosuch'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(row(&listing(&db), "hourly")["paused"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_tab_pauses_resumes_and_skips_through_the_confirmation() {
    let db = TestDb::installed();
    db.client()
        .await
        .batch_execute("INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('0 * * * *', 'hourly')")
        .await
        .unwrap();
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("4");
    console.wait_for("the schedule", WAIT, |s| {
        s.contains("1 schedule") && s.contains("hourly")
    });

    let confirm = |console: &mut Console, key: &str, expect: &str| {
        console.press(key);
        let dialog = console.wait_for("the confirmation dialog", WAIT, |s| {
            s.contains("[ Cancel ]")
        });
        console.press(TAB);
        console.press(ENTER);
        console.wait_for(expect, WAIT, |s| s.contains(expect));
        console.press(ENTER);
        console.wait_for("the dialog to close", WAIT, |s| !s.contains("[ Close ]"));
        dialog
    };
    let dialog = confirm(&mut console, "p", "paused 1 schedule");
    assert!(
        dialog.contains("UPDATE pgqueuer_schedules"),
        "the SQL:\n{dialog}"
    );
    assert!(
        dialog.contains("pgq schedules --pause 1"),
        "the command:\n{dialog}"
    );
    console.wait_for("the row shown as paused", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("hourly") && l.contains("paused"))
    });
    assert_eq!(row(&listing(&db), "hourly")["paused"], true);

    confirm(&mut console, "u", "resumed 1 schedule");
    console.wait_for("the row shown with its next run", WAIT, |s| {
        s.lines()
            .any(|l| l.contains("hourly") && l.contains(":00:00 in"))
    });
    let resumed = next_run(&listing(&db), "hourly");
    assert!(resumed <= Utc::now() + chrono::Duration::hours(1));

    confirm(&mut console, "s", "skipped the next run of 1 schedule");
    assert_eq!(
        next_run(&listing(&db), "hourly"),
        resumed + chrono::Duration::hours(1)
    );
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
}
