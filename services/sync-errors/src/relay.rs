//! Tells the governor about suspension-level failures. Ingest stores them in
//! the org's outbox with the failure itself; this relay sends each to the
//! governor's `Suspend` (idempotent) and drops it from the outbox only once
//! the governor took it. While the governor is down nothing is lost: the
//! entries wait, and the relay tries again with a growing pause. Every
//! replica runs a relay; a suspension told twice is still one suspension.

use std::sync::Arc;
use std::time::Duration;

use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::auth::AuthChannel;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::domain::SuspensionEvent;
use crate::store::ErrorStore;

/// Entries taken per org per round.
const BATCH: usize = 100;
/// Longest pause after the governor failed.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// What the governor is told: the status code and message that caused it,
/// within the detail's limit.
pub fn detail(event: &SuspensionEvent) -> String {
    let text = if event.status_code.is_empty() {
        event.message.clone()
    } else {
        format!("{}: {}", event.status_code, event.message)
    };
    text.chars().take(1_024).collect()
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
        for (org, events) in pending {
            let mut told = 0;
            for event in &events {
                let mut request = tonic::Request::new(quota::SuspendRequest {
                    org_id: org.to_string(),
                    reason: event.reason.number(),
                    detail: detail(event),
                });
                let span = suspend_span(&org, event);
                syncgov_kit::telemetry::inject(&span, &mut request);
                match governor.suspend(request).instrument(span).await {
                    Ok(_) => told += 1,
                    Err(status) => {
                        tracing::warn!(org_id = %org, error = %status, "the governor did not take a suspension; will retry");
                        failed = true;
                        break;
                    }
                }
            }
            if told > 0 {
                if let Err(e) = store.outbox_done(&org, told).await {
                    // They will be told again: Suspend is idempotent.
                    tracing::warn!(org_id = %org, error = %e, "cannot mark outbox entries done");
                }
                tracing::info!(org_id = %org, told, "suspensions told to the governor");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::SuspensionReason;

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
    }
}
