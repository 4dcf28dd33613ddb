//! Command-line definitions (clap) — nothing else lives here.

use clap::{Args, Parser, Subcommand};

use crate::actions::Expect;
use crate::settings::durability::Durability;
use crate::settings::duration::parse_duration;

const AFTER_HELP: &str = "\
Connection: --dsn, else PGQUEUER_DSN, else PGDSN, else the libpq variables
(PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, …) and ~/.pgpass.

Examples:
  pgq install                        create the PGQueuer 1.6 schema
  pgq --schema jobs upgrade --plan   show what an upgrade would run
  pgq verify --expect present --strict
  pgq sql install -d balanced > pgqueuer.sql";

/// `-V`: pgq's version and the PGQueuer release whose schema it writes.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (PGQueuer 1.6.0 schema)");

/// `--version`: also what pgq does with a schema newer than the one it
/// writes, so an operator knows before pointing it at a 2.x database.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (PGQueuer 1.6.0 schema)\n",
    "Installs and upgrades to the PGQueuer 1.6.0 schema; a newer PGQueuer schema (2.x)\n",
    "is read, never changed."
);

#[derive(Debug, Parser)]
#[command(
    name = "pgq",
    version = VERSION,
    long_version = LONG_VERSION,
    about = "Operations console and CLI for PGQueuer, the PostgreSQL job queue",
    after_help = AFTER_HELP,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes; listed under their own heading, after a
/// command's own options.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// PostgreSQL connection string (URI or key=value; else env PGQUEUER_DSN, then PGDSN); the password is never printed
    // Not clap's `env`: PGQUEUER_DSN comes before PGDSN, and a context's DSN
    // before both (settings::conn resolves them).
    #[arg(
        long = "dsn",
        visible_alias = "pg-dsn",
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

    /// Machine-readable output: one JSON document, or one JSON object per line for streams
    #[arg(long, global = true)]
    pub json: bool,

    /// Never open the console; print plain output even on a terminal
    #[arg(long, global = true)]
    pub headless: bool,

    /// Use the named connection from config.toml ([contexts.NAME]: dsn, schema, prefix, read_only)
    #[arg(
        long,
        global = true,
        env = "PGQ_CONTEXT",
        hide_env_values = true,
        value_name = "NAME"
    )]
    pub context: Option<String>,

    /// Refuse every change to the database (console and commands)
    #[arg(long, global = true)]
    pub read_only: bool,

    /// What sits between pgq and PostgreSQL: `transaction` for PgBouncer's transaction mode
    /// (unnamed statements, no session state, no LISTEN on pooled connections)
    #[arg(
        long,
        global = true,
        env = "PGQ_POOLER",
        value_enum,
        value_name = "MODE"
    )]
    pub pooler: Option<crate::settings::pooler::Pooler>,

    /// A direct connection (not through the pooler) for LISTEN, when work goes through one
    #[arg(
        long,
        global = true,
        env = "PGQ_LISTEN_DSN",
        hide_env_values = true,
        value_name = "DSN"
    )]
    pub listen_dsn: Option<String>,

    /// Monochrome console (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Whether --dsn was typed on the command line: an explicit flag beats
    /// a --context, the environment (PGQUEUER_DSN, PGDSN) does not.
    #[arg(skip)]
    pub dsn_on_command_line: bool,
}

