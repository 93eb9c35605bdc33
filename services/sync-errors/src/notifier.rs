//! Sends error notifications. Every replica, every tick, makes the digests
//! that are due (the store makes each org's digest of a period once, however
//! many replicas ask) and delivers what is queued: an HTTP POST of JSON,
//! signed with the org's secret (`X-Syncgov-Signature: sha256=<hex>`), with
//! the notification's id as `Idempotency-Key`. A delivery that fails stays
//! claimed until its claim lapses, then any replica tries again: at least
//! once, and receivers drop repeats by the key.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::auth::AuthChannel;
use syncgov_kit::clock::now_ms;

use crate::domain::OrgId;
use crate::notify::{self, Payload, SuspensionNotice, TypeCount};
use crate::store::{ErrorStore, Pending};
use crate::taxonomy::{ErrorType, SuspensionReason};

/// Longest wait for a webhook to answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// How notifications are paced.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Length of a digest day (weekly digests: seven of them).
    pub day: Duration,
    /// How long a failed delivery waits before it is tried again.
    pub retry: Duration,
    /// How often each replica looks.
    pub tick: Duration,
}

/// `ms` since the epoch as RFC 3339 in UTC, to the millisecond.
fn rfc3339(ms: i64) -> Option<String> {
    let time = std::time::UNIX_EPOCH.checked_add(Duration::from_millis(u64::try_from(ms).ok()?))?;
    Some(humantime::format_rfc3339_millis(time).to_string())
}

/// The body of a queued notification.
pub fn payload<'a>(org: &'a OrgId, pending: &'a Pending) -> Payload<'a> {
    let mut types: Vec<TypeCount> = pending
        .counts
        .iter()
        .filter_map(|(t, n)| {
            t.parse()
                .ok()
                .and_then(ErrorType::from_number)
                .map(|t| TypeCount::of(t, *n))
        })
        .collect();
    types.sort_by(|a, b| {
        b.new_errors
            .cmp(&a.new_errors)
            .then(a.error_type.cmp(b.error_type))
    });
    let suspension = pending
        .reason
        .and_then(SuspensionReason::from_number)
        .map(|reason| SuspensionNotice {
            reason: reason.code(),
            detail: &pending.detail,
            automatic: pending.automatic,
            at: pending.at_ms.and_then(rfc3339),
            guidance: reason.guidance(),
        });
    Payload {
        id: &pending.id,
        org_id: org.as_str(),
        kind: &pending.kind,
        period: pending.period,
        types,
        suspension,
    }
}

