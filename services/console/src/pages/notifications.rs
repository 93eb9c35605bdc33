//! An org's error notification settings.

use super::*;

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    layout: Layout,
    org: String,
    enabled: bool,
    frequency: String,
    /// The webhook's own frequency, or `default`.
    webhook_frequency: String,
    /// E-mail's own frequency, or `default`.
    email_frequency: String,
    webhook_url: String,
    secret_set: bool,
    delivery: Option<String>,
    email_delivery: Option<String>,
    problem: Option<String>,
}

/// How a channel's deliveries go, in words.
fn delivery_words(d: errors::NotificationDeliveryStatus) -> String {
    if d.failing {
        format!(
            "Failing: {} attempts in a row, the last at {} ({}).",
            d.consecutive_failures,
            format::time(d.last_failure_at.as_ref()),
            d.last_failure.chars().take(200).collect::<String>()
        )
    } else {
        format!(
            "Getting through; the last delivery taken {}.",
            format::time(d.last_success_at.as_ref())
        )
    }
}

/// An org's error notifications: on or off, how often, where.
pub async fn notifications(state: Shared, headers: HeaderMap, Path(raw): Path<String>) -> Response {
    let session = match require(&state, &headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let reply = state
        .backend
        .sync_errors(&session)
        .get_notification_settings(errors::GetNotificationSettingsRequest {
            org_id: org.clone(),
        })
        .await;
    let mut page = layout(
        &state,
        &headers,
        Some(session),
        format!("{org}: notifications"),
    );
    page.org = Some(org.clone());
    page.tab = "notifications";
    let shown = page.notice.is_some();
    let view = match reply {
        Ok(r) => {
            let r = r.into_inner();
            let settings = r.settings.unwrap_or_default();
            NotificationsPage {
                layout: page,
                org,
                enabled: settings.enabled,
                frequency: forms::frequency_name(settings.frequency).to_owned(),
                webhook_frequency: forms::channel_frequency_name(settings.webhook_frequency)
                    .to_owned(),
                email_frequency: forms::channel_frequency_name(settings.email_frequency).to_owned(),
                webhook_url: settings.webhook_url,
                secret_set: r.webhook_secret_set,
                delivery: r.delivery.map(delivery_words),
                email_delivery: r.email_delivery.map(delivery_words),
                problem: None,
            }
        }
        Err(s) => NotificationsPage {
            layout: page,
            org,
            enabled: false,
            frequency: String::new(),
            webhook_frequency: String::new(),
            email_frequency: String::new(),
            webhook_url: String::new(),
            secret_set: false,
            delivery: None,
            email_delivery: None,
            problem: Some(say(Service::SyncErrors, Action::Notifications, &s)),
        },
    };
    render(&state, StatusCode::OK, &view, shown)
}

/// Saves an org's error notification settings. An empty secret keeps the
/// one set before (the service never reads it back).
pub async fn save_notifications(
    state: Shared,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Bytes,
) -> Response {
    let (session, fields) = match posted(&state, &headers, &body) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let org = match org_of(&state, &headers, &session, &raw) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let back = format!("/orgs/{org}/notifications");
    let parsed = (|| {
        Ok::<_, BadInput>(errors::NotificationSettings {
            enabled: fields.get("enabled") == "1",
            frequency: forms::frequency("frequency", fields.get("frequency"))?,
            webhook_frequency: forms::channel_frequency(
                "webhook_frequency",
                fields.get("webhook_frequency"),
            )?,
            email_frequency: forms::channel_frequency(
                "email_frequency",
                fields.get("email_frequency"),
            )?,
            webhook_url: forms::webhook_url("webhook_url", fields.get("webhook_url"))?,
            webhook_secret: forms::webhook_secret("webhook_secret", fields.get("webhook_secret"))?,
            // The page edits the fields above only: the channels' kinds and
            // the e-mail recipients, left unset, keep what is stored.
            ..Default::default()
        })
    })();
    let settings = match parsed {
        Ok(s) => s,
        Err(e) => {
            return after_action(
                &state,
                &back,
                Notice {
                    error: true,
                    text: format!("{e}."),
                },
            );
        }
    };
    let enabled = settings.enabled;
    let reply = state
        .backend
        .sync_errors(&session)
        .update_notification_settings(errors::UpdateNotificationSettingsRequest {
            org_id: org.clone(),
            settings: Some(settings),
            // The fields the page edits: the secret only when given (an
            // empty one keeps the stored one); a channel's frequency set
            // to default follows frequency again.
            update_mask: Some(prost_types::FieldMask {
                paths: [
                    "enabled",
                    "frequency",
                    "webhook_frequency",
                    "email_frequency",
                    "webhook_url",
                    "webhook_secret",
                ]
                .map(str::to_owned)
                .to_vec(),
            }),
        })
        .await;
    let notice = match reply {
        Ok(_) if enabled => Notice {
            error: false,
            text: format!("Error notifications of {org} are on."),
        },
        Ok(_) => Notice {
            error: false,
            text: format!("Error notifications of {org} are off."),
        },
        Err(s) => Notice {
            error: true,
            text: say(Service::SyncErrors, Action::Notifications, &s),
        },
    };
    after_action(&state, &back, notice)
}
