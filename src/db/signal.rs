//! The stop signals the commands share: SIGINT, SIGTERM and SIGHUP.
//!
//! Each command picks the signals it handles (a console in raw mode gets
//! Ctrl-C as a key, so it takes SIGTERM and SIGHUP only) and installs them
//! before it connects, so a signal ends it cleanly at any point. Once a
//! handler exists the signal no longer kills the process, which is why the
//! set is chosen per command instead of always installing all three.

use std::future::Future;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Which stop signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Interrupt,
    Terminate,
    Hangup,
}

impl StopSignal {
    /// The signal's number, as logs print it (`Signal 15 received`).
    pub fn number(self) -> i32 {
        match self {
            StopSignal::Interrupt => libc::SIGINT,
            StopSignal::Terminate => libc::SIGTERM,
            StopSignal::Hangup => libc::SIGHUP,
        }
    }

    fn kind(self) -> SignalKind {
        match self {
            StopSignal::Interrupt => SignalKind::interrupt(),
            StopSignal::Terminate => SignalKind::terminate(),
            StopSignal::Hangup => SignalKind::hangup(),
        }
    }
}

/// A handler could not be installed (the runtime lacks signal support).
#[derive(Debug, thiserror::Error)]
#[error("cannot install signal handler: {0}")]
pub struct SignalError(#[from] std::io::Error);

/// Installed handlers for a chosen set of stop signals.
pub struct Signals {
    installed: Vec<(StopSignal, Signal)>,
}

impl Signals {
    /// SIGINT and SIGTERM: what a scripted command or worker stops on.
    pub fn interrupt_and_terminate() -> Result<Signals, SignalError> {
        Signals::install(&[StopSignal::Interrupt, StopSignal::Terminate])
    }

    pub fn install(which: &[StopSignal]) -> Result<Signals, SignalError> {
        let installed = which
            .iter()
            .map(|s| Ok((*s, signal(s.kind())?)))
            .collect::<Result<_, std::io::Error>>()?;
        Ok(Signals { installed })
    }

    /// The next stop signal; never, when none is installed.
    pub async fn recv(&mut self) -> StopSignal {
        std::future::poll_fn(|cx| {
            for (which, signal) in &mut self.installed {
                if signal.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*which);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    /// Run `fut` unless a stop signal arrives first (then `None`).
    pub async fn or_signal<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        tokio::select! {
            _ = self.recv() => None,
            out = fut => Some(out),
        }
    }
}
