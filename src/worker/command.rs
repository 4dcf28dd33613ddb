//! The command executor: a job runs as a child process.
//!
//! The payload goes to stdin; the job's metadata goes into `PGQ_JOB_ID`,
//! `PGQ_ENTRYPOINT`, `PGQ_PRIORITY`, `PGQ_ATTEMPTS`, `PGQ_HEADERS` (JSON) and
//! `PGQ_QUEUE_MANAGER_ID`; exit status 0 is success. Each line the command
//! writes to stdout or stderr becomes a worker log line carrying the job id,
//! within the manifest's output limits (see `command_output`).
//!
//! The command inherits the worker's environment except the variables that
//! carry the worker's own database secrets ([`CONNECTION_SECRETS`]), unless
//! the manifest says `pass_database_env = true` or names them in `env`.
//!
//! The child gets its own process group: a Ctrl-C on the worker's terminal
//! reaches only the worker, which then lets running jobs finish. Stopping a
//! command (cancellation, timeout, forced shutdown) sends SIGTERM to the
//! group, then SIGKILL after `kill_grace`. On Linux a command also gets
//! SIGTERM when the worker process dies.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::process::Command;

use super::command_output::{self, LogBudget, StreamReport};
use super::manifest::{CommandSpec, ExecutorSpec};
use super::{Handler, JobContext, JobError, ScheduleHandler, builtin, log};

/// Lines of stderr kept for the traceback of a failed command.
const STDERR_TAIL: usize = 20;

/// The variables through which the worker may have been given its database
/// password: the password itself and the DSNs `pgq` connects with (`--dsn`'s
/// variable and PGQueuer's), either of which can hold one (see
/// `settings::conn`). A job that prints its environment would put them into
/// the log, so commands do not get them unless the manifest asks. A `--dsn`
/// typed on the command line is in no variable and never reaches a command.
/// `PGPASSFILE` stays: it names a file, which the command (the same user)
/// could read at its default path anyway.
const CONNECTION_SECRETS: &[&str] = &["PGPASSWORD", "PGDSN", "PGQUEUER_DSN"];

pub(crate) fn entrypoint_handler(spec: &ExecutorSpec, extra_args: &[String]) -> Handler {
    match spec {
        ExecutorSpec::Builtin(b) => builtin::job_handler(*b),
        ExecutorSpec::Command(c) => {
            let spec = Arc::new(with_args(c, extra_args));
            Arc::new(move |job, ctx| {
                let spec = spec.clone();
                Box::pin(async move {
                    let headers = match &job.headers {
                        Some(v) => v.to_string(),
                        None => Value::Null.to_string(),
                    };
                    let env = vec![
                        ("PGQ_JOB_ID", job.id.to_string()),
                        ("PGQ_ENTRYPOINT", job.entrypoint.clone()),
                        ("PGQ_PRIORITY", job.priority.to_string()),
                        ("PGQ_ATTEMPTS", job.attempts.to_string()),
                        ("PGQ_HEADERS", headers),
                        ("PGQ_QUEUE_MANAGER_ID", job.queue_manager_id.to_string()),
                    ];
                    let label = Label {
                        key: "job_id",
                        id: job.id,
                        entrypoint: job.entrypoint.clone(),
                    };
                    run(&spec, env, job.payload.unwrap_or_default(), ctx, label).await
                })
            })
        }
    }
}

pub(crate) fn schedule_handler(spec: &ExecutorSpec, extra_args: &[String]) -> ScheduleHandler {
    match spec {
        ExecutorSpec::Builtin(b) => builtin::schedule_handler(*b),
        ExecutorSpec::Command(c) => {
            let spec = Arc::new(with_args(c, extra_args));
            Arc::new(move |fire, ctx| {
                let spec = spec.clone();
                Box::pin(async move {
                    let env = vec![
                        ("PGQ_SCHEDULE_ID", fire.id.to_string()),
                        ("PGQ_ENTRYPOINT", fire.entrypoint.clone()),
                        ("PGQ_EXPRESSION", fire.expression.clone()),
                        (
                            "PGQ_SCHEDULE_NEXT_RUN",
                            fire.next_run
                                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        ),
                        ("PGQ_QUEUE_MANAGER_ID", ctx.queue_manager_id.to_string()),
                    ];
                    let label = Label {
                        key: "schedule_id",
                        id: fire.id,
                        entrypoint: fire.entrypoint.clone(),
                    };
                    run(&spec, env, Vec::new(), ctx, label).await
                })
            })
        }
    }
}

fn with_args(spec: &CommandSpec, extra_args: &[String]) -> CommandSpec {
    let mut spec = spec.clone();
    spec.argv.extend(extra_args.iter().cloned());
    spec
}

/// What the log lines of one run are tagged with.
struct Label {
    key: &'static str,
    id: i64,
    entrypoint: String,
}

