//! Durability tab state: the tables' persistence and the chosen level's
//! dry-run preview; retention (oldest rows, and pruning older ones).

mod view;

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::{Context, Done, Reply, Routed, Screen, TabView};
use crate::actions::preview::Preview;
use crate::actions::retention::prune::{DEFAULT_BATCH_SIZE, Retention};
use crate::actions::schema::tables::TablesReport;
use crate::actions::{Action, Outcome, kinds};
use crate::console::db::View;
use crate::console::keymap::Command;
use crate::settings::durability::Durability;

/// How long the switch waits for its ACCESS EXCLUSIVE locks.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// The ages the prune key offers, cycled by the retention key.
pub const PRUNE_AGES: [Duration; 4] = [
    Duration::from_secs(86_400),
    Duration::from_secs(7 * 86_400),
    Duration::from_secs(30 * 86_400),
    Duration::from_secs(90 * 86_400),
];
/// 30 days until the user picks another age.
const DEFAULT_PRUNE_AGE: usize = 2;

#[derive(Debug, Clone, Default)]
pub struct DurabilityTab {
    pub report: Option<TablesReport>,
    /// Index into `Durability::ALL`.
    pub selected: usize,
    /// Dry run of the selected level against the live tables.
    pub preview: Option<(Durability, Result<Preview, String>)>,
    /// The last switch this session made, and how long it took.
    pub last_change: Option<(Durability, Duration)>,
    /// Steps taken through [`PRUNE_AGES`] from the default.
    pub prune_age_steps: usize,
}

impl DurabilityTab {
    /// The switch to the selected level, as applied and as dry-run.
    fn switch(&self) -> kinds::SetDurability {
        kinds::SetDurability {
            level: self.level(),
            lock_timeout: Some(LOCK_TIMEOUT),
        }
    }

    pub fn level(&self) -> Durability {
        Durability::ALL[self.selected.min(Durability::ALL.len() - 1)]
    }

    /// Move the selection; true when it changed (the preview is then stale).
    pub fn navigate(&mut self, command: Command) -> bool {
        let before = self.selected;
        self.selected = super::move_cursor(self.selected, Durability::ALL.len(), 3, command);
        before != self.selected
    }

    /// Start at the installation's level once it is known.
    pub fn accept(&mut self, report: TablesReport) {
        if self.report.is_none()
            && let Some(level) = report.level
        {
            self.selected = Durability::ALL
                .iter()
                .position(|l| *l == level)
                .unwrap_or(0);
        }
        self.report = Some(report);
    }

    /// Log and statistics rows older than this are what the prune key deletes.
    pub fn prune_age(&self) -> Duration {
        PRUNE_AGES[(DEFAULT_PRUNE_AGE + self.prune_age_steps) % PRUNE_AGES.len()]
    }

    /// The prune the prune key proposes: both tables, every entrypoint.
    pub fn prune(&self) -> kinds::Prune {
        let age = self.prune_age();
        kinds::Prune::new(Retention {
            log_older_than: Some(age),
            statistics_older_than: Some(age),
            entrypoints: Vec::new(),
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    pub fn preview_for(&self, level: Durability) -> Option<&Result<Preview, String>> {
        self.preview
            .as_ref()
            .filter(|(l, _)| *l == level)
            .map(|(_, p)| p)
    }
}

impl TabView for DurabilityTab {
    fn title(&self) -> &'static str {
        "Durability"
    }

    fn short_title(&self) -> &'static str {
        "Durab"
    }

    fn view(&self) -> Option<View> {
        Some(View::Tables)
    }

    fn on_command(&mut self, command: Command, _cx: &Context) -> Vec<Reply> {
        match command {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => {
                // A new level makes the shown dry run stale.
                let moved = self.navigate(command);
                return moved
                    .then(|| Reply::Preview(self.switch().into()))
                    .into_iter()
                    .collect();
            }
            Command::Retention => {
                self.prune_age_steps = (self.prune_age_steps + 1) % PRUNE_AGES.len();
            }
            Command::Prune => return vec![Reply::Propose(self.prune().into())],
            Command::Apply => return vec![Reply::Propose(self.switch().into())],
            _ => {}
        }
        Vec::new()
    }

    fn on_refreshed(
        &mut self,
        _view: &View,
        result: Result<Outcome, String>,
        _cx: &Context,
    ) -> Routed {
        match result {
            Ok(Outcome::Tables(report)) => {
                self.accept(report);
                // The dry run depends on the live tables: recompute it.
                Routed::Taken(vec![Reply::Preview(self.switch().into())])
            }
            other => Routed::Passed(other),
        }
    }

    fn on_done(&mut self, done: &Done) -> Vec<Reply> {
        if let Ok(Outcome::DurabilitySet(set)) = done.result {
            self.last_change = Some((set.level, done.elapsed));
        }
        Vec::new()
    }

    fn on_previewed(&mut self, action: &Action, result: Result<Preview, String>) {
        if let Action::SetDurability(switch) = action {
            self.preview = Some((switch.level, result));
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw(frame, area, screen, self);
    }
}

/// What each level means, for the explanation pane.
pub fn meaning(level: Durability) -> &'static str {
    match level {
        Durability::Volatile => {
            "Every table UNLOGGED: fastest, no WAL. A crash or failover empties all of them, \
             and nothing reaches replicas."
        }
        Durability::Balanced => {
            "Queue and schedules LOGGED (jobs survive a crash and replicate); log and \
             statistics UNLOGGED (history is lost on a crash, not replicated)."
        }
        Durability::Durable => {
            "Every table LOGGED: crash-safe and replicated; every write goes through the WAL."
        }
    }
}
