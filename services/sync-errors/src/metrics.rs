//! The sync-error service's metrics: failures ingested by level, category
//! and reason, resync job outcomes, outbox dead letters, and notification
//! deliveries. Read through the admin port (`/metrics`) or OTLP; see
//! `syncgov_kit::metrics`. [`count_from_zero`] records every counter at 0
//! for each of its label values when the service starts.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

use crate::classify::Classification;
use crate::notify::Channel;
use crate::taxonomy::{ErrorType, SuspensionReason};

/// The `category` of a suspension-level failure, which has none of the
/// record-level categories.
const SUSPENSION_CATEGORY: &str = "SUSPENSION";
/// Every `(outcome, state)` a resync job ends a completion in: a success
/// resolves its error; a failure is retried after a back-off (the error
/// stays resyncing) or, after the last attempt, leaves it dead.
const RESYNC_ENDS: [(&str, &str); 3] = [
    ("success", "ERROR_STATE_RESOLVED"),
    ("failure", "ERROR_STATE_RESYNCING"),
    ("failure", "ERROR_STATE_DEAD"),
];
/// Every `reason` of a failed webhook delivery (see
/// `crate::webhook::Failure::reason`).
const DELIVERY_FAILURES: [&str; 7] = [
    "status", "timeout", "connect", "dns", "tls", "policy", "http",
];
/// Every `reason` of a failed e-mail (see `crate::smtp::MailFailure`).
const MAIL_FAILURES: [&str; 9] = crate::smtp::MAIL_FAILURES;
/// Every `why` of an outbox dead letter.
const DEAD_LETTER_WHYS: [&str; 2] = ["unreadable", "refused"];

/// The instruments, made on first use from the global meter.
struct Instruments {
    ingested: Counter<u64>,
    resync: Counter<u64>,
    deliveries: Counter<u64>,
    dead_letters: Counter<u64>,
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("sync-errors");
        Instruments {
            ingested: meter
                .u64_counter("syncgov.errors.ingested")
                .with_unit("{failure}")
                .with_description(
                    "Failures ingested (new ones, not repeats), by level, category and reason",
                )
                .build(),
            resync: meter
                .u64_counter("syncgov.errors.resync.jobs")
                .with_unit("{job}")
                .with_description(
                    "Resync job completions, by outcome and the state their error reached",
                )
                .build(),
            deliveries: meter
                .u64_counter("syncgov.errors.notifications.deliveries")
                .with_unit("{delivery}")
                .with_description(
                    "Delivery attempts, by channel (webhook, email), result and, for a failed one \
                     (retried), reason",
                )
                .build(),
            dead_letters: meter
                .u64_counter("syncgov.errors.outbox.dead_letters")
                .with_unit("{failure}")
                .with_description(
                    "Suspension-level failures not told to the governor, moved to their org's \
                     outbox dead letters, by why (unreadable, refused)",
                )
                .build(),
        }
    })
}

/// Records every counter at 0 for each of its label values, so that each
/// series exists from start-up and its first event is seen by `rate()`.
pub fn count_from_zero() {
    let instruments = instruments();
    for t in ErrorType::ALL {
        instruments
            .ingested
            .add(0, &ingested_labels(Classification::Record(t)));
    }
    for r in SuspensionReason::ALL {
        instruments
            .ingested
            .add(0, &ingested_labels(Classification::Suspension(r)));
    }
    for (outcome, state) in RESYNC_ENDS {
        instruments.resync.add(0, &resync_labels(outcome, state));
    }
    for (channel, reasons) in [
        (Channel::Webhook, &DELIVERY_FAILURES[..]),
        (Channel::Email, &MAIL_FAILURES[..]),
    ] {
        instruments
            .deliveries
            .add(0, &delivery_labels(channel, "delivered", ""));
        for reason in reasons {
            instruments
                .deliveries
                .add(0, &delivery_labels(channel, "failed", reason));
        }
    }
    for why in DEAD_LETTER_WHYS {
        instruments.dead_letters.add(0, &dead_letter_labels(why));
    }
}

/// A record-level failure is labelled with its category and its error type
/// (`reason`); a suspension-level one with [`SUSPENSION_CATEGORY`] and its
/// suspension reason.
fn ingested_labels(classification: Classification) -> [KeyValue; 4] {
    let (level, category, reason) = match classification {
        Classification::Record(t) => ("record", t.category().code(), t.code()),
        Classification::Suspension(r) => ("suspension", SUSPENSION_CATEGORY, r.code()),
    };
    [
        KeyValue::new("level", level),
        KeyValue::new("category", category),
        KeyValue::new("reason", reason),
        syncgov_kit::metrics::service(),
    ]
}

