//! What a mutating action will do, before it runs: the question a
//! confirmation dialog asks (target and count), the exact SQL, the
//! parameters, and the equivalent scripted command. The SQL comes from the
//! same builders (or the same dry run) the execution uses, so the preview is
//! what runs; `record` lets tests and the console's SQL log check that.

use super::jobs::{Conflict, JobSpec, enqueue_statement, requeue_sql};
use super::schedules::{Removal, ScheduleRef, remove_sql, run_now_sql, split_refs};
use super::schema::durability_batch;
use super::{Action, ActionError, Outcome, Session, db_err, execute};
use crate::db::statements::Statement;

#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// "Remove 3 schedules of entrypoint nightly_report?"
    pub question: String,
    /// Statements in the order they will be sent.
    pub statements: Vec<String>,
    /// `$1 = …` lines for parameterised statements.
    pub parameters: Vec<String>,
    pub command_line: String,
    /// What the user must know before saying yes (locks, data loss).
    pub warning: Option<String>,
    /// Nothing would change (the dialog then only informs).
    pub nothing_to_do: bool,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn list<T: ToString>(items: &[T]) -> String {
    const SHOWN: usize = 10;
    let mut text: Vec<String> = items.iter().take(SHOWN).map(T::to_string).collect();
    if items.len() > SHOWN {
        text.push(format!("… {} more", items.len() - SHOWN));
    }
    text.join(", ")
}

pub async fn preview(session: &Session, action: &Action) -> Result<Preview, ActionError> {
    let command_line = action.command_line();
    let base = |question: String, statements: Vec<String>| Preview {
        question,
        statements,
        parameters: Vec::new(),
        command_line: command_line.clone(),
        warning: None,
        nothing_to_do: false,
    };
    match action {
        Action::Enqueue { jobs, on_conflict } => Ok(enqueue(session, jobs, *on_conflict, base)),
        Action::Requeue { ids } => {
            let n = &session.names;
            let sql = Statement::RequeueCount.render(n);
            let held: i64 = session
                .client()
                .query_one(&sql, &[ids])
                .await
                .map_err(db_err("counting held jobs"))?
                .get(0);
            let mut p = base(
                format!(
                    "Requeue {} ({})?",
                    plural(held as usize, "held job", "held jobs"),
                    list(ids)
                ),
                vec![requeue_sql(session)],
            );
            p.parameters = vec![format!("$1 = {{{}}}", list(ids))];
            p.nothing_to_do = held == 0;
            Ok(p)
        }
        Action::RemoveSchedules { refs } => {
            let Outcome::SchedulesRemoved(Removal { removed, .. }) =
                execute(session, action, true).await?
            else {
                unreachable!("RemoveSchedules returns SchedulesRemoved")
            };
            let question = match refs.as_slice() {
                [ScheduleRef::Entrypoint(name)] => format!(
                    "Remove {} of entrypoint {name}?",
                    plural(removed.len(), "schedule", "schedules")
                ),
                _ => {
                    let what: Vec<String> = removed
                        .iter()
                        .map(|s| format!("{} {} ({})", s.id, s.entrypoint, s.expression))
                        .collect();
                    format!(
                        "Remove {}: {}?",
                        plural(removed.len(), "schedule", "schedules"),
                        list(&what)
                    )
                }
            };
            let (ids, names) = split_refs(refs);
            let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
            let mut p = base(
                question,
                vec!["BEGIN".into(), remove_sql(session), "COMMIT".into()],
            );
            p.parameters = vec![
                format!("$1 = {{{}}}", ids.join(",")),
                format!("$2 = {{{}}}", names.join(",")),
            ];
            p.nothing_to_do = removed.is_empty();
            p.warning = Some(
                "A scheduler that still registers these expressions inserts them again when it restarts."
                    .into(),
            );
            Ok(p)
        }
        Action::RunSchedulesNow { ids } => {
            let mut p = base(
                format!(
                    "Make {} due now ({})?",
                    plural(ids.len(), "schedule", "schedules"),
                    list(ids)
                ),
                vec![run_now_sql(session)],
            );
            p.parameters = vec![format!("$1 = {{{}}}", list(ids))];
            p.warning =
                Some("The scheduler that registered them fires them at its next poll.".into());
            Ok(p)
        }
        Action::SetDurability {
            level,
            lock_timeout,
        } => {
            let Outcome::DurabilitySet {
                changes,
                statements,
                ..
            } = execute(session, action, true).await?
            else {
                unreachable!("SetDurability returns DurabilitySet")
            };
            if statements.is_empty() {
                let mut p = base(format!("Every table is already {level}."), Vec::new());
                p.nothing_to_do = true;
                return Ok(p);
            }
            let tables: Vec<String> = changes.iter().map(|c| c.table.clone()).collect();
            let bytes = rewrite_bytes(session, &tables).await?;
            let mut p = base(
                format!(
                    "Switch {} to {level} ({})?",
                    plural(changes.len(), "table", "tables"),
                    tables.join(", ")
                ),
                vec![durability_batch(&statements, *lock_timeout)],
            );
            p.warning = Some(format!(
                "Each ALTER TABLE rewrites the table under an ACCESS EXCLUSIVE lock ({} to rewrite): \
                 enqueue and dequeue wait meanwhile. The lock wait is bounded by lock_timeout; \
                 on any error no table changes.",
                human_bytes(bytes)
            ));
            Ok(p)
        }
        Action::Install { .. }
        | Action::Uninstall
        | Action::Upgrade { .. }
        | Action::Autovac { .. } => {
            let statements = match execute(session, action, true).await? {
                Outcome::Installed { statements, .. }
                | Outcome::Uninstalled { statements, .. }
                | Outcome::AutovacSet { statements, .. } => statements,
                Outcome::Upgraded { plan, .. } => plan.steps.into_iter().map(|s| s.sql).collect(),
                _ => Vec::new(),
            };
            let mut p = base(format!("Run {command_line}?"), statements);
            p.nothing_to_do = p.statements.is_empty();
            if matches!(action, Action::Uninstall) {
                p.warning = Some("Every job, log row, statistic and schedule is deleted.".into());
            }
            Ok(p)
        }
        Action::Verify { .. }
        | Action::Dashboard { .. }
        | Action::ListFailed { .. }
        | Action::Stale { .. }
        | Action::Workers
        | Action::Backlog
        | Action::QueueStats { .. }
        | Action::ServerVersion
        | Action::ListSchedules
        | Action::TableInfo
        | Action::HeldJobs { .. } => {
            let mut p = base("This only reads.".into(), Vec::new());
            p.nothing_to_do = true;
            Ok(p)
        }
    }
}

