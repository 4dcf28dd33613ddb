//! The db task: owns the console's two connections (one for queries, one
//! that LISTENs), runs actions from the action layer, forwards NOTIFY events,
//! and reconnects by itself. The UI talks to it only through channels, so a
//! slow query or a dead server never freezes a frame.
//!
//! Refresh requests are coalesced: while one statistics query runs, further
//! requests collapse into one pending refresh (the newest window wins).
//! A Jobs page under a payload search may scan the whole queue: it runs on a
//! third connection opened for it, beside the other work, and
//! [`Request::CancelSearch`] drops it. A prune, which deletes batch after
//! batch for as long as old rows remain, also runs on a connection of its
//! own, so the tabs keep refreshing meanwhile.
//!
//! On a hot standby (a read replica) LISTEN is refused, so the task keeps
//! only the query connection, tells the UI ([`DbEvent::Standby`]) so tabs
//! poll instead, and asks the server every `standby_recheck` whether it has
//! been promoted; then it LISTENs and goes live without reconnecting.
//!
//! Live events are checked, not assumed: LISTEN goes to `--listen-dsn` when
//! given, and behind `--pooler transaction` without one it is not issued at
//! all (a pooled LISTEN lands on whichever server connection is free). After
//! LISTEN the task NOTIFYs a probe and expects its echo within
//! [`listener::ECHO_WITHIN`]; without one (or without LISTEN) it tells the UI
//! ([`DbEvent::LiveEvents`]) so tabs live on their clock, as on a standby.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::actions::audit::AuditTrail;
use crate::actions::batches::{self, Batches};
use crate::actions::preview::{Preview, preview};
use crate::actions::record::recording;
use crate::actions::{self, Action, DbErrorText, Outcome, Session, kinds};
use crate::console::listening::{Change, Listening};
use crate::db::connect;
use crate::db::listener::{
    self, Backoff, ListenConnection, ListenSpec, PROBE_EVERY, PROBE_TIMEOUT,
};
use crate::db::recovery;
use crate::events::Received;
use crate::settings::conn::ConnectionSettings;
use crate::settings::names::ObjectNames;
use crate::settings::names::{listen_statement, unlisten_statement};

/// How many held jobs the Held tab loads.
pub const HELD_LIMIT: u32 = 500;
/// How many of each worker's jobs the Workers tab loads.
pub const WORKER_JOBS_LIMIT: u32 = 200;

/// NOTIFY events are handed to the UI in batches at most this often: at
/// hundreds a second, a wake-up of the UI per event cost more than the
/// events themselves, and nobody reads faster.
const NOTIFY_BATCH: Duration = Duration::from_millis(100);

/// Server-side guards for the console's own statements.
const NOT_CONNECTED: &str = "not connected to the database; retrying";
const SESSION_SETUP: &str = "SET statement_timeout = '30s'; SET lock_timeout = '5s'";

/// Data a tab shows; refreshes of the same view coalesce.
#[derive(Debug, Clone, PartialEq)]
pub enum View {
    /// The Stats tab's counts, with the latency percentiles when asked.
    Stats(kinds::QueueStats),
    Schedules,
    Tables,
    Held,
    Workers,
    /// When each entrypoint was last picked (asked after each Workers refresh).
    LastPicked,
    /// A page of the Jobs tab (its filter, history switch and cursor).
    Jobs(Box<kinds::ListJobs>),
    /// One job's detail; `known_payload` is the SHA-256 of the payload
    /// already on screen, which is then not sent again.
    Job {
        id: i64,
        known_payload: Option<Vec<u8>>,
    },
}

