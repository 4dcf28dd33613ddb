//! config.toml and named contexts, through the real binary.

use crate::common;

use common::{TestDb, assert_exit, pgq_cmd, stderr, stdout};

fn config_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    dir
}

#[test]
fn config_path_and_check_report_the_file() {
    let dir = config_dir("refresh_interval = 2\n[keymap]\nquit = [\"x\"]\n");
    let d = dir.path().to_str().unwrap();
    let out = pgq_cmd(
        &["config", "path"],
        &[("PGQ_CONFIG_DIR", d), ("PGQ_DATA_DIR", d)],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("config: {d}/config.toml")),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains(&format!("log:    {d}/pgq.log")),
        "{}",
        stdout(&out)
    );
    let out = pgq_cmd(&["config", "check"], &[("PGQ_CONFIG_DIR", d)])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).ends_with("config.toml: OK\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_broken_config_names_file_line_and_key() {
    let dir = config_dir("refresh_interval = 2\nrefresh_intervall = 3\n");
    let d = dir.path().to_str().unwrap();
    let out = pgq_cmd(&["config", "check"], &[("PGQ_CONFIG_DIR", d)])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("config.toml: line 2, column 1: unknown field `refresh_intervall`"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // Two keys chosen in the file may not collide (a default gives way).
    let dir = config_dir("[keymap]\nquit = [\"j\"]\nhelp = [\"j\"]\n");
    let d = dir.path().to_str().unwrap();
    let out = pgq_cmd(&["config", "check"], &[("PGQ_CONFIG_DIR", d)])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("keymap.quit and keymap.help both use j"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn contexts_supply_the_connection_and_read_only() {
    let db = TestDb::installed();
    let dir = config_dir(&format!(
        "[contexts.dev]\ndsn = \"{dsn}\"\n\n[contexts.prod]\ndsn = \"{dsn}\"\nread_only = true\n",
        dsn = db.dsn()
    ));
    let d = dir.path().to_str().unwrap();
    let env = [("PGQ_CONFIG_DIR", d)];

    let out = pgq_cmd(&["--context", "dev", "verify", "--expect", "present"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let out = pgq_cmd(&["--context", "dev", "queue", "ctx_job", "1"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 0);

    // read_only on the context refuses mutations and changes nothing.
    let out = pgq_cmd(&["--context", "prod", "queue", "ctx_job", "2"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    let out = pgq_cmd(&["--context", "dev", "--read-only", "requeue", "1"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));
    let out = pgq_cmd(&["--context", "prod", "--json", "backlog"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let backlog: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(backlog[0]["queued_count"], 1, "{backlog}");

    // PGQ_CONTEXT works like the flag.
    let out = pgq_cmd(
        &["verify", "--expect", "present"],
        &[("PGQ_CONFIG_DIR", d), ("PGQ_CONTEXT", "dev")],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
}

#[test]
fn an_explicit_dsn_flag_beats_the_context_but_pgdsn_does_not() {
    let db = TestDb::installed();
    let dir = config_dir(
        "[contexts.broken]\ndsn = \"postgres://postgres@127.0.0.1:1/nowhere\"\n\n[contexts.good]\n",
    );
    let d = dir.path().to_str().unwrap();
    let dsn = db.dsn();
    let out = pgq_cmd(
        &[
            "--context",
            "broken",
            "--dsn",
            &dsn,
            "verify",
            "--expect",
            "present",
        ],
        &[("PGQ_CONFIG_DIR", d)],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    let out = pgq_cmd(
        &["--context", "broken", "verify", "--expect", "present"],
        &[("PGQ_CONFIG_DIR", d), ("PGDSN", &dsn)],
    )
    .output()
    .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("127.0.0.1:1"), "{}", stderr(&out));
    // A context without a dsn falls back to the environment.
    let out = pgq_cmd(
        &["--context", "good", "verify", "--expect", "present"],
        &[("PGQ_CONFIG_DIR", d), ("PGDSN", &dsn)],
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
}

#[test]
fn unknown_context_and_console_without_terminal_are_usage_errors() {
    let dir = config_dir("[contexts.prod]\ndsn = \"postgres://x@h/db\"\n");
    let d = dir.path().to_str().unwrap();
    let out = pgq_cmd(
        &["--context", "staging", "backlog"],
        &[("PGQ_CONFIG_DIR", d)],
    )
    .output()
    .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no context named \"staging\""),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("defined: prod"), "{}", stderr(&out));

    let out = pgq_cmd(&["console"], &[("PGQ_CONFIG_DIR", d)])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("needs a terminal"),
        "{}",
        stderr(&out)
    );
    // `pgq` alone without a terminal prints help (exit 2), as before.
    let out = pgq_cmd(&[], &[("PGQ_CONFIG_DIR", d)]).output().unwrap();
    assert_exit(&out, 2);
}

/// Issue 22 §6 (k9s `:ctx`): `:` lists config.toml's contexts; picking one
/// reconnects the console to it (the other database's jobs show), the
/// status bar names the context and its read-only flag, and the read-only
/// context refuses a cancel that the other one offers.
#[test]
fn the_console_switches_contexts_and_the_read_only_one_refuses_a_cancel() {
    use common::pty::{Console, line_with};
    use std::time::Duration;
    const WAIT: Duration = Duration::from_secs(30);
    let alpha = TestDb::installed();
    let beta = TestDb::installed();
    assert_exit(&alpha.pgq(&["queue", "only_in_alpha"]), 0);
    assert_exit(&beta.pgq(&["queue", "only_in_beta"]), 0);
    let dir = config_dir(&format!(
        "[contexts.alpha]\ndsn = \"{}\"\n\n[contexts.beta]\ndsn = \"{}\"\nread_only = true\n",
        alpha.dsn(),
        beta.dsn()
    ));
    let d = dir.path().to_str().unwrap();
    let mut console = Console::start_with(
        &alpha.dsn(),
        &["--context", "alpha"],
        30,
        120,
        &[("PGQ_CONFIG_DIR", d)],
    );
    console.press("2");
    let screen = console.wait_for("alpha's job", WAIT, |s| {
        s.contains("only_in_alpha") && s.contains("ctx alpha")
    });
    let status = line_with(&screen, "ctx alpha").unwrap_or_default();
    assert!(!status.contains("READ-ONLY"), "{status}");

    console.press(":");
    let screen = console.wait_for("the picker", WAIT, |s| s.contains("Contexts (config.toml)"));
    let beta_row = line_with(&screen, "beta").unwrap_or_default();
    assert!(beta_row.contains("READ-ONLY"), "{screen}");
    console.press("j");
    console.press("\r");
    let screen = console.wait_for("beta's job", WAIT, |s| {
        s.contains("only_in_beta") && s.contains("ctx beta")
    });
    assert!(!screen.contains("only_in_alpha"), "{screen}");
    let status = line_with(&screen, "ctx beta").unwrap_or_default();
    assert!(status.contains("READ-ONLY"), "{status}");

    // Read-only applies: cancel is refused, and no dialog opens.
    console.press("c");
    let screen = console.wait_for("the refusal", WAIT, |s| {
        s.contains("refused: this session is read-only")
    });
    assert!(!screen.contains("[ Cancel ]"), "{screen}");

    // Back to alpha: its jobs, and the cancel is offered (then cancelled).
    console.press(":");
    console.wait_for("the picker", WAIT, |s| s.contains("Contexts (config.toml)"));
    console.press("k");
    console.press("\r");
    console.wait_for("alpha again", WAIT, |s| {
        s.contains("only_in_alpha") && s.contains("ctx alpha")
    });
    console.press("c");
    console.wait_for("the confirmation", WAIT, |s| s.contains("[ Cancel ]"));
    console.press_esc();
    console.wait_for("the dialog closed", WAIT, |s| !s.contains("[ Cancel ]"));
    console.press("q");
    assert_eq!(console.wait_exit(WAIT), Some(0));
    // Nothing was canceled in either database.
    for db in [&alpha, &beta] {
        let out = db.pgq(&["jobs", "--json"]);
        assert_exit(&out, 0);
        assert!(stdout(&out).contains("\"queued\""), "{}", stdout(&out));
    }
}
