//! Tells the governor about suspension-level failures. Ingest stores them in
//! the org's outbox with the failure itself; this relay sends each to the
//! governor's `Suspend` (idempotent) and drops it from the outbox only once
//! the governor took it. While the governor is down nothing is lost: the
//! entries wait, and the relay tries again with a growing pause. Every
//! replica runs a relay; a suspension told twice is still one suspension.
//!
//! Invariant: an entry leaves the outbox only told, or as a dead letter: an
//! entry that cannot be read, or that the governor refuses for good
//! (`INVALID_ARGUMENT`, `OUT_OF_RANGE`), moves to the org's dead letters
//! (on Redis `syncgov:errors:{<org>}:outbox:dead`) with a log line at
//! error level and the `syncgov_errors_outbox_dead_letters_total` counter; it
//! never blocks the entries behind it and is never dropped unsaid.

use std::sync::Arc;
use std::time::Duration;

use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::auth::AuthChannel;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::domain::{OrgId, SuspensionEvent};
use crate::store::{ErrorStore, OutboxEntry};

/// Entries taken per org per round.
const BATCH: usize = 100;
/// Longest pause after the governor failed.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// What the governor is told: the status code and message that caused it,
/// within the detail's limit, with any control character the governor
/// refuses (all but line breaks and tabs: they could rewrite an operator's
/// terminal) shown as U+FFFD, so that a message as Salesforce wrote it can
/// never keep a suspension from being told.
pub fn detail(event: &SuspensionEvent) -> String {
    let text = if event.status_code.is_empty() {
        event.message.clone()
    } else {
        format!("{}: {}", event.status_code, event.message)
    };
    text.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .take(1_024)
        .collect()
}

/// The client span of telling the governor: a child of the ingest that
/// reported the failure, so that one trace runs from the worker's report to
/// the governor's suspension.
fn suspend_span(org: &crate::domain::OrgId, event: &SuspensionEvent) -> tracing::Span {
    if !syncgov_kit::telemetry::tracing_enabled() {
        return tracing::Span::none();
    }
    let span = tracing::info_span!(
        "relay",
        otel.name = "syncgov.quota.v1.QuotaGovernor/Suspend",
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = "syncgov.quota.v1.QuotaGovernor",
        rpc.method = "Suspend",
        org_id = %org,
        suspension_reason = event.reason.code(),
    );
    if !event.trace_parent.is_empty() {
        let _ = span.set_parent(syncgov_kit::telemetry::context_of(&event.trace_parent));
    }
    span
}

/// True when the governor refused a suspension for good: sending it again
/// cannot succeed. Anything else (unreachable, overloaded, a credential
/// being rotated) is tried again.
fn refused_for_good(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange
    )
}

/// Relays outbox entries to the governor every `every`, until dropped.
pub async fn run<S: ErrorStore>(
    store: Arc<S>,
    mut governor: QuotaGovernorClient<AuthChannel>,
    every: Duration,
) {
    let mut pause = every;
    loop {
        tokio::time::sleep(pause).await;
        let pending = match store.outbox(BATCH).await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the outbox now");
                continue;
            }
        };
        let mut failed = false;
        for (org, entries) in pending {
            // The entries handled, in order: None told, Some(..) dead.
            let mut done: Vec<(OutboxEntry, Option<DeadLetter>)> = Vec::new();
            for entry in entries {
                let event = match &entry.event {
                    Ok(event) => event.clone(),
                    Err(why) => {
                        let why = format!("unreadable: {why}");
                        done.push((entry, Some(("unreadable", why))));
                        continue;
                    }
                };
                match tell(&mut governor, &org, &event).await {
                    Ok(()) => done.push((entry, None)),
                    Err(status) if refused_for_good(&status) => {
                        let why = format!(
                            "refused by the governor: {:?}: {}",
                            status.code(),
                            status.message()
                        );
                        done.push((entry, Some(("refused", why))));
                    }
                    Err(status) => {
                        tracing::warn!(org_id = %org, error = %status, "the governor did not take a suspension; will retry");
                        failed = true;
                        break;
                    }
                }
            }
            if !done.is_empty() {
                record(store.as_ref(), &org, &done).await;
            }
            if failed {
                break;
            }
        }
        pause = if failed {
            (pause * 2).min(MAX_PAUSE)
        } else {
            every
        };
    }
}