fn resync_labels(outcome: &'static str, state: &'static str) -> [KeyValue; 3] {
    [
        KeyValue::new("outcome", outcome),
        KeyValue::new("state", state),
        syncgov_kit::metrics::service(),
    ]
}

fn delivery_labels(channel: Channel, result: &'static str, reason: &'static str) -> [KeyValue; 4] {
    [
        KeyValue::new("channel", channel.as_str()),
        KeyValue::new("result", result),
        KeyValue::new("reason", reason),
        syncgov_kit::metrics::service(),
    ]
}

fn dead_letter_labels(why: &'static str) -> [KeyValue; 2] {
    [KeyValue::new("why", why), syncgov_kit::metrics::service()]
}

/// Counts a failure ingested for the first time.
pub fn ingested(classification: Classification) {
    instruments()
        .ingested
        .add(1, &ingested_labels(classification));
}

/// Counts a resync job's completion: `outcome` as the worker reported it,
/// `state` where its error went (resolved; resyncing again after a
/// back-off; dead).
pub fn resync_completed(outcome: &'static str, state: &'static str) {
    instruments().resync.add(1, &resync_labels(outcome, state));
}

/// Counts an outbox entry moved to the dead letters: `why` is `unreadable`
/// or `refused` (by the governor, for good).
pub fn outbox_dead_letter(why: &'static str) {
    instruments().dead_letters.add(1, &dead_letter_labels(why));
}

/// Counts a webhook delivery attempt: delivered, or failed and why.
pub fn delivery(failure: Option<&crate::webhook::Failure>) {
    let (result, reason) = match failure {
        None => ("delivered", ""),
        Some(f) => ("failed", f.reason()),
    };
    instruments()
        .deliveries
        .add(1, &delivery_labels(Channel::Webhook, result, reason));
}

/// Counts an e-mail attempt: sent, or failed and why.
pub fn email_delivery(failure: Option<&crate::smtp::MailFailure>) {
    let (result, reason) = match failure {
        None => ("delivered", ""),
        Some(f) => ("failed", f.reason),
    };
    instruments()
        .deliveries
        .add(1, &delivery_labels(Channel::Email, result, reason));
}

/// The `syncgov.errors.notifications.failing` gauge, per channel, reading
/// `counts` (the webhook's, e-mail's): orgs whose channel failed
/// [`crate::notify::FAILING_AFTER`] times or more in a row, as this
/// replica last saw them. Observed while the returned gauge lives.
pub fn failing_channels(
    counts: std::sync::Arc<[std::sync::atomic::AtomicU64; 2]>,
) -> opentelemetry::metrics::ObservableGauge<u64> {
    opentelemetry::global::meter("sync-errors")
        .u64_observable_gauge("syncgov.errors.notifications.failing")
        .with_unit("{org}")
        .with_description(
            "Orgs whose channel (webhook, email) failed 3 times or more in a row, as this \
             replica last saw them",
        )
        .with_callback(move |observer| {
            for (i, channel) in Channel::ALL.into_iter().enumerate() {
                observer.observe(
                    counts[i].load(std::sync::atomic::Ordering::Relaxed),
                    &[
                        KeyValue::new("channel", channel.as_str()),
                        syncgov_kit::metrics::service(),
                    ],
                );
            }
        })
        .build()
}

/// How often the resync queue is measured.
const QUEUE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Measures the resync queue every few seconds for the
/// `syncgov.errors.resync.queue` gauge, until dropped.
pub async fn watch_queue<S: crate::store::ErrorStore>(store: std::sync::Arc<S>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let waiting = Arc::new(AtomicU64::new(0));
    let claimed = Arc::new(AtomicU64::new(0));
    let (w, c) = (waiting.clone(), claimed.clone());
    let _gauge = opentelemetry::global::meter("sync-errors")
        .u64_observable_gauge("syncgov.errors.resync.queue")
        .with_unit("{job}")
        .with_description("Resync jobs waiting (queued or backing off) and claimed by workers")
        .with_callback(move |observer| {
            observer.observe(
                w.load(Ordering::Relaxed),
                &[
                    KeyValue::new("state", "waiting"),
                    syncgov_kit::metrics::service(),
                ],
            );
            observer.observe(
                c.load(Ordering::Relaxed),
                &[
                    KeyValue::new("state", "claimed"),
                    syncgov_kit::metrics::service(),
                ],
            );
        })
        .build();
    loop {
        match store.queue_depth().await {
            Ok(depth) => {
                waiting.store(depth.waiting, Ordering::Relaxed);
                claimed.store(depth.claimed, Ordering::Relaxed);
            }
            Err(e) => tracing::debug!(error = %e, "cannot measure the resync queue now"),
        }
        tokio::time::sleep(QUEUE_EVERY).await;
    }
}

