//! The services' replies as JSON, for `--output json`. Written by hand
//! rather than derived, so the shape is chosen for scripts: field names as
//! in the `.proto` files, enum values by their short names (as in the
//! tables and in `sync-errors classify`), timestamps as RFC 3339 strings to
//! the millisecond in UTC (null when absent), durations as whole seconds,
//! counts as numbers.

use prost_types::Timestamp;
use serde_json::{Value, json};
use syncgov_api::quota::v1 as quota;
use syncgov_api::syncerrors::v1 as errors;

use crate::names;

/// A timestamp as RFC 3339, or null.
pub fn timestamp(t: Option<&Timestamp>) -> Value {
    match t.and_then(crate::render::system_time) {
        Some(at) => Value::String(humantime::format_rfc3339_millis(at).to_string()),
        None => Value::Null,
    }
}

/// A budget.
pub fn budget(b: &quota::Budget) -> Value {
    json!({
        "org_limit": b.org_limit,
        "allocation": b.allocation,
        "shares": b.shares.as_ref().map(|s| json!({
            "retry_percent": s.retry_percent,
            "normal_percent": s.normal_percent,
            "critical_percent": s.critical_percent,
        })),
        "allocation_override": b.allocation_override.as_ref().map(|o| json!({
            "allocation": o.allocation,
            "expires_at": timestamp(o.expires_at.as_ref()),
        })),
        "shadow": b.shadow,
        "alert_thresholds_percent": crate::render::alert_thresholds(b),
    })
}

/// A `GetUsage` reply.
pub fn usage(u: &quota::GetUsageResponse) -> Value {
    json!({
        "used": u.used,
        "allocation": u.allocation,
        "org_limit": u.org_limit,
        "remaining": u.remaining.iter().map(|r| json!({
            "priority": names::priority(r.priority),
            "limit": r.limit,
            "remaining": r.remaining,
        })).collect::<Vec<_>>(),
        "next_free_at": timestamp(u.next_free_at.as_ref()),
        "next_free_calls": u.next_free_calls,
        "window": u.window.as_ref().map(|w| w.seconds),
        "series": u.series.iter().map(|p| json!({
            "start": timestamp(p.start.as_ref()),
            "calls": p.calls,
        })).collect::<Vec<_>>(),
        "as_of": timestamp(u.as_of.as_ref()),
        "is_default_budget": u.is_default_budget,
        "org_used_estimate": u.org_used_estimate,
        "org_usage_reported_at": timestamp(u.org_usage_reported_at.as_ref()),
        "exhausted_at": timestamp(u.exhausted_at.as_ref()),
        "calls_per_hour": u.calls_per_hour,
        "recent_calls": u.recent_calls,
        "rate_measured_over_seconds": u.rate_measured_over.as_ref().map(|d| {
            d.seconds as f64 + f64::from(d.nanos) / 1e9
        }),
        "top_consumers": u.top_consumers.iter().map(|c| json!({
            "client_id": c.client_id,
            "object": c.object,
            "operation": c.operation,
            "tokens": c.tokens,
        })).collect::<Vec<_>>(),
        "other_named_tokens": u.other_named_tokens,
        "other_tokens": u.other_tokens,
        "consumer_count": u.consumer_count,
        "consumer_cap": u.consumer_cap,
    })
}

/// An active suspension.
pub fn suspension(s: &quota::Suspension) -> Value {
    json!({
        "org_id": s.org_id,
        "reason": names::reason(s.reason),
        "detail": s.detail,
        "since": timestamp(s.since.as_ref()),
        "clearing": names::clearing(s.clearing),
        "guidance": s.guidance,
        "next_probe_at": timestamp(s.next_probe_at.as_ref()),
    })
}

/// One event of `WatchSuspensions`.
pub fn suspension_event(e: &quota::WatchSuspensionsResponse) -> Value {
    json!({
        "cursor": e.cursor,
        "org_id": e.org_id,
        "reason": names::reason(e.reason),
        "kind": names::event_kind(e.kind),
        "detail": e.detail,
        "at": timestamp(e.at.as_ref()),
        "automatic": e.automatic,
    })
}

