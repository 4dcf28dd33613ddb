//! Which jobs a cancel, delete, purge or requeue acts on: given ids, or
//! every job the one job filter ([`JobFilter`], the filter of `pgq jobs` and
//! the Jobs tab) selects. Both forms go through the same statements
//! (`sql/count_jobs.sql`, `sql/remove_jobs.sql`, `sql/requeue_jobs.sql`):
//! the statuses the operation may touch in `$1`, given ids in `$3`, and the
//! filter's composed WHERE clause, so "the jobs matching the filter" means
//! exactly the rows `pgq jobs` lists with the same flags.

use crate::actions::jobs::filter::{self, JobFilter, JobStatus, Where};

#[derive(Debug, Clone, PartialEq)]
pub enum JobSelection {
    /// Exactly these jobs; all of them must be found, or nothing is changed.
    Ids(Vec<i64>),
    /// Every queue job the filter selects (status, entrypoints, priority
    /// range, id, dedupe key, worker, age, search).
    Filter(Box<JobFilter>),
}

/// Why a selection cannot be used; wrong use (exit 2), found before connecting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectionError {
    #[error("no job ids given")]
    NoIds,
    #[error(
        "refusing an empty filter: it would select every job; give job ids, or filter them first (--entrypoint, --status, --search …)"
    )]
    EmptyFilter,
    #[error("status {given} is not one of {allowed} here")]
    Status { given: String, allowed: String },
    #[error("{0}")]
    Filter(filter::FilterError),
}

/// The parameters every selection binds: the statuses (`$1`) and the given
/// ids (`$3`); the filter's own follow the statement's fixed ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionBinds {
    pub statuses: Vec<&'static str>,
    pub ids: Option<Vec<i64>>,
}

impl SelectionBinds {
    /// `$1 statuses = {…}` for a preview.
    pub fn describe_statuses(&self) -> String {
        format!("$1 statuses = {{{}}}", self.statuses.join(","))
    }
}

impl JobSelection {
    /// The bind parameters selecting these jobs among those in `allowed`
    /// statuses (what the operation may touch). The one place a selection
    /// is checked; refuses empty selections.
    pub fn binds(&self, allowed: &[JobStatus]) -> Result<SelectionBinds, SelectionError> {
        let all = || allowed.iter().map(|s| s.label()).collect();
        match self {
            JobSelection::Ids(ids) if ids.is_empty() => Err(SelectionError::NoIds),
            JobSelection::Ids(ids) => Ok(SelectionBinds {
                statuses: all(),
                ids: Some(ids.clone()),
            }),
            JobSelection::Filter(filter) => {
                filter_where(filter, 1)?;
                if filter.is_empty() {
                    return Err(SelectionError::EmptyFilter);
                }
                let statuses = match filter.status {
                    None => all(),
                    Some(s) if allowed.contains(&s) => vec![s.label()],
                    Some(s) => {
                        let names: Vec<&str> = allowed.iter().map(|s| s.label()).collect();
                        return Err(SelectionError::Status {
                            given: s.label().into(),
                            allowed: names.join(", "),
                        });
                    }
                };
                Ok(SelectionBinds {
                    statuses,
                    ids: None,
                })
            }
        }
    }

    /// The filter's WHERE clause (its status left to `$1`) with parameters
    /// from `$first`; `true` for given ids.
    pub fn filter_where(&self, first: usize) -> Result<Where, SelectionError> {
        match self {
            JobSelection::Filter(filter) => filter_where(filter, first),
            JobSelection::Ids(_) => filter_where(&JobFilter::default(), first),
        }
    }

    /// A payload search scans the queue: the count and every batch then run
    /// under the browser's search statement timeout.
    pub fn searches(&self) -> bool {
        matches!(self, JobSelection::Filter(f) if f.search.is_some())
    }

    /// A `key=value` search, decided per row by reading each payload.
    pub fn searches_by_key(&self) -> bool {
        matches!(self, JobSelection::Filter(f) if f.needs_payload_check())
    }

    /// Whether this names jobs one by one (all must exist) rather than by filter.
    pub fn is_ids(&self) -> bool {
        matches!(self, JobSelection::Ids(_))
    }

