//! Query strings and form bodies, read and bounded before anything is sent
//! on: every value a browser sends is untrusted. A bad value is a
//! [`BadInput`] naming the field and the rule, shown to the person as a
//! sentence; the services check everything again.

use syncgov_kit::input::OrgId;
use syncgov_taxonomy::{ErrorType, SuspensionReason};

/// The most errors one resync may name (the service's bound).
pub const MAX_RESYNC: usize = 100;
/// The longest page token passed on.
const MAX_PAGE_TOKEN: usize = 1024;
/// The longest object type or record id searched for.
const MAX_NAME: usize = 128;
/// The largest allocation or org limit (the governor's bound).
pub const MAX_CALLS: u64 = 1_000_000_000;
/// The longest override, in hours (30 days).
pub const MAX_OVERRIDE_HOURS: u64 = 720;
/// The largest form body read.
pub const MAX_BODY: usize = 64 * 1024;

/// A value that breaks its field's rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct BadInput {
    /// The field, as the form names it.
    pub field: String,
    /// The rule it breaks.
    pub rule: String,
}

impl BadInput {
    fn new(field: &str, rule: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            rule: rule.into(),
        }
    }
}

/// The pairs of a query string or form body, in order, repeated keys kept.
#[derive(Clone, Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Reads `text` (`a=1&b=2`, percent- and plus-encoded).
    pub fn parse(text: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(text)
                .take(1_000)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    }
}

/// An org id from a URL or form.
pub fn org(field: &str, text: &str) -> Result<OrgId, BadInput> {
    OrgId::parse(text).map_err(|e| BadInput::new(field, e.rule))
}

/// A suspension reason by its code; empty is none.
pub fn reason(field: &str, text: &str) -> Result<Option<SuspensionReason>, BadInput> {
    if text.is_empty() {
        return Ok(None);
    }
    SuspensionReason::from_code(text)
        .map(Some)
        .ok_or_else(|| BadInput::new(field, "not a suspension reason this console knows"))
}

/// An error type by its code; empty is none.
pub fn error_type(field: &str, text: &str) -> Result<Option<ErrorType>, BadInput> {
    if text.is_empty() {
        return Ok(None);
    }
    ErrorType::from_code(text)
        .map(Some)
        .ok_or_else(|| BadInput::new(field, "not an error type this console knows"))
}

/// An error state filter: `open`, `resyncing`, `dead`, `resolved`, or
/// empty for the current ones. Returns the proto number.
pub fn state(field: &str, text: &str) -> Result<i32, BadInput> {
    use syncgov_api::syncerrors::v1::ErrorState;
    let state = match text {
        "" => ErrorState::Unspecified,
        "open" => ErrorState::Open,
        "resyncing" => ErrorState::Resyncing,
        "dead" => ErrorState::Dead,
        "resolved" => ErrorState::Resolved,
        _ => {
            return Err(BadInput::new(
                field,
                "one of open, resyncing, dead, resolved (or empty for every current error)",
            ));
        }
    };
    Ok(state as i32)
}

/// A name searched for (an object type, a record id): printable, bounded.
pub fn name(field: &str, text: &str) -> Result<String, BadInput> {
    if text.len() > MAX_NAME || text.chars().any(char::is_control) {
        return Err(BadInput::new(
            field,
            format!("at most {MAX_NAME} printable characters"),
        ));
    }
    Ok(text.to_owned())
}

/// A page token as a service gave it: printable ASCII, bounded.
pub fn page_token(field: &str, text: &str) -> Result<String, BadInput> {
    if text.len() > MAX_PAGE_TOKEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BadInput::new(
            field,
            "not a page token this console gave (follow the Next link)",
        ));
    }
    Ok(text.to_owned())
}

/// A count of calls, 0 to [`MAX_CALLS`].
pub fn calls(field: &str, text: &str) -> Result<u64, BadInput> {
    let digits: String = text.chars().filter(|c| *c != ',' && *c != '_').collect();
    match digits.parse::<u64>() {
        Ok(n) if n <= MAX_CALLS => Ok(n),
        _ => Err(BadInput::new(
            field,
            format!("a whole number of calls from 0 to {MAX_CALLS}"),
        )),
    }
}