/// Tabs the console can open at: every tab in the console's tab registry
/// but the hosted Worker tab.
pub use crate::console::tabs::id::Tab as ConsoleTab;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the full-screen console (what `pgq` alone does on a terminal)
    #[command(
        after_help = "Examples:\n  pgq\n  pgq --context prod --read-only console --tab events"
    )]
    Console {
        /// Tab to open first
        #[arg(long, value_enum, default_value_t = ConsoleTab::Stats)]
        tab: ConsoleTab,
    },
    /// Where pgq reads its configuration, and whether it is valid
    #[command(subcommand)]
    Config(ConfigCommand),
    /// A live PGQueuer system in one command: database, workers, producer, schedules, console
    #[command(
        after_help = "Examples:\n  pgq demo\n  pgq demo --headless --duration 30s\n  pgq demo --rate 200 --keep"
    )]
    Demo {
        /// With --headless: how long to run before printing the summary
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
        duration: std::time::Duration,
        /// Keep the demo database (and a throwaway cluster's directory) afterwards
        #[arg(long)]
        keep: bool,
        /// Jobs per second the producer enqueues
        #[arg(long, default_value_t = 20.0, value_parser = positive_rate)]
        rate: f64,
        /// Name of the database (or schema) the demo creates
        #[arg(long, default_value = "pgq_demo", value_name = "NAME")]
        name: String,
        /// In-process workers sharing the queue
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=16))]
        workers: u8,
    },
    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  pgq completions bash > ~/.local/share/bash-completion/completions/pgq\n  pgq completions zsh > ~/.zfunc/_pgq\n  pgq completions fish > ~/.config/fish/completions/pgq.fish"
    )]
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these same definitions
    #[command(after_help = "Example:\n  pgq man | man -l -")]
    Man {
        /// Write pgq.1 and one pgq-COMMAND.1 per command into DIR instead
        /// of printing them all to stdout
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
    /// Create the PGQueuer 1.6 schema (refuses an existing installation)
    #[command(after_help = "Example:\n  pgq install --durability balanced")]
    Install {
        /// Table durability [default: env PGQUEUER_DURABILITY, else durable]
        #[arg(short, long, value_enum)]
        durability: Option<Durability>,
        /// Run CREATE SCHEMA IF NOT EXISTS for --schema (the default; Python's spelling)
        #[arg(long, overrides_with = "no_create_schema")]
        create_schema: bool,
        /// Do not run CREATE SCHEMA IF NOT EXISTS for --schema
        /// Do not create the schema named by --schema (it must exist)
        #[arg(long, overrides_with = "create_schema")]
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
        /// Widen int4 id columns and sequences to bigint (the default; else env PGQUEUER_WIDEN_ID)
        #[arg(long, overrides_with = "no_widen_id")]
        widen_id: bool,
        /// Leave int4 id columns and sequences as they are
        /// Leave integer ids as they are (else widened to bigint)
        #[arg(long, overrides_with = "widen_id")]
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
        /// Whether the objects should be there (present) or gone (absent)
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
        /// durable (all logged), balanced (log and statistics unlogged) or volatile (all unlogged)
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
        #[arg(long, overrides_with = "no_rollback")]
        rollback: bool,
        /// Apply the recommended settings (the default; Python's spelling)
        #[arg(long, overrides_with = "rollback")]
        no_rollback: bool,
        /// Print the SQL instead of running it (does not connect)
        #[arg(long)]
        dry_run: bool,
    },
    /// Print schema SQL without connecting (stdout carries only SQL)
    #[command(subcommand, arg_required_else_help = true)]
    Sql(SqlCommand),
    /// Enqueue one job, or many from newline-delimited JSON with --batch
    #[command(after_help = QUEUE_HELP)]
    Queue(QueueArgs),
    /// Job statistics per second bucket, plus a per-entrypoint summary (read-only)
    #[command(after_help = "Examples:\n  pgq dashboard -n 10\n  pgq dashboard -i 2 --headless")]
    Dashboard {
        /// Refresh every SECONDS until interrupted
        #[arg(short, long, value_name = "SECONDS", value_parser = positive_seconds)]
        interval: Option<f64>,
        /// Number of statistics rows to show
        #[arg(short = 'n', long, default_value_t = 25)]
        limit: u32,
    },
    /// Print NOTIFY events of the installation's channel as they arrive
    #[command(after_help = "Examples:\n  pgq listen\n  pgq listen --json | jq .type")]
    Listen {
        /// Channel to listen on (default: the installation's, honouring --prefix)
        #[arg(long, value_name = "NAME")]
        channel: Option<String>,
    },
    /// List schedules with their next fire times; remove, pause, resume, skip or postpone some
    #[command(
        after_help = SCHEDULES_HELP,
        group(clap::ArgGroup::new("retime").args(["pause", "resume", "skip", "postpone"]).multiple(false).conflicts_with("remove"))
    )]
    Schedules {
        /// Schedule id (digits) or entrypoint name to remove; repeatable
        #[arg(short, long, value_name = "ID|ENTRYPOINT")]
        remove: Vec<String>,
        /// Stop it firing until --resume (next_run moves to 9999-12-31); repeatable
        #[arg(long, value_name = "ID|ENTRYPOINT")]
        pause: Vec<String>,
        /// Fire again, from the next fire time of its expression; repeatable
        #[arg(long, value_name = "ID|ENTRYPOINT")]
        resume: Vec<String>,
        /// Skip the pending run: next_run to the fire after it; repeatable
        #[arg(long, value_name = "ID|ENTRYPOINT")]
        skip: Vec<String>,
        /// Move next_run to --until; repeatable
        #[arg(long, value_name = "ID|ENTRYPOINT", requires = "until")]
        postpone: Vec<String>,
        /// With --postpone: a time (2026-12-24T08:00:00Z, or local "2026-12-24 08:00") or +DURATION (+2h)
        #[arg(long, value_name = "TIME|+DURATION", requires = "postpone")]
        until: Option<String>,
        /// Do not fail when a value matches nothing
        #[arg(long)]
        ignore_missing: bool,
        /// With --pause/--resume/--skip/--postpone: print the SQL and what would move; change nothing
        #[arg(long, requires = "retime")]
        dry_run: bool,
    },
    /// Jobs held in status 'failed' (on_failure="hold"), newest first
    #[command(after_help = "Example:\n  pgq failed -n 50 --json")]
    Failed {
        /// Jobs to list
        #[arg(short = 'n', long, default_value_t = 25)]
        limit: u32,
    },
    /// Put held (failed) jobs back in the queue
    #[command(
        after_help = "Examples:\n  pgq requeue 41 42 43\n  pgq requeue --entrypoint resize --search timeout --dry-run\n  pgq requeue --entrypoint resize --yes"
    )]
    Requeue(RequeueArgs),
    /// Cancel queued or picked jobs: deleted, logged 'canceled', and their workers told to stop them
    #[command(after_help = CANCEL_HELP)]
    Cancel(CancelArgs),
    /// Delete held (failed) jobs, logged 'deleted'
    #[command(
        after_help = "Examples:\n  pgq delete 41 42\n  pgq delete --entrypoint resize --status failed --dry-run\n  pgq delete --entrypoint resize --yes"
    )]
    Delete(DeleteArgs),
    /// Delete queued jobs matching a filter, in batches of 10,000, logged 'deleted'
    #[command(
        after_help = "Examples:\n  pgq purge --entrypoint resize --older-than 1h --dry-run\n  pgq purge --entrypoint resize --yes"
    )]
    Purge(PurgeArgs),
    /// Picked jobs whose heartbeat is older than the threshold
    #[command(after_help = "Example:\n  pgq stale -t 60")]
    Stale {
        /// Seconds since the last heartbeat
        #[arg(short, long, default_value_t = 300.0, value_parser = non_negative_seconds)]
        threshold: f64,
        /// Jobs to list
        #[arg(short = 'n', long, default_value_t = 25)]
        limit: u32,
    },
    /// Queue managers currently holding picked jobs, with their jobs and heartbeat ages
    #[command(
        after_help = "Example:\n  pgq workers -t 60 --jobs 5\n  pgq --json workers\n  pgq workers --watch 15s"
    )]
    Workers {
        /// A held job whose heartbeat is older than this many seconds is stale
        #[arg(short, long, default_value_t = 300.0, value_parser = non_negative_seconds)]
        threshold: f64,
        /// Job ids listed per worker (its count covers all of them)
        #[arg(long, default_value_t = 20)]
        jobs: u32,
        /// Also listen this long (at least 10s: workers probe every 10 s) and
        /// count the workers alive from their health checks, idle ones too
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        watch: Option<std::time::Duration>,
    },
    /// Queued jobs per entrypoint with their age
    #[command(after_help = "Example:\n  pgq backlog")]
    Backlog,
    /// Browse jobs: the queue (or finished jobs with --history), filtered, one keyset page at a time
    #[command(after_help = JOBS_HELP)]
    Jobs(JobsArgs),
    /// One job: its queue row, payload, headers and whole log history
    #[command(after_help = "Examples:\n  pgq job 48121\n  pgq job 48121 --json | jq .log")]
    Job {
        /// The job's id
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Why a job is where it is, or why a schedule has (not) fired: sentences with their numbers (read-only)
    #[command(
        after_help = "Examples:\n  pgq why 48121\n  pgq why --schedule nightly_report\n  pgq why 48121 --json | jq '.reasons[].reason'"
    )]
    Why {
        /// The job's id
        #[arg(
            value_name = "ID",
            required_unless_present = "schedule",
            conflicts_with = "schedule"
        )]
        id: Option<i64>,
        /// Explain the schedules of this entrypoint instead of a job
        #[arg(long, value_name = "ENTRYPOINT", value_parser = entrypoint_name)]
        schedule: Option<String>,
    },
    /// The audit log: every change made with pgq (console or commands), oldest first
    #[command(
        after_help = "One JSON line per change in $XDG_STATE_HOME/pgq/audit.jsonl (~/.local/state/pgq),\nor where audit_log in config.toml says.\n\nExamples:\n  pgq audit --since 1h\n  pgq audit --since 2026-01-31T08:00:00Z --json | jq .command"
    )]
    Audit {
        /// Only changes since an age (1h, 2d) or a time (RFC 3339)
        #[arg(long, value_name = "AGE|TIME", value_parser = crate::settings::audit::parse_since)]
        since: Option<crate::settings::audit::Since>,
    },
    /// Run a worker (queue manager and scheduler) defined by a TOML manifest
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Serve Prometheus metrics and health probes for the queue (read-only)
    #[command(after_help = METRICS_HELP)]
    Metrics {
        /// Address to serve on (port 0 picks a free port)
        #[arg(long, default_value = "127.0.0.1:9464", value_name = "ADDR")]
        listen: std::net::SocketAddr,
        /// Window of pgqueuer_logs_count (PGQueuer's `last`): 90s, 5m, 1h …
        #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
        window: std::time::Duration,
        /// Seconds since the last heartbeat after which a picked job counts as stale
        #[arg(long, default_value_t = 300.0, value_name = "SECONDS", value_parser = non_negative_seconds)]
        stale_after: f64,
        /// Print Prometheus alerting rules for these series (thresholds as pgq check: flags, else [check] in config.toml) and exit
        #[arg(long)]
        alert_rules: bool,
        #[command(flatten)]
        thresholds: ThresholdArgs,
    },
    /// Is anything wrong right now? One read-only pass against thresholds; exit 1 when one is breached
    #[command(after_help = CHECK_HELP)]
    Check {
        #[command(flatten)]
        thresholds: ThresholdArgs,
        /// Window of --max-failure-rate: 15m, 1h … (at least 1m) [default: 15m]
        #[arg(long, value_name = "DURATION", value_parser = window)]
        window: Option<std::time::Duration>,
        /// Seconds since the last heartbeat after which a picked job is stale [default: 300]
        #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
        stale_after: Option<f64>,
    },
    /// Delete old log and statistics rows in batches (never unaggregated log rows)
    #[command(after_help = PRUNE_HELP)]
    Prune(PruneArgs),
    /// Rows and on-disk size of each PGQueuer table, and the queue's counts by status (read-only)
    #[command(after_help = "Examples:\n  pgq size\n  pgq --json size | jq .total_bytes")]
    Size,
    /// Finished jobs per entrypoint and status over a window, with jobs/s (read-only)
    #[command(
        after_help = "Counts come from the statistics table plus the log rows not yet aggregated,\nas pgq metrics' pgqueuer_logs_count.\n\nExamples:\n  pgq throughput\n  pgq throughput --window 1h --json"
    )]
    Throughput {
        /// Look-back window: 90s, 5m, 1h, 2d … (more than 0, at most 366d)
        #[arg(short, long, value_name = "DURATION", value_parser = window, default_value = "5m")]
        window: std::time::Duration,
    },
    /// The newest rows of the log table, optionally filtered (read-only)
    #[command(
        after_help = "Examples:\n  pgq log -n 50\n  pgq log --entrypoint resize --status exception\n  pgq log --job 48121 --json"
    )]
    Log(LogArgs),
    /// Each PGQueuer table: exists, persistence, estimated rows, size, autovacuum settings (read-only)
    #[command(after_help = "Example:\n  pgq tables --json")]
    Tables,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Rows to show, newest first (1 to 10000)
    #[arg(short = 'n', long, default_value_t = 25, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Only rows of this entrypoint (repeatable)
    #[arg(short, long, value_name = "NAME", value_parser = entrypoint_name)]
    pub entrypoint: Vec<String>,
    /// Only rows with this status
    #[arg(long, value_enum)]
    pub status: Option<crate::actions::jobs::filter::JobStatus>,
    /// Only rows of this job id
    #[arg(long, value_name = "ID", allow_negative_numbers = true, value_parser = clap::value_parser!(i64).range(1..))]
    pub job: Option<i64>,
}

