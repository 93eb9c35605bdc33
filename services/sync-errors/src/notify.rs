//! Error notifications, pure: an org's settings, what a notification says,
//! which digest period an instant falls in, the signatures a receiver
//! checks, and how deliveries to the org's webhook are going. Delivery
//! (HTTP) and scheduling live in `notifier.rs` and `webhook.rs`, where a
//! webhook may go in `destination.rs`; storage in the stores.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::destination::WebhookUrl;
use crate::domain::InvalidInput;
use crate::taxonomy::ErrorType;

pub use crate::destination::MAX_URL_LEN;
/// Shortest and longest webhook secret.
pub const SECRET_LEN: std::ops::RangeInclusive<usize> = 16..=256;
/// At most one immediate notification per error type per org in this long.
pub const DEBOUNCE_MS: u64 = 60_000;

/// How often notifications go out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Frequency {
    /// As errors arrive, debounced per type.
    #[default]
    Immediately,
    /// A daily digest.
    Daily,
    /// A weekly digest.
    Weekly,
}

impl Frequency {
    /// Stored form (the contract's numbers).
    pub fn number(self) -> i32 {
        match self {
            Frequency::Immediately => 1,
            Frequency::Daily => 2,
            Frequency::Weekly => 3,
        }
    }

    /// From the stored form; 0 (unset) is immediately.
    pub fn from_number(n: i32) -> Option<Self> {
        match n {
            0 | 1 => Some(Frequency::Immediately),
            2 => Some(Frequency::Daily),
            3 => Some(Frequency::Weekly),
            _ => None,
        }
    }

    /// A channel's frequency from the stored form: 0 (unset) follows the
    /// settings' `frequency` (`Some(None)`); `None` for no frequency.
    pub fn of_channel(n: i32) -> Option<Option<Self>> {
        match n {
            0 => Some(None),
            n => Self::from_number(n).map(Some),
        }
    }

    /// Whether new errors wait for a digest.
    pub fn is_digest(self) -> bool {
        self != Frequency::Immediately
    }

    /// The digest period `now_ms` falls in, for days of `day_ms`; `None` for
    /// immediate notifications. Periods are counted from the epoch, so every
    /// replica agrees on them.
    pub fn period(self, now_ms: i64, day_ms: u64) -> Option<i64> {
        let length = match self {
            Frequency::Immediately => return None,
            Frequency::Daily => day_ms,
            Frequency::Weekly => day_ms * 7,
        };
        Some(now_ms.div_euclid(length.max(1) as i64))
    }
}

/// Most e-mail recipients an org may name.
pub const MAX_RECIPIENTS: usize = 20;
/// Longest e-mail address (RFC 5321's path limit less the brackets).
pub const MAX_ADDRESS_LEN: usize = 254;

/// The kinds of notification, each switched on or off per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// New sync errors: immediate notices and digests.
    Errors,
    /// The integration suspended or cleared.
    Suspensions,
    /// The org's API usage crossed a threshold.
    UsageAlerts,
}

impl Kind {
    /// The kind of a queued notification's `kind` (`errors`, `digest`,
    /// `suspended`, `cleared`, `usage`); `None` for one this version does
    /// not know.
    pub fn of(kind: &str) -> Option<Self> {
        match kind {
            "errors" | "digest" => Some(Kind::Errors),
            "suspended" | "cleared" => Some(Kind::Suspensions),
            "usage" => Some(Kind::UsageAlerts),
            _ => None,
        }
    }
}

/// Which kinds one channel carries. All on by default: before channels had
/// choices, an org's one webhook got every kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Choices {
    /// New sync errors.
    #[serde(rename = "e")]
    pub errors: bool,
    /// Suspensions and clears.
    #[serde(rename = "s")]
    pub suspensions: bool,
    /// Usage alerts.
    #[serde(rename = "u")]
    pub usage_alerts: bool,
}

impl Default for Choices {
    fn default() -> Self {
        Self {
            errors: true,
            suspensions: true,
            usage_alerts: true,
        }
    }
}

impl Choices {
    /// Whether the channel carries notifications of `kind`.
    pub fn carries(&self, kind: Kind) -> bool {
        match kind {
            Kind::Errors => self.errors,
            Kind::Suspensions => self.suspensions,
            Kind::UsageAlerts => self.usage_alerts,
        }
    }
}

