//! Cron expressions as PGQueuer 1.6.0 stores and evaluates them.
//!
//! PGQueuer parses schedules with croniter: 5 fields (minute hour
//! day-of-month month day-of-week), an optional 6th field holding the
//! **seconds** (trailing, croniter's convention) and an optional 7th holding
//! the year. Before storing an expression it normalises it to croniter's
//! field list joined by single spaces: lower-cased, `@` aliases expanded,
//! whitespace collapsed. The schedules table is unique on
//! (expression, entrypoint), so a tool that normalised differently would
//! create a second row for the same schedule. Fire times are computed in UTC.
//!
//! Evaluation uses the `croner` crate, which puts seconds *first* when an
//! expression has six fields; [`to_croner`] reorders the fields and bridges
//! the dialect differences that matter (wrap-around ranges, `L5`/`W1`
//! spellings, the day-of-month/day-of-week OR rule). Known gaps, reported as
//! [`CronError::Unsupported`] rather than evaluated wrongly: wrap-around
//! ranges with a step (`50-10/2`) and croniter's hashed `H`/`R` fields (which
//! PGQueuer cannot use anyway, as it passes no hash id).

use chrono::{DateTime, Timelike, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("cron expression is empty")]
    Empty,
    #[error("@reboot is not a time-based schedule (croniter, and so PGQueuer, rejects it)")]
    Reboot,
    #[error(
        "cron expression {expr:?} has {count} fields; expected 5 (minute hour day month weekday), 6 (… seconds) or 7 (… seconds year)"
    )]
    FieldCount { expr: String, count: usize },
    #[error("invalid cron expression {expr:?}: {reason}")]
    Invalid { expr: String, reason: String },
    #[error("cron expression {expr:?} uses syntax pgq cannot evaluate: {reason}")]
    Unsupported { expr: String, reason: String },
    #[error("cron expression {expr:?} never fires after {after}")]
    NoFireTime { expr: String, after: DateTime<Utc> },
}

/// croniter's aliases (without a hash id) and what they expand to.
const ALIASES: [(&str, &str); 7] = [
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
];

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Field positions in croniter order, with their value ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Minute,
    Hour,
    Day,
    Month,
    Weekday,
    Second,
    Year,
}

impl Field {
    const ORDER: [Field; 7] = [
        Field::Minute,
        Field::Hour,
        Field::Day,
        Field::Month,
        Field::Weekday,
        Field::Second,
        Field::Year,
    ];

    fn range(self) -> (u32, u32) {
        match self {
            Field::Minute | Field::Second => (0, 59),
            Field::Hour => (0, 23),
            Field::Day => (1, 31),
            Field::Month => (1, 12),
            Field::Weekday => (0, 7),
            Field::Year => (1970, 2099),
        }
    }
}

/// The expression as PGQueuer stores it, e.g. `@hourly` → `0 * * * *`,
/// `0 9 * * MON-FRI` → `0 9 * * mon-fri`. Fails for anything croniter (and
/// so PGQueuer's `schedule()`) would reject, as far as pgq can tell.
pub fn normalize(expr: &str) -> Result<String, CronError> {
    let fields = croniter_fields(expr)?;
    let normalized = fields.join(" ");
    // Validate by building the evaluator; the result is discarded.
    to_croner(&normalized, &fields)?;
    Ok(normalized)
}

/// The next `n` fire times strictly after `after`, evaluated in UTC as
/// PGQueuer does.
pub fn next_fires(
    expr: &str,
    after: DateTime<Utc>,
    n: usize,
) -> Result<Vec<DateTime<Utc>>, CronError> {
    let fields = croniter_fields(expr)?;
    let cron = to_croner(&fields.join(" "), &fields)?;
    // croniter starts from the whole second: "strictly after 12:00:00.4" is
    // 12:00:01 for an every-second schedule, as it is after 12:00:00.
    let start = after.with_nanosecond(0).unwrap_or(after);
    let mut fires = Vec::with_capacity(n);
    let mut cursor = start;
    for _ in 0..n {
        match cron.find_next_occurrence(&cursor, false) {
            Ok(next) => {
                fires.push(next);
                cursor = next;
            }
            Err(_) if !fires.is_empty() => break,
            Err(_) => {
                return Err(CronError::NoFireTime {
                    expr: expr.to_string(),
                    after,
                });
            }
        }
    }
    Ok(fires)
}

