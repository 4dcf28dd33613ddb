//! Cancel, delete, purge and requeue by selection: jobs leave the queue
//! table (or, requeued, go back to `queued`) with a log row, the way
//! PGQueuer's own paths write them.
//!
//! - cancel (Python's `mark_job_as_cancelled`): queued or picked rows are
//!   deleted and logged `canceled`, and a `cancellation_event` names them so
//!   the worker running one stops it (its own later completion finds no row
//!   and logs nothing);
//! - delete (held jobs) and purge (queued jobs): deleted and logged
//!   `deleted`, as Python's `clear_queue(entrypoint)` does (Python has no
//!   delete of held jobs of its own; its clear path is the one to match);
//! - requeue (held jobs by filter): back to `queued`, due now, attempts 0,
//!   logged `queued`, as `pgq requeue ID…` and Python's web page do.
//!
//! The DELETE fires the queue table's statement trigger, so listeners see a
//! `delete` table event per statement, as with Python. Jobs given by id are
//! removed all or nothing in one transaction; a filter is worked off in
//! batches of [`BATCH`] rows, each batch one statement (and, for a cancel,
//! its events) in its own transaction, so an interrupted run leaves whole
//! batches behind.

use tokio_postgres::types::ToSql;

use crate::actions::batches::Batches;
use crate::actions::jobs::browse::DEFAULT_SEARCH_TIMEOUT;
use crate::actions::jobs::filter::{JobStatus, Search, Where};
use crate::actions::jobs::selection::{JobSelection, SelectionBinds};
use crate::actions::preview::{Preview, list};
use crate::actions::session::missing_schema_or;
use crate::actions::session::statement_timeout_millis;
use crate::actions::{ActionError, Finish, Session, db_err, pgq};
use crate::db::rows::{self, by_name};
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
    /// Held (`failed`) jobs back to the queue (the row stays).
    Requeue,
}

impl Removal {
    /// The statuses the operation may touch.
    pub fn statuses(self) -> &'static [JobStatus] {
        match self {
            Removal::Cancel => &[JobStatus::Queued, JobStatus::Picked],
            Removal::Delete | Removal::Requeue => &[JobStatus::Failed],
            Removal::Purge => &[JobStatus::Queued],
        }
    }

    /// The status of the log rows written.
    pub fn log_status(self) -> &'static str {
        match self {
            Removal::Cancel => "canceled",
            Removal::Delete | Removal::Purge => "deleted",
            Removal::Requeue => "queued",
        }
    }

    /// The statement a batch runs.
    fn statement(self) -> Statement {
        match self {
            Removal::Requeue => Statement::RequeueJobs,
            _ => Statement::RemoveJobs,
        }
    }

    /// The subcommand, which is also the verb.
    pub fn command(self) -> &'static str {
        match self {
            Removal::Cancel => "cancel",
            Removal::Delete => "delete",
            Removal::Purge => "purge",
            Removal::Requeue => "requeue",
        }
    }

    pub fn past(self) -> &'static str {
        match self {
            Removal::Cancel => "canceled",
            Removal::Delete => "deleted",
            Removal::Purge => "purged",
            Removal::Requeue => "requeued",
        }
    }

    /// The jobs it acts on, for messages ("queued or picked").
    pub fn jobs_word(self) -> &'static str {
        match self {
            Removal::Cancel => "queued or picked",
            Removal::Delete | Removal::Requeue => "held (failed)",
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
    /// Matching jobs another transaction kept holding (an open transaction
    /// of someone else's) until the removal stopped asking: untouched.
    pub left: u64,
}

