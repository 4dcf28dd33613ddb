//! Schema lifecycle against a real PostgreSQL: install, verify, upgrade,
//! alter-durability, autovac, uninstall — every durability, with and without
//! prefix and schema.

use crate::common;

use common::{TestDb, assert_exit, stderr, stdout};

/// (prefix, schema) combinations every lifecycle test walks through.
const NAMINGS: [(&str, &str); 4] = [("", ""), ("app_", ""), ("", "jobs"), ("app_", "jobs")];

fn naming_args<'a>(prefix: &'a str, schema: &'a str) -> Vec<&'a str> {
    let mut args = vec![];
    if !prefix.is_empty() {
        args.extend(["--prefix", prefix]);
    }
    if !schema.is_empty() {
        args.extend(["--schema", schema]);
    }
    args
}

fn with<'a>(base: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(rest).copied().collect()
}

async fn persistence(db: &TestDb, prefix: &str, schema: &str) -> Vec<(String, String)> {
    let client = db.client().await;
    let schema = if schema.is_empty() { "public" } else { schema };
    let tables: Vec<String> = [
        "pgqueuer",
        "pgqueuer_log",
        "pgqueuer_statistics",
        "pgqueuer_schedules",
    ]
    .iter()
    .map(|t| format!("{prefix}{t}"))
    .collect();
    client
        .query(
            "SELECT c.relname::text, c.relpersistence::text FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = ANY($2) ORDER BY c.relname",
            &[&schema, &tables],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

async fn lifecycle(durability: &str, expected: [&str; 4]) {
    for (prefix, schema) in NAMINGS {
        let db = TestDb::new();
        let base = naming_args(prefix, schema);
        let ctx = format!("durability={durability} prefix={prefix:?} schema={schema:?}");

        let out = db.pgq(&with(&base, &["install", "--durability", durability]));
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), "", "{ctx}");
        assert!(
            stderr(&out).contains(&format!(
                "Installed PgQueuer schema (durability={durability})."
            )),
            "{ctx}: {}",
            stderr(&out)
        );

        let out = db.pgq(&with(&base, &["verify", "--expect", "present", "--strict"]));
        assert_exit(&out, 0);
        assert_eq!(
            stdout(&out),
            "All required PgQueuer database objects are present.\n",
            "{ctx}"
        );

        // Log, schedules, statistics, queue in name order; 'u' = UNLOGGED.
        let found = persistence(&db, prefix, schema).await;
        let by_name = |suffix: &str| {
            found
                .iter()
                .find(|(n, _)| *n == format!("{prefix}pgqueuer{suffix}"))
                .map(|(_, p)| p.clone())
                .unwrap_or_else(|| panic!("{ctx}: table {suffix} missing"))
        };
        let actual = [
            by_name(""),
            by_name("_log"),
            by_name("_statistics"),
            by_name("_schedules"),
        ];
        assert_eq!(actual, expected.map(String::from), "{ctx}");

        let env = [("PGQUEUER_DURABILITY", durability)];
        let out = db.pgq_env(&with(&base, &["upgrade", "--plan"]), &env);
        assert_exit(&out, 0);
        assert_eq!(
            stdout(&out),
            "",
            "{ctx}: plan on a fresh install must be empty"
        );
        assert!(
            stderr(&out).contains("PgQueuer schema is already up to date."),
            "{ctx}"
        );
        let out = db.pgq_env(&with(&base, &["upgrade"]), &env);
        assert_exit(&out, 0);
        assert!(!stderr(&out).contains("note:"), "{ctx}: {}", stderr(&out));

        let out = db.pgq(&with(&base, &["uninstall"]));
        assert_exit(&out, 0);
        assert!(stderr(&out).contains("Uninstalled PgQueuer schema."));
        let out = db.pgq(&with(&base, &["verify", "--expect", "absent", "--strict"]));
        assert_exit(&out, 0);
        assert_eq!(
            stdout(&out),
            "No PgQueuer database objects found\n",
            "{ctx}"
        );
        let out = db.pgq(&with(&base, &["verify", "--expect", "present"]));
        assert_exit(&out, 1);
        let expected_missing = format!("missing table '{prefix}pgqueuer'");
        assert!(
            stdout(&out).lines().any(|l| l == expected_missing),
            "{ctx}: {}",
            stdout(&out)
        );
    }
}

#[tokio::test]
async fn lifecycle_durable() {
    lifecycle("durable", ["p", "p", "p", "p"]).await;
}

