//! The contracts' enum values as operators type and read them: the proto
//! name without its enum's prefix (`SALESFORCE_ORG_LOCKED`, not
//! `SUSPENSION_REASON_SALESFORCE_ORG_LOCKED`), the same spelling the
//! `sync-errors classify` filter and the docs use. Typed input may also be
//! lower case with dashes (`salesforce-org-locked`) or carry the full prefix.

use syncgov_api::quota::v1 as quota;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::taxonomy::v1 as taxonomy;

/// One protobuf enum as this module knows it: its prefix, and its values by
/// number. Prost generates no common trait for enums, so each is described
/// by two functions.
struct Names {
    prefix: &'static str,
    name_of: fn(i32) -> Option<&'static str>,
    number_of: fn(&str) -> Option<i32>,
}

macro_rules! names {
    ($enum:ty, $prefix:literal) => {
        Names {
            prefix: $prefix,
            name_of: |n| <$enum>::try_from(n).ok().map(|e| e.as_str_name()),
            number_of: |s| <$enum>::from_str_name(s).map(|e| e as i32),
        }
    };
}

const REASON: Names = names!(taxonomy::SuspensionReason, "SUSPENSION_REASON_");
const CATEGORY: Names = names!(taxonomy::ErrorCategory, "ERROR_CATEGORY_");
const TYPE: Names = names!(taxonomy::ErrorType, "ERROR_TYPE_");
const STATE: Names = names!(errors::ErrorState, "ERROR_STATE_");
const FREQUENCY: Names = names!(errors::NotificationFrequency, "NOTIFICATION_FREQUENCY_");
const WEBHOOK_FORMAT: Names = names!(errors::WebhookFormat, "WEBHOOK_FORMAT_");
const DIRECTION: Names = names!(errors::Direction, "DIRECTION_");
const CLEARING: Names = names!(quota::SuspensionClearing, "SUSPENSION_CLEARING_");
const EVENT_KIND: Names = names!(quota::SuspensionEventKind, "SUSPENSION_EVENT_KIND_");
const PRIORITY: Names = names!(quota::Priority, "PRIORITY_");

/// Enum numbers stop well below this; it bounds the scan for valid values.
const SCAN_LIMIT: i32 = 256;

impl Names {
    /// The short name of `n`; the number itself for a value newer than these
    /// bindings, so nothing a service sends is hidden.
    fn short(&self, n: i32) -> String {
        match (self.name_of)(n) {
            Some(name) => name.strip_prefix(self.prefix).unwrap_or(name).to_owned(),
            None => n.to_string(),
        }
    }

    /// Every value but UNSPECIFIED, short names.
    fn all(&self) -> Vec<String> {
        (1..SCAN_LIMIT)
            .filter(|n| (self.name_of)(*n).is_some())
            .map(|n| self.short(n))
            .collect()
    }

    fn parse(&self, what: &str, text: &str) -> Result<i32, String> {
        let upper = text.trim().to_ascii_uppercase().replace('-', "_");
        let full = if upper.starts_with(self.prefix) {
            upper
        } else {
            format!("{}{upper}", self.prefix)
        };
        match (self.number_of)(&full) {
            Some(n) if n != 0 => Ok(n),
            _ => Err(format!(
                "unknown {what} {text:?}; one of: {}",
                self.all().join(", ")
            )),
        }
    }
}

/// A resource as the `--resource` flag writes it (`api`, `bulk`), or the
/// number.
pub fn resource(n: i32) -> String {
    use syncgov_api::quota::v1::Resource as R;
    match R::try_from(n) {
        Ok(R::ApiRequests) => "api".to_owned(),
        Ok(R::BulkBatches) => "bulk".to_owned(),
        _ => n.to_string(),
    }
}

/// A suspension reason's short name.
pub fn reason(n: i32) -> String {
    REASON.short(n)
}

/// An error category's short name.
pub fn category(n: i32) -> String {
    CATEGORY.short(n)
}

/// What decided a classification (`STATUS_CODE`), or the number.
pub fn basis(n: i32) -> String {
    syncgov_taxonomy::Basis::from_number(n).map_or_else(|| n.to_string(), |b| b.code().to_owned())
}

