//! install, uninstall, upgrade, verify, alter-durability, autovac and `sql …`.

use super::CommandContext;
use super::{CommandError, object_names, open_session};
use crate::actions::schema::{AutovacSet, DurabilitySet, Installed, Uninstalled, Upgraded};
use crate::actions::{self, Act, VerifyReport, kinds};
use crate::cli::{Command, SqlCommand};
use crate::output::{self, Exit, plural};
use crate::schema::converge::converge;
use crate::schema::render;
use crate::settings::CaseInsensitiveEnv;
use crate::settings::durability::Durability;
use crate::settings::names::ObjectNames;

/// Offline SQL (`pgq sql …`): stdout carries only SQL, nothing connects.
pub(super) fn sql(ctx: &CommandContext, command: &SqlCommand) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    let text = match command {
        SqlCommand::Install {
            durability,
            no_create_schema,
            ..
        } => install_script(&names, durability_or_env(*durability)?, !no_create_schema),
        SqlCommand::Uninstall => render::script(None, &render::uninstall(&names), "\n"),
        SqlCommand::Upgrade {
            durability,
            widen_id,
            no_widen_id,
        } => {
            let durability = durability_or_env(*durability)?;
            let widen_id = widen_id_or_env(*widen_id, *no_widen_id)?;
            render::script(None, &converge(&names, durability, widen_id), "\n\n")
        }
        SqlCommand::Durability { level } => {
            render::script(None, &render::durability_all(&names, *level), "\n\n")
        }
        SqlCommand::Autovac { rollback, .. } => {
            render::script(None, &render::autovac(&names, *rollback), "\n\n")
        }
        SqlCommand::Statement { name } => name.render(&names) + "\n",
    };
    output::stdout(&text);
    Ok(Exit::Ok)
}

fn install_script(names: &ObjectNames, durability: Durability, create_schema: bool) -> String {
    render::script(
        Some(&render::provenance(names, durability)),
        &render::install(names, durability, create_schema),
        "\n\n",
    )
}

/// `--plan` header: the delta is only valid for the database it was planned on.
fn plan_header(names: &ObjectNames, durability: Durability) -> String {
    format!(
        "{}\n-- Delta planned from this database's catalog: valid only for the database\n-- it was planned against. For a script that converges any database, use\n-- 'pgq sql upgrade'. Apply each statement in its own transaction (autocommit),\n-- e.g. psql -v ON_ERROR_STOP=1 -f delta.sql",
        render::provenance(names, durability)
    )
}

/// `--durability`, else PGQUEUER_DURABILITY (or PGQueuer's unprefixed
/// DURABILITY), else durable: install and upgrade fall back to the
/// variable as PGQueuer 2.1 does. A bad value is wrong use, named.
fn durability_or_env(flag: Option<Durability>) -> Result<Durability, CommandError> {
    if let Some(level) = flag {
        return Ok(level);
    }
    let env = CaseInsensitiveEnv::from_process();
    let Some((name, value)) = env_setting(&env, &["PGQUEUER_DURABILITY", "DURABILITY"]) else {
        return Ok(Durability::Durable);
    };
    value
        .parse()
        .map_err(|e: String| CommandError::Usage(format!("{name}={value:?}: {e}")))
}

/// `--widen-id` / `--no-widen-id` (the last one typed), else
/// PGQUEUER_WIDEN_ID (or WIDEN_ID), else widen. A value that is not a
/// boolean is wrong use rather than silently "widen".
fn widen_id_or_env(widen_id: bool, no_widen_id: bool) -> Result<bool, CommandError> {
    if widen_id || no_widen_id {
        return Ok(widen_id);
    }
    let env = CaseInsensitiveEnv::from_process();
    let Some((name, value)) = env_setting(&env, &["PGQUEUER_WIDEN_ID", "WIDEN_ID"]) else {
        return Ok(true);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(CommandError::Usage(format!(
            "{name}={value:?} is not a boolean (use true or false)"
        ))),
    }
}

/// The first of `names` set to a non-empty value, with the name it was found under.
fn env_setting(env: &CaseInsensitiveEnv, names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|name| {
        env.get(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*name, v))
    })
}

pub(super) async fn run(ctx: &CommandContext, command: &Command) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    // Commands whose dry run needs no database: print and stop before connecting,
    // so CI can render them without credentials.
    match command {
        Command::Install {
            durability,
            no_create_schema,
            dry_run: true,
            ..
        } => {
            let durability = durability_or_env(*durability)?;
            output::stdout(&install_script(&names, durability, !no_create_schema));
            return Ok(Exit::Ok);
        }
        Command::Uninstall { dry_run: true } => {
            output::stdout(&render::script(None, &render::uninstall(&names), "\n"));
            return Ok(Exit::Ok);
        }
        Command::Autovac {
            rollback,
            dry_run: true,
            ..
        } => {
            output::stdout(&render::script(
                None,
                &render::autovac(&names, *rollback),
                "\n\n",
            ));
            return Ok(Exit::Ok);
        }
        _ => {}
    }

    match command {
        Command::Install {
            durability,
            no_create_schema,
            dry_run,
            ..
        } => {
            let action = kinds::Install {
                durability: durability_or_env(*durability)?,
                create_schema: !no_create_schema,
            };
            perform(ctx, names, action, *dry_run, installed).await
        }
        Command::Uninstall { dry_run } => {
            perform(ctx, names, kinds::Uninstall, *dry_run, uninstalled).await
        }
        Command::Upgrade {
            plan,
            widen_id,
            no_widen_id,
            dry_run,
            durability,
        } => {
            if durability.is_some() {
                output::warning(
                    "--durability is ignored by upgrade (it never changes durability); use 'pgq alter-durability'.",
                );
            }
            // upgrade's own -d is ignored: the declared durability is the
            // variable's (PGQueuer reads it there too).
            let action = kinds::Upgrade {
                durability: durability_or_env(None)?,
                // clap keeps only the last of --widen-id / --no-widen-id.
                widen_id: widen_id_or_env(*widen_id, *no_widen_id)?,
            };
            perform(ctx, names, action, *plan || *dry_run, upgraded).await
        }
        Command::Verify { expect, strict } => {
            let action = kinds::Verify {
                expect: *expect,
                strict: *strict,
            };
            perform(ctx, names, action, false, verified).await
        }
        Command::AlterDurability {
            level,
            dry_run,
            lock_timeout,
        } => {
            let action = kinds::SetDurability {
                level: *level,
                lock_timeout: (*lock_timeout > 0.0)
                    .then(|| std::time::Duration::from_secs_f64(*lock_timeout)),
            };
            perform(ctx, names, action, *dry_run, durability_set).await
        }
        Command::Autovac {
            rollback, dry_run, ..
        } => {
            let action = kinds::Autovac {
                rollback: *rollback,
            };
            perform(ctx, names, action, *dry_run, autovac_set).await
        }
        _ => unreachable!("commands::run dispatches only schema commands here"),
    }
}

