//! Why a job is where it is, and why a schedule has (not) fired: the answer
//! an on-call engineer otherwise works out by hand, in plain sentences with
//! their numbers.
//!
//! The database side is one statement per subject (`sql/why_job.sql`,
//! `sql/why_schedules.sql`) read beside the job's detail; the reasoning is a
//! pure function of those numbers, so `pgq why`, `pgq job` and the console's
//! job detail say the same sentences.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use crate::actions::jobs::browse::{self, JobDetail, LogEntry, QueueJob};
use crate::actions::jobs::enqueue::shell_quote;
use crate::actions::reports::reasons::{Reason, ReasonKind};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::db::rows::by_name;
use crate::db::statements::Statement;
use crate::output::format::span;
use crate::settings::names::ObjectNames;

/// How far back "recently" reaches: picks and finished jobs of the last 5 min.
pub const WINDOW: Duration = Duration::from_secs(300);
/// A picked job whose heartbeat is older than this is stale: `pgq run`'s
/// default `--heartbeat-timeout`, after which a worker picks it again.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// Running jobs and no pick for this long: the entrypoint is at capacity
/// (picks that far apart are not a steady flow).
const CAPACITY_QUIET_SECONDS: f64 = 60.0;
/// A schedule this late with nobody claiming it has no scheduler (a
/// scheduler polls at the next fire plus about a second).
const SCHEDULE_GRACE_SECONDS: f64 = 30.0;
/// A scheduler heartbeats a running schedule every second; PGQueuer
/// reclaims it after 30 s without one.
const SCHEDULE_STALE_SECONDS: f64 = 30.0;

/// The numbers behind a job still in the queue (`sql/why_job.sql`).
#[derive(Debug, Clone, PartialEq)]
pub struct JobFacts {
    /// Seconds until `execute_after` (negative: due).
    pub due_in: f64,
    /// Due queued jobs of its entrypoint that dequeue takes first.
    pub ahead: i64,
    /// Jobs of its entrypoint that finished within [`WINDOW`].
    pub finished_recently: i64,
    /// Picks of its entrypoint within [`WINDOW`].
    pub picked_recently: i64,
    /// Picks of other entrypoints within [`WINDOW`].
    pub others_picked_recently: i64,
    /// Seconds since its entrypoint's last pick (within 7 days).
    pub last_pick_age: Option<f64>,
    /// Picked jobs of its entrypoint with a live heartbeat.
    pub running: i64,
    /// Seconds since the job's own heartbeat.
    pub heartbeat_age: f64,
    /// Another queued or picked job holding its dedupe key: id and status.
    pub blocker: Option<(i64, String)>,
}

pub(in crate::actions) async fn job_facts(
    session: &Session,
    id: i64,
) -> Result<Option<JobFacts>, ActionError> {
    let (window, stale) = (WINDOW.as_secs_f64(), STALE_AFTER.as_secs_f64());
    let rows: Vec<JobFactsRow> = session
        .read(
            Statement::WhyJob,
            &[&id, &window, &stale],
            "reading why the job waits",
        )
        .await?;
    Ok(rows.into_iter().next().map(|r| JobFacts {
        due_in: r.due_in,
        ahead: r.ahead,
        finished_recently: r.finished_recently,
        picked_recently: r.picked_recently,
        others_picked_recently: r.others_picked_recently,
        last_pick_age: r.last_pick_age,
        running: r.running,
        heartbeat_age: r.heartbeat_age,
        blocker: r
            .blocker_id
            .map(|id| (id, r.blocker_status.unwrap_or_default())),
    }))
}

by_name! {
    /// `why_job.sql`'s row: [`JobFacts`] with the blocker in two columns.
    struct JobFactsRow {
        due_in: f64,
        ahead: i64,
        finished_recently: i64,
        picked_recently: i64,
        others_picked_recently: i64,
        last_pick_age: Option<f64>,
        running: i64,
        heartbeat_age: f64,
        blocker_id: Option<i64>,
        blocker_status: Option<String>,
    }
}

/// A job's detail with its reasons: the row, the log and the facts are
/// read together (one round trip).
pub(in crate::actions) async fn detail(
    session: &Session,
    id: i64,
    known_payload: Option<&[u8]>,
) -> Result<JobDetail, ActionError> {
    let (mut detail, facts) = tokio::try_join!(
        browse::detail(session, id, known_payload),
        job_facts(session, id)
    )?;
    detail.why = job_reasons(
        &session.names,
        detail.job.as_ref(),
        facts.as_ref(),
        &detail.log,
        Utc::now(),
    );
    Ok(detail)
}

fn jobs(n: i64) -> String {
    if n == 1 {
        "1 job".into()
    } else {
        format!("{n} jobs")
    }
}