/// What a webhook is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The notification as JSON ([`Payload`]).
    #[default]
    Json,
    /// `{"text": ...}` for Slack or Mattermost incoming webhooks.
    Slack,
}

impl WebhookFormat {
    /// Stored form (the contract's numbers).
    pub fn number(self) -> i32 {
        match self {
            WebhookFormat::Json => 1,
            WebhookFormat::Slack => 2,
        }
    }

    /// From the stored form; 0 (unset) is JSON.
    pub fn from_number(n: i32) -> Option<Self> {
        match n {
            0 | 1 => Some(WebhookFormat::Json),
            2 => Some(WebhookFormat::Slack),
            _ => None,
        }
    }
}

/// An org's notification settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Whether notifications go out at all (every channel, every kind).
    pub enabled: bool,
    /// How often error notices go out, by a channel that does not say.
    pub frequency: Frequency,
    /// How often error notices go to the webhook; `None` follows
    /// `frequency`.
    pub webhook_frequency: Option<Frequency>,
    /// How often error notices are e-mailed; `None` follows `frequency`.
    pub email_frequency: Option<Frequency>,
    /// Where to.
    pub webhook_url: String,
    /// Signs deliveries; `None` in an update keeps the one set before.
    pub webhook_secret: Option<String>,
    /// The kinds the webhook gets.
    pub webhook: Choices,
    /// The kinds e-mail recipients get.
    pub email: Choices,
    /// Who gets the e-mails; none: no e-mail.
    pub email_recipients: Vec<String>,
    /// What the webhook is sent.
    pub webhook_format: WebhookFormat,
}

/// A change to an org's settings: `Some` fields are set, the others kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// The master switch.
    pub enabled: Option<bool>,
    /// How often error notices go out, by a channel that does not say.
    pub frequency: Option<Frequency>,
    /// The webhook's own frequency (`Some(None)`: follow `frequency`).
    pub webhook_frequency: Option<Option<Frequency>>,
    /// E-mail's own frequency (`Some(None)`: follow `frequency`).
    pub email_frequency: Option<Option<Frequency>>,
    /// The webhook's URL (empty: none).
    pub webhook_url: Option<String>,
    /// A new webhook secret.
    pub webhook_secret: Option<String>,
    /// What the webhook is sent.
    pub webhook_format: Option<WebhookFormat>,
    /// The webhook's choices, one by one.
    pub webhook: ChoicesUpdate,
    /// E-mail's choices, one by one.
    pub email: ChoicesUpdate,
    /// The e-mail recipients (empty: none).
    pub email_recipients: Option<Vec<String>>,
}

/// A change to one channel's choices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChoicesUpdate {
    /// New sync errors.
    pub errors: Option<bool>,
    /// Suspensions and clears.
    pub suspensions: Option<bool>,
    /// Usage alerts.
    pub usage_alerts: Option<bool>,
}

impl ChoicesUpdate {
    /// All three set to `choices`.
    pub fn all(choices: Choices) -> Self {
        Self {
            errors: Some(choices.errors),
            suspensions: Some(choices.suspensions),
            usage_alerts: Some(choices.usage_alerts),
        }
    }

    fn apply(self, to: Choices) -> Choices {
        Choices {
            errors: self.errors.unwrap_or(to.errors),
            suspensions: self.suspensions.unwrap_or(to.suspensions),
            usage_alerts: self.usage_alerts.unwrap_or(to.usage_alerts),
        }
    }
}

impl Update {
    /// `settings` with this change made; what it does not name stays.
    pub fn apply(&self, settings: Settings) -> Settings {
        Settings {
            enabled: self.enabled.unwrap_or(settings.enabled),
            frequency: self.frequency.unwrap_or(settings.frequency),
            webhook_frequency: self.webhook_frequency.unwrap_or(settings.webhook_frequency),
            email_frequency: self.email_frequency.unwrap_or(settings.email_frequency),
            webhook_url: self.webhook_url.clone().unwrap_or(settings.webhook_url),
            webhook_secret: self.webhook_secret.clone().or(settings.webhook_secret),
            webhook: self.webhook.apply(settings.webhook),
            email: self.email.apply(settings.email),
            email_recipients: self
                .email_recipients
                .clone()
                .unwrap_or(settings.email_recipients),
            webhook_format: self.webhook_format.unwrap_or(settings.webhook_format),
        }
    }
}

