//! Depth, age and windowed completions per entrypoint (console Stats tab).

use crate::actions::reports::latency;
use crate::actions::reports::stats::{self, QueueStats as Stats, SERIES_BUCKETS, StatsWindow};
use crate::actions::{Act, ActionError, Session, bind, psql};
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct QueueStats {
    pub window: StatsWindow,
    /// Also compute the latency percentiles. They scan the window's log rows
    /// (seconds on a log of millions of rows), so the console asks for them
    /// less often than for the counts.
    pub latency: bool,
}

impl Act for QueueStats {
    type Output = Stats;
    const MUTATES: bool = false;

    /// No pgq command prints these numbers: the console's queries.
    fn sample() -> Self {
        QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let seconds = self.window.duration().as_secs_f64();
        let bucket = seconds / SERIES_BUCKETS as f64;
        let binds = [
            seconds.to_string(),
            bucket.to_string(),
            SERIES_BUCKETS.to_string(),
        ];
        let mut statements = vec![
            stats::depth_sql(names),
            bind(&stats::done_sql(names), &binds),
        ];
        if self.latency {
            statements.push(bind(&latency::percentiles_sql(names), &binds));
        }
        psql(&statements)
    }

    async fn perform(&self, session: &Session, _: bool) -> Result<Stats, ActionError> {
        stats::queue_stats(session, self.window, self.latency).await
    }
}
