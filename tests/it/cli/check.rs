//! `pgq check` against situations built in a real database, its config.toml
//! defaults and wrong use; `pgq metrics --alert-rules` checked by the real
//! `promtool`.

use serde_json::Value;

use crate::common::{TestDb, assert_exit, pgq_cmd, stderr, stdout};

/// A config directory holding `text` as config.toml (empty: no `[check]`).
fn config_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    dir
}

fn check(db: &TestDb, config: &tempfile::TempDir, args: &[&str]) -> std::process::Output {
    let dir = config.path().to_str().unwrap();
    db.pgq_env(args, &[("PGQ_CONFIG_DIR", dir)])
}

const ALL: &[&str] = &[
    "check",
    "--max-oldest-queued",
    "5m",
    "--max-queued",
    "3",
    "--max-queued",
    "resize=2",
    "--max-held",
    "0",
    "--max-stale",
    "0",
    "--max-failure-rate",
    "5",
    "--window",
    "15m",
    "--max-schedule-lateness",
    "2m",
];

/// One of each breach: an old queued job, too many queued (of resize too),
/// a held job, a stale pick, a failure rate of 25 %, a late schedule.
async fn troubled(db: &TestDb) {
    db.client()
        .await
        .batch_execute(
            "INSERT INTO pgqueuer (id, priority, entrypoint, status, created, heartbeat, queue_manager_id) VALUES
               (48121, 0, 'resize', 'queued', now() - interval '14 min 10 s', now(), NULL),
               (48122, 0, 'resize', 'queued', now(), now(), NULL),
               (48123, 0, 'resize', 'queued', now(), now(), NULL),
               (48124, 0, 'email', 'queued', now(), now(), NULL),
               (48125, 0, 'email', 'failed', now(), now(), NULL),
               (48126, 0, 'email', 'picked', now(), now() - interval '10 min', gen_random_uuid());
             INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority, created) VALUES
               (1, 'successful', 'email', 0, now() - interval '1 min'),
               (2, 'successful', 'email', 0, now() - interval '1 min'),
               (3, 'successful', 'email', 0, now() - interval '1 min'),
               (4, 'exception', 'email', 0, now() - interval '1 min'),
               (5, 'exception', 'email', 0, now() - interval '1 h');
             INSERT INTO pgqueuer_schedules (expression, entrypoint, next_run) VALUES
               ('*/5 * * * *', 'nightly', now() - interval '14 min 10 s'),
               ('0 3 * * *', 'nightly', now() + interval '1 h');",
        )
        .await
        .unwrap();
}