const PRUNE_HELP: &str = "\
Each batch is its own short transaction. Log rows not yet aggregated into
statistics are kept and counted (a running worker, pgq's or PGQueuer's,
aggregates them every ~30 s). SIGINT stops after the current batch: whole
batches only, a summary of what was deleted, exit status 130.

Examples:
  pgq prune --log-older-than 30d --dry-run
  pgq prune --log-older-than 30d --statistics-older-than 90d
  pgq prune --log-older-than 7d --entrypoint send_email --batch-size 5000 --json";

// At least one of the two ages is required; the command says so itself, in
// words that make clear nothing is deleted by default.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Delete log rows created more than DURATION ago (e.g. 30d, 12h)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub log_older_than: Option<std::time::Duration>,
    /// Delete statistics rows created more than DURATION ago
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub statistics_older_than: Option<std::time::Duration>,
    /// Only rows of this entrypoint (repeatable)
    #[arg(long = "entrypoint", value_name = "NAME")]
    pub entrypoints: Vec<String>,
    /// Rows deleted per statement (each its own transaction)
    #[arg(long, default_value_t = crate::actions::retention::prune::DEFAULT_BATCH_SIZE, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: u32,
    /// Print the statements and the counts; delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

const SCHEDULES_HELP: &str = "\
Examples:
  pgq schedules
  pgq schedules --remove 3 --remove nightly_report
  pgq schedules --pause nightly_report
  pgq schedules --resume nightly_report
  pgq schedules --skip 3 --dry-run
  pgq schedules --postpone nightly_report --until +2h";