impl View {
    fn action(&self) -> Action {
        match self {
            View::Stats(stats) => stats.clone().into(),
            View::Schedules => kinds::ListSchedules.into(),
            View::Tables => kinds::TableInfo.into(),
            View::Held => kinds::HeldJobs { limit: HELD_LIMIT }.into(),
            View::Workers => kinds::Workers {
                stale_after: crate::actions::reports::workers::STALE_AFTER,
                job_limit: WORKER_JOBS_LIMIT,
            }
            .into(),
            View::LastPicked => kinds::LastPicked {
                window: crate::actions::reports::workers::LAST_PICKED_WINDOW,
            }
            .into(),
            View::Jobs(list) => (**list).clone().into(),
            View::Job { id, known_payload } => kinds::ShowJob {
                id: *id,
                known_payload: known_payload.clone(),
            }
            .into(),
        }
    }

    /// A Jobs page under a payload search: it may scan the whole queue, so
    /// it runs on a connection of its own and can be canceled.
    fn is_search(&self) -> bool {
        matches!(self, View::Jobs(list) if list.filter.search.is_some())
    }

    fn same_kind(&self, other: &View) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

#[derive(Debug)]
pub enum Request {
    /// Reload a view (coalesced per view).
    Refresh(View),
    /// Compute what an action would do; answered by [`DbEvent::Previewed`].
    Preview { id: u64, action: Action },
    /// Run an action; answered by [`DbEvent::Done`] with the same id. A
    /// change that runs alone reports its batches to `watch`.
    Execute {
        id: u64,
        action: Action,
        watch: Batches,
    },
    /// Stop waiting for the backoff and try to connect now.
    Reconnect,
    /// Drop the running search (Esc); answered by a failed
    /// [`DbEvent::Refreshed`] for its view saying so.
    CancelSearch,
    /// Whether a tab on screen shows events (Events, Workers): while none
    /// does, a busy queue's NOTIFYs are not listened to (see
    /// [`crate::console::listening`]).
    EventsWanted(bool),
}

/// What a canceled search's view is answered with.
pub const SEARCH_CANCELED: &str = "search canceled (Esc)";

#[derive(Debug)]
pub enum DbEvent {
    Connecting {
        attempt: u32,
    },
    Connected {
        server_version: String,
    },
    Disconnected {
        error: String,
        attempt: u32,
        retry_in: Duration,
    },
    Refreshed {
        view: View,
        result: Result<Outcome, String>,
    },
    Notification(Received),
    /// Sent after `Connected` and again when it changes: `true` on a hot
    /// standby (no NOTIFY, writes refused), `false` on a primary.
    Standby(bool),
    /// Whether NOTIFY reaches the console: `false` when it does not LISTEN
    /// (a transaction pooler without `--listen-dsn`) or its probe got no
    /// echo in time, `true` once the echo came back.
    LiveEvents(bool),
    /// The console stopped listening because `rate` events a second came
    /// while no tab on screen showed them (`Some`), or listens again
    /// (`None`); tabs refresh by the clock meanwhile.
    EventsPaused(Option<u32>),
    /// Sent after `Connected`: what the installation has that is newer than
    /// the schema pgq writes (empty: nothing, or it could not be read).
    NewerSchema(Vec<String>),
    Previewed {
        id: u64,
        result: Result<Preview, String>,
    },
    Done {
        id: u64,
        result: Result<Outcome, String>,
        elapsed: Duration,
        /// The statements the action sent, as recorded while it ran.
        sql: Vec<String>,
    },
    /// The audit log could not be written (said once per process).
    AuditProblem(String),
}

/// What the db task needs to connect and LISTEN.
#[derive(Debug, Clone)]
pub struct Target {
    pub settings: ConnectionSettings,
    /// The objects' names, the NOTIFY channel among them.
    pub names: ObjectNames,
    pub read_only: bool,
    /// Where to LISTEN: the main connection's settings, a direct connection
    /// (`--listen-dsn`), or `None` behind a transaction pooler without one.
    pub listen: Option<ConnectionSettings>,
    /// How often a standby is asked whether it has been promoted.
    pub standby_recheck: Duration,
    /// Where the changes made from the console are logged.
    pub audit: Option<AuditTrail>,
}

pub struct DbHandle {
    pub requests: UnboundedSender<Request>,
    pub events: UnboundedReceiver<DbEvent>,
}

pub fn spawn(target: Target) -> DbHandle {
    let (req_tx, req_rx) = unbounded_channel();
    let (ev_tx, ev_rx) = unbounded_channel();
    // On stderr it would draw over the screen: the app flashes it instead.
    let problems = ev_tx.clone();
    actions::audit::report_problems_with(move |text| {
        let _ = problems.send(DbEvent::AuditProblem(text));
    });
    tokio::spawn(run(target, req_rx, ev_tx));
    DbHandle {
        requests: req_tx,
        events: ev_rx,
    }
}

#[derive(Default)]
struct Pending {
    views: Vec<View>,
    jobs: VecDeque<Job>,
    /// What the UI last said of events on screen (`None`: nothing yet,
    /// which counts as wanted); kept across reconnects.
    events_wanted: Option<bool>,
}

impl Pending {
    fn push(&mut self, request: Request) {
        match request {
            Request::Refresh(view) => {
                // The newest request of a kind replaces an older one (a new window).
                self.views.retain(|v| !v.same_kind(&view));
                self.views.push(view);
            }
            Request::Preview { id, action } => self.jobs.push_back(Job::Preview(id, action)),
            Request::Execute { id, action, .. } => self.jobs.push_back(Job::Execute(id, action)),
            Request::EventsWanted(wanted) => self.events_wanted = Some(wanted),
            Request::Reconnect | Request::CancelSearch => {}
        }
    }

