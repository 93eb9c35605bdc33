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

#[cfg(test)]
mod tests {
    use super::*;

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
