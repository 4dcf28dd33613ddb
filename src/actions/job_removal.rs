//! Cancel, delete and purge: jobs leave the queue table with a log row, the
//! way PGQueuer's own paths write them.
//!
//! - cancel (Python's `mark_job_as_cancelled`): queued or picked rows are
//!   deleted and logged `canceled`, and a `cancellation_event` names them so
//!   the worker running one stops it (its own later completion finds no row
//!   and logs nothing);
//! - delete (held jobs) and purge (queued jobs): deleted and logged
//!   `deleted`, as Python's `clear_queue(entrypoint)` does (Python has no
//!   delete of held jobs of its own; its clear path is the one to match).
//!
//! The DELETE fires the queue table's statement trigger, so listeners see a
//! `delete` table event per statement, as with Python. Jobs given by id are
//! removed all or nothing in one transaction; a filter is worked off in
//! batches of [`BATCH`] rows, each batch one statement (and, for a cancel,
//! its events) in its own transaction, so an interrupted run leaves whole
//! batches behind.

use tokio_postgres::types::ToSql;

use super::browse::DEFAULT_SEARCH_TIMEOUT;
use super::browse::PageRequest;
use super::job_filter::{JobFilter, Search, Where};
use super::job_selection::{JobSelection, JobStatus, SelectionBinds};
use super::jobs::missing_schema_or;
use super::jobs::shell_quote;
use super::kinds::ListJobs;
use super::preview::{Preview, list};
use super::{Act, ActionError, Finish, Session, db_err, pgq};
use crate::db::statements::Statement;
use crate::output::plural;
use crate::settings::names::ObjectNames;

/// Rows per statement when working off a filter.
pub const BATCH: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Cancel,
    /// Held (`failed`) jobs.
    Delete,
    /// Queued jobs.
    Purge,
}

impl Removal {
    /// The statuses the operation may touch.
    pub fn statuses(self) -> &'static [JobStatus] {
        match self {
            Removal::Cancel => &[JobStatus::Queued, JobStatus::Picked],
            Removal::Delete => &[JobStatus::Failed],
            Removal::Purge => &[JobStatus::Queued],
        }
    }

    /// The status of the log rows written.
    pub fn log_status(self) -> &'static str {
        match self {
            Removal::Cancel => "canceled",
            Removal::Delete | Removal::Purge => "deleted",
        }
    }

    /// The subcommand, which is also the verb.
    pub fn command(self) -> &'static str {
        match self {
            Removal::Cancel => "cancel",
            Removal::Delete => "delete",
            Removal::Purge => "purge",
        }
    }

    pub fn past(self) -> &'static str {
        match self {
            Removal::Cancel => "canceled",
            Removal::Delete => "deleted",
            Removal::Purge => "purged",
        }
    }

    /// The jobs it acts on, for messages ("queued or picked").
    pub fn jobs_word(self) -> &'static str {
        match self {
            Removal::Cancel => "queued or picked",
            Removal::Delete => "held (failed)",
            Removal::Purge => "queued",
        }
    }
}

/// What a removal did (or, on a dry run, would do).
#[derive(Debug, Clone, PartialEq)]
pub struct Removed {
    pub removal: Removal,
    pub dry_run: bool,
    /// Jobs removed (on a dry run: that match now).
    pub count: u64,
    /// The jobs removed, when they were given by id (a filter may select
    /// millions: only counted).
    pub ids: Vec<i64>,
    /// Statements that deleted rows (0 on a dry run).
    pub batches: usize,
    /// `cancellation_event` payloads sent.
    pub events: usize,
    /// Stopped between batches on request; the rest is untouched.
    pub interrupted: bool,
}

fn selection_binds(
    removal: Removal,
    selection: &JobSelection,
) -> Result<SelectionBinds, ActionError> {
    selection
        .binds(removal.statuses())
        .map_err(|e| ActionError::Selection(e.to_string()))
}

