//! What a mutating action will do, before it runs: the question a
//! confirmation dialog asks (target and count), the exact SQL, the
//! parameters, and the equivalent scripted command. Each action builds its
//! own preview (`Act::preview`) from the same builders (or the same dry run)
//! its execution uses, so the preview is what runs; the session's record of
//! applied statements lets tests and the console's SQL log check that.
//! This module holds the shape and the wording helpers they share.

use super::record::recording;
use super::{Act, ActionError, Session, run};

#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// "Remove 3 schedules of entrypoint nightly_report?"
    pub question: String,
    /// Statements in the order they will be sent.
    pub statements: Vec<String>,
    /// `$1 = …` lines for parameterised statements.
    pub parameters: Vec<String>,
    pub command_line: String,
    /// What the user must know before saying yes (locks, data loss).
    pub warning: Option<String>,
    /// Nothing would change (the dialog then only informs).
    pub nothing_to_do: bool,
    /// A removal by filter: the jobs the count saw, which the confirmed
    /// action acts within.
    pub bound: Option<Bound>,
}

/// What an operator confirmed: the newest job the count saw and how many
/// jobs it counted. A removal under a bound never takes a job enqueued
/// after the count, nor more jobs than were counted, so "Purge 35 jobs"
/// purges at most 35 even while producers keep adding matching jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    pub newest_id: i64,
    pub count: u64,
}

pub(crate) fn list<T: ToString>(items: &[T]) -> String {
    const SHOWN: usize = 10;
    let mut text: Vec<String> = items.iter().take(SHOWN).map(T::to_string).collect();
    if items.len() > SHOWN {
        text.push(format!("… {} more", items.len() - SHOWN));
    }
    text.join(", ")
}

impl Preview {
    /// A preview asking `question` before sending `statements`.
    pub fn new(question: String, statements: Vec<String>, command_line: String) -> Preview {
        Preview {
            question,
            statements,
            parameters: Vec::new(),
            command_line,
            warning: None,
            nothing_to_do: false,
            bound: None,
        }
    }

    /// An action that only reads: there is nothing to confirm.
    pub fn read_only(command_line: String) -> Preview {
        let mut p = Preview::new("This only reads.".into(), Vec::new(), command_line);
        p.nothing_to_do = true;
        p
    }

    /// An action whose dry run recorded `statements` (see [`dry_run`]).
    pub fn of_dry_run(command_line: String, statements: Vec<String>) -> Preview {
        let mut p = Preview::new(format!("Run {command_line}?"), statements, command_line);
        p.nothing_to_do = p.statements.is_empty();
        p
    }
}

/// Run `action` dry: its output, and the statements a real run sends (the
/// session's record of the dry run, so the preview cannot drift from them).
pub(super) async fn dry_run<A: Act>(
    session: &Session,
    action: &A,
) -> Result<(A::Output, Vec<String>), ActionError> {
    let (output, statements) = recording(run(session, action, true)).await;
    Ok((output?, statements))
}

pub(super) async fn rewrite_bytes(
    session: &Session,
    tables: &[String],
) -> Result<i64, ActionError> {
    let n = &session.names;
    let qualified: Vec<String> = tables.iter().map(|t| n.qualify(t)).collect();
    let sizes: Vec<i64> = session
        .read_sql(
            "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0)::bigint FROM unnest($1::text[]) t",
            &[&qualified],
            "measuring the tables",
        )
        .await?;
    Ok(sizes.into_iter().sum())
}

/// The preview of any action, as the console passes them ([`Action`]).
pub async fn preview(session: &Session, action: &super::Action) -> Result<Preview, ActionError> {
    action.preview(session).await
}
