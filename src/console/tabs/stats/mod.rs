//! Stats tab state: the latest statistics, window, sort, and the shared
//! list view (filter, selection, scroll).

mod view;

use crate::console::tabs::list::ListControls;
use ratatui::Frame;
use ratatui::layout::Rect;

use super::list::ListView;
use super::{Context, Level, Reply, Routed, Screen, TabView, matches_filter};
use crate::actions::reports::latency;
use crate::actions::reports::stats::{EntrypointStats, QueueStats, StatsWindow, totals};
use crate::actions::{Outcome, kinds};
use crate::console::db::View;
use crate::console::keymap::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Entrypoint,
    Queued,
    Picked,
    Held,
    Oldest,
    Successful,
    Errors,
    FailureRate,
}

impl SortKey {
    const ORDER: [SortKey; 8] = [
        SortKey::Queued,
        SortKey::Oldest,
        SortKey::Picked,
        SortKey::Held,
        SortKey::Successful,
        SortKey::Errors,
        SortKey::FailureRate,
        SortKey::Entrypoint,
    ];

    pub fn next(self) -> SortKey {
        let i = Self::ORDER.iter().position(|k| *k == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Entrypoint => "entrypoint",
            SortKey::Queued => "queued",
            SortKey::Picked => "picked",
            SortKey::Held => "held",
            SortKey::Oldest => "oldest",
            SortKey::Successful => "ok",
            SortKey::Errors => "errors",
            SortKey::FailureRate => "fail%",
        }
    }

    /// Numbers sort largest first (what needs attention on top); names A–Z.
    fn compare(self, a: &EntrypointStats, b: &EntrypointStats) -> std::cmp::Ordering {
        let num = |e: &EntrypointStats| -> f64 {
            match self {
                SortKey::Entrypoint => 0.0,
                SortKey::Queued => e.queued as f64,
                SortKey::Picked => e.picked as f64,
                SortKey::Held => e.held as f64,
                SortKey::Oldest => e.oldest_queued_age_seconds.unwrap_or(-1.0),
                SortKey::Successful => e.done.successful as f64,
                SortKey::Errors => (e.done.exception + e.done.failed) as f64,
                SortKey::FailureRate => e.done.failure_rate().unwrap_or(-1.0),
            }
        };
        num(b)
            .total_cmp(&num(a))
            .then_with(|| a.entrypoint.cmp(&b.entrypoint))
    }
}

#[derive(Debug, Clone)]
pub struct StatsTab {
    pub window: StatsWindow,
    pub data: Option<QueueStats>,
    /// The last refresh failed with this (older data stays on screen).
    pub error: Option<String>,
    pub sort: SortKey,
    /// Entrypoint rows are not tagged or opened: the key type is `()`.
    pub list: ListView<()>,
    pub paused: bool,
    /// When the latency percentiles on screen were computed, and for which
    /// window: they are asked for again only once they are this old (see
    /// [`latency_every`]), not with every refresh of the counts.
    pub latency_at: Option<(StatsWindow, Instant)>,
    /// The percentiles were asked for early once because they lagged the
    /// counts: not again before the regular time (jobs picked before the
    /// window finish in it without a duration, and would lag for ever).
    pub lag_retry_spent: bool,
}

/// Jobs finished in the window, yet no percentiles for all of them.
fn overall_lags(data: &QueueStats) -> bool {
    data.latency.overall.execution.is_none() && data.entrypoints.iter().any(|e| e.done.total() > 0)
}

/// `e` finished jobs in the window, yet has no percentiles.
fn entrypoint_lags(data: &QueueStats, e: &EntrypointStats) -> bool {
    e.done.total() > 0
        && data
            .latency
            .entrypoints
            .get(&e.entrypoint)
            .is_none_or(|l| l.execution.is_none())
}

/// How soon percentiles that lag the counts (see
/// [`StatsTab::latency_lags_counts`]) are asked for again.
pub const LAGGING_LATENCY_EVERY: Duration = Duration::from_secs(3);

/// How old the latency percentiles may get before a refresh asks for them
/// again ([`latency::refresh_every`]).
pub fn latency_every(window: StatsWindow) -> Duration {
    latency::refresh_every(window.duration())
}

impl Default for StatsTab {
    fn default() -> Self {
        StatsTab {
            window: StatsWindow::OneHour,
            data: None,
            error: None,
            sort: SortKey::Queued,
            list: ListView::default(),
            paused: false,
            latency_at: None,
            lag_retry_spent: false,
        }
    }
}

