//! Where the demo's data lives: its own database (`pgq_demo`), or its own
//! schema in the current database when the role may not create databases.
//! Either is marked with a comment, so the demo only ever drops what it
//! created.

use crate::actions::{DbErrorText, Session};
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
}

enum Kind {
    Database,
    Schema,
}

fn err(context: &str) -> impl FnOnce(tokio_postgres::Error) -> CommandError + '_ {
    move |e| CommandError::Other(format!("demo: {context}: {}", DbErrorText(&e)))
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
    let can_create: bool = c
        .query_one(
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(err("reading the role"))?
        .get(0);
    if can_create {
        let comment: Option<Option<String>> = c
            .query_opt(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .await
            .map_err(err("looking for the demo database"))?
            .map(|r| r.get(0));
        match comment {
            Some(Some(text)) if text == MARKER => {
                c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .await
                    .map_err(err("dropping the previous demo database"))?;
            }
            Some(_) => {
                return Err(CommandError::Other(format!(
                    "demo: a database {name} exists that pgq demo did not create; \
                     drop it, or choose another name with --name"
                )));
            }
            None => {}
        }
        // Two statements: CREATE DATABASE cannot share a transaction.
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(err("creating the demo database"))?;
        c.batch_execute(&format!("COMMENT ON DATABASE {name} IS '{MARKER}'"))
            .await
            .map_err(err("marking the demo database"))?;
        Ok(Place {
            settings: admin.with_database(&name),
            names: ObjectNames::with_prefix("", None)?,
            admin: admin.clone(),
            kind: Kind::Database,
            name,
        })
    } else {
        let comment: Option<Option<String>> = c
            .query_opt(
                "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = $1",
                &[&name],
            )
            .await
            .map_err(err("looking for the demo schema"))?
            .map(|r| r.get(0));
        match comment {
            Some(Some(text)) if text == MARKER => {
                c.batch_execute(&format!("DROP SCHEMA {name} CASCADE"))
                    .await
                    .map_err(err("dropping the previous demo schema"))?;
            }
            Some(_) => {
                return Err(CommandError::Other(format!(
                    "demo: a schema {name} exists that pgq demo did not create; \
                     drop it, or choose another name with --name"
                )));
            }
            None => {}
        }
        c.batch_execute(&format!(
            "CREATE SCHEMA {name}; COMMENT ON SCHEMA {name} IS '{MARKER}'"
        ))
        .await
        .map_err(err(
            "creating the demo schema (the role may not create databases)",
        ))?;
        Ok(Place {
            settings: admin.clone(),
            names: ObjectNames::with_prefix("", Some(&name))?,
            admin: admin.clone(),
            kind: Kind::Schema,
            name,
        })
    }
}

impl Place {
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Database => format!("database {} on {}", self.name, self.admin.target()),
            Kind::Schema => format!("schema {} in {}", self.name, self.admin.target()),
        }
    }

    pub async fn session(&self) -> Result<Session, CommandError> {
        let conn = connect::connect(&self.settings).await?;
        Ok(Session {
            conn,
            names: self.names.clone(),
            target: self.settings.target(),
            read_only: false,
        })
    }

    /// Drop what `prepare` created.
    pub async fn remove(&self) -> Result<(), CommandError> {
        let conn = connect::connect(&self.admin).await?;
        let sql = match self.kind {
            Kind::Database => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            Kind::Schema => format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        };
        conn.client
            .batch_execute(&sql)
            .await
            .map_err(err("removing the demo data"))
    }
}