/// An error type's short name.
pub fn error_type(n: i32) -> String {
    TYPE.short(n)
}

/// An error state's short name.
pub fn state(n: i32) -> String {
    STATE.short(n)
}

/// A notification frequency's short name.
pub fn frequency(n: i32) -> String {
    FREQUENCY.short(n)
}

/// A sync direction's short name.
pub fn direction(n: i32) -> String {
    DIRECTION.short(n)
}

/// How a suspension ends, short name.
pub fn clearing(n: i32) -> String {
    CLEARING.short(n)
}

/// A suspension event's kind, short name (`SUSPENDED`, `CLEARED`).
pub fn event_kind(n: i32) -> String {
    EVENT_KIND.short(n)
}

/// A priority's short name.
pub fn priority(n: i32) -> String {
    PRIORITY.short(n)
}

/// Parses a suspension reason for clap.
pub fn parse_reason(text: &str) -> Result<i32, String> {
    REASON.parse("suspension reason", text)
}

/// Parses an error category for clap.
pub fn parse_category(text: &str) -> Result<i32, String> {
    CATEGORY.parse("error category", text)
}

/// Parses an error type for clap.
pub fn parse_type(text: &str) -> Result<i32, String> {
    TYPE.parse("error type", text)
}

/// Parses an error state for clap.
pub fn parse_state(text: &str) -> Result<i32, String> {
    STATE.parse("error state", text)
}

/// A webhook format's short name.
pub fn webhook_format(n: i32) -> String {
    WEBHOOK_FORMAT.short(n)
}

/// Parses a webhook format for clap.
pub fn parse_webhook_format(text: &str) -> Result<i32, String> {
    WEBHOOK_FORMAT.parse("webhook format", text)
}

/// Parses a notification frequency for clap.
pub fn parse_frequency(text: &str) -> Result<i32, String> {
    FREQUENCY.parse("notification frequency", text)
}

/// Parses a channel's notification frequency for clap: a frequency, or
/// `default` (0: the channel follows `--frequency`).
pub fn parse_channel_frequency(text: &str) -> Result<i32, String> {
    if text.trim().eq_ignore_ascii_case("default") {
        return Ok(0);
    }
    parse_frequency(text).map_err(|e| format!("{e}, or default"))
}

/// A channel's frequency as shown: its own, or `default (<frequency>)`
/// when it follows the settings' frequency.
pub fn channel_frequency(own: i32, default: i32) -> String {
    if own == 0 {
        format!("default ({})", frequency(default))
    } else {
        frequency(own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_drop_the_prefix_and_unknown_numbers_show() {
        assert_eq!(
            reason(taxonomy::SuspensionReason::SalesforceOrgLocked as i32),
            "SALESFORCE_ORG_LOCKED"
        );
        assert_eq!(category(7), "PROPERTY_VALUES");
        assert_eq!(error_type(9999), "9999");
    }

    #[test]
    fn typed_names_are_forgiving_but_exact() {
        let locked = taxonomy::SuspensionReason::SalesforceOrgLocked as i32;
        assert_eq!(parse_reason("salesforce-org-locked"), Ok(locked));
        assert_eq!(parse_reason("SALESFORCE_ORG_LOCKED"), Ok(locked));
        assert_eq!(
            parse_reason("SUSPENSION_REASON_SALESFORCE_ORG_LOCKED"),
            Ok(locked)
        );
        let err = parse_reason("locked").unwrap_err();
        assert!(err.contains("SALESFORCE_ORG_LOCKED"), "{err}");
        assert!(parse_reason("unspecified").is_err());
        assert_eq!(parse_frequency("daily"), Ok(2));
        assert_eq!(parse_channel_frequency("Default"), Ok(0));
        assert_eq!(parse_channel_frequency("weekly"), Ok(3));
        assert!(
            parse_channel_frequency("monthly")
                .unwrap_err()
                .ends_with("or default")
        );
        assert_eq!(channel_frequency(0, 2), "default (DAILY)");
        assert_eq!(channel_frequency(1, 2), "IMMEDIATELY");
    }
}