/// The statements a removal sends per batch (BEGIN, the DELETE, for a cancel
/// the NOTIFY, COMMIT) and their parameters, for previews and dry runs.
pub fn statements(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
) -> Result<(Vec<String>, Vec<String>), ActionError> {
    let binds = selection_binds(removal, selection)?;
    let mut statements = vec!["BEGIN".to_string()];
    if let Some(millis) = search_timeout_millis(selection) {
        statements.push(format!("SET LOCAL statement_timeout = {millis}"));
    }
    let parameters = match filter_where(selection, REMOVE_FILTER_FIRST)? {
        Some(filter) => {
            statements
                .push(Statement::RemoveJobsFiltered.render_filtered(&session.names, &filter.sql));
            let mut parameters = vec![binds.describe().remove(0)];
            parameters.push(format!("$2 limit = {BATCH} (repeated until none is left)"));
            parameters.push(format!("$3 log status = {}", removal.log_status()));
            parameters.extend(filter.describe(REMOVE_FILTER_FIRST));
            parameters
        }
        None => {
            statements.push(Statement::RemoveJobs.render(&session.names));
            let mut parameters = binds.describe();
            parameters.push(if selection.is_ids() {
                "$5 limit = NULL (every given id, all or nothing)".into()
            } else {
                format!("$5 limit = {BATCH} (repeated until none is left)")
            });
            parameters.push(format!("$6 log status = {}", removal.log_status()));
            parameters
        }
    };
    let mut parameters = parameters;
    if removal == Removal::Cancel {
        statements.push(Statement::Notify.render(&session.names));
        parameters.push(format!(
            "pg_notify: channel {}, a cancellation_event with the canceled ids",
            session.names.channel
        ));
    }
    statements.push("COMMIT".into());
    Ok((statements, parameters))
}

/// How many jobs the selection names now, and which of the given ids exist.
pub async fn count(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
) -> Result<(u64, Vec<i64>), ActionError> {
    let b = selection_binds(removal, selection)?;
    let Some(filter) = filter_where(selection, COUNT_FILTER_FIRST)? else {
        let row = session
            .client()
            .query_one(
                &Statement::CountJobs.render(&session.names),
                &[&b.statuses, &b.ids, &b.entrypoints, &b.older_than_secs],
            )
            .await
            .map_err(|e| missing_schema_or(session, e, "counting jobs"))?;
        return Ok((row.get::<_, i64>(0) as u64, row.get(1)));
    };
    let sql = Statement::CountJobsFiltered.render_filtered(&session.names, &filter.sql);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&b.statuses];
    params.extend(filter.refs());
    let client = session.client();
    let context = "counting the jobs matching the filter";
    // Under the same statement timeout as each batch of the removal.
    let millis = search_timeout_millis(selection);
    if let Some(millis) = millis {
        client
            .batch_execute(&format!(
                "BEGIN READ ONLY; SET LOCAL statement_timeout = {millis}"
            ))
            .await
            .map_err(db_err(context))?;
    }
    let counted = client.query_one(&sql, &params).await;
    if millis.is_some() {
        // Read only: nothing to keep, and a failed count has ended it anyway.
        let _ = client.batch_execute("ROLLBACK").await;
    }
    let row =
        counted.map_err(|e| timed_out_or(selection, missing_schema_or(session, e, context)))?;
    Ok((row.get::<_, i64>(0) as u64, Vec::new()))
}

/// Where a filter's parameters start in the filtered count and removal.
const COUNT_FILTER_FIRST: usize = 2;
const REMOVE_FILTER_FIRST: usize = 4;

fn filter_where(selection: &JobSelection, first: usize) -> Result<Option<Where>, ActionError> {
    selection
        .filter_where(first)
        .map_err(|e| ActionError::Selection(e.to_string()))
}

/// The statement timeout of a search (the job browser's), in milliseconds.
fn search_timeout_millis(selection: &JobSelection) -> Option<u128> {
    selection.searches().then(|| {
        DEFAULT_SEARCH_TIMEOUT
            .as_millis()
            .clamp(1, i32::MAX as u128)
    })
}

/// A search stopped by its statement timeout says so, not "query canceled".
fn timed_out_or(selection: &JobSelection, error: ActionError) -> ActionError {
    match error {
        ActionError::Db { source, .. }
            if selection.searches()
                && source.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) =>
        {
            ActionError::SearchTimedOut {
                seconds: DEFAULT_SEARCH_TIMEOUT.as_secs_f64(),
            }
        }
        other => other,
    }
}

