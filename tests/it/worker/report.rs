//! `pgq workers`: the queue managers holding picked jobs as PGQueuer 1.6.0
//! counts them, plus heartbeat ages, stale marking (the `pgq stale`
//! threshold) and the held job ids.

use crate::common;

use common::{TestDb, assert_exit, stdout};
use serde_json::Value;

const LIVE: &str = "11111111-1111-1111-1111-111111111111";
const DEAD: &str = "22222222-2222-2222-2222-222222222222";

fn json(out: &std::process::Output) -> Value {
    assert_exit(out, 0);
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

/// LIVE holds 2 fresh jobs; DEAD holds 30 jobs with heartbeats 10–39
/// minutes old, one of them fresh (a worker half stuck), and queued and
/// held rows that belong to no worker.
async fn seed(db: &TestDb) {
    let client = db.client().await;
    client
        .batch_execute(&format!(
            "INSERT INTO pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat, updated)
             VALUES (0, 'picked', 'b', '{LIVE}', now() - interval '2 seconds', now() - interval '5 seconds'),
                    (0, 'picked', 'a', '{LIVE}', now(), now() - interval '1 second');
             INSERT INTO pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat, updated)
             SELECT 1, 'picked', 'slow', '{DEAD}', now() - i * interval '1 minute', now() - interval '1 hour'
             FROM generate_series(10, 38) i;
             INSERT INTO pgqueuer (priority, status, entrypoint, queue_manager_id, heartbeat, updated)
             VALUES (1, 'picked', 'slow', '{DEAD}', now(), now() - interval '1 hour'),
                    (0, 'queued', 'a', NULL, now(), now()),
                    (0, 'failed', 'a', '{LIVE}', now() - interval '1 hour', now());"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn workers_report_heartbeat_ages_stale_jobs_and_held_ids() {
    let db = TestDb::installed();
    seed(&db).await;
    let workers = json(&db.pgq(&["--json", "workers", "--jobs", "5"]));
    let workers = workers.as_array().unwrap();
    assert_eq!(workers.len(), 2);
    let (live, dead) = (&workers[0], &workers[1]);

    assert_eq!(live["queue_manager_id"], LIVE);
    assert_eq!(live["active_jobs"], 2);
    assert_eq!(live["entrypoints"], serde_json::json!(["a", "b"]));
    assert_eq!(live["stale"], false);
    assert_eq!(live["stale_jobs"], 0);
    assert!(live["newest_heartbeat_age_seconds"].as_f64().unwrap() < 2.0);
    let stalest = live["oldest_heartbeat_age_seconds"].as_f64().unwrap();
    assert!((2.0..10.0).contains(&stalest), "{stalest}");
    let jobs = live["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["entrypoint"], "b");
    assert!(jobs[0]["picked_age_seconds"].as_f64().unwrap() >= 5.0);

    // One fresh heartbeat does not hide 29 stale jobs.
    assert_eq!(dead["active_jobs"], 30);
    assert_eq!(dead["stale"], true);
    assert_eq!(dead["stale_jobs"], 29);
    assert!(dead["newest_heartbeat_age_seconds"].as_f64().unwrap() < 10.0);
    assert!(dead["oldest_heartbeat_age_seconds"].as_f64().unwrap() >= 38.0 * 60.0);
    let jobs = dead["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 5, "--jobs bounds the list, not the count");
    let ids: Vec<i64> = jobs.iter().map(|j| j["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(jobs.iter().all(|j| j["stale"] == true));

    // The stale count is what `pgq stale` lists, with the same threshold.
    let stale = json(&db.pgq(&["--json", "stale", "-t", "300", "-n", "100"]));
    assert_eq!(stale.as_array().unwrap().len(), 29);
    // A threshold above every age: nothing is stale.
    let relaxed = json(&db.pgq(&["--json", "workers", "-t", "86400"]));
    assert_eq!(relaxed[1]["stale"], false);
    assert_eq!(relaxed[1]["jobs"].as_array().unwrap().len(), 20);

    let text = stdout(&db.pgq(&["workers", "--jobs", "3"]));
    let dead_line = text.lines().find(|l| l.contains(DEAD)).unwrap();
    assert!(dead_line.contains("STALE (29)"), "{text}");
    assert!(dead_line.contains("+27"), "{text}");
    let live_line = text.lines().find(|l| l.contains(LIVE)).unwrap();
    assert!(!live_line.contains("STALE"), "{text}");
}

#[tokio::test]
async fn workers_are_the_ones_python_pgqueuer_counts() {
    let db = TestDb::installed();
    seed(&db).await;
    let ours = json(&db.pgq(&["--json", "workers"]));
    let theirs = json(&db.python_pgq(&["workers", "--json"], &[]));
    let key = |v: &Value| -> Vec<(String, i64, Value)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["queue_manager_id"].as_str().unwrap().to_string(),
                    w["active_jobs"].as_i64().unwrap(),
                    w["entrypoints"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(key(&ours), key(&theirs));
}

#[test]
fn workers_rejects_a_negative_threshold() {
    let db = TestDb::installed();
    let out = db.pgq(&["workers", "-t", "-5"]);
    assert_exit(&out, 2);
}
