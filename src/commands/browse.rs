//! `pgq jobs` (a filtered keyset page of jobs) and `pgq job ID` (one job).

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use super::{CommandContext, CommandError, object_names, open_session};
use crate::actions::jobs::browse::{JobDetail, JobsPage, Order, PageRequest};
use crate::actions::jobs::payload::{PayloadView, preview};
use crate::actions::kinds::{ListJobs, ShowJob};
use crate::actions::{self, Act, ActionError};
use crate::cli::JobsArgs;
use crate::output::format::{age, relative};
use crate::output::{self, Exit, escape_line, py_datetime, table};

/// The action `args` ask for; a filter that cannot select anything is wrong use.
fn list_action(args: &JobsArgs) -> Result<ListJobs, CommandError> {
    let filter = args.filter.filter();
    // Checked before connecting, so wrong use exits 2 whatever the database.
    let checked = if args.history {
        filter.log_where(1)
    } else {
        filter.queue_where(1)
    };
    checked.map_err(|e| CommandError::Usage(e.to_string()))?;
    Ok(ListJobs {
        filter,
        history: args.history,
        page: PageRequest {
            order: if args.oldest_first {
                Order::OldestFirst
            } else {
                Order::NewestFirst
            },
            after_id: args.after_id,
            limit: args.limit,
        },
        search_timeout: Duration::from_secs_f64(args.search_timeout),
        explain: args.explain,
    })
}

pub(super) async fn jobs(ctx: &CommandContext, args: &JobsArgs) -> Result<Exit, CommandError> {
    let action = list_action(args)?;
    if args.payload && (!ctx.json || args.history) {
        return Err(CommandError::Usage(
            "--payload goes with --json on the queue (the text table shows a preview; the log keeps no payload)".into(),
        ));
    }
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let page = actions::run(&session, &action, false).await?;
    if ctx.json && args.payload {
        let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
        let payloads = crate::actions::jobs::browse::payloads(&session, &ids).await?;
        let mut value = serde_json::to_value(&page).unwrap_or_default();
        if let Some(rows) = value.get_mut("rows").and_then(|r| r.as_array_mut()) {
            for (row, job) in rows.iter_mut().zip(&page.rows) {
                // A job finished since the page was read has no payload left.
                let payload = payloads.get(&job.id).map(|p| PayloadJson::of(p.as_deref()));
                row["payload"] = serde_json::to_value(payload).unwrap_or_default();
            }
        }
        output::stdout_exact(&output::json_line(&value));
        return Ok(Exit::Ok);
    }
    if ctx.json {
        output::stdout_exact(&output::json_line(&page));
        return Ok(Exit::Ok);
    }
    output::stdout(&jobs_text(&page));
    for line in &page.plan {
        output::status(line);
    }
    if let Some(next) = page.next_after_id {
        let mut next_page = action.clone();
        next_page.page.after_id = Some(next);
        output::status(&format!(
            "next page: {}",
            next_page.command_line(&session.names)
        ));
    }
    Ok(Exit::Ok)
}

fn jobs_text(page: &JobsPage) -> String {
    if page.rows.is_empty() {
        return "No jobs match.\n".into();
    }
    let now = Utc::now();
    let since = |at: chrono::DateTime<Utc>| age(Some((now - at).num_milliseconds() as f64 / 1e3));
    if page.history {
        return table(
            &[
                "ID",
                "Entrypoint",
                "Status",
                "Priority",
                "Finished",
                "Traceback",
            ],
            page.rows
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.entrypoint.clone(),
                        r.status.clone(),
                        r.priority.to_string(),
                        format!("{} ago", since(r.created)),
                        if r.has_traceback == Some(true) {
                            "yes"
                        } else {
                            ""
                        }
                        .into(),
                    ]
                })
                .collect(),
        );
    }
    table(
        &[
            "ID",
            "Entrypoint",
            "Status",
            "Priority",
            "Age",
            "Execute after",
            "Attempts",
            "Dedupe key",
            "Worker",
            "Payload",
        ],
        page.rows
            .iter()
            .map(|r| {
                let deferred = r.execute_after.filter(|at| *at > now);
                let payload = r
                    .payload_head
                    .as_deref()
                    .map(|head| preview(head, r.payload_bytes.unwrap_or(0)))
                    .unwrap_or_default();
                // Cut by terminal columns (an emoji takes two), once escaped.
                let payload = output::fit_width(&escape_line(&payload), 40).into_owned();
                vec![
                    r.id.to_string(),
                    r.entrypoint.clone(),
                    r.status.clone(),
                    r.priority.to_string(),
                    since(r.created),
                    deferred.map(|at| relative(at, now)).unwrap_or_default(),
                    r.attempts.unwrap_or(0).to_string(),
                    r.dedupe_key.clone().unwrap_or_default(),
                    // Only a picked job is held by a worker right now.
                    r.queue_manager_id
                        .filter(|_| r.status == "picked")
                        .map(|u| u.to_string())
                        .unwrap_or_default(),
                    payload,
                ]
            })
            .collect(),
    )
}

