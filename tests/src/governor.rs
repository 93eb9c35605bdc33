//! The quota governor's test vocabulary: a governor on a chosen store
//! ([`Env`]), and one function per call the tests make over and over
//! (budgets, grants, leases, usage, suspensions, Envoy's rate limit
//! protocol). Each expects the call to answer, so that a test states only
//! what it checks.

use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use tonic::transport::Channel;

use crate::{Backend, Service, Store};
use syncgov_kit::server::ServerSettings;

/// A governor on `backend`, with the store it uses kept running.
pub struct Env {
    /// The governor, in this process.
    pub governor: Service,
    /// A client connected to it.
    pub client: QuotaGovernorClient<Channel>,
    /// What it keeps its budgets in.
    pub store: Store,
}

impl Env {
    /// Starts a store for `backend` and a governor with `settings` on it.
    pub async fn start(backend: Backend, settings: Settings) -> Self {
        let store = backend.start();
        let settings = match backend {
            Backend::Memory => settings,
            // The suite runs the batched decision path on Redis and on the
            // cluster; the other tests run one script call per decision.
            Backend::Redis | Backend::Cluster => Settings {
                coalesce: true,
                server: ServerSettings {
                    redis_url: store.redis_url(),
                    redis_cluster_nodes: store.cluster_nodes(),
                    ..ServerSettings::default()
                },
                ..settings
            },
        };
        let governor = Service::governor(settings).await;
        let client = QuotaGovernorClient::new(governor.channel().await);
        Self {
            governor,
            client,
            store,
        }
    }
}

/// A budget of `allocation` calls out of the org's `org_limit`, with the
/// default priority shares.
pub fn budget(org_limit: u64, allocation: u64) -> pb::Budget {
    pb::Budget {
        org_limit,
        allocation,
        ..Default::default()
    }
}

/// Sets `org`'s API request budget.
pub async fn set_budget(client: &mut QuotaGovernorClient<Channel>, org: &str, budget: pb::Budget) {
    client
        .set_budget(pb::SetBudgetRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            budget: Some(budget),
            ..Default::default()
        })
        .await
        .expect("set the budget");
}

/// Asks for `count` API request tokens, all or nothing.
pub async fn acquire(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    count: u64,
    priority: pb::Priority,
) -> pb::AcquireTokensResponse {
    client
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            count,
            priority: priority.into(),
            client_id: "worker-1".into(),
            min_count: 0,
            object: String::new(),
            operation: String::new(),
        })
        .await
        .expect("AcquireTokens answers")
        .into_inner()
}

/// Asks for `count` API request tokens, all or nothing, as the worker
/// `client_id` making calls of `operation` on `object` (empty: not said).
pub async fn acquire_as(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    count: u64,
    (client_id, object, operation): (&str, &str, &str),
) -> Result<pb::AcquireTokensResponse, tonic::Status> {
    client
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            count,
            client_id: client_id.into(),
            object: object.into(),
            operation: operation.into(),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// `org`'s API request usage with its `top` consumers.
pub async fn usage_by_consumer(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    top: u32,
) -> pb::GetUsageResponse {
    client
        .get_usage(pb::GetUsageRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            top_consumers: top,
        })
        .await
        .expect("GetUsage answers")
        .into_inner()
}

/// `org`'s API request usage.
pub async fn usage(client: &mut QuotaGovernorClient<Channel>, org: &str) -> pb::GetUsageResponse {
    client
        .get_usage(pb::GetUsageRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            top_consumers: 0,
        })
        .await
        .expect("GetUsage answers")
        .into_inner()
}

/// Why `reply` was denied; panics if it was a grant.
pub fn denied_for(reply: &pb::AcquireTokensResponse) -> pb::DenyReason {
    assert!(!reply.granted, "expected a denial, got {reply:?}");
    reply.deny_reason()
}

/// `d` in seconds.
pub fn secs(d: &prost_types::Duration) -> f64 {
    d.seconds as f64 + f64::from(d.nanos) / 1e9
}

