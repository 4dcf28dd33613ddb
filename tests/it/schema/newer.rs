//! A database carrying PGQueuer 2.x's schema changes (from its release
//! notes: 2.0's statistics index, 2.3's `cancel_requested` column and its
//! rebuilt dequeue index), built by hand on a pgq-installed and on a
//! Python-installed database. pgq reads it as usual but changes none of its
//! schema: every command that would is refused with exit 1 and the list of
//! what is newer, `verify` says "newer" (exit 3; `--strict` 1), `pgq run`
//! does not start unless told to, and the catalog's fingerprint is the same
//! after every command as before.

use crate::common;

use std::time::Duration;

use common::{TestDb, assert_exit, catalog_dump, stderr, stdout};
use tokio_postgres::Client;

const NOOP: &str = "[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n";

/// 2.3's additions, as its release notes describe them.
const SHAPE_2_3: &str = "
    ALTER TABLE pgqueuer ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
    CREATE INDEX pgqueuer_statistics_created ON pgqueuer_statistics (created);
    DROP INDEX pgqueuer_ep_prio_id_idx;
    CREATE INDEX pgqueuer_ep_prio_id_idx ON pgqueuer (entrypoint, priority DESC, execute_after, id)
        WHERE status = 'queued';";

/// Everything of the schema a command could change: the catalog dump, table
/// options (autovacuum settings) and function bodies.
async fn fingerprint(client: &Client) -> Vec<String> {
    let mut lines = catalog_dump(client, "public").await;
    let extra = client
        .query(
            "SELECT 'reloptions ' || c.relname || ' ' || coalesce(array_to_string(c.reloptions, ','), '')
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')
             UNION ALL
             SELECT 'function body ' || p.proname || ' ' || md5(p.prosrc)
               FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'public'",
            &[],
        )
        .await
        .expect("fingerprint");
    lines.extend(extra.iter().map(|r| r.get::<_, String>(0)));
    lines.sort();
    lines
}

async fn shaped(db: &TestDb) -> Client {
    let client = db.client().await;
    client.batch_execute(SHAPE_2_3).await.expect("2.3 shape");
    client
}

/// Every schema-changing command, dry runs and plans included.
const REFUSED: &[&[&str]] = &[
    &["upgrade"],
    &["upgrade", "--plan"],
    &["install"],
    &["uninstall"],
    &["alter-durability", "balanced"],
    &["alter-durability", "balanced", "--dry-run"],
    &["autovac"],
    &["autovac", "--rollback"],
];

async fn check_newer_database(db: &TestDb) {
    let client = shaped(db).await;
    let before = fingerprint(&client).await;
    for args in REFUSED {
        let out = db.pgq(args);
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("newer than 1.6.0")
                && err.contains("column pgqueuer.cancel_requested (PGQueuer 2.3.0)")
                && err.contains("index pgqueuer_statistics_created on pgqueuer_statistics")
                && err.contains("(PGQueuer 2.0.0)")
                && err.contains("index pgqueuer_ep_prio_id_idx: USING btree (entrypoint, priority DESC, execute_after, id)"),
            "{args:?}: {err}"
        );
        assert_eq!(
            fingerprint(&client).await,
            before,
            "{args:?} changed the schema"
        );
    }

    let verify = db.pgq(&["verify", "--expect", "present"]);
    assert_exit(&verify, 3);
    assert!(
        stdout(&verify).contains("newer than PGQueuer 1.6.0")
            && stdout(&verify).contains("cancel_requested"),
        "{}",
        stdout(&verify)
    );
    assert_exit(&db.pgq(&["verify", "--expect", "present", "--strict"]), 1);

    // Reads work, and so do the writes whose meaning 2.x did not change.
    let queued = db.pgq(&["--json", "queue", "ping", "{}"]);
    assert_exit(&queued, 0);
    let id: serde_json::Value = serde_json::from_str(stdout(&queued).trim()).unwrap();
    let id = id["id"].as_i64().unwrap().to_string();
    for args in [
        vec!["dashboard"],
        vec!["jobs"],
        vec!["job", id.as_str()],
        vec!["workers"],
        vec!["backlog"],
        vec!["failed"],
        vec!["stale"],
        vec!["schedules"],
        vec!["--json", "jobs", "--search", "x"],
    ] {
        let out = db.pgq(&args);
        assert_exit(&out, 0);
    }
    assert_eq!(
        fingerprint(&client).await,
        before,
        "a read changed the schema"
    );

    // A worker knows 1.6.0: it does not start on a newer schema…
    let manifest = common::manifest_file(NOOP);
    let path = manifest.path().to_str().unwrap();
    let refused = db.pgq(&["--headless", "run", path, "--mode", "drain"]);
    assert_exit(&refused, 1);
    assert!(
        stderr(&refused).contains("newer than 1.6.0")
            && stderr(&refused).contains("--allow-newer-schema"),
        "{}",
        stderr(&refused)
    );
    // …unless told to, at the operator's risk.
    let ran = db.pgq(&[
        "--headless",
        "run",
        path,
        "--mode",
        "drain",
        "--dequeue-timeout",
        "1",
        "--allow-newer-schema",
    ]);
    assert_exit(&ran, 0);
    assert!(
        common::wait_for_successful(&client, 1, Duration::from_secs(30)).await,
        "the job ran"
    );
    assert_eq!(
        fingerprint(&client).await,
        before,
        "a worker changed the schema"
    );
}

#[tokio::test]
async fn a_pgq_installed_database_with_2_3_changes_is_read_never_changed() {
    let db = TestDb::installed();
    check_newer_database(&db).await;
}

#[tokio::test]
async fn a_python_installed_database_with_2_3_changes_is_read_never_changed() {
    let db = TestDb::new();
    let out = db.python_pgq(&["install"], &[]);
    assert!(out.status.success(), "python install: {}", stderr(&out));
    check_newer_database(&db).await;
}

/// The same database without the additions is 1.6.0 again: nothing is
/// newer, and the schema commands work (the refusal is about the objects).
#[tokio::test]
async fn an_unknown_extra_column_is_newer_too_and_removing_it_ends_the_refusal() {
    let db = TestDb::installed();
    let client = db.client().await;
    client
        .batch_execute("ALTER TABLE pgqueuer_log ADD COLUMN tenant text")
        .await
        .unwrap();
    let out = db.pgq(&["upgrade", "--plan"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("column pgqueuer_log.tenant (no PGQueuer release pgq knows)"),
        "{}",
        stderr(&out)
    );
    client
        .batch_execute("ALTER TABLE pgqueuer_log DROP COLUMN tenant")
        .await
        .unwrap();
    assert_exit(&db.pgq(&["upgrade", "--plan"]), 0);
    assert_exit(&db.pgq(&["verify", "--expect", "present", "--strict"]), 0);
}

/// The real console on a 2.3-shaped database says so in its status bar and
/// on the Stats tab, and leaves the schema as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_says_the_schema_is_newer() {
    let db = TestDb::installed();
    let client = shaped(&db).await;
    let before = fingerprint(&client).await;
    let mut console = common::pty::Console::start_sized(&db.dsn(), &[], 40, 200);
    let screen = console.wait_for("the newer-schema notice", Duration::from_secs(30), |s| {
        s.contains("SCHEMA > 1.6.0") && s.contains("schema newer than PGQueuer 1.6.0")
    });
    assert!(screen.contains("cancel_requested"), "{screen}");
    console.press("q");
    assert_eq!(console.wait_exit(Duration::from_secs(30)), Some(0));
    assert_eq!(fingerprint(&client).await, before);
}