/// Checks one e-mail recipient: an RFC 5322 address, bounded, with no
/// control character (a CR or LF would start a header of its own).
pub fn check_recipient(field: &str, address: &str) -> Result<(), InvalidInput> {
    if address.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            "must not hold control characters (CR, LF, ...)",
        ));
    }
    if address.is_empty() || address.len() > MAX_ADDRESS_LEN {
        return Err(InvalidInput::new(
            field,
            format!("must be 1 to {MAX_ADDRESS_LEN} characters"),
        ));
    }
    address
        .parse::<lettre::Address>()
        .map(|_| ())
        .map_err(|e| InvalidInput::new(field, format!("is not an e-mail address ({e})")))
}

/// What a new error means for an org's notifications: an immediate notice
/// (for the channels that want one), and the digests that count it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewErrorPlan {
    /// Some channel takes error notices as they come.
    pub immediate: bool,
    /// The digest frequencies some channel takes, each once.
    pub digests: Vec<Frequency>,
}

impl Settings {
    /// How often error notices go out by `channel`.
    pub fn frequency_of(&self, channel: Channel) -> Frequency {
        match channel {
            Channel::Webhook => self.webhook_frequency,
            Channel::Email => self.email_frequency,
        }
        .unwrap_or(self.frequency)
    }

    /// Whether `channel` has somewhere to send: a URL, recipients.
    pub fn has_destination(&self, channel: Channel) -> bool {
        match channel {
            Channel::Webhook => !self.webhook_url.is_empty(),
            Channel::Email => !self.email_recipients.is_empty(),
        }
    }

    /// What a new error means, by the frequencies of the channels with
    /// somewhere to send (their choices are applied at delivery, as the
    /// settings then say); nothing while off.
    pub fn new_error_plan(&self) -> NewErrorPlan {
        let mut plan = NewErrorPlan::default();
        if !self.enabled {
            return plan;
        }
        for channel in Channel::ALL {
            if !self.has_destination(channel) {
                continue;
            }
            let frequency = self.frequency_of(channel);
            if !frequency.is_digest() {
                plan.immediate = true;
            } else if !plan.digests.contains(&frequency) {
                plan.digests.push(frequency);
            }
        }
        plan
    }

    /// Whether `channel` takes the error notice `kind` (`errors`, as they
    /// come; `digest`, of `digest` frequency, or, made by an earlier
    /// version, of none): only a channel of that frequency does. Any other
    /// kind goes out whatever the frequency.
    pub fn takes_notice(&self, channel: Channel, kind: &str, digest: Option<Frequency>) -> bool {
        let frequency = self.frequency_of(channel);
        match kind {
            "errors" => !frequency.is_digest(),
            "digest" => digest.map_or(frequency.is_digest(), |d| d == frequency),
            _ => true,
        }
    }

    /// Checks the settings as they will be stored (the secret already merged
    /// with the one kept): enabled notifications need a URL and a secret.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        if !self.webhook_url.is_empty() {
            WebhookUrl::parse("settings.webhook_url", &self.webhook_url)?;
        }
        if let Some(secret) = &self.webhook_secret {
            let len = secret.chars().count();
            if !SECRET_LEN.contains(&len) || secret.chars().any(char::is_control) {
                return Err(InvalidInput::new(
                    "settings.webhook_secret",
                    format!(
                        "must be {} to {} printable characters",
                        SECRET_LEN.start(),
                        SECRET_LEN.end()
                    ),
                ));
            }
        }
        if self.email_recipients.len() > MAX_RECIPIENTS {
            return Err(InvalidInput::new(
                "settings.email_recipients",
                format!("must name at most {MAX_RECIPIENTS} addresses"),
            ));
        }
        for (i, address) in self.email_recipients.iter().enumerate() {
            let field = format!("settings.email_recipients[{i}]");
            check_recipient(&field, address)?;
            if self.email_recipients[..i]
                .iter()
                .any(|a| a.eq_ignore_ascii_case(address))
            {
                return Err(InvalidInput::new(field, "is named twice"));
            }
        }
        if self.enabled && self.webhook_url.is_empty() && self.email_recipients.is_empty() {
            return Err(InvalidInput::new(
                "settings.webhook_url",
                "or settings.email_recipients is required when notifications are enabled",
            ));
        }
        if self.enabled && !self.webhook_url.is_empty() && self.webhook_secret.is_none() {
            return Err(InvalidInput::new(
                "settings.webhook_secret",
                "is required when notifications are enabled: every delivery is signed",
            ));
        }
        Ok(())
    }
}

