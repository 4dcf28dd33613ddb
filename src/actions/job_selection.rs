//! Which jobs a cancel, delete or purge acts on: given ids, or every job
//! that matches a filter. One type and one function turning it into the
//! bind parameters of the one selection predicate (spelled identically in
//! `sql/remove_jobs.sql` and `sql/count_jobs.sql`, checked by a test), so a
//! caller with its own filter (the console's job browser) selects jobs the
//! same way the scripted commands do.
//!
//! A third form, [`JobSelection::Filter`], is the job browser's own
//! [`JobFilter`]: its predicate is composed by [`JobFilter::queue_where`]
//! into the `{filter}` of `sql/remove_jobs_filtered.sql` and
//! `sql/count_jobs_filtered.sql`, so "the jobs matching the Jobs tab's
//! filter" means exactly the rows that tab lists.

use std::time::Duration;

use crate::actions::job_filter::{self, JobFilter, Where};
use crate::actions::jobs::shell_quote;

/// A queue-table status a job can be selected by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum JobStatus {
    Queued,
    Picked,
    /// Held by `on_failure = "hold"`.
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Picked => "picked",
            JobStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum JobSelection {
    /// Exactly these jobs; all of them must be found, or nothing is changed.
    Ids(Vec<i64>),
    /// Every job matching all the given conditions.
    Matching {
        entrypoints: Vec<String>,
        /// Empty: every status the operation acts on.
        statuses: Vec<JobStatus>,
        /// Only jobs created longer ago than this.
        older_than: Option<Duration>,
    },
    /// Every queue job the job browser's filter lists (status, entrypoints,
    /// priority range, id, dedupe key, worker, free-text search).
    Filter(JobFilter),
}

/// Why a selection cannot be used; wrong use (exit 2), found before connecting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectionError {
    #[error("no job ids given")]
    NoIds,
    #[error(
        "refusing an empty filter: it would select every job; name an entrypoint (--entrypoint) or job ids"
    )]
    EmptyFilter,
    #[error("--status {given} is not one of {allowed} here")]
    Status { given: String, allowed: String },
    #[error("refusing an empty filter: it would select every job; filter the jobs first")]
    EmptyJobsFilter,
    #[error("status {given} is not one of {allowed} here; change the filter's status")]
    FilterStatus { given: String, allowed: String },
    #[error("{0}")]
    Filter(job_filter::FilterError),
}

/// The predicate's parameters, `$1`–`$4` of both statements.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectionBinds {
    pub statuses: Vec<&'static str>,
    pub ids: Option<Vec<i64>>,
    pub entrypoints: Option<Vec<String>>,
    pub older_than_secs: Option<f64>,
}

impl SelectionBinds {
    /// `$n = …` lines for a preview, in parameter order.
    pub fn describe(&self) -> Vec<String> {
        let array = |items: Vec<String>| format!("{{{}}}", items.join(","));
        let or_null = |v: Option<String>| v.unwrap_or_else(|| "NULL".into());
        vec![
            format!(
                "$1 statuses = {}",
                array(self.statuses.iter().map(|s| s.to_string()).collect())
            ),
            format!(
                "$2 ids = {}",
                or_null(
                    self.ids
                        .as_ref()
                        .map(|ids| format!("{{{}}}", super::preview::list(ids)))
                )
            ),
            format!(
                "$3 entrypoints = {}",
                or_null(self.entrypoints.as_ref().map(|e| array(e.clone())))
            ),
            format!(
                "$4 older_than_seconds = {}",
                or_null(self.older_than_secs.map(|s| s.to_string()))
            ),
        ]
    }
}

