//! `pgq purge`: remove queued jobs matching a filter, in batches, logged `deleted`.
//! Everything but the kind of removal lives in `actions::jobs::removal`.

job_change!(
    PurgeJobs,
    Removal::Purge,
    JobSelection::Filter(Box::new(crate::actions::jobs::filter::JobFilter {
        entrypoints: vec!["nightly".into()],
        older_than: Some(std::time::Duration::from_secs(3600)),
        ..Default::default()
    }))
);