impl Removed {
    /// `canceled 3 jobs (ids 4, 5, 6)`, with interruptions and leftovers.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} {}",
            self.removal.past(),
            crate::output::plural(self.count as usize, "job")
        );
        if !self.ids.is_empty() {
            let ids: Vec<String> = self.ids.iter().map(i64::to_string).collect();
            text.push_str(&format!(" ({})", ids.join(", ")));
        }
        text.push_str(&format!(
            " in {}",
            crate::output::plural(self.batches, "batch")
        ));
        if self.interrupted {
            text.push_str("; interrupted, the rest is untouched");
        }
        if self.left > 0 {
            text.push_str(&format!(
                "; {} held by another transaction left untouched",
                crate::output::plural(self.left as usize, "job")
            ));
        }
        text
    }
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
    let filter = filter_where(selection, REMOVE_FILTER_FIRST)?;
    statements.push(
        removal
            .statement()
            .render_filtered(&session.names, &filter.sql),
    );
    let mut parameters = vec![binds.describe_statuses()];
    if selection.is_ids() {
        parameters.push("$2 newest id = NULL".into());
        parameters.push(format!(
            "$3 ids = {{{}}} (every one, all or nothing)",
            crate::actions::preview::list(binds.ids.as_deref().unwrap_or_default())
        ));
        parameters.push("$4 limit = NULL".into());
    } else {
        parameters.push(
            "$2 newest id = the newest matching job the count saw (none later is touched)".into(),
        );
        parameters.push(if selection.searches_by_key() {
            "$3 ids = the jobs whose payload or headers have the key and value (decided per row)"
                .into()
        } else {
            "$3 ids = NULL".into()
        });
        parameters.push(format!(
            "$4 limit = {BATCH} (repeated until none is left, at most the count confirmed)"
        ));
    }
    parameters.push(format!("$5 log status = {}", removal.log_status()));
    parameters.extend(filter.describe(REMOVE_FILTER_FIRST));
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

pub use crate::actions::preview::Bound;

/// What a selection names now: how many jobs, which of the given ids
/// exist, and the newest matching id (the bound a confirmation carries).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counted {
    pub count: u64,
    pub found: Vec<i64>,
    pub newest_id: Option<i64>,
}

impl Counted {
    /// The bound to act under once this count is confirmed.
    pub fn bound(&self) -> Bound {
        Bound {
            newest_id: self.newest_id.unwrap_or(0),
            count: self.count,
        }
    }
}

/// How many jobs the selection names now (under `bound`, if any), and which
/// of the given ids exist.
pub async fn count(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    bound: Option<Bound>,
) -> Result<Counted, ActionError> {
    let b = selection_binds(removal, selection)?;
    let newest = bound.map(|b| b.newest_id);
    if let Some(search) = key_value_search(selection) {
        let ids = matching_ids(session, selection, &b, search, newest).await?;
        let ids = match bound {
            Some(bound) => ids.into_iter().take(bound.count as usize).collect(),
            None => ids,
        };
        return Ok(Counted {
            count: ids.len() as u64,
            newest_id: ids.last().copied(),
            found: Vec::new(),
        });
    }
    let filter = filter_where(selection, COUNT_FILTER_FIRST)?;
    let sql = Statement::CountJobs.render_filtered(&session.names, &filter.sql);
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&b.statuses, &newest, &b.ids];
    params.extend(filter.refs());
    let context = if selection.is_ids() {
        "counting jobs"
    } else {
        "counting the jobs matching the filter"
    };
    let counts: Vec<CountRow> = under_search_timeout(session, selection, context, async || {
        session.read_sql(&sql, &params, context).await
    })
    .await?;
    let row = counts.into_iter().next().unwrap_or_default();
    Ok(Counted {
        count: capped(u64::try_from(row.count).unwrap_or(0), bound),
        newest_id: row.newest_id,
        found: row.found,
    })
}

by_name! {
    /// `count_jobs.sql`'s one row.
    #[derive(Default)]
    struct CountRow {
        count: i64,
        newest_id: Option<i64>,
        found: Vec<i64>,
    }
}

by_name! {
    /// A key=value search's candidate (`search_candidates.sql`).
    struct Candidate {
        id: i64,
        payload: Option<Vec<u8>>,
        headers: Option<serde_json::Value>,
    }
}

fn capped(n: u64, bound: Option<Bound>) -> u64 {
    bound.map_or(n, |b| n.min(b.count))
}

/// A read under the search statement timeout when the selection searches
/// payloads, in a read-only transaction of its own (nothing to keep).
async fn under_search_timeout<T>(
    session: &Session,
    selection: &JobSelection,
    context: &str,
    read: impl AsyncFnOnce() -> Result<T, ActionError>,
) -> Result<T, ActionError> {
    let result = if selection.searches() {
        session
            .read_only(DEFAULT_SEARCH_TIMEOUT, context, read)
            .await
    } else {
        read().await
    };
    result.map_err(|e| timed_out_or(selection, e))
}

