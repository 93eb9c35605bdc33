//! The contracts' enum values as people read them: "Salesforce API limit
//! exceeded" for `SALESFORCE_API_LIMIT_EXCEEDED`, with the code kept for a
//! tooltip. Values newer than these bindings show as their number, so
//! nothing a service sends is hidden.

use syncgov_api::quota::v1 as quota;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_taxonomy::{Category, ErrorType, SuspensionReason};

/// Words kept as written when a code becomes a sentence.
const PROPER: [(&str, &str); 6] = [
    ("salesforce", "Salesforce"),
    ("api", "API"),
    ("id", "ID"),
    ("crm", "CRM"),
    ("or", "or"),
    ("csv", "CSV"),
];

/// `SOME_CODE` as "Some code", proper names kept.
pub fn words(code: &str) -> String {
    let mut out = Vec::new();
    for (i, word) in code.split('_').filter(|w| !w.is_empty()).enumerate() {
        let lower = word.to_ascii_lowercase();
        let word = match PROPER.iter().find(|(w, _)| *w == lower) {
            Some((_, proper)) => (*proper).to_owned(),
            None if i == 0 => {
                let mut c = lower.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
            None => lower,
        };
        out.push(word);
    }
    out.join(" ")
}

/// A suspension reason's code, or its number when unknown here.
pub fn reason_code(n: i32) -> String {
    SuspensionReason::from_number(n).map_or_else(|| n.to_string(), |r| r.code().to_owned())
}

/// A suspension reason in words.
pub fn reason(n: i32) -> String {
    SuspensionReason::from_number(n).map_or_else(
        || format!("Reason {n} (newer than this console)"),
        |r| words(r.code()),
    )
}

/// What to do about a suspension reason.
pub fn reason_guidance(n: i32) -> &'static str {
    SuspensionReason::from_number(n).map_or("", |r| r.guidance())
}

/// A category in words.
pub fn category(n: i32) -> String {
    Category::from_number(n).map_or_else(|| format!("Category {n}"), |c| words(c.code()))
}

/// An error type's code.
pub fn type_code(n: i32) -> String {
    ErrorType::from_number(n).map_or_else(|| n.to_string(), |t| t.code().to_owned())
}

/// An error type in words.
pub fn error_type(n: i32) -> String {
    ErrorType::from_number(n).map_or_else(|| format!("Type {n}"), |t| words(t.code()))
}

/// An error state in words.
pub fn state(n: i32) -> String {
    match errors::ErrorState::try_from(n) {
        Ok(errors::ErrorState::Open) => "Open".into(),
        Ok(errors::ErrorState::Resyncing) => "Resync queued".into(),
        Ok(errors::ErrorState::Dead) => "Resync failed".into(),
        Ok(errors::ErrorState::Resolved) => "Resolved".into(),
        _ => format!("State {n}"),
    }
}

/// A priority in words.
pub fn priority(n: i32) -> String {
    match quota::Priority::try_from(n) {
        Ok(quota::Priority::Retry) => "Retries".into(),
        Ok(quota::Priority::Normal) | Ok(quota::Priority::Unspecified) => "Normal".into(),
        Ok(quota::Priority::Critical) => "Critical".into(),
        Err(_) => format!("Priority {n}"),
    }
}

/// How a suspension ends, in words, and whether a person's Clear makes
/// sense for it (those that end when calls free up come back at once while
/// the calls have not).
pub fn clearing(n: i32) -> (&'static str, bool) {
    match quota::SuspensionClearing::try_from(n) {
        Ok(quota::SuspensionClearing::Operator) => {
            ("Ends when someone clears it, once the cause is fixed", true)
        }
        Ok(quota::SuspensionClearing::Probe) => (
            "Ends by itself once a trial call succeeds; clear it to try at once",
            true,
        ),
        Ok(quota::SuspensionClearing::Allocation) => {
            ("Ends by itself when the allocation has room again", false)
        }
        Ok(quota::SuspensionClearing::OrgLimit) => {
            ("Ends by itself when the org has API calls again", false)
        }
        _ => ("Ends when someone clears it", true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_sentences_with_proper_names() {
        assert_eq!(
            words("SALESFORCE_API_LIMIT_EXCEEDED"),
            "Salesforce API limit exceeded"
        );
        assert_eq!(words("MISSING_SALESFORCE_ID"), "Missing Salesforce ID");
        assert_eq!(words("PROPERTY_MAPPINGS"), "Property mappings");
        assert_eq!(words(""), "");
    }

    #[test]
    fn unknown_numbers_are_shown_not_hidden() {
        assert_eq!(reason(9999), "Reason 9999 (newer than this console)");
        assert_eq!(error_type(-1), "Type -1");
        assert_eq!(reason_code(9999), "9999");
    }

    #[test]
    fn every_reason_has_words_and_guidance() {
        for r in SuspensionReason::ALL {
            assert!(!reason(r.number()).is_empty());
            assert!(!reason_guidance(r.number()).is_empty(), "{r:?}");
        }
    }
}