/// One suspension of `suspensions history`: `began` is null when it began
/// before the page's events, `ended` while it lasts or when its end is
/// among newer events.
pub fn history_row(r: &crate::history::Row) -> Value {
    let at = |t: Option<&prost_types::Timestamp>| t.map(|t| timestamp(Some(t)));
    json!({
        "reason": names::reason(r.reason),
        "detail": r.detail,
        "began": at(r.began.as_ref()),
        "ended": at(r.ended.as_ref()),
        "how": r.how.code(),
    })
}

/// The sync health cards.
pub fn health(h: &errors::GetSyncHealthResponse) -> Value {
    json!({
        "unknown_errors": h.unknown_errors,
        "current_errors": h.current_errors,
        "impacted_records": h.impacted_records,
        "categories": h.categories.iter().map(|c| json!({
            "category": names::category(c.category),
            "current_errors": c.current_errors,
            "impacted_records": c.impacted_records,
            "types": c.types.iter().map(|t| json!({
                "type": names::error_type(t.r#type),
                "current_errors": t.current_errors,
                "impacted_records": t.impacted_records,
                "dead_errors": t.dead_errors,
                "guidance": t.guidance,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "recent_suspensions": h.recent_suspensions.iter().map(|s| json!({
            "reason": names::reason(s.reason),
            "status_code": s.status_code,
            "message": s.message,
            "occurred_at": timestamp(s.occurred_at.as_ref()),
            "guidance": s.guidance,
        })).collect::<Vec<_>>(),
    })
}

/// A sync error.
pub fn sync_error(e: &errors::SyncError) -> Value {
    json!({
        "error_id": e.error_id,
        "org_id": e.org_id,
        "object_type": e.object_type,
        "crm_record_id": e.crm_record_id,
        "salesforce_id": e.salesforce_id,
        "direction": names::direction(e.direction),
        "category": e.classification.as_ref().map(|c| names::category(c.category)),
        "type": e.classification.as_ref().map(|c| names::error_type(c.r#type)),
        "status_code": e.status_code,
        "message": e.message,
        "fields": e.fields,
        "occurrences": e.occurrences,
        "first_seen": timestamp(e.first_seen.as_ref()),
        "last_seen": timestamp(e.last_seen.as_ref()),
        "state": names::state(e.state),
        "resync_attempts": e.resync_attempts,
        "guidance": e.guidance,
        "explanation": e.explanation.as_ref().map(explanation),
    })
}

/// What decided a classification.
pub fn explanation(x: &errors::Explanation) -> Value {
    json!({
        "basis": names::basis(x.basis),
        "confidence": (f64::from(x.confidence) * 100.0).round() / 100.0,
        "matched": x.matched,
    })
}

/// What a reclassification did.
pub fn reclassified(r: &errors::ReclassifyErrorsResponse) -> Value {
    json!({
        "examined": r.examined,
        "moved": r.moved,
        "now_suspension": r.now_suspension,
        "skipped_resyncing": r.skipped_resyncing,
        "moves": r.moves.iter().map(|m| json!({
            "from": names::error_type(m.from),
            "to": names::error_type(m.to),
            "errors": m.errors,
        })).collect::<Vec<_>>(),
    })
}

/// A page of errors.
pub fn error_list(r: &errors::ListErrorsResponse) -> Value {
    json!({
        "errors": r.errors.iter().map(sync_error).collect::<Vec<_>>(),
        "next_page_token": r.next_page_token,
    })
}

/// A page of affected records.
pub fn affected_records(r: &errors::ListAffectedRecordsResponse) -> Value {
    json!({
        "records": r.records.iter().map(|rec| json!({
            "object_type": rec.object_type,
            "crm_record_id": rec.crm_record_id,
            "salesforce_id": rec.salesforce_id,
            "error_id": rec.error_id,
            "last_seen": timestamp(rec.last_seen.as_ref()),
        })).collect::<Vec<_>>(),
        "next_page_token": r.next_page_token,
    })
}

/// What a resync queued.
pub fn resync(results: &[errors::QueuedResync]) -> Value {
    json!({
        "results": results.iter().map(|r| json!({
            "error_id": r.error_id,
            "job_id": r.job_id,
            "skipped": r.skipped,
        })).collect::<Vec<_>>(),
    })
}

/// One channel's choices; unset is all on.
fn choices(c: Option<&errors::NotificationChoices>) -> Value {
    let all = errors::NotificationChoices {
        errors: true,
        suspensions: true,
        usage_alerts: true,
    };
    let c = c.unwrap_or(&all);
    json!({
        "errors": c.errors,
        "suspensions": c.suspensions,
        "usage_alerts": c.usage_alerts,
    })
}

/// A channel's frequency: its own, or `DEFAULT` when it follows the
/// settings' frequency.
fn channel_frequency(n: i32) -> String {
    if n == 0 {
        "DEFAULT".to_owned()
    } else {
        names::frequency(n)
    }
}

/// Notification settings.
pub fn notifications(
    s: Option<&errors::NotificationSettings>,
    secret_set: bool,
    [delivery, email_delivery]: [Option<&errors::NotificationDeliveryStatus>; 2],
) -> Value {
    let default = errors::NotificationSettings::default();
    let s = s.unwrap_or(&default);
    let status = |d: &errors::NotificationDeliveryStatus| {
        json!({
            "consecutive_failures": d.consecutive_failures,
            "failing": d.failing,
            "last_failure": d.last_failure,
            "last_failure_at": timestamp(d.last_failure_at.as_ref()),
            "last_success_at": timestamp(d.last_success_at.as_ref()),
        })
    };
    json!({
        "enabled": s.enabled,
        "frequency": names::frequency(s.frequency),
        // DEFAULT: the channel follows frequency (what --*-frequency takes).
        "webhook_frequency": channel_frequency(s.webhook_frequency),
        "email_frequency": channel_frequency(s.email_frequency),
        "webhook_url": s.webhook_url,
        "webhook_secret_set": secret_set,
        "webhook_format": names::webhook_format(s.webhook_format),
        "webhook": choices(s.webhook.as_ref()),
        "email": choices(s.email.as_ref()),
        "email_recipients": s.email_recipients,
        "delivery": delivery.map(status),
        "email_delivery": email_delivery.map(status),
    })
}

/// A page of every org's budgets.
pub fn budget_list(r: &quota::ListBudgetsResponse) -> Value {
    json!({
        "budgets": r.budgets.iter().map(|b| json!({
            "org_id": b.org_id,
            "resource": names::resource(b.resource),
            "budget": budget(&b.budget.clone().unwrap_or_default()),
        })).collect::<Vec<_>>(),
        "next_page_token": r.next_page_token,
    })
}

/// A page of the usage view.
pub fn usage_list(r: &quota::ListUsageResponse) -> Value {
    json!({
        "orgs": r.orgs.iter().map(|o| json!({
            "org_id": o.org_id,
            "used": o.used,
            "allocation": o.allocation,
            "org_limit": o.org_limit,
            "org_used_estimate": o.org_used_estimate,
            "allocation_share": o.allocation_share,
            "org_share": o.org_share,
            "share_used": o.share_used,
            "is_default_budget": o.is_default_budget,
            "as_of": timestamp(o.as_of.as_ref()),
        })).collect::<Vec<_>>(),
        "next_page_token": r.next_page_token,
    })
}

/// A page of the orgs with the most errors.
pub fn top_orgs(r: &errors::ListTopOrgsResponse) -> Value {
    json!({
        "orgs": r.orgs.iter().map(|o| json!({
            "org_id": o.org_id,
            "current_errors": o.current_errors,
            "unknown_errors": o.unknown_errors,
            "dead_jobs": o.dead_jobs,
            "impacted_records": o.impacted_records,
        })).collect::<Vec<_>>(),
        "next_page_token": r.next_page_token,
    })
}
