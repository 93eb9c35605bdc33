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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

/// An org's notification settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Whether notifications go out.
    pub enabled: bool,
    /// How often.
    pub frequency: Frequency,
    /// Where to.
    pub webhook_url: String,
    /// Signs deliveries; `None` in an update keeps the one set before.
    pub webhook_secret: Option<String>,
}

impl Settings {
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
        if self.enabled && self.webhook_url.is_empty() {
            return Err(InvalidInput::new(
                "settings.webhook_url",
                "is required when notifications are enabled",
            ));
        }
        if self.enabled && self.webhook_secret.is_none() {
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
    /// `errors` (new error types), `digest`, `suspended` or `cleared`.
    pub kind: &'a str,
    /// For a digest, its period number (days or weeks since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    /// New errors per type, most first.
    pub types: Vec<TypeCount>,
    /// For `suspended` and `cleared`: which suspension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspension: Option<SuspensionNotice<'a>>,
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

/// Consecutive failed deliveries from which an org's webhook counts as
/// failing (in the health cards and the `failing` gauge).
pub const FAILING_AFTER: u32 = 3;

/// How deliveries to an org's webhook are going, kept by the store from
/// every attempt of every replica.
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
    /// Whether the webhook has failed [`FAILING_AFTER`] times or more in a
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
        }
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
