//! `pgq demo`: headless against the test server, on a throwaway cluster,
//! and in a pseudo-terminal with the console.

use crate::common;

use std::time::Duration;

use common::pty::{Console, row};
use common::{admin_dsn, assert_exit, ensure_server, pgq_cmd, stderr, stdout};

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn databases_like(name: &str) -> i64 {
    let out = std::process::Command::new("psql")
        .arg(admin_dsn())
        .args([
            "-tAc",
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(-1)
}

/// The summary's `total` row: enqueued, successful, exception, failed, canceled.
fn totals(summary: &str) -> Vec<i64> {
    let line = summary
        .lines()
        .find(|l| l.starts_with("| total"))
        .unwrap_or_else(|| panic!("no totals in:\n{summary}"));
    line.split('|')
        .map(str::trim)
        .filter_map(|c| c.parse().ok())
        .collect()
}

#[test]
fn headless_demo_moves_jobs_fires_schedules_and_cleans_up() {
    ensure_server();
    let name = unique("pgq_demo_t");
    let out = pgq_cmd(
        &[
            "--dsn",
            &admin_dsn(),
            "--headless",
            "demo",
            "--duration",
            "12s",
            "--name",
            &name,
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    let summary = stdout(&out);
    let t = totals(&summary);
    assert_eq!(t.len(), 5, "{summary}");
    let (enqueued, successful, exception, failed) = (t[0], t[1], t[2], t[3]);
    assert!(enqueued >= 100, "the producer runs at 20/s: {summary}");
    assert!(successful > 0 && exception > 0 && failed > 0, "{summary}");
    let fires: i64 = summary
        .split(" schedule fire")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(fires >= 1, "the every-10-seconds schedule fired: {summary}");
    assert!(
        summary.contains(" retries") || summary.contains(" retry"),
        "{summary}"
    );
    assert_eq!(databases_like(&name), 0, "the demo database is gone");
    assert!(
        stderr(&out).contains(&format!("database {name}")),
        "{}",
        stderr(&out)
    );
}

/// A second demo of the same name while the first runs refuses, instead of
/// dropping the first one's database under its workers; the first runs to
/// its summary and cleans up.
#[test]
fn a_second_demo_of_the_same_name_leaves_the_running_one_alone() {
    ensure_server();
    let name = unique("pgq_demo_two");
    let args = [
        "--dsn",
        &admin_dsn(),
        "--headless",
        "demo",
        "--duration",
        "15s",
        "--name",
        &name,
    ];
    let first = pgq_cmd(&args, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while databases_like(&name) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the first demo made no database"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let second = pgq_cmd(&args, &[]).output().unwrap();
    assert_exit(&second, 1);
    assert!(
        stderr(&second).contains(&format!("another pgq demo is using {name}")),
        "{}",
        stderr(&second)
    );
    let first = first.wait_with_output().unwrap();
    assert_exit(&first, 0);
    let t = totals(&stdout(&first));
    assert!(
        t[0] >= 100 && t[1] > 0,
        "the first demo ran on: {}",
        stdout(&first)
    );
    assert_eq!(databases_like(&name), 0, "the first demo cleaned up");
}

#[test]
fn keep_leaves_the_database() {
    ensure_server();
    let name = unique("pgq_demo_k");
    let out = pgq_cmd(
        &[
            "--dsn",
            &admin_dsn(),
            "--headless",
            "demo",
            "--duration",
            "2s",
            "--keep",
            "--name",
            &name,
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    assert_eq!(databases_like(&name), 1);
    let drop = std::process::Command::new("psql")
        .arg(admin_dsn())
        .args(["-qc", &format!("DROP DATABASE {name} WITH (FORCE)")])
        .output()
        .unwrap();
    assert!(drop.status.success());
}

#[test]
fn without_a_server_the_demo_runs_its_own_cluster_and_removes_it() {
    let out = pgq_cmd(
        &[
            "--dsn",
            "postgres://postgres@127.0.0.1:1/postgres",
            "--headless",
            "demo",
            "--duration",
            "4s",
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("starting a throwaway cluster"), "{err}");
    let dir = err
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(" (removed on exit)").next())
        .unwrap_or_else(|| panic!("no cluster directory in:\n{err}"))
        .to_string();
    assert!(dir.contains("pgq-demo-"), "{dir}");
    assert!(!std::path::Path::new(&dir).exists(), "{dir} was removed");
    let left = std::process::Command::new("pgrep")
        .args(["-f", &dir])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "no server left running for {dir}"
    );
    assert!(totals(&stdout(&out))[1] > 0, "{}", stdout(&out));
}

#[test]
fn bad_demo_names_are_usage_errors() {
    let out = pgq_cmd(
        &[
            "--dsn",
            &admin_dsn(),
            "--headless",
            "demo",
            "--name",
            "Robert'); DROP",
        ],
        &[],
    )
    .output()
    .unwrap();
    assert_exit(&out, 2);
    let out = pgq_cmd(&["demo", "--rate", "0"], &[]).output().unwrap();
    assert_exit(&out, 2);
}

#[test]
fn the_demo_console_shows_moving_numbers_and_events() {
    ensure_server();
    let name = unique("pgq_demo_c");
    let mut console = Console::start(&admin_dsn(), &["demo", "--name", &name, "--rate", "40"]);
    let ok_total = |s: &str| -> Option<i64> {
        row(s, "total")
            .and_then(|r| r.split_whitespace().nth(5))
            .and_then(|n| n.replace(',', "").parse().ok())
    };
    let first = console.wait_for(
        "the Stats tab with finished jobs",
        Duration::from_secs(30),
        |s| ok_total(s).is_some_and(|n| n > 0),
    );
    let before = ok_total(&first).unwrap();
    console.wait_for("the numbers to move", Duration::from_secs(20), |s| {
        ok_total(s).is_some_and(|n| n > before)
    });
    console.press("3");
    console.wait_for("live events", Duration::from_secs(10), |s| {
        s.contains("table_changed_event")
    });
    console.press("9");
    console.wait_for("the Worker tab", Duration::from_secs(10), |s| {
        s.contains("In flight") && s.contains("finished")
    });
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(30)), Some(0));
    assert_eq!(databases_like(&name), 0, "the demo database is gone");
    let left = std::process::Command::new("pgrep")
        .args(["-f", &name])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "nothing of the demo runs"
    );
}
