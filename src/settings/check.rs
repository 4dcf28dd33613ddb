//! Health thresholds for `pgq check` and `pgq metrics --alert-rules`: from
//! the flags, else the `[check]` table of config.toml (keys mirror the
//! flags; a flag given wins over its key).

use std::time::Duration;

use serde::Deserialize;

use super::duration::parse_duration;

/// Below this a failure rate is noise (a handful of jobs).
pub const MIN_WINDOW: Duration = Duration::from_secs(60);
/// The failure rate's window when none is given.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// A picked job whose heartbeat is older than this is stale (as `pgq stale`
/// and `pgq metrics --stale-after`).
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(300);

/// `--max-queued N` (all entrypoints together) or `--max-queued EP=N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedLimit {
    pub entrypoint: Option<String>,
    pub limit: u64,
}

impl std::fmt::Display for QueuedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.entrypoint {
            Some(ep) => write!(f, "{ep}={}", self.limit),
            None => write!(f, "{}", self.limit),
        }
    }
}

pub fn queued_limit(text: &str) -> Result<QueuedLimit, String> {
    let count = |n: &str| {
        n.trim()
            .parse::<u64>()
            .map_err(|_| format!("{text:?}: expected N or ENTRYPOINT=N, N a whole number"))
    };
    match text.rsplit_once('=') {
        Some((ep, _)) if ep.trim().is_empty() => {
            Err(format!("{text:?}: the entrypoint before = is blank"))
        }
        Some((ep, n)) => Ok(QueuedLimit {
            entrypoint: Some(ep.to_string()),
            limit: count(n)?,
        }),
        None => Ok(QueuedLimit {
            entrypoint: None,
            limit: count(text)?,
        }),
    }
}

/// A percentage from 0 to 100.
pub fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text:?}: a percentage is from 0 to 100"))
    }
}

/// The thresholds; `None` (or empty) means not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub max_oldest_queued: Option<Duration>,
    pub max_queued: Vec<QueuedLimit>,
    pub max_held: Option<u64>,
    pub max_stale: Option<u64>,
    /// Percent of the jobs finished in `window` that failed.
    pub max_failure_rate: Option<f64>,
    pub window: Option<Duration>,
    pub max_schedule_lateness: Option<Duration>,
    pub stale_after: Option<Duration>,
}

/// The flags that set a threshold, for the message when none is set.
pub const FLAGS: &str = "--max-oldest-queued D, --max-queued N|EP=N, --max-held N, --max-stale N, --max-failure-rate PCT [--window D], --max-schedule-lateness D";

impl Thresholds {
    /// Whether nothing would be checked.
    pub fn is_empty(&self) -> bool {
        self.max_oldest_queued.is_none()
            && self.max_queued.is_empty()
            && self.max_held.is_none()
            && self.max_stale.is_none()
            && self.max_failure_rate.is_none()
            && self.max_schedule_lateness.is_none()
    }

    /// These thresholds (the flags), each missing one taken from `defaults`
    /// (config.toml).
    pub fn or(self, defaults: &Thresholds) -> Thresholds {
        Thresholds {
            max_oldest_queued: self.max_oldest_queued.or(defaults.max_oldest_queued),
            max_queued: if self.max_queued.is_empty() {
                defaults.max_queued.clone()
            } else {
                self.max_queued
            },
            max_held: self.max_held.or(defaults.max_held),
            max_stale: self.max_stale.or(defaults.max_stale),
            max_failure_rate: self.max_failure_rate.or(defaults.max_failure_rate),
            window: self.window.or(defaults.window),
            max_schedule_lateness: self
                .max_schedule_lateness
                .or(defaults.max_schedule_lateness),
            stale_after: self.stale_after.or(defaults.stale_after),
        }
    }

    /// Wrong use that no database could make right.
    pub fn validate(&self) -> Result<(), String> {
        if self.is_empty() {
            return Err(format!(
                "no thresholds to check: give at least one of {FLAGS}, or set them in the [check] table of config.toml"
            ));
        }
        if let Some(window) = self.window
            && window < MIN_WINDOW
        {
            return Err(format!(
                "--window {}s is too short for a failure rate: at least 1m",
                window.as_secs_f64()
            ));
        }
        Ok(())
    }

