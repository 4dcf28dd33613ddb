//! `pgq completions SHELL` and `pgq man`: generated from the clap
//! definitions, so they never disagree with the real options.

use clap::CommandFactory;

use super::CommandError;
use crate::cli::Cli;
use crate::output::Exit;

pub(super) fn completions(shell: clap_complete::Shell) -> Result<Exit, CommandError> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "pgq", &mut out);
    crate::output::stdout_exact(&String::from_utf8_lossy(&out));
    Ok(Exit::Ok)
}

pub(super) fn man(dir: Option<&std::path::Path>) -> Result<Exit, CommandError> {
    let render = |cmd: clap::Command, title: Option<String>| -> Result<Vec<u8>, CommandError> {
        let mut out = Vec::new();
        let mut man = clap_mangen::Man::new(cmd);
        if let Some(title) = title {
            man = man.title(title);
        }
        man.render(&mut out)
            .map_err(|e| CommandError::Other(format!("cannot render the man page: {e}")))?;
        Ok(out)
    };
    // The main page with the console's keys, then one page per command
    // (pgq-install, …), like git.
    let mut pages: Vec<(String, Vec<u8>)> = Vec::new();
    let mut main = render(Cli::command(), None)?;
    main.extend_from_slice(console_keys_section().as_bytes());
    pages.push(("pgq.1".into(), main));
    let mut root = Cli::command();
    root.build();
    for sub in root.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = format!("pgq-{}", sub.get_name());
        pages.push((format!("{name}.1"), render(sub.clone(), Some(name))?));
    }
    match dir {
        None => {
            let all: Vec<u8> = pages.into_iter().flat_map(|(_, page)| page).collect();
            crate::output::stdout_exact(&String::from_utf8_lossy(&all));
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| {
                CommandError::Other(format!("cannot create {}: {e}", dir.display()))
            })?;
            for (file, page) in &pages {
                let path = dir.join(file);
                std::fs::write(&path, page).map_err(|e| {
                    CommandError::Other(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            crate::output::status(&format!(
                "wrote {} man pages to {}",
                pages.len(),
                dir.display()
            ));
        }
    }
    Ok(Exit::Ok)
}

/// The console's keys as a roff section, from the one key list that also
/// feeds the hint line and the help overlay (so the manual cannot disagree
/// with the bindings).
fn console_keys_section() -> String {
    // roff: a backslash is `\e`, and a line must not start with `.` or `'`.
    let roff = |text: &str| {
        let text = text.replace('\\', "\\e").replace('-', "\\-");
        if text.starts_with('.') || text.starts_with('\'') {
            format!("\\&{text}")
        } else {
            text
        }
    };
    let keymap = crate::console::keymap::Keymap::default();
    let mut out = String::from(".SH \"CONSOLE KEYS\"\n");
    let mut scope = None;
    for b in keymap.all() {
        if scope != Some(b.scope) {
            scope = Some(b.scope);
            out.push_str(&format!(".SS \"{}\"\n", b.scope.title()));
        }
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff(&b.keys),
            roff(&b.help)
        ));
    }
    out
}