/// Ids asked for that are not among `found` (both sorted or not).
fn missing(wanted: &[i64], found: &[i64]) -> Vec<i64> {
    let found: std::collections::HashSet<i64> = found.iter().copied().collect();
    let mut missing: Vec<i64> = wanted
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

fn unknown(removal: Removal, ids: Vec<i64>) -> ActionError {
    ActionError::UnknownJobs {
        wanted: removal.jobs_word().into(),
        ids,
        verb: removal.past().into(),
    }
}

/// Remove the selected jobs. `keep_going` is asked after each batch with
/// the number removed so far; `false` stops there (a Ctrl-C). On a dry run
/// nothing is sent but the count.
pub async fn remove(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    dry_run: bool,
    keep_going: &mut (dyn FnMut(u64) -> bool + Send),
) -> Result<Removed, ActionError> {
    let binds = selection_binds(removal, selection)?;
    let mut done = Removed {
        removal,
        dry_run,
        count: 0,
        ids: Vec::new(),
        batches: 0,
        events: 0,
        interrupted: false,
    };
    if dry_run {
        let (count, found) = count(session, removal, selection).await?;
        if let JobSelection::Ids(wanted) = selection {
            let missing = missing(wanted, &found);
            if !missing.is_empty() {
                return Err(unknown(removal, missing));
            }
            done.ids = found;
        }
        done.count = count;
        return Ok(done);
    }
    let limit: Option<i64> = (!selection.is_ids()).then_some(BATCH);
    loop {
        let batch = remove_batch(session, removal, selection, &binds, limit).await?;
        let n = batch.ids.len() as u64;
        if n > 0 {
            done.batches += 1;
        }
        done.count += n;
        done.events += batch.events;
        if selection.is_ids() {
            done.ids = batch.ids;
            return Ok(done);
        }
        if limit.is_some_and(|l| n < l as u64) {
            return Ok(done);
        }
        if !keep_going(done.count) {
            done.interrupted = true;
            return Ok(done);
        }
    }
}

struct Batch {
    ids: Vec<i64>,
    events: usize,
}

/// One batch in its own transaction: the DELETE with its log rows, and for a
/// cancel the events naming exactly the ids deleted (delivered at commit).
/// Given ids that are not all found roll the batch back.
async fn remove_batch(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    b: &SelectionBinds,
    limit: Option<i64>,
) -> Result<Batch, ActionError> {
    let context = format!("{} jobs", removal.command());
    let filter = filter_where(selection, REMOVE_FILTER_FIRST)?;
    let log_status = removal.log_status();
    let (sql, params): (String, Vec<&(dyn ToSql + Sync)>) = match &filter {
        Some(filter) => {
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&b.statuses, &limit, &log_status];
            params.extend(filter.refs());
            let sql = Statement::RemoveJobsFiltered.render_filtered(&session.names, &filter.sql);
            (sql, params)
        }
        None => (
            Statement::RemoveJobs.render(&session.names),
            vec![
                &b.statuses,
                &b.ids,
                &b.entrypoints,
                &b.older_than_secs,
                &limit,
                &log_status,
            ],
        ),
    };
    session
        .transaction(&context, async || {
            if let Some(millis) = search_timeout_millis(selection) {
                session
                    .apply_batch(&format!("SET LOCAL statement_timeout = {millis}"))
                    .await
                    .map_err(db_err(&context))?;
            }
            let rows = session
                .apply(&sql, &params)
                .await
                .map_err(|e| timed_out_or(selection, missing_schema_or(session, e, &context)))?;
            let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
            if let JobSelection::Ids(wanted) = selection {
                let missing = missing(wanted, &ids);
                if !missing.is_empty() {
                    return Err(unknown(removal, missing));
                }
            }
            let mut events = 0;
            if removal == Removal::Cancel {
                let notify = Statement::Notify.render(&session.names);
                let channel = &session.names.channel;
                for payload in
                    crate::events::cancellation_payloads(channel, &ids, chrono::Utc::now())
                {
                    session
                        .apply(&notify, &[channel, &payload])
                        .await
                        .map_err(db_err("sending the cancellation event"))?;
                    events += 1;
                }
            }
            Ok(Finish::Commit(Batch { ids, events }))
        })
        .await
}