impl JobSelection {
    /// The bind parameters selecting these jobs among those in `allowed`
    /// statuses (what the operation may touch). The one place a selection
    /// becomes SQL input; refuses empty selections.
    pub fn binds(&self, allowed: &[JobStatus]) -> Result<SelectionBinds, SelectionError> {
        let all = || allowed.iter().map(|s| s.as_str()).collect();
        match self {
            JobSelection::Ids(ids) if ids.is_empty() => Err(SelectionError::NoIds),
            JobSelection::Ids(ids) => Ok(SelectionBinds {
                statuses: all(),
                ids: Some(ids.clone()),
                entrypoints: None,
                older_than_secs: None,
            }),
            JobSelection::Matching {
                entrypoints,
                statuses,
                older_than,
            } => {
                if entrypoints.is_empty() && older_than.is_none() {
                    return Err(SelectionError::EmptyFilter);
                }
                if let Some(s) = statuses.iter().find(|s| !allowed.contains(s)) {
                    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                    return Err(SelectionError::Status {
                        given: s.as_str().into(),
                        allowed: names.join(", "),
                    });
                }
                Ok(SelectionBinds {
                    statuses: if statuses.is_empty() {
                        all()
                    } else {
                        statuses.iter().map(|s| s.as_str()).collect()
                    },
                    ids: None,
                    entrypoints: (!entrypoints.is_empty()).then(|| entrypoints.clone()),
                    older_than_secs: older_than.map(|d| d.as_secs_f64()),
                })
            }
            // The statuses go in `$1` like the other forms'; the rest of the
            // filter is composed by `filter_where`.
            JobSelection::Filter(filter) => {
                filter_where(filter, 1)?;
                if filter.is_empty() {
                    return Err(SelectionError::EmptyJobsFilter);
                }
                let statuses = match filter.status {
                    None => all(),
                    Some(s) => match allowed.iter().find(|a| a.as_str() == s.label()) {
                        Some(a) => vec![a.as_str()],
                        None => {
                            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                            return Err(SelectionError::FilterStatus {
                                given: s.label().into(),
                                allowed: names.join(", "),
                            });
                        }
                    },
                };
                Ok(SelectionBinds {
                    statuses,
                    ids: None,
                    entrypoints: None,
                    older_than_secs: None,
                })
            }
        }
    }

    /// For a [`JobSelection::Filter`], the filter's WHERE clause (its status
    /// left to `$1`) with parameters from `$first`; `None` for the fixed forms.
    pub fn filter_where(&self, first: usize) -> Result<Option<Where>, SelectionError> {
        match self {
            JobSelection::Filter(filter) => filter_where(filter, first).map(Some),
            _ => Ok(None),
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
            JobSelection::Matching {
                entrypoints,
                statuses,
                older_than,
            } => {
                let mut args: Vec<String> = entrypoints
                    .iter()
                    .map(|e| format!("--entrypoint {}", shell_quote(e)))
                    .collect();
                args.extend(statuses.iter().map(|s| format!("--status {}", s.as_str())));
                if let Some(d) = older_than {
                    args.push(format!("--older-than {}s", d.as_secs_f64()));
                }
                args.join(" ")
            }
            JobSelection::Filter(filter) => filter.describe(),
        }
    }
}

