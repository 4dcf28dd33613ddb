//! `pgq dashboard`, `failed`, `stale`, `workers`, `backlog`: read-only reports.

use std::time::Duration;

use chrono::{DateTime, Local, Utc};

use super::CommandContext;
use super::{CommandError, object_names, open_session};
use crate::actions::reports::DashboardReport;
use crate::actions::{self, Action, Outcome};
use crate::cli::Command;
use crate::output::{self, Exit, py_datetime, table};

fn utc(dt: &DateTime<Utc>) -> String {
    py_datetime(dt)
}

fn local(dt: &DateTime<Utc>) -> String {
    py_datetime(&dt.with_timezone(&Local))
}

/// Python's round(): half to even, as PGQueuer prints ages.
fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    let value = if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    };
    value as i64
}

pub(super) async fn run(ctx: &CommandContext, command: &Command) -> Result<Exit, CommandError> {
    let action = match command {
        Command::Failed { limit } => Action::ListFailed { limit: *limit },
        Command::Stale { threshold, limit } => Action::Stale {
            threshold: Duration::from_secs_f64(*threshold),
            limit: *limit,
        },
        Command::Workers => Action::Workers,
        Command::Backlog => Action::Backlog,
        _ => unreachable!("commands::run dispatches only reports here"),
    };
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let outcome = actions::execute(&session, &action, false).await?;
    let json = ctx.json;
    let text = match outcome {
        Outcome::Failed(rows) if json => output::json_line(&rows),
        Outcome::Failed(rows) if rows.is_empty() => "No failed jobs.\n".into(),
        Outcome::Failed(rows) => table(
            &["ID", "Entrypoint", "Attempts", "Created", "Payload bytes"],
            rows.iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.entrypoint.clone(),
                        r.attempts.to_string(),
                        r.created.format("%Y-%m-%d %H:%M:%S").to_string(),
                        r.payload_bytes.to_string(),
                    ]
                })
                .collect(),
        ),
        Outcome::Stale(rows) if json => output::json_line(&rows),
        Outcome::Stale(rows) if rows.is_empty() => "No stale jobs.\n".into(),
        Outcome::Stale(rows) => table(
            &[
                "ID",
                "Entrypoint",
                "Queue manager",
                "Heartbeat",
                "Seconds since heartbeat",
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.entrypoint.clone(),
                        r.queue_manager_id
                            .map(|u| u.to_string())
                            .unwrap_or_default(),
                        utc(&r.heartbeat),
                        round_half_even(r.seconds_since_heartbeat).to_string(),
                    ]
                })
                .collect(),
        ),
        Outcome::Workers(rows) if json => output::json_line(&rows),
        Outcome::Workers(rows) if rows.is_empty() => "No workers are holding picked jobs.\n".into(),
        Outcome::Workers(rows) => table(
            &[
                "Queue manager",
                "Picked jobs",
                "Oldest heartbeat",
                "Newest heartbeat",
                "Entrypoints",
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        r.queue_manager_id.to_string(),
                        r.active_jobs.to_string(),
                        utc(&r.oldest_heartbeat),
                        utc(&r.newest_heartbeat),
                        r.entrypoints.join(", "),
                    ]
                })
                .collect(),
        ),
        Outcome::Backlog(rows) if json => output::json_line(&rows),
        Outcome::Backlog(rows) if rows.is_empty() => "No queued jobs.\n".into(),
        Outcome::Backlog(rows) => table(
            &[
                "Entrypoint",
                "Queued",
                "Oldest created",
                "Oldest age (s)",
                "Average age (s)",
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        r.entrypoint.clone(),
                        r.queued_count.to_string(),
                        utc(&r.oldest_created),
                        round_half_even(r.oldest_age_seconds).to_string(),
                        round_half_even(r.avg_age_seconds).to_string(),
                    ]
                })
                .collect(),
        ),
        other => unreachable!("not a report outcome: {other:?}"),
    };
    output::stdout(&text);
    Ok(Exit::Ok)
}

fn render_dashboard(report: &DashboardReport) -> String {
    let mut text = if report.statistics.is_empty() {
        "No job statistics yet.\n".to_string()
    } else {
        table(
            &["Created", "Count", "Entrypoint", "Status", "Priority"],
            report
                .statistics
                .iter()
                .map(|r| {
                    vec![
                        local(&r.created),
                        r.count.to_string(),
                        r.entrypoint.clone(),
                        r.status.clone(),
                        r.priority.to_string(),
                    ]
                })
                .collect(),
        )
    };
    text.push('\n');
    if report.summary.is_empty() {
        text.push_str("The queue is empty.\n");
    } else {
        text.push_str(&table(
            &[
                "Entrypoint",
                "Queued",
                "Picked",
                "Held (failed)",
                "Oldest queued (s)",
            ],
            report
                .summary
                .iter()
                .map(|s| {
                    vec![
                        s.entrypoint.clone(),
                        s.queued.to_string(),
                        s.picked.to_string(),
                        s.failed.to_string(),
                        s.oldest_queued_age_seconds
                            .map(|a| round_half_even(a).to_string())
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        ));
    }
    text
}

/// Print the dashboard once, or every `interval` seconds until interrupted.
/// It only reads, so a read-only role can run it.
pub(super) async fn dashboard(
    ctx: &CommandContext,
    interval: Option<f64>,
    limit: u32,
) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let action = Action::Dashboard { limit };
    loop {
        let Outcome::Dashboard(report) = actions::execute(&session, &action, false).await? else {
            unreachable!("Dashboard yields Dashboard");
        };
        if ctx.json {
            output::stdout(&output::json_line(&report));
        } else {
            let clear = if interval.is_some() {
                "\x1b[2J\x1b[H"
            } else {
                ""
            };
            output::stdout(&format!("{clear}{}", render_dashboard(&report)));
        }
        let Some(every) = interval else {
            return Ok(Exit::Ok);
        };
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs_f64(every)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(Exit::Ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::round_half_even;

    #[test]
    fn rounds_like_python() {
        assert_eq!(round_half_even(0.5), 0);
        assert_eq!(round_half_even(1.5), 2);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(2.6), 3);
    }
}