/// The reasons for a job: from its queue row and facts when it is still
/// there, else from its log. `now` dates the log-only answers.
pub fn job_reasons(
    names: &ObjectNames,
    job: Option<&QueueJob>,
    facts: Option<&JobFacts>,
    log: &[LogEntry],
    now: DateTime<Utc>,
) -> Vec<Reason> {
    match (job, facts) {
        (Some(job), Some(facts)) => queue_reasons(names, job, facts, log),
        _ => log
            .last()
            .map(|e| finished(e, log, now))
            .into_iter()
            .collect(),
    }
}

fn queue_reasons(
    names: &ObjectNames,
    job: &QueueJob,
    f: &JobFacts,
    log: &[LogEntry],
) -> Vec<Reason> {
    let ep = crate::output::escape_line(&job.entrypoint).into_owned();
    let mut out = Vec::new();
    match job.status.as_str() {
        "queued" if f.due_in > 0.0 => out.push(not_due(job, f)),
        "queued" => {
            out.push(waiting_turn(&ep, f));
            if let Some(r) = unserved(&ep, f) {
                out.push(r);
            }
        }
        "picked" => out.push(picked(job, f)),
        "failed" => out.push(held(names, job, log)),
        _ => {}
    }
    if let (Some((blocker, status)), Some(key)) = (&f.blocker, &job.dedupe_key) {
        let key = crate::output::escape_line(key);
        let consequence = if job.status == "failed" {
            "requeuing this one fails until that job is gone"
        } else {
            "a new job with this key is refused until that job is gone"
        };
        out.push(Reason::new(
            ReasonKind::DedupeBlocked,
            format!("blocked by its dedupe key {key:?}: job {blocker} ({status}) holds it, so {consequence}"),
            json!({"dedupe_key": job.dedupe_key, "blocking_job": blocker, "blocking_status": status}),
        ));
    }
    out
}

fn not_due(job: &QueueJob, f: &JobFacts) -> Reason {
    let when = span(f.due_in);
    let text = if job.attempts > 0 {
        format!(
            "not due yet: in retry backoff after attempt {}, it may run again in {when}",
            job.attempts
        )
    } else {
        format!("not due yet: execute_after is in {when} (deferred when enqueued)")
    };
    Reason::new(
        ReasonKind::NotDue,
        text,
        json!({"due_in_seconds": f.due_in, "attempts": job.attempts, "execute_after": job.execute_after}),
    )
}

fn waiting_turn(ep: &str, f: &JobFacts) -> Reason {
    let window = span(WINDOW.as_secs_f64());
    let rate = f.finished_recently as f64 / WINDOW.as_secs_f64();
    let eta = (rate > 0.0).then(|| (f.ahead + 1) as f64 / rate);
    let text = if f.ahead == 0 {
        format!("next in line: no due job of {ep} ranks ahead of it (priority, then id)")
    } else {
        let pace = match eta {
            Some(eta) => format!(
                "{ep} finished {} in the last {window}, so about {} until it is reached",
                jobs(f.finished_recently),
                span(eta)
            ),
            None => format!("{ep} finished no job in the last {window}, so there is no estimate"),
        };
        format!(
            "waiting its turn: {} of {ep} rank ahead of it (priority, then id); {pace}",
            jobs(f.ahead)
        )
    };
    Reason::new(
        ReasonKind::WaitingTurn,
        text,
        json!({"ahead": f.ahead, "finished_in_window": f.finished_recently,
               "window_seconds": WINDOW.as_secs_f64(), "eta_seconds": eta}),
    )
}

/// Nobody picks its entrypoint: no worker for it, or all its seats taken.
fn unserved(ep: &str, f: &JobFacts) -> Option<Reason> {
    let window = span(WINDOW.as_secs_f64());
    let last = match f.last_pick_age {
        Some(age) => format!("the last pick of {ep} was {} ago", span(age)),
        None => format!("{ep} was not picked in the last 7 days"),
    };
    if f.running > 0 {
        let quiet = f.last_pick_age.unwrap_or(f64::INFINITY);
        if quiet < CAPACITY_QUIET_SECONDS {
            return None;
        }
        let since = f.last_pick_age.map_or_else(
            || "in the last 7 days".into(),
            |a| format!("for {}", span(a)),
        );
        return Some(Reason::new(
            ReasonKind::AtCapacity,
            format!(
                "at capacity: {} of {ep} {} running and none of its queued jobs was picked {since} (a concurrency limit, or its workers are busy)",
                jobs(f.running),
                if f.running == 1 { "is" } else { "are" },
            ),
            json!({"running": f.running, "seconds_since_pick": f.last_pick_age}),
        ));
    }
    if f.picked_recently > 0 {
        return None;
    }
    let text = if f.others_picked_recently > 0 {
        format!(
            "nobody serves it: no job of {ep} was picked in the last {window} while {} of other entrypoints were; {last}",
            jobs(f.others_picked_recently)
        )
    } else {
        format!(
            "nobody serves it: no job of any entrypoint was picked in the last {window} (is a worker running?); {last}"
        )
    };
    Some(Reason::new(
        ReasonKind::NoWorker,
        text,
        json!({"picked_in_window": 0, "others_picked_in_window": f.others_picked_recently,
               "window_seconds": WINDOW.as_secs_f64(), "seconds_since_pick": f.last_pick_age}),
    ))
}

