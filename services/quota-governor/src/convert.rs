//! Protobuf to domain values and back, for the governor's gRPC API. Every
//! request field is read here, and a bad one is refused naming the field and
//! the rule, so the handlers in `grpc` only pass values along.

use prost_types::Duration as ProtoDuration;
use syncgov_api::quota::v1 as pb;
use syncgov_kit::clock::timestamp;

use crate::consumers::Consumer;
use crate::domain::{
    self, AlertThresholds, AllocationOverride, Ask, Budget, DenyReason, Glance, InvalidInput,
    OrgId, Priority, ReleaseOutcome, Resource, Shares, Usage,
};
use crate::org_usage;
use crate::store::BudgetKey;
use crate::suspension::{self, Clearing, Event, EventKind, Suspension, SuspensionReason};

/// A request for tokens, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenAsk {
    /// The budget asked of.
    pub key: BudgetKey,
    /// How many tokens.
    pub ask: Ask,
    /// At which priority.
    pub priority: Priority,
    /// Who the granted tokens are counted for.
    pub consumer: Consumer,
}

/// Reads an `AcquireTokens` request (or one message of a stream).
pub fn read_token_ask(request: &pb::AcquireTokensRequest) -> Result<TokenAsk, InvalidInput> {
    let key = read_key(&request.org_id, request.resource)?;
    let ask = Ask::parse(request.count, request.min_count)?;
    let priority = read_priority(request.priority)?;
    domain::check_client_id(&request.client_id)?;
    let consumer = Consumer::parse(&request.client_id, &request.object, &request.operation)?;
    Ok(TokenAsk {
        key,
        ask,
        priority,
        consumer,
    })
}

/// Reads the budget a request names: its org and resource.
pub fn read_key(org_id: &str, resource: i32) -> Result<BudgetKey, InvalidInput> {
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

/// Reads a priority; unspecified is normal.
pub fn read_priority(priority: i32) -> Result<Priority, InvalidInput> {
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

/// Reads a budget, checking its rules at `now_ms` (an override must still
/// be running).
pub fn read_budget(budget: Option<pb::Budget>, now_ms: i64) -> Result<Budget, InvalidInput> {
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
                expires_at_ms: syncgov_kit::input::timestamp_ms(
                    "budget.allocation_override.expires_at",
                    &expires_at,
                )?,
            })
        }
    };
    // Empty: the defaults, kept as such (they follow the defaults of
    // later versions).
    let alert_thresholds = match budget.alert_thresholds_percent.as_slice() {
        [] => None,
        percents => Some(AlertThresholds::new(
            // One more than allowed is enough to refuse a long list.
            &percents
                .iter()
                .take(syncgov_kit::budget::MAX_ALERT_THRESHOLDS + 1)
                .map(|&p| u64::from(p))
                .collect::<Vec<_>>(),
        )?),
    };
    let budget = Budget {
        org_limit: budget.org_limit,
        allocation: budget.allocation,
        shares,
        allocation_override,
        shadow: budget.shadow,
        alert_thresholds,
    };
    budget.validate(now_ms)?;
    Ok(budget)
}

/// Reads what a worker says the whole org used: `limit_info` (the
/// `Sforce-Limit-Info` header) or `used` and `max`, not both.
pub fn read_reported_usage(
    request: &pb::ReportOrgUsageRequest,
) -> Result<(u64, u64), InvalidInput> {
    if !request.limit_info.is_empty() {
        if request.used != 0 || request.max != 0 {
            return Err(InvalidInput::new(
                "limit_info",
                "give either limit_info or used and max, not both",
            ));
        }
        return org_usage::parse_limit_info("limit_info", &request.limit_info);
    }
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
    Ok((
        bounded("used", request.used, 0)?,
        bounded("max", request.max, 1)?,
    ))
}

/// Reads a suspension reason; unspecified is refused.
pub fn read_reason(n: i32) -> Result<SuspensionReason, InvalidInput> {
    SuspensionReason::from_number(n).ok_or_else(|| {
        InvalidInput::new(
            "reason",
            "must be a SuspensionReason other than UNSPECIFIED",
        )
    })
}

