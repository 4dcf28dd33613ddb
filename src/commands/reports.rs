//! `pgq dashboard`, `failed`, `stale`, `workers`, `backlog`: read-only reports.

use std::time::Duration;

use chrono::{DateTime, Local, Utc};

use super::CommandContext;
use super::{CommandError, object_names, open_session};
use crate::actions::reports::DashboardReport;
use crate::actions::reports::workers::WorkerRow;
use crate::actions::{self, kinds};
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
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let json = ctx.json;
    let text = match command {
        Command::Failed { limit } => {
            let rows = actions::run(&session, &kinds::ListFailed { limit: *limit }, false).await?;
            if json {
                output::json_line(&rows)
            } else if rows.is_empty() {
                "No failed jobs.\n".into()
            } else {
                table(
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
                )
            }
        }
        Command::Stale { threshold, limit } => {
            let rows = actions::run(
                &session,
                &kinds::Stale {
                    threshold: Duration::from_secs_f64(*threshold),
                    limit: *limit,
                },
                false,
            )
            .await?;
            if json {
                output::json_line(&rows)
            } else if rows.is_empty() {
                "No stale jobs.\n".into()
            } else {
                table(
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
                )
            }
        }
        Command::Workers {
            threshold,
            jobs,
            watch,
        } => {
            // Listen first: the table then describes the end of the watch.
            let alive = match watch {
                Some(watch) => Some((
                    super::workers_watch::health_senders(ctx, &session.names, *watch)
                        .await?
                        .alive_within(
                            chrono::Utc::now(),
                            chrono::Duration::from_std(*watch).unwrap_or(chrono::Duration::MAX),
                        ),
                    *watch,
                )),
                None => None,
            };
            let action = kinds::Workers {
                stale_after: Duration::from_secs_f64(*threshold),
                job_limit: *jobs,
            };
            let rows = actions::run(&session, &action, false).await?;
            let picked = match alive {
                Some(_) => {
                    let last = kinds::LastPicked {
                        window: actions::reports::workers::LAST_PICKED_WINDOW,
                    };
                    actions::run(&session, &last, false).await?
                }
                None => Vec::new(),
            };
            match alive {
                // PGQueuer's JSON shape (a list) stays as it is without --watch.
                Some((alive, watch)) if json => output::json_line(&serde_json::json!({
                    "alive": alive,
                    "watched_seconds": watch.as_secs_f64(),
                    "holding_jobs": rows.len(),
                    "workers": rows,
                    "last_picked": picked,
                })),
                None if json => output::json_line(&rows),
                alive => {
                    let mut text = String::new();
                    if let Some((alive, watch)) = alive {
                        text.push_str(&alive_line(alive, rows.len(), watch));
                        text.push_str(&last_picked_line(&picked));
                    }
                    if rows.is_empty() {
                        text.push_str("No workers are holding picked jobs.\n");
                    } else {
                        text.push_str(&workers_table(&rows));
                    }
                    text
                }
            }
        }
        Command::Backlog => {
            let rows = actions::run(&session, &kinds::Backlog, false).await?;
            if json {
                output::json_line(&rows)
            } else if rows.is_empty() {
                "No queued jobs.\n".into()
            } else {
                table(
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
                )
            }
        }
        _ => unreachable!("commands::run dispatches only reports here"),
    };
    if json {
        output::stdout_exact(&text);
    } else {
        output::stdout(&text);
    }
    Ok(Exit::Ok)
}

/// "Last picked: send_email 3 s ago, resize_image 125 s ago" (last hour).
fn last_picked_line(picked: &[actions::reports::workers::EntrypointPicked]) -> String {
    if picked.is_empty() {
        return "Last picked: nothing in the last hour\n".into();
    }
    let now = Utc::now();
    let mut recent: Vec<_> = picked.iter().collect();
    recent.sort_by_key(|p| std::cmp::Reverse(p.last_picked));
    let items: Vec<String> = recent
        .iter()
        .map(|p| {
            let seconds = (now - p.last_picked).num_milliseconds().max(0) as f64 / 1e3;
            format!("{} {} s ago", p.entrypoint, round_half_even(seconds))
        })
        .collect();
    format!("Last picked: {}\n", items.join(", "))
}

/// `15`, `2.5`: a duration in seconds without noise.
fn seconds(d: Duration) -> String {
    match d.subsec_millis() {
        0 => d.as_secs().to_string(),
        _ => format!("{:.1}", d.as_secs_f64()),
    }
}

/// "2 workers alive (health checks in the last 15 s); 1 holds jobs".
fn alive_line(alive: usize, holding: usize, watch: Duration) -> String {
    format!(
        "{alive} {} alive (health checks in the last {} s); {holding} {} jobs\n",
        if alive == 1 { "worker" } else { "workers" },
        seconds(watch),
        if holding == 1 { "holds" } else { "hold" },
    )
}

/// PGQueuer's five columns, then heartbeat ages, the stale count and the
/// job ids (the first `--jobs` of them, `+N` for the rest).
fn workers_table(rows: &[WorkerRow]) -> String {
    table(
        &[
            "Queue manager",
            "Picked jobs",
            "Oldest heartbeat",
            "Newest heartbeat",
            "Entrypoints",
            "Newest age (s)",
            "Oldest age (s)",
            "Stale",
            "Job ids",
        ],
        rows.iter()
            .map(|r| {
                let mut ids: Vec<String> = r.jobs.iter().map(|j| j.id.to_string()).collect();
                let more = r.active_jobs - r.jobs.len() as i64;
                if more > 0 {
                    ids.push(format!("+{more}"));
                }
                vec![
                    r.queue_manager_id.to_string(),
                    r.active_jobs.to_string(),
                    utc(&r.oldest_heartbeat),
                    utc(&r.newest_heartbeat),
                    r.entrypoints.join(", "),
                    round_half_even(r.newest_heartbeat_age_seconds).to_string(),
                    round_half_even(r.oldest_heartbeat_age_seconds).to_string(),
                    if r.stale {
                        format!("STALE ({})", r.stale_jobs)
                    } else {
                        String::new()
                    },
                    ids.join(" "),
                ]
            })
            .collect(),
    )
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
    let action = kinds::Dashboard { limit };
    loop {
        let report = actions::run(&session, &action, false).await?;
        if ctx.json {
            output::stdout_exact(&output::json_line(&report));
        } else {
            let clear = if interval.is_some() {
                "\x1b[2J\x1b[H"
            } else {
                ""
            };
            // The clear-screen sequence is pgq's own; the report is escaped.
            output::stdout_exact(clear);
            output::stdout(&render_dashboard(&report));
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
