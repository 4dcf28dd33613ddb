//! The one list of the console's tabs. Each line names a tab's id, the
//! field that holds it, its type and how it starts, and its facts: the
//! `--tab` value and `tab_NAME` binding, the default key, the key's help,
//! the title of its key scope, and whether it is there only while the
//! console hosts a worker.
//!
//! The list is handed to a generator (`with_tabs!(generator)`), so each
//! place that needs it makes its part from the same lines: `tabs::id`
//! the [`Tab`](super::id::Tab) enum and its facts, `keymap` the tab keys,
//! `tabs::set` the struct holding every tab. Adding a tab is its folder
//! plus one line here (and its own key specs in the keymap).
//!
//! This file names no module, so whatever includes the list imports
//! nothing it does not use itself.

macro_rules! with_tabs {
    ($generate:ident) => {
        $generate! {
            // Id        field       type                    start                                    --tab         key  key help                      scope title      hosted
            Stats      stats:      stats::StatsTab         = |_o| Default::default(),                "stats",      "1", "Stats tab",                  "Stats tab",     false;
            Jobs       jobs:       jobs::JobsTab           = |_o| Default::default(),                "jobs",       "2", "Jobs tab",                   "Jobs tab",      false;
            Events     events:     events::EventsTab       = |o| events::EventsTab::new(o.events_buffer), "events", "3", "Events tab",                 "Events tab",    false;
            Schedules  schedules:  schedules::SchedulesTab = |_o| Default::default(),                "schedules",  "4", "Schedules tab",              "Schedules tab", false;
            Durability durability: durability::DurabilityTab = |_o| Default::default(),              "durability", "5", "Durability tab",             "Durability tab", false;
            Enqueue    enqueue:    enqueue::EnqueueForm    = |_o| Default::default(),                "enqueue",    "6", "Enqueue tab",                "Enqueue tab",   false;
            Held       held:       held::HeldTab           = |_o| Default::default(),                "held",       "7", "Held jobs tab",              "Held tab",      false;
            Workers    workers:    workers::WorkersTab     = |_o| Default::default(),                "workers",    "8", "Workers tab",                "Workers tab",   false;
            /// Only when the console hosts a worker (`pgq run`, `pgq demo`).
            Worker     worker:     Option<worker::WorkerTab> = |_o| None,                            "worker",     "9", "Worker tab (pgq run, demo)", "Worker tab",    true;
        }
    };
}

pub(crate) use with_tabs;
