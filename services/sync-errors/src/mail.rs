//! What a notification says to people, pure: the subject, the plain text
//! and the HTML of an e-mail, and the short text of a Slack-style webhook,
//! from the same [`Payload`] the JSON webhook gets. Sending is `smtp.rs`'s.
//!
//! Invariant: everything that comes from outside (the org id, a
//! suspension's detail, the guidance) is escaped before it goes into HTML,
//! and never reaches a header but the subject, where the org id is already
//! restricted to printable characters without CR or LF.

use std::fmt::Write as _;

use crate::notify::{Payload, SuspensionNotice};
use crate::taxonomy::SuspensionReason;

/// One notification as an e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// Short and specific: `[syncgov] acme: integration suspended (API limit reached)`.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body, every outside value escaped.
    pub html: String,
}

/// Longest suspension detail quoted in a message: the rest is in the
/// service, and a mail is no place for pages of it.
const MAX_DETAIL: usize = 500;

/// A short name of a suspension reason, for subjects.
pub fn reason_label(code: &str) -> &'static str {
    match SuspensionReason::from_code(code) {
        Some(SuspensionReason::SalesforceApiLimitExceeded) => "API limit reached",
        Some(SuspensionReason::IntegrationApiLimitExceeded) => "allocation used up",
        Some(SuspensionReason::SalesforceApiDisabled) => "API access disabled",
        Some(SuspensionReason::MissingObjectPermissions) => "object permissions missing",
        Some(SuspensionReason::MissingFieldPermissions) => "field permissions missing",
        Some(SuspensionReason::SalesforceOrgLocked) => "org locked",
        Some(SuspensionReason::SalesforceStorageLimitExceeded) => "storage full",
        Some(SuspensionReason::SalesforceOrgUnavailable) => "Salesforce unavailable",
        Some(SuspensionReason::SalesforceServerError) => "Salesforce server error",
        Some(SuspensionReason::MissingFieldMappings) => "no field mappings",
        Some(SuspensionReason::SalesforceAuthFailed) => "credentials rejected",
        Some(SuspensionReason::SalesforceConcurrentLimitExceeded) => "too many concurrent calls",
        Some(SuspensionReason::Unknown) | None => "unclear error",
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `detail` cut to [`MAX_DETAIL`] characters, control characters as spaces.
fn clean(detail: &str) -> String {
    let mut out: String = detail
        .chars()
        .take(MAX_DETAIL)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if detail.chars().count() > MAX_DETAIL {
        out.push('…');
    }
    out
}

/// The subject of `p`.
pub fn subject(p: &Payload<'_>) -> String {
    let org = p.org_id;
    match p.kind {
        "suspended" => format!(
            "[syncgov] {org}: integration suspended ({})",
            p.suspension.as_ref().map_or("", |s| reason_label(s.reason))
        ),
        "cleared" => format!(
            "[syncgov] {org}: suspension cleared ({})",
            p.suspension.as_ref().map_or("", |s| reason_label(s.reason))
        ),
        "errors" => match p.types.as_slice() {
            [one] => format!("[syncgov] {org}: new sync errors ({})", one.error_type),
            _ => format!("[syncgov] {org}: new sync errors"),
        },
        "digest" => format!(
            "[syncgov] {org}: sync error digest, {} new errors",
            p.types.iter().map(|t| t.new_errors).sum::<u64>()
        ),
        "usage" => match p.usage {
            Some(u) => format!(
                "[syncgov] {org}: {} % of the {} used",
                u.percent,
                u.limit_name()
            ),
            None => format!("[syncgov] {org}: API usage alert"),
        },
        other => format!("[syncgov] {org}: {other}"),
    }
}

/// The lines of `p`'s message as (heading, paragraphs); both bodies and the
/// Slack text are made from them, so they never say different things.
fn lines(p: &Payload<'_>) -> (String, Vec<String>) {
    let org = p.org_id;
    let suspension = |s: &SuspensionNotice<'_>, suspended: bool| {
        let mut out = Vec::new();
        if suspended {
            out.push(format!(
                "The integration of org {org} is suspended: {} ({}).",
                reason_label(s.reason),
                s.reason
            ));
        } else {
            out.push(format!(
                "The suspension of org {org} ({}, {}) is cleared{}; syncing resumes.",
                reason_label(s.reason),
                s.reason,
                if s.automatic {
                    " by itself"
                } else {
                    " by an operator"
                }
            ));
        }
        if !s.detail.is_empty() {
            out.push(format!("Seen: {}", clean(s.detail)));
        }
        if let Some(at) = &s.at {
            out.push(format!("At: {at}"));
        }
        if suspended {
            out.push(format!("What to do: {}", s.guidance));
        }
        out
    };
    let types = |p: &Payload<'_>| {
        p.types
            .iter()
            .map(|t| {
                format!(
                    "{} new {} ({}). What to do: {}",
                    t.new_errors, t.error_type, t.category, t.guidance
                )
            })
            .collect::<Vec<_>>()
    };
    match (p.kind, &p.suspension) {
        ("suspended", Some(s)) => (subject(p), suspension(s, true)),
        ("cleared", Some(s)) => (subject(p), suspension(s, false)),
        ("errors", _) => {
            let mut out = vec![format!("New sync errors in org {org}:")];
            out.extend(types(p));
            (subject(p), out)
        }
        ("digest", _) => {
            let mut out = vec![format!(
                "New sync errors in org {org} since the last digest (period {}):",
                p.period.unwrap_or_default()
            )];
            out.extend(types(p));
            (subject(p), out)
        }
        ("usage", _) => {
            let crossed = |u: &crate::notify::UsageNotice| {
                u.threshold_percent
                    .map(|t| format!(" It crossed the alert threshold of {t} %."))
                    .unwrap_or_default()
            };
            let text = match p.usage {
                Some(u) if u.of == "org_limit" => format!(
                    "Org {org} has used {} % of its org limit, counting every app: {} of {} calls \
                     in the last 24 hours.{} Past the limit, Salesforce refuses the calls of every \
                     app: find who uses the org's calls, or ask Salesforce for more.",
                    u.percent,
                    u.used,
                    u.allocation,
                    crossed(&u)
                ),
                Some(u) => format!(
                    "Org {org} has used {} % of its API allocation: {} of {} calls in the last 24 hours.{} \
                     Past the allocation, calls are refused until older ones leave the window: \
                     raise the allocation or slow the syncs down.",
                    u.percent,
                    u.used,
                    u.allocation,
                    crossed(&u)
                ),
                None => format!("Org {org} crossed an API usage threshold."),
            };
            (subject(p), vec![text])
        }
        (kind, _) => (
            subject(p),
            vec![format!("Notification {kind} for org {org}.")],
        ),
    }
}