impl Label {
    fn fields(&self) -> Vec<log::Field<'static>> {
        vec![
            (self.key, Value::from(self.id)),
            ("entrypoint", Value::from(self.entrypoint.clone())),
        ]
    }
}

enum Ended {
    Exited(std::process::ExitStatus),
    Stopped,
    TimedOut,
}

async fn run(
    spec: &CommandSpec,
    env: Vec<(&'static str, String)>,
    stdin: Vec<u8>,
    mut ctx: JobContext,
    label: Label,
) -> Result<(), JobError> {
    let mut cmd = Command::new(&spec.argv[0]);
    if !spec.pass_database_env {
        for key in CONNECTION_SECRETS {
            cmd.env_remove(key);
        }
    }
    // Explicit `env` entries come last, so they also restore a withheld one.
    cmd.args(&spec.argv[1..])
        .envs(env)
        .envs(&spec.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    if let Some(dir) = &spec.workdir {
        cmd.current_dir(dir);
    }
    // If the worker dies (kill -9), its job is re-picked elsewhere after the
    // heartbeat timeout; the orphaned command must not keep running beside
    // the new attempt, so it gets SIGTERM when its parent goes away.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of ours; it
    // runs in the forked child before exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        JobError::new(
            "CommandNotStarted",
            format!("cannot start {:?}: {e}", spec.argv[0]),
        )
    })?;
    let pid = child.id();
    if let Some(mut input) = child.stdin.take() {
        // A command that does not read its stdin is fine: ignore EPIPE.
        tokio::spawn(async move {
            let _ = input.write_all(&stdin).await;
            let _ = input.shutdown().await;
        });
    }
    let budget = LogBudget::new(spec.output.max_log_bytes);
    let forward = |stream: Box<dyn AsyncRead + Send + Unpin>, name, keep| {
        tokio::spawn(command_output::forward(
            stream,
            name,
            label.fields(),
            keep,
            spec.output,
            budget.clone(),
        ))
    };
    let out = child
        .stdout
        .take()
        .map(|s| forward(Box::new(s), "stdout", 0));
    let err = child
        .stderr
        .take()
        .map(|s| forward(Box::new(s), "stderr", STDERR_TAIL));

    let timeout = async {
        match spec.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let ended = tokio::select! {
        status = child.wait() => match status {
            Ok(status) => Ended::Exited(status),
            Err(e) => return Err(JobError::new("CommandFailed", format!("waiting for the command: {e}"))),
        },
        _ = ctx.stopped() => Ended::Stopped,
        _ = timeout => Ended::TimedOut,
    };
    let ended = match ended {
        Ended::Exited(status) => Ended::Exited(status),
        other => {
            signal_group(pid, libc::SIGTERM);
            if tokio::time::timeout(spec.kill_grace, child.wait())
                .await
                .is_err()
            {
                log::warning(
                    &format!(
                        "command did not stop within {}s of SIGTERM; sending SIGKILL",
                        spec.kill_grace.as_secs_f64()
                    ),
                    &label.fields(),
                );
                signal_group(pid, libc::SIGKILL);
                let _ = child.wait().await;
            }
            other
        }
    };
    // The readers end at EOF; a grandchild holding the pipes open must not
    // hold the job, so wait briefly.
    let err = finished(err).await;
    let out = finished(out).await;
    command_output::report_cuts(&[&out, &err], spec.output, &label.fields());
    let tail = err.tail;
    let detail = || {
        let mut d = format!("command: {:?}", spec.argv);
        if !tail.is_empty() {
            d.push_str(&format!("\nstderr (last {} lines):\n", tail.len()));
            d.push_str(&tail.join("\n"));
        }
        d
    };
    match ended {
        Ended::Exited(status) if status.success() => Ok(()),
        Ended::Exited(status) => {
            use std::os::unix::process::ExitStatusExt;
            let message = match (status.code(), status.signal()) {
                (Some(code), _) => format!("exit status {code}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => "ended abnormally".to_string(),
            };
            Err(JobError::new("CommandFailed", message).with_detail(detail()))
        }
        Ended::TimedOut => Err(JobError::new(
            "TimeoutError",
            format!(
                "command ran longer than its timeout of {}s",
                spec.timeout.unwrap_or_default().as_secs_f64()
            ),
        )
        .with_detail(detail())),
        Ended::Stopped => Err(JobError::new("CancelledError", "the command was stopped")),
    }
}

fn signal_group(pid: Option<u32>, signal: i32) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: killpg has no memory-safety preconditions; the group is the
        // child's own (process_group(0)), so no unrelated process is hit.
        unsafe {
            libc::killpg(pid, signal);
        }
    }
}

/// A reader's report once it reached EOF, or an empty one if it did not
/// within a second (a grandchild may hold the pipe open).
async fn finished(reader: Option<tokio::task::JoinHandle<StreamReport>>) -> StreamReport {
    match reader {
        Some(h) => tokio::time::timeout(Duration::from_secs(1), h)
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_default(),
        None => StreamReport::default(),
    }
}