fn picked(job: &QueueJob, f: &JobFacts) -> Reason {
    let worker = job
        .queue_manager_id
        .map_or_else(|| "an unknown worker".into(), |u| format!("worker {u}"));
    let numbers = json!({"queue_manager_id": job.queue_manager_id, "heartbeat_seconds_ago": f.heartbeat_age,
                         "stale_after_seconds": STALE_AFTER.as_secs_f64()});
    if f.heartbeat_age > STALE_AFTER.as_secs_f64() {
        Reason::new(
            ReasonKind::StaleHeartbeat,
            format!(
                "picked by {worker}, whose heartbeat is {} old (stale after {}): that worker is gone or stuck; it will be picked again once a worker's heartbeat timeout has passed (pgq run --heartbeat-timeout)",
                span(f.heartbeat_age),
                span(STALE_AFTER.as_secs_f64())
            ),
            numbers,
        )
    } else {
        Reason::new(
            ReasonKind::Running,
            format!(
                "running: picked by {worker}, heartbeat {} ago",
                span(f.heartbeat_age)
            ),
            numbers,
        )
    }
}

/// The last line of a traceback (the exception), else its type and message.
pub fn last_traceback_line(tb: &Value) -> String {
    let field = |name: &str| tb.get(name).and_then(Value::as_str).unwrap_or_default();
    let line = field("traceback")
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    if !line.is_empty() {
        return line;
    }
    match (field("exception_type"), field("exception_message")) {
        ("", "") => tb.as_str().unwrap_or_default().to_string(),
        (kind, "") => kind.to_string(),
        (kind, message) => format!("{kind}: {message}"),
    }
}

fn held(names: &ObjectNames, job: &QueueJob, log: &[LogEntry]) -> Reason {
    // Each run is one pick in the log; without a log, attempts counts retries.
    let picks = log.iter().filter(|e| e.status == "picked").count() as i64;
    let runs = if picks > 0 {
        picks
    } else {
        i64::from(job.attempts) + 1
    };
    let error = log
        .iter()
        .rev()
        .find_map(|e| e.traceback.as_ref())
        .map(last_traceback_line);
    let command = crate::actions::pgq(names, &format!("requeue {}", job.id));
    let last = error.as_deref().map_or_else(
        || "no traceback was logged".to_string(),
        |e| format!("last error: {}", crate::output::escape_line(e)),
    );
    Reason::new(
        ReasonKind::Held,
        format!(
            "held: failed after {} ({last}); put it back in the queue with: {command}",
            if runs == 1 {
                "1 attempt".to_string()
            } else {
                format!("{runs} attempts")
            }
        ),
        json!({"attempts": runs, "last_error": error, "requeue_command": command}),
    )
}

fn finished(last: &LogEntry, log: &[LogEntry], now: DateTime<Utc>) -> Reason {
    let ago = (now - last.created).num_milliseconds() as f64 / 1e3;
    let error = log
        .iter()
        .rev()
        .find_map(|e| e.traceback.as_ref())
        .filter(|_| last.status != "successful")
        .map(last_traceback_line);
    let status = crate::output::escape_line(&last.status);
    let mut text = format!(
        "finished: {status} {} ago ({}); it is no longer in the queue",
        span(ago),
        last.created.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(e) = &error {
        text.push_str(&format!("; last error: {}", crate::output::escape_line(e)));
    }
    Reason::new(
        ReasonKind::Finished,
        text,
        json!({"status": last.status, "finished_at": last.created, "seconds_ago": ago, "last_error": error}),
    )
}

by_name! {
    /// One schedule row's numbers (`sql/why_schedules.sql`).
    #[derive(Debug, Clone, PartialEq)]
    pub struct ScheduleFacts {
        pub id: i64,
        pub expression: String,
        pub status: Option<String>,
        /// Seconds until `next_run` (negative: overdue).
        pub next_in: f64,
        pub last_run_age: Option<f64>,
        /// Seconds since a scheduler last wrote the row (heartbeat or update).
        pub touched_age: f64,
        pub heartbeat_age: f64,
    }
}

/// Why a schedule of `entrypoint` has fired or not, one answer per expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleWhy {
    pub entrypoint: String,
    pub reasons: Vec<Reason>,
}

