//! `pgq prune`: delete old log and statistics rows in batches, never log rows
//! that are not aggregated into statistics yet.

use std::time::Duration;

use crate::actions::jobs::enqueue::shell_quote;
use crate::actions::preview::Preview;
use crate::actions::retention::prune::{
    self, Control, DEFAULT_BATCH_SIZE, Pruned, Retention, age_text,
};
use crate::actions::{Act, ActionError, Session, pgq};
use crate::output::plural;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct Prune {
    pub retention: Retention,
    /// Progress and stop requests (the command's progress bar and SIGINT).
    pub control: Control,
}

impl Prune {
    pub fn new(retention: Retention) -> Prune {
        Prune {
            retention,
            control: Control::default(),
        }
    }
}

impl Act for Prune {
    type Output = Pruned;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        Prune::new(Retention {
            log_older_than: Some(Duration::from_secs(30 * 86_400)),
            statistics_older_than: Some(Duration::from_secs(90 * 86_400)),
            entrypoints: vec!["seeded".into()],
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let r = &self.retention;
        let mut line = String::from("prune");
        if let Some(age) = r.log_older_than {
            line.push_str(&format!(" --log-older-than {}", age_text(age)));
        }
        if let Some(age) = r.statistics_older_than {
            line.push_str(&format!(" --statistics-older-than {}", age_text(age)));
        }
        for e in &r.entrypoints {
            line.push_str(&format!(" --entrypoint {}", shell_quote(e)));
        }
        if r.batch_size != DEFAULT_BATCH_SIZE {
            line.push_str(&format!(" --batch-size {}", r.batch_size));
        }
        pgq(names, &line)
    }

    const RUNS_ALONE: bool = true;

    fn sentence(p: &Pruned) -> Option<String> {
        use crate::output::plural;
        let table = |t: &Option<crate::actions::retention::prune::TablePrune>| {
            t.as_ref().map_or(0, |t| t.deleted)
        };
        let mut text = format!(
            "deleted {} and {} in {}",
            plural(table(&p.log) as usize, "log row"),
            plural(table(&p.statistics) as usize, "statistics row"),
            plural(p.batches() as usize, "batch")
        );
        if p.held_back() > 0 {
            text.push_str(&format!(
                "; kept {} not aggregated yet",
                plural(p.held_back() as usize, "old log row")
            ));
        }
        Some(text)
    }

    fn outcome_text(&self, out: &Pruned) -> String {
        format!(
            "deleted {} and {} in {}{}",
            crate::output::plural(
                out.log.as_ref().map_or(0, |t| t.deleted) as usize,
                "log row"
            ),
            crate::output::plural(
                out.statistics.as_ref().map_or(0, |t| t.deleted) as usize,
                "statistics row"
            ),
            crate::output::plural(out.batches() as usize, "batch"),
            if out.interrupted {
                "; interrupted, the rest is untouched"
            } else {
                ""
            }
        )
    }

    /// Batch after batch for as long as old rows remain.
    fn long_running(&self) -> bool {
        true
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Pruned, ActionError> {
        prune::prune(session, &self.retention, &self.control, dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        // The dry run counts what qualifies; it sends no DELETE.
        let planned = prune::prune(session, &self.retention, &self.control, true).await?;
        let mut parts = Vec::new();
        if let Some(t) = &planned.log {
            parts.push(format!(
                "{} older than {}",
                plural(t.eligible as usize, "log row"),
                t.cutoff.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        if let Some(t) = &planned.statistics {
            parts.push(format!(
                "{} older than {}",
                plural(t.eligible as usize, "statistics row"),
                t.cutoff.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        let mut p = Preview::new(
            format!("Delete {}?", parts.join(" and ")),
            planned.statements.clone(),
            self.command_line(&session.names),
        );
        p.parameters = vec![
            "$1 = the cut-off above".into(),
            format!(
                "$2 = {}",
                if self.retention.entrypoints.is_empty() {
                    "NULL (every entrypoint)".to_string()
                } else {
                    format!("{{{}}}", self.retention.entrypoints.join(", "))
                }
            ),
            format!("$3 = {} (rows per batch)", self.retention.batch_size),
            "$4 = where the previous batch ended".into(),
        ];
        p.nothing_to_do = planned.eligible() == 0;
        let mut warning = format!(
            "Deleted in batches of {}, each its own transaction; this cannot be undone.",
            self.retention.batch_size
        );
        if planned.held_back() > 0 {
            warning.push_str(&format!(
                " Kept: {} not aggregated into statistics yet.",
                plural(planned.held_back() as usize, "old log row")
            ));
        }
        p.warning = Some(warning);
        Ok(p)
    }
}
