//! The hand-written statements in `sql/`, with the installation's object
//! names filled in.
//!
//! Each `.sql` file is compiled in (`include_str!`) and holds one complete
//! statement whose object names are placeholders. [`Statement::render`] is
//! the one place that fills them, from the validated [`ObjectNames`]; the
//! worker, the actions and the benchmarks' pgbench scripts (through the
//! hidden `pgq sql statement NAME`) all render through it, so they run the
//! same text.
//!
//! Placeholders:
//! - `{queue_table}`, `{queue_table_log}`, `{statistics_table}`,
//!   `{schedules_table}`, `{queue_status_type}`: the object, schema-qualified
//!   when a schema is configured (`jobs.app_pgqueuer`), else bare.
//! - `{bare:queue_table}` and so on: the unqualified name, for catalog
//!   lookups by name (`relname = '{bare:queue_table}'`).
//! - `{schema_expr}`: the target namespace as an SQL expression
//!   (`'jobs'`, or `current_schema()` when no schema is configured).
//! - `{job_columns}`: the queue row's columns, named as
//!   `actions::jobs::queue_row::QueueRow` reads them ([`JOB_COLUMNS`]): every
//!   statement that returns queue rows lists the same columns, in one place.
//! - `{filter}`: a WHERE clause composed at run time from fixed fragments
//!   with bind parameters (`actions::jobs::filter`), filled by
//!   [`Statement::render_filtered`] — never from user text.
//!
//! Names are spliced unquoted, as the DDL creates them: validation
//! guarantees plain lower-case identifiers that are not key words where they
//! land, so quoting would not change what they name, and the statements stay
//! byte-identical to PGQueuer's spelling. The DDL is not here: it is
//! generated from the schema declaration (`schema/`).

use crate::settings::names::ObjectNames;