/// `requests` sent on one `AcquireTokensStream`: the replies, then how the
/// stream ended (`None`: cleanly).
pub async fn stream_of(
    client: &mut QuotaGovernorClient<Channel>,
    requests: Vec<pb::AcquireTokensRequest>,
) -> (Vec<pb::AcquireTokensResponse>, Option<tonic::Status>) {
    let messages = requests
        .into_iter()
        .map(|request| pb::AcquireTokensStreamRequest {
            request: Some(request),
        });
    let mut replies = client
        .acquire_tokens_stream(tokio_stream::iter(messages))
        .await
        .expect("the stream opens")
        .into_inner();
    let mut answered = Vec::new();
    loop {
        match replies.message().await {
            Ok(Some(reply)) => answered.push(reply.response.expect("a response in every reply")),
            Ok(None) => return (answered, None),
            Err(status) => return (answered, Some(status)),
        }
    }
}

/// Leases between `min_count` and `count` critical tokens: as many as fit.
pub async fn lease(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    min_count: u64,
    count: u64,
) -> pb::AcquireTokensResponse {
    client
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: org.into(),
            count,
            min_count,
            priority: pb::Priority::Critical.into(),
            ..Default::default()
        })
        .await
        .expect("AcquireTokens answers")
        .into_inner()
}

/// Hands `count` unused tokens of grant `grant_id` back.
pub async fn release(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    grant_id: &str,
    count: u64,
) -> pb::ReleaseTokensResponse {
    client
        .release_tokens(pb::ReleaseTokensRequest {
            org_id: org.into(),
            resource: 0,
            count,
            grant_id: grant_id.into(),
        })
        .await
        .expect("ReleaseTokens answers")
        .into_inner()
}

/// Suspends `org` for `reason`, with a detail Salesforce really returns.
pub async fn suspend(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
) -> pb::SuspendResponse {
    c.suspend(pb::SuspendRequest {
        org_id: org.into(),
        reason: reason.into(),
        detail: "INVALID_SESSION_ID: Session expired or invalid".into(),
    })
    .await
    .expect("Suspend")
    .into_inner()
}

/// Clears `org`'s suspension for `reason`; says whether there was one.
pub async fn clear(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
) -> bool {
    c.clear_suspension(pb::ClearSuspensionRequest {
        org_id: org.into(),
        reason: reason.into(),
    })
    .await
    .expect("ClearSuspension")
    .into_inner()
    .cleared
}

/// The next event of a `WatchSuspensions` stream, within [`crate::PATIENCE`].
pub async fn next_event(
    stream: &mut tonic::Streaming<pb::WatchSuspensionsResponse>,
) -> pb::WatchSuspensionsResponse {
    tokio::time::timeout(crate::PATIENCE, stream.message())
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("an event")
}

/// Envoy's rate limit protocol, as Envoy speaks it to the governor.
pub mod envoy_rls {
    use syncgov_api::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
    use syncgov_api::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
    pub use syncgov_api::envoy::service::ratelimit::v3::rate_limit_response::Code;
    use syncgov_api::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
    pub use syncgov_api::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
    use tonic::transport::Channel;

    /// A descriptor of `pairs`.
    pub fn descriptor(pairs: &[(&str, &str)]) -> RateLimitDescriptor {
        RateLimitDescriptor {
            entries: pairs
                .iter()
                .map(|(k, v)| Entry {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        }
    }

    /// Asks as Envoy would.
    pub async fn ask(
        channel: Channel,
        domain: &str,
        descriptors: Vec<RateLimitDescriptor>,
        hits_addend: u32,
    ) -> Result<RateLimitResponse, tonic::Status> {
        RateLimitServiceClient::new(channel)
            .should_rate_limit(RateLimitRequest {
                domain: domain.into(),
                descriptors,
                hits_addend,
            })
            .await
            .map(|r| r.into_inner())
    }
}