/// A number of hours, 1 to [`MAX_OVERRIDE_HOURS`].
pub fn hours(field: &str, text: &str) -> Result<u64, BadInput> {
    match text.parse::<u64>() {
        Ok(n) if (1..=MAX_OVERRIDE_HOURS).contains(&n) => Ok(n),
        _ => Err(BadInput::new(
            field,
            format!("a whole number of hours from 1 to {MAX_OVERRIDE_HOURS}"),
        )),
    }
}

/// The error ids ticked for a resync: 1 to [`MAX_RESYNC`], each printable
/// and bounded.
pub fn error_ids(field: &str, values: &[&str]) -> Result<Vec<String>, BadInput> {
    let ids: Vec<&str> = values.iter().copied().filter(|v| !v.is_empty()).collect();
    if ids.is_empty() {
        return Err(BadInput::new(field, "tick at least one error to resync"));
    }
    if ids.len() > MAX_RESYNC {
        return Err(BadInput::new(
            field,
            format!(
                "at most {MAX_RESYNC} errors at once ({} ticked); for more, re-import the records or update a mapped property so that they sync again",
                ids.len()
            ),
        ));
    }
    if ids
        .iter()
        .any(|id| id.len() > MAX_NAME || !id.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(BadInput::new(field, "not an error id this console showed"));
    }
    Ok(ids.into_iter().map(str::to_owned).collect())
}

/// The order of the fleet's error table: `current` (or empty), `dead` or
/// `unknown`; returns the proto number.
pub fn errors_order(field: &str, text: &str) -> Result<i32, BadInput> {
    use syncgov_api::syncerrors::v1::TopOrgsOrder as O;
    match text {
        "" | "current" => Ok(O::CurrentErrors as i32),
        "dead" => Ok(O::DeadJobs as i32),
        "unknown" => Ok(O::UnknownErrors as i32),
        _ => Err(BadInput::new(field, "one of current, dead, unknown")),
    }
}

/// The form value of an error table order ("" for the default).
pub fn errors_order_name(n: i32) -> &'static str {
    use syncgov_api::syncerrors::v1::TopOrgsOrder as O;
    match O::try_from(n) {
        Ok(O::DeadJobs) => "dead",
        Ok(O::UnknownErrors) => "unknown",
        _ => "",
    }
}

/// A notification frequency by its form value; returns the proto number.
pub fn frequency(field: &str, text: &str) -> Result<i32, BadInput> {
    use syncgov_api::syncerrors::v1::NotificationFrequency as F;
    match text {
        "" | "immediately" => Ok(F::Immediately as i32),
        "daily" => Ok(F::Daily as i32),
        "weekly" => Ok(F::Weekly as i32),
        _ => Err(BadInput::new(field, "one of immediately, daily, weekly")),
    }
}

/// The form value of a notification frequency.
pub fn frequency_name(n: i32) -> &'static str {
    use syncgov_api::syncerrors::v1::NotificationFrequency as F;
    match F::try_from(n) {
        Ok(F::Daily) => "daily",
        Ok(F::Weekly) => "weekly",
        _ => "immediately",
    }
}

/// A channel's notification frequency by its form value (`default`: follow
/// the settings' frequency, 0); returns the proto number.
pub fn channel_frequency(field: &str, text: &str) -> Result<i32, BadInput> {
    match text {
        "" | "default" => Ok(0),
        "immediately" | "daily" | "weekly" => frequency(field, text),
        _ => Err(BadInput::new(
            field,
            "one of default, immediately, daily, weekly",
        )),
    }
}

/// The form value of a channel's notification frequency.
pub fn channel_frequency_name(n: i32) -> &'static str {
    if n == 0 { "default" } else { frequency_name(n) }
}

/// A webhook URL: printable, at most 2 048 characters (the service checks
/// where it may point).
pub fn webhook_url(field: &str, text: &str) -> Result<String, BadInput> {
    if text.len() > 2_048 || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BadInput::new(
            field,
            "an https:// address of at most 2048 characters, without spaces",
        ));
    }
    Ok(text.to_owned())
}

