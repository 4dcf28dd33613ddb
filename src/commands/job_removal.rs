//! `pgq cancel`, `pgq delete` and `pgq purge`: arguments → a job selection
//! → the removal, with `--dry-run`, the `--yes` guard, progress and Ctrl-C.

use std::io::IsTerminal;

use super::batch_progress::{Bar, watched};
use super::{CommandContext, CommandError, object_names, open_session};
use crate::actions::jobs::removal::{self, Removal, Removed};
use crate::actions::jobs::selection::JobSelection;
use crate::actions::kinds::{CancelJobs, DeleteJobs, JobChange, PurgeJobs, RequeueJobs};
use crate::actions::{self, Session};
use crate::cli::{CancelArgs, Confirm, DeleteArgs, JobChangeArgs, PurgeArgs, RequeueArgs};
use crate::db::signal::{Signals, StopSignal};
use crate::output::{self, Exit, plural};

pub(super) async fn cancel(ctx: &CommandContext, args: &CancelArgs) -> Result<Exit, CommandError> {
    let selection = selection(args)?;
    let action = CancelJobs {
        selection: selection.clone(),
        bound: None,
    };
    run(ctx, Removal::Cancel, &action, &selection, &args.confirm).await
}

pub(super) async fn delete(ctx: &CommandContext, args: &DeleteArgs) -> Result<Exit, CommandError> {
    let selection = selection(args)?;
    let action = DeleteJobs {
        selection: selection.clone(),
        bound: None,
    };
    run(ctx, Removal::Delete, &action, &selection, &args.confirm).await
}

pub(super) async fn purge(ctx: &CommandContext, args: &PurgeArgs) -> Result<Exit, CommandError> {
    let selection = selection(args)?;
    let action = PurgeJobs {
        selection: selection.clone(),
        bound: None,
    };
    run(ctx, Removal::Purge, &action, &selection, &args.confirm).await
}

/// `pgq requeue` with the job filter (ids keep their own command, which
/// names the ids that are not held instead of refusing them all).
pub(super) async fn requeue(
    ctx: &CommandContext,
    args: &RequeueArgs,
) -> Result<Exit, CommandError> {
    let selection = selection(args)?;
    let action = RequeueJobs {
        selection: selection.clone(),
        bound: None,
    };
    run(ctx, Removal::Requeue, &action, &selection, &args.confirm).await
}

/// Job ids or the job filter, never both and never neither: wrong use.
fn selection(args: &JobChangeArgs) -> Result<JobSelection, CommandError> {
    let filter = args.filter.filter();
    match (args.ids.is_empty(), filter.is_empty()) {
        (false, false) => Err(CommandError::Usage(
            "give job ids or filter flags, not both".into(),
        )),
        (false, true) => Ok(JobSelection::Ids(args.ids.clone())),
        (true, _) => Ok(JobSelection::Filter(Box::new(filter))),
    }
}

async fn run<A: JobChange>(
    ctx: &CommandContext,
    removal: Removal,
    action: &A,
    selection: &JobSelection,
    confirm: &Confirm,
) -> Result<Exit, CommandError> {
    // An empty filter or a wrong status is wrong use, refused before connecting.
    selection
        .binds(removal.statuses())
        .map_err(|e| CommandError::Usage(e.to_string()))?;
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    if confirm.dry_run {
        let removed = actions::run(&session, action, true).await?;
        return dry_run(ctx, &session, removal, selection, &removed);
    }
    // Installed before anything is written: from here on SIGINT and SIGTERM
    // stop the removal between batches, with a summary.
    let signals =
        Signals::interrupt_and_terminate().map_err(|e| CommandError::Other(e.to_string()))?;
    // Counted once: for the --yes guard, and as the progress bar's length.
    // A count shown is a bound: what is removed is at most what it saw.
    let mut counted = None;
    if !selection.is_ids() && !confirm.yes {
        let found = removal::count(&session, removal, selection, None).await?;
        if found.count > 1 {
            return Err(CommandError::Usage(format!(
                "{} match {}; add --yes to {} them (--dry-run shows the SQL)",
                plural(
                    found.count as usize,
                    &format!("{} job", removal.jobs_word())
                ),
                selection.arguments(),
                removal.command()
            )));
        }
        counted = Some(found);
    }
    let (removed, signal) =
        with_progress(&session, action, removal, selection, counted, signals).await?;
    report(ctx, &removed, signal);
    Ok(match signal {
        Some(StopSignal::Terminate) => Exit::Terminated,
        Some(_) => Exit::Interrupted,
        None if removed.left > 0 => Exit::Failure,
        None => Exit::Ok,
    })
}