/// The filter's predicate without its status (bound as `$1` instead).
fn filter_where(filter: &JobFilter, first: usize) -> Result<Where, SelectionError> {
    let rest = JobFilter {
        status: None,
        ..filter.clone()
    };
    filter.queue_where(first).map_err(SelectionError::Filter)?;
    rest.queue_where(first).map_err(SelectionError::Filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::job_filter::Search;
    use crate::db::statements::Statement;

    fn matching(entrypoints: &[&str], statuses: Vec<JobStatus>) -> JobSelection {
        JobSelection::Matching {
            entrypoints: entrypoints.iter().map(|e| e.to_string()).collect(),
            statuses,
            older_than: None,
        }
    }

    #[test]
    fn empty_selections_are_refused() {
        let allowed = [JobStatus::Queued];
        assert_eq!(
            JobSelection::Ids(vec![]).binds(&allowed),
            Err(SelectionError::NoIds)
        );
        assert_eq!(
            matching(&[], vec![JobStatus::Queued]).binds(&allowed),
            Err(SelectionError::EmptyFilter)
        );
    }

    #[test]
    fn statuses_stay_within_what_the_operation_touches() {
        let allowed = [JobStatus::Queued, JobStatus::Picked];
        let b = matching(&["e"], vec![]).binds(&allowed).unwrap();
        assert_eq!(b.statuses, vec!["queued", "picked"]);
        let b = matching(&["e"], vec![JobStatus::Picked])
            .binds(&allowed)
            .unwrap();
        assert_eq!(b.statuses, vec!["picked"]);
        assert!(matches!(
            matching(&["e"], vec![JobStatus::Failed]).binds(&allowed),
            Err(SelectionError::Status { .. })
        ));
    }

    #[test]
    fn arguments_round_trip_the_filter() {
        let s = JobSelection::Matching {
            entrypoints: vec!["a b".into()],
            statuses: vec![JobStatus::Queued],
            older_than: Some(Duration::from_secs(90)),
        };
        assert_eq!(
            s.arguments(),
            "--entrypoint 'a b' --status queued --older-than 90s"
        );
        assert_eq!(JobSelection::Ids(vec![3, 4]).arguments(), "3 4");
    }

    #[test]
    fn a_jobs_filter_is_checked_before_it_selects() {
        use crate::actions::job_filter::JobStatus as Listed;
        let allowed = [JobStatus::Queued];
        let filter = |f: JobFilter| JobSelection::Filter(f);
        assert_eq!(
            filter(JobFilter::default()).binds(&allowed),
            Err(SelectionError::EmptyJobsFilter)
        );
        assert!(
            filter(JobFilter {
                search: Some(Search::parse("k=v")),
                ..JobFilter::default()
            })
            .binds(&allowed)
            .is_ok(),
            "a key=value search selects as `pgq jobs` lists"
        );
        for blank in ["", "  ", "\t"] {
            assert_eq!(
                filter(JobFilter {
                    search: Some(Search::parse(blank)),
                    ..JobFilter::default()
                })
                .binds(&allowed),
                Err(SelectionError::Filter(job_filter::FilterError::BlankSearch)),
                "{blank:?}"
            );
        }
        assert!(matches!(
            filter(JobFilter {
                status: Some(Listed::Failed),
                ..JobFilter::default()
            })
            .binds(&allowed),
            Err(SelectionError::FilterStatus { .. })
        ));
        // The status goes in $1; the rest of the filter is composed after it.
        let picked = filter(JobFilter {
            status: Some(Listed::Queued),
            priority_min: Some(3),
            ..JobFilter::default()
        });
        assert_eq!(picked.binds(&allowed).unwrap().statuses, vec!["queued"]);
        assert_eq!(
            picked.filter_where(4).unwrap().unwrap().sql,
            "priority >= $4"
        );
        assert_eq!(picked.arguments(), "status:queued prio:3..");
    }

    /// The filtered statements select like the fixed ones: `$1` statuses
    /// and the composed filter, the same text in both.
    #[test]
    fn filtered_count_and_remove_share_one_predicate() {
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
        let count = predicate(Statement::CountJobsFiltered.template());
        assert_eq!(count.len(), 4);
        assert_eq!(count, predicate(Statement::RemoveJobsFiltered.template()));
    }

    /// Both statements must select the same jobs: their WHERE is one text.
    #[test]
    fn count_and_remove_share_one_predicate() {
        let predicate = |sql: &str| -> Vec<String> {
            sql.lines()
                .map(str::trim)
                .filter(|l| l.starts_with("WHERE status") || l.starts_with("AND ($"))
                .map(String::from)
                .collect()
        };
        let count = predicate(Statement::CountJobs.template());
        assert_eq!(count.len(), 5);
        assert_eq!(count, predicate(Statement::RemoveJobs.template()));
    }
}
