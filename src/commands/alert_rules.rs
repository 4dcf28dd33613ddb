//! `pgq metrics --alert-rules`: Prometheus alerting rules over the series
//! this server exports, with `pgq check`'s thresholds, so a dashboard's
//! alerts and a cron'd `pgq check` fire on the same conditions.

use crate::settings::check::Thresholds;

/// One alerting rule.
struct Rule {
    alert: &'static str,
    expr: String,
    for_: &'static str,
    severity: &'static str,
    summary: String,
}

/// A YAML scalar: JSON's string syntax is YAML's double-quoted one.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A PromQL string literal (entrypoint label values are anyone's text).
fn promql_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn seconds(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

fn rules(t: &Thresholds, window: std::time::Duration) -> Vec<Rule> {
    let mut rules = vec![Rule {
        alert: "PgqMetricsDown",
        expr: "pgq_queue_metrics_up == 0".into(),
        for_: "2m",
        severity: "critical",
        summary: "pgq metrics cannot read the PgQueuer tables".into(),
    }];
    if let Some(limit) = t.max_oldest_queued {
        rules.push(Rule {
            alert: "PgqOldestQueuedJobTooOld",
            expr: format!("max by (entrypoint) (pgq_queue_oldest_queued_age_seconds) > {}", seconds(limit)),
            for_: "1m",
            severity: "warning",
            summary: format!(
                "The oldest queued job of {{{{ $labels.entrypoint }}}} is {{{{ $value | humanizeDuration }}}} old (limit {}s)",
                seconds(limit)
            ),
        });
    }
    for q in &t.max_queued {
        let (expr, summary) = match &q.entrypoint {
            // The name reaches the summary as a label, never as template text.
            Some(ep) => (
                format!(
                    "sum by (entrypoint) (pgqueuer_queue_count{{status=\"queued\", entrypoint={}}}) > {}",
                    promql_string(ep),
                    q.limit
                ),
                format!(
                    "{{{{ $value }}}} jobs of {{{{ $labels.entrypoint }}}} are queued (limit {})",
                    q.limit
                ),
            ),
            None => (
                format!(
                    "sum(pgqueuer_queue_count{{status=\"queued\"}}) > {}",
                    q.limit
                ),
                format!("{{{{ $value }}}} jobs are queued (limit {})", q.limit),
            ),
        };
        rules.push(Rule {
            alert: "PgqTooManyQueuedJobs",
            expr,
            for_: "5m",
            severity: "warning",
            summary,
        });
    }
    if let Some(limit) = t.max_held {
        rules.push(Rule {
            alert: "PgqHeldJobs",
            expr: format!("sum(pgqueuer_queue_count{{status=\"failed\"}}) > {limit}"),
            for_: "1m",
            severity: "warning",
            summary: format!("{{{{ $value }}}} jobs are held in status failed (limit {limit}); pgq failed lists them"),
        });
    }
    if let Some(limit) = t.max_stale {
        rules.push(Rule {
            alert: "PgqStalePickedJobs",
            expr: format!("sum(pgq_queue_stale_picked_jobs) > {limit}"),
            for_: "1m",
            severity: "warning",
            summary: format!("{{{{ $value }}}} picked jobs have a stale heartbeat (limit {limit}); pgq stale lists them"),
        });
    }
    if let Some(limit) = t.max_failure_rate {
        rules.push(Rule {
            alert: "PgqFailureRateHigh",
            expr: format!(
                "100 * sum(pgqueuer_logs_count{{status=~\"exception|failed\"}}) / sum(pgqueuer_logs_count{{status=~\"successful|exception|failed\"}}) > {limit}"
            ),
            for_: "5m",
            severity: "warning",
            summary: format!(
                "{{{{ $value | printf \"%.1f\" }}}}% of the jobs finished in the last {}s failed (limit {limit}%)",
                seconds(window)
            ),
        });
    }
    rules
}

/// The rules file: `groups: - name: pgq rules: …`.
pub fn render(
    t: &Thresholds,
    window: std::time::Duration,
    stale_after: std::time::Duration,
) -> String {
    let mut out = String::from(
        "# Prometheus alerting rules for pgq metrics, from `pgq metrics --alert-rules`.\n",
    );
    out.push_str(&format!(
        "# pgqueuer_logs_count covers the server's --window ({}s); pgq_queue_stale_picked_jobs\n# counts heartbeats older than its --stale-after ({}s).\n",
        seconds(window),
        seconds(stale_after)
    ));
    if let Some(limit) = t.max_schedule_lateness {
        out.push_str(&format!(
            "# --max-schedule-lateness {}s has no series here; `pgq check` checks it.\n",
            seconds(limit)
        ));
    }
    out.push_str("groups:\n  - name: pgq\n    rules:\n");
    for r in rules(t, window) {
        out.push_str(&format!(
            "      - alert: {}\n        expr: {}\n        for: {}\n        labels:\n          severity: {}\n        annotations:\n          summary: {}\n",
            r.alert,
            quoted(&r.expr),
            r.for_,
            r.severity,
            quoted(&r.summary)
        ));
    }
    out
}