    /// User actions first; a refresh can wait for them.
    fn take(&mut self) -> Option<Job> {
        if let Some(job) = self.jobs.pop_front() {
            return Some(job);
        }
        (!self.views.is_empty()).then(|| Job::Refresh(self.views.remove(0)))
    }
}

enum Job {
    Refresh(View),
    Preview(u64, Action),
    Execute(u64, Action),
}

async fn run(
    target: Target,
    mut requests: UnboundedReceiver<Request>,
    events: UnboundedSender<DbEvent>,
) {
    let mut pending = Pending::default();
    let mut attempt = 0u32;
    loop {
        if events
            .send(DbEvent::Connecting {
                attempt: attempt + 1,
            })
            .is_err()
        {
            return;
        }
        let error = match open(&target).await {
            Ok((session, server_version)) => {
                attempt = 0;
                tracing::info!(target = %session.target, "console connected");
                if events.send(DbEvent::Connected { server_version }).is_err() {
                    return;
                }
                // A 2.x installation: read as usual, and say so.
                let newer = crate::actions::schema::newer(&session)
                    .await
                    .unwrap_or_default();
                if events.send(DbEvent::NewerSchema(newer)).is_err() {
                    return;
                }
                match serve_session(&target, &session, &mut requests, &events, &mut pending).await {
                    Served::UiGone => return,
                    Served::Lost(reason) => reason,
                }
            }
            Err(e) => e,
        };
        attempt += 1;
        let retry_in = Backoff::RECONNECT.delay(attempt);
        tracing::warn!(%error, attempt, "console disconnected");
        if events
            .send(DbEvent::Disconnected {
                error,
                attempt,
                retry_in,
            })
            .is_err()
        {
            return;
        }
        // Wait out the backoff; actions cannot run meanwhile, refreshes wait.
        let sleep = tokio::time::sleep(retry_in);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                request = requests.recv() => match request {
                    None => return,
                    Some(Request::Reconnect) => break,
                    Some(Request::Execute { id, .. }) => {
                        let _ = events.send(DbEvent::Done {
                            id,
                            result: Err(NOT_CONNECTED.into()),
                            elapsed: Duration::ZERO,
                            sql: Vec::new(),
                        });
                    }
                    Some(Request::Preview { id, .. }) => {
                        let _ = events.send(DbEvent::Previewed {
                            id,
                            result: Err(NOT_CONNECTED.into()),
                        });
                    }
                    Some(other) => pending.push(other),
                },
            }
        }
    }
}