/// A span of milliseconds as a protobuf duration.
pub fn duration(ms: u64) -> ProtoDuration {
    ProtoDuration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// A priority as the API names it.
pub fn priority_pb(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Retry => pb::Priority::Retry,
        Priority::Normal => pb::Priority::Normal,
        Priority::Critical => pb::Priority::Critical,
    }
}

/// A deny reason as the API names it.
pub fn deny_reason_pb(reason: DenyReason) -> pb::DenyReason {
    match reason {
        DenyReason::AllocationExhausted => pb::DenyReason::AllocationExhausted,
        DenyReason::PriorityShareExhausted => pb::DenyReason::PriorityShareExhausted,
        DenyReason::OrgLimitExhausted => pb::DenyReason::OrgLimitExhausted,
        DenyReason::Suspended => pb::DenyReason::Suspended,
        DenyReason::UnknownOrg => pb::DenyReason::UnknownOrg,
    }
}

/// What a release did, as the API names it.
pub fn release_outcome_pb(outcome: ReleaseOutcome) -> pb::ReleaseOutcome {
    match outcome {
        ReleaseOutcome::Released => pb::ReleaseOutcome::Released,
        ReleaseOutcome::AlreadyReleased => pb::ReleaseOutcome::AlreadyReleased,
        ReleaseOutcome::Expired => pb::ReleaseOutcome::Expired,
        ReleaseOutcome::UnknownGrant => pb::ReleaseOutcome::UnknownGrant,
    }
}

/// A budget as the API writes it.
pub fn budget_pb(budget: &Budget) -> pb::Budget {
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
        shadow: budget.shadow,
        alert_thresholds_percent: budget
            .alert_thresholds
            .map(|t| t.as_slice().iter().map(|&p| u32::from(p)).collect())
            .unwrap_or_default(),
    }
}

/// A usage alert as `WatchUsageAlerts` sends it.
pub fn alert_pb(alert: &crate::alerts::Alert) -> pb::WatchUsageAlertsResponse {
    let c = &alert.crossing;
    pb::WatchUsageAlertsResponse {
        cursor: alert.cursor.to_string(),
        org_id: c.key.org.to_string(),
        resource: resource_pb(c.key.resource).into(),
        of: match c.key.of {
            crate::alerts::Of::Allocation => pb::UsageAlertOf::Allocation,
            crate::alerts::Of::OrgLimit => pb::UsageAlertOf::OrgLimit,
        }
        .into(),
        threshold_percent: c.threshold.into(),
        used: c.used,
        limit: c.limit,
        at: Some(timestamp(alert.at_ms)),
    }
}

/// A budget's usage as `GetUsage` answers it.
pub fn usage_pb(usage: &Usage) -> pb::GetUsageResponse {
    pb::GetUsageResponse {
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
        exhausted_at: usage.forecast.exhausted_at_ms.map(timestamp),
        calls_per_hour: usage.forecast.calls_per_hour(),
        rate_measured_over: Some(duration(usage.forecast.span_ms)),
        recent_calls: usage.forecast.recent_calls,
        top_consumers: usage
            .consumers
            .iter()
            .flat_map(|c| &c.top)
            .map(|row| pb::Consumer {
                client_id: row.consumer.client_id.clone(),
                object: row.consumer.object.clone(),
                operation: row.consumer.operation.clone(),
                tokens: row.tokens,
            })
            .collect(),
        other_named_tokens: usage.consumers.as_ref().map_or(0, |c| c.rest),
        other_tokens: usage.consumers.as_ref().map_or(0, |c| c.other),
        consumer_count: usage.consumers.as_ref().map_or(0, |c| c.named as u32),
        consumer_cap: crate::consumers::CONSUMER_CAP as u32,
    }
}

fn clearing_pb(reason: SuspensionReason) -> pb::SuspensionClearing {
    match suspension::clearing(reason) {
        Clearing::Operator => pb::SuspensionClearing::Operator,
        Clearing::Probe => pb::SuspensionClearing::Probe,
        Clearing::Allocation => pb::SuspensionClearing::Allocation,
        Clearing::OrgLimit => pb::SuspensionClearing::OrgLimit,
    }
}

