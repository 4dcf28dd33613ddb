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

/// `pgq man --dir DIR` writes one page per command beside `pgq.1`, and the
/// main page lists the console's keys from the one key list.
#[test]
fn man_dir_writes_a_page_per_command_and_the_console_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = pgq_cmd(&["man", "--dir", dir.path().to_str().unwrap()], &[])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let main = std::fs::read_to_string(dir.path().join("pgq.1")).unwrap();
    assert!(main.contains(".SH \"CONSOLE KEYS\""), "{main}");
    assert!(main.contains("Show/hide this help"), "{main}");
    assert!(main.contains(".SS \"Jobs tab\""), "{main}");
    for command in commands().iter().filter(|c| *c != "help") {
        let page = dir.path().join(format!("pgq-{command}.1"));
        assert!(page.exists(), "no page for {command}");
    }
    let cancel = std::fs::read_to_string(dir.path().join("pgq-cancel.1")).unwrap();
    assert!(cancel.contains("entrypoint"), "{cancel}");
}

/// A command's own options come first; the global ones under their own
/// heading after them.
#[test]
fn help_lists_a_commands_own_options_before_the_global_ones() {
    let out = pgq_cmd(&["cancel", "--help"], &[]).output().unwrap();
    assert_exit(&out, 0);
    let help = stdout(&out);
    let own = help.find("--entrypoint").expect("own option");
    let global = help.find("Global options:").expect("global heading");
    let dsn = help.find("--dsn").expect("global option");
    assert!(own < global && global < dsn, "{help}");
}