#[tokio::test]
async fn lifecycle_balanced() {
    lifecycle("balanced", ["p", "u", "u", "p"]).await;
}

#[tokio::test]
async fn lifecycle_volatile() {
    lifecycle("volatile", ["u", "u", "u", "u"]).await;
}

async fn seed_rows(db: &TestDb) {
    let client = db.client().await;
    client
        .batch_execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint, payload, headers)
               SELECT i % 7, 'queued', 'ep' || (i % 3), convert_to('job ' || i, 'UTF8'), '{\"k\": 1}'
               FROM generate_series(1, 500) i;
             INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint)
               SELECT i, 'successful', 0, 'ep' FROM generate_series(1, 300) i;
             INSERT INTO pgqueuer_statistics (count, priority, status, entrypoint, created)
               SELECT 1, i, 'successful', 'ep', now() - i * interval '1 second' FROM generate_series(1, 50) i;
             INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'cron1'), ('0 * * * *', 'cron2');",
        )
        .await
        .unwrap();
}

async fn row_counts(db: &TestDb) -> Vec<i64> {
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pgqueuer), (SELECT count(*) FROM pgqueuer_log),
                    (SELECT count(*) FROM pgqueuer_statistics), (SELECT count(*) FROM pgqueuer_schedules),
                    (SELECT sum(length(payload)) FROM pgqueuer)",
            &[],
        )
        .await
        .unwrap();
    (0..5)
        .map(|i| row.get::<_, Option<i64>>(i).unwrap_or(0))
        .collect()
}

#[tokio::test]
async fn alter_durability_between_all_levels_keeps_every_row() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    seed_rows(&db).await;
    let before = row_counts(&db).await;
    let levels = ["volatile", "balanced", "durable"];
    let expected = |level: &str| -> Vec<(String, String)> {
        let (q, l, st, sc) = match level {
            "volatile" => ("u", "u", "u", "u"),
            "balanced" => ("p", "u", "u", "p"),
            _ => ("p", "p", "p", "p"),
        };
        vec![
            ("pgqueuer".into(), q.into()),
            ("pgqueuer_log".into(), l.into()),
            ("pgqueuer_schedules".into(), sc.into()),
            ("pgqueuer_statistics".into(), st.into()),
        ]
    };
    for from in levels {
        for to in levels {
            assert_exit(&db.pgq(&["alter-durability", from]), 0);
            assert_eq!(persistence(&db, "", "").await, expected(from));
            let out = db.pgq(&["durability", to]);
            assert_exit(&out, 0);
            assert_eq!(
                persistence(&db, "", "").await,
                expected(to),
                "{from} -> {to}"
            );
            assert_eq!(row_counts(&db).await, before, "{from} -> {to} lost rows");
            if from == to {
                assert!(
                    stderr(&out).contains("nothing to change"),
                    "{}",
                    stderr(&out)
                );
            } else {
                assert!(stderr(&out).contains(&format!("Set PgQueuer durability to {to}")));
            }
        }
    }
}

#[tokio::test]
async fn alter_durability_dry_run_prints_only_changing_tables_and_touches_nothing() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    let out = db.pgq(&["alter-durability", "balanced", "--dry-run"]);
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "ALTER TABLE pgqueuer_log SET UNLOGGED;\nALTER TABLE pgqueuer_statistics SET UNLOGGED;\n"
    );
    assert!(stderr(&out).contains("Would change pgqueuer_log: LOGGED -> UNLOGGED"));
    assert!(persistence(&db, "", "").await.iter().all(|(_, p)| p == "p"));
}

#[tokio::test]
async fn alter_durability_failure_changes_no_table() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    // Hold a lock on the statistics table so the third ALTER cannot finish
    // within lock_timeout; the first two must roll back with it.
    let blocker = db.client().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE pgqueuer_statistics IN ACCESS SHARE MODE;")
        .await
        .unwrap();
    let out = db.pgq(&["alter-durability", "volatile", "--lock-timeout", "0.5"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no table was changed"),
        "{}",
        stderr(&out)
    );
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert!(persistence(&db, "", "").await.iter().all(|(_, p)| p == "p"));
}