/// New errors of one type, in a notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypeCount {
    /// The category's code.
    pub category: &'static str,
    /// The type's code.
    #[serde(rename = "type")]
    pub error_type: &'static str,
    /// New current errors.
    pub new_errors: u64,
    /// What an operator should do.
    pub guidance: &'static str,
}

impl TypeCount {
    /// The count of `error_type`.
    pub fn of(error_type: ErrorType, new_errors: u64) -> Self {
        Self {
            category: error_type.category().code(),
            error_type: error_type.code(),
            new_errors,
            guidance: error_type.guidance(),
        }
    }
}

/// The body POSTed to a webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payload<'a> {
    /// Names the notification; the same in the Idempotency-Key header, and
    /// the same when a delivery is retried.
    pub id: &'a str,
    /// The org.
    pub org_id: &'a str,
    /// `errors` (new error types), `digest`, `suspended`, `cleared` or
    /// `usage`.
    pub kind: &'a str,
    /// For a digest, its period number (days or weeks since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    /// New errors per type, most first.
    pub types: Vec<TypeCount>,
    /// For `suspended` and `cleared`: which suspension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<SuspensionNotice<'a>>,
    /// For `usage`: how much of the allocation is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageNotice>,
}

/// The usage a `usage` alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct UsageNotice {
    /// Calls used in the rolling 24 hours: the integration's, or the whole
    /// org's (every app) when `of` is `org_limit`.
    pub used: u64,
    /// The integration's allocation, or the org limit when `of` is
    /// `org_limit`.
    pub allocation: u64,
    /// `used` in percent of `allocation`, rounded down.
    pub percent: u64,
    /// The threshold crossed, percent, when the alert names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_percent: Option<u32>,
    /// What the threshold is a share of: `allocation` or `org_limit`.
    pub of: &'static str,
}

impl UsageNotice {
    /// The notice of `used` calls of `allocation`.
    pub fn of(used: u64, allocation: u64) -> Self {
        let percent = (u128::from(used) * 100)
            .checked_div(u128::from(allocation))
            .map_or(100, |p| p.min(u128::from(u64::MAX)) as u64);
        Self {
            used,
            allocation,
            percent,
            threshold_percent: None,
            of: "allocation",
        }
    }

    /// The same, for a crossing of `threshold` % of `of` (`org_limit`, or
    /// else the allocation).
    pub fn crossing(self, threshold: Option<u32>, of: &str) -> Self {
        Self {
            threshold_percent: threshold,
            of: if of == "org_limit" {
                "org_limit"
            } else {
                "allocation"
            },
            ..self
        }
    }

    /// What `allocation` is, in words.
    pub fn limit_name(&self) -> &'static str {
        match self.of {
            "org_limit" => "org limit (all apps)",
            _ => "API allocation",
        }
    }
}

/// The suspension a `suspended` or `cleared` notification is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SuspensionNotice<'a> {
    /// The reason's code.
    pub reason: &'static str,
    /// What was seen.
    pub detail: &'a str,
    /// For a clear: true when the governor ended it by itself.
    pub automatic: bool,
    /// When it happened (RFC 3339, UTC): notices are separate deliveries
    /// and may arrive out of order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// What an operator should do.
    pub guidance: &'static str,
}

/// The channels a notification goes out by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// An HTTP POST to the org's webhook.
    Webhook,
    /// An e-mail to the org's recipients.
    Email,
}

impl Channel {
    /// Both channels.
    pub const ALL: [Channel; 2] = [Channel::Webhook, Channel::Email];

    /// The name the store, the logs and the metrics' `channel` label use.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Email => "email",
        }
    }
}

/// Consecutive failed deliveries from which a channel of an org counts as
/// failing (in the health cards, the notification settings and the
/// `failing` gauge).
pub const FAILING_AFTER: u32 = 3;

/// How deliveries by one channel of an org are going, kept by the store
/// from every attempt of every replica.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// Failed attempts since the last one the webhook took (or since the
    /// destination last changed).
    pub consecutive_failures: u32,
    /// Why the last failed attempt failed.
    pub last_failure: String,
    /// When it failed, ms.
    pub last_failure_ms: Option<i64>,
    /// When the webhook last took a notification, ms.
    pub last_success_ms: Option<i64>,
}

