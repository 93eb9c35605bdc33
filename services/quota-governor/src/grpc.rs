//! The gRPC face of the governor, an adapter: each handler checks that its
//! caller may touch the org named, reads the request (`convert`), asks the
//! [`Governor`], and writes the reply. A denial is a normal reply; bad
//! input, missing budgets and store failures become statuses through the
//! kit's one mapping (`syncgov_kit::error`). This module never names Redis.

use std::sync::Arc;

use syncgov_api::quota::v1 as pb;
use syncgov_kit::audit::{self as trail, AuditLog, Change};
use syncgov_kit::auth::{
    Principal, authorize, authorize_every_org, authorize_org, authorize_priority,
};
use syncgov_kit::clock::{now_ms, timestamp};
use syncgov_kit::error::ApiError;
use tonic::{Request, Response, Status};

use crate::audit;
use crate::convert::{self, TokenAsk};
use crate::domain::{self, InvalidInput, OrgId, Outcome, Ruling};
use crate::fleet::{self, Rank, Scope};
use crate::governor::{Governor, GovernorError, ProbeReport};
use crate::revision::Revision;
use crate::store::BudgetKey;
use crate::store::QuotaStore;
use crate::suspension::Cursor;

/// The `syncgov.quota.v1.QuotaGovernor` service over a [`Governor`].
pub struct GovernorService<S> {
    governor: Arc<Governor<S>>,
    /// Where budget and suspension changes made through this API are
    /// recorded.
    audit: AuditLog,
}

impl<S: QuotaStore> GovernorService<S> {
    /// The service, deciding through `governor` and recording the changes
    /// callers make in `audit`.
    pub fn new(governor: Arc<Governor<S>>, audit: AuditLog) -> Self {
        Self { governor, audit }
    }

    /// Records a change made through the API. It is written after the
    /// change: when it cannot be, the change is not acknowledged
    /// (`UNAVAILABLE`, and every audited change is safe to repeat), so
    /// that nothing a caller was told of goes unrecorded.
    async fn record(&self, change: Change) -> Result<(), Status> {
        self.audit
            .record(change)
            .await
            .map(drop)
            .map_err(|e| ApiError::Store(e).into())
    }

    /// The budget `key` holds of its own, before a change; `None` when it
    /// has none (a default budget is not its own).
    async fn own_budget(&self, key: &BudgetKey) -> Result<Option<domain::Budget>, Status> {
        Ok(self.governor.own_budget(key).await?)
    }
}

/// Decisions of one `AcquireTokensStream` decided at once.
const STREAM_IN_FLIGHT: usize = 256;

impl From<GovernorError> for ApiError {
    fn from(error: GovernorError) -> Self {
        match error {
            GovernorError::Invalid(e) => ApiError::Invalid(e),
            // The request is well formed; the grant named holds no probe.
            GovernorError::NotTheProbe => ApiError::FailedPrecondition(error.to_string()),
            // The caller must read faster (or resume): RESOURCE_EXHAUSTED.
            GovernorError::WatcherBehind(_) => ApiError::Exhausted(error.to_string()),
            no_budget @ GovernorError::NoBudget(_) => ApiError::NotFound(no_budget.to_string()),
            // The write is well formed but rests on a budget that has
            // changed: sending it again as is cannot succeed.
            stale @ GovernorError::Stale { .. } => ApiError::FailedPrecondition(stale.to_string()),
            GovernorError::Store(e) => ApiError::Store(e),
        }
    }
}

impl From<GovernorError> for Status {
    fn from(error: GovernorError) -> Self {
        ApiError::from(error).into()
    }
}

/// Checks that `principal` may ask for the tokens `request` asks for, and
/// reads it.
fn check_acquire(
    principal: Option<&Principal>,
    request: &pb::AcquireTokensRequest,
) -> Result<TokenAsk, Status> {
    authorize(principal, &request.org_id)?;
    let asked = convert::read_token_ask(request)?;
    // The critical reserve is spent only by callers given it.
    authorize_priority(principal, asked.priority)?;
    Ok(asked)
}

