//! `pgq jobs` and `pgq job ID` against a real PostgreSQL, with jobs written
//! by pgq and by the real Python PGQueuer 1.6.0.

use crate::common;

use common::{TestDb, assert_exit, stderr, stdout};
use pgq::actions::kinds::ShowJob;
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(stdout(out).trim())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn ids(page: &Value) -> Vec<i64> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

fn enqueue(db: &TestDb, args: &[&str]) {
    let mut all = vec!["queue"];
    all.extend_from_slice(args);
    assert_exit(&db.pgq(&all), 0);
}

/// Seven jobs: ids 1..=7, entrypoints a/b, priorities 0..=6.
fn seven_jobs(db: &TestDb) {
    for p in 0..7 {
        let ep = if p % 2 == 0 { "a" } else { "b" };
        let prio = p.to_string();
        let key = format!("key{p}");
        enqueue(db, &[ep, "{}", "-p", &prio, "--dedupe-key", &key]);
    }
}

#[test]
fn pages_follow_the_id_cursor_newest_or_oldest_first() {
    let db = TestDb::installed();
    seven_jobs(&db);
    let page = json(&db.pgq(&["--json", "jobs", "--limit", "3"]));
    assert_eq!(ids(&page), [7, 6, 5]);
    assert_eq!(page["next_after_id"], 5);
    let page = json(&db.pgq(&["--json", "jobs", "--limit", "3", "--after-id", "5"]));
    assert_eq!(ids(&page), [4, 3, 2]);
    let page = json(&db.pgq(&["--json", "jobs", "--limit", "3", "--after-id", "2"]));
    assert_eq!(ids(&page), [1]);
    assert_eq!(page["next_after_id"], Value::Null);

    let page = json(&db.pgq(&["--json", "jobs", "--oldest-first", "-n", "4"]));
    assert_eq!(ids(&page), [1, 2, 3, 4]);
    let page = json(&db.pgq(&[
        "--json",
        "jobs",
        "--oldest-first",
        "-n",
        "4",
        "--after-id",
        "4",
    ]));
    assert_eq!(ids(&page), [5, 6, 7]);

    // The text table says where the next page starts, on stderr.
    let out = db.pgq(&["jobs", "--limit", "2", "--entrypoint", "a"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("| 7  | a "), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("next page: pgq jobs --entrypoint a --limit 2 --after-id 5"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn filters_combine() {
    let db = TestDb::installed();
    seven_jobs(&db);
    let page = |args: &[&str]| {
        let mut all = vec!["--json", "jobs"];
        all.extend_from_slice(args);
        ids(&json(&db.pgq(&all)))
    };
    assert_eq!(page(&["--entrypoint", "a"]), [7, 5, 3, 1]);
    assert_eq!(page(&["-e", "a", "-e", "b"]).len(), 7);
    assert_eq!(
        page(&["--priority-min", "2", "--priority-max", "4"]),
        [5, 4, 3]
    );
    assert_eq!(page(&["-e", "b", "--priority-min", "3"]), [6, 4]);
    assert_eq!(page(&["--id", "3"]), [3]);
    assert_eq!(page(&["--dedupe-key", "key5"]), [6]);
    assert_eq!(page(&["--status", "picked"]), Vec::<i64>::new());

    // Job 2 picked by a worker: found by status and by the worker's id.
    let worker = "0b7c2f4e-1d6a-4f39-9a57-3e2d8c1b5a60";
    db.client()
        .await
        .execute(
            "UPDATE pgqueuer SET status = 'picked', queue_manager_id = $1::text::uuid WHERE id = 2",
            &[&worker],
        )
        .await
        .unwrap();
    assert_eq!(page(&["--status", "picked"]), [2]);
    assert_eq!(page(&["--worker", worker]), [2]);
    assert_eq!(page(&["--status", "queued", "-e", "b"]), [6, 4]);
    let out = db.pgq(&["jobs", "--status", "picked"]);
    assert!(stdout(&out).contains(worker), "{}", stdout(&out));
}

/// Python enqueues JSON with headers, text and binary payloads; pgq shows
/// each right and finds them by substring and by key=value.
#[test]
fn python_payloads_and_headers_are_shown_and_searched() {
    let db = TestDb::installed();
    let out = db.python(
        r#"
import asyncio, os, asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    q = Queries(AsyncpgDriver(conn))
    await q.enqueue("orders", b'{"order_id": 4711, "customer": "Ada"}', headers={"tenant": "acme"})
    await q.enqueue("mail", "grüße an alle".encode())
    await q.enqueue("blob", bytes([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]))
    await conn.close()

asyncio.run(main())
"#,
        &[],
    );
    assert_exit(&out, 0);

    let search = |text: &str| ids(&json(&db.pgq(&["--json", "jobs", "--search", text])));
    assert_eq!(search("Ada"), [1]);
    assert_eq!(search("grüße"), [2]);
    assert_eq!(search("PNG"), [3], "bytes of a binary payload are searched");
    assert_eq!(search("acme"), [1], "headers are searched");
    assert_eq!(search("order_id=4711"), [1]);
    assert_eq!(search("order_id=4712"), Vec::<i64>::new());
    assert_eq!(search("tenant=acme"), [1]);
    assert_eq!(
        search("customer=Ad"),
        Vec::<i64>::new(),
        "values match whole"
    );

    let detail = json(&db.pgq(&["--json", "job", "1"]));
    // A JSON payload is its JSON value: decoded once, never a string of JSON.
    assert_eq!(detail["payload"]["kind"], "json");
    assert_eq!(
        detail["payload"]["value"],
        serde_json::json!({"customer": "Ada", "order_id": 4711})
    );
    assert_eq!(
        detail["job"]["headers"],
        serde_json::json!({"tenant": "acme"})
    );
    assert_eq!(detail["log"][0]["status"], "queued");
    let detail = json(&db.pgq(&["--json", "job", "2"]));
    assert_eq!(detail["payload"]["kind"], "text");
    assert_eq!(detail["payload"]["value"], "grüße an alle");
    let detail = json(&db.pgq(&["--json", "job", "3"]));
    assert_eq!(detail["payload"]["kind"], "binary");
    assert_eq!(detail["payload"]["base64"], "iVBORwD/");
    let out = db.pgq(&["job", "3"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("binary (6 bytes)")
            && stdout(&out).contains("89 50 4e 47 00 ff")
            && stdout(&out).contains("|.PNG..|"),
        "{}",
        stdout(&out)
    );
    // The list previews payloads on one line.
    let out = db.pgq(&["jobs"]);
    assert!(stdout(&out).contains("<6 bytes>"), "{}", stdout(&out));
    assert!(stdout(&out).contains("grüße an alle"), "{}", stdout(&out));
}

/// Finished jobs come from the log; a job gone from the queue is shown from
/// the log with its timeline; an unknown id exits 1.
#[test]
fn history_and_detail_of_finished_jobs() {
    let db = TestDb::installed();
    let out = db.python(
        r#"
import asyncio, os, asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    q = Queries(AsyncpgDriver(conn))
    ids = await q.enqueue(["keep", "drop", "drop"], [b"1", b"2", b"3"], [0, 5, 9])
    await q.mark_job_as_cancelled([ids[1], ids[2]])
    await conn.close()

asyncio.run(main())
"#,
        &[],
    );
    assert_exit(&out, 0);
    let history = json(&db.pgq(&["--json", "jobs", "--history"]));
    assert_eq!(ids(&history), [3, 2]);
    assert_eq!(history["rows"][0]["status"], "canceled");
    let page = |args: &[&str]| {
        let mut all = vec!["--json", "jobs", "--history"];
        all.extend_from_slice(args);
        ids(&json(&db.pgq(&all)))
    };
    assert_eq!(page(&["--status", "canceled", "--priority-min", "6"]), [3]);
    assert_eq!(page(&["--status", "successful"]), Vec::<i64>::new());
    assert_eq!(page(&["--limit", "1", "--after-id", "3"]), [2]);
    assert_eq!(page(&["--oldest-first"]), [2, 3]);
    assert_eq!(ids(&json(&db.pgq(&["--json", "jobs"]))), [1]);

    let detail = json(&db.pgq(&["--json", "job", "3"]));
    assert_eq!(detail["job"], Value::Null);
    let timeline: Vec<&str> = detail["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["queued", "canceled"]);
    let out = db.pgq(&["job", "3"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("no longer in the queue"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("canceled"), "{}", stdout(&out));

    let out = db.pgq(&["job", "999"]);
    assert_exit(&out, 1);
    assert_eq!(
        stderr(&out).trim(),
        "error: job 999 is neither in the queue nor in the log"
    );
}

/// The console's open detail is refreshed as the queue changes; the payload
/// it already shows (by its SHA-256) is not sent again until it changes.
#[tokio::test]
async fn a_known_payload_is_left_out_of_the_detail_until_it_changes() {
    let db = TestDb::installed();
    // Read in 1 MiB slices: two and a half of them, every byte in its place.
    let big: Vec<u8> = (0..2_621_440u32).map(|i| (i % 251) as u8).collect();
    let client = db.client().await;
    client
        .execute(
            "INSERT INTO pgqueuer (priority, status, entrypoint, payload)
             VALUES (0, 'queued', 'big', $1), (0, 'queued', 'none', NULL),
                    (0, 'queued', 'empty', '')",
            &[&big],
        )
        .await
        .unwrap();
    let session = db.session(false).await;
    let show = |id: i64, known_payload: Option<Vec<u8>>| {
        let session = &session;
        async move {
            pgq::actions::run(session, &ShowJob { id, known_payload }, false)
                .await
                .unwrap()
                .job
                .unwrap()
        }
    };
    let first = show(1, None).await;
    let bytes = first.payload.clone().expect("sent when not known");
    assert!(bytes == big, "{} bytes, not the payload", bytes.len());
    let digest = first.payload_sha256.clone().expect("a digest");
    assert_eq!(digest.len(), 32);
    assert!(!first.payload_left_out());

    // Known and unchanged, also after the row changed around it.
    client
        .execute(
            "UPDATE pgqueuer SET status = 'picked', heartbeat = NOW() WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    let again = show(1, Some(digest.clone())).await;
    assert_eq!(again.status, "picked");
    assert_eq!(again.payload, None);
    assert!(again.payload_left_out());
    assert_eq!(again.payload_sha256.as_ref(), Some(&digest));
    // A stale digest gets the payload.
    let stale = show(1, Some(vec![0; 32])).await;
    assert!(stale.payload.as_ref() == Some(&bytes), "the payload again");

    client
        .execute("UPDATE pgqueuer SET payload = '\"y\"' WHERE id = 1", &[])
        .await
        .unwrap();
    let changed = show(1, Some(digest.clone())).await;
    assert_eq!(changed.payload.as_deref(), Some(&b"\"y\""[..]));
    assert_ne!(changed.payload_sha256.as_ref(), Some(&digest));

    // A NULL payload has no digest and is never "left out".
    let none = show(2, None).await;
    assert_eq!((none.payload, none.payload_sha256), (None, None));
    assert!(!show(2, Some(digest)).await.payload_left_out());
    let empty = show(3, None).await;
    assert_eq!(empty.payload, Some(Vec::new()));
    assert!(show(3, empty.payload_sha256).await.payload_left_out());
}

#[test]
fn wrong_use_exits_2_before_connecting() {
    // No database behind this DSN: each case must fail on its arguments.
    let env = [("PGDSN", "postgres://nobody@127.0.0.1:1/none")];
    let cases: &[(&[&str], &str)] = &[
        (&["jobs", "--status", "bogus"], "invalid value 'bogus'"),
        (&["jobs", "--limit", "0"], "--limit"),
        (&["jobs", "--limit", "-3"], "--limit"),
        (
            &["jobs", "--priority-min", "5", "--priority-max", "1"],
            "priority range is empty",
        ),
        (&["jobs", "--status", "successful"], "add --history"),
        (
            &["jobs", "--history", "--status", "queued"],
            "drop --history",
        ),
        (
            &["jobs", "--history", "--search", "x"],
            "no payload or headers",
        ),
        (&["jobs", "--history", "--dedupe-key", "k"], "no dedupe key"),
        (&["jobs", "--worker", "not-a-uuid"], "--worker"),
        (&["job", "x"], "invalid value 'x'"),
    ];
    for (args, says) in cases {
        let out = common::pgq_cmd(args, &env).output().unwrap();
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
}

/// `pgq jobs --json --payload` carries each row's whole payload as data,
/// the way `pgq job --json` does; without --json it is wrong use.
#[tokio::test]
async fn jobs_json_with_payload_carries_each_payload_as_data() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "p", r#"{"order": 7}"#]), 0);
    assert_exit(&db.pgq(&["queue", "p", "plain text"]), 0);
    let page = json(&db.pgq(&["--json", "jobs", "--payload", "--oldest-first"]));
    let rows = page["rows"].as_array().expect("rows");
    assert_eq!(rows[0]["payload"]["kind"], "json");
    assert_eq!(rows[0]["payload"]["value"], serde_json::json!({"order": 7}));
    assert_eq!(rows[1]["payload"]["value"], "plain text");
    assert_exit(&db.pgq(&["jobs", "--payload"]), 2);
}
