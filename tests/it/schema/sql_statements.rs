//! `pgq sql statement NAME` (hidden; the benchmarks' pgbench scripts use it)
//! prints exactly the statement pgq runs, names filled the same way.

use crate::common;

use common::{assert_exit, pgq_cmd, stderr, stdout};
use pgq::db::statements::Statement;
use pgq::settings::names::ObjectNames;
use pgq::worker::sql;

fn printed(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = pgq_cmd(args, env).output().unwrap();
    assert_exit(&out, 0);
    stdout(&out)
}

/// What the worker sends, by the statement's file name.
fn worker_statements(n: &ObjectNames) -> Vec<(&'static str, String)> {
    vec![
        ("dequeue", sql::dequeue(n, false, false)),
        ("dequeue_capacity", sql::dequeue(n, true, false)),
        ("dequeue_budget", sql::dequeue(n, false, true)),
        ("dequeue_capacity_budget", sql::dequeue(n, true, true)),
        ("log_jobs", sql::log_jobs(n)),
        ("heartbeat", sql::heartbeat(n)),
        ("retry", sql::retry(n)),
        ("return_to_queue", sql::return_to_queue(n)),
        ("work_probe", sql::work_probe(n)),
        ("aggregate_logs", sql::aggregate_logs(n)),
        ("verify_structure", sql::verify_structure(n)),
        ("insert_schedules", sql::insert_schedules(n)),
        ("fetch_schedules", sql::fetch_schedules(n)),
        ("schedule_heartbeat", sql::schedule_heartbeat(n)),
        ("schedule_done", sql::schedule_done(n)),
        ("delete_schedules", sql::delete_schedules(n)),
    ]
}

/// Flags, environment, and the names they resolve to.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], ObjectNames);

#[test]
fn printed_statements_are_what_the_worker_runs() {
    let cases: [Case; 3] = [
        (&[], &[], ObjectNames::default()),
        (
            &["--prefix", "app_", "--schema", "jobs"],
            &[],
            ObjectNames::with_prefix("app_", Some("jobs")).unwrap(),
        ),
        (
            &[],
            &[("PGQUEUER_PREFIX", "env_"), ("PGQUEUER_SCHEMA", "q")],
            ObjectNames::with_prefix("env_", Some("q")).unwrap(),
        ),
    ];
    for (flags, env, names) in cases {
        for (name, runs) in worker_statements(&names) {
            let mut args = flags.to_vec();
            args.extend(["sql", "statement", name]);
            assert_eq!(printed(&args, env), runs + "\n", "{name} with {names}");
        }
    }
}

#[test]
fn every_statement_can_be_printed() {
    let names = ObjectNames::with_prefix("app_", Some("jobs")).unwrap();
    for statement in Statement::ALL {
        let text = printed(
            &[
                "--prefix",
                "app_",
                "--schema",
                "jobs",
                "sql",
                "statement",
                statement.name(),
            ],
            &[],
        );
        assert_eq!(text, statement.render(&names) + "\n");
    }
}

#[test]
fn an_unknown_statement_is_a_usage_error() {
    let out = pgq_cmd(&["sql", "statement", "dequeu"], &[])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).contains("no statement \"dequeu\" in sql/"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_statement_command_is_hidden() {
    let out = pgq_cmd(&["sql", "--help"], &[]).output().unwrap();
    assert_exit(&out, 0);
    // Not among the subcommands (option help may well say "statement").
    let text = stdout(&out);
    let commands = text
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .unwrap_or_default();
    assert!(
        !commands
            .lines()
            .any(|l| l.trim_start().starts_with("statement")),
        "{text}"
    );
}
