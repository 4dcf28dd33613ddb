//! Python PGQueuer 1.6.0's positive flag forms (`--create-schema`,
//! `--widen-id`, `--no-rollback`) are accepted with Python's meaning, beside
//! pgq's negative forms; given both, the last one wins.

use crate::common::{TestDb, assert_exit, pgq_cmd, stdout};

fn sql(args: &[&str]) -> String {
    let out = pgq_cmd(args, &[]).output().expect("run pgq");
    assert_exit(&out, 0);
    stdout(&out)
}

#[test]
fn sql_install_create_schema_is_the_default_and_last_flag_wins() {
    let create = "CREATE SCHEMA IF NOT EXISTS jobs;";
    let default = sql(&["--schema", "jobs", "sql", "install"]);
    assert!(default.contains(create));
    assert_eq!(
        sql(&["--schema", "jobs", "sql", "install", "--create-schema"]),
        default
    );
    assert_eq!(
        sql(&[
            "--schema",
            "jobs",
            "sql",
            "install",
            "--no-create-schema",
            "--create-schema"
        ]),
        default
    );
    let without = sql(&[
        "--schema",
        "jobs",
        "sql",
        "install",
        "--create-schema",
        "--no-create-schema",
    ]);
    assert!(!without.contains(create), "{without}");
}

#[test]
fn sql_upgrade_widen_id_is_the_default_and_last_flag_wins() {
    let default = sql(&["sql", "upgrade"]);
    let narrow = sql(&["sql", "upgrade", "--no-widen-id"]);
    assert_ne!(default, narrow);
    assert_eq!(sql(&["sql", "upgrade", "--widen-id"]), default);
    assert_eq!(
        sql(&["sql", "upgrade", "--no-widen-id", "--widen-id"]),
        default
    );
    assert_eq!(
        sql(&["sql", "upgrade", "--widen-id", "--no-widen-id"]),
        narrow
    );
}

#[test]
fn sql_autovac_no_rollback_applies_the_settings() {
    let apply = sql(&["sql", "autovac"]);
    let rollback = sql(&["sql", "autovac", "--rollback"]);
    assert!(apply.contains(" SET ("), "{apply}");
    assert!(rollback.contains(" RESET ("), "{rollback}");
    assert_eq!(sql(&["sql", "autovac", "--no-rollback"]), apply);
    assert_eq!(
        sql(&["sql", "autovac", "--rollback", "--no-rollback"]),
        apply
    );
    assert_eq!(
        sql(&["sql", "autovac", "--no-rollback", "--rollback"]),
        rollback
    );
    // The connected command's dry run takes the same flags.
    assert_eq!(
        sql(&["autovac", "--dry-run", "--no-rollback"]),
        sql(&["autovac", "--dry-run"])
    );
}

#[tokio::test]
async fn install_create_schema_creates_the_schema() {
    let db = TestDb::new();
    // The later --no-create-schema wins: the schema is missing, so it fails cleanly.
    let refused = db.pgq(&[
        "--schema",
        "jobs",
        "install",
        "--create-schema",
        "--no-create-schema",
    ]);
    assert_exit(&refused, 1);
    let out = db.pgq(&[
        "--schema",
        "jobs",
        "install",
        "--no-create-schema",
        "--create-schema",
    ]);
    assert_exit(&out, 0);
    let client = db.client().await;
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'jobs' AND tablename LIKE 'pgqueuer%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 4);
}

#[tokio::test]
async fn upgrade_widen_id_beats_the_environment() {
    let db = TestDb::installed();
    db.client()
        .await
        .batch_execute("ALTER TABLE pgqueuer ALTER COLUMN id TYPE integer")
        .await
        .unwrap();
    let env = [("PGQUEUER_WIDEN_ID", "false")];
    let plan = |args: &[&str]| {
        let out = db.pgq_env(args, &env);
        assert_exit(&out, 0);
        stdout(&out)
    };
    let widens = |text: &str| text.contains("ALTER COLUMN id TYPE bigint");
    assert!(!widens(&plan(&["upgrade", "--plan"])));
    let forced = plan(&["upgrade", "--plan", "--widen-id"]);
    assert!(widens(&forced), "{forced}");
    assert!(!widens(&plan(&[
        "upgrade",
        "--plan",
        "--widen-id",
        "--no-widen-id"
    ])));
    let out = db.pgq_env(&["upgrade", "--widen-id"], &env);
    assert_exit(&out, 0);
    let kind: String = db
        .client()
        .await
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'pgqueuer'::regclass AND attname = 'id'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kind, "bigint");
}

#[tokio::test]
async fn autovac_no_rollback_applies_the_settings() {
    let db = TestDb::installed();
    let options = || async {
        let row = db
            .client()
            .await
            .query_one(
                "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE oid = 'pgqueuer'::regclass",
                &[],
            )
            .await
            .unwrap();
        row.get::<_, String>(0)
    };
    assert_exit(&db.pgq(&["autovac", "--no-rollback"]), 0);
    assert!(
        options()
            .await
            .contains("autovacuum_vacuum_scale_factor=0.01")
    );
    assert_exit(&db.pgq(&["autovac", "--no-rollback", "--rollback"]), 0);
    assert_eq!(options().await, "");
}