/// croniter's field list: aliases expanded (exact, case-insensitive match of
/// the whole expression), lower-cased, split on ASCII whitespace.
fn croniter_fields(expr: &str) -> Result<Vec<String>, CronError> {
    let lower = expr.to_ascii_lowercase();
    if lower.trim() == "@reboot" {
        return Err(CronError::Reboot);
    }
    let expanded = ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower.as_str(), |(_, fields)| fields);
    let fields: Vec<String> = expanded
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect();
    match fields.len() {
        0 => Err(CronError::Empty),
        5..=7 => Ok(fields),
        count => Err(CronError::FieldCount {
            expr: expr.to_string(),
            count,
        }),
    }
}

/// Build a croner evaluator for croniter-ordered `fields`.
fn to_croner(expr: &str, fields: &[String]) -> Result<Cron, CronError> {
    let mut translated = Vec::with_capacity(7);
    for (field, text) in Field::ORDER.iter().zip(fields) {
        translated.push(translate_field(expr, *field, text)?);
    }
    let get = |i: usize, default: &str| translated.get(i).cloned().unwrap_or(default.to_string());
    let mut croner_fields = [
        get(5, "0"),
        get(0, "*"),
        get(1, "*"),
        get(2, "*"),
        get(3, "*"),
        get(4, "*"),
        get(6, "*"),
    ];
    let cron = parse_croner(expr, &croner_fields)?;
    // croniter applies cron's OR rule between day-of-month and day-of-week
    // only when neither field expands to "every day"; croner only checks for
    // a literal "*". Spell full ranges as "*" so both agree.
    let mut rewritten = false;
    if covers_all(&cron.pattern.days, 31) && croner_fields[3] != "*" {
        croner_fields[3] = "*".into();
        rewritten = true;
    }
    if covers_all(&cron.pattern.days_of_week, 7) && croner_fields[5] != "*" {
        croner_fields[5] = "*".into();
        rewritten = true;
    }
    if rewritten {
        parse_croner(expr, &croner_fields)
    } else {
        Ok(cron)
    }
}

fn covers_all(component: &croner::CronComponent, count: usize) -> bool {
    !component.has_modifiers() && component.values().len() >= count
}

fn parse_croner(expr: &str, fields: &[String; 7]) -> Result<Cron, CronError> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .build()
        .parse(&fields.join(" "))
        .map_err(|e| CronError::Invalid {
            expr: expr.to_string(),
            reason: e.to_string(),
        })
}

/// One croniter field in croner's spelling: names to numbers, wrap-around
/// ranges split, `l5` → `5L`, `w1` → `1W`; croner-only syntax rejected.
fn translate_field(expr: &str, field: Field, text: &str) -> Result<String, CronError> {
    let invalid = |reason: String| CronError::Invalid {
        expr: expr.to_string(),
        reason,
    };
    if text.contains('h') && !text.contains("thu") || text.starts_with('r') {
        return Err(CronError::Unsupported {
            expr: expr.to_string(),
            reason: "hashed (H) and random (R) fields need a hash id PGQueuer never passes".into(),
        });
    }
    if text.contains('+') || text.contains("#l") {
        return Err(invalid(format!("{text:?} is not croniter syntax")));
    }
    if text == "?" && !matches!(field, Field::Day | Field::Weekday) {
        return Err(invalid(format!(
            "'?' is only allowed in day fields, not {text:?}"
        )));
    }
    let mut parts = Vec::new();
    for item in text.split(',') {
        parts.push(translate_item(expr, field, item)?);
    }
    Ok(parts.join(","))
}