const CHECK_HELP: &str = "\
One line per breached threshold on stdout; exit 0 healthy, 1 breached (or
the database unreachable), 2 wrong use. Thresholds not given as flags come
from the [check] table of config.toml (same names, underscores: max_held = 0,
max_oldest_queued = \"5m\", max_queued = [1000, \"resize=200\"]); with none
at all, exit 2.

Examples:
  pgq check --max-oldest-queued 5m --max-held 0
  pgq check --max-queued 1000 --max-queued resize=200 --max-stale 0
  pgq check --max-failure-rate 5 --window 15m --json";

/// The thresholds of `pgq check` and `pgq metrics --alert-rules`.
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct ThresholdArgs {
    /// Breached when the oldest queued job is older than this: 90s, 5m, 1h …
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_oldest_queued: Option<std::time::Duration>,
    /// Breached above N queued jobs, or above N of entrypoint EP (EP=N); repeatable
    #[arg(long, value_name = "N|EP=N", value_parser = crate::settings::check::queued_limit)]
    pub max_queued: Vec<crate::settings::check::QueuedLimit>,
    /// Breached above N held (failed) jobs
    #[arg(long, value_name = "N")]
    pub max_held: Option<u64>,
    /// Breached above N picked jobs with a stale heartbeat
    #[arg(long, value_name = "N")]
    pub max_stale: Option<u64>,
    /// Breached when more than PCT percent of the jobs finished in the window failed
    #[arg(long, value_name = "PCT", value_parser = crate::settings::check::percent)]
    pub max_failure_rate: Option<f64>,
    /// Breached when a schedule is later than this past its next run
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_schedule_lateness: Option<std::time::Duration>,
}

impl ThresholdArgs {
    /// The thresholds the flags give (the rest come from config.toml).
    pub fn thresholds(
        &self,
        window: Option<std::time::Duration>,
        stale_after: Option<std::time::Duration>,
    ) -> crate::settings::check::Thresholds {
        crate::settings::check::Thresholds {
            max_oldest_queued: self.max_oldest_queued,
            max_queued: self.max_queued.clone(),
            max_held: self.max_held,
            max_stale: self.max_stale,
            max_failure_rate: self.max_failure_rate,
            window,
            max_schedule_lateness: self.max_schedule_lateness,
            stale_after,
        }
    }
}

const METRICS_HELP: &str = "\
GET /metrics   Prometheus text format 0.0.4: PGQueuer's pgqueuer_queue_count and
               pgqueuer_logs_count, plus pgq_* series (oldest queued age, stale
               picked jobs, unaggregated log rows, table sizes)
GET /healthz   200 while the process runs
GET /readyz    200 when the database answers and the PgQueuer tables exist

Each scrape is one READ ONLY transaction (a role with SELECT is enough);
scrapes arriving together share one. The database down: 503 with the reason.

--alert-rules prints Prometheus alerting rules for these series, with
pgq check's thresholds (the --max-… flags, else [check] in config.toml),
and exits without serving.

Examples:
  pgq metrics
  pgq metrics --listen 0.0.0.0:9464 --window 15m
  pgq metrics --alert-rules --max-oldest-queued 5m --max-held 0 > pgq-rules.yml";

const RUN_HELP: &str = "\
FACTORY is a TOML manifest (Python's module:function factory cannot exist in
Rust). It declares [[entrypoint]] tables (name, command = [...] or builtin =
\"noop\"|\"sleep\"|\"fail\"|\"echo\", concurrency_limit, on_failure, max_attempts, …)
and [[schedule]] tables (entrypoint, expression, command/builtin).

SIGINT/SIGTERM stop dequeuing and let running jobs finish (exit 0); after
--shutdown-timeout, or at a second signal, running jobs are stopped and
returned to the queue. A broken manifest or bad option exits 2 before
connecting; a database failure exits 1 unless --restart-on-failure.

Examples:
  pgq --headless run workers.toml
  pgq run workers.toml --batch-size 100 --mode drain
  pgq run workers.toml --restart-on-failure --log-format json -- --verbose";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The worker manifest (TOML)
    #[arg(value_name = "FACTORY")]
    pub factory: std::path::PathBuf,
    /// Arguments appended to every command executor (give them after --)
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,
    /// Seconds to wait for a NOTIFY before polling again
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = positive_seconds)]
    pub dequeue_timeout: f64,
    /// Jobs claimed per dequeue statement
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Seconds without heartbeat after which a picked job is re-picked
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS", value_parser = positive_seconds)]
    pub heartbeat_timeout: f64,
    /// Seconds before reconnecting after a failure (doubling, up to 30 s)
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub restart_delay: f64,
    /// Reconnect after database failures instead of exiting 1
    #[arg(long)]
    pub restart_on_failure: bool,
    /// DEBUG, INFO, WARNING, ERROR or CRITICAL (case-insensitive)
    #[arg(long, default_value = "INFO", value_name = "LEVEL", value_parser = crate::worker::log::Level::parse)]
    pub log_level: crate::worker::log::Level,
    /// Log lines as PGQueuer's text or as one JSON object per line
    #[arg(long, value_enum, default_value_t = crate::worker::log::Format::Text)]
    pub log_format: crate::worker::log::Format,
    /// continuous: run until stopped; drain: stop once the queue is empty
    #[arg(long, value_enum, default_value_t = crate::worker::Mode::Continuous)]
    pub mode: crate::worker::Mode,
    /// Cap on this worker's picked jobs (at least twice the batch size; 0 = none)
    /// [default: max(100, 2 × batch size); none with --dequeue-connections above 1]
    #[arg(long, value_name = "N")]
    pub max_concurrent_tasks: Option<u32>,
    /// Exit (or restart) when the LISTEN health check gets no echo
    #[arg(long)]
    pub shutdown_on_listener_failure: bool,
    /// Do not LISTEN: poll every --poll-interval (the mode behind a transaction pooler without --listen-dsn)
    #[arg(long)]
    pub no_listen: bool,
    /// Seconds between dequeues of an idle worker while live events are missing
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS", value_parser = positive_seconds)]
    pub poll_interval: f64,
    /// Connections that dequeue in parallel (pgq's addition; PGQueuer uses 1;
    /// ignored with --max-concurrent-tasks)
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub dequeue_connections: u32,
    /// After a stop request, seconds running jobs get before they are stopped
    /// and returned to the queue (default: wait for them)
    #[arg(long, value_name = "SECONDS", value_parser = non_negative_seconds)]
    pub shutdown_timeout: Option<f64>,
    /// Serve /metrics (queue and worker series), /healthz and /readyz on ADDR
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Run on a schema newer than PGQueuer 1.6.0's (a 2.x database) anyway,
    /// at your own risk: 2.x changed what cancelling a running job means
    #[arg(long)]
    pub allow_newer_schema: bool,
}

