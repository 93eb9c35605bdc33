//! Validation shared by every service: the error that names a field and the
//! rule it breaks, the org id, and checks for free-text fields. Every edge
//! (gRPC, settings, files) refuses bad input the same way.

use std::fmt;

/// Longest org id, in characters.
pub const MAX_ORG_ID_LEN: usize = 64;

/// Input that breaks a rule: the field and the rule, as the caller sees them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct InvalidInput {
    /// The field, as named in the contract (`budget.allocation`).
    pub field: String,
    /// The rule it breaks.
    pub rule: String,
}

impl InvalidInput {
    /// A broken rule on `field`.
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// An org's identifier. Restricted to characters that are safe in Redis keys
/// and inside a `{…}` hash tag (no braces), in logs and in URLs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

impl OrgId {
    /// Checks `text` against the org id rules.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if text.is_empty() || text.len() > MAX_ORG_ID_LEN || !text.chars().all(ok_char) {
            return Err(InvalidInput::new(
                "org_id",
                format!("must be 1 to {MAX_ORG_ID_LEN} characters of A-Z a-z 0-9 . _ : -"),
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How much a request for tokens matters, lowest first, so that `a <= b`
/// reads "a is no higher than b": lower priorities get a smaller share of
/// the allocation, and a token says the highest its calls may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Retries of failed syncs.
    Retry,
    /// Ordinary sync traffic.
    Normal,
    /// Traffic that must get through: the reserve above the normal share.
    Critical,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 3] = [Priority::Retry, Priority::Normal, Priority::Critical];

    /// Its name in token files, JWT claims, descriptors, logs and messages.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Retry => "retry",
            Priority::Normal => "normal",
            Priority::Critical => "critical",
        }
    }

    /// The priority named `text` (`retry`, `normal` or `critical`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == text)
    }
}

/// Checks a free-text field: at most `max` characters, none of them control
/// characters; and at least one when `required`.
pub fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<(), InvalidInput> {
    let too_long = text.chars().count() > max;
    if too_long || text.chars().any(char::is_control) || (required && text.is_empty()) {
        let least = if required { 1 } else { 0 };
        return Err(InvalidInput::new(
            field,
            format!("must be {least} to {max} printable characters"),
        ));
    }
    Ok(())
}

/// Earliest second a protobuf `Timestamp` may hold: 0001-01-01T00:00:00Z.
pub const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// Latest second a protobuf `Timestamp` may hold: 9999-12-31T23:59:59Z.
pub const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;

/// Reads a protobuf `Timestamp` a caller sent as milliseconds since the
/// epoch, refusing what the well-known type forbids (seconds outside years
/// 1 to 9999, nanos outside 0 to 999 999 999) instead of saturating.
pub fn timestamp_ms(field: &str, t: &prost_types::Timestamp) -> Result<i64, InvalidInput> {
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&t.seconds)
        || !(0..1_000_000_000).contains(&t.nanos)
    {
        return Err(InvalidInput::new(
            field,
            "must be a valid timestamp: years 1 to 9999, nanos 0 to 999999999",
        ));
    }
    Ok(t.seconds * 1000 + i64::from(t.nanos) / 1_000_000)
}