    /// The command-line arguments that select the same jobs.
    pub fn arguments(&self) -> String {
        match self {
            JobSelection::Ids(ids) => {
                let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
                ids.join(" ")
            }
            JobSelection::Filter(filter) => filter.flags().join(" "),
        }
    }
}

/// The filter's predicate without its status (bound as `$1` instead).
fn filter_where(filter: &JobFilter, first: usize) -> Result<Where, SelectionError> {
    filter.queue_where(first).map_err(SelectionError::Filter)?;
    JobFilter {
        status: None,
        ..filter.clone()
    }
    .queue_where(first)
    .map_err(SelectionError::Filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::jobs::filter::Search;
    use crate::db::statements::Statement;

    fn filter(f: JobFilter) -> JobSelection {
        JobSelection::Filter(Box::new(f))
    }

    fn of(entrypoint: &str, status: Option<JobStatus>) -> JobSelection {
        filter(JobFilter {
            entrypoints: vec![entrypoint.into()],
            status,
            ..JobFilter::default()
        })
    }

    #[test]
    fn empty_selections_are_refused() {
        let allowed = [JobStatus::Queued];
        assert_eq!(
            JobSelection::Ids(vec![]).binds(&allowed),
            Err(SelectionError::NoIds)
        );
        assert_eq!(
            filter(JobFilter::default()).binds(&allowed),
            Err(SelectionError::EmptyFilter)
        );
        for blank in ["", "  ", "\t"] {
            assert_eq!(
                filter(JobFilter {
                    search: Some(Search::parse(blank)),
                    ..JobFilter::default()
                })
                .binds(&allowed),
                Err(SelectionError::Filter(filter::FilterError::BlankSearch)),
                "{blank:?}"
            );
        }
    }

    #[test]
    fn statuses_stay_within_what_the_operation_touches() {
        let allowed = [JobStatus::Queued, JobStatus::Picked];
        assert_eq!(
            of("e", None).binds(&allowed).unwrap().statuses,
            vec!["queued", "picked"]
        );
        assert_eq!(
            of("e", Some(JobStatus::Picked))
                .binds(&allowed)
                .unwrap()
                .statuses,
            vec!["picked"]
        );
        assert!(matches!(
            of("e", Some(JobStatus::Failed)).binds(&allowed),
            Err(SelectionError::Status { .. })
        ));
    }

    #[test]
    fn a_key_value_search_selects_as_the_listing_does() {
        let s = filter(JobFilter {
            search: Some(Search::parse("k=v")),
            ..JobFilter::default()
        });
        assert!(s.binds(&[JobStatus::Queued]).is_ok());
        assert!(s.searches_by_key());
    }

    #[test]
    fn arguments_are_the_filter_flags() {
        let s = filter(JobFilter {
            entrypoints: vec!["a b".into()],
            status: Some(JobStatus::Queued),
            older_than: Some(std::time::Duration::from_secs(90)),
            priority_min: Some(3),
            ..JobFilter::default()
        });
        assert_eq!(
            s.arguments(),
            "--status queued --entrypoint 'a b' --priority-min 3 --older-than 90s"
        );
        assert_eq!(
            s.filter_where(6).unwrap().sql,
            "created < now() - make_interval(secs => $6) AND entrypoint = ANY($7) AND priority >= $8"
        );
        assert_eq!(JobSelection::Ids(vec![3, 4]).arguments(), "3 4");
        assert_eq!(
            JobSelection::Ids(vec![3]).filter_where(6).unwrap().sql,
            "true"
        );
    }

    /// Count, remove and requeue select alike: their WHERE is one text.
    #[test]
    fn count_remove_and_requeue_share_one_predicate() {
        let predicate = |sql: &str| -> Vec<String> {
            sql.lines()
                .map(str::trim)
                .filter(|l| {
                    l.starts_with("WHERE status")
                        || l.starts_with("AND {filter}")
                        || l.starts_with("AND ($")
                })
                .map(String::from)
                .collect()
        };
        let count = predicate(Statement::CountJobs.template());
        assert_eq!(count.len(), 4);
        assert_eq!(count, predicate(Statement::RemoveJobs.template()));
        assert_eq!(count, predicate(Statement::RequeueJobs.template()));
    }
}
