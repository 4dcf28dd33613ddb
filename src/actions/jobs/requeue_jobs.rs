//! `pgq requeue` by filter: held (failed) jobs back to the queue, in batches, logged `queued`.
//! Everything but the kind of change lives in `actions::jobs::removal`.

job_change!(
    RequeueJobs,
    Removal::Requeue,
    JobSelection::Filter(Box::new(crate::actions::jobs::filter::JobFilter {
        entrypoints: vec!["nightly".into()],
        ..Default::default()
    }))
);
