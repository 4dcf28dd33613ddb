//! `pgq schedules --remove`: delete schedules by id or entrypoint, all or nothing.

use crate::actions::preview::{Preview, list};
use crate::actions::schedules::{self, Removal, ScheduleRef, remove_sql, split_refs};
use crate::actions::{Act, ActionError, Session, pgq, run};
use crate::output::plural;
use crate::settings::names::ObjectNames;

#[derive(Debug, Clone, PartialEq)]
pub struct RemoveSchedules {
    pub refs: Vec<ScheduleRef>,
}

impl Act for RemoveSchedules {
    type Output = Removal;
    const MUTATES: bool = true;
    const DRY_RUN: bool = true;

    fn sample() -> Self {
        RemoveSchedules {
            refs: vec![ScheduleRef::Entrypoint("nightly".into())],
        }
    }

    fn command_line(&self, names: &ObjectNames) -> String {
        let args: Vec<String> = self
            .refs
            .iter()
            .map(|r| {
                format!(
                    "--remove {}",
                    crate::actions::jobs::enqueue::shell_quote(&r.to_string())
                )
            })
            .collect();
        pgq(names, &format!("schedules {}", args.join(" ")))
    }

    fn outcome_text(&self, out: &Removal) -> String {
        let mut text = format!(
            "{} {}",
            if out.applied {
                "removed"
            } else {
                "nothing removed, would remove"
            },
            crate::output::plural(out.removed.len(), "schedule")
        );
        if !out.unmatched.is_empty() {
            text.push_str(&format!("; {} matched nothing", out.unmatched.len()));
        }
        text
    }

    async fn perform(&self, session: &Session, dry_run: bool) -> Result<Removal, ActionError> {
        schedules::remove(session, &self.refs, dry_run).await
    }

    async fn preview(&self, session: &Session) -> Result<Preview, ActionError> {
        let Removal { removed, .. } = run(session, self, true).await?;
        let question = match self.refs.as_slice() {
            [ScheduleRef::Entrypoint(name)] => format!(
                "Remove {} of entrypoint {name}?",
                plural(removed.len(), "schedule")
            ),
            _ => {
                let what: Vec<String> = removed
                    .iter()
                    .map(|s| format!("{} {} ({})", s.id, s.entrypoint, s.expression))
                    .collect();
                format!(
                    "Remove {}: {}?",
                    plural(removed.len(), "schedule"),
                    list(&what)
                )
            }
        };
        let (ids, names) = split_refs(&self.refs);
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        let mut p = Preview::new(
            question,
            vec!["BEGIN".into(), remove_sql(session), "COMMIT".into()],
            self.command_line(&session.names),
        );
        p.parameters = vec![
            format!("$1 = {{{}}}", ids.join(",")),
            format!("$2 = {{{}}}", names.join(",")),
        ];
        p.nothing_to_do = removed.is_empty();
        p.warning = Some(
            "A scheduler that still registers these expressions inserts them again when it restarts."
                .into(),
        );
        Ok(p)
    }
}
