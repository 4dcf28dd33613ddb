//! Completions and the man page come from the clap definitions.

use crate::common;

use clap::CommandFactory;
use common::{assert_exit, pgq_cmd, stdout};

/// Every subcommand of the real CLI definition.
fn commands() -> Vec<String> {
    pgq::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect()
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = pgq_cmd(&["completions", shell], &[]).output().unwrap();
        assert_exit(&out, 0);
        let script = stdout(&out);
        for word in commands().iter().map(String::as_str).chain(["read-only"]) {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = pgq_cmd(&["completions", "tcsh"], &[]).output().unwrap();
    assert_exit(&out, 2);
}

#[test]
fn the_bash_completion_script_is_valid_bash() {
    let out = pgq_cmd(&["completions", "bash"], &[]).output().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pgq.bash");
    std::fs::write(&path, &out.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn the_man_page_covers_the_tool_and_each_command() {
    let out = pgq_cmd(&["man"], &[]).output().unwrap();
    assert_exit(&out, 0);
    let page = stdout(&out);
    assert!(
        page.contains(".TH pgq 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("PGQueuer 1.6.0 schema"));
    for command in [
        "install",
        "queue",
        "dashboard",
        "schedules",
        "console",
        "completions",
    ] {
        assert!(
            page.contains(&format!(".TH pgq-{command} 1")),
            "no page for {command}"
        );
    }
}