/// Sends one suspension to the governor's `Suspend`, in the trace of the
/// ingest that reported it.
async fn tell(
    governor: &mut QuotaGovernorClient<AuthChannel>,
    org: &OrgId,
    event: &SuspensionEvent,
) -> Result<(), tonic::Status> {
    let mut request = tonic::Request::new(quota::SuspendRequest {
        org_id: org.to_string(),
        reason: event.reason.number(),
        detail: detail(event),
    });
    let span = suspend_span(org, event);
    syncgov_kit::telemetry::inject(&span, &mut request);
    governor.suspend(request).instrument(span).await.map(|_| ())
}

/// Why an entry cannot be told: the counter's label (`unreadable`,
/// `refused`) and the reason kept with it.
type DeadLetter = (&'static str, String);

/// Takes the handled entries off the org's outbox and says so: a line per
/// dead letter (at error level: the governor was not told) and the
/// counter, once the store has them.
async fn record<S: ErrorStore>(store: &S, org: &OrgId, done: &[(OutboxEntry, Option<DeadLetter>)]) {
    let taken: Vec<(OutboxEntry, Option<String>)> = done
        .iter()
        .map(|(entry, dead)| (entry.clone(), dead.as_ref().map(|(_, why)| why.clone())))
        .collect();
    if let Err(e) = store.outbox_done(org, &taken).await {
        // Read and handled again next time: Suspend is idempotent, and a
        // dead letter is only counted once it is stored.
        tracing::warn!(org_id = %org, error = %e, "cannot mark outbox entries done");
        return;
    }
    let told = done.iter().filter(|(_, dead)| dead.is_none()).count();
    if told > 0 {
        tracing::info!(org_id = %org, told, "suspensions told to the governor");
    }
    for (entry, dead) in done {
        let Some((kind, reason)) = dead else { continue };
        let entry: String = entry.raw.chars().take(1_024).collect();
        tracing::error!(
            org_id = %org,
            %reason,
            %entry,
            "a suspension-level failure was not told to the governor: moved to the org's outbox dead letters"
        );
        crate::metrics::outbox_dead_letter(kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::SuspensionReason;

    #[test]
    fn only_a_refusal_for_good_makes_a_dead_letter() {
        use tonic::Code;
        for code in [Code::InvalidArgument, Code::OutOfRange] {
            assert!(refused_for_good(&tonic::Status::new(code, "")), "{code:?}");
        }
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::Internal,
            Code::Unknown,
            Code::Cancelled,
        ] {
            assert!(!refused_for_good(&tonic::Status::new(code, "")), "{code:?}");
        }
    }

    #[test]
    fn the_detail_names_the_code_and_fits() {
        let event = SuspensionEvent {
            reason: SuspensionReason::SalesforceApiLimitExceeded,
            status_code: "REQUEST_LIMIT_EXCEEDED".into(),
            message: "TotalRequests Limit exceeded.".into(),
            occurred_at_ms: 0,
            trace_parent: String::new(),
        };
        assert_eq!(
            detail(&event),
            "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."
        );
        let long = SuspensionEvent {
            message: "é".repeat(5_000),
            status_code: String::new(),
            ..event
        };
        assert_eq!(detail(&long).chars().count(), 1_024);
        let escaped = SuspensionEvent {
            message: "line one\nline\ttwo \u{1b}[2J\u{0}".into(),
            ..long
        };
        assert_eq!(detail(&escaped), "line one\nline\ttwo \u{fffd}[2J\u{fffd}");
    }
}
