//! The worker's two connections and the prepared statements they run.
//!
//! `control` LISTENs and dequeues; `writer` writes completions, heartbeats,
//! retries, aggregation and schedules. Two connections let PostgreSQL work on
//! a dequeue and a completion batch at the same time (one connection's
//! statements run one after another), which is most of the throughput gain
//! over a single-connection worker. Both are replaced together on reconnect.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_postgres::Notification;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::transient::retrying;
use super::{Job, LiveEvents, sql};
use crate::actions::DbErrorText;
use crate::db::client::{Client, Statement};
use crate::db::connect::{self, ConnectError};
use crate::db::listener::{ListenError, listen_on};
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;

/// A database failure that ends a connection cycle: one line for the log,
/// and the server's error when there was one, so callers match on its
/// SQLSTATE instead of the text. Shared (`Arc`) because the failure is
/// cloned into the log, the backoff and the final error.
#[derive(Debug, Clone)]
pub struct DbFailure {
    message: String,
    source: Option<Arc<tokio_postgres::Error>>,
}

impl DbFailure {
    /// A failure the server did not report (a lost connection, a LISTEN
    /// that stopped answering).
    pub(crate) fn without_server_error(message: impl Into<String>) -> Self {
        DbFailure {
            message: message.into(),
            source: None,
        }
    }

    /// The same failure with more said about its consequences.
    pub(crate) fn and_then(mut self, consequence: &str) -> Self {
        self.message = format!("{}; {consequence}", self.message);
        self
    }

    /// The SQLSTATE the server reported, if the server reported the failure.
    pub fn sql_state(&self) -> Option<&SqlState> {
        self.source.as_deref().and_then(tokio_postgres::Error::code)
    }
}

impl std::fmt::Display for DbFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DbFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