/// The query connection, set up, and the server's version.
async fn open(target: &Target) -> Result<(Session, String), String> {
    let session = connect_session(target).await?;
    let server_version = actions::run(&session, &kinds::ServerVersion, false)
        .await
        .map_err(|e| e.to_string())?;
    Ok((session, server_version))
}

/// A connection set up like the query connection (timeouts, read-only
/// mode): for the query connection and for the work that runs alone.
async fn connect_session(target: &Target) -> Result<Session, String> {
    let conn = connect::connect(&target.settings)
        .await
        .map_err(|e| e.to_string())?;
    // Not behind a transaction pooler (it would reach other clients'
    // statements): there the pooler's own `query_timeout` is the guard.
    conn.client
        .set_session(SESSION_SETUP)
        .await
        .map_err(|e| DbErrorText(&e).to_string())?;
    if target.read_only {
        crate::db::read_only::enforce(&conn.client)
            .await
            .map_err(|e| DbErrorText(&e).to_string())?;
    }
    Ok(Session {
        conn,
        names: target.names.clone(),
        target: target.settings.target(),
        read_only: target.read_only,
        audit: target.audit.clone(),
    })
}

/// The second connection, LISTENing on the channel.
async fn listen(
    target: &Target,
    settings: &ConnectionSettings,
) -> Result<ListenConnection, String> {
    let spec = ListenSpec {
        settings: settings.clone(),
        channel: target.names.channel.clone(),
        // It only listens; the query connection carries read-only mode.
        read_only: false,
    };
    ListenConnection::open(&spec)
        .await
        .map_err(|e| e.to_string())
}

/// Why a connected session ended for good.
enum Served {
    UiGone,
    Lost(String),
}

/// Why [`serve`] returned.
enum Ended {
    UiGone,
    Lost(String),
    /// The standby being served was promoted: time to LISTEN.
    Promoted,
}

/// Serve one connected session until it is lost: live with a listener on a
/// primary; on a standby without one until it is promoted, then live.
async fn serve_session(
    target: &Target,
    session: &Session,
    requests: &mut UnboundedReceiver<Request>,
    events: &UnboundedSender<DbEvent>,
    pending: &mut Pending,
) -> Served {
    loop {
        let standby = match recovery::in_recovery(session.client()).await {
            Ok(standby) => standby,
            Err(e) => return Served::Lost(DbErrorText(&e).to_string()),
        };
        let mode = match &target.listen {
            _ if standby => {
                tracing::info!(target = %session.target, "the server is a hot standby; polling without LISTEN");
                Mode::Standby(target.standby_recheck)
            }
            None => {
                tracing::info!("a transaction pooler without --listen-dsn: polling without LISTEN");
                Mode::Polling
            }
            Some(settings) => match listen(target, settings).await {
                Ok(listener) => Mode::Live(listener),
                Err(e) => return Served::Lost(e),
            },
        };
        if events.send(DbEvent::Standby(standby)).is_err() {
            return Served::UiGone;
        }
        if matches!(mode, Mode::Polling) && events.send(DbEvent::LiveEvents(false)).is_err() {
            return Served::UiGone;
        }
        match serve(target, session, mode, requests, events, pending).await {
            Ended::UiGone => return Served::UiGone,
            Ended::Lost(reason) => return Served::Lost(reason),
            Ended::Promoted => tracing::info!("the standby was promoted; going live"),
        }
    }
}

/// How [`serve`] learns about changes: NOTIFY on a listening connection, or
/// (on a standby, which cannot LISTEN) nothing, while it watches for a
/// promotion this often, or nothing at all (a transaction pooler without a
/// direct connection to LISTEN on).
enum Mode {
    Live(ListenConnection),
    Standby(Duration),
    Polling,
}

impl Mode {
    /// The next NOTIFY (the listener probes itself); never, on a standby.
    /// `Err`: the listening connection was lost.
    async fn notification(&mut self) -> Result<tokio_postgres::Notification, String> {
        match self {
            Mode::Live(listener) => listener.recv().await,
            Mode::Standby(_) | Mode::Polling => std::future::pending().await,
        }
    }
}