/// Decides one checked request for tokens: what both `AcquireTokens` and
/// each message of `AcquireTokensStream` answer.
async fn acquire<S: QuotaStore>(
    governor: &Governor<S>,
    asked: TokenAsk,
) -> Result<pb::AcquireTokensResponse, Status> {
    let TokenAsk {
        key,
        ask,
        priority,
        consumer,
    } = asked;
    let span = tracing::Span::current();
    let (decision, probe) = match governor.acquire(&key, ask, priority, &consumer).await? {
        Ruling::Suspended {
            reason,
            used,
            allocation,
        } => {
            // Suspended: no call may go out, whatever the budget says.
            span.record("deny_reason", "suspended");
            span.record("suspension_reason", reason.code());
            return Ok(pb::AcquireTokensResponse {
                deny_reason: pb::DenyReason::Suspended.into(),
                suspension_reason: reason.number(),
                used,
                allocation,
                ..Default::default()
            });
        }
        Ruling::Emergency(count) => {
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
            reply.grant_id = governor.grant_id(&key, &grant).unwrap_or_default();
            reply.granted_count = grant.count;
            span.record("tokens_granted", grant.count);
            if let Some(reason) = decision.shadow_denied {
                span.record("shadow_denied", reason.as_str());
                reply.shadow_denied = true;
                reply.shadow_deny_reason = convert::deny_reason_pb(reason).into();
            }
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
            reply.deny_reason = convert::deny_reason_pb(reason).into();
            reply.retry_after = retry_after_ms.map(convert::duration);
        }
    }
    Ok(reply)
}

/// Reads the org a request names.
fn org(org_id: &str) -> Result<OrgId, Status> {
    Ok(OrgId::parse(org_id)?)
}

