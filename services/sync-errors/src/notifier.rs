//! Sends notifications. Every replica, every tick, makes the digests that
//! are due (the store makes each org's digest of a period once, however
//! many replicas ask) and delivers what is queued to each channel whose
//! choices carry its kind: an e-mail to the org's recipients (`mail.rs`,
//! `smtp.rs`), then an HTTP POST of JSON (or Slack-style text) to the org's
//! webhook (`webhook.rs`). The store remembers which channels took a
//! notification, so a retry after one channel failed does not send again
//! to the other. The POST is signed with the org's secret under the
//! Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), with the notification's id as `webhook-id` and
//! `Idempotency-Key`. A delivery that fails stays claimed until its claim
//! lapses, then any replica tries again: at least once, and receivers drop
//! repeats by the id.
//!
//! Orgs are served concurrently, up to a bound, each by one task at a time
//! that sends the org's notifications one by one in order (the store hands
//! out an org's next notification only once the one before is done), so a
//! webhook that never answers holds up its own org only. A destination that
//! keeps not answering (time-outs, refused connections) is spared for a
//! while, doubling, so that it ties up no delivery slot of other orgs that
//! share it. The settings are read again before every POST: turning
//! notifications off, a new URL or a new secret apply to every delivery not
//! yet sent.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::auth::AuthChannel;
use syncgov_kit::clock::now_ms;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::destination::WebhookUrl;
use crate::domain::OrgId;
use crate::notify::{self, Payload, SuspensionNotice, TypeCount};
use crate::smtp::Mailer;
use crate::store::{ErrorStore, Pending};
use crate::taxonomy::{ErrorType, SuspensionReason};
use crate::webhook::{Deliverer, Failure};

/// Longest a destination that keeps not answering is spared.
const COOLING_CAP: Duration = Duration::from_secs(300);