impl DeliveryStatus {
    /// Whether the channel has failed [`FAILING_AFTER`] times or more in a
    /// row.
    pub fn failing(&self) -> bool {
        self.consecutive_failures >= FAILING_AFTER
    }
}

/// The HMAC key of a secret: its bytes, or, for a Standard Webhooks secret
/// (`whsec_` and base64), the bytes the base64 holds, so that receivers can
/// verify with the Standard Webhooks libraries as they are.
pub fn signing_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| BASE64.decode(b64).ok())
        .filter(|key| !key.is_empty())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The Standard Webhooks signature (`webhook-signature` header) of one
/// delivery: `v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
/// with the key of [`signing_key`]. `id` is the `webhook-id` header (the
/// same on every attempt), `timestamp` the `webhook-timestamp` header
/// (seconds since the epoch, new on every attempt): a receiver that refuses
/// old timestamps and ids it has seen refuses replays.
pub fn sign_delivery(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&signing_key(secret))
        .expect("HMAC takes a key of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The former signature header's value (`X-Syncgov-Signature`), kept for
/// receivers that check it until they move to [`sign_delivery`]: it signs
/// the body only, so it cannot tell a replay. `sha256=<hex of
/// HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> Settings {
        Settings {
            enabled: true,
            frequency: Frequency::Daily,
            webhook_url: "https://hooks.example.com/syncgov".into(),
            webhook_secret: Some("0123456789abcdef".into()),
            ..Settings::default()
        }
    }

    #[test]
    fn recipients_are_bounded_addresses_without_control_characters() {
        let with = |r: &[&str]| Settings {
            email_recipients: r.iter().map(|a| a.to_string()).collect(),
            ..enabled()
        };
        assert!(
            with(&["ops@example.com", "Admin.Two@sub.example.org"])
                .validate()
                .is_ok()
        );
        let refused = |r: &[&str]| with(r).validate().unwrap_err();
        let e = refused(&["ops@example.com", "x@example.com\r\nBcc: spy@evil.example"]);
        assert_eq!(e.field, "settings.email_recipients[1]");
        assert!(e.rule.contains("control"), "{}", e.rule);
        assert_eq!(
            refused(&["not an address"]).field,
            "settings.email_recipients[0]"
        );
        assert_eq!(
            refused(&["a@b.example", "A@b.example"]).rule,
            "is named twice"
        );
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(refused(&[&long]).rule.contains("254"));
        let many: Vec<String> = (0..21).map(|i| format!("u{i}@example.com")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(refused(&many).field, "settings.email_recipients");
        // E-mail alone is a channel: no webhook needed.
        let mail_only = Settings {
            webhook_url: String::new(),
            webhook_secret: None,
            email_recipients: vec!["ops@example.com".into()],
            ..enabled()
        };
        assert!(mail_only.validate().is_ok());
    }

    #[test]
    fn an_update_changes_only_what_it_names() {
        let before = Settings {
            email_recipients: vec!["ops@example.com".into()],
            ..enabled()
        };
        let update = Update {
            email: ChoicesUpdate {
                errors: Some(false),
                ..ChoicesUpdate::default()
            },
            ..Update::default()
        };
        let after = update.apply(before.clone());
        assert!(!after.email.errors);
        assert_eq!(
            Settings {
                email: Choices {
                    errors: true,
                    ..after.email
                },
                ..after
            },
            before
        );
        assert_eq!(Update::default().apply(before.clone()), before);
        let cleared = Update {
            webhook_url: Some(String::new()),
            ..Update::default()
        }
        .apply(before.clone());
        assert_eq!(cleared.webhook_url, "");
        assert_eq!(
            cleared.webhook_secret, before.webhook_secret,
            "the secret stays"
        );
        assert_eq!(Kind::of("digest"), Some(Kind::Errors));
        assert_eq!(Kind::of("cleared"), Some(Kind::Suspensions));
        assert_eq!(Kind::of("usage"), Some(Kind::UsageAlerts));
        assert_eq!(Kind::of("other"), None);
    }

    #[test]
    fn settings_follow_the_rules() {
        assert!(enabled().validate().is_ok());
        assert!(Settings::default().validate().is_ok(), "off needs nothing");
        let field = |s: Settings| s.validate().unwrap_err().field;
        assert_eq!(
            field(Settings {
                webhook_url: String::new(),
                ..enabled()
            }),
            "settings.webhook_url"
        );
        assert_eq!(
            field(Settings {
                webhook_url: "ftp://x".into(),
                ..enabled()
            }),
            "settings.webhook_url"
        );
        assert_eq!(
            field(Settings {
                webhook_url: "https://user:pw@hooks.example.com/".into(),
                ..enabled()
            }),
            "settings.webhook_url"
        );
        assert_eq!(
            field(Settings {
                webhook_secret: None,
                ..enabled()
            }),
            "settings.webhook_secret"
        );
        assert_eq!(
            field(Settings {
                webhook_secret: Some("short".into()),
                ..enabled()
            }),
            "settings.webhook_secret"
        );
    }

    #[test]
    fn each_channel_has_its_frequency_or_follows_the_default() {
        let both = Settings {
            email_recipients: vec!["ops@example.com".into()],
            webhook_frequency: Some(Frequency::Immediately),
            ..enabled()
        };
        assert_eq!(both.frequency_of(Channel::Webhook), Frequency::Immediately);
        assert_eq!(both.frequency_of(Channel::Email), Frequency::Daily);
        assert_eq!(
            both.new_error_plan(),
            NewErrorPlan {
                immediate: true,
                digests: vec![Frequency::Daily]
            }
        );
        assert!(both.takes_notice(Channel::Webhook, "errors", None));
        assert!(!both.takes_notice(Channel::Email, "errors", None));
        assert!(both.takes_notice(Channel::Email, "digest", Some(Frequency::Daily)));
        assert!(!both.takes_notice(Channel::Email, "digest", Some(Frequency::Weekly)));
        assert!(!both.takes_notice(Channel::Webhook, "digest", Some(Frequency::Daily)));
        // A digest queued before channels had frequencies: any digest channel.
        assert!(both.takes_notice(Channel::Email, "digest", None));
        assert!(!both.takes_notice(Channel::Webhook, "digest", None));
        assert!(both.takes_notice(Channel::Email, "suspended", None));
        // Two digest frequencies, each counted once; no destination, no plan.
        let weekly_mail = Settings {
            email_frequency: Some(Frequency::Weekly),
            webhook_frequency: None,
            ..both.clone()
        };
        assert_eq!(
            weekly_mail.new_error_plan().digests,
            [Frequency::Daily, Frequency::Weekly]
        );
        let no_mail = Settings {
            email_recipients: Vec::new(),
            ..weekly_mail.clone()
        };
        assert_eq!(
            no_mail.new_error_plan(),
            NewErrorPlan {
                immediate: false,
                digests: vec![Frequency::Daily]
            }
        );
        let off = Settings {
            enabled: false,
            ..both.clone()
        };
        assert_eq!(off.new_error_plan(), NewErrorPlan::default());
        // An update may set a channel's own frequency, or clear it.
        let update = Update {
            email_frequency: Some(Some(Frequency::Weekly)),
            webhook_frequency: Some(None),
            ..Update::default()
        };
        let after = update.apply(both.clone());
        assert_eq!(after.email_frequency, Some(Frequency::Weekly));
        assert_eq!(after.webhook_frequency, None);
        assert_eq!(Update::default().apply(both.clone()), both);
        assert_eq!(Frequency::of_channel(0), Some(None));
        assert_eq!(Frequency::of_channel(3), Some(Some(Frequency::Weekly)));
        assert_eq!(Frequency::of_channel(4), None);
    }

    #[test]
    fn periods_are_days_or_weeks_since_the_epoch() {
        let day = 86_400_000;
        assert_eq!(Frequency::Immediately.period(5, day), None);
        assert_eq!(Frequency::Daily.period(day as i64 * 3 + 5, day), Some(3));
        assert_eq!(Frequency::Weekly.period(day as i64 * 15, day), Some(2));
        assert_eq!(Frequency::from_number(0), Some(Frequency::Immediately));
        assert_eq!(Frequency::from_number(9), None);
    }

    #[test]
    fn delivery_signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        assert_eq!(
            sign_delivery(
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // Other secrets are keys as they are.
        assert_eq!(signing_key("0123456789abcdef"), b"0123456789abcdef");
        assert_eq!(signing_key("whsec_not base64!"), b"whsec_not base64!");
        let a = sign_delivery("0123456789abcdef", "id-1", 1, b"{}");
        assert_ne!(a, sign_delivery("0123456789abcdef", "id-1", 2, b"{}"));
        assert_ne!(a, sign_delivery("0123456789abcdef", "id-2", 1, b"{}"));
    }

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