/// Checks that a time a caller sent (`at_ms`) is no later than `now_ms`
/// plus `skew_ms` (clocks differ a little, never by much) and no earlier
/// than `now_ms` less `max_age_ms`, naming `field` and the bounds.
pub fn check_recent(
    field: &str,
    at_ms: i64,
    now_ms: i64,
    skew_ms: i64,
    max_age_ms: i64,
) -> Result<(), InvalidInput> {
    if at_ms > now_ms.saturating_add(skew_ms) {
        return Err(InvalidInput::new(
            field,
            format!("must not be more than {} s in the future", skew_ms / 1000),
        ));
    }
    if at_ms < now_ms.saturating_sub(max_age_ms) {
        return Err(InvalidInput::new(
            field,
            format!("must not be more than {} s in the past", max_age_ms / 1000),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_outside_the_well_known_range_are_refused() {
        let t = |seconds, nanos| prost_types::Timestamp { seconds, nanos };
        assert_eq!(timestamp_ms("at", &t(1, 5_000_000)), Ok(1_005));
        assert_eq!(timestamp_ms("at", &t(-1, 0)), Ok(-1_000));
        assert!(timestamp_ms("at", &t(MAX_TIMESTAMP_SECONDS, 999_999_999)).is_ok());
        for bad in [
            t(i64::MAX, 0),
            t(MAX_TIMESTAMP_SECONDS + 1, 0),
            t(MIN_TIMESTAMP_SECONDS - 1, 0),
            t(0, -1),
            t(0, 1_000_000_000),
        ] {
            assert_eq!(timestamp_ms("at", &bad).unwrap_err().field, "at", "{bad:?}");
        }
    }

    #[test]
    fn recent_means_within_the_skew_and_the_age() {
        let now = 1_000_000_000;
        assert!(check_recent("at", now + 300_000, now, 300_000, 86_400_000).is_ok());
        assert!(check_recent("at", now - 86_400_000, now, 300_000, 86_400_000).is_ok());
        let future = check_recent("at", now + 300_001, now, 300_000, 86_400_000).unwrap_err();
        assert_eq!(future.rule, "must not be more than 300 s in the future");
        assert!(check_recent("at", now - 86_400_001, now, 300_000, 86_400_000).is_err());
        assert!(check_recent("at", i64::MAX, now, 300_000, 86_400_000).is_err());
        assert!(check_recent("at", i64::MIN, now, 300_000, 86_400_000).is_err());
    }

    #[test]
    fn org_ids_follow_the_rules() {
        assert!(OrgId::parse("00D5g000004XyZ").is_ok());
        assert!(OrgId::parse("acme.prod:eu-1_a").is_ok());
        for bad in ["", "a{b}", "with space", "tab\t", "é", &"x".repeat(65)] {
            let err = OrgId::parse(bad).unwrap_err();
            assert_eq!(err.field, "org_id", "{bad:?}");
        }
    }

    #[test]
    fn text_fields_are_bounded_and_printable() {
        assert!(check_text("client_id", "", 8, false).is_ok());
        assert_eq!(
            check_text("client_id", "", 8, true).unwrap_err().rule,
            "must be 1 to 8 printable characters"
        );
        assert!(check_text("client_id", "worker-7", 8, true).is_ok());
        assert!(check_text("client_id", "worker-77", 8, true).is_err());
        assert!(check_text("client_id", "a\u{7}", 8, false).is_err());
        assert!(check_text("message", "accent é ok", 16, true).is_ok());
    }
}

/// Property tests: any text given as an org id or a free-text field is
/// either taken or refused naming that field, by the rules documented
/// above, and what is taken is kept exactly as given.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Any text at all: control characters, newlines and any Unicode scalar.
    fn any_text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("(?s).{{0,{max}}}")).expect("a valid pattern")
    }

    /// Text near the rules: allowed characters around the length limit,
    /// printable Unicode, a control character slipped in, and anything.
    fn near_the_rules() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9._:-]{0,70}",
            "\\PC{0,70}",
            (
                "\\PC{0,30}",
                "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]",
                "\\PC{0,30}"
            )
                .prop_map(|(a, c, b)| format!("{a}{c}{b}")),
            any_text(70),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// An org id is taken exactly when it is 1 to MAX_ORG_ID_LEN
        /// characters of A-Z a-z 0-9 . _ : - and is kept as given; a refusal
        /// names `org_id` and reads `org_id: <rule>`.
        #[test]
        fn org_ids_are_taken_as_given_or_refused_by_field(text in near_the_rules()) {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
            let ok = (1..=MAX_ORG_ID_LEN).contains(&text.len()) && text.chars().all(allowed);
            match OrgId::parse(&text) {
                Ok(org) => {
                    prop_assert!(ok);
                    prop_assert_eq!(org.as_str(), text.as_str());
                    prop_assert_eq!(org.to_string(), text.as_str());
                    prop_assert_eq!(OrgId::parse(&org.to_string()), Ok(org));
                }
                Err(e) => {
                    prop_assert!(!ok);
                    prop_assert_eq!(&e.field, "org_id");
                    prop_assert_eq!(e.to_string(), format!("org_id: {}", e.rule));
                }
            }
        }

        /// A free-text field is taken exactly when it has at most `max`
        /// characters (not bytes), no control character, and one at least
        /// when required; a refusal names the field and states the bounds.
        #[test]
        fn texts_are_taken_or_refused_by_field(
            text in near_the_rules(),
            max in prop_oneof![0usize..80, Just(usize::MAX)],
            required in any::<bool>(),
            field in "[a-z_]{1,12}(\\[[0-9]{1,3}\\])?",
        ) {
            let chars = text.chars().count();
            let ok = chars <= max
                && !text.chars().any(char::is_control)
                && (chars > 0 || !required);
            match check_text(&field, &text, max, required) {
                Ok(()) => prop_assert!(ok),
                Err(e) => {
                    prop_assert!(!ok);
                    prop_assert_eq!(&e.field, &field);
                    let least = if required { 1 } else { 0 };
                    prop_assert_eq!(e.rule, format!("must be {least} to {max} printable characters"));
                }
            }
        }
    }
}