fn failure(context: &str) -> impl FnOnce(tokio_postgres::Error) -> DbFailure {
    move |e| DbFailure {
        message: format!("{context}: {}", DbErrorText(&e)),
        source: Some(Arc::new(e)),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The schema is missing something a 1.6 worker needs: never retried.
    #[error("{0}")]
    Schema(String),
    #[error("{0}")]
    Db(DbFailure),
    /// A hot standby: no LISTEN, no writes (retried: it may be promoted).
    #[error("{0}")]
    Standby(String),
}

/// What shape of dequeue this worker needs; fixed for its lifetime.
#[derive(Debug, Clone)]
pub struct DequeueParams {
    pub batch_size: i64,
    pub entrypoints: Vec<String>,
    pub limits: Vec<i64>,
    pub global_limit: Option<i64>,
    pub heartbeat_secs: f64,
    pub queue_manager_id: Uuid,
    /// Connections that dequeue in parallel (1 = the control connection only).
    pub connections: u32,
    /// Start on a schema newer than the one pgq writes.
    pub allow_newer_schema: bool,
}

impl DequeueParams {
    /// Whether a per-entrypoint concurrency limit applies, counting the
    /// jobs every worker holds.
    pub fn capacity_gated(&self) -> bool {
        self.limits.iter().any(|l| *l > 0)
    }
}

/// Log rows one aggregation statement folds (about 10 ms of work).
const AGGREGATE_BATCH: i64 = 1_000;

pub struct Db {
    pub control: Client,
    pub writer: Client,
    /// Where this worker LISTENs, if anywhere.
    listening: Listening,
    /// Extra connections that only dequeue (`RunOptions::dequeue_connections`
    /// beyond the first), each with its own prepared statement.
    lanes: Vec<(Client, Statement)>,
    names: ObjectNames,
    dequeue: Statement,
    work_probe: Statement,
    log_jobs: Statement,
    heartbeat: Statement,
    retry: Statement,
    return_to_queue: Statement,
    aggregate: Statement,
}

enum Listening {
    /// On `control` (PGQueuer's way).
    Control,
    /// On a direct connection of its own (`--listen-dsn`).
    Own(Client),
    /// Nowhere: the worker polls.
    Off,
}

pub struct Opened {
    pub db: Db,
    pub notifications: mpsc::UnboundedReceiver<Notification>,
}

/// Answer of the §8.2 probe after an empty dequeue.
pub struct WorkProbe {
    pub eligible: bool,
    pub eta: Option<Duration>,
    pub queued: bool,
}

/// A worker knows PGQueuer 1.6.0's schema: on a newer one (2.x) it does not
/// start, as PGQueuer's own workers refuse a schema they do not know.
async fn refuse_newer(client: &Client, names: &ObjectNames) -> Result<(), OpenError> {
    let live = crate::db::catalog::inspect(client, names)
        .await
        .map_err(|e| OpenError::Db(failure("reading the catalog")(e)))?;
    let newer = crate::schema::generations::newer(&live, names);
    if newer.is_empty() {
        return Ok(());
    }
    let objects: Vec<String> = newer.iter().map(ToString::to_string).collect();
    Err(OpenError::Schema(format!(
        "the PgQueuer schema ({names}) is newer than {}, the one this worker knows: {}. \
         Run a worker of that PGQueuer release, or pass --allow-newer-schema to run anyway at your own risk \
         (2.0 changed what cancelling a running job means).",
        crate::schema::generations::WRITTEN,
        objects.join("; ")
    )))
}

impl Db {
    /// Connect both connections, check the schema, LISTEN, prepare.
    pub async fn open(
        settings: &ConnectionSettings,
        names: &ObjectNames,
        params: &DequeueParams,
        live_events: &LiveEvents,
    ) -> Result<Opened, OpenError> {
        let control = connect::connect(settings).await?;
        let writer = connect::connect(settings).await?;
        let check = control
            .client
            .query_one(&sql::verify_structure(names), &[])
            .await
            .map_err(|e| OpenError::Db(failure("checking the PgQueuer schema")(e)))?;
        let missing: Vec<String> = check
            .columns()
            .iter()
            .enumerate()
            .filter(|(i, _)| !check.get::<_, bool>(*i))
            .map(|(_, c)| c.name().to_string())
            .collect();
        // Without a table, its columns and indexes are missing too: name the tables only.
        let tables: Vec<String> = missing
            .iter()
            .filter(|m| m.starts_with("table "))
            .cloned()
            .collect();
        let missing = if tables.is_empty() { missing } else { tables };
        if !missing.is_empty() {
            return Err(OpenError::Schema(format!(
                "the PgQueuer schema ({names}) lacks what a 1.6 worker needs: {}. Run 'pgq upgrade' (or 'pgq install').",
                missing.join(", ")
            )));
        }
        if !params.allow_newer_schema {
            refuse_newer(&control.client, names).await?;
        }
        // The control connection both LISTENs and dequeues, so it LISTENs
        // through the shared helper rather than being a `Listener`; its
        // liveness check is the health-check echo (engine/tasks.rs), as in PGQueuer.
        let listen_failed = |e| match e {
            ListenError::Standby { reason, .. } => OpenError::Standby(reason),
            ListenError::Listen { channel, source } => {
                OpenError::Db(failure(&format!("LISTEN {channel}"))(source))
            }
            other => OpenError::Db(DbFailure::without_server_error(other.to_string())),
        };
        let (listening, notifications) = match live_events {
            LiveEvents::Main => {
                listen_on(&control.client, &settings.target(), &names.channel)
                    .await
                    .map_err(listen_failed)?;
                (Listening::Control, control.notifications)
            }
            LiveEvents::Direct(direct) => {
                let conn = connect::connect(direct).await?;
                listen_on(&conn.client, &direct.target(), &names.channel)
                    .await
                    .map_err(listen_failed)?;
                (Listening::Own(conn.client), conn.notifications)
            }
            // Nothing arrives, but the channel still ends with the control
            // connection, which is how the router notices a lost server.
            LiveEvents::Off => (Listening::Off, control.notifications),
        };
        let c = &control.client;
        let w = &writer.client;
        let dequeue_sql = sql::dequeue(
            names,
            params.capacity_gated(),
            params.global_limit.is_some(),
        );
        let p = |e| OpenError::Db(failure("preparing the worker statements")(e));
        let probe_sql = sql::work_probe(names);
        let (dequeue, work_probe) =
            tokio::try_join!(c.prepare(&dequeue_sql), c.prepare(&probe_sql)).map_err(p)?;
        let texts = [
            sql::log_jobs(names),
            sql::heartbeat(names),
            sql::retry(names),
            sql::return_to_queue(names),
            sql::aggregate_logs(names),
        ];
        let mut lanes = Vec::new();
        // Parallel dequeues would each see the same headroom under
        // --max-concurrent-tasks and could together exceed it, so a budget
        // keeps dequeuing on one connection (statements there run in order).
        let connections = if params.global_limit.is_some() {
            1
        } else {
            params.connections.max(1)
        };
        for _ in 1..connections {
            let lane = connect::connect(settings).await?;
            let stmt = lane.client.prepare(&dequeue_sql).await.map_err(p)?;
            lanes.push((lane.client, stmt));
        }
        let (log_jobs, heartbeat, retry, return_to_queue, aggregate) = tokio::try_join!(
            w.prepare(&texts[0]),
            w.prepare(&texts[1]),
            w.prepare(&texts[2]),
            w.prepare(&texts[3]),
            w.prepare(&texts[4]),
        )
        .map_err(p)?;
        Ok(Opened {
            db: Db {
                control: control.client,
                writer: writer.client,
                listening,
                lanes,
                names: names.clone(),
                dequeue,
                work_probe,
                log_jobs,
                heartbeat,
                retry,
                return_to_queue,
                aggregate,
            },
            notifications,
        })
    }

    /// How many connections dequeue (the control connection and the lanes).
    pub fn dequeue_lanes(&self) -> usize {
        1 + self.lanes.len()
    }

    /// Claim up to a batch. A deadlock or serialization failure is tried
    /// again a few times; losing a capacity-slot race (23505 on the slot
    /// index) or still deadlocking (40P01) then means "nothing for us now",
    /// as in Python.
    pub async fn dequeue(&self, p: &DequeueParams, lane: usize) -> Result<Vec<Job>, DbFailure> {
        let limits;
        let mut args: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![
            &p.batch_size,
            &p.entrypoints,
            &p.queue_manager_id,
            &p.heartbeat_secs,
        ];
        if p.capacity_gated() {
            limits = p.limits.clone();
            args.push(&limits);
        }
        if let Some(global) = &p.global_limit {
            args.push(global);
        }
        let (client, statement) = match lane.checked_sub(1).and_then(|i| self.lanes.get(i)) {
            Some((client, statement)) => (client, statement),
            None => (&self.control, &self.dequeue),
        };
        let rows = match retrying("dequeue", || client.query(statement, &args)).await {
            Ok(rows) => rows,
            Err(e) if self.lost_slot_race(&e) => return Ok(Vec::new()),
            Err(e) => return Err(failure("dequeue")(e)),
        };
        Ok(rows
            .iter()
            .map(|r| Job {
                id: r.get(0),
                priority: r.get(1),
                entrypoint: r.get(2),
                payload: r.get(3),
                headers: r.get(4),
                attempts: r.get(5),
                created: r.get(6),
                execute_after: r.get(7),
                queue_manager_id: p.queue_manager_id,
            })
            .collect())
    }

    fn lost_slot_race(&self, e: &tokio_postgres::Error) -> bool {
        let Some(db) = e.as_db_error() else {
            return false;
        };
        let slot_index = format!("{}_picked_slot_idx", self.names.queue_table);
        match db.code().code() {
            "40P01" => true,
            "23505" => db.constraint() == Some(slot_index.as_str()),
            _ => false,
        }
    }

    pub async fn work_probe(&self, entrypoints: &[String]) -> Result<WorkProbe, DbFailure> {
        let row = self
            .control
            .query_one(&self.work_probe, &[&entrypoints])
            .await
            .map_err(failure("probing the queue"))?;
        Ok(WorkProbe {
            eligible: row.get(0),
            eta: row
                .get::<_, Option<f64>>(1)
                .map(|s| Duration::from_secs_f64(s.max(0.0))),
            queued: row.get(2),
        })
    }

    pub async fn log_jobs(
        &self,
        ids: &[i64],
        statuses: &[&str],
        tracebacks: &[Option<String>],
    ) -> Result<(), DbFailure> {
        retrying("logging finished jobs", || async move {
            self.writer
                .execute(&self.log_jobs, &[&ids, &statuses, &tracebacks])
                .await
        })
        .await
        .map(|_| ())
        .map_err(failure("logging finished jobs"))
    }

    pub async fn heartbeat(&self, ids: &[i64]) -> Result<(), DbFailure> {
        retrying("heartbeat", || async move {
            self.writer.execute(&self.heartbeat, &[&ids]).await
        })
        .await
        .map(|_| ())
        .map_err(failure("heartbeat"))
    }

    pub async fn retry(&self, id: i64, delay: Duration, traceback: &str) -> Result<(), DbFailure> {
        let delay = delay.as_secs_f64();
        retrying("re-queueing a job for retry", || async move {
            self.writer
                .execute(&self.retry, &[&id, &delay, &traceback])
                .await
        })
        .await
        .map(|_| ())
        .map_err(failure("re-queueing a job for retry"))
    }

    /// Hand jobs back to `queued`, then wake idle workers with a synthetic
    /// table event (an UPDATE fires no NOTIFY of its own).
    pub async fn return_to_queue(&self, ids: &[i64], qm: Uuid) -> Result<(), DbFailure> {
        retrying("returning jobs to the queue", || async move {
            self.writer
                .execute(&self.return_to_queue, &[&ids, &qm])
                .await
        })
        .await
        .map_err(failure("returning jobs to the queue"))?;
        let table = self
            .names
            .queue_table
            .rsplit('.')
            .next()
            .unwrap_or(&self.names.queue_table);
        let event = serde_json::json!({
            "channel": self.names.channel,
            "operation": "update",
            "sent_at": utc_now_text(),
            "table": table,
            "type": "table_changed_event",
        });
        self.notify(&event.to_string()).await
    }

    /// Fold the log into the statistics table, a bounded batch per
    /// statement so outcomes written on this connection wait for one batch
    /// at most: a single statement over a busy worker's 30 s of log (90,000
    /// rows at 1,000 jobs/s) held them up for most of a second, and put
    /// everyone's commits behind its WAL. Gives up the rest to the next tick
    /// after `budget`, should the log grow faster than it folds.
    pub async fn aggregate(&self, budget: Duration) -> Result<(), DbFailure> {
        let started = std::time::Instant::now();
        loop {
            let what = "aggregating the log into statistics";
            let flagged: i64 = retrying(what, || async move {
                self.writer
                    .query_one(&self.aggregate, &[&AGGREGATE_BATCH])
                    .await
            })
            .await
            .map_err(failure(what))?
            .get(0);
            if flagged < AGGREGATE_BATCH || started.elapsed() >= budget {
                return Ok(());
            }
        }
    }

    /// NOTIFY on the installation's channel (from the LISTENing connection,
    /// as Python does, so a health probe tests the whole round trip).
    pub async fn notify(&self, payload: &str) -> Result<(), DbFailure> {
        self.listening_client()
            .unwrap_or(&self.control)
            .execute(
                "/* pgq */ SELECT pg_notify($1, $2)",
                &[&self.names.channel, &payload],
            )
            .await
            .map(|_| ())
            .map_err(failure("NOTIFY"))
    }

    /// Whether this worker LISTENs at all (else it only polls).
    pub fn listens(&self) -> bool {
        self.listening_client().is_some()
    }

    fn listening_client(&self) -> Option<&Client> {
        match &self.listening {
            Listening::Control => Some(&self.control),
            Listening::Own(client) => Some(client),
            Listening::Off => None,
        }
    }

    /// Re-issue LISTEN (harmless when still listening).
    pub async fn relisten(&self) -> Result<(), DbFailure> {
        let Some(client) = self.listening_client() else {
            return Ok(());
        };
        let listen = crate::settings::names::listen_statement(&self.names.channel);
        client
            .batch_execute(&listen)
            .await
            .map_err(failure("LISTEN"))
    }

    pub fn names(&self) -> &ObjectNames {
        &self.names
    }
}

/// `sent_at` as Python's pydantic writes it: UTC with `Z`, microseconds.
pub fn utc_now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