const CANCEL_HELP: &str = "\
Jobs given by id must all be queued or picked, or nothing is canceled (exit 1).
A filter touching more than one job needs --yes; --dry-run prints the SQL and
the count and changes nothing.

The filter flags select as `pgq jobs` lists (--status queued or picked here).

Examples:
  pgq cancel 48121
  pgq cancel --entrypoint resize --status picked --dry-run
  pgq cancel --entrypoint resize --yes";

/// Which jobs: the one filter of `jobs`, `cancel`, `delete`, `purge` and
/// `requeue`. Every flag narrows; each selects as `pgq jobs` lists.
#[derive(Debug, Args, Default, Clone)]
pub struct JobFilterArgs {
    /// queued, picked, failed; with --history: successful, exception, canceled, deleted
    #[arg(long, value_enum)]
    pub status: Option<crate::actions::jobs::filter::JobStatus>,
    /// Only this entrypoint; repeatable
    #[arg(short, long, value_name = "NAME")]
    pub entrypoint: Vec<String>,
    /// Only jobs with at least this priority
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority_min: Option<i32>,
    /// Only jobs with at most this priority
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority_max: Option<i32>,
    /// Only the job with this id
    #[arg(long, value_name = "ID")]
    pub id: Option<i64>,
    /// Only the job with this dedupe key
    #[arg(long, value_name = "KEY")]
    pub dedupe_key: Option<String>,
    /// Only jobs held by this queue manager (queue_manager_id)
    #[arg(long, value_name = "UUID")]
    pub worker: Option<uuid::Uuid>,
    /// Only jobs created longer ago than this, e.g. 90s, 5m, 1h30m, 2d
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<std::time::Duration>,
    /// Substring of payload or headers, or KEY=VALUE on JSON payloads and headers
    #[arg(short, long, value_name = "TEXT")]
    pub search: Option<String>,
}

