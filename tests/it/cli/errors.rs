//! Bad input to the schema commands: a clear one-line error, the right exit
//! code, no backtrace, and nothing sent to (or changed in) the database.

use crate::common;

use common::{TestDb, assert_exit, pgq_cmd, stderr, stdout};

#[test]
fn unknown_durability_is_a_usage_error() {
    for args in [
        vec!["install", "-d", "forever"],
        vec!["alter-durability", "sometimes"],
    ] {
        let out = pgq_cmd(&args, &[]).output().unwrap();
        assert_exit(&out, 2);
        assert!(stderr(&out).contains("invalid value"), "{}", stderr(&out));
    }
}

#[test]
fn hostile_or_oversized_names_are_rejected_before_connecting() {
    let db = TestDb::new();
    let long = "x".repeat(64);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--prefix", "a'; DROP TABLE x; --"], "invalid prefix"),
        (vec!["--prefix", "has space"], "invalid prefix"),
        (vec!["--prefix", "Mixed_"], "invalid prefix"),
        (vec!["--schema", "jobs;drop"], "invalid schema"),
        (vec!["--schema", "a\"b"], "invalid schema"),
        (vec!["--schema", &long], "63 bytes"),
        (vec!["--prefix", &long[..40]], "63 bytes"),
    ];
    for (names, needle) in cases {
        let mut args = names.clone();
        args.push("install");
        let out = db.pgq(&args);
        assert_exit(&out, 2);
        assert!(stderr(&out).contains(needle), "{names:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "one line: {}",
            stderr(&out)
        );
        assert_eq!(stdout(&out), "");
    }
    let out = db.pgq(&["verify", "--expect", "absent", "--strict"]);
    assert_exit(&out, 0);
}

#[test]
fn unreachable_server_names_the_target_and_hides_the_password() {
    let out = pgq_cmd(
        &["install"],
        &[("PGDSN", "postgres://alice:s3cret@127.0.0.1:1/appdb")],
    )
    .output()
    .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("alice@127.0.0.1:1/appdb"), "{err}");
    assert!(err.contains("connection refused"), "{err}");
    assert!(!err.contains("s3cret"));
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"));
}

#[test]
fn no_arguments_prints_help_with_exit_2() {
    let out = pgq_cmd(&[], &[]).output().unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("Usage"), "{}", stderr(&out));
}

/// `--version` names the PGQueuer release whose schema pgq writes, and says
/// a newer schema (PGQueuer 2.x) is read, never changed; `-V` is one line.
#[test]
fn version_names_the_schema_written_and_that_newer_ones_are_only_read() {
    let out = pgq_cmd(&["--version"], &[]).output().unwrap();
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("pgq "), "{text}");
    assert!(text.contains("PGQueuer 1.6.0 schema"), "{text}");
    assert!(
        text.contains("newer PGQueuer schema (2.x)") && text.contains("is read, never changed"),
        "{text}"
    );
    let out = pgq_cmd(&["-V"], &[]).output().unwrap();
    assert_exit(&out, 0);
    let short = stdout(&out);
    assert_eq!(short.lines().count(), 1, "{short}");
    assert!(short.contains("PGQueuer 1.6.0 schema"), "{short}");
}

/// Durations past ten years (which as SQL intervals made every metrics
/// scrape fail, or as `Duration`s panicked) are usage errors naming the
/// maximum, for every flag that takes one; nothing starts.
#[test]
fn oversized_durations_are_usage_errors_naming_the_maximum() {
    let manifest = common::manifest_file("[[entrypoint]]\nname = \"a\"\nbuiltin = \"noop\"\n");
    let manifest = manifest.path().to_str().expect("utf-8 temp path");
    let unreachable = "postgres://nobody@127.0.0.1:1/none";
    let days = "maximum is 3650d";
    let seconds = "maximum is 315360000 seconds (3650d)";
    let cases: [(&[&str], &str); 9] = [
        (
            &[
                "metrics",
                "--listen",
                "127.0.0.1:0",
                "--window",
                "10000000d",
            ],
            days,
        ),
        (
            &["metrics", "--listen", "127.0.0.1:0", "--window", "1e300"],
            days,
        ),
        (
            &["metrics", "--listen", "127.0.0.1:0", "--window", "3651d"],
            days,
        ),
        (&["prune", "--log-older-than", "10000000d"], days),
        (
            &[
                "purge",
                "--older-than",
                "99999999999999999999h",
                "--entrypoint",
                "a",
            ],
            days,
        ),
        (&["queue", "a", "--execute-after", "10000000d"], days),
        (&["run", manifest, "--restart-delay", "1e300"], seconds),
        (&["run", manifest, "--heartbeat-timeout", "1e12"], seconds),
        (&["stale", "--threshold", "1e300"], seconds),
    ];
    for (args, needle) in cases {
        let mut child = pgq_cmd(&[&["--dsn", unreachable], args].concat(), &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn pgq");
        // The old metrics server accepted the window and served for ever.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while child.try_wait().expect("try_wait").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{args:?} was accepted: pgq kept running");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("output");
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