fn translate_item(expr: &str, field: Field, item: &str) -> Result<String, CronError> {
    let invalid = |reason: String| CronError::Invalid {
        expr: expr.to_string(),
        reason,
    };
    let item = replace_names(field, item);
    // croniter: last weekday of the month is `l5`; croner spells it `5L`,
    // and croniter rejects croner's spelling.
    if field == Field::Weekday {
        if let Some(day) = item.strip_prefix('l').filter(|d| is_digits(d)) {
            return Ok(format!("{day}L"));
        }
        if item.ends_with('l') {
            return Err(invalid(format!(
                "{item:?}: croniter spells the last weekday 'l<day>'"
            )));
        }
    }
    if field == Field::Day {
        if item == "lw" {
            return Err(invalid("'lw' is not croniter syntax".into()));
        }
        if let Some(day) = item.strip_prefix('w').filter(|d| is_digits(d)) {
            return Ok(format!("{day}W"));
        }
    }
    wrap_range(expr, field, &item).map(|r| r.to_uppercase())
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Month and weekday names as numbers (croniter only knows them in their own
/// field; croner would replace them anywhere).
fn replace_names(field: Field, item: &str) -> String {
    let names: &[&str] = match field {
        Field::Month => &MONTHS,
        Field::Weekday => &WEEKDAYS,
        _ => return item.to_string(),
    };
    let offset = usize::from(field == Field::Month);
    // A range ending on Sunday means day 7 (croniter and cron agree).
    let mut out = if field == Field::Weekday {
        item.replace("-sun", "-7")
    } else {
        item.to_string()
    };
    for (i, name) in names.iter().enumerate() {
        out = out.replace(name, &(i + offset).to_string());
    }
    out
}

/// croniter accepts `a-b` with a > b as a wrap-around (`50-10` minutes,
/// `sat-mon`); croner does not, so split it into two ranges.
fn wrap_range(expr: &str, field: Field, item: &str) -> Result<String, CronError> {
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (item, None),
    };
    let Some((low, high)) = range.split_once('-') else {
        return Ok(item.to_string());
    };
    let (Ok(low), Ok(high)) = (low.parse::<u32>(), high.parse::<u32>()) else {
        return Ok(item.to_string());
    };
    if low <= high {
        return Ok(item.to_string());
    }
    if step.is_some() {
        return Err(CronError::Unsupported {
            expr: expr.to_string(),
            reason: format!("wrap-around range with a step ({item:?})"),
        });
    }
    let (min, max) = field.range();
    Ok(format!("{low}-{max},{min}-{high}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Fixed start for the parity table: Thursday 2026-01-01 00:00:30 UTC.
    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 30)
            .single()
            .expect("valid date")
    }

    fn iso(times: &[DateTime<Utc>]) -> Vec<String> {
        times
            .iter()
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .collect()
    }

    /// (input, croniter's normalised form, croniter's next three fire times
    /// after `start()`), recorded from croniter 7.0.0 as PGQueuer 1.6.0 calls
    /// it: `" ".join(croniter(e).expressions)` and
    /// `croniter(n, start_time=start).get_next()` in UTC.
    const PARITY: &[(&str, &str, [&str; 3])] = &[
        (
            "@hourly",
            "0 * * * *",
            [
                "2026-01-01T01:00:00",
                "2026-01-01T02:00:00",
                "2026-01-01T03:00:00",
            ],
        ),
        (
            "@HOURLY",
            "0 * * * *",
            [
                "2026-01-01T01:00:00",
                "2026-01-01T02:00:00",
                "2026-01-01T03:00:00",
            ],
        ),
        (
            "@daily",
            "0 0 * * *",
            [
                "2026-01-02T00:00:00",
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
            ],
        ),
        (
            "@midnight",
            "0 0 * * *",
            [
                "2026-01-02T00:00:00",
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
            ],
        ),
        (
            "@weekly",
            "0 0 * * 0",
            [
                "2026-01-04T00:00:00",
                "2026-01-11T00:00:00",
                "2026-01-18T00:00:00",
            ],
        ),
        (
            "@monthly",
            "0 0 1 * *",
            [
                "2026-02-01T00:00:00",
                "2026-03-01T00:00:00",
                "2026-04-01T00:00:00",
            ],
        ),
        (
            "@yearly",
            "0 0 1 1 *",
            [
                "2027-01-01T00:00:00",
                "2028-01-01T00:00:00",
                "2029-01-01T00:00:00",
            ],
        ),
        (
            "@annually",
            "0 0 1 1 *",
            [
                "2027-01-01T00:00:00",
                "2028-01-01T00:00:00",
                "2029-01-01T00:00:00",
            ],
        ),
        (
            "0 9 * * MON-FRI",
            "0 9 * * mon-fri",
            [
                "2026-01-01T09:00:00",
                "2026-01-02T09:00:00",
                "2026-01-05T09:00:00",
            ],
        ),
        (
            "* * * * * */3",
            "* * * * * */3",
            [
                "2026-01-01T00:00:33",
                "2026-01-01T00:00:36",
                "2026-01-01T00:00:39",
            ],
        ),
        (
            "*/3 * * * * *",
            "*/3 * * * * *",
            [
                "2026-01-01T00:00:31",
                "2026-01-01T00:00:32",
                "2026-01-01T00:00:33",
            ],
        ),
        (
            "0 0 1 JAN *",
            "0 0 1 jan *",
            [
                "2027-01-01T00:00:00",
                "2028-01-01T00:00:00",
                "2029-01-01T00:00:00",
            ],
        ),
        (
            "* * * * *",
            "* * * * *",
            [
                "2026-01-01T00:01:00",
                "2026-01-01T00:02:00",
                "2026-01-01T00:03:00",
            ],
        ),
        (
            "*/5 * * * *",
            "*/5 * * * *",
            [
                "2026-01-01T00:05:00",
                "2026-01-01T00:10:00",
                "2026-01-01T00:15:00",
            ],
        ),
        (
            "0 0 * * 7",
            "0 0 * * 7",
            [
                "2026-01-04T00:00:00",
                "2026-01-11T00:00:00",
                "2026-01-18T00:00:00",
            ],
        ),
        (
            "0 0 * * sun",
            "0 0 * * sun",
            [
                "2026-01-04T00:00:00",
                "2026-01-11T00:00:00",
                "2026-01-18T00:00:00",
            ],
        ),
        (
            "0 0 * * 0-7",
            "0 0 * * 0-7",
            [
                "2026-01-02T00:00:00",
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
            ],
        ),
        (
            "0 12 L * *",
            "0 12 l * *",
            [
                "2026-01-31T12:00:00",
                "2026-02-28T12:00:00",
                "2026-03-31T12:00:00",
            ],
        ),
        (
            "0 0 * * 5#2",
            "0 0 * * 5#2",
            [
                "2026-01-09T00:00:00",
                "2026-02-13T00:00:00",
                "2026-03-13T00:00:00",
            ],
        ),
        (
            "0 0 ? * *",
            "0 0 ? * *",
            [
                "2026-01-02T00:00:00",
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
            ],
        ),
        (
            "0-59/15 * * * *",
            "0-59/15 * * * *",
            [
                "2026-01-01T00:15:00",
                "2026-01-01T00:30:00",
                "2026-01-01T00:45:00",
            ],
        ),
        (
            "  0   9 *  *  mon  ",
            "0 9 * * mon",
            [
                "2026-01-05T09:00:00",
                "2026-01-12T09:00:00",
                "2026-01-19T09:00:00",
            ],
        ),
        (
            "0 9 * * Mon,Wed,fri",
            "0 9 * * mon,wed,fri",
            [
                "2026-01-02T09:00:00",
                "2026-01-05T09:00:00",
                "2026-01-07T09:00:00",
            ],
        ),
        (
            "0 0 1 jan-mar *",
            "0 0 1 jan-mar *",
            [
                "2026-02-01T00:00:00",
                "2026-03-01T00:00:00",
                "2027-01-01T00:00:00",
            ],
        ),
        (
            "0 0 * * 1 30",
            "0 0 * * 1 30",
            [
                "2026-01-05T00:00:30",
                "2026-01-12T00:00:30",
                "2026-01-19T00:00:30",
            ],
        ),
        (
            "0 0 1W * *",
            "0 0 1w * *",
            [
                "2026-02-02T00:00:00",
                "2026-03-02T00:00:00",
                "2026-04-01T00:00:00",
            ],
        ),
        (
            "0 0 w1 * *",
            "0 0 w1 * *",
            [
                "2026-02-02T00:00:00",
                "2026-03-02T00:00:00",
                "2026-04-01T00:00:00",
            ],
        ),
        (
            "0 0 * * 7-1",
            "0 0 * * 7-1",
            [
                "2026-01-04T00:00:00",
                "2026-01-05T00:00:00",
                "2026-01-11T00:00:00",
            ],
        ),
        (
            "50-10 * * * *",
            "50-10 * * * *",
            [
                "2026-01-01T00:01:00",
                "2026-01-01T00:02:00",
                "2026-01-01T00:03:00",
            ],
        ),
        (
            "0 0 1,15 * 1",
            "0 0 1,15 * 1",
            [
                "2026-01-05T00:00:00",
                "2026-01-12T00:00:00",
                "2026-01-15T00:00:00",
            ],
        ),
        (
            "0 0 */2 * 1",
            "0 0 */2 * 1",
            [
                "2026-01-03T00:00:00",
                "2026-01-05T00:00:00",
                "2026-01-07T00:00:00",
            ],
        ),
        (
            "0 0 * * l5",
            "0 0 * * l5",
            [
                "2026-01-30T00:00:00",
                "2026-02-27T00:00:00",
                "2026-03-27T00:00:00",
            ],
        ),
        (
            "0 0 * * mon#1",
            "0 0 * * mon#1",
            [
                "2026-01-05T00:00:00",
                "2026-02-02T00:00:00",
                "2026-03-02T00:00:00",
            ],
        ),
        (
            "0 0 * * 1#5",
            "0 0 * * 1#5",
            [
                "2026-03-30T00:00:00",
                "2026-06-29T00:00:00",
                "2026-08-31T00:00:00",
            ],
        ),
        (
            "0 0 1 1 * * *",
            "0 0 1 1 * * *",
            [
                "2026-01-01T00:00:31",
                "2026-01-01T00:00:32",
                "2026-01-01T00:00:33",
            ],
        ),
        (
            "* * * * * * 2020-2030/2",
            "* * * * * * 2020-2030/2",
            [
                "2026-01-01T00:00:31",
                "2026-01-01T00:00:32",
                "2026-01-01T00:00:33",
            ],
        ),
        (
            "0 0 * 1-12/3 *",
            "0 0 * 1-12/3 *",
            [
                "2026-01-02T00:00:00",
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
            ],
        ),
        (
            "00 09 * * *",
            "00 09 * * *",
            [
                "2026-01-01T09:00:00",
                "2026-01-02T09:00:00",
                "2026-01-03T09:00:00",
            ],
        ),
        (
            "0 0 * * sat,sun",
            "0 0 * * sat,sun",
            [
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
                "2026-01-10T00:00:00",
            ],
        ),
        (
            "0 0 * * */2",
            "0 0 * * */2",
            [
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
                "2026-01-06T00:00:00",
            ],
        ),
        (
            "0 0 1-31/2 * *",
            "0 0 1-31/2 * *",
            [
                "2026-01-03T00:00:00",
                "2026-01-05T00:00:00",
                "2026-01-07T00:00:00",
            ],
        ),
        (
            "0 0 * * 1-5/2",
            "0 0 * * 1-5/2",
            [
                "2026-01-02T00:00:00",
                "2026-01-05T00:00:00",
                "2026-01-07T00:00:00",
            ],
        ),
        (
            "0 0 * * mon-sun/2",
            "0 0 * * mon-sun/2",
            [
                "2026-01-02T00:00:00",
                "2026-01-04T00:00:00",
                "2026-01-05T00:00:00",
            ],
        ),
        (
            "0 0 1-7 * */1",
            "0 0 1-7 * */1",
            [
                "2026-01-02T00:00:00",
                "2026-01-03T00:00:00",
                "2026-01-04T00:00:00",
            ],
        ),
    ];

    /// Expressions croniter 7.0.0 reports as invalid.
    const INVALID: &[&str] = &[
        "@reboot",
        "0 0 * * 5L",
        "60 * * * *",
        "* * * *",
        "a b c d e",
        "0 0 LW * *",
        "*/0 * * * *",
        "@every 5m",
        "? * * * *",
        "0 0 * * 5#L",
        "0 0 * * +1",
        "",
        "* * * * * * * *",
    ];

    #[test]
    fn normalisation_matches_croniter() {
        for (input, normalized, _) in PARITY {
            assert_eq!(normalize(input).as_deref(), Ok(*normalized), "{input:?}");
        }
    }

    #[test]
    fn fire_times_match_croniter() {
        for (input, normalized, fires) in PARITY {
            let got =
                next_fires(normalized, start(), 3).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(iso(&got), fires.to_vec(), "{input:?}");
        }
    }

    #[test]
    fn croniter_rejections_are_rejected() {
        for input in INVALID {
            assert!(normalize(input).is_err(), "{input:?} should be invalid");
        }
        assert_eq!(normalize("@reboot"), Err(CronError::Reboot));
    }

    #[test]
    fn subsecond_start_counts_from_the_whole_second() {
        let after = start() + chrono::Duration::milliseconds(400);
        let got = next_fires("* * * * * *", after, 1).expect("valid");
        assert_eq!(iso(&got), ["2026-01-01T00:00:31"]);
    }

    #[test]
    fn impossible_dates_report_no_fire_time() {
        assert!(matches!(
            next_fires("0 0 31 2 *", start(), 3),
            Err(CronError::NoFireTime { .. })
        ));
    }

    #[test]
    fn wrap_around_ranges_with_steps_are_unsupported() {
        assert!(matches!(
            normalize("50-10/2 * * * *"),
            Err(CronError::Unsupported { .. })
        ));
    }
}