/// A `key=value` search: decided on each payload by the client (a payload
/// is bytes; PostgreSQL 15 cannot parse it as JSON without failing on one
/// that is not), exactly as `pgq jobs` and the Jobs tab decide it.
fn key_value_search(selection: &JobSelection) -> Option<&Search> {
    match selection {
        JobSelection::Filter(f) if f.needs_payload_check() => f.search.as_ref(),
        _ => None,
    }
}

/// Rows read per page when deciding a key=value search.
const CANDIDATE_PAGE: i64 = 1_000;

/// The ids (ascending) of the jobs a key=value search selects: the SQL
/// narrows, each row's payload and headers decide.
async fn matching_ids(
    session: &Session,
    selection: &JobSelection,
    b: &SelectionBinds,
    search: &Search,
    newest: Option<i64>,
) -> Result<Vec<i64>, ActionError> {
    let filter = filter_where(selection, CANDIDATE_FILTER_FIRST)?;

    let sql = Statement::SearchCandidates.render_filtered(&session.names, &filter.sql);
    let mut ids = Vec::new();
    let mut after: i64 = i64::MIN;
    loop {
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&b.statuses, &newest, &after, &CANDIDATE_PAGE];
        params.extend(filter.refs());
        let context = "searching the jobs' payloads";
        let rows: Vec<Candidate> = under_search_timeout(session, selection, context, async || {
            session.read_sql(&sql, &params, context).await
        })
        .await?;
        let full = rows.len() as i64 == CANDIDATE_PAGE;
        let last = rows.last().map(|r| r.id);
        for row in rows {
            if search.matches(row.payload.as_deref(), row.headers.as_ref()) {
                ids.push(row.id);
            }
        }
        match last {
            Some(last) if full => after = last,
            _ => return Ok(ids),
        }
    }
}

/// Where a filter's parameters start in the filtered count, removal and
/// candidate read.
const COUNT_FILTER_FIRST: usize = 4;
const REMOVE_FILTER_FIRST: usize = 6;
const CANDIDATE_FILTER_FIRST: usize = 5;

fn filter_where(selection: &JobSelection, first: usize) -> Result<Where, ActionError> {
    selection
        .filter_where(first)
        .map_err(|e| ActionError::Selection(e.to_string()))
}

/// The statement timeout of a search (the job browser's), in milliseconds.
fn search_timeout_millis(selection: &JobSelection) -> Option<u128> {
    selection
        .searches()
        .then(|| statement_timeout_millis(DEFAULT_SEARCH_TIMEOUT))
}