pub(in crate::actions) async fn schedule(
    session: &Session,
    entrypoint: &str,
) -> Result<Vec<ScheduleFacts>, ActionError> {
    session
        .read(
            Statement::WhySchedules,
            &[&entrypoint],
            "reading the schedules",
        )
        .await
}

pub fn schedule_reasons(rows: &[ScheduleFacts]) -> Vec<Reason> {
    rows.iter().map(schedule_reason).collect()
}

fn schedule_reason(s: &ScheduleFacts) -> Reason {
    let expr = crate::output::escape_line(&s.expression);
    let last = s.last_run_age.map_or_else(
        || "it never fired".to_string(),
        |a| format!("it last fired {} ago", span(a)),
    );
    let numbers = json!({"schedule_id": s.id, "expression": s.expression, "status": s.status,
        "next_run_in_seconds": s.next_in, "last_run_seconds_ago": s.last_run_age,
        "touched_seconds_ago": s.touched_age, "heartbeat_seconds_ago": s.heartbeat_age});
    let picked = s.status.as_deref() == Some("picked");
    if picked && s.heartbeat_age > SCHEDULE_STALE_SECONDS {
        return Reason::new(
            ReasonKind::ScheduleStale,
            format!(
                "{expr}: claimed by a scheduler whose heartbeat is {} old: that scheduler is gone or stuck; the next scheduler to poll takes it over; {last}",
                span(s.heartbeat_age)
            ),
            numbers,
        );
    }
    if picked {
        return Reason::new(
            ReasonKind::ScheduleRunning,
            format!(
                "{expr}: running now (scheduler heartbeat {} ago); {last}",
                span(s.heartbeat_age)
            ),
            numbers,
        );
    }
    if s.next_in < -SCHEDULE_GRACE_SECONDS {
        return Reason::new(
            ReasonKind::NoScheduler,
            format!(
                "{expr}: due {} ago and no scheduler has touched it for {}: no worker that registers this schedule is running; {last}",
                span(-s.next_in),
                span(s.touched_age)
            ),
            numbers,
        );
    }
    // Paused: next_run at pgq's far-future sentinel (a minute's slack for
    // the clocks of this host and the server).
    let until_pause =
        (crate::actions::schedules::paused_next_run() - chrono::Utc::now()).num_seconds();
    let next = if s.next_in >= (until_pause - 60) as f64 {
        format!("is paused (resume: pgq schedules --resume {})", s.id)
    } else if s.next_in > 0.0 {
        format!("fires next in {}", span(s.next_in))
    } else {
        "is due now".to_string()
    };
    Reason::new(
        ReasonKind::ScheduleWaiting,
        format!(
            "{expr}: {next}; {last}; a scheduler touched it {} ago",
            span(s.touched_age)
        ),
        numbers,
    )
}

#[cfg(test)]
mod tests {
    use crate::output::format::span;

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(12.4), "12 s");
        assert_eq!(span(42.0 * 60.0), "42 min");
        assert_eq!(span(3.0 * 3600.0 + 300.0), "3 h 5 min");
        assert_eq!(span(2.0 * 86_400.0), "2 d");
        assert_eq!(span(-5.0), "0 s");
    }
}

// The action: `pgq why ID` / `pgq why --schedule ENTRYPOINT`: why a job is where it is, or why
// a schedule has (not) fired, as sentences with their numbers.

#[derive(Debug, Clone, PartialEq)]
pub enum WhyTarget {
    Job(i64),
    Schedule(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Why {
    pub target: WhyTarget,
}

/// The answer: what was asked about, where it stands, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhyReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    pub entrypoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub reasons: Vec<Reason>,
}

impl Act for Why {
    type Output = WhyReport;
    const MUTATES: bool = false;

    fn sample() -> Self {
        Why {
            target: WhyTarget::Job(1),
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        match &self.target {
            WhyTarget::Job(id) => pgq(names, &format!("why {id}")),
            WhyTarget::Schedule(ep) => pgq(names, &format!("why --schedule {}", shell_quote(ep))),
        }
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<WhyReport, ActionError> {
        match &self.target {
            // The job detail computes the same sentences (the console shows them).
            WhyTarget::Job(id) => {
                let detail = detail(session, *id, None).await?;
                Ok(WhyReport {
                    job: Some(*id),
                    schedule: None,
                    entrypoint: detail.entrypoint().to_string(),
                    status: Some(detail.status().to_string()),
                    reasons: detail.why,
                })
            }
            WhyTarget::Schedule(entrypoint) => {
                let rows = schedule(session, entrypoint).await?;
                if rows.is_empty() {
                    return Err(ActionError::UnknownSchedule {
                        entrypoint: entrypoint.clone(),
                    });
                }
                Ok(WhyReport {
                    job: None,
                    schedule: Some(entrypoint.clone()),
                    entrypoint: entrypoint.clone(),
                    status: None,
                    reasons: schedule_reasons(&rows),
                })
            }
        }
    }
}
