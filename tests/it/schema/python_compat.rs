//! Compatibility with the real Python PGQueuer 1.6.0 in both directions.

use crate::common;

use common::{TestDb, assert_exit, catalog_dump, stderr, stdout};

/// pgq installs; Python's verify passes and Python's planner proposes nothing
/// but (at most) replacing the trigger function's text with its own.
#[tokio::test]
async fn python_accepts_every_pgq_install_variant() {
    let variants = [
        ("durable", "", ""),
        ("balanced", "", ""),
        ("volatile", "", ""),
        ("durable", "app_", ""),
        ("durable", "", "jobs"),
        ("balanced", "app_", "jobs"),
    ];
    for (durability, prefix, schema) in variants {
        let ctx = format!("durability={durability} prefix={prefix:?} schema={schema:?}");
        let db = TestDb::new();
        let env = [
            ("PGQUEUER_PREFIX", prefix),
            ("PGQUEUER_SCHEMA", schema),
            ("PGQUEUER_DURABILITY", durability),
        ];
        let out = db.pgq_env(&["install", "--durability", durability], &env);
        assert_exit(&out, 0);

        let out = db.python_pgq(&["verify", "--expect", "present"], &env);
        assert_exit(&out, 0);
        assert_eq!(
            stdout(&out),
            "All required PgQueuer database objects are present.\n",
            "{ctx}"
        );

        let out = db.python_pgq(&["upgrade", "--plan"], &env);
        assert_exit(&out, 0);
        let plan = stdout(&out);
        assert!(
            stderr(&out).contains("Would apply 1 statement."),
            "{ctx}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("note:"), "{ctx}: {}", stderr(&out));
        // Top-level statements start at column 0 (the `pgq sql` contract).
        let statements: Vec<&str> = plan
            .lines()
            .filter(|l| {
                ["CREATE", "ALTER", "DROP", "DO", "WITH"]
                    .iter()
                    .any(|k| l.starts_with(k))
            })
            .collect();
        assert_eq!(statements.len(), 1, "{ctx}: {plan}");
        assert!(
            statements[0].starts_with("CREATE OR REPLACE FUNCTION"),
            "{ctx}: {plan}"
        );

        // After Python applies its function text, pgq still calls it current.
        assert_exit(&db.python_pgq(&["upgrade"], &env), 0);
        let out = db.pgq_env(&["upgrade", "--plan"], &env);
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), "", "{ctx}");
    }
}

/// Python installs; pgq's strict verify and planner accept it as current, and
/// the catalogs of both installers are identical (function text aside).
#[tokio::test]
async fn pgq_accepts_python_installs_and_the_catalogs_match() {
    for (durability, prefix, schema) in [
        ("durable", "", ""),
        ("balanced", "app_", "jobs"),
        ("volatile", "", ""),
    ] {
        let ctx = format!("durability={durability} prefix={prefix:?} schema={schema:?}");
        let env = [
            ("PGQUEUER_PREFIX", prefix),
            ("PGQUEUER_SCHEMA", schema),
            ("PGQUEUER_DURABILITY", durability),
        ];
        let python_db = TestDb::new();
        let out = python_db.python_pgq(&["install", "--durability", durability], &env);
        assert_exit(&out, 0);

        let out = python_db.pgq_env(&["verify", "--expect", "present", "--strict"], &env);
        assert_exit(&out, 0);
        let out = python_db.pgq_env(&["upgrade", "--plan"], &env);
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), "", "{ctx}");
        assert!(
            stderr(&out).contains("already up to date"),
            "{ctx}: {}",
            stderr(&out)
        );

        let pgq_db = TestDb::new();
        assert_exit(
            &pgq_db.pgq_env(&["install", "--durability", durability], &env),
            0,
        );
        let ns = if schema.is_empty() { "public" } else { schema };
        assert_eq!(
            catalog_dump(&pgq_db.client().await, ns).await,
            catalog_dump(&python_db.client().await, ns).await,
            "{ctx}"
        );

        // And pgq uninstalls what Python installed.
        assert_exit(&python_db.pgq_env(&["uninstall"], &env), 0);
        let out = python_db.python_pgq(&["verify", "--expect", "absent"], &env);
        assert_exit(&out, 0);
    }
}

/// A Python 1.6.0 worker enqueues and processes jobs on a pgq-installed
/// database, in priority order, and logs them the way Python expects.
#[tokio::test]
async fn python_worker_runs_jobs_on_a_pgq_install() {
    for (prefix, schema) in [("", ""), ("app_", "jobs")] {
        let db = TestDb::new();
        let env = [("PGQUEUER_PREFIX", prefix), ("PGQUEUER_SCHEMA", schema)];
        assert_exit(&db.pgq_env(&["install"], &env), 0);
        let out = db.python(common::fixtures::GREET_WORKER, &env);
        assert!(
            out.status.success(),
            "python worker failed:\n{}",
            stderr(&out)
        );
        let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(
            report["seen"],
            serde_json::json!(["world", "hello"]),
            "priority order"
        );

        let client = db.client().await;
        let ns = if schema.is_empty() {
            "public".to_string()
        } else {
            schema.to_string()
        };
        let log = format!("{ns}.{prefix}pgqueuer_log");
        let queue = format!("{ns}.{prefix}pgqueuer");
        let rows = client
            .query(
                &format!("SELECT status::text, count(*) FROM {log} GROUP BY 1 ORDER BY 1"),
                &[],
            )
            .await
            .unwrap();
        let counts: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(
            counts,
            vec![
                ("picked".into(), 2),
                ("queued".into(), 2),
                ("successful".into(), 2)
            ]
        );
        let left: i64 = client
            .query_one(&format!("SELECT count(*) FROM {queue}"), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(left, 0);
    }
}
