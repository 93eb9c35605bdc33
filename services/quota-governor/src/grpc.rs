//! The gRPC face of the governor: protobuf in, domain types through the store,
//! protobuf out. A denial is a normal reply; only bad input, missing budgets
//! and store failures are errors (mapped in `error.rs`). This module never
//! names Redis.

use std::sync::Arc;

use prost_types::Duration as ProtoDuration;
use syncgov_api::quota::v1 as pb;
use tonic::{Request, Response, Status};

use syncgov_kit::auth::{Principal, authorize, authorize_every_org, authorize_org};
use syncgov_kit::store::StoreError;

use crate::domain::{
    self, AllocationOverride, Ask, Budget, Decision, DenyReason, Grant, InvalidInput, OrgId,
    Outcome, Priority, Resource, Shares,
};
use crate::feed::Feed;
use crate::org_usage;
use crate::store::{BudgetKey, ProbeOutcome, QuotaStore};
use crate::suspension::{
    self, Clearing, Cursor, Event, EventKind, ProbeClaim, Suspension, SuspensionReason,
};
use syncgov_kit::clock::{now_ms, timestamp, timestamp_ms};
use syncgov_kit::error::ApiError;

/// The `syncgov.quota.v1.QuotaGovernor` service over a store.
pub struct GovernorService<S> {
    store: Arc<S>,
    /// Budget of orgs that have none; `None` denies them with UNKNOWN_ORG.
    default_budget: Option<Budget>,
    /// The suspensions as this replica follows them.
    feed: Arc<Feed>,
    /// Per org, no probe before then (ms): spares the store a question per
    /// request while a back-off runs.
    probes_not_before: std::sync::Mutex<std::collections::HashMap<OrgId, i64>>,
    /// Decisions counted for the admin port and OTLP.
    metrics: crate::metrics::GovernorMetrics,
    /// With --store-outage fail-open: what may be granted while the store
    /// is unreachable.
    emergency: Option<crate::outage::EmergencyBudget>,
    /// Tells grants apart, so that each is handed back at most once.
    nonces: Nonces,
    /// The service itself, for streams whose decisions outlive a call.
    me: std::sync::Weak<Self>,
}

/// Decisions of one `AcquireTokensStream` decided at once.
const STREAM_IN_FLIGHT: usize = 256;

/// Grant nonces: a random start per replica, then a fixed odd step per
/// grant, which visits every 64-bit value once before repeating; replicas
/// start far apart, so their nonces do not meet in practice.
struct Nonces(std::sync::atomic::AtomicU64);

impl Nonces {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self(std::sync::atomic::AtomicU64::new(seed))
    }

    /// The next nonce; never 0, which marks ids without one.
    fn next(&self) -> u64 {
        const STEP: u64 = 0x9e37_79b9_7f4a_7c15;
        loop {
            let n = self.0.fetch_add(STEP, std::sync::atomic::Ordering::Relaxed);
            if n != 0 {
                return n;
            }
        }
    }
}

impl<S: QuotaStore> GovernorService<S> {
    /// A service over `store`, checking suspensions against `feed`.
    pub fn new(
        store: Arc<S>,
        default_budget: Option<Budget>,
        feed: Arc<Feed>,
        metric_orgs: syncgov_kit::metrics::OrgLabels,
        emergency: Option<crate::outage::EmergencyBudget>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            emergency,
            store,
            default_budget,
            metrics: crate::metrics::GovernorMetrics::new(metric_orgs, feed.clone()),
            feed,
            probes_not_before: Default::default(),
            nonces: Nonces::new(),
            me: me.clone(),
        })
    }
}

/// A request for tokens its caller may make, read.
struct TokenAsk {
    key: BudgetKey,
    ask: Ask,
    priority: Priority,
}