/// A search stopped by its statement timeout says so, not "query canceled".
fn timed_out_or(selection: &JobSelection, error: ActionError) -> ActionError {
    if selection.searches() {
        error.search_timed_out_or_self(DEFAULT_SEARCH_TIMEOUT)
    } else {
        error
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

/// How long a removal waits, in all, for jobs another transaction holds (a
/// worker recording them, an operator's open transaction) before it stops
/// and reports them as left: workers hold rows for milliseconds.
const WAIT_FOR_HELD: std::time::Duration = std::time::Duration::from_secs(10);
/// A pause before asking again for held jobs.
const HELD_PAUSE: std::time::Duration = std::time::Duration::from_millis(20);
/// Attempts of one batch that a deadlock or serialization failure ends.
const ATTEMPTS: u32 = 5;

/// Remove the selected jobs. `watch` counts the jobs removed after each
/// batch and stops the removal there when asked (a signal, an operator);
/// its total is the confirmed count, when there is one. On a dry run
/// nothing is sent but the count.
///
/// Rows are taken in id order with `SKIP LOCKED`: a job a worker is
/// recording right now is passed over (and asked for again after a pause)
/// instead of waited for, so a removal never waits on a worker while
/// holding rows the worker may need next, and can never deadlock with one.
/// Without a `bound` the removal takes only jobs that exist when it starts.
pub async fn remove(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    bound: Option<Bound>,
    dry_run: bool,
    watch: &Batches,
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
        left: 0,
    };
    if dry_run {
        let counted = count(session, removal, selection, bound).await?;
        if let JobSelection::Ids(wanted) = selection {
            let missing = missing(wanted, &counted.found);
            if !missing.is_empty() {
                return Err(unknown(removal, missing));
            }
            done.ids = counted.found;
        }
        done.count = counted.count;
        return Ok(done);
    }
    if let JobSelection::Ids(wanted) = selection {
        let ids = remove_given(session, removal, selection, &binds, wanted).await?;
        done.count = ids.ids.len() as u64;
        done.batches = 1;
        done.events = ids.events;
        done.ids = ids.ids;
        return Ok(done);
    }
    let bound = match bound {
        Some(bound) => {
            watch.set_total(bound.count);
            bound
        }
        None => Bound {
            newest_id: newest_job(session).await?,
            count: u64::MAX,
        },
    };
    // A key=value search is decided row by row first; the batches then take
    // those ids (those that still match the rest of the filter).
    let chosen = match key_value_search(selection) {
        Some(search) => {
            Some(matching_ids(session, selection, &binds, search, Some(bound.newest_id)).await?)
        }
        None => None,
    };
    let mut waited_since: Option<std::time::Instant> = None;
    let mut offset = 0usize;
    loop {
        let room = bound.count.saturating_sub(done.count);
        if room == 0 {
            return Ok(done);
        }
        let limit = (BATCH as u64).min(room) as i64;
        let ids: Option<Vec<i64>> = match &chosen {
            Some(all) if offset >= all.len() => return Ok(done),
            Some(all) => {
                let end = (offset + limit as usize).min(all.len());
                let part = all[offset..end].to_vec();
                offset = end;
                Some(part)
            }
            None => None,
        };
        let batch = retrying(|| {
            remove_batch(
                session,
                removal,
                selection,
                &binds,
                limit,
                bound.newest_id,
                &ids,
            )
        })
        .await?;
        let n = batch.ids.len() as u64;
        if n > 0 {
            done.batches += 1;
            waited_since = None;
        }
        done.count += n;
        done.events += batch.events;
        watch.add_done(n);
        if watch.stopping() {
            done.interrupted = true;
            return Ok(done);
        }
        if n == limit as u64 || chosen.is_some() {
            continue;
        }
        // A short batch: done, unless jobs were passed over because another
        // transaction held them; ask again for those after a pause.
        let left = count(session, removal, selection, Some(bound)).await?.count;
        let left = left.min(bound.count.saturating_sub(done.count));
        if left == 0 {
            return Ok(done);
        }
        let since = *waited_since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() >= WAIT_FOR_HELD {
            done.left = left;
            return Ok(done);
        }
        tokio::time::sleep(HELD_PAUSE).await;
    }
}

/// The newest job id in the queue now (0 when empty).
async fn newest_job(session: &Session) -> Result<i64, ActionError> {
    session
        .read_one(Statement::NewestJob, &[], "reading the newest job")
        .await
}

/// Whether a failed transaction may simply be run again: a deadlock or a
/// serialization failure rolled it back whole.
pub fn transient(error: &ActionError) -> bool {
    use tokio_postgres::error::SqlState;
    matches!(error, ActionError::Db { source, .. }
        if matches!(source.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::LOCK_NOT_AVAILABLE))
}

/// Run one transaction, again after a short pause when it was rolled back
/// by a deadlock or serialization failure (never half-applied).
async fn retrying<T, F: Future<Output = Result<T, ActionError>>>(
    mut attempt: impl FnMut() -> F,
) -> Result<T, ActionError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(e) if tries < ATTEMPTS && transient(&e) => {
                tracing::warn!("retrying after a transient failure: {e}");
                tokio::time::sleep(HELD_PAUSE * tries).await;
            }
            other => return other,
        }
    }
}

