//! `pgq cancel`: stop queued or picked jobs, as Python's `mark_job_as_cancelled`.
//! Everything but the kind of removal lives in `actions::jobs::removal`.

job_change!(CancelJobs, Removal::Cancel, JobSelection::Ids(vec![1, 2]));