/// Checks a request for tokens of `principal`: its org, then its fields.
fn check_acquire(
    principal: Option<&Principal>,
    request: &pb::AcquireTokensRequest,
) -> Result<TokenAsk, Status> {
    authorize(principal, &request.org_id)?;
    let key = parse_key(&request.org_id, request.resource).map_err(ApiError::from)?;
    let ask = Ask::parse(request.count, request.min_count).map_err(ApiError::from)?;
    let priority = parse_priority(request.priority).map_err(ApiError::from)?;
    domain::check_client_id(&request.client_id).map_err(ApiError::from)?;
    Ok(TokenAsk { key, ask, priority })
}

impl<S: QuotaStore> GovernorService<S> {
    /// Decides one checked request for tokens: what both `AcquireTokens`
    /// and each message of `AcquireTokensStream` answer.
    async fn acquire(&self, asked: TokenAsk) -> Result<pb::AcquireTokensResponse, Status> {
        let TokenAsk { key, ask, priority } = asked;
        let (decision, probe) = match self.rule(&key, ask, priority).await? {
            Ruling::Suspended(reason) => {
                // Suspended: no call may go out, whatever the budget says.
                let span = tracing::Span::current();
                span.record("deny_reason", "suspended");
                span.record("suspension_reason", reason.code());
                return Ok(pb::AcquireTokensResponse {
                    deny_reason: pb::DenyReason::Suspended.into(),
                    suspension_reason: reason.number(),
                    ..Default::default()
                });
            }
            Ruling::Emergency(count) => {
                let span = tracing::Span::current();
                span.record("granted", true);
                span.record("tokens_granted", count);
                return Ok(pb::AcquireTokensResponse {
                    granted: true,
                    granted_count: count,
                    emergency: true,
                    ..Default::default()
                });
            }
            Ruling::Decided { decision, probe } => (decision, probe),
        };
        let span = tracing::Span::current();
        span.record("granted", decision.granted());
        let mut reply = pb::AcquireTokensResponse {
            granted: decision.granted(),
            used: decision.used,
            allocation: decision.allocation,
            remaining: decision.remaining,
            ..Default::default()
        };
        match decision.outcome {
            Outcome::Granted(grant) => {
                let grant = grant.with_nonce(self.nonces.next());
                reply.grant_id = grant.to_string();
                reply.granted_count = grant.count;
                span.record("tokens_granted", grant.count);
                if let Some(reason) = probe {
                    reply.probe = true;
                    reply.suspension_reason = reason.number();
                }
            }
            Outcome::Denied {
                reason,
                retry_after_ms,
            } => {
                span.record("deny_reason", reason.as_str());
                reply.deny_reason = deny_reason_pb(reason).into();
                reply.retry_after = retry_after_ms.map(duration);
            }
        }
        Ok(reply)
    }
}

/// What a request for tokens came to, suspensions included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ruling {
    /// The org is suspended: nothing was asked of the budget.
    Suspended(SuspensionReason),
    /// The store was unreachable and the replica's emergency budget
    /// granted this many tokens, counted nowhere else (fail-open).
    Emergency(u64),
    /// The budget decided; `probe` names the suspension a grant probes.
    Decided {
        /// The decision.
        decision: Decision,
        /// The suspension this request goes through as its probe, if any.
        probe: Option<SuspensionReason>,
    },
}

impl<S: QuotaStore> GovernorService<S> {
    /// Rules on a request for tokens: the org's suspensions first
    /// (a probe may go through), then the budget; a denial that calls for a
    /// suspension starts it. The one path of AcquireTokens and Envoy's
    /// ShouldRateLimit.
    pub async fn rule(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
    ) -> Result<Ruling, Status> {
        let started = std::time::Instant::now();
        let ruling = self.rule_now(key, ask, priority).await?;
        self.metrics.decided(&key.org, &ruling, started);
        Ok(ruling)
    }

