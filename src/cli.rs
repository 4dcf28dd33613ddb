//! Command-line definitions (clap) — nothing else lives here.

use clap::{Args, Parser, Subcommand};

use crate::actions::Expect;
use crate::settings::durability::Durability;

const AFTER_HELP: &str = "\
Connection: --dsn, else PGDSN, else PGQUEUER_DSN, else the libpq variables
(PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, …) and ~/.pgpass.

Examples:
  pgq install                        create the PGQueuer 1.6 schema
  pgq --schema jobs upgrade --plan   show what an upgrade would run
  pgq verify --expect present --strict
  pgq sql install -d balanced > pgqueuer.sql";

#[derive(Debug, Parser)]
#[command(
    name = "pgq",
    version = concat!(env!("CARGO_PKG_VERSION"), " (PGQueuer schema ", "1.6.0", ")"),
    about = "Operations console and CLI for PGQueuer, the PostgreSQL job queue",
    after_help = AFTER_HELP,
    arg_required_else_help = true,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// PostgreSQL connection string (URI or key=value); the password is never printed
    #[arg(
        long = "dsn",
        visible_alias = "pg-dsn",
        env = "PGDSN",
        hide_env_values = true,
        global = true,
        value_name = "DSN"
    )]
    pub dsn: Option<String>,

    /// Prefix for every PGQueuer object name, concatenated as is (env PGQUEUER_PREFIX)
    #[arg(long, global = true, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// PostgreSQL schema holding the PGQueuer objects (env PGQUEUER_SCHEMA)
    #[arg(long, global = true, value_name = "SCHEMA")]
    pub schema: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the PGQueuer 1.6 schema (refuses an existing installation)
    #[command(after_help = "Example:\n  pgq install --durability balanced")]
    Install {
        #[arg(short, long, value_enum, default_value_t = Durability::Durable)]
        durability: Durability,
        /// Do not run CREATE SCHEMA IF NOT EXISTS for --schema
        #[arg(long)]
        no_create_schema: bool,
        /// Print the SQL instead of running it (does not connect)
        #[arg(long)]
        dry_run: bool,
    },
    /// Drop the PGQueuer schema objects (never the schema itself)
    #[command(after_help = "Example:\n  pgq uninstall --dry-run")]
    Uninstall {
        /// Print the SQL instead of running it (does not connect)
        #[arg(long)]
        dry_run: bool,
    },
    /// Bring any older PGQueuer schema (0.18+) to 1.6, or install into an empty database
    #[command(after_help = "Examples:\n  pgq upgrade --plan > delta.sql\n  pgq upgrade")]
    Upgrade {
        /// Print the statements this database needs; change nothing
        #[arg(long)]
        plan: bool,
        /// Leave int4 id columns and sequences as they are
        #[arg(long)]
        no_widen_id: bool,
        /// Same as --plan: print exactly what would be applied
        #[arg(long)]
        dry_run: bool,
        /// Ignored (upgrade never changes durability); use 'pgq alter-durability'
        #[arg(short, long, hide = true)]
        durability: Option<String>,
    },
    /// Check that the PGQueuer objects are present (or absent)
    #[command(after_help = "Example:\n  pgq verify --expect present --strict")]
    Verify {
        #[arg(long, value_enum)]
        expect: Expect,
        /// Also compare columns, types, defaults, indexes, enum labels and the trigger
        #[arg(long)]
        strict: bool,
    },
    /// Switch tables between LOGGED and UNLOGGED (one transaction)
    #[command(
        visible_alias = "durability",
        after_help = "Example:\n  pgq alter-durability balanced --dry-run"
    )]
    AlterDurability {
        #[arg(value_enum)]
        level: Durability,
        /// Print the statements that would run; change nothing
        #[arg(long)]
        dry_run: bool,
        /// Seconds to wait for the table locks before giving up (0 waits forever)
        #[arg(long, default_value_t = 10.0, value_name = "SECONDS", value_parser = non_negative_seconds)]
        lock_timeout: f64,
    },
    /// Apply (or --rollback) PGQueuer's recommended autovacuum settings
    #[command(after_help = "Example:\n  pgq autovac --rollback")]
    Autovac {
        /// Reset the settings to PostgreSQL's defaults
        #[arg(long)]
        rollback: bool,
        /// Print the SQL instead of running it (does not connect)
        #[arg(long)]
        dry_run: bool,
    },
    /// Print schema SQL without connecting (stdout carries only SQL)
    #[command(subcommand, arg_required_else_help = true)]
    Sql(SqlCommand),
}

#[derive(Debug, Subcommand)]
pub enum SqlCommand {
    /// The install script
    #[command(after_help = "Example:\n  pgq --schema jobs sql install | psql")]
    Install {
        #[arg(short, long, value_enum, default_value_t = Durability::Durable)]
        durability: Durability,
        #[arg(long)]
        no_create_schema: bool,
    },
    /// The uninstall script
    Uninstall,
    /// An idempotent script converging any older schema (apply in autocommit)
    #[command(after_help = "Example:\n  pgq sql upgrade | psql -v ON_ERROR_STOP=1")]
    Upgrade {
        #[arg(short, long, value_enum, default_value_t = Durability::Durable)]
        durability: Durability,
        #[arg(long)]
        no_widen_id: bool,
    },
    /// ALTER TABLE … SET LOGGED/UNLOGGED for all four tables
    Durability {
        #[arg(value_enum)]
        level: Durability,
    },
    /// The autovacuum settings (or their reset)
    Autovac {
        #[arg(long)]
        rollback: bool,
    },
}

/// Parse a number of seconds that must be finite and not negative.
pub fn non_negative_seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!("{text:?} must be zero or more seconds"))
    }
}
