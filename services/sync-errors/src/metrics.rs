//! The sync-error service's metrics: failures ingested by level and
//! category, resync job outcomes, outbox dead letters, and notification
//! deliveries. Read through
//! the admin port (`/metrics`) or OTLP; see `syncgov_kit::metrics`.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

use crate::classify::Classification;

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
                .with_description(
                    "Failures ingested (new ones, not repeats), by level and category",
                )
                .build(),
            resync: meter
                .u64_counter("syncgov.errors.resync.jobs")
                .with_description("Resync jobs completed, by outcome and the state they reached")
                .build(),
            deliveries: meter
                .u64_counter("syncgov.errors.notifications.deliveries")
                .with_description(
                    "Webhook delivery attempts, by result and, for a failed one (retried), reason",
                )
                .build(),
            dead_letters: meter
                .u64_counter("syncgov.errors.outbox.dead_letters")
                .with_description(
                    "Suspension-level failures not told to the governor, moved to their org's \
                     outbox dead letters, by why (unreadable, refused)",
                )
                .build(),
        }
    })
}

/// Counts a failure ingested for the first time.
pub fn ingested(classification: Classification) {
    let (level, category) = match classification {
        Classification::Record(t) => ("record", t.category().code()),
        Classification::Suspension(_) => ("suspension", ""),
    };
    instruments().ingested.add(
        1,
        &[
            KeyValue::new("level", level),
            KeyValue::new("category", category),
        ],
    );
}

/// Counts a resync job's completion: `outcome` as the worker reported it,
/// `state` where the job went.
pub fn resync_completed(outcome: &'static str, state: &'static str) {
    instruments().resync.add(
        1,
        &[
            KeyValue::new("outcome", outcome),
            KeyValue::new("state", state),
        ],
    );
}

/// Counts an outbox entry moved to the dead letters: `why` is `unreadable`
/// or `refused` (by the governor, for good).
pub fn outbox_dead_letter(why: &'static str) {
    instruments()
        .dead_letters
        .add(1, &[KeyValue::new("why", why)]);
}

/// Counts a webhook delivery attempt: delivered, or failed and why.
pub fn delivery(failure: Option<&crate::webhook::Failure>) {
    let (result, reason) = match failure {
        None => ("delivered", ""),
        Some(f) => ("failed", f.reason()),
    };
    instruments().deliveries.add(
        1,
        &[
            KeyValue::new("result", result),
            KeyValue::new("reason", reason),
        ],
    );
}

/// The `syncgov.errors.notifications.failing` gauge, reading `count`: orgs
/// whose webhook failed [`crate::notify::FAILING_AFTER`] times or more in a
/// row, as this replica last saw them. Observed while the returned gauge
/// lives.
pub fn failing_webhooks(
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> opentelemetry::metrics::ObservableGauge<u64> {
    opentelemetry::global::meter("sync-errors")
        .u64_observable_gauge("syncgov.errors.notifications.failing")
        .with_description(
            "Orgs whose webhook failed 3 times or more in a row, as this replica last saw them",
        )
        .with_callback(move |observer| {
            observer.observe(count.load(std::sync::atomic::Ordering::Relaxed), &[]);
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
        .with_description("Resync jobs waiting (queued or backing off) and claimed by workers")
        .with_callback(move |observer| {
            observer.observe(
                w.load(Ordering::Relaxed),
                &[KeyValue::new("state", "waiting")],
            );
            observer.observe(
                c.load(Ordering::Relaxed),
                &[KeyValue::new("state", "claimed")],
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