    async fn rule_now(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
    ) -> Result<Ruling, Status> {
        let suspensions = self.feed.suspensions_of(&key.org);
        let probe = match suspensions.first() {
            None => None,
            Some(first) => match self.try_probe(&key.org, &suspensions).await? {
                Some(reason) => Some(reason),
                None => return Ok(Ruling::Suspended(first.reason)),
            },
        };
        let decision = match self
            .store
            .acquire(key, ask, priority, self.default_budget.as_ref())
            .await
        {
            Ok(decision) => decision,
            Err(StoreError::Unavailable(cause)) => {
                return match self.emergency_grant(key, ask, &cause) {
                    Some(count) => Ok(Ruling::Emergency(count)),
                    None => Err(ApiError::from(StoreError::Unavailable(cause)).into()),
                };
            }
            Err(e) => return Err(ApiError::from(e).into()),
        };
        if let Some(reason) = suspension::caused_by(&decision, key.resource) {
            let detail = match reason {
                SuspensionReason::SalesforceApiLimitExceeded => {
                    "the org's calls (all apps, as last reported, with grants since) \
                     reached its limit less the safety margin"
                        .to_owned()
                }
                _ => format!(
                    "{} of {} calls used in the window",
                    decision.used, decision.allocation
                ),
            };
            self.suspend_automatically(&key.org, reason, &detail).await;
        }
        Ok(Ruling::Decided { decision, probe })
    }

    /// With fail-open, what the emergency budget grants while the store is
    /// unreachable: all of `ask`, else its minimum, else nothing.
    fn emergency_grant(&self, key: &BudgetKey, ask: Ask, cause: &str) -> Option<u64> {
        let budget = self.emergency.as_ref()?;
        let now = syncgov_kit::clock::now_ms();
        let count = [u64::from(ask.count), u64::from(ask.min)]
            .into_iter()
            .find(|&n| budget.take(&key.org, n, now))?;
        tracing::warn!(
            org_id = %key.org,
            count,
            error = cause,
            "store unreachable: granted from this replica's emergency budget"
        );
        Some(count)
    }

    /// Hands back a grant's tokens (Envoy's descriptors that were granted
    /// when another was not).
    pub async fn hand_back(&self, key: &BudgetKey, grant: Grant) -> Result<(), Status> {
        self.store
            .release(key, grant, grant.count)
            .await
            .map_err(ApiError::from)?;
        Ok(())
    }