/// How often the fleet's current errors are summed.
const FLEET_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Sums the fleet's current errors every few seconds (from each org's
/// counters, see [`crate::store::ErrorStore::fleet_counts`]) for the
/// `syncgov.errors.current` and `syncgov.errors.impacted_records` gauges,
/// per category (UNKNOWN errors are the `OTHER` category's), and the
/// `syncgov.errors.resync.dead` gauge; until dropped. Nothing is observed
/// before the first sum: a gauge at 0 then would be a guess.
pub async fn watch_fleet<S: crate::store::ErrorStore>(store: std::sync::Arc<S>) {
    use std::sync::{Arc, Mutex};

    use crate::top::FleetCounts;

    let last: Arc<Mutex<Option<FleetCounts>>> = Arc::default();
    let read = |last: &Arc<Mutex<Option<FleetCounts>>>| {
        last.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    };
    let meter = opentelemetry::global::meter("sync-errors");
    let (errors, records, dead) = (last.clone(), last.clone(), last.clone());
    let _current = meter
        .u64_observable_gauge("syncgov.errors.current")
        .with_unit("{error}")
        .with_description("Current errors of the whole fleet, by category")
        .with_callback(move |observer| {
            if let Some(fleet) = read(&errors) {
                for (category, n, _) in fleet.per_category() {
                    observer.observe(n, &category_labels(category));
                }
            }
        })
        .build();
    let _records = meter
        .u64_observable_gauge("syncgov.errors.impacted_records")
        .with_unit("{record}")
        .with_description(
            "Records with a current error of the category, the whole fleet, by category",
        )
        .with_callback(move |observer| {
            if let Some(fleet) = read(&records) {
                for (category, _, n) in fleet.per_category() {
                    observer.observe(n, &category_labels(category));
                }
            }
        })
        .build();
    let _dead = meter
        .u64_observable_gauge("syncgov.errors.resync.dead")
        .with_unit("{error}")
        .with_description("Current errors whose resync ended dead (its attempts used up)")
        .with_callback(move |observer| {
            if let Some(fleet) = read(&dead) {
                observer.observe(fleet.dead, &[syncgov_kit::metrics::service()]);
            }
        })
        .build();
    loop {
        match store.fleet_counts().await {
            Ok(fleet) => {
                *last
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(fleet);
            }
            Err(e) => tracing::debug!(error = %e, "cannot sum the fleet's errors now"),
        }
        tokio::time::sleep(FLEET_EVERY).await;
    }
}

fn category_labels(category: crate::taxonomy::Category) -> [KeyValue; 2] {
    [
        KeyValue::new("category", category.code()),
        syncgov_kit::metrics::service(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::Failure;

    #[test]
    fn every_delivery_failure_has_its_series_from_zero() {
        let failures = [
            Failure::Policy("p".into()),
            Failure::Resolve {
                host: "h".into(),
                error: "e".into(),
            },
            Failure::Connect {
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
                error: "e".into(),
            },
            Failure::Tls {
                host: "h".into(),
                error: "e".into(),
            },
            Failure::Timeout("connecting"),
            Failure::Status(500),
            Failure::Http("h".into()),
        ];
        let mut reasons: Vec<&str> = failures.iter().map(Failure::reason).collect();
        let mut known = DELIVERY_FAILURES.to_vec();
        reasons.sort_unstable();
        known.sort_unstable();
        assert_eq!(reasons, known);
    }

    #[test]
    fn suspension_level_failures_have_a_category_and_a_reason() {
        for reason in SuspensionReason::ALL {
            let labels = ingested_labels(Classification::Suspension(reason));
            assert_eq!(labels[1].value.as_str(), SUSPENSION_CATEGORY);
            assert_eq!(labels[2].value.as_str(), reason.code());
        }
        for t in ErrorType::ALL {
            let labels = ingested_labels(Classification::Record(t));
            assert_eq!(labels[1].value.as_str(), t.category().code());
            assert_eq!(labels[2].value.as_str(), t.code());
        }
    }
}