/// Reads the governor's suspension events and queues a notice of each for
/// orgs whose notifications are on, whatever their frequency (a suspension
/// stops the whole integration: it does not wait for a digest). Resumes
/// where the replicas' reading stands, so a restart misses nothing; the
/// store queues each event once, however many replicas read it.
pub async fn watch_suspensions<S: ErrorStore>(
    store: Arc<S>,
    mut governor: QuotaGovernorClient<AuthChannel>,
) {
    let mut pause = Duration::from_millis(500);
    loop {
        let cursor = match store.suspension_cursor().await {
            Ok(cursor) => cursor.unwrap_or_default(),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read where suspension events stand");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let request = quota::WatchSuspensionsRequest {
            org_id: String::new(),
            cursor,
        };
        let mut events = match governor.watch_suspensions(request).await {
            Ok(stream) => stream.into_inner(),
            Err(status) => {
                tracing::debug!(error = %status, "cannot watch the governor's suspensions yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        pause = Duration::from_millis(500);
        while let Ok(Some(event)) = events.message().await {
            if let Err(e) = notice(&*store, &event).await {
                tracing::warn!(error = %e, "cannot queue a suspension notice; reading again");
                break;
            }
        }
        tokio::time::sleep(pause).await;
    }
}

async fn notice<S: ErrorStore>(
    store: &S,
    event: &quota::WatchSuspensionsResponse,
) -> Result<(), crate::store::StoreError> {
    if let Ok(org) = OrgId::parse(&event.org_id) {
        let on = store
            .notification_settings(&org)
            .await?
            .is_some_and(|s| s.enabled);
        if on {
            let suspended = event.kind == quota::SuspensionEventKind::Suspended as i32;
            let pending = Pending {
                id: format!("suspension-{}", event.cursor),
                kind: if suspended { "suspended" } else { "cleared" }.into(),
                reason: Some(event.reason),
                detail: event.detail.clone(),
                automatic: event.automatic,
                at_ms: event.at.as_ref().map(syncgov_kit::clock::timestamp_ms),
                ..Pending::default()
            };
            store.queue_notice(&org, &pending).await?;
        }
    }
    store.set_suspension_cursor(&event.cursor).await
}

/// Makes due digests and delivers queued notifications, until dropped.
pub async fn run<S: ErrorStore>(store: Arc<S>, pacing: Pacing) {
    let http: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let day_ms = pacing.day.as_millis() as u64;
    let lease_ms = pacing.retry.as_millis() as u64;
    loop {
        tokio::time::sleep(pacing.tick).await;
        let orgs = match store.notified_orgs().await {
            Ok(orgs) => orgs,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read notification settings now");
                continue;
            }
        };
        for org in orgs {
            if let Err(e) = serve_org(&*store, &http, &org, day_ms, lease_ms).await {
                tracing::debug!(org_id = %org, error = %e, "notifications wait");
            }
        }
    }
}

async fn serve_org<S: ErrorStore>(
    store: &S,
    http: &Client<HttpConnector, Full<Bytes>>,
    org: &OrgId,
    day_ms: u64,
    lease_ms: u64,
) -> Result<(), crate::store::StoreError> {
    let Some(settings) = store
        .notification_settings(org)
        .await?
        .filter(|s| s.enabled)
    else {
        return Ok(());
    };
    if let Some(period) = settings.frequency.period(now_ms(), day_ms) {
        store.make_digest(org, period).await?;
    }
    while let Some(pending) = store.claim_notification(org, lease_ms).await? {
        let delivered = deliver(http, org, &settings, &pending).await;
        crate::metrics::delivery(delivered);
        if !delivered {
            // Stays claimed; tried again once the claim lapses.
            break;
        }
        store.notification_sent(org, &pending.id).await?;
    }
    Ok(())
}

/// POSTs one notification; true when the webhook took it (2xx).
async fn deliver(
    http: &Client<HttpConnector, Full<Bytes>>,
    org: &OrgId,
    settings: &notify::Settings,
    pending: &Pending,
) -> bool {
    let Some(secret) = settings.webhook_secret.as_deref() else {
        return false;
    };
    let body = match serde_json::to_vec(&payload(org, pending)) {
        Ok(body) => body,
        Err(_) => return false,
    };
    let request = hyper::Request::post(&settings.webhook_url)
        .header("content-type", "application/json")
        .header("x-syncgov-signature", notify::sign(secret, &body))
        .header("idempotency-key", &pending.id)
        .header("x-syncgov-org", org.as_str())
        .body(Full::new(Bytes::from(body)));
    let Ok(request) = request else {
        tracing::warn!(org_id = %org, "the webhook URL cannot be used");
        return false;
    };
    match tokio::time::timeout(DELIVERY_TIMEOUT, http.request(request)).await {
        Ok(Ok(response)) if response.status().is_success() => {
            tracing::info!(org_id = %org, id = %pending.id, "notification delivered");
            true
        }
        Ok(Ok(response)) => {
            tracing::warn!(org_id = %org, status = %response.status(), "webhook refused a notification; will retry");
            false
        }
        Ok(Err(e)) => {
            tracing::warn!(org_id = %org, error = %e, "webhook unreachable; will retry");
            false
        }
        Err(_) => {
            tracing::warn!(org_id = %org, "webhook did not answer in time; will retry");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_types_by_code_most_first() {
        let org = OrgId::parse("acme").unwrap();
        let pending = Pending {
            id: "digest-7".into(),
            kind: "digest".into(),
            period: Some(7),
            counts: [("25".to_string(), 2), ("26".to_string(), 5)].into(),
            ..Pending::default()
        };
        let body = serde_json::to_value(payload(&org, &pending)).unwrap();
        assert_eq!(body["kind"], "digest");
        assert_eq!(body["period"], 7);
        assert_eq!(body["types"][0]["type"], "INVALID_EMAIL");
        assert_eq!(body["types"][0]["new_errors"], 5);
        assert_eq!(body["types"][1]["type"], "STRING_TOO_LONG");
        assert_eq!(body["types"][1]["category"], "PROPERTY_VALUES");
    }
}