impl StatsTab {
    /// Entrypoints after the filter, in sort order.
    pub fn rows(&self) -> Vec<&EntrypointStats> {
        let Some(data) = &self.data else {
            return Vec::new();
        };
        let mut rows: Vec<&EntrypointStats> = data
            .entrypoints
            .iter()
            .filter(|e| matches_filter(&e.entrypoint, &self.list.filter))
            .collect();
        rows.sort_by(|a, b| self.sort.compare(a, b));
        rows
    }

    /// The counts alone, for other tabs that draw on them (Enqueue's
    /// completion): never the latency statement.
    pub fn counts_view(&self) -> View {
        View::Stats(kinds::QueueStats {
            window: self.window,
            latency: false,
        })
    }

    /// Totals over the rows shown (all of them, or those the filter keeps).
    pub fn totals(&self) -> Option<EntrypointStats> {
        self.data.as_ref()?;
        let mut totals = totals(self.rows());
        if !self.list.filter.is_empty() {
            totals.entrypoint = "total (filtered)".into();
        }
        Some(totals)
    }

    /// Whether the percentiles on screen predate what the counts show: an
    /// entrypoint (or the whole queue) has finished or picked jobs in the
    /// window while the percentiles, computed only every
    /// [`latency_every`], have none for it. Then they are asked for again
    /// soon, and the tab says "computing…" meanwhile rather than "nothing
    /// finished" beside a count.
    pub fn latency_lags_counts(&self) -> bool {
        self.data.as_ref().is_some_and(|data| {
            overall_lags(data) || data.entrypoints.iter().any(|e| entrypoint_lags(data, e))
        })
    }

    /// The same for one entrypoint (`None`: all of them).
    pub fn latency_lags_counts_of(&self, entrypoint: Option<&str>) -> bool {
        let Some(data) = &self.data else {
            return false;
        };
        match entrypoint {
            None => overall_lags(data),
            Some(name) => data
                .entrypoints
                .iter()
                .any(|e| e.entrypoint == name && entrypoint_lags(data, e)),
        }
    }

    pub fn accept(&mut self, mut stats: QueueStats) {
        if stats.latency_included {
            // Asked for before its regular time: the early retry for
            // percentiles that lagged the counts.
            self.lag_retry_spent = self.latency_at.is_some_and(|(window, at)| {
                window == stats.window && at.elapsed() < latency_every(window)
            });
            self.latency_at = Some((stats.window, Instant::now()));
        } else if let Some(old) = self.data.take().filter(|old| old.window == stats.window) {
            stats.latency = old.latency;
        }
        self.data = Some(stats);
        self.error = None;
        let len = self.rows().len();
        self.list.clamp(len);
    }
}