impl JobFilterArgs {
    /// The filter these flags spell.
    pub fn filter(&self) -> crate::actions::jobs::filter::JobFilter {
        crate::actions::jobs::filter::JobFilter {
            status: self.status,
            entrypoints: self.entrypoint.clone(),
            priority_min: self.priority_min,
            priority_max: self.priority_max,
            id: self.id,
            dedupe_key: self.dedupe_key.clone(),
            worker: self.worker,
            search: self
                .search
                .as_deref()
                .map(crate::actions::jobs::filter::Search::parse),
            older_than: self.older_than,
        }
    }
}

/// `--dry-run` and `--yes`, shared by cancel, delete, purge and requeue.
#[derive(Debug, Args)]
pub struct Confirm {
    /// Print the SQL and how many jobs it would take; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Go ahead when a filter selects more than one job
    #[arg(short, long)]
    pub yes: bool,
}

/// Job ids or the job filter, then the confirmation flags.
#[derive(Debug, Args)]
pub struct JobChangeArgs {
    /// Job ids (all or nothing); or select with the filter flags instead
    #[arg(value_name = "ID")]
    pub ids: Vec<i64>,
    #[command(flatten)]
    pub filter: JobFilterArgs,
    #[command(flatten)]
    pub confirm: Confirm,
}