    /// Lets this request through `org`'s suspensions as a probe when every
    /// one of them ends by a probe and the oldest's back-off has passed;
    /// returns the reason probed.
    async fn try_probe(
        &self,
        org: &OrgId,
        suspensions: &[Suspension],
    ) -> Result<Option<SuspensionReason>, Status> {
        if !suspensions.iter().all(|s| suspension::probed(s.reason)) {
            return Ok(None);
        }
        let now = syncgov_kit::clock::now_ms();
        let lock = || {
            self.probes_not_before
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        if lock().get(org).is_some_and(|&not_before| now < not_before) {
            return Ok(None);
        }
        let reason = suspensions[0].reason;
        let claim = match self.store.claim_probe(org, reason).await {
            Ok(claim) => claim,
            // The org is suspended whatever the store says: without the
            // store there is no probe, and the answer stays SUSPENDED.
            Err(e) => {
                tracing::debug!(error = %e, "cannot claim a probe now");
                return Ok(None);
            }
        };
        match claim {
            ProbeClaim::Granted => {
                lock().remove(org);
                Ok(Some(reason))
            }
            ProbeClaim::NotBefore(at) => {
                lock().insert(org.clone(), at);
                Ok(None)
            }
            ProbeClaim::NotSuspended => Ok(None),
        }
    }

    /// Suspends `org` for a reason the governor saw itself, unless this
    /// replica already knows it is. A store failure here is logged: the
    /// denial itself already stands.
    async fn suspend_automatically(&self, org: &OrgId, reason: SuspensionReason, detail: &str) {
        if self.feed.suspended(org).is_some_and(|s| s.reason == reason) {
            return;
        }
        match self.store.suspend(org, reason, detail).await {
            Ok((_, Some(event))) => {
                self.feed.apply(&event);
                tracing::info!(org_id = %org, reason = reason.code(), "suspended by the governor");
            }
            Ok((_, None)) => {}
            Err(e) => tracing::warn!(org_id = %org, error = %e, "cannot record a suspension"),
        }
    }
}

fn parse_key(org_id: &str, resource: i32) -> Result<BudgetKey, InvalidInput> {
    let org = OrgId::parse(org_id)?;
    let resource = match pb::Resource::try_from(resource) {
        Ok(pb::Resource::Unspecified | pb::Resource::ApiRequests) => Resource::ApiRequests,
        Ok(pb::Resource::BulkBatches) => Resource::BulkBatches,
        Err(_) => {
            return Err(InvalidInput::new(
                "resource",
                "must be RESOURCE_API_REQUESTS or RESOURCE_BULK_BATCHES",
            ));
        }
    };
    Ok(BudgetKey { org, resource })
}

fn parse_priority(priority: i32) -> Result<Priority, InvalidInput> {
    match pb::Priority::try_from(priority) {
        Ok(pb::Priority::Retry) => Ok(Priority::Retry),
        Ok(pb::Priority::Unspecified | pb::Priority::Normal) => Ok(Priority::Normal),
        Ok(pb::Priority::Critical) => Ok(Priority::Critical),
        Err(_) => Err(InvalidInput::new(
            "priority",
            "must be PRIORITY_RETRY, PRIORITY_NORMAL or PRIORITY_CRITICAL",
        )),
    }
}

fn parse_budget(budget: Option<pb::Budget>, now_ms: i64) -> Result<Budget, InvalidInput> {
    let budget = budget.ok_or_else(|| InvalidInput::new("budget", "is required"))?;
    let shares = match budget.shares {
        None => Shares::default(),
        Some(s) => Shares::new(
            s.retry_percent.into(),
            s.normal_percent.into(),
            s.critical_percent.into(),
        )?,
    };
    let allocation_override = match budget.allocation_override {
        None => None,
        Some(o) => {
            let expires_at = o.expires_at.ok_or_else(|| {
                InvalidInput::new("budget.allocation_override.expires_at", "is required")
            })?;
            Some(AllocationOverride {
                allocation: o.allocation,
                expires_at_ms: timestamp_ms(&expires_at),
            })
        }
    };
    let budget = Budget {
        org_limit: budget.org_limit,
        allocation: budget.allocation,
        shares,
        allocation_override,
    };
    budget.validate(now_ms)?;
    Ok(budget)
}

fn duration(ms: u64) -> ProtoDuration {
    ProtoDuration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

fn priority_pb(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Retry => pb::Priority::Retry,
        Priority::Normal => pb::Priority::Normal,
        Priority::Critical => pb::Priority::Critical,
    }
}

fn deny_reason_pb(reason: DenyReason) -> pb::DenyReason {
    match reason {
        DenyReason::AllocationExhausted => pb::DenyReason::AllocationExhausted,
        DenyReason::PriorityShareExhausted => pb::DenyReason::PriorityShareExhausted,
        DenyReason::OrgLimitExhausted => pb::DenyReason::OrgLimitExhausted,
        DenyReason::Suspended => pb::DenyReason::Suspended,
        DenyReason::UnknownOrg => pb::DenyReason::UnknownOrg,
    }
}

fn budget_pb(budget: &Budget) -> pb::Budget {
    pb::Budget {
        org_limit: budget.org_limit,
        allocation: budget.allocation,
        shares: Some(pb::PriorityShares {
            retry_percent: budget.shares.retry.into(),
            normal_percent: budget.shares.normal.into(),
            critical_percent: budget.shares.critical.into(),
        }),
        allocation_override: budget.allocation_override.map(|o| pb::AllocationOverride {
            allocation: o.allocation,
            expires_at: Some(timestamp(o.expires_at_ms)),
        }),
    }
}

fn parse_reason(n: i32) -> Result<SuspensionReason, InvalidInput> {
    SuspensionReason::from_number(n).ok_or_else(|| {
        InvalidInput::new(
            "reason",
            "must be a SuspensionReason other than UNSPECIFIED",
        )
    })
}

fn clearing_pb(reason: SuspensionReason) -> pb::SuspensionClearing {
    match suspension::clearing(reason) {
        Clearing::Operator => pb::SuspensionClearing::Operator,
        Clearing::Probe => pb::SuspensionClearing::Probe,
        Clearing::Allocation => pb::SuspensionClearing::Allocation,
        Clearing::OrgLimit => pb::SuspensionClearing::OrgLimit,
    }
}

fn suspension_pb(s: &Suspension) -> pb::Suspension {
    pb::Suspension {
        org_id: s.org.to_string(),
        reason: s.reason.number(),
        detail: s.detail.clone(),
        since: Some(timestamp(s.since_ms)),
        clearing: clearing_pb(s.reason).into(),
        guidance: s.reason.guidance().to_owned(),
        next_probe_at: s.probe_at_ms.map(timestamp),
    }
}

fn event_pb(e: &Event) -> pb::WatchSuspensionsResponse {
    pb::WatchSuspensionsResponse {
        cursor: e.cursor.to_string(),
        org_id: e.org.to_string(),
        reason: e.reason.number(),
        kind: match e.kind {
            EventKind::Suspended => pb::SuspensionEventKind::Suspended,
            EventKind::Cleared => pb::SuspensionEventKind::Cleared,
        }
        .into(),
        detail: e.detail.clone(),
        at: Some(timestamp(e.at_ms)),
        automatic: e.automatic,
    }
}

/// Sends the events after `last` that pass `org` to `tx`, in feed order and
/// without gaps: events are always read from the store; the replica's feed
/// only says when to look (and a look every second covers events the feed
/// folded into a snapshot). Ends when the reader goes away or the store fails.
async fn watch<S: QuotaStore>(
    store: Arc<S>,
    mut live: tokio::sync::broadcast::Receiver<Event>,
    mut last: Cursor,
    org: Option<OrgId>,
    tx: tokio::sync::mpsc::Sender<Result<pb::WatchSuspensionsResponse, Status>>,
) {
    let wanted = |e: &Event| org.as_ref().is_none_or(|o| *o == e.org);
    loop {
        loop {
            let events = match store.events_after(last, 100).await {
                Ok(events) => events,
                Err(e) => {
                    let _ = tx.send(Err(Status::from(ApiError::from(e)))).await;
                    return;
                }
            };
            if events.is_empty() {
                break;
            }
            for e in events {
                last = e.cursor;
                if wanted(&e) && tx.send(Ok(event_pb(&e))).await.is_err() {
                    return;
                }
            }
        }
        tokio::select! {
            woken = live.recv() => {
                if matches!(woken, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                    return;
                }
            }
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            () = tx.closed() => return,
        }
    }
}

fn no_budget(key: &BudgetKey) -> ApiError {
    ApiError::NotFound(format!(
        "org_id: org {} has no {} budget and no default budget is set",
        key.org,
        key.resource.as_str()
    ))
}

#[tonic::async_trait]
impl<S: QuotaStore> pb::quota_governor_server::QuotaGovernor for GovernorService<S> {
    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn set_budget(
        &self,
        request: Request<pb::SetBudgetRequest>,
    ) -> Result<Response<pb::SetBudgetResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = parse_key(&request.org_id, request.resource).map_err(ApiError::from)?;
        let budget = parse_budget(request.budget, now_ms()).map_err(ApiError::from)?;
        self.store
            .set_budget(&key, &budget)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(
            resource = key.resource.as_str(),
            allocation = budget.allocation,
            org_limit = budget.org_limit,
            "budget set"
        );
        Ok(Response::new(pb::SetBudgetResponse {
            budget: Some(budget_pb(&budget)),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_budget(
        &self,
        request: Request<pb::GetBudgetRequest>,
    ) -> Result<Response<pb::GetBudgetResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = parse_key(&request.org_id, request.resource).map_err(ApiError::from)?;
        let found = self
            .store
            .get_budget(&key, self.default_budget.as_ref())
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| no_budget(&key))?;
        Ok(Response::new(pb::GetBudgetResponse {
            budget: Some(budget_pb(&found.budget)),
            is_default: found.is_default,
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn delete_budget(
        &self,
        request: Request<pb::DeleteBudgetRequest>,
    ) -> Result<Response<pb::DeleteBudgetResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = parse_key(&request.org_id, request.resource).map_err(ApiError::from)?;
        let deleted = self
            .store
            .delete_budget(&key)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(resource = key.resource.as_str(), deleted, "budget deleted");
        Ok(Response::new(pb::DeleteBudgetResponse { deleted }))
    }

    // On the hot path: at debug level, so that it costs nothing unless asked for.
    #[tracing::instrument(level = "debug", skip_all, fields(
        org_id = %request.get_ref().org_id,
        resource = request.get_ref().resource,
        priority = request.get_ref().priority,
        tokens_asked = request.get_ref().count,
        tokens_granted,
        granted,
        deny_reason,
        suspension_reason,
    ))]
    async fn acquire_tokens(
        &self,
        request: Request<pb::AcquireTokensRequest>,
    ) -> Result<Response<pb::AcquireTokensResponse>, Status> {
        let asked = check_acquire(request.extensions().get::<Principal>(), request.get_ref())?;
        Ok(Response::new(self.acquire(asked).await?))
    }

    type AcquireTokensStreamStream = std::pin::Pin<
        Box<
            dyn tokio_stream::Stream<Item = Result<pb::AcquireTokensStreamResponse, Status>>
                + Send
                + 'static,
        >,
    >;

    async fn acquire_tokens_stream(
        &self,
        request: Request<tonic::Streaming<pb::AcquireTokensStreamRequest>>,
    ) -> Result<Response<Self::AcquireTokensStreamStream>, Status> {
        use futures_util::StreamExt;
        let principal = request.extensions().get::<Principal>().cloned();
        let this = self
            .me
            .upgrade()
            .ok_or_else(|| Status::unavailable("shutting down"))?;
        // Each message is checked in order, and the first refused ends the
        // stream: none after it is decided, so no token is counted that its
        // caller never hears of.
        let checked = request.into_inner().scan(false, move |refused, message| {
            let next = (!*refused).then(|| {
                let asked = message.and_then(|m| {
                    let request = m.request.ok_or_else(|| {
                        Status::from(ApiError::from(InvalidInput::new("request", "is required")))
                    })?;
                    check_acquire(principal.as_ref(), &request)
                });
                *refused = asked.is_err();
                asked
            });
            std::future::ready(next)
        });
        let replies = checked
            .map(move |asked| {
                let this = this.clone();
                async move {
                    let response = this.acquire(asked?).await?;
                    Ok(pb::AcquireTokensStreamResponse {
                        response: Some(response),
                    })
                }
            })
            // Decided side by side, answered in order.
            .buffered(STREAM_IN_FLIGHT)
            // A store failure ends the stream too, with its status.
            .scan(false, |failed, reply: Result<_, Status>| {
                let next = (!*failed).then(|| {
                    *failed = reply.is_err();
                    reply
                });
                std::future::ready(next)
            });
        Ok(Response::new(Box::pin(replies)))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn release_tokens(
        &self,
        request: Request<pb::ReleaseTokensRequest>,
    ) -> Result<Response<pb::ReleaseTokensResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = parse_key(&request.org_id, request.resource).map_err(ApiError::from)?;
        let count = domain::parse_count("count", request.count).map_err(ApiError::from)?;
        let grant: Grant = request.grant_id.parse().map_err(ApiError::from)?;
        let released = self
            .store
            .release(&key, grant, count.into())
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ReleaseTokensResponse {
            released: released.released,
            used: released.used,
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_usage(
        &self,
        request: Request<pb::GetUsageRequest>,
    ) -> Result<Response<pb::GetUsageResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = parse_key(&request.org_id, request.resource).map_err(ApiError::from)?;
        let usage = self
            .store
            .usage(&key, self.default_budget.as_ref())
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| no_budget(&key))?;
        Ok(Response::new(pb::GetUsageResponse {
            used: usage.used,
            allocation: usage.allocation,
            org_limit: usage.org_limit,
            remaining: usage
                .remaining
                .iter()
                .map(|r| pb::PriorityRemaining {
                    priority: priority_pb(r.priority).into(),
                    limit: r.limit,
                    remaining: r.remaining,
                })
                .collect(),
            next_free_at: usage.next_free.map(|(at, _)| timestamp(at)),
            next_free_calls: usage.next_free.map(|(_, calls)| calls).unwrap_or_default(),
            window: Some(duration(usage.window_ms)),
            series: usage
                .series
                .iter()
                .map(|&(start, calls)| pb::UsagePoint {
                    start: Some(timestamp(start)),
                    calls,
                })
                .collect(),
            as_of: Some(timestamp(usage.as_of_ms)),
            is_default_budget: usage.is_default_budget,
            org_used_estimate: usage.org.map(|v| v.estimate()).unwrap_or_default(),
            org_usage_reported_at: usage.org.map(|v| timestamp(v.observed_at_ms)),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn report_org_usage(
        &self,
        request: Request<pb::ReportOrgUsageRequest>,
    ) -> Result<Response<pb::ReportOrgUsageResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = parse_key(&request.org_id, request.resource)?;
        let (used, max) = if request.limit_info.is_empty() {
            let bounded = |field: &str, n: u64, least: u64| {
                if (least..=org_usage::MAX_REPORTED).contains(&n) {
                    Ok(n)
                } else {
                    Err(InvalidInput::new(
                        field,
                        format!("must be {least} to {}", org_usage::MAX_REPORTED),
                    ))
                }
            };
            (
                bounded("used", request.used, 0)?,
                bounded("max", request.max, 1)?,
            )
        } else if request.used != 0 || request.max != 0 {
            return Err(InvalidInput::new(
                "limit_info",
                "give either limit_info or used and max, not both",
            )
            .into());
        } else {
            org_usage::parse_limit_info("limit_info", &request.limit_info)?
        };
        let observed_at_ms = request.observed_at.as_ref().map(timestamp_ms);
        let report = self
            .store
            .report_org_usage(
                &key,
                used,
                max,
                observed_at_ms,
                self.default_budget.as_ref(),
            )
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| no_budget(&key))?;
        tracing::debug!(
            used,
            max,
            accepted = report.accepted,
            estimate = report.estimate,
            "org usage reported"
        );
        Ok(Response::new(pb::ReportOrgUsageResponse {
            accepted: report.accepted,
            org_used_estimate: report.estimate,
            org_limit: report.org_limit,
            org_ceiling: report.ceiling,
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, reason = request.get_ref().reason))]
    async fn suspend(
        &self,
        request: Request<pb::SuspendRequest>,
    ) -> Result<Response<pb::SuspendResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = OrgId::parse(&request.org_id)?;
        let reason = parse_reason(request.reason)?;
        suspension::check_detail(&request.detail)?;
        let (suspension, event) = self
            .store
            .suspend(&org, reason, &request.detail)
            .await
            .map_err(ApiError::from)?;
        if let Some(event) = &event {
            self.feed.apply(event);
            tracing::info!(reason = reason.code(), "suspended");
        }
        Ok(Response::new(pb::SuspendResponse {
            suspension: Some(suspension_pb(&suspension)),
            created: event.is_some(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, reason = request.get_ref().reason))]
    async fn clear_suspension(
        &self,
        request: Request<pb::ClearSuspensionRequest>,
    ) -> Result<Response<pb::ClearSuspensionResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = OrgId::parse(&request.org_id)?;
        let reason = parse_reason(request.reason)?;
        let event = self
            .store
            .clear(&org, reason, false)
            .await
            .map_err(ApiError::from)?;
        if let Some(event) = &event {
            self.feed.apply(event);
            tracing::info!(reason = reason.code(), "suspension cleared");
        }
        Ok(Response::new(pb::ClearSuspensionResponse {
            cleared: event.is_some(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn list_suspensions(
        &self,
        request: Request<pb::ListSuspensionsRequest>,
    ) -> Result<Response<pb::ListSuspensionsResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let org = OrgId::parse(&request.get_ref().org_id)?;
        let (all, _) = self.store.snapshot().await.map_err(ApiError::from)?;
        let suspensions = all
            .iter()
            .filter(|s| s.org == org)
            .map(suspension_pb)
            .collect();
        Ok(Response::new(pb::ListSuspensionsResponse { suspensions }))
    }

    type WatchSuspensionsStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<pb::WatchSuspensionsResponse, Status>> + Send>,
    >;

    async fn watch_suspensions(
        &self,
        request: Request<pb::WatchSuspensionsRequest>,
    ) -> Result<Response<Self::WatchSuspensionsStream>, Status> {
        if request.get_ref().org_id.is_empty() {
            authorize_every_org(&request, "watching every org's suspensions")?;
        } else {
            authorize_org(&request, &request.get_ref().org_id)?;
        }
        let request = request.into_inner();
        let org = if request.org_id.is_empty() {
            None
        } else {
            Some(OrgId::parse(&request.org_id)?)
        };
        // Subscribe before reading the position, so nothing falls between.
        let live = self.feed.subscribe();
        let last = if request.cursor.is_empty() {
            self.feed.last()
        } else {
            Cursor::parse("cursor", &request.cursor)?
        };
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(watch(self.store.clone(), live, last, org, tx));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, success = request.get_ref().success))]
    async fn report_probe_result(
        &self,
        request: Request<pb::ReportProbeResultRequest>,
    ) -> Result<Response<pb::ReportProbeResultResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = OrgId::parse(&request.org_id)?;
        let reason = parse_reason(request.reason)?;
        if !suspension::probed(reason) {
            return Err(InvalidInput::new(
                "reason",
                "is not ended by probes; only ClearSuspension ends it",
            )
            .into());
        }
        let outcome = self
            .store
            .probe_result(&org, reason, request.success)
            .await
            .map_err(ApiError::from)?;
        let reply = match outcome {
            ProbeOutcome::Cleared(event) => {
                self.feed.apply(&event);
                tracing::info!(reason = reason.code(), "probe succeeded; suspension ended");
                pb::ReportProbeResultResponse {
                    cleared: true,
                    next_probe_at: None,
                }
            }
            ProbeOutcome::BackedOff(at) => {
                self.probes_not_before
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(org, at);
                pb::ReportProbeResultResponse {
                    cleared: false,
                    next_probe_at: Some(timestamp(at)),
                }
            }
            ProbeOutcome::NotSuspended => pb::ReportProbeResultResponse::default(),
        };
        Ok(Response::new(reply))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_name_their_field() {
        assert_eq!(parse_key("acme", 99).unwrap_err().field, "resource");
        assert_eq!(parse_priority(7).unwrap_err().field, "priority");
        assert_eq!(
            parse_key("acme", 0).unwrap().resource,
            Resource::ApiRequests
        );
        assert_eq!(parse_priority(0), Ok(Priority::Normal));
    }

    #[test]
    fn budgets_need_their_parts() {
        assert_eq!(parse_budget(None, 0).unwrap_err().field, "budget");
        let mut b = pb::Budget {
            org_limit: 10,
            allocation: 5,
            ..Default::default()
        };
        b.allocation_override = Some(pb::AllocationOverride {
            allocation: 6,
            expires_at: None,
        });
        assert_eq!(
            parse_budget(Some(b), 0).unwrap_err().field,
            "budget.allocation_override.expires_at"
        );
    }

    #[test]
    fn timestamps_round_trip_to_the_millisecond() {
        for ms in [0, 1, 999, 1_700_000_000_123, -1] {
            assert_eq!(timestamp_ms(&timestamp(ms)), ms);
        }
        assert_eq!(
            duration(1_500),
            ProtoDuration {
                seconds: 1,
                nanos: 500_000_000
            }
        );
    }
}

/// Property tests of the request validators, kept beside them.
#[cfg(test)]
#[path = "grpc_properties.rs"]
mod properties;