pub(super) async fn job(ctx: &CommandContext, id: i64) -> Result<Exit, CommandError> {
    let names = object_names(ctx)?;
    let session = open_session(ctx, names).await?;
    let detail = match actions::run(
        &session,
        &ShowJob {
            id,
            known_payload: None,
        },
        false,
    )
    .await
    {
        Err(e @ ActionError::UnknownJob { .. }) => return Err(CommandError::Other(e.to_string())),
        other => other?,
    };
    if ctx.json {
        output::stdout_exact(&output::json_line(&JobJson::of(&detail)));
    } else {
        output::stdout(&job_text(&detail));
    }
    Ok(Exit::Ok)
}

/// `pgq job --json`: the detail with the payload as data a script reads
/// once: a JSON payload as its JSON value, text as a string, anything else
/// as base64 (never JSON inside a string).
#[derive(Serialize)]
struct JobJson<'a> {
    #[serde(flatten)]
    detail: &'a JobDetail,
    payload: Option<PayloadJson>,
    payload_bytes: Option<usize>,
}

#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum PayloadJson {
    /// NULL payload.
    None,
    Json {
        value: serde_json::Value,
    },
    Text {
        value: String,
    },
    Binary {
        base64: String,
    },
}

impl PayloadJson {
    fn of(payload: Option<&[u8]>) -> PayloadJson {
        use base64::Engine;
        let Some(bytes) = payload else {
            return PayloadJson::None;
        };
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
            return PayloadJson::Json { value };
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => PayloadJson::Text {
                value: text.to_string(),
            },
            Err(_) => PayloadJson::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            },
        }
    }
}

impl<'a> JobJson<'a> {
    fn of(detail: &'a JobDetail) -> JobJson<'a> {
        let payload = detail.job.as_ref().map(|j| j.payload.as_deref());
        JobJson {
            detail,
            payload: payload.map(PayloadJson::of),
            payload_bytes: payload.flatten().map(<[u8]>::len),
        }
    }
}

/// The detail as sections a person reads top to bottom.
pub fn job_text(detail: &JobDetail) -> String {
    let mut out = String::new();
    // A field is one line whatever its value holds; payload and traceback
    // are blocks, escaped line by line when written.
    let mut line = |label: &str, value: String| {
        out.push_str(&format!("{label:<15} {}\n", escape_line(&value)))
    };
    line("Job", detail.id.to_string());
    line("Entrypoint", detail.entrypoint().to_string());
    line("Status", detail.status().to_string());
    match &detail.job {
        Some(job) => {
            line("Priority", job.priority.to_string());
            line("Attempts", job.attempts.to_string());
            line(
                "Queue manager",
                job.queue_manager_id.map(|u| u.to_string()).unwrap_or("-".into()),
            );
            line("Dedupe key", job.dedupe_key.clone().unwrap_or("-".into()));
            if let Some(slot) = job.slot {
                line("Slot", slot.to_string());
            }
            line("Created", py_datetime(&job.created));
            line("Updated", py_datetime(&job.updated));
            line("Heartbeat", py_datetime(&job.heartbeat));
            line("Execute after", py_datetime(&job.execute_after));
            line(
                "Headers",
                job.headers
                    .as_ref()
                    .map(|h| h.to_string())
                    .unwrap_or("-".into()),
            );
            let view = PayloadView::of(job.payload.as_deref());
            let size = job.payload.as_ref().map_or(0, Vec::len);
            line("Payload", format!("{} ({})", view.kind(), output::plural(size, "byte")));
            for text_line in view.text().lines() {
                out.push_str(&format!("  {text_line}\n"));
            }
        }
        None => out.push_str(
            "                (no longer in the queue: shown from the log, which keeps no payload)\n",
        ),
    }
    if !detail.why.is_empty() {
        out.push_str("\nWhy\n");
        for reason in &detail.why {
            out.push_str(&format!("  {}\n", reason.text));
        }
    }
    out.push_str("\nLog\n");
    let log_rows = detail
        .log
        .iter()
        .map(|e| {
            vec![
                py_datetime(&e.created),
                e.status.clone(),
                e.priority.to_string(),
                if e.traceback.is_some() { "yes" } else { "" }.into(),
            ]
        })
        .collect();
    out.push_str(&table(
        &["Created", "Status", "Priority", "Traceback"],
        log_rows,
    ));
    if let Some(entry) = detail.last_traceback() {
        out.push_str(&format!(
            "\nLast traceback ({}, {})\n",
            entry.status,
            py_datetime(&entry.created)
        ));
        out.push_str(&traceback_text(entry.traceback.as_ref()));
    }
    out
}

/// A PGQueuer traceback object (exception type, message, traceback text) as lines.
fn traceback_text(traceback: Option<&serde_json::Value>) -> String {
    let Some(tb) = traceback else {
        return String::new();
    };
    let field = |name: &str| tb.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    let mut out = String::new();
    let (kind, message) = (field("exception_type"), field("exception_message"));
    if !kind.is_empty() || !message.is_empty() {
        for l in format!("{}: {message}", escape_line(kind)).lines() {
            out.push_str(&format!("  {l}\n"));
        }
    }
    let text = field("traceback");
    if text.is_empty() && out.is_empty() {
        out.push_str(&format!("  {}\n", escape_line(&tb.to_string())));
    }
    for l in text.lines() {
        out.push_str(&format!("  {l}\n"));
    }
    out
}