pub type CancelArgs = JobChangeArgs;
pub type DeleteArgs = JobChangeArgs;
pub type PurgeArgs = JobChangeArgs;

/// `pgq requeue`: ids (the jobs that are held are requeued, others named)
/// or the job filter.
pub type RequeueArgs = JobChangeArgs;

const QUEUE_HELP: &str = "\
PAYLOAD is the text itself, @FILE for a file's bytes, or - for standard input.

Examples:
  pgq queue send_email '{\"to\": \"a@example.com\"}' --priority 5
  pgq queue report --execute-after 5m --dedupe-key daily --on-conflict skip
  pgq queue resize @image.json --header trace=abc123
  pgq queue --batch jobs.ndjson

--batch reads one JSON object per line:
  {\"entrypoint\": \"e\", \"payload\": \"text\" | {...} | null, \"priority\": 0,
   \"execute_after\": \"90s\" | seconds, \"dedupe_key\": \"k\", \"headers\": {...}}";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    /// Fail (exit 1) when a queued or picked job has the same dedupe key
    Raise,
    /// Leave the existing job alone and report the skip (exit 0)
    Skip,
    /// Keep the existing job, raising its priority to the higher of the two
    UpdatePriority,
}

const JOBS_HELP: &str = "\
Pages are keyed by job id: the last line names the --after-id of the next page.
--search matches a substring of the payload (as UTF-8) or of the headers, or,
written KEY=VALUE, a top-level key of a JSON payload or of the headers; it may
scan the queue, so it stops after --search-timeout. The log of finished jobs
(--history) has no payload, headers, dedupe key or worker to filter on.

Examples:
  pgq jobs --status queued --entrypoint send_email --limit 20
  pgq jobs --search order_id=4711
  pgq jobs --history --status exception --after-id 48000";

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[command(flatten)]
    pub filter: JobFilterArgs,
    /// Seconds a search may run before the server stops it
    #[arg(long, default_value_t = 5.0, value_name = "SECONDS", value_parser = positive_seconds)]
    pub search_timeout: f64,
    /// Finished jobs from the log table instead of the queue
    #[arg(long)]
    pub history: bool,
    /// With --json: each row's whole payload, as `pgq job --json` gives it
    #[arg(long)]
    pub payload: bool,
    /// Lowest ids first (default: newest first)
    #[arg(long)]
    pub oldest_first: bool,
    /// Rows per page (1 to 10000)
    #[arg(short = 'n', long, default_value_t = 50, allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
    /// Continue after this job id (the cursor the previous page printed)
    #[arg(long, value_name = "ID")]
    pub after_id: Option<i64>,
    /// Also print the server's EXPLAIN ANALYZE of the page (benchmarks)
    #[arg(long, hide = true)]
    pub explain: bool,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Entrypoint name of the job
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    pub entrypoint: Option<String>,
    /// Payload: text, @FILE, or - for stdin (omitted: NULL payload)
    #[arg(allow_hyphen_values = true)]
    pub payload: Option<String>,
    /// Higher runs earlier
    #[arg(short, long, default_value_t = 0, allow_negative_numbers = true)]
    pub priority: i32,
    /// Delay before the job is eligible, e.g. 90s, 5m, 1h30m, 2d (or plain seconds)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub execute_after: Option<std::time::Duration>,
    /// Deduplication key: unique among queued and picked jobs
    #[arg(long, value_name = "KEY")]
    pub dedupe_key: Option<String>,
    /// What a dedupe key already queued or picked does: raise (error), skip, or update-priority
    #[arg(long, value_enum, default_value_t = OnConflict::Raise)]
    pub on_conflict: OnConflict,
    /// Header KEY=VALUE (repeatable); VALUE is JSON if it parses, else a string
    #[arg(long = "header", value_name = "KEY=VALUE")]
    pub header: Vec<String>,
    /// Headers as one JSON object (merged under --header values)
    #[arg(long, value_name = "JSON")]
    pub headers: Option<String>,
    /// Newline-delimited JSON jobs from FILE, or - for stdin
    #[arg(long, value_name = "FILE")]
    pub batch: Option<String>,
    // Only with --batch, checked by the command: clap's `requires` lets it
    // pass when the entrypoint (which conflicts with --batch) is given.
    /// With --batch: do not ANALYZE the queue table after 10,000 or more new jobs
    #[arg(long)]
    pub no_analyze: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the config file path (PGQ_CONFIG_DIR overrides) and the log file path
    Path,
    /// Parse config.toml and report the first problem (exit 1), or OK
    Check,
}