/// The e-mail of `p`.
pub fn compose(p: &Payload<'_>) -> Mail {
    let (heading, paragraphs) = lines(p);
    let mut text = String::new();
    for line in &paragraphs {
        let _ = writeln!(text, "{line}\n");
    }
    let _ = writeln!(text, "-- \nsyncgov notification {}", p.id);
    let mut html =
        String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    let _ = writeln!(html, "<h2>{}</h2>", escape_html(&heading));
    for line in &paragraphs {
        let _ = writeln!(html, "<p>{}</p>", escape_html(line));
    }
    let _ = writeln!(
        html,
        "<p style=\"color:#666\">syncgov notification {}</p>\n</body></html>",
        escape_html(p.id)
    );
    Mail {
        subject: heading,
        text,
        html,
    }
}

/// The short text of a Slack-style webhook: the subject's words and the
/// message, without markup (`<`, `>` and `&` escaped as Slack asks).
pub fn slack_text(p: &Payload<'_>) -> String {
    let (heading, paragraphs) = lines(p);
    let mut text = heading;
    for line in paragraphs {
        text.push('\n');
        text.push_str(&line);
    }
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{TypeCount, UsageNotice};
    use crate::taxonomy::ErrorType;

    fn base(kind: &'static str) -> Payload<'static> {
        Payload {
            id: "n-1",
            org_id: "acme",
            kind,
            period: None,
            types: Vec::new(),
            suspension: None,
            usage: None,
        }
    }

    fn suspended(detail: &'static str) -> Payload<'static> {
        let reason = SuspensionReason::SalesforceApiLimitExceeded;
        Payload {
            suspension: Some(SuspensionNotice {
                reason: reason.code(),
                detail,
                automatic: false,
                at: Some("2026-01-01T00:00:00.000Z".into()),
                guidance: reason.guidance(),
            }),
            ..base("suspended")
        }
    }

    #[test]
    fn subjects_are_short_and_specific() {
        assert_eq!(
            subject(&suspended("")),
            "[syncgov] acme: integration suspended (API limit reached)"
        );
        let cleared = Payload {
            kind: "cleared",
            ..suspended("")
        };
        assert_eq!(
            subject(&cleared),
            "[syncgov] acme: suspension cleared (API limit reached)"
        );
        let t = ErrorType::from_number(26).unwrap();
        let errors = Payload {
            types: vec![TypeCount::of(t, 1)],
            ..base("errors")
        };
        assert_eq!(
            subject(&errors),
            format!("[syncgov] acme: new sync errors ({})", t.code())
        );
        let digest = Payload {
            types: vec![TypeCount::of(t, 3), TypeCount::of(t, 4)],
            period: Some(9),
            ..base("digest")
        };
        assert_eq!(
            subject(&digest),
            "[syncgov] acme: sync error digest, 7 new errors"
        );
        let usage = Payload {
            usage: Some(UsageNotice::of(90, 100)),
            ..base("usage")
        };
        assert_eq!(
            subject(&usage),
            "[syncgov] acme: 90 % of the API allocation used"
        );
        assert!(compose(&usage).text.contains("90 of 100 calls"));
    }

    #[test]
    fn bodies_carry_the_reason_and_the_guidance() {
        let mail = compose(&suspended("REQUEST_LIMIT_EXCEEDED"));
        let guidance = SuspensionReason::SalesforceApiLimitExceeded.guidance();
        assert!(mail.text.contains("SALESFORCE_API_LIMIT_EXCEEDED"));
        assert!(mail.text.contains("Seen: REQUEST_LIMIT_EXCEEDED"));
        assert!(mail.text.contains(guidance));
        assert!(mail.html.contains(&escape_html(guidance)));
    }

    #[test]
    fn html_escapes_what_comes_from_outside() {
        let mail = compose(&suspended("<script>alert('x')</script> & \"q\""));
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        );
        // The plain text quotes it as it is, control characters aside.
        let mail = compose(&suspended("a\r\nBcc: x@evil.example"));
        assert!(mail.text.contains("a  Bcc: x@evil.example"));
        assert!(!mail.subject.contains('\n'));
        assert!(slack_text(&suspended("<@here>")).contains("&lt;@here&gt;"));
    }

    #[test]
    fn usage_percent_rounds_down_and_survives_a_zero_allocation() {
        assert_eq!(UsageNotice::of(899, 1000).percent, 89);
        assert_eq!(UsageNotice::of(5, 0).percent, 100);
        assert_eq!(UsageNotice::of(u64::MAX, 1).percent, u64::MAX);
    }
}