    pub fn window(&self) -> Duration {
        self.window.unwrap_or(DEFAULT_WINDOW)
    }

    pub fn stale_after(&self) -> Duration {
        self.stale_after.unwrap_or(DEFAULT_STALE_AFTER)
    }
}

/// A duration as written in config.toml: `"5m"` or a number of seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum DurationValue {
    Seconds(f64),
    Text(String),
}

impl DurationValue {
    fn get(&self, key: &str) -> Result<Duration, String> {
        match self {
            DurationValue::Seconds(s) => super::duration::from_seconds(*s),
            DurationValue::Text(t) => parse_duration(t),
        }
        .map_err(|e| format!("check.{key}: {e}"))
    }
}

/// `max_queued` as written: `1000`, `"resize=500"`, or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum QueuedValue {
    One(OneQueued),
    Many(Vec<OneQueued>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneQueued {
    Count(u64),
    Text(String),
}

impl OneQueued {
    fn get(&self) -> Result<QueuedLimit, String> {
        match self {
            OneQueued::Count(n) => Ok(QueuedLimit {
                entrypoint: None,
                limit: *n,
            }),
            OneQueued::Text(t) => queued_limit(t),
        }
        .map_err(|e| format!("check.max_queued: {e}"))
    }
}

/// The `[check]` table as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    max_oldest_queued: Option<DurationValue>,
    max_queued: Option<QueuedValue>,
    max_held: Option<u64>,
    max_stale: Option<u64>,
    max_failure_rate: Option<f64>,
    window: Option<DurationValue>,
    max_schedule_lateness: Option<DurationValue>,
    stale_after: Option<DurationValue>,
}

impl RawCheck {
    pub fn thresholds(&self) -> Result<Thresholds, String> {
        let duration = |value: &Option<DurationValue>, key: &str| {
            value.as_ref().map(|v| v.get(key)).transpose()
        };
        let max_queued = match &self.max_queued {
            None => Vec::new(),
            Some(QueuedValue::One(one)) => vec![one.get()?],
            Some(QueuedValue::Many(many)) => {
                many.iter().map(OneQueued::get).collect::<Result<_, _>>()?
            }
        };
        let max_failure_rate = self
            .max_failure_rate
            .map(|p| percent(&p.to_string()).map_err(|e| format!("check.max_failure_rate: {e}")))
            .transpose()?;
        let thresholds = Thresholds {
            max_oldest_queued: duration(&self.max_oldest_queued, "max_oldest_queued")?,
            max_queued,
            max_held: self.max_held,
            max_stale: self.max_stale,
            max_failure_rate,
            window: duration(&self.window, "window")?,
            max_schedule_lateness: duration(&self.max_schedule_lateness, "max_schedule_lateness")?,
            stale_after: duration(&self.stale_after, "stale_after")?,
        };
        if let Some(window) = thresholds.window
            && window < MIN_WINDOW
        {
            return Err("check.window: at least 1m (a failure rate over less is noise)".into());
        }
        Ok(thresholds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_limits_and_percentages() {
        assert_eq!(
            queued_limit("resize=500"),
            Ok(QueuedLimit {
                entrypoint: Some("resize".into()),
                limit: 500
            })
        );
        assert_eq!(queued_limit("12").unwrap().entrypoint, None);
        for bad in ["", "=5", "x", "a=-1", "a=1.5"] {
            assert!(queued_limit(bad).is_err(), "{bad}");
        }
        assert_eq!(percent("5%"), Ok(5.0));
        assert!(percent("101").is_err());
        assert!(percent("-1").is_err());
    }

    #[test]
    fn flags_win_over_config_key_by_key() {
        let config = Thresholds {
            max_held: Some(3),
            max_stale: Some(1),
            max_queued: vec![queued_limit("100").unwrap()],
            ..Thresholds::default()
        };
        let flags = Thresholds {
            max_held: Some(0),
            ..Thresholds::default()
        };
        let merged = flags.or(&config);
        assert_eq!(merged.max_held, Some(0));
        assert_eq!(merged.max_stale, Some(1));
        assert_eq!(merged.max_queued.len(), 1);
    }
}
