//! The process's open-file limit (RLIMIT_NOFILE).
//!
//! systemd and most shells start services with a soft limit of 1,024 and a
//! far higher hard limit. A worker spends descriptors on every command job
//! (three pipes and the child's process handle) and the metrics server on
//! every connection, so `run` and `metrics` raise the soft limit to the hard
//! one at start: a process may do that without privileges. The metrics
//! server then sizes its connection cap from what the limit became.

/// The soft limit before and after [`raise_to_hard_limit`]; `u64::MAX` means
/// unlimited (Linux's `RLIM_INFINITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub before: u64,
    pub now: u64,
}

impl OpenFileLimit {
    /// One line for a debug log.
    pub fn raised(&self) -> bool {
        self.before != self.now
    }

    pub fn describe(&self) -> String {
        let show = |n: u64| {
            if n == u64::MAX {
                "unlimited".to_string()
            } else {
                n.to_string()
            }
        };
        if self.before == self.now {
            format!("open-file limit {}", show(self.now))
        } else {
            format!(
                "open-file limit raised from {} to {}",
                show(self.before),
                show(self.now)
            )
        }
    }
}

/// Raise the soft open-file limit to the hard limit; `Err` carries the
/// system's reason (the limit then stays as it was, which is not fatal).
pub fn raise_to_hard_limit() -> Result<OpenFileLimit, std::io::Error> {
    let mut limit = read()?;
    let before = limit.rlim_cur;
    if limit.rlim_cur != limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit reads the struct we own and changes only this
        // process's limit.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(OpenFileLimit {
        before,
        now: soft_limit(),
    })
}

/// The current soft limit (`u64::MAX` when unlimited or unreadable: the
/// callers size caps from it and treat both alike).
pub fn soft_limit() -> u64 {
    read().map_or(u64::MAX, |l| l.rlim_cur)
}

fn read() -> Result<libc::rlimit, std::io::Error> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes only into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(limit)
}