#[tokio::test]
async fn install_refuses_a_complete_or_partial_installation() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    let out = db.pgq(&["install"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains("already installed"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("pgq upgrade"));

    let client = db.client().await;
    client
        .batch_execute("DROP TABLE pgqueuer_log; DROP TABLE pgqueuer_schedules;")
        .await
        .unwrap();
    let out = db.pgq(&["install"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("already installed"));

    // Upgrade completes the partial installation.
    let out = db.pgq(&["upgrade"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Applied"), "{}", stderr(&out));
    assert_exit(&db.pgq(&["verify", "--expect", "present", "--strict"]), 0);
}

#[tokio::test]
async fn upgrade_installs_into_an_empty_database_and_is_idempotent() {
    let db = TestDb::new();
    let out = db.pgq(&["--schema", "jobs", "upgrade"]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("Applied 21 statements."),
        "{}",
        stderr(&out)
    );
    let out = db.pgq(&["--schema", "jobs", "upgrade"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("already up to date"));
    assert_exit(
        &db.pgq(&[
            "--schema", "jobs", "verify", "--expect", "present", "--strict",
        ]),
        0,
    );
}

#[tokio::test]
async fn upgrade_plans_and_applies_exactly_the_delta() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    let client = db.client().await;
    client
        .batch_execute("DROP INDEX pgqueuer_ep_ea_idx")
        .await
        .unwrap();

    let out = db.pgq(&["verify", "--expect", "present", "--strict"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "missing index pgqueuer_ep_ea_idx\n");

    let out = db.pgq(&["upgrade", "--plan"]);
    assert_exit(&out, 0);
    let plan = stdout(&out);
    assert!(plan.starts_with("-- pgqueuer "), "{plan}");
    assert_eq!(plan.matches("CREATE INDEX").count(), 1, "{plan}");
    assert!(plan.contains("CREATE INDEX pgqueuer_ep_ea_idx ON pgqueuer USING btree (entrypoint, execute_after) WHERE (status = 'queued'::pgqueuer_status);"));
    assert!(stderr(&out).contains("Would apply 1 statement."));
    // Planning changed nothing.
    assert_exit(&db.pgq(&["verify", "--expect", "present", "--strict"]), 1);

    let out = db.pgq(&["upgrade"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Applied 1 statement."));
    let out = db.pgq(&["upgrade"]);
    assert!(stderr(&out).contains("already up to date"));
}

#[tokio::test]
async fn upgrade_reports_drift_without_applying_anything() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    let client = db.client().await;
    client
        .batch_execute(
            "ALTER TABLE pgqueuer ALTER COLUMN payload TYPE text; DROP INDEX pgqueuer_ep_ea_idx;",
        )
        .await
        .unwrap();
    let out = db.pgq(&["upgrade"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains(
            "pgqueuer.payload is text in the database but declared bytea; no supported conversion"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
    // Nothing applied: the missing index is still missing.
    let missing: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = 'pgqueuer_ep_ea_idx'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(missing, 0);
    let out = db.pgq(&["verify", "--expect", "present", "--strict"]);
    assert_exit(&out, 1);
    assert!(stdout(&out).contains("no supported conversion"));
}

#[tokio::test]
async fn upgrade_waits_for_another_upgrade_holding_the_lock() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    let client = db.client().await;
    client
        .batch_execute("DROP INDEX pgqueuer_ep_ea_idx")
        .await
        .unwrap();
    // PGQueuer's key for the unqualified default installation.
    client
        .execute("SELECT pg_advisory_lock(2389487409)", &[])
        .await
        .unwrap();

    let child = common::pgq_cmd(&["upgrade"], &[])
        .env("PGDSN", db.dsn())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // While the lock is held the upgrade must wait, not interleave.
    let mut waited = false;
    for _ in 0..50 {
        let waiting: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid::bigint = 2389487409",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            waited = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(waited, "upgrade did not wait on the advisory lock");
    let present: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = 'pgqueuer_ep_ea_idx'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(present, 0, "upgrade ran while the lock was held");
    client
        .execute("SELECT pg_advisory_unlock(2389487409)", &[])
        .await
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("Waiting for another upgrade"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Applied 1 statement."));
}

#[tokio::test]
async fn autovac_applies_and_rolls_back() {
    let db = TestDb::new();
    assert_exit(&db.pgq(&["install"]), 0);
    let out = db.pgq(&["autovac"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Applied recommended autovacuum settings."));
    let client = db.client().await;
    let options = |c: tokio_postgres::Row| c.get::<_, Option<Vec<String>>>(0);
    let row = client
        .query_one(
            "SELECT reloptions FROM pg_class WHERE relname = 'pgqueuer'",
            &[],
        )
        .await
        .unwrap();
    let opts = options(row).unwrap();
    assert!(opts.contains(&"fillfactor=70".to_string()), "{opts:?}");
    let row = client
        .query_one(
            "SELECT reloptions FROM pg_class WHERE relname = 'pgqueuer_log'",
            &[],
        )
        .await
        .unwrap();
    assert!(
        options(row)
            .unwrap()
            .contains(&"autovacuum_vacuum_threshold=1000000".to_string())
    );
    let out = db.pgq(&["autovac", "--rollback"]);
    assert_exit(&out, 0);
    assert!(stderr(&out).contains("Reset autovacuum settings to defaults."));
    let row = client
        .query_one(
            "SELECT reloptions FROM pg_class WHERE relname = 'pgqueuer'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(options(row), None);
}

#[test]
fn dry_runs_print_the_sql_of_the_offline_commands_without_connecting() {
    // An unreachable DSN proves these never connect.
    let env = [("PGDSN", "postgres://nobody@127.0.0.1:1/none")];
    for (dry, offline) in [
        (
            vec!["install", "--dry-run", "-d", "balanced"],
            vec!["sql", "install", "-d", "balanced"],
        ),
        (vec!["uninstall", "--dry-run"], vec!["sql", "uninstall"]),
        (
            vec!["autovac", "--dry-run", "--rollback"],
            vec!["sql", "autovac", "--rollback"],
        ),
    ] {
        let a = common::pgq_cmd(&dry, &env).output().unwrap();
        let b = common::pgq_cmd(&offline, &env).output().unwrap();
        assert_exit(&a, 0);
        assert_exit(&b, 0);
        assert_eq!(stdout(&a), stdout(&b), "{dry:?}");
        assert!(stdout(&a).ends_with(";\n"));
    }
}

/// PGQueuer 2.1: install falls back to PGQUEUER_DURABILITY when
/// `--durability` is absent, as the flag would; the flag still wins, and a
/// bad value is a usage error that names the variable and creates nothing.
#[tokio::test]
async fn install_takes_the_durability_from_pgqueuer_durability() {
    let balanced = [("PGQUEUER_DURABILITY", "balanced")];
    let db = TestDb::new();
    let out = db.pgq_env(&["install"], &balanced);
    assert_exit(&out, 0);
    let expected = [
        ("pgqueuer", "p"),
        ("pgqueuer_log", "u"),
        ("pgqueuer_schedules", "p"),
        ("pgqueuer_statistics", "u"),
    ]
    .map(|(t, p)| (t.to_string(), p.to_string()));
    assert_eq!(persistence(&db, "", "").await, expected);
    let printed = stdout(&db.pgq_env(&["sql", "install"], &balanced));
    assert!(
        printed.contains("CREATE UNLOGGED TABLE pgqueuer_log"),
        "{printed}"
    );

    let flag_wins = TestDb::new();
    let out = flag_wins.pgq_env(&["install", "-d", "durable"], &balanced);
    assert_exit(&out, 0);
    assert!(
        persistence(&flag_wins, "", "")
            .await
            .iter()
            .all(|(_, p)| p == "p")
    );

    let bad = TestDb::new();
    for args in [
        ["install"].as_slice(),
        &["install", "--dry-run"],
        &["upgrade"],
    ] {
        let out = bad.pgq_env(args, &[("PGQUEUER_DURABILITY", "sturdy")]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.starts_with("error: PGQUEUER_DURABILITY=\"sturdy\""),
            "{args:?}: {err}"
        );
        assert!(err.contains("volatile, balanced or durable"), "{err}");
    }
    assert!(
        persistence(&bad, "", "").await.is_empty(),
        "nothing created"
    );
}

/// PGQUEUER_WIDEN_ID must be a boolean: anything else used to mean "widen".
#[test]
fn upgrade_refuses_a_widen_id_that_is_not_a_boolean() {
    let db = TestDb::installed();
    for args in [["upgrade", "--plan"].as_slice(), &["sql", "upgrade"]] {
        let out = db.pgq_env(args, &[("PGQUEUER_WIDEN_ID", "maybe")]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).starts_with("error: PGQUEUER_WIDEN_ID=\"maybe\" is not a boolean"),
            "{}",
            stderr(&out)
        );
    }
    let out = db.pgq_env(
        &["upgrade", "--plan", "--no-widen-id"],
        &[("PGQUEUER_WIDEN_ID", "maybe")],
    );
    assert_exit(&out, 0);
}
