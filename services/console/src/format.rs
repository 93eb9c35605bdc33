//! Numbers, times and durations as people read them: `12,345`, `87 %`,
//! `2026-12-04 04:46 UTC`, `3 h 20 min`. Pure; the clock is an argument.

use std::time::{Duration, UNIX_EPOCH};

/// `n` with thousands separators.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share (1.0 is all) as a whole percentage; never negative, and not a
/// number shows as 0.
pub fn percent(share: f64) -> String {
    let p = if share.is_finite() {
        share.max(0.0) * 100.0
    } else {
        0.0
    };
    format!("{} %", p.round() as u64)
}

/// A share as a whole percentage for a bar's width, 0 to 100.
pub fn bar_percent(share: f64) -> u64 {
    if share.is_finite() {
        (share.clamp(0.0, 1.0) * 100.0).round() as u64
    } else {
        0
    }
}

/// `part` of `whole` as a share (0 when `whole` is 0 and `part` is too).
pub fn share(part: u64, whole: u64) -> f64 {
    match (part, whole) {
        (0, 0) => 0.0,
        (_, 0) => 1.0,
        _ => part as f64 / whole as f64,
    }
}

/// A protobuf time in UTC to the minute, zone shown; "—" when absent or
/// out of range.
pub fn time(t: Option<&prost_types::Timestamp>) -> String {
    let Some(t) = t else { return "—".into() };
    // humantime writes years up to 9999 only.
    if t.seconds > syncgov_kit::input::MAX_TIMESTAMP_SECONDS {
        return "—".into();
    }
    let Ok(secs) = u64::try_from(t.seconds) else {
        return "—".into();
    };
    let Some(at) = UNIX_EPOCH.checked_add(Duration::from_secs(secs)) else {
        return "—".into();
    };
    // 2026-12-04T04:46:57Z -> 2026-12-04 04:46 UTC
    let text = humantime::format_rfc3339_seconds(at).to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(minute)) => format!("{day} {minute} UTC"),
        _ => "—".into(),
    }
}

/// A duration to the minute ("3 h 20 min", "under a minute").
pub fn duration(d: Duration) -> String {
    let minutes = d.as_secs() / 60;
    match (minutes / 60, minutes % 60) {
        (0, 0) => "under a minute".into(),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// How long from `now` until `t` ("in 3 h 20 min"), or "now" when it has
/// passed; "—" when absent.
pub fn until(t: Option<&prost_types::Timestamp>, now: i64) -> String {
    match t {
        None => "—".into(),
        Some(t) if t.seconds <= now => "now".into(),
        Some(t) => format!(
            "in {}",
            duration(Duration::from_secs((t.seconds - now) as u64))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(seconds: i64) -> prost_types::Timestamp {
        prost_types::Timestamp { seconds, nanos: 0 }
    }

    #[test]
    fn counts_get_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(12_345_678), "12,345,678");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn shares_and_percentages_stay_in_range() {
        assert_eq!(percent(0.874), "87 %");
        assert_eq!(percent(f64::NAN), "0 %");
        assert_eq!(percent(-1.0), "0 %");
        assert_eq!(bar_percent(3.0), 100);
        assert_eq!(share(0, 0), 0.0);
        assert_eq!(share(5, 0), 1.0);
        assert_eq!(share(1, 4), 0.25);
    }

    #[test]
    fn times_are_utc_to_the_minute_with_the_zone() {
        assert_eq!(time(Some(&ts(1_796_359_617))), "2026-12-04 04:46 UTC");
        assert_eq!(time(None), "—");
        assert_eq!(time(Some(&ts(-5))), "—");
        assert_eq!(time(Some(&ts(i64::MAX))), "—");
    }

    #[test]
    fn durations_read_in_hours_and_minutes() {
        assert_eq!(duration(Duration::from_secs(59)), "under a minute");
        assert_eq!(duration(Duration::from_secs(12_000)), "3 h 20 min");
        assert_eq!(duration(Duration::from_secs(7_200)), "2 h");
        assert_eq!(until(Some(&ts(100)), 200), "now");
        assert_eq!(until(Some(&ts(400)), 100), "in 5 min");
    }
}
