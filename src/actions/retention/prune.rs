//! Retention: delete old log and statistics rows in batches (`pgq prune`,
//! the console's Durability tab).
//!
//! Each batch is one autocommitted statement deleting at most `batch_size`
//! rows, so no transaction holds row locks or WAL for long, and a stop
//! request (SIGINT) takes effect between batches: what is deleted is always
//! whole batches. Log rows not yet aggregated into statistics are never
//! deleted (the dashboard's totals would shrink); they are counted and
//! reported as held back.
//!
//! Batches walk an index instead of rescanning: the log by its `created`
//! index from the previous batch's newest row on, statistics by primary key
//! from the previous batch's last id on, so pruning N rows costs O(N).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::actions::batches::{Batches, watched};
use crate::actions::jobs::enqueue::shell_quote;
use crate::actions::preview::Preview;
use crate::actions::session::one_row;
use crate::actions::{Act, ActionError, Session, db_err, pgq};
use crate::db::rows::by_name;
use crate::db::statements::Statement;
pub use crate::output::format::age_text;
use crate::output::plural;
use crate::settings::names::ObjectNames;

/// Rows per statement unless `--batch-size` says otherwise.
pub const DEFAULT_BATCH_SIZE: u32 = 10_000;

/// What to prune: at least one of the two ages is set (the command insists).
#[derive(Debug, Clone, PartialEq)]
pub struct Retention {
    pub log_older_than: Option<Duration>,
    pub statistics_older_than: Option<Duration>,
    /// Only these entrypoints (empty: all).
    pub entrypoints: Vec<String>,
    pub batch_size: u32,
}

/// One table's part of a prune.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TablePrune {
    pub table: String,
    /// Rows older than this are pruned.
    pub cutoff: DateTime<Utc>,
    /// Rows that qualified when the prune started.
    pub eligible: u64,
    pub deleted: u64,
    /// Old log rows kept because they are not aggregated yet (0 for statistics).
    pub held_back: u64,
    pub batches: u64,
    /// The longest batch: how long its statement held its row locks.
    pub max_batch_ms: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Pruned {
    pub log: Option<TablePrune>,
    pub statistics: Option<TablePrune>,
    /// The statements a run sends, once each (every batch repeats its table's).
    pub statements: Vec<String>,
    pub dry_run: bool,
    /// Stopped on request before the end; whole batches only.
    pub interrupted: bool,
    pub elapsed_ms: f64,
}

impl Pruned {
    pub fn deleted(&self) -> u64 {
        self.tables().map(|t| t.deleted).sum()
    }

    pub fn eligible(&self) -> u64 {
        self.tables().map(|t| t.eligible).sum()
    }

    pub fn held_back(&self) -> u64 {
        self.log.as_ref().map_or(0, |t| t.held_back)
    }

    pub fn batches(&self) -> u64 {
        self.tables().map(|t| t.batches).sum()
    }

    pub fn max_batch_ms(&self) -> f64 {
        self.tables().map(|t| t.max_batch_ms).fold(0.0, f64::max)
    }

    fn tables(&self) -> impl Iterator<Item = &TablePrune> {
        self.log.iter().chain(self.statistics.iter())
    }
}

pub fn log_batch_sql(n: &ObjectNames) -> String {
    Statement::PruneLogBatch.render(n)
}

pub fn statistics_batch_sql(n: &ObjectNames) -> String {
    Statement::PruneStatisticsBatch.render(n)
}

/// The batch statements `retention` sends, in order.
pub fn statements(n: &ObjectNames, retention: &Retention) -> Vec<String> {
    let mut out = Vec::new();
    if retention.log_older_than.is_some() {
        out.push(log_batch_sql(n));
    }
    if retention.statistics_older_than.is_some() {
        out.push(statistics_batch_sql(n));
    }
    out
}

/// `$2`: NULL for every entrypoint.
fn entrypoint_filter(retention: &Retention) -> Option<Vec<String>> {
    (!retention.entrypoints.is_empty()).then(|| retention.entrypoints.clone())
}

/// The server's `now()` minus `age`: one cut-off for the whole run, so rows
/// that age past it while the prune runs are left for the next one.
async fn cutoff(session: &Session, age: Duration) -> Result<DateTime<Utc>, ActionError> {
    session
        .read_one(
            Statement::PruneCutoff,
            &[&age.as_secs_f64()],
            "computing the cut-off",
        )
        .await
}

by_name! {
    /// A count statement's row: rows that go, and (the log's) held back.
    struct OldRows {
        eligible: i64,
        held_back: i64,
    }
}

by_name! {
    /// A log batch's row: rows deleted and the newest `created` among them.
    struct LogBatch {
        gone: i64,
        last: Option<DateTime<Utc>>,
    }
}

