//! `pgq delete`: remove held (failed) jobs, logged `deleted`.
//! Everything but the kind of removal lives in `actions::jobs::removal`.

job_change!(DeleteJobs, Removal::Delete, JobSelection::Ids(vec![1, 2]));
