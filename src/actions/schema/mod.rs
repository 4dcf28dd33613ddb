//! Schema lifecycle actions: install, uninstall, upgrade, verify, durability, autovac.

pub mod tables;

// The schema actions (registered in `actions::kinds`).
pub mod autovac;
pub mod install;
pub mod list_tables;
pub mod missing_tables;
pub mod server_version;
pub mod set_durability;
pub mod size;
pub mod table_info;
pub mod uninstall;
pub mod upgrade;
pub mod verify;
use std::time::Instant;

use super::{ActionError, Expect, Session, db_err};
use crate::db::catalog;
use crate::schema::generations;
use crate::schema::model::Schema;
use crate::schema::plan::{self, PlanOptions};
use crate::schema::render;
use crate::settings::durability::{Durability, TableRole};

/// Anything of an installation in the namespace: a declared table, the status
/// enum or the retired statistics enum. Partial installs count.
fn installed_objects(live: &Schema) -> Vec<String> {
    let mut found: Vec<String> = live.tables.iter().map(|t| t.name.clone()).collect();
    found.extend(live.enums.iter().map(|e| e.name.clone()));
    found
}

async fn inspect(session: &Session) -> Result<Schema, ActionError> {
    catalog::inspect(session.client(), &session.names)
        .await
        .map_err(db_err("reading the catalog"))
}