#[derive(Debug, Subcommand)]
pub enum SqlCommand {
    /// The install script
    #[command(after_help = "Example:\n  pgq --schema jobs sql install | psql")]
    Install {
        /// Table durability [default: env PGQUEUER_DURABILITY, else durable]
        #[arg(short, long, value_enum)]
        durability: Option<Durability>,
        /// Include CREATE SCHEMA IF NOT EXISTS for --schema (the default)
        #[arg(long, overrides_with = "no_create_schema")]
        create_schema: bool,
        /// Do not create the schema named by --schema (it must exist)
        #[arg(long, overrides_with = "create_schema")]
        no_create_schema: bool,
    },
    /// The uninstall script
    Uninstall,
    /// An idempotent script converging any older schema (apply in autocommit)
    #[command(after_help = "Example:\n  pgq sql upgrade | psql -v ON_ERROR_STOP=1")]
    Upgrade {
        /// Declared table durability [default: env PGQUEUER_DURABILITY, else durable]
        #[arg(short, long, value_enum)]
        durability: Option<Durability>,
        /// Widen int4 ids to bigint (the default; else env PGQUEUER_WIDEN_ID)
        #[arg(long, overrides_with = "no_widen_id")]
        widen_id: bool,
        /// Leave integer ids as they are (else widened to bigint)
        #[arg(long, overrides_with = "widen_id")]
        no_widen_id: bool,
    },
    /// ALTER TABLE … SET LOGGED/UNLOGGED for all four tables
    Durability {
        /// durable (all logged), balanced (log and statistics unlogged) or volatile (all unlogged)
        #[arg(value_enum)]
        level: Durability,
    },
    /// The autovacuum settings (or their reset)
    Autovac {
        /// Reset the settings to PostgreSQL's defaults instead
        #[arg(long, overrides_with = "no_rollback")]
        rollback: bool,
        /// The recommended settings (the default)
        #[arg(long, overrides_with = "rollback")]
        no_rollback: bool,
    },
    /// One statement of sql/ with the object names filled in, as pgq runs it
    /// (for the benchmarks' pgbench scripts)
    #[command(hide = true)]
    Statement {
        /// The file name without .sql (e.g. dequeue, log_jobs)
        #[arg(value_parser = statement_name)]
        name: crate::db::statements::Statement,
    },
}

fn statement_name(name: &str) -> Result<crate::db::statements::Statement, String> {
    crate::db::statements::Statement::by_name(name)
        .ok_or_else(|| format!("no statement {name:?} in sql/"))
}

/// A look-back window: a duration above zero and at most 366 days (a
/// longer one would reach past what PostgreSQL's timestamps can subtract).
fn window(text: &str) -> Result<std::time::Duration, String> {
    const MAX: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);
    match parse_duration(text)? {
        d if d.is_zero() => Err(format!("{text:?}: the window must be longer than zero")),
        d if d > MAX => Err(format!("{text:?}: the window can be at most 366d")),
        d => Ok(d),
    }
}

/// An entrypoint name to filter on: a blank one would match nothing.
fn entrypoint_name(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("an entrypoint name cannot be blank".into())
    } else {
        Ok(text.to_string())
    }
}

/// Parse a number of seconds that must be finite and not negative.
pub fn non_negative_seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if value.is_nan() || value < 0.0 {
        return Err(format!("{text:?} must be zero or more seconds"));
    }
    // The value becomes a Duration (which panics past u64 seconds) and,
    // for some flags, an SQL interval.
    let max = crate::settings::duration::MAX;
    if value > max.as_secs_f64() {
        return Err(format!(
            "{text:?} is too long: the maximum is {} seconds ({}d)",
            max.as_secs(),
            crate::settings::duration::MAX_DAYS
        ));
    }
    Ok(value)
}

/// Parse a strictly positive number of seconds.
pub fn positive_seconds(text: &str) -> Result<f64, String> {
    match non_negative_seconds(text)? {
        v if v > 0.0 => Ok(v),
        _ => Err(format!("{text:?} must be more than zero seconds")),
    }
}

/// Parse a rate in jobs per second, above 0 and at most 100000.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 100_000.0 => Ok(r),
        _ => Err(format!(
            "{text:?} is not a rate between 0 and 100000 jobs/s"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

#[cfg(test)]
mod help_tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Options with no description, as `command › --flag`.
    fn undescribed(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if matches!(id, "help" | "version") || arg.is_hide_set() {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!("{path} › {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            undescribed(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_option_has_a_description() {
        let mut missing = Vec::new();
        undescribed(&Cli::command(), "pgq", &mut missing);
        assert!(missing.is_empty(), "no description: {missing:#?}");
    }
}