type InFlight<'a> = Pin<Box<dyn Future<Output = DbEvent> + Send + 'a>>;

async fn serve(
    target: &Target,
    session: &Session,
    mut mode: Mode,
    requests: &mut UnboundedReceiver<Request>,
    events: &UnboundedSender<DbEvent>,
    pending: &mut Pending,
) -> Ended {
    let mut in_flight: Option<InFlight<'_>> = None;
    // A search beside the other work, on its own connection: other tabs
    // refresh meanwhile, and Esc drops it (and with it its connection).
    let mut search: Option<(View, InFlight<'static>)> = None;
    let mut probe = tokio::time::interval(PROBE_EVERY);
    probe.tick().await; // the first tick is immediate
    // A primary stays one (a demoted primary restarts, ending the session).
    let mut recheck = match mode {
        Mode::Standby(every) => {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            // Ticks skipped while a job ran are not made up in a burst.
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Some(interval)
        }
        Mode::Live(_) | Mode::Polling => None,
    };
    // Events waiting for the next batch, and when it goes.
    let mut batch: Vec<Received> = Vec::new();
    let mut batch_due: Option<tokio::time::Instant> = None;
    // Our own NOTIFY must come back before events count as live.
    let mut echo = match &mode {
        Mode::Live(listener) => send_probe(listener, &target.names.channel).await,
        Mode::Standby(_) | Mode::Polling => None,
    };
    // Whether to stay listening while a busy queue's events are not shown.
    let mut listening = Listening::new(Instant::now(), pending.events_wanted.unwrap_or(true));
    loop {
        if in_flight.is_none() {
            in_flight = pending
                .take()
                .map(|job| Box::pin(run_job(session, job)) as InFlight<'_>);
        }
        let check_listening_at = listening_check(&mode, &listening, echo.is_some());
        tokio::select! {
            request = requests.recv() => match request {
                None => return Ended::UiGone,
                Some(Request::Refresh(view)) if view.is_search() => {
                    // The app asks for one Jobs page at a time; should a
                    // newer search come anyway, it replaces the one running.
                    let run = Box::pin(search_alone(target.clone(), view.clone()));
                    search = Some((view, run));
                }
                Some(Request::Execute { id, action, watch }) if action.runs_alone() => {
                    // A task of its own, like the search's connection: other
                    // tabs refresh meanwhile, and a lost query connection
                    // does not stop it.
                    let run = execute_alone(target.clone(), id, action, events.clone());
                    tokio::spawn(batches::watching(watch, run));
                }
                Some(Request::CancelSearch) => {
                    if let Some((view, _)) = search.take() {
                        let canceled = DbEvent::Refreshed { view, result: Err(SEARCH_CANCELED.into()) };
                        if events.send(canceled).is_err() {
                            return Ended::UiGone;
                        }
                    }
                }
                Some(Request::EventsWanted(wanted)) => {
                    pending.push(Request::EventsWanted(wanted));
                    if let Some(change) = listening.want(wanted, Instant::now())
                        && let Err(ended) = change_listening(&mode, target, change, events).await
                    {
                        return ended;
                    }
                }
                Some(r) => pending.push(r),
            },
            done = async { search.as_mut().expect("guarded by the if").1.as_mut().await }, if search.is_some() => {
                search = None;
                if events.send(done).is_err() {
                    return Ended::UiGone;
                }
            },
            notification = mode.notification() => match notification {
                Err(reason) => return Ended::Lost(reason),
                Ok(n) if echo.as_ref().is_some_and(|e| e.is_echo(n.payload())) => {
                    echo = None;
                    if events.send(DbEvent::LiveEvents(true)).is_err() {
                        return Ended::UiGone;
                    }
                }
                Ok(n) => {
                    listening.heard();
                    // A sample's events are only counted: for the UI the
                    // pause goes on.
                    if listening.reports() {
                        batch.push(
                            Received::new(n.payload(), chrono::Utc::now()).from_backend(n.process_id()),
                        );
                        batch_due.get_or_insert_with(|| tokio::time::Instant::now() + NOTIFY_BATCH);
                    }
                }
            },
            _ = sleep_until_some(batch_due) => {
                batch_due = None;
                for received in batch.drain(..) {
                    if events.send(DbEvent::Notification(received)).is_err() {
                        return Ended::UiGone;
                    }
                }
            },
            done = async { in_flight.as_mut().expect("guarded by the if").await }, if in_flight.is_some() => {
                in_flight = None;
                if events.send(done).is_err() {
                    return Ended::UiGone;
                }
                if session.conn.client.is_closed() {
                    return Ended::Lost("the query connection was closed".into());
                }
            },
            _ = sleep_until_some(check_listening_at) => {
                if let Some(change) = listening.check(Instant::now())
                    && let Err(ended) = change_listening(&mode, target, change, events).await
                {
                    return ended;
                }
            },
            _ = sleep_until_some(echo.as_ref().map(|e| e.due)) => {
                echo = None;
                tracing::warn!("our NOTIFY probe got no echo: no live events; polling");
                if events.send(DbEvent::LiveEvents(false)).is_err() {
                    return Ended::UiGone;
                }
            },
            _ = probe.tick() => {
                if session.conn.client.is_closed() {
                    return Ended::Lost("the query connection was closed".into());
                }
                // A live listener probes itself; on a standby or when
                // polling the query connection is the only one, so it is
                // probed here.
                if let Mode::Standby(_) | Mode::Polling = mode
                    && let Err(reason) = listener::probe(session.client()).await
                {
                    return Ended::Lost(reason);
                }
            },
            // Only between jobs, so no answer is lost when going live.
            _ = tick(&mut recheck), if in_flight.is_none() => {
                match tokio::time::timeout(PROBE_TIMEOUT, recovery::in_recovery(session.client())).await {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => return Ended::Promoted,
                    Ok(Err(e)) => return Ended::Lost(DbErrorText(&e).to_string()),
                    Err(_) => return Ended::Lost(format!("no answer to a probe within {}s", PROBE_TIMEOUT.as_secs())),
                }
            },
        }
    }
}

/// When [`serve`] must ask its [`Listening`] what to do: only while live,
/// and not before the probe's echo is back (a pause then would read as a
/// missing echo: "no live events").
fn listening_check(
    mode: &Mode,
    listening: &Listening,
    awaiting_echo: bool,
) -> Option<tokio::time::Instant> {
    match mode {
        Mode::Live(_) if !awaiting_echo => {
            listening.next_check().map(tokio::time::Instant::from_std)
        }
        Mode::Live(_) | Mode::Standby(_) | Mode::Polling => None,
    }
}

/// UNLISTEN or LISTEN on the listening connection and tell the UI what it
/// needs to know (a sample is not its business). A failed statement means
/// a lost connection, as a failed probe does.
async fn change_listening(
    mode: &Mode,
    target: &Target,
    change: Change,
    events: &UnboundedSender<DbEvent>,
) -> Result<(), Ended> {
    let Mode::Live(listener) = mode else {
        return Ok(());
    };
    // The statement to send, and what the UI is told (if anything).
    let (statement, tell) = match change {
        Change::Unlisten { rate } => {
            tracing::info!(
                rate,
                "no tab on screen shows events and the queue is busy: not listening for a while"
            );
            (
                Some(unlisten_statement(&target.names.channel)),
                Some(Some(rate)),
            )
        }
        Change::Listen => (Some(listen_statement(&target.names.channel)), Some(None)),
        Change::Sample => (Some(listen_statement(&target.names.channel)), None),
        Change::Resumed => (None, Some(None)),
    };
    if let Some(statement) = statement
        && let Err(e) = listener.client().batch_execute(&statement).await
    {
        return Err(Ended::Lost(DbErrorText(&e).to_string()));
    }
    if let Some(paused) = tell
        && events.send(DbEvent::EventsPaused(paused)).is_err()
    {
        return Err(Ended::UiGone);
    }
    Ok(())
}

/// The echo [`serve`] waits for: our probe's id, and until when.
struct Echo {
    probe: listener::EchoProbe,
    due: tokio::time::Instant,
}

impl Echo {
    fn is_echo(&self, payload: &str) -> bool {
        self.probe.is_echo(payload)
    }
}

/// NOTIFY the probe from the listening connection. A failure to send it
/// leaves events unverified but live: the listener's own probe notices a
/// dead connection.
async fn send_probe(listener: &ListenConnection, channel: &str) -> Option<Echo> {
    let probe = listener::EchoProbe::new(channel);
    match probe.send(listener.client()).await {
        Ok(()) => Some(Echo {
            probe,
            due: tokio::time::Instant::now() + listener::ECHO_WITHIN,
        }),
        Err(e) => {
            tracing::warn!("cannot send the NOTIFY probe: {e}");
            None
        }
    }
}

/// Sleeps until `at`; never returns without one.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next tick; never without an interval.
async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Run a search's page on a connection opened for it (set up like the
/// query connection, read-only mode included), closed when it is done or
/// dropped. The server stops the scan by the search's statement timeout.
async fn search_alone(target: Target, view: View) -> DbEvent {
    match connect_session(&target).await {
        Ok(session) => run_job(&session, Job::Refresh(view)).await,
        Err(e) => DbEvent::Refreshed {
            view,
            result: Err(e),
        },
    }
}

/// Run an action on a connection opened for it (set up like the query
/// connection) and send its answer. Quitting the console drops the task and
/// its connection: the batch in progress rolls back, finished ones stay.
async fn execute_alone(target: Target, id: u64, action: Action, events: UnboundedSender<DbEvent>) {
    let done = match connect_session(&target).await {
        // Boxed, as the main loop's jobs are: an action's future is as large
        // as the largest action's, too large for a worker thread's stack
        // in a debug build.
        Ok(session) => Box::pin(run_job(&session, Job::Execute(id, action))).await,
        Err(e) => DbEvent::Done {
            id,
            result: Err(e),
            elapsed: Duration::ZERO,
            sql: Vec::new(),
        },
    };
    let _ = events.send(done);
}

async fn run_job(session: &Session, job: Job) -> DbEvent {
    match job {
        Job::Refresh(view) => {
            let result = actions::execute(session, &view.action(), false)
                .await
                .map_err(|e| e.to_string());
            DbEvent::Refreshed { view, result }
        }
        Job::Preview(id, action) => DbEvent::Previewed {
            id,
            result: preview(session, &action).await.map_err(|e| e.to_string()),
        },
        Job::Execute(id, action) => {
            let started = Instant::now();
            let (result, sql) = recording(actions::execute(session, &action, false)).await;
            DbEvent::Done {
                id,
                result: result.map_err(|e| e.to_string()),
                elapsed: started.elapsed(),
                sql,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::reports::stats::StatsWindow;

    #[test]
    fn refreshes_coalesce_and_actions_go_first() {
        let mut p = Pending::default();
        p.push(Request::Refresh(View::Stats(kinds::QueueStats {
            window: StatsWindow::OneHour,
            latency: true,
        })));
        p.push(Request::Refresh(View::Schedules));
        p.push(Request::Refresh(View::Stats(kinds::QueueStats {
            window: StatsWindow::FiveMinutes,
            latency: true,
        })));
        p.push(Request::Refresh(View::Schedules));
        p.push(Request::Execute {
            id: 7,
            action: kinds::Backlog.into(),
            watch: Batches::default(),
        });
        assert!(matches!(
            p.take(),
            Some(Job::Execute(7, Action::Backlog(_)))
        ));
        assert!(matches!(
            p.take(),
            Some(Job::Refresh(View::Stats(kinds::QueueStats {
                window: StatsWindow::FiveMinutes,
                latency: true
            })))
        ));
        assert!(matches!(p.take(), Some(Job::Refresh(View::Schedules))));
        assert!(p.take().is_none());
    }
}
