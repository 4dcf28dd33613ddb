//! `pgq prune`: run the prune action with a progress bar on a terminal, stop
//! after the current batch on SIGINT, and print one summary.

use std::io::IsTerminal;

use super::batch_progress::{Bar, watched};
use super::{CommandContext, CommandError, object_names, open_session};
use crate::actions::kinds::Prune;
use crate::actions::retention::prune::{Pruned, Retention, TablePrune};
use crate::actions::{self, Act};
use crate::cli::PruneArgs;
use crate::db::signal::{Signals, StopSignal};
use crate::output::{self, Exit};

pub(super) async fn run(ctx: &CommandContext, args: &PruneArgs) -> Result<Exit, CommandError> {
    if args.log_older_than.is_none() && args.statistics_older_than.is_none() {
        return Err(CommandError::Usage(
            "say what to delete: --log-older-than DURATION and/or --statistics-older-than DURATION \
             (pgq prune never deletes anything by default; e.g. pgq prune --log-older-than 30d --dry-run)"
                .into(),
        ));
    }
    let action = Prune::new(Retention {
        log_older_than: args.log_older_than,
        statistics_older_than: args.statistics_older_than,
        entrypoints: args.entrypoints.clone(),
        batch_size: args.batch_size,
    });
    // Installed before connecting: from here on SIGINT asks for a clean stop.
    let mut signals = Signals::install(&[StopSignal::Interrupt, StopSignal::Terminate])
        .map_err(|e| CommandError::Other(e.to_string()))?;
    let session = open_session(ctx, object_names(ctx)?).await?;

    let on_terminal = std::io::stderr().is_terminal() && !args.dry_run && !ctx.json;
    let bar = on_terminal.then_some(Bar {
        unit: "rows",
        length: None,
    });
    let (pruned, stopped_by) = watched(
        actions::run(&session, &action, args.dry_run),
        &mut signals,
        bar,
    )
    .await;
    let pruned = pruned?;
    report(&session.names, &action, &pruned, ctx.json);
    Ok(match stopped_by {
        Some(StopSignal::Terminate) if pruned.interrupted => Exit::Terminated,
        _ if pruned.interrupted => Exit::Interrupted,
        _ => Exit::Ok,
    })
}

fn report(
    names: &crate::settings::names::ObjectNames,
    action: &Prune,
    pruned: &Pruned,
    json: bool,
) {
    if json {
        output::stdout_exact(&(output::json_line(pruned) + "\n"));
    } else {
        if pruned.dry_run {
            output::stdout(&format!(
                "-- {} (dry run: nothing deleted)\n",
                action.command_line(names)
            ));
            for sql in &pruned.statements {
                output::stdout(&format!("{sql};\n\n"));
            }
        }
        output::stdout(&(summary(pruned) + "\n"));
    }
    if pruned.held_back() > 0 {
        let one = pruned.held_back() == 1;
        output::note(&format!(
            "{} older than the cut-off {} kept because {} not aggregated into statistics yet; \
             a running worker (pgq run, or PGQueuer's) aggregates the log every ~30 s, \
             PGQueuer's 'pgq dashboard' does too. Prune again afterwards.",
            output::plural(pruned.held_back() as usize, "log row"),
            match (pruned.dry_run, one) {
                (true, _) => "would be",
                (false, true) => "was",
                (false, false) => "were",
            },
            if one { "it is" } else { "they are" },
        ));
    }
}

/// One line: what went (or would go), per table, and how fast.
fn summary(p: &Pruned) -> String {
    let part = |t: &TablePrune, what: &str| {
        let n = if p.dry_run { t.eligible } else { t.deleted };
        format!(
            "{} older than {}",
            output::plural(n as usize, what),
            t.cutoff.format("%Y-%m-%d %H:%M:%S UTC")
        )
    };
    let parts: Vec<String> = p
        .log
        .iter()
        .map(|t| part(t, "log row"))
        .chain(p.statistics.iter().map(|t| part(t, "statistics row")))
        .collect();
    let parts = parts.join(" and ");
    if p.dry_run {
        return format!("Would delete {parts}.");
    }
    let seconds = p.elapsed_ms / 1e3;
    let rate = if seconds > 0.0 {
        p.deleted() as f64 / seconds
    } else {
        0.0
    };
    let head = if p.interrupted {
        format!(
            "Interrupted after {}: deleted {parts}; {} left.",
            output::plural(p.batches() as usize, "whole batch"),
            p.eligible().saturating_sub(p.deleted())
        )
    } else {
        format!("Deleted {parts}.")
    };
    format!(
        "{head} {} in {seconds:.1} s ({rate:.0} rows/s, longest batch {:.0} ms).",
        output::plural(p.batches() as usize, "batch"),
        p.max_batch_ms()
    )
}
