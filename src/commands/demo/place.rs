//! Where the demo's data lives: its own database (`pgq_demo`), or its own
//! schema in the current database when the role may not create databases.
//! Either is marked with a comment, so the demo only ever drops what it
//! created.
//!
//! A running demo owns its place: it holds a session advisory lock named
//! after it on the admin connection until its data is removed, and a demo
//! database with sessions in it is not taken over. A second `pgq demo` of
//! the same name refuses instead of dropping the first one's data under it
//! (it waits a few seconds first, for a demo that is cleaning up).

use crate::actions::Session;
use crate::commands::CommandError;
use crate::db::connect;
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;

const MARKER: &str = "created by pgq demo";

pub struct Place {
    pub settings: ConnectionSettings,
    pub names: ObjectNames,
    admin: ConnectionSettings,
    kind: Kind,
    name: String,
    /// The admin connection holding the demo's lock (none behind a
    /// transaction pooler, where session locks do not hold); closing it
    /// releases the lock.
    owner: Option<connect::Connection>,
}

/// How long a demo waits for another of the same name to finish.
const OWNER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

enum Kind {
    Database,
    Schema,
}

fn err(context: &str) -> impl FnOnce(tokio_postgres::Error) -> CommandError {
    CommandError::db(format!("demo: {context}"))
}

fn checked(name: &str) -> Result<&str, CommandError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(name)
    } else {
        Err(CommandError::Usage(format!(
            "demo: {name:?} is not a usable name (lower-case letters, digits and _)"
        )))
    }
}

pub async fn prepare(admin: &ConnectionSettings, name: &str) -> Result<Place, CommandError> {
    let name = checked(name)?.to_string();
    let conn = connect::connect(admin).await?;
    let c = &conn.client;
    let owns = admin.pooler() != crate::settings::pooler::Pooler::Transaction;
    if owns {
        take_ownership(c, &name, &admin.target()).await?;
    }
    let can_create: bool = c
        .query_one(
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(err("reading the role"))?
        .get(0);
    let kind = if can_create {
        Kind::Database
    } else {
        Kind::Schema
    };
    let (lookup, drop, create) = match kind {
        Kind::Database => (
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
            format!("DROP DATABASE {name} WITH (FORCE)"),
            // Two statements: CREATE DATABASE cannot share a transaction.
            vec![
                format!("CREATE DATABASE {name}"),
                format!("COMMENT ON DATABASE {name} IS '{MARKER}'"),
            ],
        ),
        Kind::Schema => (
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
            format!("DROP SCHEMA {name} CASCADE"),
            vec![format!(
                "CREATE SCHEMA {name}; COMMENT ON SCHEMA {name} IS '{MARKER}'"
            )],
        ),
    };
    let noun = kind.noun();
    // A previous demo's leftover is replaced; anything else of that name is
    // someone's data and stops the demo.
    let comment: Option<Option<String>> = c
        .query_opt(lookup, &[&name])
        .await
        .map_err(err("looking for an earlier demo"))?
        .map(|r| r.get(0));
    if matches!(kind, Kind::Database) && comment.is_some() {
        in_use_elsewhere(c, &name).await?;
    }
    match comment {
        Some(Some(text)) if text == MARKER => c
            .batch_execute(&drop)
            .await
            .map_err(err("dropping the previous demo data"))?,
        Some(_) => {
            return Err(CommandError::Other(format!(
                "demo: a {noun} {name} exists that pgq demo did not create; \
                 drop it, or choose another name with --name"
            )));
        }
        None => {}
    }
    for statement in &create {
        c.batch_execute(statement)
            .await
            .map_err(err("creating the demo data"))?;
    }
    let (settings, schema) = match kind {
        Kind::Database => (admin.with_database(&name), None),
        Kind::Schema => (admin.clone(), Some(name.as_str())),
    };
    Ok(Place {
        settings,
        names: ObjectNames::with_prefix("", schema)?,
        admin: admin.clone(),
        kind,
        name,
        owner: owns.then_some(conn),
    })
}

/// The demo's advisory lock, waited for up to [`OWNER_WAIT`]: another demo
/// of this name is running (or removing its data) until it is free.
async fn take_ownership(
    c: &crate::db::client::Client,
    name: &str,
    target: &str,
) -> Result<(), CommandError> {
    let key = format!("pgq demo {name}");
    let deadline = tokio::time::Instant::now() + OWNER_WAIT;
    loop {
        let taken: bool = c
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                &[&key],
            )
            .await
            .map_err(err("taking the demo's lock"))?
            .get(0);
        if taken {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(CommandError::Other(format!(
                "demo: another pgq demo is using {name} on {target}; \
                 let it finish, or choose another name with --name"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A demo database with sessions in it belongs to a demo that runs (one
/// started from another admin database, whose lock is not seen here).
async fn in_use_elsewhere(c: &crate::db::client::Client, name: &str) -> Result<(), CommandError> {
    let sessions: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
            &[&name],
        )
        .await
        .map_err(err("looking for sessions in the earlier demo"))?
        .get(0);
    if sessions > 0 {
        return Err(CommandError::Other(format!(
            "demo: database {name} has {sessions} session(s) open (another pgq demo?); \
             let it finish, or choose another name with --name"
        )));
    }
    Ok(())
}

impl Kind {
    fn noun(&self) -> &'static str {
        match self {
            Kind::Database => "database",
            Kind::Schema => "schema",
        }
    }
}

impl Place {
    pub fn describe(&self) -> String {
        let preposition = match self.kind {
            Kind::Database => "on",
            Kind::Schema => "in",
        };
        format!(
            "{} {} {preposition} {}",
            self.kind.noun(),
            self.name,
            self.admin.target()
        )
    }

    pub async fn session(&self) -> Result<Session, CommandError> {
        let conn = connect::connect(&self.settings).await?;
        Ok(Session {
            conn,
            names: self.names.clone(),
            target: self.settings.target(),
            read_only: false,
            audit: None,
        })
    }

    /// Drop what `prepare` created.
    /// On the connection that holds the demo's lock, so no other demo of
    /// this name starts before the data is gone.
    pub async fn remove(&self) -> Result<(), CommandError> {
        let sql = match self.kind {
            Kind::Database => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Kind::Schema => format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        };
        let fresh;
        let conn = match &self.owner {
            Some(owner) if !owner.client.is_closed() => owner,
            _ => {
                fresh = connect::connect(&self.admin).await?;
                &fresh
            }
        };
        conn.client
            .batch_execute(&sql)
            .await
            .map_err(err("removing the demo data"))
    }
}
