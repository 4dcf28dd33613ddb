//! Delays as people type them: `90s`, `5m`, `1h30m`, `2d`, `250ms` or plain
//! seconds. Used by command-line flags, worker manifests and the console's
//! enqueue form, so all three accept the same spellings.

/// The longest delay, window or age pgq accepts. These go into SQL
/// intervals (`now() - window` leaves PostgreSQL's timestamp range for
/// windows of some 6,700 years, and then every query fails) and into
/// `Duration`, which panics on values beyond `u64` seconds; ten years is
/// more than any delay or window a queue needs.
pub const MAX_DAYS: u64 = 3650;
pub const MAX: std::time::Duration = std::time::Duration::from_secs(MAX_DAYS * 86_400);

/// A number of seconds as a duration: finite, not negative, at most [`MAX`].
pub fn from_seconds(seconds: f64) -> Result<std::time::Duration, String> {
    if seconds.is_nan() || seconds < 0.0 {
        return Err(format!("{seconds}: a delay must be zero or more seconds"));
    }
    if seconds > MAX.as_secs_f64() {
        return Err(format!(
            "{seconds} seconds is too long: the maximum is {MAX_DAYS}d ({} seconds)",
            MAX.as_secs()
        ));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

/// Parse a delay such as `90s`, `5m`, `1h30m`, `2d`, `250ms` or plain
/// seconds (`1.5`), at most [`MAX`].
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration".into());
    }
    if trimmed.starts_with('-') {
        return Err(format!("{text:?}: a delay cannot be negative"));
    }
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return within_max(text, seconds);
    }
    let mut total = 0f64;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{text:?}: missing unit (use ms, s, m, h or d)"))?;
        if digits == 0 {
            return Err(format!(
                "{text:?} is not a duration (examples: 90s, 5m, 1h30m, 2d)"
            ));
        }
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?} is not a duration"))?;
        let unit_len = rest[digits..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - digits);
        let unit = &rest[digits..digits + unit_len];
        let factor = match unit {
            "ms" => 0.001,
            "s" | "sec" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {unit:?} (use ms, s, m, h or d)"
                ));
            }
        };
        total += value * factor;
        rest = &rest[digits + unit_len..];
    }
    within_max(text, total)
}

fn within_max(text: &str, seconds: f64) -> Result<std::time::Duration, String> {
    if seconds.is_nan() {
        return Err(format!("{text:?} is not a duration"));
    }
    if seconds < 0.0 {
        return Err(format!("{text:?}: a delay cannot be negative"));
    }
    if seconds > MAX.as_secs_f64() {
        return Err(format!("{text:?} is too long: the maximum is {MAX_DAYS}d"));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["-5s", "-1", "abc", "5x", "", "m5", "nan"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("3650d"), Ok(MAX));
        for too_long in [
            "3651d",
            "10000000d",
            "1e300",
            "99999999999999999999999h",
            "inf",
        ] {
            let err = parse_duration(too_long).expect_err(too_long);
            assert!(err.contains("maximum is 3650d"), "{too_long}: {err}");
        }
        assert_eq!(from_seconds(1.5), Ok(Duration::from_millis(1500)));
        assert!(
            from_seconds(1e300)
                .unwrap_err()
                .contains("maximum is 3650d")
        );
        assert!(from_seconds(f64::NAN).is_err());
    }
}
