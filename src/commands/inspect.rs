//! `pgq size`, `throughput`, `log` and `tables` (PGQueuer 2.2's read-only
//! commands, in pgq's own shapes): a table on stdout, or one JSON document
//! with `--json`. They only read, so a read-only session or a standby
//! serves them.

use chrono::{DateTime, Utc};

use super::CommandContext;
use super::{CommandError, object_names, open_session};
use crate::actions::reports::activity::{LogQuery, LogRow, ThroughputReport};
use crate::actions::schema::tables::{SizeReport, TableObject};
use crate::actions::{self, kinds};
use crate::cli::{Command, LogArgs};
use crate::output::format::human_bytes;
use crate::output::{self, Exit, py_datetime, table};

pub(super) async fn run(ctx: &CommandContext, command: &Command) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let json = ctx.json;
    let text = match command {
        Command::Size => {
            let report = actions::run(&session, &kinds::Size, false).await?;
            if json {
                output::json_line(&report)
            } else {
                size_text(&report)
            }
        }
        Command::Tables => {
            let tables = actions::run(&session, &kinds::ListTables, false).await?;
            if json {
                output::json_line(&tables)
            } else {
                tables_text(&tables)
            }
        }
        Command::Throughput { window } => {
            let action = kinds::Throughput { window: *window };
            let report = actions::run(&session, &action, false).await?;
            if json {
                output::json_line(&report)
            } else {
                throughput_text(&report)
            }
        }
        Command::Log(args) => {
            let rows = actions::run(&session, &kinds::ListLog(log_query(args)), false).await?;
            if json {
                output::json_line(&rows)
            } else if rows.is_empty() {
                "No log rows.\n".into()
            } else {
                log_text(&rows)
            }
        }
        _ => unreachable!("commands::run dispatches only size, tables, throughput and log here"),
    };
    output::stdout(&text);
    Ok(Exit::Ok)
}

fn log_query(args: &LogArgs) -> LogQuery {
    LogQuery {
        limit: args.limit,
        entrypoints: args.entrypoint.clone(),
        status: args.status,
        job_id: args.job,
    }
}

/// A missing table reads "missing" rather than zeros that look measured.
fn measured(t: &TableObject, value: impl FnOnce() -> String) -> String {
    if t.exists { value() } else { "missing".into() }
}

fn size_text(report: &SizeReport) -> String {
    let mut rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.clone(),
                measured(t, || t.estimated_rows.to_string()),
                measured(t, || human_bytes(t.table_bytes)),
                measured(t, || human_bytes(t.index_bytes)),
                measured(t, || human_bytes(t.total_bytes)),
            ]
        })
        .collect();
    rows.push(vec![
        "total".into(),
        String::new(),
        String::new(),
        String::new(),
        human_bytes(report.total_bytes),
    ]);
    let mut text = table(
        &["Table", "Rows (estimate)", "Table size", "Indexes", "Total"],
        rows,
    );
    text.push_str(&format!(
        "Queue: {} queued, {} picked, {} failed (held).\n",
        report.queued, report.picked, report.failed
    ));
    text
}

fn tables_text(tables: &[TableObject]) -> String {
    table(
        &[
            "Table",
            "Role",
            "Exists",
            "Persistence",
            "Rows (estimate)",
            "Size",
            "Autovacuum",
        ],
        tables
            .iter()
            .map(|t| {
                vec![
                    t.table.clone(),
                    t.role.to_string(),
                    if t.exists { "yes" } else { "no" }.into(),
                    t.persistence.unwrap_or("").into(),
                    measured(t, || t.estimated_rows.to_string()),
                    measured(t, || human_bytes(t.total_bytes)),
                    if t.autovacuum.is_empty() && t.exists {
                        "defaults".into()
                    } else {
                        t.autovacuum.join(", ")
                    },
                ]
            })
            .collect(),
    )
}

/// The statuses a finish is logged with, in the order the table shows them.
const FINISH_STATUSES: [&str; 5] = ["successful", "exception", "failed", "canceled", "deleted"];

fn throughput_text(report: &ThroughputReport) -> String {
    let window = format!("{} s", report.window_seconds);
    if report.entrypoints.is_empty() {
        return format!("No jobs finished in the last {window}.\n");
    }
    let rate = |r: f64| format!("{r:.3}");
    let mut rows: Vec<Vec<String>> = report
        .entrypoints
        .iter()
        .map(|e| {
            let mut row = vec![
                e.entrypoint.clone(),
                e.total.to_string(),
                rate(e.per_second),
            ];
            row.extend(
                FINISH_STATUSES
                    .iter()
                    .map(|s| e.statuses.get(*s).copied().unwrap_or(0).to_string()),
            );
            row
        })
        .collect();
    let mut total = vec![
        "total".into(),
        report.total.to_string(),
        rate(report.per_second),
    ];
    total.extend(FINISH_STATUSES.iter().map(|s| {
        let n: i64 = report
            .entrypoints
            .iter()
            .filter_map(|e| e.statuses.get(*s))
            .sum();
        n.to_string()
    }));
    rows.push(total);
    let mut text = format!("Jobs finished in the last {window}:\n");
    text.push_str(&table(
        &[
            "Entrypoint",
            "Finished",
            "Jobs/s",
            "Successful",
            "Exception",
            "Failed",
            "Canceled",
            "Deleted",
        ],
        rows,
    ));
    text
}

/// `ExceptionType: message` from PGQueuer's traceback object, cut to fit a row.
fn traceback_summary(traceback: &Option<serde_json::Value>) -> String {
    let Some(tb) = traceback else {
        return String::new();
    };
    let field = |key: &str| tb.get(key).and_then(|v| v.as_str()).unwrap_or("");
    let summary = match (field("exception_type"), field("exception_message")) {
        ("", "") => "(traceback)".to_string(),
        (kind, "") => kind.to_string(),
        (kind, message) => format!("{kind}: {message}"),
    };
    let one_line = summary.replace(['\n', '\r', '\t'], " ");
    if one_line.chars().count() > 60 {
        one_line.chars().take(59).collect::<String>() + "…"
    } else {
        one_line
    }
}

fn utc(dt: &DateTime<Utc>) -> String {
    py_datetime(dt)
}

fn log_text(rows: &[LogRow]) -> String {
    table(
        &[
            "ID",
            "Job",
            "Created",
            "Status",
            "Entrypoint",
            "Priority",
            "Traceback",
        ],
        rows.iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.job_id.to_string(),
                    utc(&r.created),
                    r.status.clone(),
                    r.entrypoint.clone(),
                    r.priority.to_string(),
                    traceback_summary(&r.traceback),
                ]
            })
            .collect(),
    )
}
