//! Helpers for typed settings read from flags and environment variables.

use std::time::Duration;

/// Parses a human duration such as `24h`, `60s`, `1500ms` or `1m 30s`.
///
/// Used as a clap `value_parser` so that a bad value names the flag and the
/// accepted forms before anything starts.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}: expected a duration such as 500ms, 60s, 15m or 24h"))
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_human_durations() {
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration(" 60s "), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn rejects_bare_numbers_with_a_hint() {
        let err = parse_duration("60").unwrap_err();
        assert!(err.contains("expected a duration"), "{err}");
    }

    #[test]
    fn formats_what_it_parses() {
        let d = Duration::from_secs(90);
        assert_eq!(parse_duration(&format_duration(d)), Ok(d));
    }
}