/// Connect, run `action` and render its output with `report`.
async fn perform<A: Act>(
    ctx: &CommandContext,
    names: ObjectNames,
    action: A,
    dry_run: bool,
    report: fn(&ObjectNames, A::Output) -> Exit,
) -> Result<Exit, CommandError> {
    let session = open_session(ctx, names).await?;
    let output = actions::run(&session, &action, dry_run).await?;
    Ok(report(&session.names, output))
}

// Render each output: SQL and verify lines on stdout, summaries on stderr.

fn installed(names: &ObjectNames, output: Installed) -> Exit {
    let Installed {
        durability,
        statements,
        applied,
    } = output;
    if applied {
        output::status(&format!(
            "Installed PgQueuer schema (durability={durability})."
        ));
    } else {
        output::stdout(&render::script(
            Some(&render::provenance(names, durability)),
            &statements,
            "\n\n",
        ));
    }
    Exit::Ok
}

fn uninstalled(_: &ObjectNames, output: Uninstalled) -> Exit {
    let Uninstalled {
        statements,
        applied,
    } = output;
    if applied {
        output::status("Uninstalled PgQueuer schema.");
    } else {
        output::stdout(&render::script(None, &statements, "\n"));
    }
    Exit::Ok
}

fn upgraded(names: &ObjectNames, output: Upgraded) -> Exit {
    let Upgraded {
        plan,
        applied,
        durability,
    } = output;
    for note in &plan.notes {
        output::note(note);
    }
    let n = plan.steps.len();
    if n == 0 {
        output::status("PgQueuer schema is already up to date.");
    } else if applied {
        output::status(&format!("Applied {}.", plural(n, "statement")));
    } else {
        output::stdout(&render::script(
            Some(&plan_header(names, durability)),
            &plan.statements(),
            "\n\n",
        ));
        output::status(&format!("Would apply {}.", plural(n, "statement")));
    }
    Exit::Ok
}

fn verified(_: &ObjectNames, report: VerifyReport) -> Exit {
    let mut lines = report.divergences.clone();
    lines.extend(report.differences.iter().cloned());
    if !report.newer.is_empty() {
        lines.push(format!(
            "newer than PGQueuer {}: pgq reads this installation but changes none of its schema",
            crate::schema::generations::WRITTEN
        ));
        lines.extend(report.newer.iter().map(|o| format!("  {o}")));
        output::stdout(&(lines.join("\n") + "\n"));
        // Its own code, so a script tells "newer" from "broken"; --strict
        // asks for exactly 1.6.0 and fails.
        return if report.strict || !report.divergences.is_empty() {
            Exit::Failure
        } else {
            Exit::Newer
        };
    }
    if lines.is_empty() {
        output::stdout(if report.expect_present {
            "All required PgQueuer database objects are present.\n"
        } else {
            "No PgQueuer database objects found\n"
        });
        Exit::Ok
    } else {
        output::stdout(&(lines.join("\n") + "\n"));
        Exit::Failure
    }
}

fn durability_set(_: &ObjectNames, output: DurabilitySet) -> Exit {
    let DurabilitySet {
        level,
        changes,
        statements,
        applied,
        elapsed,
    } = output;
    let persistence = |unlogged| if unlogged { "UNLOGGED" } else { "LOGGED" };
    if !applied {
        output::stdout(&render::script(None, &statements, "\n"));
    }
    if changes.is_empty() {
        output::status(&format!(
            "PgQueuer durability is already {level}; nothing to change."
        ));
        return Exit::Ok;
    }
    let verb = if applied { "Changed" } else { "Would change" };
    for c in &changes {
        output::status(&format!(
            "{verb} {}: {} -> {}",
            c.table,
            persistence(c.from_unlogged),
            persistence(c.to_unlogged)
        ));
    }
    if applied {
        output::status(&format!(
            "Set PgQueuer durability to {level} ({} in {:.0?}).",
            plural(changes.len(), "table"),
            elapsed
        ));
    }
    Exit::Ok
}

fn autovac_set(_: &ObjectNames, output: AutovacSet) -> Exit {
    let AutovacSet {
        rollback,
        statements,
        applied,
    } = output;
    if !applied {
        output::stdout(&render::script(None, &statements, "\n\n"));
    } else if rollback {
        output::status("Reset autovacuum settings to defaults.");
    } else {
        output::status("Applied recommended autovacuum settings.");
    }
    Exit::Ok
}