/// What in `live` is newer than the schema pgq writes, as lines.
pub fn newer_objects(live: &Schema, names: &crate::settings::names::ObjectNames) -> Vec<String> {
    generations::newer(live, names)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Never change a schema newer than the one pgq knows (a later PGQueuer's
/// workers check it when they start): refuse before anything is sent,
/// dry runs and plans included.
fn refuse_newer(session: &Session, live: &Schema) -> Result<(), ActionError> {
    let objects = newer_objects(live, &session.names);
    if objects.is_empty() {
        Ok(())
    } else {
        Err(ActionError::NewerSchema { objects })
    }
}

/// The catalog, refused when it is newer than what pgq writes.
async fn inspect_known(session: &Session) -> Result<Schema, ActionError> {
    let live = inspect(session).await?;
    refuse_newer(session, &live)?;
    Ok(live)
}

/// Whether the installation is newer than the schema pgq writes, and why
/// (for readers that go on reading: the console, `pgq run`'s check).
pub async fn newer(session: &Session) -> Result<Vec<String>, ActionError> {
    let live = inspect(session).await?;
    Ok(newer_objects(&live, &session.names))
}

/// Refuse to judge an installation the role cannot read: the catalog shows
/// its objects to every role, privileges or not, so without this `verify`
/// would call them missing and `upgrade --plan` would call them up to date.
async fn require_privileges(session: &Session) -> Result<(), ActionError> {
    let found = catalog::privileges(session.client(), &session.names)
        .await
        .map_err(db_err("reading privileges"))?;
    if found.missing.is_empty() {
        return Ok(());
    }
    Err(ActionError::MissingPrivileges {
        role: found.role,
        missing: found.missing,
    })
}

pub(super) async fn install(
    session: &Session,
    durability: Durability,
    create_schema: bool,
    dry_run: bool,
) -> Result<Installed, ActionError> {
    let names = &session.names;
    let statements = render::install(names, durability, create_schema);
    let live = inspect_known(session).await?;
    if !dry_run {
        if !installed_objects(&live).is_empty() {
            return Err(ActionError::AlreadyInstalled {
                names: names.to_string(),
            });
        }
        if let Some(schema) = &names.schema
            && !create_schema
            && !live.namespace_exists
        {
            return Err(ActionError::MissingSchema {
                schema: schema.clone(),
            });
        }
    }
    // One simple-query batch: PostgreSQL runs it as a single implicit
    // transaction, so a failure leaves nothing half-installed.
    session
        .apply_batch_unless_dry(&statements.join("\n\n"), dry_run)
        .await
        .map_err(db_err("installing"))?;
    Ok(Installed {
        durability,
        statements,
        applied: !dry_run,
    })
}

/// Install ran (or, on a dry run, would run) these statements as one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    pub durability: Durability,
    pub statements: Vec<String>,
    pub applied: bool,
}

pub(super) async fn uninstall(
    session: &Session,
    dry_run: bool,
) -> Result<Uninstalled, ActionError> {
    inspect_known(session).await?;
    let statements = render::uninstall(&session.names);
    session
        .apply_batch_unless_dry(&statements.join("\n"), dry_run)
        .await
        .map_err(db_err("uninstalling"))?;
    Ok(Uninstalled {
        statements,
        applied: !dry_run,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct Uninstalled {
    pub statements: Vec<String>,
    pub applied: bool,
}

/// Holds the installation's upgrade lock for the life of the guard's scope.
/// The key is PGQueuer's own (CRC-32 of the qualified queue table), so pgq and
/// Python upgrades of one installation exclude each other too.
///
/// Behind a transaction pooler a session lock would stay on whichever server
/// connection took it, and an upgrade commits between its statements, so no
/// transaction-scoped lock spans it either: a real upgrade is refused there,
/// a plan (which changes nothing) runs without the lock.
async fn with_upgrade_lock<T>(
    session: &Session,
    dry_run: bool,
    work: impl AsyncFnOnce() -> Result<T, ActionError>,
) -> Result<T, ActionError> {
    let key = session.names.upgrade_lock_key();
    let client = session.client();
    if client.behind_transaction_pooler() {
        if dry_run {
            return work().await;
        }
        return Err(ActionError::NeedsSession(
            "upgrade needs a session of its own (it holds an advisory lock across several commits), \
             which a transaction pooler does not keep: run 'pgq upgrade' against PostgreSQL directly \
             or through a session pooler (--plan works through the pooler)"
                .into(),
        ));
    }
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
        .await
        .map_err(db_err("taking the upgrade lock"))?
        .get(0);
    if !got {
        eprintln!(
            "Waiting for another upgrade of this installation to finish (advisory lock {key})…"
        );
        client
            .execute("SELECT pg_advisory_lock($1)", &[&key])
            .await
            .map_err(db_err("waiting for the upgrade lock"))?;
    }
    let result = work().await;
    // Released on failure too; a lost connection releases it server-side.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&key])
        .await;
    result
}

pub(super) async fn upgrade(
    session: &Session,
    durability: Durability,
    widen_id: bool,
    dry_run: bool,
) -> Result<Upgraded, ActionError> {
    require_privileges(session).await?;
    with_upgrade_lock(session, dry_run, async || {
        let live = inspect_known(session).await?;
        let plan = plan::plan(
            &live,
            &session.names,
            &PlanOptions {
                durability,
                widen_id,
            },
        )?;
        // One statement per round trip in autocommit: an enum label added
        // by one statement is used by later ones, which needs a commit between.
        for (n, step) in plan.steps.iter().enumerate() {
            session.apply_batch_unless_dry(&step.sql, dry_run).await.map_err(db_err(format!(
                    "upgrade statement {} of {} ({}) failed; the {} before it are applied, re-run upgrade to plan the rest",
                    n + 1,
                    plan.steps.len(),
                    step.reason,
                    n
                )))?;
        }
        Ok(Upgraded {
            plan,
            applied: !dry_run,
            durability,
        })
    })
    .await
}

#[derive(Debug, Clone)]
pub struct Upgraded {
    pub plan: plan::Plan,
    pub applied: bool,
    /// The declared durability the plan was made with (for the plan header).
    pub durability: Durability,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub expect_present: bool,
    /// PGQueuer-compatible divergence lines (`missing table 'pgqueuer'`).
    pub divergences: Vec<String>,
    /// `--strict`: each catalog difference from the 1.6.0 declaration.
    pub differences: Vec<String>,
    /// Objects newer than the schema pgq writes (a later PGQueuer's).
    pub newer: Vec<String>,
    pub strict: bool,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.divergences.is_empty() && self.differences.is_empty() && self.newer.is_empty()
    }
}

pub(super) async fn verify(
    session: &Session,
    expect: Expect,
    strict: bool,
) -> Result<VerifyReport, ActionError> {
    let names = &session.names;
    require_privileges(session).await?;
    let presence = catalog::presence(session.client(), names)
        .await
        .map_err(db_err("reading the catalog"))?;
    let expect_present = expect == Expect::Present;
    let state = if expect_present {
        "missing"
    } else {
        "unexpected"
    };
    let mut divergences = vec![];
    for (table, exists) in &presence.tables {
        if *exists != expect_present {
            divergences.push(format!("{state} table '{table}'"));
        }
    }
    if presence.function != expect_present {
        divergences.push(format!("{state} function '{}'", names.function));
    }
    if presence.trigger != expect_present {
        divergences.push(format!("{state} trigger '{}'", names.trigger));
    }
    let mut differences = vec![];
    let live = inspect(session).await?;
    let newer = if expect_present {
        newer_objects(&live, names)
    } else {
        Vec::new()
    };
    if strict && newer.is_empty() {
        if expect_present {
            // Durability is a choice, not a difference: compare at the level the
            // tables are at (or durable when they are mixed).
            let level = live_durability(&live, names).unwrap_or_default();
            match plan::plan(
                &live,
                names,
                &PlanOptions {
                    durability: level,
                    widen_id: true,
                },
            ) {
                Ok(p) => differences.extend(p.steps.into_iter().map(|s| s.reason)),
                Err(drift) => differences.push(drift.to_string()),
            }
            differences.dedup();
        } else {
            differences.extend(
                installed_objects(&live)
                    .into_iter()
                    .map(|o| format!("unexpected object {o}")),
            );
            differences.extend(
                live.indexes
                    .iter()
                    .map(|i| format!("unexpected index {}", i.name)),
            );
        }
    }
    Ok(VerifyReport {
        expect_present,
        divergences,
        differences,
        newer,
        strict,
    })
}

/// The durability level the installed tables are at, if they match one.
pub fn live_durability(
    live: &Schema,
    names: &crate::settings::names::ObjectNames,
) -> Option<Durability> {
    Durability::matching(|role| {
        live.table(render::table_of(names, role))
            .map(|t| t.unlogged)
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurabilityChange {
    pub table: String,
    pub role: TableRole,
    pub from_unlogged: bool,
    pub to_unlogged: bool,
}

pub(super) async fn set_durability(
    session: &Session,
    level: Durability,
    lock_timeout: Option<std::time::Duration>,
    dry_run: bool,
) -> Result<DurabilitySet, ActionError> {
    let names = &session.names;
    let live = inspect_known(session).await?;
    let mut changes = vec![];
    let mut missing = vec![];
    for role in render::DURABILITY_ORDER {
        let name = render::table_of(names, role);
        match live.table(name) {
            None => missing.push(name.to_string()),
            Some(t) if t.unlogged != level.unlogged(role) => changes.push(DurabilityChange {
                table: name.to_string(),
                role,
                from_unlogged: t.unlogged,
                to_unlogged: level.unlogged(role),
            }),
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Err(ActionError::NotInstalled {
            names: names.to_string(),
            missing: missing.join(", "),
        });
    }
    let statements: Vec<String> = changes
        .iter()
        .map(|c| render::set_persistence(names, c.role, level))
        .collect();
    let started = Instant::now();
    if !statements.is_empty() {
        // All tables in one transaction: a failure (lock timeout, disk full)
        // rolls every table back to where it was.
        // A bounded lock wait: queued behind a busy worker, an ACCESS EXCLUSIVE
        // request would otherwise stall every enqueue and dequeue behind it.
        let sql = durability_batch(&statements, lock_timeout);
        if let Err(e) = session.apply_batch_unless_dry(&sql, dry_run).await {
            // The batch's own BEGIN left a failed transaction open.
            session.rollback().await;
            return Err(db_err("changing durability; no table was changed")(e));
        }
    }
    Ok(DurabilitySet {
        level,
        changes,
        statements,
        applied: !dry_run,
        elapsed: started.elapsed(),
    })
}

#[derive(Debug, Clone)]
pub struct DurabilitySet {
    pub level: Durability,
    pub changes: Vec<DurabilityChange>,
    pub statements: Vec<String>,
    pub applied: bool,
    pub elapsed: std::time::Duration,
}

/// The one transaction that switches tables, with its bounded lock wait.
pub fn durability_batch(
    statements: &[String],
    lock_timeout: Option<std::time::Duration>,
) -> String {
    let timeout_ms = lock_timeout.map_or(0, |t| t.as_millis().max(1));
    format!(
        "BEGIN;\nSET LOCAL lock_timeout = {timeout_ms};\n{}\nCOMMIT;",
        statements.join("\n")
    )
}

pub(super) async fn autovac(
    session: &Session,
    rollback: bool,
    dry_run: bool,
) -> Result<AutovacSet, ActionError> {
    inspect_known(session).await?;
    let statements = render::autovac(&session.names, rollback);
    session
        .apply_batch_unless_dry(&statements.join("\n\n"), dry_run)
        .await
        .map_err(db_err("applying autovacuum settings"))?;
    Ok(AutovacSet {
        rollback,
        statements,
        applied: !dry_run,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct AutovacSet {
    pub rollback: bool,
    pub statements: Vec<String>,
    pub applied: bool,
}