#[test]
fn a_healthy_queue_exits_0() {
    let db = TestDb::installed();
    let config = config_dir("");
    let out = check(&db, &config, ALL);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).starts_with("healthy: no job is queued; queued jobs: 0 (limit 3)"),
        "{}",
        stdout(&out)
    );
    let out = check(&db, &config, &[&["--json"], ALL].concat());
    assert_exit(&out, 0);
    let json: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["healthy"], true);
    assert_eq!(json["breaches"], serde_json::json!([]));
    assert_eq!(json["checked"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn each_breach_exits_1_with_its_line() {
    let db = TestDb::installed();
    troubled(&db).await;
    let config = config_dir("");
    let out = check(&db, &config, ALL);
    assert_exit(&out, 1);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        [
            "oldest queued job is 14m old (limit 5m): entrypoint resize, job 48121",
            "queued jobs: 4 (limit 3)",
            "queued jobs of resize: 3 (limit 2)",
            "held (failed) jobs: 1 (limit 0); pgq failed lists them",
            "stale picked jobs (heartbeat older than 5m): 1 (limit 0); pgq stale lists them",
            "failure rate is 25.0% over the last 15m (limit 5%): 1 of 4 finished jobs failed",
            "schedule nightly (*/5 * * * *) is 14m late (limit 2m); pgq why --schedule nightly says why",
        ],
        "{text}"
    );
    // Each threshold alone breaches alone.
    for (flags, line) in [
        (&["--max-held", "0"][..], "held (failed) jobs: 1"),
        (&["--max-queued", "resize=3"][..], ""),
        (&["--max-failure-rate", "30"][..], ""),
        (&["--max-oldest-queued", "15m"][..], ""),
    ] {
        let out = check(&db, &config, &[&["check"], flags].concat());
        if line.is_empty() {
            assert_exit(&out, 0);
        } else {
            assert_exit(&out, 1);
            assert!(stdout(&out).starts_with(line), "{}", stdout(&out));
            assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
        }
    }
}

#[tokio::test]
async fn json_gives_health_breaches_and_what_was_checked() {
    let db = TestDb::installed();
    troubled(&db).await;
    let config = config_dir("");
    let out = check(&db, &config, &[&["--json"], ALL].concat());
    assert_exit(&out, 1);
    let json: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["healthy"], false);
    let breaches = json["breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 7, "{json:#}");
    let oldest = &breaches[0];
    assert_eq!(oldest["check"], "oldest_queued");
    assert_eq!(oldest["limit"], 300.0);
    assert!(
        (oldest["value"].as_f64().unwrap() / 60.0).round() == 14.0,
        "{oldest}"
    );
    assert!(oldest["detail"].as_str().unwrap().contains("job 48121"));
    let rate = breaches
        .iter()
        .find(|b| b["check"] == "failure_rate")
        .unwrap();
    assert_eq!(rate["value"], 25.0);
    assert_eq!(rate["limit"], 5.0);
    let checks: Vec<&str> = json["checked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        [
            "oldest_queued",
            "queued",
            "queued",
            "held",
            "stale",
            "failure_rate",
            "schedule_lateness"
        ]
    );
}

#[tokio::test]
async fn config_toml_gives_the_defaults_and_flags_win() {
    let db = TestDb::installed();
    troubled(&db).await;
    let config = config_dir(
        "[check]\nmax_held = 0\nmax_queued = [1000, \"resize=2\"]\nmax_oldest_queued = \"1h\"\n",
    );
    let out = check(&db, &config, &["check"]);
    assert_exit(&out, 1);
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        [
            "queued jobs of resize: 3 (limit 2)",
            "held (failed) jobs: 1 (limit 0); pgq failed lists them"
        ],
    );
    // A flag replaces its key; the other keys stay.
    let out = check(
        &db,
        &config,
        &["check", "--max-held", "5", "--max-queued", "resize=9"],
    );
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("held (failed) jobs: 1 (limit 5)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("oldest queued job is 14m old (limit 1h)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn wrong_use_exits_2() {
    let db = TestDb::installed();
    let empty = config_dir("");
    let out = check(&db, &empty, &["check"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no thresholds to check: give at least one of --max-oldest-queued"),
        "{}",
        stderr(&out)
    );
    for args in [
        &["check", "--max-failure-rate", "150"][..],
        &["check", "--max-failure-rate", "5", "--window", "10s"],
        &["check", "--max-failure-rate", "5", "--window", "0"],
        &["check", "--max-queued", "=5"],
        &["check", "--max-queued", "resize=many"],
        &["check", "--max-oldest-queued", "soon"],
        &["check", "--max-held", "-1"],
        &["metrics", "--max-held", "0"],
    ] {
        let out = check(&db, &empty, args);
        assert_exit(&out, 2);
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let broken = config_dir("[check]\nmax_hold = 0\n");
    let out = check(&db, &broken, &["check", "--max-held", "0"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("unknown field `max_hold`"),
        "{}",
        stderr(&out)
    );
    let broken = config_dir("[check]\nwindow = \"30s\"\nmax_failure_rate = 5\n");
    let out = check(&db, &broken, &["check"]);
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("check.window"), "{}", stderr(&out));
}

/// `promtool check rules FILE` (Debian's prometheus package; .ci/run
/// installs it): the test fails without it rather than skip.
fn promtool_accepts(rules: &str) {
    let file = tempfile::Builder::new().suffix(".yml").tempfile().unwrap();
    std::fs::write(file.path(), rules).unwrap();
    let out = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("promtool is needed (apt-get install prometheus): {e}"));
    assert!(
        out.status.success(),
        "promtool rejects the rules:\n{}\n{}\n{rules}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn alert_rules_pass_promtool_with_the_thresholds() {
    let config = config_dir("[check]\nmax_stale = 2\n");
    let dir = config.path().to_str().unwrap();
    let out = pgq_cmd(
        &[
            "metrics",
            "--alert-rules",
            "--max-oldest-queued",
            "5m",
            "--max-queued",
            "1000",
            "--max-queued",
            "we\"ird\\ep {{ x }}=7",
            "--max-held",
            "0",
            "--max-failure-rate",
            "5",
            "--max-schedule-lateness",
            "2m",
            "--window",
            "15m",
        ],
        &[("PGQ_CONFIG_DIR", dir)],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    let rules = stdout(&out);
    promtool_accepts(&rules);
    for expected in [
        "groups:\n  - name: pgq\n    rules:\n",
        r#"expr: "max by (entrypoint) (pgq_queue_oldest_queued_age_seconds) > 300""#,
        r#"expr: "sum(pgqueuer_queue_count{status=\"queued\"}) > 1000""#,
        r#"entrypoint=\"we\\\"ird\\\\ep {{ x }}\"}) > 7""#,
        r#"expr: "sum(pgqueuer_queue_count{status=\"failed\"}) > 0""#,
        // From config.toml.
        r#"expr: "sum(pgq_queue_stale_picked_jobs) > 2""#,
        r#"status=~\"successful|exception|failed\"}) > 5""#,
        "--window (900s)",
        "--max-schedule-lateness 120s has no series here",
    ] {
        assert!(rules.contains(expected), "{expected}\n---\n{rules}");
    }
    // No thresholds at all is wrong use here too.
    let empty = config_dir("");
    let out = pgq_cmd(
        &["metrics", "--alert-rules"],
        &[("PGQ_CONFIG_DIR", empty.path().to_str().unwrap())],
    )
    .output()
    .unwrap();
    assert_exit(&out, 2);
}
