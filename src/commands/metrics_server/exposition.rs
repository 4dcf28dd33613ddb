//! The queue's series as Prometheus text (exposition format 0.0.4), rendered
//! by `metrics-exporter-prometheus` (HELP and TYPE lines, escaped label
//! values) from a recorder made for one scrape, so series of entrypoints
//! that have left the queue disappear with them.

use std::collections::BTreeMap;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::PrometheusBuilder;

use crate::actions::reports::metrics::MetricsReport;
use crate::worker::metrics::label_value;

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The queue's series from `queue` (the report and how long reading it
/// took), or, when the database could not be read, only
/// `pgq_queue_metrics_up 0` and the collection counter, after a comment
/// line with the reason (scrapers skip comments; a person with curl sees why).
pub fn render(
    queue: Result<(&MetricsReport, Duration), &str>,
    collections: u64,
    window: Duration,
    stale_after: Duration,
) -> String {
    let recorder = PrometheusBuilder::new().build_recorder();
    let (report, collection_time) = match queue {
        Ok(read) => read,
        Err(reason) => {
            metrics::with_local_recorder(&recorder, || {
                describe(window, stale_after);
                gauge!("pgq_queue_metrics_up").set(0.0);
                counter!("pgq_metrics_collections_total").absolute(collections);
            });
            return format!("# {reason}\n{}", recorder.handle().render());
        }
    };
    metrics::with_local_recorder(&recorder, || {
        describe(window, stale_after);
        gauge!("pgq_queue_metrics_up").set(1.0);
        // PGQueuer's own two series: same names, labels and values as its
        // `collect_metrics`, so existing dashboards keep working.
        for q in &report.queue {
            gauge!("pgqueuer_queue_count", "aggregation" => "sum",
                "entrypoint" => label_value(&q.entrypoint), "status" => label_value(&q.status))
            .set(q.count as f64);
        }
        for l in &report.logs {
            gauge!("pgqueuer_logs_count", "aggregation" => "sum",
                "entrypoint" => label_value(&l.entrypoint), "status" => label_value(&l.status))
            .set(l.count as f64);
        }
        // Per entrypoint in the queue: its stale picked jobs (0 included,
        // so an alert can tell "none" from "no data") and oldest queued age.
        let mut stale: BTreeMap<&str, i64> = BTreeMap::new();
        for q in &report.queue {
            *stale.entry(&q.entrypoint).or_default() += q.stale;
            if let Some(age) = q.oldest_queued_seconds {
                gauge!("pgq_queue_oldest_queued_age_seconds", "entrypoint" => label_value(&q.entrypoint))
                    .set(age);
            }
        }
        for (entrypoint, n) in stale {
            gauge!("pgq_queue_stale_picked_jobs", "entrypoint" => label_value(entrypoint))
                .set(n as f64);
        }
        // Execution (picked → terminal, PGQueuer's insights definition) and
        // wait (queued → picked) per entrypoint over the window, as
        // summaries without _sum: quantiles, count and max.
        for (entrypoint, latency) in report.latency.iter().flat_map(|l| &l.entrypoints) {
            for (name, p) in [
                ("pgq_job_execution_seconds", &latency.execution),
                ("pgq_job_wait_seconds", &latency.wait),
            ] {
                let Some(p) = p else { continue };
                for (quantile, value) in [("0.5", p.p50), ("0.95", p.p95), ("0.99", p.p99)] {
                    gauge!(name, "entrypoint" => label_value(entrypoint), "quantile" => quantile)
                        .set(value);
                }
                gauge!(format!("{name}_max"), "entrypoint" => label_value(entrypoint)).set(p.max);
                gauge!(format!("{name}_count"), "entrypoint" => label_value(entrypoint))
                    .set(p.count as f64);
            }
        }
        gauge!("pgq_log_unaggregated_rows").set(report.unaggregated_log_rows as f64);
        for t in report.tables.iter().filter(|t| t.unlogged.is_some()) {
            gauge!("pgq_table_size_bytes", "table" => label_value(&t.table))
                .set(t.total_bytes as f64);
            gauge!("pgq_table_estimated_rows", "table" => label_value(&t.table))
                .set(t.estimated_rows as f64);
        }
        gauge!("pgq_metrics_collection_duration_seconds").set(collection_time.as_secs_f64());
        counter!("pgq_metrics_collections_total").absolute(collections);
    });
    recorder.handle().render()
}

fn describe(window: Duration, stale_after: Duration) {
    let window = format!("{} s", window.as_secs_f64());
    let stale = format!("{} s", stale_after.as_secs_f64());
    describe_gauge!(
        "pgq_queue_metrics_up",
        "1 when the queue series below were read from the database, 0 when it could not be read (they are left out)."
    );
    describe_gauge!(
        "pgqueuer_queue_count",
        "Jobs in the queue table by entrypoint and status (PGQueuer's series)."
    );
    describe_gauge!(
        "pgqueuer_logs_count",
        format!(
            "Job status transitions logged in the last {window}, by entrypoint and status (PGQueuer's series)."
        )
    );
    describe_gauge!(
        "pgq_queue_oldest_queued_age_seconds",
        "Seconds since the oldest queued job of the entrypoint was created."
    );
    describe_gauge!(
        "pgq_queue_stale_picked_jobs",
        format!("Picked jobs of the entrypoint whose heartbeat is older than {stale}.")
    );
    for (name, what) in [
        (
            "pgq_job_execution_seconds",
            "Execution time (picked to finished)",
        ),
        ("pgq_job_wait_seconds", "Wait time (queued to picked)"),
    ] {
        describe_gauge!(
            name,
            format!("{what} of the entrypoint's jobs logged in the last {window}, by quantile.")
        );
        describe_gauge!(
            format!("{name}_max"),
            format!("Longest {} in the last {window}.", what.to_lowercase())
        );
        describe_gauge!(
            format!("{name}_count"),
            format!(
                "Durations measured for {} in the last {window}.",
                what.to_lowercase()
            )
        );
    }
    describe_gauge!(
        "pgq_log_unaggregated_rows",
        "Log rows not yet folded into the statistics table."
    );
    describe_gauge!(
        "pgq_table_size_bytes",
        "Total size of the table with its indexes and TOAST, in bytes."
    );
    describe_gauge!(
        "pgq_table_estimated_rows",
        "Rows in the table as estimated by the planner statistics."
    );
    describe_gauge!(
        "pgq_metrics_collection_duration_seconds",
        "How long the last read of these series from the database took."
    );
    describe_counter!(
        "pgq_metrics_collections_total",
        "Reads of the queue series from the database; concurrent scrapes share one."
    );
}