impl TabView for StatsTab {
    fn title(&self) -> &'static str {
        "Stats"
    }

    fn list(&self) -> Option<&dyn ListControls> {
        Some(&self.list)
    }

    fn list_mut(&mut self) -> Option<&mut dyn ListControls> {
        Some(&mut self.list)
    }

    fn view(&self) -> Option<View> {
        let due = match self.latency_at {
            Some((window, at)) => {
                window != self.window
                    || at.elapsed() >= latency_every(window)
                    // The cheap tests first: this runs on every loop turn.
                    || (!self.lag_retry_spent
                        && at.elapsed() >= LAGGING_LATENCY_EVERY
                        && self.latency_lags_counts())
            }
            None => true,
        };
        Some(View::Stats(kinds::QueueStats {
            window: self.window,
            latency: due,
        }))
    }

    fn paused(&self) -> bool {
        self.paused
    }

    fn entrypoints(&self) -> Vec<String> {
        self.data
            .iter()
            .flat_map(|d| d.entrypoints.iter().map(|e| e.entrypoint.clone()))
            .collect()
    }

    fn entrypoints_view(&self) -> Option<View> {
        Some(self.counts_view())
    }

    fn on_refreshed(
        &mut self,
        view: &View,
        result: Result<Outcome, String>,
        _cx: &Context,
    ) -> Routed {
        match (view, result) {
            (_, Ok(Outcome::QueueStats(stats))) => self.accept(stats),
            (View::Stats(_), Err(e)) => {
                self.error = Some(e.clone());
                return Routed::Taken(vec![Reply::Flash(
                    Level::Error,
                    format!("refresh failed: {e}"),
                )]);
            }
            (_, other) => return Routed::Passed(other),
        }
        Routed::Taken(Vec::new())
    }

    fn on_command(&mut self, command: Command, cx: &Context) -> Vec<Reply> {
        match command {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => {
                let len = self.rows().len();
                self.list.navigate(len, view::page_height(cx.body), command);
            }
            Command::Pause => {
                self.paused = !self.paused;
                if !self.paused {
                    return self.view().map(Reply::Refresh).into_iter().collect();
                }
            }
            Command::Window => {
                self.window = self.window.next();
                return self.view().map(Reply::Refresh).into_iter().collect();
            }
            Command::Sort => self.sort = self.sort.next(),
            // Drill down: the Jobs tab filtered by the selected entrypoint.
            Command::Open => {
                if let Some(row) = self.rows().get(self.list.selected) {
                    let filter = crate::actions::jobs::filter::JobFilter {
                        entrypoints: vec![row.entrypoint.clone()],
                        ..Default::default()
                    };
                    return vec![Reply::ShowJobs(filter)];
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame, area: Rect, screen: &Screen) {
        view::draw(frame, area, screen, self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::reports::latency::LatencyReport;

    fn answer(window: StatsWindow, latency: Option<&str>) -> QueueStats {
        QueueStats {
            window,
            as_of: chrono::Utc::now(),
            entrypoints: Vec::new(),
            series: Vec::new(),
            latency: LatencyReport {
                error: latency.map(str::to_string),
                ..Default::default()
            },
            latency_included: latency.is_some(),
        }
    }

    fn asks_latency(tab: &StatsTab) -> bool {
        match tab.view() {
            Some(View::Stats(q)) => q.latency,
            other => panic!("not a Stats view: {other:?}"),
        }
    }

    #[test]
    fn latency_is_asked_once_per_interval_and_window_and_kept_between() {
        let mut tab = StatsTab::default();
        assert!(asks_latency(&tab), "the first refresh computes it");
        tab.accept(answer(StatsWindow::OneHour, Some("first")));
        assert!(!asks_latency(&tab), "counts refresh without it");
        // A refresh of the counts alone keeps the percentiles on screen.
        tab.accept(answer(StatsWindow::OneHour, None));
        let kept = tab.data.as_ref().unwrap().latency.error.as_deref();
        assert_eq!(kept, Some("first"));
        // Old enough: asked again.
        tab.latency_at = Some((
            StatsWindow::OneHour,
            Instant::now() - latency_every(StatsWindow::OneHour),
        ));
        assert!(asks_latency(&tab));
        // Another window: asked at once, and the old window's are not shown.
        tab.latency_at = Some((StatsWindow::OneHour, Instant::now()));
        tab.window = StatsWindow::FiveMinutes;
        assert!(asks_latency(&tab));
        tab.accept(answer(StatsWindow::FiveMinutes, None));
        assert_eq!(tab.data.as_ref().unwrap().latency.error, None);
        // Other tabs' use of the counts never runs the statement.
        assert!(matches!(tab.counts_view(), View::Stats(q) if !q.latency));
    }

    /// Seen in the demo: the percentiles, computed every 30 s, came from
    /// before generate_report's first completion, and the tab said "nothing
    /// finished" beside OK/5m 10 for half a minute.
    #[test]
    fn percentiles_older_than_the_counts_are_asked_again_soon_and_once() {
        use crate::actions::reports::stats::{Completions, EntrypointStats};
        let finished = |n: i64| QueueStats {
            entrypoints: vec![EntrypointStats {
                entrypoint: "generate_report".into(),
                done: Completions {
                    successful: n,
                    ..Default::default()
                },
                ..Default::default()
            }],
            ..answer(StatsWindow::FiveMinutes, None)
        };
        let mut tab = StatsTab {
            window: StatsWindow::FiveMinutes,
            ..Default::default()
        };
        // The first percentiles: nothing had finished yet.
        tab.accept(QueueStats {
            latency_included: true,
            ..finished(0)
        });
        assert!(!tab.latency_lags_counts());
        // The counts move on: 10 finished, no percentiles for them.
        tab.accept(finished(10));
        assert!(tab.latency_lags_counts());
        assert!(tab.latency_lags_counts_of(Some("generate_report")));
        assert!(tab.latency_lags_counts_of(None));
        assert!(!asks_latency(&tab), "not at once: a few seconds first");
        tab.latency_at = Some((
            StatsWindow::FiveMinutes,
            Instant::now() - LAGGING_LATENCY_EVERY,
        ));
        assert!(asks_latency(&tab), "asked again well before 30 s");
        // The retry still finds none (jobs picked before the window): not
        // asked again until the regular time.
        tab.accept(QueueStats {
            latency_included: true,
            ..finished(10)
        });
        assert!(tab.lag_retry_spent);
        tab.latency_at = Some((
            StatsWindow::FiveMinutes,
            Instant::now() - LAGGING_LATENCY_EVERY,
        ));
        assert!(!asks_latency(&tab));
        tab.latency_at = Some((
            StatsWindow::FiveMinutes,
            Instant::now() - latency_every(StatsWindow::FiveMinutes),
        ));
        assert!(asks_latency(&tab));
    }
}
