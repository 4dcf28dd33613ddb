//! Whatever a job carries reaches the operator's terminal escaped: payload,
//! headers, entrypoint, dedupe key and traceback hold a window-title OSC, a
//! clipboard-writing OSC 52, a clear-screen CSI, an 8-bit CSI (U+009B) and a
//! right-to-left override; the real `pgq job`, `pgq jobs`, `pgq failed` and a
//! worker relaying a command's output show them as visible escapes, and
//! `--json` still carries the exact bytes.

use crate::common;

use common::{TestDb, assert_exit, manifest_file, stderr, stdout};

/// Sequences a hostile producer might write.
const HOSTILE: &str = "a\u{1b}]0;owned\u{7}b\u{1b}]52;c;QUJD\u{7}c\u{1b}[2Jd\u{9b}31me\u{202e}f";
/// The same, as pgq shows it.
const SHOWN: &str = "a\\x1b]0;owned\\x07b\\x1b]52;c;QUJD\\x07c\\x1b[2Jd\\u009b31me\\u202ef";

/// No byte that a terminal would act on: ESC, BEL, C1 CSI, RLO.
fn assert_inert(what: &str, text: &str) {
    for raw in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(!text.contains(raw), "{what} holds a raw {:?}:\n{text}", raw);
    }
}

/// A held job (status failed, with a traceback in the log) whose every
/// free-text field is hostile; its id.
async fn hostile_job(db: &TestDb) -> i64 {
    let client = db.client().await;
    let row = client
        .query_one(
            "INSERT INTO pgqueuer (priority, status, entrypoint, payload, headers, dedupe_key)
             VALUES (0, 'failed', $1, convert_to($1, 'UTF8'), jsonb_build_object('h', $1::text), $1)
             RETURNING id",
            &[&HOSTILE],
        )
        .await
        .unwrap();
    let id: i64 = row.get(0);
    client
        .execute(
            "INSERT INTO pgqueuer_log (job_id, status, priority, entrypoint, traceback)
             VALUES ($1, 'failed', 0, $2, jsonb_build_object(
               'exception_type', $2::text, 'exception_message', $2::text,
               'traceback', 'Traceback:' || chr(10) || $2::text))",
            &[&id, &HOSTILE],
        )
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn job_detail_and_tables_show_control_characters_escaped() {
    let db = TestDb::installed();
    let id = hostile_job(&db).await;
    let id_text = id.to_string();

    let out = db.pgq(&["job", &id_text]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert_inert("pgq job", &text);
    assert_inert("pgq job (stderr)", &stderr(&out));
    // Entrypoint, dedupe key, payload, exception and traceback lines.
    assert!(text.matches(SHOWN).count() >= 5, "{text}");

    for args in [
        &["jobs"][..],
        &["jobs", "--history"][..],
        &["failed"][..],
        &["dashboard"][..],
    ] {
        let out = db.pgq(args);
        assert_exit(&out, 0);
        assert_inert(&format!("pgq {args:?}"), &stdout(&out));
        assert_inert(&format!("pgq {args:?} (stderr)"), &stderr(&out));
        // The log's history lists finished jobs only; the others show it.
        if args != ["jobs", "--history"] {
            assert!(stdout(&out).contains("\\x1b]0;owned"), "{}", stdout(&out));
        }
    }

    // JSON keeps the exact text (serde escapes what JSON must).
    let out = db.pgq(&["job", &id_text, "--json"]);
    assert_exit(&out, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["payload"]["value"], HOSTILE, "{json}");
    assert_eq!(json["job"]["entrypoint"], HOSTILE, "{json}");
    assert_eq!(json["job"]["headers"]["h"], HOSTILE, "{json}");
    assert_eq!(json["log"][0]["traceback"]["exception_message"], HOSTILE);
}

#[test]
fn a_diagnostic_quoting_a_value_shows_it_escaped() {
    let db = TestDb::installed();
    let out = db.pgq(&["schedules", "--remove", HOSTILE]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert_inert("schedules --remove error", &err);
    assert!(err.contains(SHOWN), "{err}");
}

#[test]
fn worker_relays_a_commands_output_escaped() {
    let db = TestDb::installed();
    assert_exit(&db.pgq(&["queue", "sh", "y"]), 0);
    // printf turns the octal escapes into the raw bytes.
    let manifest = manifest_file(
        "[[entrypoint]]\nname = \"sh\"\ncommand = [\"sh\", \"-c\", \
         \"printf 'x\\\\033]0;owned\\\\007y\\\\302\\\\233z\\\\342\\\\200\\\\256w\\\\n'\"]\n",
    );
    let out = db.pgq(&[
        "run",
        manifest.path().to_str().unwrap(),
        "--mode",
        "drain",
        "--log-level",
        "debug",
    ]);
    assert_exit(&out, 0);
    let log = stderr(&out);
    assert_inert("worker log", &log);
    assert!(
        log.contains("x\\x1b]0;owned\\x07y\\u009bz\\u202ew"),
        "{log}"
    );
}
