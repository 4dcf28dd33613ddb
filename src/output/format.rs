//! How pgq words numbers, ages, durations, sizes and counts: compact
//! forms for the console's narrow columns, spoken ones for sentences.

use std::time::Duration;

/// `987`, `12,345`, `123.4k`, `12.3M`: at most 7 characters.
pub fn count(n: i64) -> String {
    let a = n.unsigned_abs();
    if a < 100_000 {
        group(n)
    } else if a < 10_000_000 {
        format!("{:.1}k", n as f64 / 1_000.0)
    } else {
        format!("{:.1}M", n as f64 / 1_000_000.0)
    }
}

/// `12,345,678`.
pub fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The widest text [`age`] makes (`59m59s`, `99d23h`, `99999d`), so a
/// column sized by it never cuts one.
pub const AGE_WIDTH: u16 = 6;

/// `42s`, `3m05s`, `2h13m`, `3d04h`, from 100 days on whole days (at most
/// 99999d); `-` for none. Two units at most, so never wider than
/// [`AGE_WIDTH`].
pub fn age(seconds: Option<f64>) -> String {
    let Some(s) = seconds else {
        return "-".into();
    };
    let s = s.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        3_600..86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        86_400..8_640_000 => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3_600),
        _ => format!("{}d", (s / 86_400).min(99_999)),
    }
}

/// A latency, at most 6 characters: `0.4ms`, `12ms`, `1.4s`, `42s`,
/// `3m05s`, `2h13m`; `-` for none.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds else {
        return "-".into();
    };
    let s = s.max(0.0);
    let ms = s * 1_000.0;
    if ms < 9.95 {
        format!("{ms:.1}ms")
    } else if ms.round() < 1_000.0 {
        format!("{ms:.0}ms")
    } else if s < 9.95 {
        format!("{s:.1}s")
    } else if s.round() < 60.0 {
        format!("{s:.0}s")
    } else {
        age(Some(s.round()))
    }
}

/// `12.5%`; `-` when undefined.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// `in 4m05s` / `4m05s ago`.
pub fn relative(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (at - now).num_milliseconds() as f64 / 1e3;
    if secs >= 0.0 {
        format!("in {}", age(Some(secs)))
    } else {
        format!("{} ago", age(Some(-secs)))
    }
}

/// A count that reads naturally: "1 statement", "3 statements",
/// "1 retry", "2 retries", "0 jobs". The last word of `word` (singular) is
/// made plural by the regular English rules, which is all pgq's nouns need.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {}", plural_of(word))
    }
}

fn plural_of(word: &str) -> String {
    let vowel = |c: char| "aeiou".contains(c);
    let mut chars = word.chars().rev();
    match (chars.next(), chars.next()) {
        (Some('y'), Some(c)) if !vowel(c) => format!("{}ies", &word[..word.len() - 1]),
        (Some('s' | 'x'), _) => format!("{word}es"),
        (Some('h'), Some('c' | 's')) => format!("{word}es"),
        _ => format!("{word}s"),
    }
}

/// `512 B`, `1.5 kB`, `3.2 GB` (powers of 1024).
pub fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A span of time as people say it: `12 s`, `42 min`, `3 h 5 min`, `2 d 4 h`.
pub fn span(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..90 => format!("{s} s"),
        90..3_600 => format!("{} min", (s + 30) / 60),
        3_600..86_400 => match (s % 3_600) / 60 {
            0 => format!("{} h", s / 3_600),
            m => format!("{} h {m} min", s / 3_600),
        },
        _ => match (s % 86_400) / 3_600 {
            0 => format!("{} d", s / 86_400),
            h => format!("{} d {h} h", s / 86_400),
        },
    }
}

/// `30d`, `12h`, `90m`, `45s`, `1500ms`: an age as `--…-older-than` takes it.
pub fn age_text(age: Duration) -> String {
    let ms = age.as_millis();
    let secs = age.as_secs();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if secs > 0 && secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs > 0 && secs.is_multiple_of(3_600) {
        format!("{}h", secs / 3_600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// `10s`, `1.5s`, `250ms`.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

pub fn human_ms(ms: f64) -> String {
    if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_compactly() {
        use std::time::Duration;
        assert_eq!(format_duration(Duration::from_secs(10)), "10s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn numbers_fit_columns() {
        assert_eq!(count(987), "987");
        assert_eq!(count(12_345), "12,345");
        assert_eq!(count(123_456), "123.5k");
        assert_eq!(count(12_345_678), "12.3M");
        assert_eq!(group(-1_234_567), "-1,234,567");
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(age(None), "-");
        assert_eq!(age(Some(42.9)), "42s");
        assert_eq!(age(Some(185.0)), "3m05s");
        assert_eq!(age(Some(7_980.0)), "2h13m");
        assert_eq!(age(Some(273_600.0)), "3d04h");
        assert_eq!(percent(Some(0.125)), "12.5%");
    }

    #[test]
    fn no_age_is_wider_than_its_column() {
        // The widest of each format, and far beyond the last one.
        for s in [59.0, 3_599.0, 86_399.0, 8_639_999.0, 8_640_000.0, 1e15] {
            let text = age(Some(s));
            assert!(text.len() <= AGE_WIDTH as usize, "{text}");
        }
        assert_eq!(age(Some(1_481.0)), "24m41s");
        assert_eq!(age(Some(8_640_000.0)), "100d");
    }

    #[test]
    fn durations_read_humanly() {
        assert_eq!(duration(None), "-");
        assert_eq!(duration(Some(0.00042)), "0.4ms");
        assert_eq!(duration(Some(0.012)), "12ms");
        assert_eq!(duration(Some(0.9996)), "1.0s");
        assert_eq!(duration(Some(1.44)), "1.4s");
        assert_eq!(duration(Some(42.4)), "42s");
        assert_eq!(duration(Some(59.7)), "1m00s");
        assert_eq!(duration(Some(185.0)), "3m05s");
        assert_eq!(duration(Some(7_980.0)), "2h13m");
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(plural(1, "schedule"), "1 schedule");
        assert_eq!(plural(0, "schedule"), "0 schedules");
        assert_eq!(plural(3, "held job"), "3 held jobs");
        assert_eq!(plural(2, "retry"), "2 retries");
        assert_eq!(plural(2, "day"), "2 days");
        assert_eq!(plural(2, "match"), "2 matches");
        assert_eq!(plural(1, "byte"), "1 byte");
    }
}
