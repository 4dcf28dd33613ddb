//! Idle workers are alive too: a real idle `pgq run` holds no picked job,
//! yet its `health_check_event` every 10 s shows it on the console's
//! Workers tab and in `pgq workers --watch`, with when its entrypoint was
//! last picked.

use crate::common;

use std::time::Duration;

use common::pty::Console;
use common::{TestDb, assert_exit, manifest_file};

#[test]
fn an_idle_worker_is_alive_on_the_workers_tab_and_in_workers_watch() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "ping", "x"]), 0);
    let manifest = manifest_file("[[entrypoint]]\nname = \"ping\"\nbuiltin = \"noop\"\n");
    let mut console = Console::start(&db.dsn(), &[]);
    console.press("8");
    console.wait_for(
        "the Workers tab, nobody alive",
        Duration::from_secs(10),
        |s| s.contains("0 workers alive"),
    );
    let _worker = db.spawn_pgq(&["run", manifest.path().to_str().expect("utf-8 path")], &[]);
    // Watching while the worker runs: it probes at start and every 10 s.
    let mut watch = db.spawn_pgq(
        &["workers", "--watch", "12s"],
        &[("PGAPPNAME", "pgq-test-watch")],
    );
    // A `pgq listen` checks its LISTEN with a probe of its own while the
    // watch listens: a listener, not a worker, so it is not counted.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = db.client().await;
        let backend_ran = |app: &'static str, query: &'static str| {
            let client = &client;
            move || async move {
                let n = common::count(
                    client,
                    &format!(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '{app}' AND state = 'idle' AND query LIKE '{query}%'"
                    ),
                )
                .await;
                (n > 0).then_some(())
            }
        };
        common::wait_for(
            Duration::from_secs(10),
            backend_ran("pgq-test-watch", "LISTEN"),
        )
        .await
        .expect("the watch listens");
        let mut listen = db.spawn_pgq(&["listen"], &[("PGAPPNAME", "pgq-test-listen")]);
        common::wait_for(
            Duration::from_secs(10),
            backend_ran("pgq-test-listen", "/* pgq */ SELECT pg_notify"),
        )
        .await
        .expect("pgq listen sent its probe");
        listen.signal("INT");
        assert_eq!(listen.wait_exit(Duration::from_secs(10)), Some(0));
    });
    let screen = console.wait_for(
        "one idle worker alive from its health checks",
        Duration::from_secs(20),
        |s| s.contains("1 worker alive"),
    );
    assert!(
        screen.contains("0 hold 0 jobs") && screen.contains("no worker holds a picked job"),
        "the held-jobs view stays as it was:\n{screen}"
    );
    console.wait_for(
        "when ping was last picked, from the log",
        Duration::from_secs(20),
        |s| s.contains("last picked ping") && s.contains(" ago"),
    );
    console.press("q");

    let line = watch
        .stdout_line(Duration::from_secs(30), |l| l.contains("alive"))
        .expect("the watch's count");
    assert_eq!(
        line, "1 worker alive (health checks in the last 12 s); 0 hold jobs",
        "{line}"
    );
    let last = watch
        .stdout_line(Duration::from_secs(5), |l| l.starts_with("Last picked:"))
        .expect("the last-picked line");
    assert!(last.starts_with("Last picked: ping "), "{last}");
    assert!(
        watch
            .stdout_line(Duration::from_secs(5), |l| l
                .contains("No workers are holding picked jobs."))
            .is_some()
    );
    assert_eq!(watch.wait_exit(Duration::from_secs(10)), Some(0));
}
