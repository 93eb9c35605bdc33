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