/// Declares the statements: one variant per file in `sql/`.
macro_rules! statements {
    ($($(#[$doc:meta])* $variant:ident => $file:literal,)*) => {
        /// One statement file of `sql/`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Statement {
            $($(#[$doc])* $variant,)*
        }

        impl Statement {
            /// Every statement, in declaration order.
            pub const ALL: &[Statement] = &[$(Statement::$variant,)*];

            /// The file's name in `sql/`.
            pub fn file_name(self) -> &'static str {
                match self {
                    $(Statement::$variant => $file,)*
                }
            }

            /// The file's text, placeholders and all.
            pub fn template(self) -> &'static str {
                let text = match self {
                    $(Statement::$variant => include_str!(concat!("../../sql/", $file)),)*
                };
                // Editors end files with a newline; the statement does not.
                text.strip_suffix('\n').unwrap_or(text)
            }
        }
    };
}

statements! {
    // The worker (worker/sql.rs): the four dequeue shapes, capacity slots
    // (per-entrypoint concurrency limits) on/off × per-worker budget on/off.
    Dequeue => "dequeue.sql",
    DequeueCapacity => "dequeue_capacity.sql",
    DequeueBudget => "dequeue_budget.sql",
    DequeueCapacityBudget => "dequeue_capacity_budget.sql",
    LogJobs => "log_jobs.sql",
    Heartbeat => "heartbeat.sql",
    Retry => "retry.sql",
    ReturnToQueue => "return_to_queue.sql",
    WorkProbe => "work_probe.sql",
    AggregateLogs => "aggregate_logs.sql",
    VerifyStructure => "verify_structure.sql",
    InsertSchedules => "insert_schedules.sql",
    FetchSchedules => "fetch_schedules.sql",
    ScheduleHeartbeat => "schedule_heartbeat.sql",
    ScheduleDone => "schedule_done.sql",
    DeleteSchedules => "delete_schedules.sql",
    // Enqueue (actions/jobs/enqueue.rs): ids drawn in the statement or given, and
    // the conflict action; the bulk fast path by (delays, headers).
    Enqueue => "enqueue.sql",
    EnqueueUpdatePriority => "enqueue_update_priority.sql",
    EnqueueGivenIds => "enqueue_given_ids.sql",
    EnqueueGivenIdsUpdatePriority => "enqueue_given_ids_update_priority.sql",
    EnqueueFast => "enqueue_fast.sql",
    EnqueueFastDelays => "enqueue_fast_delays.sql",
    EnqueueFastHeaders => "enqueue_fast_headers.sql",
    EnqueueFastDelaysHeaders => "enqueue_fast_delays_headers.sql",
    DrawIds => "draw_ids.sql",
    Requeue => "requeue.sql",
    RequeueCount => "requeue_count.sql",
    // Bulk enqueue's checks (actions/jobs/enqueue.rs): a key already held, and
    // ANALYZE after a large load, with the privilege check before it.
    HeldDedupeKey => "held_dedupe_key.sql",
    MayAnalyzeQueue => "may_analyze_queue.sql",
    AnalyzeQueue => "analyze_queue.sql",
    // Reports, statistics, held jobs and tables (actions/).
    DashboardStatistics => "dashboard_statistics.sql",
    DashboardSummary => "dashboard_summary.sql",
    FailedJobs => "failed_jobs.sql",
    StaleJobs => "stale_jobs.sql",
    Workers => "workers.sql",
    // When each entrypoint was last picked (the Workers tab, `workers --watch`).
    LastPicked => "last_picked.sql",
    Backlog => "backlog.sql",
    StatsDepth => "stats_depth.sql",
    StatsDone => "stats_done.sql",
    // Latency percentiles (actions/reports/latency.rs): per entrypoint and overall,
    // over a window and per slice of it, in one pass over the log.
    LatencyPercentiles => "latency_percentiles.sql",
    HeldJobs => "held_jobs.sql",
    TableInfo => "table_info.sql",
    // The metrics endpoint's read-only scrape (actions/reports/metrics.rs).
    MetricsQueue => "metrics_queue.sql",
    MetricsLogs => "metrics_logs.sql",
    MetricsUnaggregated => "metrics_unaggregated.sql",
    MissingTables => "missing_tables.sql",
    // Retention (actions/retention/prune.rs): the cut-off, counts, and one batch per
    // table; the Durability tab's oldest rows and aggregation backlog.
    PruneCutoff => "prune_cutoff.sql",
    PruneLogCount => "prune_log_count.sql",
    PruneLogBatch => "prune_log_batch.sql",
    PruneStatisticsCount => "prune_statistics_count.sql",
    PruneStatisticsBatch => "prune_statistics_batch.sql",
    RetentionInfo => "retention_info.sql",
    // Schedules (actions/schedules/mod.rs).
    ListSchedules => "list_schedules.sql",
    RemoveSchedules => "remove_schedules.sql",
    RunSchedulesNow => "run_schedules_now.sql",
    // Pause, resume, skip, postpone (actions/schedules/timing.rs).
    LockSchedules => "lock_schedules.sql",
    SetSchedulesNextRun => "set_schedules_next_run.sql",
    // The job browser (actions/jobs/browse.rs): keyset pages of the queue and of
    // finished jobs in the log, with a composed `{filter}`; one job's detail.
    JobsNewest => "jobs_newest.sql",
    JobsOldest => "jobs_oldest.sql",
    HistoryNewest => "history_newest.sql",
    HistoryOldest => "history_oldest.sql",
    JobPayloads => "job_payloads.sql",
    JobRow => "job_row.sql",
    JobPayloadChunks => "job_payload_chunks.sql",
    JobLogHistory => "job_log_history.sql",
    // `pgq log` (actions/reports/activity.rs): the newest log rows, optionally filtered.
    LogRows => "log_rows.sql",
    // Cancel, delete and purge (actions/jobs/removal.rs): the same job
    // selection predicate in both, and the cancellation NOTIFY.
    RemoveJobs => "remove_jobs.sql",
    CountJobs => "count_jobs.sql",
    // Held jobs back to the queue by filter (`pgq requeue --entrypoint …`).
    RequeueJobs => "requeue_jobs.sql",
    // A key=value search's candidates, decided row by row by the client.
    SearchCandidates => "search_candidates.sql",
    // The newest job when a removal starts: it never takes a later one.
    NewestJob => "newest_job.sql",
    Notify => "notify.sql",
    // `pgq why` (actions/reports/why.rs): the numbers behind a job's or a
    // schedule's state; `pgq check` (actions/reports/check.rs): health in one pass.
    WhyJob => "why_job.sql",
    WhySchedules => "why_schedules.sql",
    Check => "check.sql",
}

/// The columns of one queue row, each named as it is read
/// (`actions::jobs::queue_row::QueueRow`). Unqualified: a statement that joins
/// names no other column the same.
pub const JOB_COLUMNS: &str = "id, priority, queue_manager_id, created, updated, heartbeat, \
execute_after, status::text AS status, entrypoint, dedupe_key, attempts, headers, slot, \
length(payload)::bigint AS payload_bytes";

/// The composed-WHERE placeholder (see [`Statement::render_filtered`]).
const FILTER: &str = "{filter}";

impl Statement {
    /// The statement named by its file name without `.sql` (`dequeue`).
    pub fn by_name(name: &str) -> Option<Statement> {
        Self::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The file name without `.sql`.
    pub fn name(self) -> &'static str {
        self.file_name()
            .strip_suffix(".sql")
            .expect("statement files end in .sql")
    }

    /// The statement with every placeholder filled from `names`.
    pub fn render(self, names: &ObjectNames) -> String {
        fill(self.template(), names)
    }

    /// Whether the statement has a `{filter}` for [`Statement::render_filtered`].
    pub fn takes_filter(self) -> bool {
        self.template().contains(FILTER)
    }

    /// [`Statement::render`], with `{filter}` replaced by `where_sql`: a
    /// clause composed from the fixed fragments of `actions::jobs::filter`,
    /// whose values travel as bind parameters.
    pub fn render_filtered(self, names: &ObjectNames, where_sql: &str) -> String {
        debug_assert!(self.takes_filter(), "{} has no {FILTER}", self.file_name());
        self.render(names).replacen(FILTER, where_sql, 1)
    }
}

/// The value of one placeholder, or `None` when `key` is not one (the text
/// is then left as it is: `'{}'` is an empty array literal).
fn placeholder(key: &str, names: &ObjectNames) -> Option<String> {
    match key {
        "schema_expr" => return Some(names.schema_expr()),
        "job_columns" => return Some(JOB_COLUMNS.to_string()),
        _ => {}
    }
    let (bare, object) = match key.strip_prefix("bare:") {
        Some(object) => (true, object),
        None => (false, key),
    };
    let name = match object {
        "queue_table" => &names.queue_table,
        "queue_table_log" => &names.queue_table_log,
        "statistics_table" => &names.statistics_table,
        "schedules_table" => &names.schedules_table,
        "queue_status_type" => &names.queue_status_type,
        _ => return None,
    };
    Some(if bare {
        name.clone()
    } else {
        names.qualify(name)
    })
}

/// Replace every `{placeholder}` in `template`, in one pass (a filled name
/// is never scanned again).
fn fill(template: &str, names: &ObjectNames) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let value = after
            .find('}')
            .and_then(|close| Some((close, placeholder(&after[..close], names)?)));
        match value {
            Some((close, value)) => {
                out.push_str(&value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{word}` token (letters, digits, `_`, `:`) in `text`: what a
    /// placeholder looks like, filled or not.
    fn tokens(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            if let Some(close) = after.find('}') {
                let key = &after[..close];
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                {
                    found.push(key.to_string());
                }
            }
            rest = after;
        }
        found
    }

    fn name_sets() -> [ObjectNames; 2] {
        [
            ObjectNames::default(),
            ObjectNames::with_prefix("app_", Some("jobs")).unwrap(),
        ]
    }

    #[test]
    fn every_placeholder_is_known_and_filled() {
        for statement in Statement::ALL {
            let template = statement.template();
            // `{filter}` is filled by `render_filtered`, checked below.
            for key in tokens(template).into_iter().filter(|k| k != "filter") {
                assert!(
                    placeholder(&key, &ObjectNames::default()).is_some(),
                    "{}: unknown placeholder {{{key}}}",
                    statement.file_name()
                );
            }
            assert!(
                template.matches(FILTER).count() <= 1,
                "{}: more than one {FILTER}",
                statement.file_name()
            );
            for names in name_sets() {
                let sql = if statement.takes_filter() {
                    statement.render_filtered(&names, "id = $2")
                } else {
                    statement.render(&names)
                };
                assert_eq!(
                    tokens(&sql),
                    Vec::<String>::new(),
                    "{}: placeholders left after filling",
                    statement.file_name()
                );
                assert!(!sql.is_empty() && !sql.ends_with('\n'));
            }
        }
    }

    #[test]
    fn schema_and_prefix_reach_every_object() {
        let names = ObjectNames::with_prefix("app_", Some("jobs")).unwrap();
        let sql = Statement::LogJobs.render(&names);
        assert!(sql.contains("DELETE FROM jobs.app_pgqueuer\n"), "{sql}");
        assert!(sql.contains("INSERT INTO jobs.app_pgqueuer_log "), "{sql}");
        assert!(sql.contains("::jobs.app_pgqueuer_status[]"), "{sql}");
        let verify = Statement::VerifyStructure.render(&names);
        assert!(verify.contains("table_schema = 'jobs'"), "{verify}");
        assert!(
            verify.contains("table_name = 'app_pgqueuer_log'"),
            "{verify}"
        );
        let plain = Statement::VerifyStructure.render(&ObjectNames::default());
        assert!(plain.contains("table_schema = current_schema()"), "{plain}");
    }

    /// ON CONFLICT must name the unique index's predicate exactly, and the
    /// index is generated from the schema declaration.
    #[test]
    fn enqueue_files_spell_the_declared_dedupe_predicate() {
        use crate::schema::declare::dedupe_predicate;
        use crate::schema::render::spelled;
        for names in name_sets() {
            let predicate = spelled(&dedupe_predicate(&names.queue_status_type), &names);
            for statement in [
                Statement::Enqueue,
                Statement::EnqueueUpdatePriority,
                Statement::EnqueueGivenIds,
                Statement::EnqueueGivenIdsUpdatePriority,
            ] {
                let sql = statement.render(&names);
                assert!(
                    sql.contains(&format!("ON CONFLICT (dedupe_key) WHERE {predicate} DO")),
                    "{}: {sql}",
                    statement.file_name()
                );
            }
        }
    }

    /// The held-key probe must use the same predicate, so each probe is an
    /// index-only lookup on that unique index.
    #[test]
    fn held_key_probe_spells_the_declared_dedupe_predicate() {
        use crate::schema::declare::dedupe_predicate;
        use crate::schema::render::spelled;
        for names in name_sets() {
            let predicate = spelled(&dedupe_predicate(&names.queue_status_type), &names);
            let sql = Statement::HeldDedupeKey.render(&names);
            assert_eq!(
                sql.matches(&format!("AND {predicate})")).count(),
                1,
                "{sql}"
            );
            assert_eq!(
                sql.matches(&format!("WHERE {predicate})")).count(),
                1,
                "{sql}"
            );
        }
    }

    #[test]
    fn fill_leaves_other_braces_alone() {
        let names = ObjectNames::default();
        assert_eq!(
            fill("SELECT '{}'::int[], '{a}', {queue_table", &names),
            "SELECT '{}'::int[], '{a}', {queue_table"
        );
        assert_eq!(fill("{{queue_table}}", &names), "{pgqueuer}");
    }

    /// Every file in `sql/` is a declared statement (none is forgotten), and
    /// every declared statement is used somewhere in `src/`.
    #[test]
    fn every_file_is_declared_and_used() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("sql/ exists")
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut declared: Vec<String> = Statement::ALL
            .iter()
            .map(|s| s.file_name().to_string())
            .collect();
        declared.sort();
        assert_eq!(files, declared, "sql/ and the Statement list differ");

        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut code = String::new();
        let mut dirs = vec![src];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("db/statements.rs")
                {
                    code.push_str(&std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        for statement in Statement::ALL {
            let use_site = format!("Statement::{statement:?}");
            // `Statement::Dequeue` but not `Statement::DequeueBudget`.
            let used = code.match_indices(&use_site).any(|(at, _)| {
                !code[at + use_site.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            });
            assert!(
                used,
                "{} is never used ({use_site} appears nowhere in src/)",
                statement.file_name()
            );
        }
    }

    #[test]
    fn statements_are_found_by_name() {
        assert_eq!(Statement::by_name("dequeue"), Some(Statement::Dequeue));
        assert_eq!(Statement::by_name("log_jobs"), Some(Statement::LogJobs));
        assert_eq!(Statement::by_name("dequeue.sql"), None);
        assert_eq!(Statement::by_name("nope"), None);
    }
}