fn enqueue(
    session: &Session,
    jobs: &[JobSpec],
    on_conflict: Conflict,
    base: impl Fn(String, Vec<String>) -> Preview,
) -> Preview {
    let sql = enqueue_statement(session, on_conflict);
    let statements = if on_conflict == Conflict::Raise && jobs.len() > 1 {
        vec!["BEGIN".into(), sql, "COMMIT".into()]
    } else {
        vec![sql]
    };
    let question = match jobs {
        [job] => format!("Enqueue a job for entrypoint {}?", job.entrypoint),
        _ => format!("Enqueue {} jobs?", jobs.len()),
    };
    let mut p = base(question, statements);
    let column = |name: &str, f: &dyn Fn(&JobSpec) -> String| {
        let values: Vec<String> = jobs.iter().map(f).collect();
        format!("{name} = {{{}}}", list(&values))
    };
    p.parameters = vec![
        column("$1 priority", &|j| j.priority.to_string()),
        column("$2 entrypoint", &|j| j.entrypoint.clone()),
        column("$3 payload", &|j| match &j.payload {
            None => "NULL".into(),
            Some(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                let short: String = text.chars().take(60).collect();
                if short.len() < text.len() {
                    format!("{short}… ({} bytes)", bytes.len())
                } else {
                    short
                }
            }
        }),
        column("$4 delay", &|j| {
            format!("{} microseconds", j.execute_after.as_micros())
        }),
        column("$5 dedupe_key", &|j| {
            j.dedupe_key.clone().unwrap_or_else(|| "NULL".into())
        }),
        column("$6 headers", &|j| j.headers.to_string()),
    ];
    p
}

async fn rewrite_bytes(session: &Session, tables: &[String]) -> Result<i64, ActionError> {
    let n = &session.names;
    let qualified: Vec<String> = tables.iter().map(|t| n.qualify(t)).collect();
    let row = session
        .client()
        .query_one(
            "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest($1::text[]) t",
            &[&qualified],
        )
        .await
        .map_err(db_err("measuring the tables"))?;
    Ok(row.get(0))
}

pub fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
