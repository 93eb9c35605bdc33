//! Who may call each method of the governor when authentication is on.
//! Admins may call every method (budgets are theirs alone); the org a call
//! names is checked in the handlers.

use syncgov_kit::auth::{Policy, Role};

const WORKERS: &[Role] = &[Role::Worker];
const READERS: &[Role] = &[Role::Worker, Role::Operator, Role::Service];
const CLEARERS: &[Role] = &[Role::Operator, Role::Service];
const SERVICES: &[Role] = &[Role::Service];
/// Operators read the trail of their orgs; admins every method anyway.
const AUDITORS: &[Role] = &[Role::Operator];

/// The governor's access policy.
pub fn policy() -> Policy {
    Policy::default()
        .allow(
            "syncgov.quota.v1.QuotaGovernor",
            &[
                ("AcquireTokens", WORKERS),
                ("AcquireTokensStream", WORKERS),
                ("ReleaseTokens", WORKERS),
                ("ReportOrgUsage", WORKERS),
                ("ReportProbeResult", WORKERS),
                ("GetBudget", READERS),
                ("GetUsage", READERS),
                ("ListSuspensions", READERS),
                // The fleet views: each caller sees the orgs of its token.
                ("ListBudgets", READERS),
                ("ListUsage", READERS),
                ("WatchSuspensions", READERS),
                ("ListSuspensionHistory", READERS),
                // Each caller sees the alerts of the orgs of its token.
                ("WatchUsageAlerts", READERS),
                ("ClearSuspension", CLEARERS),
                // sync-errors suspends an org when a failure says so.
                ("Suspend", SERVICES),
                // Who changed what: operators (their orgs) and admins.
                ("ListAuditEvents", AUDITORS),
            ],
        )
        // Envoy asks on behalf of the workers behind it.
        .allow(
            "envoy.service.ratelimit.v3.RateLimitService",
            &[("ShouldRateLimit", WORKERS)],
        )
}
