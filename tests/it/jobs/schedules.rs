//! `pgq schedules` against rows written by a real Python PGQueuer 1.6.0
//! `SchedulerManager`, and cron parity with the croniter PGQueuer uses.

use crate::common;

use common::{TestDb, assert_exit, stderr, stdout};

/// Registers four schedules and runs the scheduler until the every-3-seconds
/// one has fired (and got a `last_run`), 60 s at most: on a loaded machine
/// a fixed 4 s run sometimes ended before the first fire.
fn with_python_schedules() -> TestDb {
    let db = TestDb::installed();
    assert_exit(
        &common::python_schedules_until(
            &db,
            &[
                ("nightly", "0 3 * * *"),
                ("nightly", "@hourly"),
                ("weekdays", "0 9 * * MON-FRI"),
                ("fast", "* * * * * */3"),
            ],
            "60",
            "fast",
        ),
        0,
    );
    db
}

fn listing(db: &TestDb) -> Vec<serde_json::Value> {
    let out = db.pgq(&["--json", "schedules"]);
    assert_exit(&out, 0);
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn id_of(rows: &[serde_json::Value], entrypoint: &str, expression: &str) -> i64 {
    rows.iter()
        .find(|r| r["entrypoint"] == entrypoint && r["expression"] == expression)
        .and_then(|r| r["id"].as_i64())
        .unwrap_or_else(|| panic!("no row {entrypoint} {expression}: {rows:?}"))
}

/// Checks, with the venv's croniter, that each row's first fire time is
/// croniter's next after some instant in [T0, T1] and the rest follow it.
#[test]
fn lists_python_registered_schedules_as_json_with_croniter_fire_times() {
    let db = with_python_schedules();
    let t0 = chrono::Utc::now();
    let rows = listing(&db);
    let t1 = chrono::Utc::now();
    assert_eq!(rows.len(), 4, "{rows:?}");
    // Normalised by PGQueuer before storage.
    id_of(&rows, "nightly", "0 3 * * *");
    id_of(&rows, "nightly", "0 * * * *");
    id_of(&rows, "weekdays", "0 9 * * mon-fri");
    id_of(&rows, "fast", "* * * * * */3");
    // ORDER BY last_run ASC: the one that ran comes first, never-run rows last.
    assert_eq!(rows[0]["entrypoint"], "fast");
    assert!(rows[0]["last_run"].is_string(), "{:?}", rows[0]);
    assert!(rows[1..].iter().all(|r| r["last_run"].is_null()));
    for row in &rows {
        for key in ["heartbeat", "created", "updated", "next_run"] {
            let value = row[key].as_str().unwrap_or_default();
            assert!(value.ends_with('Z'), "{key}: {row:?}");
        }
        assert_eq!(row["status"], "queued");
    }
    let out = db.python(
        common::fixtures::CHECK_FIRE_TIMES,
        &[
            ("ROWS", &serde_json::to_string(&rows).expect("json")),
            ("T0", &t0.to_rfc3339()),
            ("T1", &t1.to_rfc3339()),
        ],
    );
    assert_exit(&out, 0);
}

#[test]
fn lists_schedules_as_a_text_table() {
    let db = with_python_schedules();
    let out = db.pgq_env(&["schedules"], &[("TZ", "UTC")]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    let header = text.lines().nth(1).unwrap_or_default();
    for column in [
        "id",
        "expression",
        "heartbeat",
        "created",
        "updated",
        "next_run",
        "last_run",
        "status",
        "entrypoint",
        "next fires",
    ] {
        assert!(header.contains(column), "{column} missing: {text}");
    }
    assert!(text.contains("0 9 * * mon-fri"), "{text}");
    assert!(text.contains("weekdays"), "{text}");
    // Python's str(datetime) in local time (TZ=UTC here).
    assert!(text.contains("+00:00"), "{text}");
    // next_run is whole seconds (date_trunc), so Python prints no fraction.
    let rows = listing(&db);
    let next_run = rows[0]["next_run"].as_str().unwrap_or_default();
    let next_run = chrono::DateTime::parse_from_rfc3339(next_run).expect("iso next_run");
    let python_str = next_run.format("%Y-%m-%d %H:%M:%S+00:00").to_string();
    assert!(text.contains(&python_str), "{python_str} not in {text}");
}

#[test]
fn remove_by_id_and_entrypoint_in_one_go() {
    let db = with_python_schedules();
    let rows = listing(&db);
    let weekdays = id_of(&rows, "weekdays", "0 9 * * mon-fri").to_string();
    let out = db.pgq(&["schedules", "--remove", &weekdays, "--remove", "nightly"]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.starts_with("Removed 3 schedules: "), "{err}");
    assert!(
        err.contains(&format!("{weekdays} (0 9 * * mon-fri weekdays)")),
        "{err}"
    );
    // The remaining listing is printed afterwards, like Python.
    assert!(stdout(&out).contains("fast"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("nightly"), "{}", stdout(&out));
    let left = listing(&db);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["entrypoint"], "fast");
}

#[test]
fn unknown_ref_fails_and_removes_nothing_unless_ignored() {
    let db = with_python_schedules();
    let out = db.pgq(&[
        "schedules",
        "--remove",
        "fast",
        "--remove",
        "nosuch",
        "-r",
        "999999",
    ]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("'nosuch'") && err.contains("'999999'"),
        "{err}"
    );
    assert!(err.contains("nothing was removed"), "{err}");
    assert_eq!(listing(&db).len(), 4, "nothing removed");

    let out = db.pgq(&[
        "schedules",
        "--remove",
        "fast",
        "--remove",
        "nosuch",
        "--ignore-missing",
    ]);
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("Removed 1 schedule: "), "{err}");
    assert!(err.contains("note: no schedule matches 'nosuch'"), "{err}");
    assert_eq!(listing(&db).len(), 3);
}

#[test]
fn empty_table_and_missing_schema() {
    let db = TestDb::new();
    let out = db.pgq(&["schedules"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("pgq install"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pgqueuer_schedules"),
        "{}",
        stderr(&out)
    );

    assert_exit(&db.pgq(&["install"]), 0);
    let out = db.pgq(&["schedules"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "No schedules.\n");
    let out = db.pgq(&["--json", "schedules"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), "[]");
}

/// Prints, per input line, croniter's normalised form and the next three fire
/// times after a fixed instant, exactly as PGQueuer 1.6.0 calls croniter.
#[test]
fn cron_normalisation_and_fire_times_match_croniter() {
    let exprs = [
        "@hourly",
        "@daily",
        "@weekly",
        "@monthly",
        "@yearly",
        "@midnight",
        "0 9 * * MON-FRI",
        "* * * * * */3",
        "*/3 * * * * *",
        "0 0 1 JAN *",
        "*/15 9-17 * * mon-fri",
        "0 0 L * *",
        "0 12 * * 5#3",
        "0 0 * * sat-sun",
        "0 0 */2 * 1",
        "30 4 1,15 * 5",
        "0 0 * * 7-1",
        "@reboot",
        "61 * * * *",
        "* * * *",
    ];
    let db = TestDb::new();
    let out = db.python(common::fixtures::CRON_TABLE, &[("EXPRS", &exprs.join("|"))]);
    assert_exit(&out, 0);
    let start = chrono::DateTime::parse_from_rfc3339("2026-03-14T15:09:26Z")
        .expect("start")
        .with_timezone(&chrono::Utc);
    for (expr, line) in exprs.iter().zip(stdout(&out).lines()) {
        if line == "INVALID" {
            assert!(
                pgq::cron::normalize(expr).is_err(),
                "{expr:?} should be invalid"
            );
            continue;
        }
        let (norm, fires) = line.split_once('|').expect("norm|fires");
        assert_eq!(pgq::cron::normalize(expr).as_deref(), Ok(norm), "{expr:?}");
        let ours: Vec<String> = pgq::cron::next_fires(norm, start, 3)
            .unwrap_or_else(|e| panic!("{expr:?}: {e}"))
            .iter()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .collect();
        assert_eq!(ours.join(","), fires, "{expr:?}");
    }
}