#[tonic::async_trait]
impl<S: QuotaStore> pb::quota_governor_server::QuotaGovernor for GovernorService<S> {
    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn set_budget(
        &self,
        request: Request<pb::SetBudgetRequest>,
    ) -> Result<Response<pb::SetBudgetResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let actor = trail::actor_of(&request);
        let request = request.into_inner();
        let key = convert::read_key(&request.org_id, request.resource)?;
        let budget = convert::read_budget(request.budget, now_ms())?;
        // Empty: unconditional, as before revisions existed. Refused
        // writes return before the trail: only a write is recorded.
        let before = if request.expected_revision.is_empty() {
            let before = self.own_budget(&key).await?;
            self.governor.set_budget(&key, &budget).await?;
            before
        } else {
            let expected = Revision::parse(&request.expected_revision)?;
            self.governor.set_budget_if(&key, expected, &budget).await?
        };
        self.record(Change {
            actor,
            action: "SetBudget",
            org: key.org.to_string(),
            target: key.resource.as_str().to_owned(),
            before: before.as_ref().map(audit::budget),
            after: Some(audit::budget(&budget)),
        })
        .await?;
        Ok(Response::new(pb::SetBudgetResponse {
            budget: Some(convert::budget_pb(&budget)),
            revision: Revision::of(&budget, false).to_string(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_budget(
        &self,
        request: Request<pb::GetBudgetRequest>,
    ) -> Result<Response<pb::GetBudgetResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let key = convert::read_key(&request.get_ref().org_id, request.get_ref().resource)?;
        let found = self.governor.budget(&key).await?;
        Ok(Response::new(pb::GetBudgetResponse {
            budget: Some(convert::budget_pb(&found.budget)),
            is_default: found.is_default,
            revision: Revision::of(&found.budget, found.is_default).to_string(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn delete_budget(
        &self,
        request: Request<pb::DeleteBudgetRequest>,
    ) -> Result<Response<pb::DeleteBudgetResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let key = convert::read_key(&request.get_ref().org_id, request.get_ref().resource)?;
        let before = self.own_budget(&key).await?;
        let deleted = self.governor.delete_budget(&key).await?;
        // Recorded even when there was nothing to delete: a retry after a
        // failed write finds nothing, and must still leave its event.
        self.record(Change {
            actor: trail::actor_of(&request),
            action: "DeleteBudget",
            org: key.org.to_string(),
            target: key.resource.as_str().to_owned(),
            before: before.as_ref().map(audit::budget),
            after: None,
        })
        .await?;
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
        shadow_denied,
        suspension_reason,
    ))]
    async fn acquire_tokens(
        &self,
        request: Request<pb::AcquireTokensRequest>,
    ) -> Result<Response<pb::AcquireTokensResponse>, Status> {
        let asked = check_acquire(request.extensions().get::<Principal>(), request.get_ref())?;
        Ok(Response::new(acquire(&self.governor, asked).await?))
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
        let drain = syncgov_kit::drain::Drain::of(&request);
        let principal = request.extensions().get::<Principal>().cloned();
        let governor = self.governor.clone();
        // Each message is checked in order, and the first refused ends the
        // stream: none after it is decided, so no token is counted that its
        // caller never hears of.
        let checked = request.into_inner().scan(false, move |refused, message| {
            let next = (!*refused).then(|| {
                let asked = message.and_then(|m| {
                    let request = m
                        .request
                        .ok_or_else(|| InvalidInput::new("request", "is required"))?;
                    check_acquire(principal.as_ref(), &request)
                });
                *refused = asked.is_err();
                asked
            });
            std::future::ready(next)
        });
        let replies = checked
            .map(move |asked| {
                let governor = governor.clone();
                async move {
                    let response = acquire(&governor, asked?).await?;
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
        // Ended with UNAVAILABLE when the server shuts down.
        Ok(Response::new(Box::pin(drain.end_stream(replies))))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn release_tokens(
        &self,
        request: Request<pb::ReleaseTokensRequest>,
    ) -> Result<Response<pb::ReleaseTokensResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = convert::read_key(&request.org_id, request.resource)?;
        let count = domain::parse_count("count", request.count)?;
        let released = self
            .governor
            .release(&key, &request.grant_id, count.into())
            .await?;
        Ok(Response::new(pb::ReleaseTokensResponse {
            released: released.released,
            used: released.used,
            outcome: convert::release_outcome_pb(released.outcome).into(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn get_usage(
        &self,
        request: Request<pb::GetUsageRequest>,
    ) -> Result<Response<pb::GetUsageResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let key = convert::read_key(&request.get_ref().org_id, request.get_ref().resource)?;
        let top = crate::consumers::check_top(request.get_ref().top_consumers)?;
        let usage = self.governor.usage(&key, top).await?;
        Ok(Response::new(convert::usage_pb(&usage)))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn report_org_usage(
        &self,
        request: Request<pb::ReportOrgUsageRequest>,
    ) -> Result<Response<pb::ReportOrgUsageResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let key = convert::read_key(&request.org_id, request.resource)?;
        let (used, max) = convert::read_reported_usage(&request)?;
        let observed_at_ms = request
            .observed_at
            .as_ref()
            .map(|at| syncgov_kit::input::timestamp_ms("observed_at", at))
            .transpose()?;
        let report = self
            .governor
            .report_org_usage(&key, used, max, observed_at_ms)
            .await?;
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
        let actor = trail::actor_of(&request);
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let reason = convert::read_reason(request.reason)?;
        let (suspension, created) = self.governor.suspend(&org, reason, &request.detail).await?;
        // Suspending an org already suspended for the reason changes
        // nothing, and sync-errors does so for every failure that says so:
        // recorded only when it began a suspension (the suspension feed,
        // WatchSuspensions, keeps every suspension and clear besides).
        if created {
            self.record(Change {
                actor,
                action: "Suspend",
                org: org.to_string(),
                target: reason.code().to_owned(),
                before: None,
                after: Some(audit::suspension(&suspension)),
            })
            .await?;
        }
        Ok(Response::new(pb::SuspendResponse {
            suspension: Some(convert::suspension_pb(&suspension)),
            created,
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, reason = request.get_ref().reason))]
    async fn clear_suspension(
        &self,
        request: Request<pb::ClearSuspensionRequest>,
    ) -> Result<Response<pb::ClearSuspensionResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let org = org(&request.get_ref().org_id)?;
        let reason = convert::read_reason(request.get_ref().reason)?;
        let before = self
            .governor
            .suspensions(&org)
            .await?
            .into_iter()
            .find(|s| s.reason == reason);
        let cleared = self.governor.clear(&org, reason).await?;
        // Recorded even when nothing was cleared: a retry after a failed
        // write finds nothing to clear, and must still leave its event.
        self.record(Change {
            actor: trail::actor_of(&request),
            action: "ClearSuspension",
            org: org.to_string(),
            target: reason.code().to_owned(),
            before: before.filter(|_| cleared).as_ref().map(audit::suspension),
            after: None,
        })
        .await?;
        Ok(Response::new(pb::ClearSuspensionResponse { cleared }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, reason = request.get_ref().reason))]
    async fn list_suspensions(
        &self,
        request: Request<pb::ListSuspensionsRequest>,
    ) -> Result<Response<pb::ListSuspensionsResponse>, Status> {
        if !request.get_ref().org_id.is_empty() {
            authorize_org(&request, &request.get_ref().org_id)?;
        }
        let scope = Scope::of(request.extensions().get::<Principal>());
        let request = request.into_inner();
        let one_org = match request.org_id.as_str() {
            "" => None,
            org_id => Some(org(org_id)?),
        };
        let reason = convert::read_reason_filter(request.reason)?;
        // One org's suspensions, unpaged: every one, oldest first, as before
        // paging existed.
        if let (Some(org), 0, "") = (&one_org, request.page_size, request.page_token.as_str()) {
            let mut held = self.governor.suspensions(org).await?;
            held.retain(|s| reason.is_none_or(|r| r == s.reason));
            return Ok(Response::new(pb::ListSuspensionsResponse {
                suspensions: held.iter().map(convert::suspension_pb).collect(),
                next_page_token: String::new(),
            }));
        }
        let limit = fleet::page_size("page_size", request.page_size, fleet::LIST_PAGE)?;
        let filter = format!("s:{}:{}", request.org_id, request.reason);
        let after = fleet::read_token(
            "page_token",
            &request.page_token,
            &filter,
            fleet::read_suspension_entry,
        )?;
        let page = self
            .governor
            .list_suspensions(&scope, one_org.as_ref(), reason, after, limit)
            .await?;
        Ok(Response::new(pb::ListSuspensionsResponse {
            suspensions: page.items.iter().map(convert::suspension_pb).collect(),
            next_page_token: page
                .next
                .map(|(org, reason)| fleet::token(&filter, &fleet::suspension_entry(&org, reason)))
                .unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(resource = request.get_ref().resource))]
    async fn list_budgets(
        &self,
        request: Request<pb::ListBudgetsRequest>,
    ) -> Result<Response<pb::ListBudgetsResponse>, Status> {
        let scope = Scope::of(request.extensions().get::<Principal>());
        let request = request.into_inner();
        let resource = convert::read_resource_filter("resource", request.resource)?;
        let limit = fleet::page_size("page_size", request.page_size, fleet::LIST_PAGE)?;
        let filter = format!("b:{}", request.resource);
        let after = fleet::read_token(
            "page_token",
            &request.page_token,
            &filter,
            fleet::read_budget_entry,
        )?
        .filter(|(_, r)| resource.is_none_or(|f| f == *r))
        .map(|(org, resource)| BudgetKey { org, resource });
        let page = self
            .governor
            .list_budgets(&scope, resource, after, limit)
            .await?;
        Ok(Response::new(pb::ListBudgetsResponse {
            budgets: page
                .items
                .iter()
                .map(|(key, budget)| pb::OrgBudget {
                    org_id: key.org.to_string(),
                    resource: convert::resource_pb(key.resource).into(),
                    budget: Some(convert::budget_pb(budget)),
                })
                .collect(),
            next_page_token: page
                .next
                .map(|key| fleet::token(&filter, &fleet::budget_entry(&key.org, key.resource)))
                .unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(resource = request.get_ref().resource))]
    async fn list_usage(
        &self,
        request: Request<pb::ListUsageRequest>,
    ) -> Result<Response<pb::ListUsageResponse>, Status> {
        let scope = Scope::of(request.extensions().get::<Principal>());
        let request = request.into_inner();
        let resource = convert::read_resource_filter("resource", request.resource)?
            .unwrap_or(crate::domain::Resource::ApiRequests);
        let limit = fleet::page_size("page_size", request.page_size, fleet::USAGE_PAGE)?;
        let filter = format!("u:{}", resource.as_str());
        let after = fleet::read_token("page_token", &request.page_token, &filter, Rank::read)?;
        let page = self
            .governor
            .list_usage(&scope, resource, after, limit)
            .await?;
        Ok(Response::new(pb::ListUsageResponse {
            orgs: page
                .items
                .iter()
                .map(|(key, usage)| convert::org_usage_pb(key, usage))
                .collect(),
            next_page_token: page
                .next
                .map(|rank| fleet::token(&filter, &rank.entry()))
                .unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn list_suspension_history(
        &self,
        request: Request<pb::ListSuspensionHistoryRequest>,
    ) -> Result<Response<pb::ListSuspensionHistoryResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let limit = fleet::page_size("page_size", request.page_size, fleet::HISTORY_PAGE)?;
        // The token names the org, so it cannot page another org's history.
        let filter = format!("h:{org}");
        let before = fleet::read_token("page_token", &request.page_token, &filter, |text| {
            Cursor::parse("page_token", text).ok()
        })?;
        let (events, next) = self.governor.history(&org, before, limit).await?;
        Ok(Response::new(pb::ListSuspensionHistoryResponse {
            events: events.iter().map(convert::event_pb).collect(),
            next_page_token: next
                .map(|cursor| fleet::token(&filter, &cursor.to_string()))
                .unwrap_or_default(),
        }))
    }

    type WatchSuspensionsStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<pb::WatchSuspensionsResponse, Status>> + Send>,
    >;

    async fn watch_suspensions(
        &self,
        request: Request<pb::WatchSuspensionsRequest>,
    ) -> Result<Response<Self::WatchSuspensionsStream>, Status> {
        use futures_util::StreamExt;
        let org = if request.get_ref().org_id.is_empty() {
            authorize_every_org(&request, "watching every org's suspensions")?;
            None
        } else {
            authorize_org(&request, &request.get_ref().org_id)?;
            Some(org(&request.get_ref().org_id)?)
        };
        let cursor = match request.get_ref().cursor.as_str() {
            "" => None,
            text => Some(Cursor::parse("cursor", text)?),
        };
        let events = tokio_stream::wrappers::ReceiverStream::new(self.governor.watch(org, cursor))
            .map(|event| match event {
                Ok(event) => Ok(convert::event_pb(&event)),
                Err(e) => Err(Status::from(e)),
            });
        // Ended with UNAVAILABLE when the server shuts down.
        let drain = syncgov_kit::drain::Drain::of(&request);
        Ok(Response::new(Box::pin(drain.end_stream(events))))
    }

    type WatchUsageAlertsStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<pb::WatchUsageAlertsResponse, Status>> + Send>,
    >;

    async fn watch_usage_alerts(
        &self,
        request: Request<pb::WatchUsageAlertsRequest>,
    ) -> Result<Response<Self::WatchUsageAlertsStream>, Status> {
        use futures_util::StreamExt;
        // One org: the caller must be allowed it. Every org: each caller
        // gets the alerts of the orgs its token names, as the fleet views.
        let org = match request.get_ref().org_id.as_str() {
            "" => None,
            org_id => {
                authorize_org(&request, org_id)?;
                Some(org(org_id)?)
            }
        };
        let scope = Scope::of(request.extensions().get::<Principal>());
        let cursor = match request.get_ref().cursor.as_str() {
            "" => None,
            text => Some(Cursor::parse("cursor", text)?),
        };
        let alerts = tokio_stream::wrappers::ReceiverStream::new(
            self.governor.watch_alerts(scope, org, cursor),
        )
        .map(|alert| match alert {
            Ok(alert) => Ok(convert::alert_pb(&alert)),
            Err(e) => Err(Status::from(e)),
        });
        // Ended with UNAVAILABLE when the server shuts down.
        let drain = syncgov_kit::drain::Drain::of(&request);
        Ok(Response::new(Box::pin(drain.end_stream(alerts))))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id, success = request.get_ref().success))]
    async fn report_probe_result(
        &self,
        request: Request<pb::ReportProbeResultRequest>,
    ) -> Result<Response<pb::ReportProbeResultResponse>, Status> {
        authorize_org(&request, &request.get_ref().org_id)?;
        let request = request.into_inner();
        let org = org(&request.org_id)?;
        let reason = convert::read_reason(request.reason)?;
        let reply = match self
            .governor
            .probe_result(&org, reason, request.success, &request.grant_id)
            .await?
        {
            ProbeReport::Cleared => pb::ReportProbeResultResponse {
                cleared: true,
                next_probe_at: None,
            },
            ProbeReport::BackedOff(at) => pb::ReportProbeResultResponse {
                cleared: false,
                next_probe_at: Some(timestamp(at)),
            },
            ProbeReport::NotSuspended => pb::ReportProbeResultResponse::default(),
        };
        Ok(Response::new(reply))
    }

    #[tracing::instrument(skip_all, fields(org_id = %request.get_ref().org_id))]
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let r = request.get_ref();
        let query = trail::read_request(
            request.extensions().get::<Principal>(),
            trail::Request {
                org_id: &r.org_id,
                actor: &r.actor,
                action: &r.action,
                from: r.from.as_ref(),
                to: r.to.as_ref(),
                page_size: r.page_size,
                page_token: &r.page_token,
            },
        )?;
        let page = self.audit.list(&query).await.map_err(ApiError::Store)?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            next_page_token: trail::next_token(&query, &page),
            events: page
                .events
                .into_iter()
                .map(|e| pb::AuditEvent {
                    id: e.id.to_string(),
                    at: Some(timestamp(e.id.at_ms())),
                    actor: e.actor,
                    action: e.action,
                    org_id: e.org,
                    target: e.target,
                    before: e.before,
                    after: e.after,
                })
                .collect(),
        }))
    }
}