/// Jobs given by id, all or nothing. One of them held by a worker's
/// transaction at this instant is waited for (briefly, then it counts as
/// not found): it is either gone after that transaction or still there.
async fn remove_given(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    binds: &SelectionBinds,
    wanted: &[i64],
) -> Result<Batch, ActionError> {
    let started = std::time::Instant::now();
    loop {
        let result =
            retrying(|| remove_batch(session, removal, selection, binds, -1, i64::MAX, &None))
                .await;
        match result {
            Err(ActionError::UnknownJobs { .. }) if started.elapsed() < WAIT_FOR_HELD => {
                // Missing, or only held right now? Ask without taking locks.
                let found = count(session, removal, selection, None).await?.found;
                if !missing(wanted, &found).is_empty() {
                    return Err(unknown(removal, missing(wanted, &found)));
                }
                tokio::time::sleep(HELD_PAUSE).await;
            }
            other => return other,
        }
    }
}

struct Batch {
    ids: Vec<i64>,
    events: usize,
}

/// One batch in its own transaction: the DELETE with its log rows, and for a
/// cancel the events naming exactly the ids deleted (delivered at commit).
/// Given ids that are not all found roll the batch back. `limit` < 0: no
/// limit (given ids).
async fn remove_batch(
    session: &Session,
    removal: Removal,
    selection: &JobSelection,
    b: &SelectionBinds,
    limit: i64,
    newest_id: i64,
    ids: &Option<Vec<i64>>,
) -> Result<Batch, ActionError> {
    let context = format!("{} jobs", removal.command());
    let filter = filter_where(selection, REMOVE_FILTER_FIRST)?;
    let log_status = removal.log_status();
    let limit = (limit >= 0).then_some(limit);
    let newest = (newest_id < i64::MAX).then_some(newest_id);
    let ids = ids.as_ref().or(b.ids.as_ref());
    let mut params: Vec<&(dyn ToSql + Sync)> =
        vec![&b.statuses, &newest, &ids, &limit, &log_status];
    params.extend(filter.refs());
    let sql = removal
        .statement()
        .render_filtered(&session.names, &filter.sql);
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
            let ids: Vec<i64> = rows::all(&rows).map_err(db_err(&context))?;
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

/// The equivalent command: `pgq cancel|delete|purge|requeue` with the ids
/// or the filter's flags, which every one of them takes.
pub fn command_line(names: &ObjectNames, removal: Removal, selection: &JobSelection) -> String {
    let yes = if selection.is_ids() { "" } else { " --yes" };
    pgq(
        names,
        &format!("{} {}{yes}", removal.command(), selection.arguments()),
    )
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
    let counted = count(session, removal, selection, None).await?;
    let (n, found) = (counted.count, counted.found.clone());
    let jobs = plural(n as usize, "job");
    let which = match selection {
        JobSelection::Ids(_) => format!(" ({})", list(&found)),
        JobSelection::Filter(filter) => format!(" matching the filter {}", filter.describe()),
    };
    let verb = match removal {
        Removal::Cancel => "Cancel",
        Removal::Delete => "Delete",
        Removal::Purge => "Purge",
        Removal::Requeue => "Requeue",
    };
    let mut p = Preview::new(format!("{verb} {jobs}{which}?"), statements, command_line);
    p.parameters = parameters;
    p.nothing_to_do = n == 0;
    if !selection.is_ids() {
        // What is confirmed is a bound: jobs arriving after this count are
        // not taken, nor more than counted.
        p.bound = Some(counted.bound());
    }
    if let JobSelection::Ids(wanted) = selection {
        let missing = missing(wanted, &found);
        if !missing.is_empty() {
            p.warning = Some(unknown(removal, missing).to_string());
            p.nothing_to_do = true;
        }
    }
    if p.warning.is_none() {
        let mut warning: String = match removal {
            Removal::Cancel => {
                "Running jobs are stopped by their workers; none of them will run again.".into()
            }
            Removal::Delete | Removal::Purge => {
                "The jobs are gone for good (their log rows say 'deleted').".into()
            }
            Removal::Requeue => {
                "The jobs run again from their first attempt, as soon as a worker is free.".into()
            }
        };
        if let Some(bound) = p.bound.filter(|b| b.count > 0) {
            warning.push_str(&format!(
                " At most these {} (ids up to {}): jobs that match later are left alone.",
                plural(bound.count as usize, "job"),
                bound.newest_id
            ));
        }
        p.warning = Some(warning);
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