/// How notifications are paced.
#[derive(Clone, Copy, Debug)]
pub struct Pacing {
    /// Length of a digest day (weekly digests: seven of them).
    pub day: Duration,
    /// How long a failed delivery waits before it is tried again.
    pub retry: Duration,
    /// How often each replica looks.
    pub tick: Duration,
    /// Orgs served at once by this replica.
    pub concurrency: usize,
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
        usage: pending
            .used
            .zip(pending.allocation)
            .map(|(used, allocation)| {
                notify::UsageNotice::of(used, allocation).crossing(pending.threshold, &pending.of)
            }),
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
        // Queued only when some channel carries suspensions.
        let on = store.notification_settings(&org).await?.is_some_and(|s| {
            s.enabled
                && ((!s.webhook_url.is_empty() && s.webhook.suspensions)
                    || (!s.email_recipients.is_empty() && s.email.suspensions))
        });
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

/// Reads the governor's usage alerts and queues a notice of each for orgs
/// whose channels carry usage alerts. Resumes where the replicas' reading
/// stands, so a restart misses nothing; each alert is queued once, however
/// many replicas read it (its id is the alert's place in the governor's
/// feed, which names the crossing).
pub async fn watch_usage_alerts<S: ErrorStore>(
    store: Arc<S>,
    mut governor: QuotaGovernorClient<AuthChannel>,
) {
    let mut pause = Duration::from_millis(500);
    loop {
        let cursor = match store.usage_alert_cursor().await {
            Ok(cursor) => cursor.unwrap_or_default(),
            Err(e) => {
                tracing::debug!(error = %e, "cannot read where usage alerts stand");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let request = quota::WatchUsageAlertsRequest {
            org_id: String::new(),
            cursor,
        };
        let mut alerts = match governor.watch_usage_alerts(request).await {
            Ok(stream) => stream.into_inner(),
            Err(status) => {
                tracing::debug!(error = %status, "cannot watch the governor's usage alerts yet");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        pause = Duration::from_millis(500);
        while let Ok(Some(alert)) = alerts.message().await {
            if let Err(e) = usage_notice(&*store, &alert).await {
                tracing::warn!(error = %e, "cannot queue a usage alert; reading again");
                break;
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// Queues the notice of one usage alert, then keeps where reading stands.
async fn usage_notice<S: ErrorStore>(
    store: &S,
    alert: &quota::WatchUsageAlertsResponse,
) -> Result<(), crate::store::StoreError> {
    if let Ok(org) = OrgId::parse(&alert.org_id) {
        let of = if alert.of == quota::UsageAlertOf::OrgLimit as i32 {
            "org_limit"
        } else {
            "allocation"
        };
        let crossing = Crossing {
            used: alert.used,
            limit: alert.limit,
            threshold: alert.threshold_percent,
            of,
        };
        // The cursor names the crossing in the governor's feed; the rest
        // keeps ids apart should a feed without Redis start over.
        let id = format!("{}-{of}-{}", alert.cursor, alert.threshold_percent);
        queue_usage_alert(store, &org, &id, crossing).await?;
    }
    store.set_usage_alert_cursor(&alert.cursor).await
}

/// A usage threshold crossed, as a notice tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crossing<'a> {
    /// Calls used in the rolling window.
    pub used: u64,
    /// The allocation or org limit they count against.
    pub limit: u64,
    /// The threshold crossed, percent.
    pub threshold: u32,
    /// `allocation` or `org_limit`.
    pub of: &'a str,
}

/// Queues a usage alert for `org`: `crossing.used` calls of its allocation
/// (or org limit) in the rolling window. `id` names the crossing (the
/// governor's cursor of the alert), so that replicas that see the same
/// crossing queue it once. Queued only while notifications are on and a
/// channel with somewhere to send carries usage alerts; returns whether it
/// was queued.
pub async fn queue_usage_alert<S: ErrorStore>(
    store: &S,
    org: &OrgId,
    id: &str,
    crossing: Crossing<'_>,
) -> Result<bool, crate::store::StoreError> {
    let wanted = store.notification_settings(org).await?.is_some_and(|s| {
        s.enabled
            && ((!s.webhook_url.is_empty() && s.webhook.usage_alerts)
                || (!s.email_recipients.is_empty() && s.email.usage_alerts))
    });
    if !wanted {
        return Ok(false);
    }
    let alert = Pending {
        id: format!("usage-{id}"),
        kind: "usage".into(),
        used: Some(crossing.used),
        allocation: Some(crossing.limit),
        threshold: Some(crossing.threshold),
        of: crossing.of.to_owned(),
        ..Pending::default()
    };
    store.queue_notice(org, &alert).await
}

/// What the org tasks of one replica share.
struct Notifier<S> {
    store: Arc<S>,
    deliverer: Deliverer,
    /// E-mail, when the service has an SMTP server.
    mailer: Option<Mailer>,
    pacing: Pacing,
    /// Orgs a task is serving now: one task per org, so its notifications
    /// go out in order.
    busy: Mutex<HashSet<OrgId>>,
    /// Destinations that keep not answering, and until when they are
    /// spared.
    cooling: Mutex<HashMap<String, Cooling>>,
    /// Orgs whose channel failed [`notify::FAILING_AFTER`] times or more
    /// in a row, as this replica last saw them, for the gauge.
    failing: Mutex<HashSet<(OrgId, notify::Channel)>>,
    /// Their number per channel (in [`notify::Channel::ALL`]'s order),
    /// read by the gauge.
    failing_counts: Arc<[AtomicU64; 2]>,
}

/// A destination spared after failures in a row.
#[derive(Clone, Copy, Debug)]
struct Cooling {
    strikes: u32,
    until: Instant,
}

/// Removes an org from the busy set when its task ends, however it ends.
struct Serving<S> {
    notifier: Arc<Notifier<S>>,
    org: OrgId,
}

impl<S> Drop for Serving<S> {
    fn drop(&mut self) {
        lock(&self.notifier.busy).remove(&self.org);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Makes due digests and delivers queued notifications, until dropped (the
/// org tasks it started are dropped with it).
pub async fn run<S: ErrorStore>(
    store: Arc<S>,
    pacing: Pacing,
    deliverer: Deliverer,
    mailer: Option<Mailer>,
) {
    let failing_counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let _gauge = crate::metrics::failing_channels(failing_counts.clone());
    let notifier = Arc::new(Notifier {
        store,
        deliverer,
        mailer,
        pacing,
        busy: Mutex::default(),
        cooling: Mutex::default(),
        failing: Mutex::default(),
        failing_counts,
    });
    let slots = Arc::new(Semaphore::new(pacing.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    loop {
        tokio::time::sleep(pacing.tick).await;
        while tasks.try_join_next().is_some() {}
        let orgs = match notifier.store.notified_orgs().await {
            Ok(orgs) => orgs,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read notification settings now");
                continue;
            }
        };
        notifier.forget_unless(&orgs);
        for org in orgs {
            if lock(&notifier.busy).contains(&org) {
                continue;
            }
            // Every slot taken: the rest wait for the next tick.
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                break;
            };
            lock(&notifier.busy).insert(org.clone());
            let serving = Serving {
                notifier: notifier.clone(),
                org,
            };
            tasks.spawn(async move {
                let _slot = slot;
                if let Err(e) = serving.notifier.serve_org(&serving.org).await {
                    tracing::debug!(org_id = %serving.org, error = %e, "notifications wait");
                }
                drop(serving);
            });
        }
    }
}

impl<S: ErrorStore> Notifier<S> {
    /// Makes the org's digest when one is due, then delivers its queued
    /// notifications one by one, until none is left, one fails, or
    /// notifications are off.
    async fn serve_org(&self, org: &OrgId) -> Result<(), crate::store::StoreError> {
        let day_ms = self.pacing.day.as_millis() as u64;
        let lease_ms = self.pacing.retry.as_millis() as u64;
        let Some(settings) = self.settings(org).await? else {
            return Ok(());
        };
        // Each digest frequency some channel takes, made once per period.
        for frequency in settings.new_error_plan().digests {
            if let Some(period) = frequency.period(now_ms(), day_ms) {
                self.store.make_digest(org, frequency, period).await?;
            }
        }
        loop {
            let Some(pending) = self.store.claim_notification(org, lease_ms).await? else {
                return Ok(());
            };
            // Read again: a change made since is this delivery's too (off:
            // the store dropped the notification with the queue).
            let Some(settings) = self.settings(org).await? else {
                return Ok(());
            };
            let kind = notify::Kind::of(&pending.kind);
            let sent = self.store.sent_channels(org, &pending.id).await?;
            let digest = pending.frequency.and_then(notify::Frequency::from_number);
            // A channel takes the kinds its choices carry, and error notices
            // of its own frequency only.
            let wants = |channel: notify::Channel, choices: notify::Choices| {
                settings.has_destination(channel)
                    && kind.is_some_and(|k| choices.carries(k))
                    && settings.takes_notice(channel, &pending.kind, digest)
                    && !sent.iter().any(|c| c == channel.as_str())
            };
            // Each channel on its own: one that fails does not hold the
            // other back, and what one took is not sent again when the
            // other is tried again.
            let mailed = !wants(notify::Channel::Email, settings.email)
                || self.mail(org, &settings, &pending).await?;
            let posted = !wants(notify::Channel::Webhook, settings.webhook)
                || self.post(org, &settings, &pending).await?;
            if mailed && posted {
                self.store.notification_sent(org, &pending.id).await?;
            } else {
                // Stays claimed; tried again once the claim lapses.
                return Ok(());
            }
        }
    }

    /// Posts `pending` to the org's webhook; true when the receiver took it.
    /// A destination being spared after failures is not tried now.
    async fn post(
        &self,
        org: &OrgId,
        settings: &notify::Settings,
        pending: &Pending,
    ) -> Result<bool, crate::store::StoreError> {
        let destination = WebhookUrl::parse("webhook_url", &settings.webhook_url)
            .map(|u| u.destination())
            .unwrap_or_default();
        if self.spared(&destination) {
            return Ok(false);
        }
        let outcome = deliver(&self.deliverer, org, settings, pending).await;
        crate::metrics::delivery(outcome.as_ref().err());
        let status = self
            .store
            .record_delivery(
                org,
                notify::Channel::Webhook,
                outcome.as_ref().err().map(|f| f.to_string()).as_deref(),
            )
            .await?;
        self.note_status(org, notify::Channel::Webhook, &status);
        match outcome {
            Ok(()) => {
                self.after(&destination, None);
                tracing::info!(org_id = %org, id = %pending.id, %destination, "notification delivered");
                self.store
                    .channel_sent(org, &pending.id, notify::Channel::Webhook.as_str())
                    .await?;
                Ok(true)
            }
            Err(failure) => {
                self.after(&destination, Some(&failure));
                tracing::warn!(
                    org_id = %org,
                    id = %pending.id,
                    %destination,
                    reason = failure.reason(),
                    failures = status.consecutive_failures,
                    error = %failure,
                    "notification not delivered; will retry"
                );
                Ok(false)
            }
        }
    }

    /// E-mails `pending` to the org's recipients; true when the server took
    /// it (or there is no SMTP server to send it with: nothing to wait for).
    async fn mail(
        &self,
        org: &OrgId,
        settings: &notify::Settings,
        pending: &Pending,
    ) -> Result<bool, crate::store::StoreError> {
        let Some(mailer) = &self.mailer else {
            tracing::debug!(org_id = %org, id = %pending.id, "e-mail recipients set but no SMTP server; not mailed");
            return Ok(true);
        };
        let mail = crate::mail::compose(&payload(org, pending));
        let outcome = mailer
            .send(&pending.id, &settings.email_recipients, &mail)
            .await;
        crate::metrics::email_delivery(outcome.as_ref().err());
        let status = self
            .store
            .record_delivery(
                org,
                notify::Channel::Email,
                outcome.as_ref().err().map(|f| f.to_string()).as_deref(),
            )
            .await?;
        self.note_status(org, notify::Channel::Email, &status);
        match outcome {
            Ok(()) => {
                tracing::info!(org_id = %org, id = %pending.id, recipients = settings.email_recipients.len(), "notification e-mailed");
                self.store
                    .channel_sent(org, &pending.id, notify::Channel::Email.as_str())
                    .await?;
                Ok(true)
            }
            Err(why) => {
                tracing::warn!(
                    org_id = %org,
                    id = %pending.id,
                    server = mailer.server(),
                    reason = why.reason,
                    failures = status.consecutive_failures,
                    error = %why,
                    "notification not e-mailed; will retry"
                );
                // Stays claimed; tried again once the claim lapses.
                Ok(false)
            }
        }
    }

    /// The org's settings when notifications are on.
    async fn settings(
        &self,
        org: &OrgId,
    ) -> Result<Option<notify::Settings>, crate::store::StoreError> {
        Ok(self
            .store
            .notification_settings(org)
            .await?
            .filter(|s| s.enabled))
    }

    /// Whether `destination` is being spared now.
    fn spared(&self, destination: &str) -> bool {
        lock(&self.cooling)
            .get(destination)
            .is_some_and(|c| c.until > Instant::now())
    }

    /// Spares a destination that did not answer, for the retry wait, twice
    /// as long after each failure in a row (up to [`COOLING_CAP`]); forgets
    /// one that answered.
    fn after(&self, destination: &str, failure: Option<&Failure>) {
        let mut cooling = lock(&self.cooling);
        match failure {
            Some(f) if f.unresponsive() => {
                let strikes = cooling.get(destination).map_or(0, |c| c.strikes) + 1;
                let wait = self
                    .pacing
                    .retry
                    .saturating_mul(1 << (strikes - 1).min(20))
                    .min(COOLING_CAP);
                cooling.insert(
                    destination.to_owned(),
                    Cooling {
                        strikes,
                        until: Instant::now() + wait,
                    },
                );
            }
            _ => {
                cooling.remove(destination);
            }
        }
    }

    /// Keeps the gauge of failing channels up to date with `status`.
    fn note_status(&self, org: &OrgId, channel: notify::Channel, status: &notify::DeliveryStatus) {
        let mut failing = lock(&self.failing);
        if status.failing() {
            failing.insert((org.clone(), channel));
        } else {
            failing.remove(&(org.clone(), channel));
        }
        self.count_failing(&failing);
    }

    /// Forgets the failing channels of orgs no longer notified.
    fn forget_unless(&self, notified: &[OrgId]) {
        let notified: HashSet<&OrgId> = notified.iter().collect();
        let mut failing = lock(&self.failing);
        failing.retain(|(org, _)| notified.contains(org));
        self.count_failing(&failing);
    }

    /// Puts the failing channels' numbers where the gauge reads them.
    fn count_failing(&self, failing: &HashSet<(OrgId, notify::Channel)>) {
        for (i, channel) in notify::Channel::ALL.into_iter().enumerate() {
            let n = failing.iter().filter(|(_, c)| *c == channel).count();
            self.failing_counts[i].store(n as u64, Ordering::Relaxed);
        }
    }
}

/// POSTs one notification with the settings read for it; `Ok` when the
/// webhook took it (2xx).
async fn deliver(
    deliverer: &Deliverer,
    org: &OrgId,
    settings: &notify::Settings,
    pending: &Pending,
) -> Result<(), Failure> {
    let url = WebhookUrl::parse("webhook_url", &settings.webhook_url)
        .map_err(|e| Failure::Policy(format!("the webhook URL {}", e.rule)))?;
    let secret = settings
        .webhook_secret
        .as_deref()
        .ok_or_else(|| Failure::Policy("no webhook secret is set".into()))?;
    let payload = payload(org, pending);
    let body = match settings.webhook_format {
        notify::WebhookFormat::Json => serde_json::to_vec(&payload),
        notify::WebhookFormat::Slack => serde_json::to_vec(&serde_json::json!({
            "text": crate::mail::slack_text(&payload),
        })),
    }
    .map_err(|e| Failure::Http(format!("cannot write the body: {e}")))?;
    let timestamp = now_ms().div_euclid(1_000);
    let headers = [
        ("webhook-id", pending.id.clone()),
        ("webhook-timestamp", timestamp.to_string()),
        (
            "webhook-signature",
            notify::sign_delivery(secret, &pending.id, timestamp, &body),
        ),
        ("x-syncgov-signature", notify::sign(secret, &body)),
        ("idempotency-key", pending.id.clone()),
        ("x-syncgov-org", org.as_str().to_owned()),
    ];
    deliverer.post(&url, &headers, Bytes::from(body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notifier() -> Notifier<crate::store::memory::MemoryStore> {
        let deliverer = Deliverer::new(crate::webhook::DelivererSettings {
            policy: crate::destination::Policy::default(),
            extra_ca: None,
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            own_ports: Vec::new(),
        })
        .unwrap();
        Notifier {
            store: Arc::new(crate::store::memory::MemoryStore::new(
                crate::resync::QueuePolicy::default(),
            )),
            deliverer,
            mailer: None,
            pacing: Pacing {
                day: Duration::from_secs(86_400),
                retry: Duration::from_secs(30),
                tick: Duration::from_secs(1),
                concurrency: 4,
            },
            busy: Mutex::default(),
            cooling: Mutex::default(),
            failing: Mutex::default(),
            failing_counts: Arc::default(),
        }
    }

    #[test]
    fn a_destination_that_keeps_timing_out_is_spared_longer_each_time() {
        let n = notifier();
        let dest = "https://slow.example.com:443";
        assert!(!n.spared(dest));
        n.after(dest, Some(&Failure::Timeout("waiting for the answer")));
        assert!(n.spared(dest), "spared after a time-out");
        let first = lock(&n.cooling)[dest].until;
        n.after(dest, Some(&Failure::Timeout("connecting")));
        let second = lock(&n.cooling)[dest];
        assert_eq!(second.strikes, 2);
        assert!(second.until >= first + Duration::from_secs(29), "doubled");
        for _ in 0..20 {
            n.after(dest, Some(&Failure::Timeout("connecting")));
        }
        assert!(lock(&n.cooling)[dest].until <= Instant::now() + COOLING_CAP);
        // A destination that answers, even with an error, is not spared.
        n.after(dest, Some(&Failure::Status(500)));
        assert!(!n.spared(dest));
        n.after(dest, Some(&Failure::Timeout("connecting")));
        n.after(dest, None);
        assert!(!n.spared(dest), "forgotten once it took a delivery");
        assert!(!n.spared("https://other.example.com:443"));
    }

    #[tokio::test]
    async fn a_usage_alert_is_queued_once_for_channels_that_carry_it() {
        let store = crate::store::memory::MemoryStore::new(crate::resync::QueuePolicy::default());
        let org = OrgId::parse("acme").unwrap();
        let mut settings = notify::Settings {
            enabled: true,
            email_recipients: vec!["ops@acme.example".into()],
            ..notify::Settings::default()
        };
        settings.email.usage_alerts = false;
        store
            .set_notification_settings(&org, settings.clone())
            .await
            .unwrap();
        assert!(
            !queue_usage_alert(
                &store,
                &org,
                "90-1",
                Crossing {
                    used: 900,
                    limit: 1000,
                    threshold: 90,
                    of: "allocation"
                }
            )
            .await
            .unwrap()
        );
        settings.email.usage_alerts = true;
        store
            .set_notification_settings(&org, settings)
            .await
            .unwrap();
        assert!(
            queue_usage_alert(
                &store,
                &org,
                "90-1",
                Crossing {
                    used: 900,
                    limit: 1000,
                    threshold: 90,
                    of: "allocation"
                }
            )
            .await
            .unwrap()
        );
        assert!(
            !queue_usage_alert(
                &store,
                &org,
                "90-1",
                Crossing {
                    used: 901,
                    limit: 1000,
                    threshold: 90,
                    of: "allocation"
                }
            )
            .await
            .unwrap(),
            "the same crossing, once"
        );
        let pending = store.claim_notification(&org, 1000).await.unwrap().unwrap();
        let mail = crate::mail::compose(&payload(&org, &pending));
        assert_eq!(
            mail.subject,
            "[syncgov] acme: 90 % of the API allocation used"
        );
        assert!(mail.text.contains("900 of 1000 calls"), "{}", mail.text);
        let body = serde_json::to_value(payload(&org, &pending)).unwrap();
        assert_eq!(body["kind"], "usage");
        assert_eq!(body["usage"]["percent"], 90);
        assert_eq!(body["usage"]["threshold_percent"], 90);
        assert_eq!(body["usage"]["of"], "allocation");
        assert!(
            mail.text.contains("alert threshold of 90 %"),
            "{}",
            mail.text
        );
    }

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