by_name! {
    /// A statistics batch's row: rows deleted and the highest id among them.
    struct StatisticsBatch {
        gone: i64,
        last: Option<i64>,
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// What one table's count statement finds older than `age`: its first
/// column counts the rows that go, a second one (the log's) those held back.
async fn count_old(
    session: &Session,
    statement: Statement,
    table: String,
    age: Duration,
    entrypoints: &Option<Vec<String>>,
    what: &'static str,
) -> Result<TablePrune, ActionError> {
    let cutoff = cutoff(session, age).await?;
    let old: OldRows = session
        .read_one(statement, &[&cutoff, entrypoints], what)
        .await?;
    Ok(TablePrune {
        table,
        cutoff,
        eligible: count(old.eligible),
        deleted: 0,
        held_back: count(old.held_back),
        batches: 0,
        max_batch_ms: 0.0,
    })
}

/// Count what qualifies (and, for the log, what is held back), then, unless
/// `dry_run`, delete it batch by batch until done or `watch` says stop.
pub async fn prune(
    session: &Session,
    retention: &Retention,
    watch: &Batches,
    dry_run: bool,
) -> Result<Pruned, ActionError> {
    let started = Instant::now();
    let n = &session.names;
    let entrypoints = entrypoint_filter(retention);
    let limit = i64::from(retention.batch_size.max(1));

    let mut log = match retention.log_older_than {
        Some(age) => Some(
            count_old(
                session,
                Statement::PruneLogCount,
                n.qualify(&n.queue_table_log),
                age,
                &entrypoints,
                "counting old log rows",
            )
            .await?,
        ),
        None => None,
    };
    let mut statistics = match retention.statistics_older_than {
        Some(age) => Some(
            count_old(
                session,
                Statement::PruneStatisticsCount,
                n.qualify(&n.statistics_table),
                age,
                &entrypoints,
                "counting old statistics rows",
            )
            .await?,
        ),
        None => None,
    };

    let eligible = log
        .iter()
        .chain(statistics.iter())
        .map(|t| t.eligible)
        .sum();
    watch.set_total(eligible);
    let mut interrupted = false;
    if !dry_run {
        if let Some(t) = log.as_mut().filter(|t| t.eligible > 0) {
            let sql = log_batch_sql(n);
            // Keyset on `created`: each batch starts where the last one ended.
            let mut from: Option<DateTime<Utc>> = None;
            loop {
                if watch.stopping() {
                    interrupted = true;
                    break;
                }
                let began = Instant::now();
                let context = "deleting a batch of log rows";
                let rows = session
                    .apply(&sql, &[&t.cutoff, &entrypoints, &limit, &from])
                    .await
                    .map_err(db_err(context))?;
                let LogBatch { gone, last } = one_row(&rows, context)?;
                t.note_batch(began, count(gone), watch);
                match last {
                    Some(last) if gone == limit => from = Some(last),
                    _ => break,
                }
            }
        }
        if let Some(t) = statistics
            .as_mut()
            .filter(|t| t.eligible > 0 && !interrupted)
        {
            let sql = statistics_batch_sql(n);
            let mut from: i64 = 0;
            loop {
                if watch.stopping() {
                    interrupted = true;
                    break;
                }
                let began = Instant::now();
                let context = "deleting a batch of statistics rows";
                let rows = session
                    .apply(&sql, &[&t.cutoff, &entrypoints, &limit, &from])
                    .await
                    .map_err(db_err(context))?;
                let StatisticsBatch { gone, last } = one_row(&rows, context)?;
                t.note_batch(began, count(gone), watch);
                match last {
                    Some(last) if gone == limit => from = last,
                    _ => break,
                }
            }
        }
    }
    Ok(Pruned {
        log,
        statistics,
        statements: statements(n, retention),
        dry_run,
        interrupted,
        elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

impl TablePrune {
    fn note_batch(&mut self, began: Instant, gone: u64, watch: &Batches) {
        self.batches += 1;
        self.deleted += gone;
        self.max_batch_ms = self.max_batch_ms.max(began.elapsed().as_secs_f64() * 1e3);
        watch.add_done(gone);
    }
}

by_name! {
    /// The oldest rows and the aggregation backlog (console Durability tab).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct RetentionInfo {
        pub oldest_log: Option<DateTime<Utc>>,
        /// The first statistics row by id: statistics has no index on `created`,
        /// and buckets are inserted in time order, so this is the oldest one in
        /// practice without scanning the table.
        pub oldest_statistics: Option<DateTime<Utc>>,
        /// Log rows not aggregated yet, counted up to [`BACKLOG_COUNT_LIMIT`].
        pub not_aggregated: i64,
    }
}

/// Counting stops here: the tab says "100,000+" rather than scan a backlog.
pub const BACKLOG_COUNT_LIMIT: i64 = 100_000;

pub fn retention_info_sql(n: &ObjectNames) -> String {
    Statement::RetentionInfo.render(n)
}

pub async fn retention_info(session: &Session) -> Result<RetentionInfo, ActionError> {
    session
        .read_one(
            Statement::RetentionInfo,
            &[&(BACKLOG_COUNT_LIMIT + 1)],
            "reading the oldest log and statistics rows",
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_print_as_the_flags_take_them() {
        let cases = [
            (Duration::from_secs(30 * 86_400), "30d"),
            (Duration::from_secs(7_200), "2h"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(600), "10m"),
            (Duration::from_millis(1_500), "1500ms"),
            (Duration::ZERO, "0s"),
        ];
        for (age, text) in cases {
            assert_eq!(age_text(age), text);
            assert_eq!(crate::settings::duration::parse_duration(text), Ok(age));
        }
    }
}

// The action: `pgq prune`: delete old log and statistics rows in batches, never log rows that
// are not aggregated into statistics yet.

#[derive(Debug, Clone, PartialEq)]
pub struct Prune {
    pub retention: Retention,
}

impl Prune {
    pub fn new(retention: Retention) -> Prune {
        Prune { retention }
    }
}

impl Act for Prune {
    type Output = Pruned;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        Prune::new(Retention {
            log_older_than: Some(Duration::from_secs(30 * 86_400)),
            statistics_older_than: Some(Duration::from_secs(90 * 86_400)),
            entrypoints: vec!["seeded".into()],
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let r = &self.retention;
        let mut line = String::from("prune");
        if let Some(age) = r.log_older_than {
            line.push_str(&format!(" --log-older-than {}", age_text(age)));
        }
        if let Some(age) = r.statistics_older_than {
            line.push_str(&format!(" --statistics-older-than {}", age_text(age)));
        }
        for e in &r.entrypoints {
            line.push_str(&format!(" --entrypoint {}", shell_quote(e)));
        }
        if r.batch_size != DEFAULT_BATCH_SIZE {
            line.push_str(&format!(" --batch-size {}", r.batch_size));
        }
        pgq(names, &line)
    }

    fn outcome_text(&self, p: &Pruned) -> String {
        use crate::output::plural;
        let table = |t: &Option<crate::actions::retention::prune::TablePrune>| {
            t.as_ref().map_or(0, |t| t.deleted)
        };
        let mut text = format!(
            "deleted {} and {} in {}",
            plural(table(&p.log) as usize, "log row"),
            plural(table(&p.statistics) as usize, "statistics row"),
            plural(p.batches() as usize, "batch")
        );
        if p.interrupted {
            text.push_str("; interrupted, the rest is untouched");
        }
        if p.held_back() > 0 {
            text.push_str(&format!(
                "; kept {} not aggregated yet",
                plural(p.held_back() as usize, "old log row")
            ));
        }
        text
    }

    /// Batch after batch for as long as old rows remain.
    fn long_running(&self) -> bool {
        true
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Pruned, ActionError> {
        prune(session, &self.retention, &watched(), dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        // The dry run counts what qualifies; it sends no DELETE.
        let planned = prune(session, &self.retention, &Batches::default(), true).await?;
        let mut parts = Vec::new();
        if let Some(t) = &planned.log {
            parts.push(format!(
                "{} older than {}",
                plural(t.eligible as usize, "log row"),
                t.cutoff.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        if let Some(t) = &planned.statistics {
            parts.push(format!(
                "{} older than {}",
                plural(t.eligible as usize, "statistics row"),
                t.cutoff.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        let mut p = Preview::new(
            format!("Delete {}?", parts.join(" and ")),
            planned.statements.clone(),
            self.command_line(&session.names),
        );
        p.parameters = vec![
            "$1 = the cut-off above".into(),
            format!(
                "$2 = {}",
                if self.retention.entrypoints.is_empty() {
                    "NULL (every entrypoint)".to_string()
                } else {
                    format!("{{{}}}", self.retention.entrypoints.join(", "))
                }
            ),
            format!("$3 = {} (rows per batch)", self.retention.batch_size),
            "$4 = where the previous batch ended".into(),
        ];
        p.nothing_to_do = planned.eligible() == 0;
        let mut warning = format!(
            "Deleted in batches of {}, each its own transaction; this cannot be undone.",
            self.retention.batch_size
        );
        if planned.held_back() > 0 {
            warning.push_str(&format!(
                " Kept: {} not aggregated into statistics yet.",
                plural(planned.held_back() as usize, "old log row")
            ));
        }
        p.warning = Some(warning);
        Ok(p)
    }
}