/// Run the removal with a progress bar on a terminal; a stop signal stops
/// it between batches (a batch is never cut in half). Says which signal.
async fn with_progress<A: JobChange>(
    session: &Session,
    action: &A,
    removal: Removal,
    selection: &JobSelection,
    counted: Option<removal::Counted>,
    mut signals: Signals,
) -> Result<(Removed, Option<StopSignal>), CommandError> {
    let bar = if selection.is_ids() || !std::io::stderr().is_terminal() {
        None
    } else {
        let length = match &counted {
            Some(c) => c.count,
            None => {
                removal::count(session, removal, selection, None)
                    .await?
                    .count
            }
        };
        Some(Bar {
            unit: "jobs",
            length: Some(length),
        })
    };
    let bound = counted.as_ref().map(removal::Counted::bound);
    let action = action.clone().within(bound);
    // Through `actions::run` like every change (refused when read-only,
    // audited); each batch moves the bar, and a signal stops it.
    let (result, signal) = watched(actions::run(session, &action, false), &mut signals, bar).await;
    let removed = result?;
    let signal = signal.filter(|_| removed.interrupted);
    Ok((removed, signal))
}

fn report(ctx: &CommandContext, removed: &Removed, signal: Option<StopSignal>) {
    let jobs = plural(removed.count as usize, "job");
    if ctx.json {
        let mut value = serde_json::json!({
            "action": removed.removal.command(),
            "count": removed.count,
            "batches": removed.batches,
            "interrupted": removed.interrupted,
            "left": removed.left,
        });
        if !removed.ids.is_empty() {
            value["ids"] = removed.ids.clone().into();
        }
        if removed.removal == Removal::Cancel {
            value["events"] = removed.events.into();
        }
        if let Some(signal) = signal {
            value["signal"] = signal.number().into();
        }
        output::stdout_exact(&output::json_line(&value));
    } else if removed.interrupted {
        output::stdout(&format!(
            "Interrupted: {} {jobs} in {}; the rest is untouched.\n",
            removed.removal.past(),
            plural(removed.batches, "batch")
        ));
    } else {
        let mut line = format!("{} {jobs}", capitalised(removed.removal.past()));
        if !removed.ids.is_empty() {
            let ids: Vec<String> = removed.ids.iter().map(i64::to_string).collect();
            line.push_str(&format!(" ({})", ids.join(", ")));
        }
        output::stdout(&format!("{line}.\n"));
    }
    if let Some(signal) = signal {
        output::error(&format!(
            "stopped by signal {}; whole batches were written, the rest is untouched",
            signal.number()
        ));
    }
    if removed.left > 0 {
        output::error(&format!(
            "{} still matching were held by another transaction the whole time and were left untouched; run the command again",
            plural(removed.left as usize, "job")
        ));
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn dry_run(
    ctx: &CommandContext,
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    removed: &Removed,
) -> Result<Exit, CommandError> {
    let (statements, parameters) = removal::statements(session, removal, selection)?;
    if ctx.json {
        output::stdout_exact(&output::json_line(&serde_json::json!({
            "action": removal.command(),
            "dry_run": true,
            "count": removed.count,
            "statements": statements,
            "parameters": parameters,
        })));
    } else {
        let mut text = String::new();
        for sql in &statements {
            text.push_str(sql);
            text.push_str(";\n");
        }
        for p in &parameters {
            text.push_str(&format!("-- {p}\n"));
        }
        text.push_str(&format!(
            "-- would {} {} (dry run: nothing changed)\n",
            removal.command(),
            plural(
                removed.count as usize,
                &format!("{} job", removal.jobs_word())
            )
        ));
        output::stdout(&text);
    }
    Ok(Exit::Ok)
}