/// A suspension with how it ends and what to do about it.
pub fn suspension_pb(s: &Suspension) -> pb::Suspension {
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

/// A suspension event as watchers receive it.
pub fn event_pb(e: &Event) -> pb::WatchSuspensionsResponse {
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

#[cfg(test)]
mod tests {
    use super::*;
    use syncgov_kit::clock::timestamp_ms;

    #[test]
    fn unknown_enum_values_name_their_field() {
        assert_eq!(read_key("acme", 99).unwrap_err().field, "resource");
        assert_eq!(read_priority(7).unwrap_err().field, "priority");
        assert_eq!(read_key("acme", 0).unwrap().resource, Resource::ApiRequests);
        assert_eq!(read_priority(0), Ok(Priority::Normal));
    }

    #[test]
    fn alert_thresholds_read_back_and_bad_ones_name_their_field() {
        let mut b = pb::Budget {
            org_limit: 10,
            allocation: 5,
            alert_thresholds_percent: vec![50, 75],
            ..Default::default()
        };
        let read = read_budget(Some(b.clone()), 0).unwrap();
        assert_eq!(budget_pb(&read).alert_thresholds_percent, [50, 75]);
        for bad in [vec![0], vec![75, 50], vec![101], vec![1; 1_000]] {
            b.alert_thresholds_percent = bad;
            assert_eq!(
                read_budget(Some(b.clone()), 0).unwrap_err().field,
                "budget.alert_thresholds_percent"
            );
        }
        b.alert_thresholds_percent.clear();
        let defaults = read_budget(Some(b), 0).unwrap();
        assert_eq!(defaults.alert_thresholds, None);
        assert_eq!(defaults.thresholds().as_slice(), [80, 90, 100]);
    }

    #[test]
    fn budgets_need_their_parts() {
        assert_eq!(read_budget(None, 0).unwrap_err().field, "budget");
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
            read_budget(Some(b), 0).unwrap_err().field,
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

/// Property tests of the request readers, kept beside them.
#[cfg(test)]
#[path = "convert_properties.rs"]
mod properties;

/// Reads a resource filter: `None` (every resource) when UNSPECIFIED.
pub fn read_resource_filter(field: &str, resource: i32) -> Result<Option<Resource>, InvalidInput> {
    match pb::Resource::try_from(resource) {
        Ok(pb::Resource::Unspecified) => Ok(None),
        Ok(pb::Resource::ApiRequests) => Ok(Some(Resource::ApiRequests)),
        Ok(pb::Resource::BulkBatches) => Ok(Some(Resource::BulkBatches)),
        Err(_) => Err(InvalidInput::new(field, "must be a Resource")),
    }
}

/// Reads a suspension reason filter: `None` (every reason) when UNSPECIFIED.
pub fn read_reason_filter(n: i32) -> Result<Option<SuspensionReason>, InvalidInput> {
    match n {
        0 => Ok(None),
        n => SuspensionReason::from_number(n)
            .map(Some)
            .ok_or_else(|| InvalidInput::new("reason", "must be a SuspensionReason")),
    }
}

/// A resource as the protocol names it.
pub fn resource_pb(resource: Resource) -> pb::Resource {
    match resource {
        Resource::ApiRequests => pb::Resource::ApiRequests,
        Resource::BulkBatches => pb::Resource::BulkBatches,
    }
}

/// One org's entry of the usage view.
pub fn org_usage_pb(key: &BudgetKey, usage: &Glance) -> pb::OrgUsage {
    let share = crate::fleet::Share::of(usage);
    pb::OrgUsage {
        org_id: key.org.to_string(),
        resource: resource_pb(key.resource).into(),
        used: usage.used,
        allocation: usage.allocation,
        org_limit: usage.org_limit,
        org_used_estimate: usage.org.map(|v| v.estimate()).unwrap_or_default(),
        allocation_share: share.allocation,
        org_share: share.org,
        share_used: share.used(),
        is_default_budget: usage.is_default_budget,
        as_of: Some(timestamp(usage.as_of_ms)),
    }
}
