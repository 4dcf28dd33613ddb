//! A worker hosted by the console (`pgq run`, `pgq demo`): its snapshot
//! and log lines feed the Worker tab, and quitting stops it first.

use super::{App, Effect, Level, Tab};
use crate::output::plural;

impl App {
    pub fn attach_worker(&mut self, worker: crate::console::tabs::worker::WorkerTab) {
        self.tabs.worker = Some(worker);
    }

    pub fn on_worker_snapshot(&mut self, snapshot: crate::worker::Snapshot) -> Vec<Effect> {
        let now = self.now;
        let Some(w) = self.tabs.worker.as_mut() else {
            return Vec::new();
        };
        w.update(snapshot, now);
        if w.owns_worker && w.stopped() {
            return vec![Effect::Quit];
        }
        Vec::new()
    }

    pub fn on_worker_log(&mut self, line: String) {
        if let Some(w) = self.tabs.worker.as_mut() {
            w.push_log(line);
        }
    }

    /// SIGTERM: the same as pressing q.
    pub fn request_quit(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.quit(&mut effects);
        effects
    }

    /// Quit, or for a hosted `pgq run` worker: stop it gracefully first,
    /// at once on the second request; the console exits once it stopped.
    /// Changes running in the background are stopped first, the same way.
    pub(super) fn quit(&mut self, effects: &mut Vec<Effect>) {
        if self.stop_background_first() {
            return;
        }
        let Some(w) = self.tabs.worker.as_mut().filter(|w| w.owns_worker) else {
            effects.push(Effect::Quit);
            return;
        };
        w.stop_requested = w.stop_requested.saturating_add(1);
        let now = w.stop_requested > 1;
        let running = w.snapshot.in_flight.len();
        effects.push(Effect::StopWorker { now });
        self.show_tab(Tab::Worker, effects);
        self.help = false;
        self.confirm = None;
        if now {
            self.flash(
                Level::Info,
                "stopping running jobs now; they return to the queue",
            );
        } else {
            self.flash(
                Level::Info,
                format!(
                    "stopping: {} finish first; q again stops them now",
                    plural(running, "running job")
                ),
            );
        }
    }
}
