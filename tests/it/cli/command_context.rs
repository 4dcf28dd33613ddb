//! The command context is resolved once per command line: the `--context`
//! entry reaches every command that uses it, and a broken entry fails only
//! those commands (exit 2), never the ones that need no connection settings.

use crate::common;

use common::{assert_exit, pgq_cmd, stderr, stdout};

fn config_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.toml"), text).unwrap();
    dir
}

#[test]
fn an_unknown_context_fails_only_commands_that_use_it() {
    let dir = config_dir("[contexts.prod]\nschema = \"jobs\"\n");
    let env = [("PGQ_CONFIG_DIR", dir.path().to_str().unwrap())];
    for args in [
        &["--context", "staging", "completions", "bash"][..],
        &["--context", "staging", "man"],
        &["--context", "staging", "config", "path"],
    ] {
        let out = pgq_cmd(args, &env).output().unwrap();
        assert_exit(&out, 0);
    }
    let out = pgq_cmd(&["--context", "staging", "sql", "uninstall"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no context named \"staging\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_context_schema_and_prefix_reach_the_command_and_flags_beat_them() {
    let dir = config_dir("[contexts.prod]\nschema = \"ctx_jobs\"\nprefix = \"ctx_\"\n");
    let env = [("PGQ_CONFIG_DIR", dir.path().to_str().unwrap())];
    let out = pgq_cmd(&["--context", "prod", "sql", "uninstall"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("ctx_jobs.ctx_pgqueuer"),
        "{}",
        stdout(&out)
    );
    let out = pgq_cmd(
        &[
            "--context",
            "prod",
            "--schema",
            "flag_jobs",
            "sql",
            "uninstall",
        ],
        &env,
    )
    .output()
    .unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("flag_jobs.ctx_pgqueuer"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_bad_keymap_fails_context_commands_with_the_file_and_key() {
    let dir = config_dir("[keymap]\nquit = [\"ctrl-\"]\n[contexts.prod]\n");
    let env = [("PGQ_CONFIG_DIR", dir.path().to_str().unwrap())];
    let out = pgq_cmd(&["--context", "prod", "sql", "uninstall"], &env)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("config.toml: keymap.quit:"),
        "{}",
        stderr(&out)
    );
    let out = pgq_cmd(&["config", "check"], &env).output().unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("config.toml: keymap.quit:"),
        "{}",
        stderr(&out)
    );
}

/// PGQueuer 2.2 reads PGQUEUER_DSN before PGDSN; a typed --dsn beats both.
#[test]
fn pgqueuer_dsn_beats_pgdsn_and_the_flag_beats_both() {
    let db = common::TestDb::installed();
    let mut wrong = url::Url::parse(&db.dsn()).unwrap();
    wrong.set_path("pgq_no_such_database");
    let wrong = wrong.to_string();
    let both = [("PGQUEUER_DSN", db.dsn()), ("PGDSN", wrong.clone())];
    let both: Vec<(&str, &str)> = both.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let verify = ["verify", "--expect", "present"];
    let out = pgq_cmd(&verify, &both).output().unwrap();
    assert_exit(&out, 0);

    let out = pgq_cmd(&[&["--dsn", wrong.as_str()][..], &verify].concat(), &both)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("pgq_no_such_database"),
        "{}",
        stderr(&out)
    );

    let only_pgdsn = [("PGDSN", db.dsn())];
    let only_pgdsn: Vec<(&str, &str)> = only_pgdsn.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_exit(&pgq_cmd(&verify, &only_pgdsn).output().unwrap(), 0);
}
