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

pub(super) fn man() -> Result<Exit, CommandError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| CommandError::Other(format!("cannot render the man page: {e}")))?;
    // The main page, then one page per command (pgq-install, …), like git.
    let mut root = Cli::command();
    root.build();
    for sub in root.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        clap_mangen::Man::new(sub.clone())
            .title(format!("pgq-{}", sub.get_name()))
            .render(&mut out)
            .map_err(|e| CommandError::Other(format!("cannot render the man page: {e}")))?;
    }
    crate::output::stdout_exact(&String::from_utf8_lossy(&out));
    Ok(Exit::Ok)
}
