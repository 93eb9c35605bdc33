//! What the sync-error service's audit trail records of a change, as small
//! JSON documents (pure; the trail itself is `syncgov_kit::audit`). Never a
//! secret: a webhook secret is recorded as set, kept or replaced, and a
//! webhook URL as its scheme and host with a fingerprint of the whole
//! (paths and queries often carry a receiver's token).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::core::Reclassified;
use crate::notify::{Choices, Frequency, Settings, WebhookFormat};
use crate::resync::JobId;
use crate::rules::Rules;

/// Job ids recorded of one resync, at most: the call queues up to 100, and
/// the event stays small; the counts are always whole.
pub const MAX_JOBS_RECORDED: usize = 20;

/// `url` as the trail records it: `scheme://host[:port]`, `/…` when it has
/// more, and the first 8 bytes of its SHA-256 in hex, so that a change of
/// path or token shows without the token. Empty stays empty.
pub fn masked_url(url: &str) -> String {
    if url.is_empty() {
        return String::new();
    }
    let digest = Sha256::digest(url.as_bytes());
    let fingerprint: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    // Credentials are refused on the way in; never shown if once stored.
    let host = rest[..end].rsplit('@').next().unwrap_or_default();
    let more = if end < rest.len() { "/…" } else { "" };
    format!("{scheme}://{host}{more} (sha256:{fingerprint})")
}

/// An org's notification settings as the trail records them; `secret`
/// says what became of the webhook secret (`"unset"`, `"set"`, `"kept"`,
/// `"replaced"`).
pub fn notification(settings: &Settings, secret: &str) -> Value {
    json!({
        "enabled": settings.enabled,
        "frequency": frequency(settings.frequency),
        // A channel without a frequency of its own follows `frequency`.
        "webhook_frequency": settings.webhook_frequency.map_or("default", frequency),
        "email_frequency": settings.email_frequency.map_or("default", frequency),
        "webhook_url": masked_url(&settings.webhook_url),
        "webhook_secret": secret,
        "webhook_format": match settings.webhook_format {
            WebhookFormat::Json => "json",
            WebhookFormat::Slack => "slack",
        },
        "webhook": choices(settings.webhook),
        "email": choices(settings.email),
        "email_recipients": settings.email_recipients,
    })
}

/// A frequency as the trail records it.
fn frequency(f: Frequency) -> &'static str {
    match f {
        Frequency::Immediately => "immediately",
        Frequency::Daily => "daily",
        Frequency::Weekly => "weekly",
    }
}

/// One channel's choices as the trail records them.
fn choices(c: Choices) -> Value {
    json!({
        "errors": c.errors,
        "suspensions": c.suspensions,
        "usage_alerts": c.usage_alerts,
    })
}

/// What an update did to the webhook secret: given or not, set before or
/// not.
pub fn secret_change(set_before: bool, given: bool, set_after: bool) -> &'static str {
    match (set_before, given, set_after) {
        (_, _, false) => "unset",
        (true, true, _) => "replaced",
        (false, true, _) => "set",
        (_, false, true) => "kept",
    }
}

/// A resync as the trail records it: how many errors were asked for, how
/// many queued and how many were queued already, and the first
/// [`MAX_JOBS_RECORDED`] jobs.
pub fn resync(asked: usize, queued: &[&JobId], already_queued: usize) -> Value {
    json!({
        "asked": asked,
        "queued": queued.len(),
        "already_queued": already_queued,
        "jobs": queued
            .iter()
            .take(MAX_JOBS_RECORDED)
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    })
}

/// A reclassification as the trail records it: its counts and moves.
pub fn reclassified(done: &Reclassified) -> Value {
    json!({
        "examined": done.examined,
        "moved": done.moved,
        "now_suspension": done.now_suspension,
        "skipped_resyncing": done.skipped_resyncing,
        "moves": done
            .moves
            .iter()
            .map(|(from, to, n)| json!({"from": from.code(), "to": to.code(), "errors": n}))
            .collect::<Vec<_>>(),
    })
}

/// The operator rules in force, as the trail shows them: how many and
/// their names (a file's full text may be long; the names tell which rules
/// came and went).
pub fn rules(rules: &Rules) -> Value {
    json!({
        "rules": rules.len(),
        "names": rules.names().collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_url_keeps_its_host_and_loses_its_token() {
        let url = "https://hooks.example.com/services/T000/B000/XXXXsecretXXXX?token=abc";
        let masked = masked_url(url);
        assert!(
            masked.starts_with("https://hooks.example.com/… (sha256:"),
            "{masked}"
        );
        assert!(
            !masked.contains("secret") && !masked.contains("abc"),
            "{masked}"
        );
        assert_ne!(
            masked,
            masked_url("https://hooks.example.com/services/other")
        );
        assert_eq!(
            masked_url("https://u:p@h.example:8443").split(' ').next(),
            Some("https://h.example:8443")
        );
        assert_eq!(masked_url(""), "");
    }

    #[test]
    fn the_secret_is_recorded_as_what_became_of_it() {
        assert_eq!(secret_change(false, true, true), "set");
        assert_eq!(secret_change(true, true, true), "replaced");
        assert_eq!(secret_change(true, false, true), "kept");
        assert_eq!(secret_change(false, false, false), "unset");
        let settings = Settings {
            enabled: true,
            frequency: Frequency::Daily,
            webhook_url: "https://h.example/x".into(),
            webhook_secret: Some("whsec_topsecretvalue".into()),
            email_recipients: vec!["ops@acme.example".into()],
            ..Settings::default()
        };
        let text = notification(&settings, "set").to_string();
        assert!(text.contains("ops@acme.example"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
        assert!(text.contains("\"daily\""), "{text}");
    }
}