/// The equivalent command. A job browser filter is spelled with the filter
/// flags of `pgq cancel`/`pgq purge`; one with a job id, or a delete (whose
/// command takes no filter flags), has none, and the preview says which
/// command lists the same jobs instead.
pub fn command_line(names: &ObjectNames, removal: Removal, selection: &JobSelection) -> String {
    let verb = removal.command();
    match selection {
        JobSelection::Filter(filter) if filter.id.is_some() || removal == Removal::Delete => {
            let listing = ListJobs {
                filter: filter.clone(),
                history: false,
                page: PageRequest::default(),
                search_timeout: DEFAULT_SEARCH_TIMEOUT,
                explain: false,
            };
            format!(
                "no single command: pgq {verb} takes job ids or --entrypoint and the filter flags, not an id filter; \
                 the same jobs are listed by {}",
                listing.command_line(names)
            )
        }
        JobSelection::Filter(filter) => pgq(
            names,
            &format!("{verb} {} --yes", filter_flags(removal, filter)),
        ),
        _ => {
            let yes = if selection.is_ids() { "" } else { " --yes" };
            pgq(names, &format!("{verb} {}{yes}", selection.arguments()))
        }
    }
}

/// A filter as the flags of `pgq cancel`/`pgq purge` (purge touches only
/// queued jobs and has no `--status`).
fn filter_flags(removal: Removal, filter: &JobFilter) -> String {
    let mut args: Vec<String> = Vec::new();
    let mut flag =
        |name: &str, value: String| args.push(format!("--{name} {}", shell_quote(&value)));
    for e in &filter.entrypoints {
        flag("entrypoint", e.clone());
    }
    if let Some(status) = filter.status.filter(|_| removal == Removal::Cancel) {
        flag("status", status.label().into());
    }
    if let Some(n) = filter.priority_min {
        flag("priority-min", n.to_string());
    }
    if let Some(n) = filter.priority_max {
        flag("priority-max", n.to_string());
    }
    if let Some(k) = &filter.dedupe_key {
        flag("dedupe-key", k.clone());
    }
    if let Some(w) = filter.worker {
        flag("worker", w.to_string());
    }
    match &filter.search {
        Some(Search::Text(t)) => flag("search", t.clone()),
        // Refused by the selection before anything runs.
        Some(Search::KeyValue { key, value }) => flag("search", format!("{key}={value}")),
        None => {}
    }
    args.join(" ")
}

/// The confirmation for a removal: how many jobs it takes now, the
/// statements, parameters and the equivalent command.
pub async fn preview(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    command_line: String,
) -> Result<Preview, ActionError> {
    let (statements, parameters) = statements(session, removal, selection)?;
    let (n, found) = count(session, removal, selection).await?;
    let jobs = plural(n as usize, "job");
    let which = match selection {
        JobSelection::Ids(_) => format!(" ({})", list(&found)),
        JobSelection::Matching { .. } => format!(" matching {}", selection.arguments()),
        JobSelection::Filter(_) => format!(" matching the filter {}", selection.arguments()),
    };
    let verb = match removal {
        Removal::Cancel => "Cancel",
        Removal::Delete => "Delete",
        Removal::Purge => "Purge",
    };
    let mut p = Preview::new(format!("{verb} {jobs}{which}?"), statements, command_line);
    p.parameters = parameters;
    p.nothing_to_do = n == 0;
    if let JobSelection::Ids(wanted) = selection {
        let missing = missing(wanted, &found);
        if !missing.is_empty() {
            p.warning = Some(unknown(removal, missing).to_string());
            p.nothing_to_do = true;
        }
    }
    if p.warning.is_none() {
        p.warning = Some(match removal {
            Removal::Cancel => {
                "Running jobs are stopped by their workers; none of them will run again.".into()
            }
            Removal::Delete | Removal::Purge => {
                "The jobs are gone for good (their log rows say 'deleted').".into()
            }
        });
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ids_are_sorted_and_unique() {
        assert_eq!(missing(&[5, 3, 3, 9, 1], &[1, 9]), vec![3, 5]);
        assert!(missing(&[1, 2], &[2, 1]).is_empty());
    }
}
