//! `pgq upgrade` from the install DDL of nine earlier PGQueuer releases
//! (v0.18.10 … v1.4.0, shipped in PGQueuer 1.6.0's sdist, downloaded at test
//! time): the upgraded catalog must equal a fresh pgq install, no row may be
//! lost, and Python 1.6.0 must then see a current schema.

use crate::common;

use common::{TestDb, assert_exit, catalog_dump, stderr, stdout};

async fn fresh_install_dump() -> Vec<String> {
    let db = TestDb::installed();
    catalog_dump(&db.client().await, "public").await
}

/// Rows every release's schema can hold, including (for releases whose
/// statistics bucket also keyed on time_in_queue) two rows of one bucket.
async fn seed(client: &tokio_postgres::Client, release: &str) {
    client
        .batch_execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint, payload)
             SELECT i % 5, 'queued', 'ep' || (i % 3), convert_to('payload ' || i, 'UTF8')
             FROM generate_series(1, 200) i;
             INSERT INTO pgqueuer_schedules (expression, entrypoint) VALUES ('* * * * *', 'tick');",
        )
        .await
        .unwrap_or_else(|e| panic!("{release}: seeding queue: {e}"));
    let stats = if release == "v0.18.10" {
        "INSERT INTO pgqueuer_statistics (created, count, priority, time_in_queue, status, entrypoint) VALUES
           ('2026-01-01 00:00:00+00', 3, 0, '1 second', 'successful', 'ep'),
           ('2026-01-01 00:00:00+00', 4, 0, '2 seconds', 'successful', 'ep'),
           ('2026-01-01 00:00:01+00', 5, 0, '1 second', 'exception', 'ep')"
    } else {
        "INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint) VALUES
           ('2026-01-01 00:00:00+00', 7, 0, 'successful', 'ep'),
           ('2026-01-01 00:00:01+00', 5, 0, 'exception', 'ep')"
    };
    client
        .batch_execute(stats)
        .await
        .unwrap_or_else(|e| panic!("{release}: seeding statistics: {e}"));
}

async fn totals(client: &tokio_postgres::Client) -> (i64, i64, i64, i64) {
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM pgqueuer), (SELECT sum(length(payload))::bigint FROM pgqueuer),
                    (SELECT sum(count)::bigint FROM pgqueuer_statistics), (SELECT count(*) FROM pgqueuer_schedules)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[tokio::test]
async fn every_shipped_release_upgrades_to_a_fresh_install() {
    let releases_dir = common::pgqueuer_sdist().join("test/schema_releases");
    let mut releases: Vec<_> = std::fs::read_dir(&releases_dir)
        .expect("schema_releases in the sdist")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    releases.sort();
    assert!(
        releases.len() >= 9,
        "expected the nine release fixtures, found {releases:?}"
    );
    let expected = fresh_install_dump().await;

    for path in releases {
        let release = path.file_stem().unwrap().to_string_lossy().into_owned();
        let db = TestDb::new();
        let client = db.client().await;
        client
            .batch_execute(&std::fs::read_to_string(&path).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{release}: installing the old DDL: {e}"));
        seed(&client, &release).await;

        let out = db.pgq(&["upgrade"]);
        assert_exit(&out, 0);
        assert!(
            stderr(&out).contains("Applied"),
            "{release}: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "", "{release}");

        // Converged: a second plan is empty and strict verification passes.
        let out = db.pgq(&["upgrade", "--plan"]);
        assert_exit(&out, 0);
        assert_eq!(stdout(&out), "", "{release}: second plan not empty");
        let out = db.pgq(&["verify", "--expect", "present", "--strict"]);
        assert_exit(&out, 0);

        // The catalog equals a fresh install, except the retired column that
        // upgrade keeps for its data (reported as a note).
        let mut dump = catalog_dump(&client, "public").await;
        dump.retain(|line| !line.contains("time_in_queue"));
        assert_eq!(
            dump, expected,
            "{release}: catalog differs from a fresh install"
        );

        // No data lost; split statistics buckets were folded, not dropped.
        let (jobs, payload_bytes, stat_total, schedules) = totals(&client).await;
        assert_eq!(jobs, 200, "{release}");
        assert!(payload_bytes > 0);
        assert_eq!(stat_total, 12, "{release}: statistics counts changed");
        assert_eq!(schedules, 1, "{release}");

        // Python PGQueuer 1.6.0 agrees: at most its own function text remains.
        let out = db.python_pgq(&["upgrade", "--plan"], &[]);
        assert_exit(&out, 0);
        let err = stderr(&out);
        assert!(
            err.contains("already up to date") || err.contains("Would apply 1 statement."),
            "{release}: python plan: {err}\n{}",
            stdout(&out)
        );
        if err.contains("Would apply") {
            assert!(
                stdout(&out).contains("CREATE OR REPLACE FUNCTION"),
                "{release}"
            );
        }
    }
}