/// A webhook secret: empty (keep the one set), or 16 to 256 printable
/// characters.
pub fn webhook_secret(field: &str, text: &str) -> Result<String, BadInput> {
    if !text.is_empty()
        && (!(16..=256).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(BadInput::new(
            field,
            "16 to 256 printable characters, or empty to keep the secret set before",
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_kept_in_order() {
        let f = Fields::parse(b"error_id=a&error_id=b&csrf=x+y&e=%3C");
        assert_eq!(f.all("error_id"), vec!["a", "b"]);
        assert_eq!(f.get("csrf"), "x y");
        assert_eq!(f.get("e"), "<");
        assert_eq!(f.get("missing"), "");
    }

    #[test]
    fn resyncs_are_bounded_to_a_hundred_and_say_what_to_do_beyond() {
        let many: Vec<String> = (0..101).map(|i| format!("e{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = error_ids("error_id", &refs).unwrap_err();
        assert_eq!(err.field, "error_id");
        assert!(err.rule.contains("at most 100") && err.rule.contains("re-import"));
        assert_eq!(error_ids("error_id", &refs[..100]).unwrap().len(), 100);
        assert!(error_ids("error_id", &[]).is_err());
        assert!(error_ids("error_id", &["a b"]).is_err());
    }

    #[test]
    fn error_orders_are_named() {
        assert_eq!(errors_order("o", "dead").unwrap(), 3);
        assert_eq!(
            errors_order_name(errors_order("o", "unknown").unwrap()),
            "unknown"
        );
        assert_eq!(errors_order_name(errors_order("o", "").unwrap()), "");
        assert!(errors_order("o", "random").is_err());
    }

    #[test]
    fn notification_fields_are_bounded() {
        assert_eq!(frequency("frequency", "daily").unwrap(), 2);
        assert!(frequency("frequency", "hourly").is_err());
        assert_eq!(frequency_name(3), "weekly");
        assert_eq!(channel_frequency("email_frequency", "default").unwrap(), 0);
        assert_eq!(channel_frequency("email_frequency", "weekly").unwrap(), 3);
        assert!(channel_frequency("email_frequency", "hourly").is_err());
        assert_eq!(channel_frequency_name(0), "default");
        assert_eq!(channel_frequency_name(2), "daily");
        assert!(webhook_url("webhook_url", "https://x y").is_err());
        assert!(webhook_url("webhook_url", &"h".repeat(2_049)).is_err());
        assert_eq!(webhook_secret("webhook_secret", "").unwrap(), "");
        assert!(webhook_secret("webhook_secret", "short").is_err());
        assert!(webhook_secret("webhook_secret", &"s".repeat(16)).is_ok());
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(calls("allocation", "12,000").unwrap(), 12_000);
        assert!(calls("allocation", "-1").is_err());
        assert!(calls("allocation", "1000000001").is_err());
        assert!(calls("allocation", "").is_err());
        assert!(hours("override_hours", "0").is_err());
        assert!(hours("override_hours", "721").is_err());
        assert_eq!(hours("override_hours", "48").unwrap(), 48);
    }

    #[test]
    fn codes_org_ids_and_tokens_are_checked() {
        assert!(reason("reason", "SALESFORCE_ORG_LOCKED").unwrap().is_some());
        assert!(reason("reason", "DROP TABLE").is_err());
        assert!(reason("reason", "").unwrap().is_none());
        assert!(error_type("type", "STRING_TOO_LONG").unwrap().is_some());
        assert!(org("org", "acme").is_ok());
        assert_eq!(org("org", "a{b}").unwrap_err().field, "org");
        assert!(page_token("page", "abc\n").is_err());
        assert!(page_token("page", &"a".repeat(2000)).is_err());
        assert!(state("state", "dead").is_ok());
        assert!(state("state", "gone").is_err());
        assert!(name("record", &"r".repeat(129)).is_err());
    }
}
