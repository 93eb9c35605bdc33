//! The governor's domain, pure: orgs, budgets, requests and decisions, and
//! the rules that turn a budget and a window into a decision. Validation
//! lives here too, so every edge (gRPC, settings) refuses bad input the same
//! way, naming the field and the rule.

pub use crate::forecast::Forecast;
pub use crate::org_usage::OrgView;
use crate::window::{Window, WindowShape};
pub use syncgov_taxonomy::SuspensionReason;

/// Most tokens one request may acquire or release.
pub const MAX_COUNT: u64 = 1_000_000;
/// Longest client id, in characters.
pub const MAX_CLIENT_ID_LEN: usize = 128;
/// Slices of the usage chart series.
pub const SERIES_POINTS: u64 = 24;

pub use syncgov_kit::budget::{
    AlertThresholds, AllocationOverride, Budget, MAX_ORG_LIMIT, MAX_OVERRIDE_MS, Resource, Shares,
};
pub use syncgov_kit::input::{InvalidInput, MAX_ORG_ID_LEN, OrgId, Priority};

/// Checks a token count (acquire or release).
pub fn parse_count(field: &str, count: u64) -> Result<u32, InvalidInput> {
    if count == 0 || count > MAX_COUNT {
        return Err(InvalidInput::new(
            field,
            format!("must be 1 to {MAX_COUNT}"),
        ));
    }
    Ok(count as u32)
}

/// A request for tokens: all `count` of them, or in lease mode as many as
/// there is room for down to `min`. A lease lets a worker take a block at
/// once, spend it without asking again, and hand back what it did not use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ask {
    /// The most tokens wanted.
    pub count: u32,
    /// The fewest worth having: `count` for all or nothing.
    pub min: u32,
}

impl Ask {
    /// Exactly `count` tokens or none.
    pub fn exactly(count: u32) -> Self {
        Self { count, min: count }
    }

    /// Checks an AcquireTokens request's `count` and `min_count`; a
    /// `min_count` of 0 means all or nothing.
    pub fn parse(count: u64, min_count: u64) -> Result<Self, InvalidInput> {
        let count = parse_count("count", count)?;
        if min_count == 0 {
            return Ok(Self::exactly(count));
        }
        if min_count > u64::from(count) {
            return Err(InvalidInput::new(
                "min_count",
                format!("must be 0 (all or nothing) or 1 to count ({count})"),
            ));
        }
        Ok(Self {
            count,
            min: min_count as u32,
        })
    }
}

/// Checks an optional caller name: printable, not over-long.
pub fn check_client_id(client_id: &str) -> Result<(), InvalidInput> {
    syncgov_kit::input::check_text("client_id", client_id, MAX_CLIENT_ID_LEN, false)
}

/// Why tokens were not granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// No room in the allocation.
    AllocationExhausted,
    /// Room in the allocation, but not in this priority's share.
    PriorityShareExhausted,
    /// The org as a whole is at its Salesforce limit.
    OrgLimitExhausted,
    /// The org's integration is suspended.
    Suspended,
    /// No budget and no default budget.
    UnknownOrg,
}

impl DenyReason {
    /// Short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::AllocationExhausted => "allocation_exhausted",
            DenyReason::PriorityShareExhausted => "priority_share_exhausted",
            DenyReason::OrgLimitExhausted => "org_limit_exhausted",
            DenyReason::Suspended => "suspended",
            DenyReason::UnknownOrg => "unknown_org",
        }
    }
}

/// Names a grant so that its unused tokens can be handed back to the bucket
/// they were counted in. Callers hold it as a signed `grant_id` (see
/// `crate::grant_id`), never as these numbers alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Start of the bucket the tokens were counted in, ms since the epoch.
    pub bucket_start_ms: i64,
    /// Tokens granted.
    pub count: u64,
    /// Tells this grant from every other, so that it is handed back at most
    /// once: a release sent again (a retry after a lost reply) must not
    /// take the same tokens off the window twice.
    pub nonce: u64,
}

impl Grant {
    /// The same grant, told apart from others by `nonce`.
    pub fn with_nonce(self, nonce: u64) -> Self {
        Self { nonce, ..self }
    }
}

/// What happened to a request for tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All tokens granted.
    Granted(Grant),
    /// None granted.
    Denied {
        /// Why.
        reason: DenyReason,
        /// When the same request would fit; `None` when waiting cannot help.
        retry_after_ms: Option<u64>,
    },
}

/// A decision with the numbers behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Granted or denied.
    pub outcome: Outcome,
    /// Calls counted in the window, this grant included.
    pub used: u64,
    /// The allocation in force.
    pub allocation: u64,
    /// Calls still available to the request's priority.
    pub remaining: u64,
    /// On a grant in shadow mode: the denial the allocation or the
    /// priority's share would have made without it (always
    /// [`DenyReason::AllocationExhausted`] or
    /// [`DenyReason::PriorityShareExhausted`]). `None` for every other
    /// decision.
    pub shadow_denied: Option<DenyReason>,
}

impl Decision {
    /// The denial for an org with no budget.
    pub fn unknown_org() -> Self {
        Self {
            outcome: Outcome::Denied {
                reason: DenyReason::UnknownOrg,
                retry_after_ms: None,
            },
            used: 0,
            allocation: 0,
            remaining: 0,
            shadow_denied: None,
        }
    }

    /// True when the tokens were granted.
    pub fn granted(&self) -> bool {
        matches!(self.outcome, Outcome::Granted(_))
    }
}

/// The rules every decision of a governor follows, from its settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The rolling window's buckets.
    pub shape: WindowShape,
    /// Share of the org limit kept free of all apps' calls, in percent.
    pub org_margin_percent: u8,
    /// Back-off between probes of suspensions that end by themselves.
    pub probe: ProbePolicy,
}

/// The back-off between probes: the first wait, doubling after every failed
/// probe, up to a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbePolicy {
    /// Wait before the first probe, ms.
    pub first_ms: u64,
    /// Longest wait, ms.
    pub cap_ms: u64,
}

impl Default for ProbePolicy {
    fn default() -> Self {
        Self {
            first_ms: 60_000,
            cap_ms: 3_600_000,
        }
    }
}

impl ProbePolicy {
    /// The wait after a probe failed, having waited `current`.
    pub fn after_failure(&self, current_ms: u64) -> u64 {
        current_ms
            .saturating_mul(2)
            .min(self.cap_ms)
            .max(self.first_ms.min(self.cap_ms))
    }
}

/// What a request for tokens came to, suspensions included: what the
/// governor answers, whichever protocol asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ruling {
    /// The org is suspended: nothing was granted, whatever the budget says.
    Suspended {
        /// The reason of the org's oldest suspension.
        reason: SuspensionReason,
        /// Calls counted in the window (0 when the store could not say).
        used: u64,
        /// The allocation in force (0 when the store could not say).
        allocation: u64,
    },
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

/// What the governor counts for one budget: its own grants in the rolling
/// window, and the org-wide view once a worker has reported one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// This integration's grants.
    pub window: Window,
    /// The org's usage as last reported, with the grants since.
    pub org: Option<OrgView>,
}

impl Counts {
    /// The org-wide view at `now_ms`: none once the last report is a whole
    /// window old, since every call it counted has left the org's window.
    pub fn org_view(&self, shape: &WindowShape, now_ms: i64) -> Option<OrgView> {
        self.org
            .filter(|view| now_ms - view.observed_at_ms < shape.window_ms() as i64)
    }

    /// The org limit in force: the current report's, else the budget's.
    fn org_limit(&self, budget: &Budget, shape: &WindowShape, now_ms: i64) -> u64 {
        self.org_view(shape, now_ms)
            .map_or(budget.org_limit, |view| view.reported_max)
    }
}

/// Decides `ask` at `priority` against `budget`, counting the grant: as many
/// tokens as fit, up to `ask.count`, or none when fewer than `ask.min` fit (a
/// denial leaves the counts as they were). The integration's own allocation
/// and shares bound the grant, and so does the org-wide view.
///
/// With [`Budget::shadow`], a request the allocation or the share would deny
/// is granted as if its cap were the org limit, counted like any grant, and
/// flagged with the denial it escaped ([`Decision::shadow_denied`]); when
/// even the org limit has no room, it is denied `OrgLimitExhausted`.
pub fn decide(
    budget: &Budget,
    rules: &Rules,
    counts: &mut Counts,
    ask: Ask,
    priority: Priority,
    now_ms: i64,
) -> Decision {
    let shape = &rules.shape;
    let org_view = counts.org_view(shape, now_ms);
    let org_limit = counts.org_limit(budget, shape, now_ms);
    let window = &mut counts.window;
    window.advance(shape, now_ms);
    let allocation = budget.allocation_at(now_ms).min(org_limit);
    let limit = budget.limit_at(priority, now_ms).min(allocation);
    let used = window.used();
    let org_room = org_view.map_or(u64::MAX, |view| {
        view.ceiling(org_limit, rules.org_margin_percent)
            .saturating_sub(view.estimate())
    });
    // As many as fit under `cap`, up to the count asked.
    let fitting = |cap: u64| {
        u64::from(ask.count)
            .min(cap.saturating_sub(used))
            .min(org_room)
    };
    let fewest = u64::from(ask.min.max(1));
    let count = fitting(limit);
    if count >= fewest {
        return grant(
            counts,
            shape,
            org_view.is_some(),
            count,
            used,
            allocation,
            limit,
            None,
        );
    }
    // Denied as a request for the fewest tokens that would do.
    let min = u64::from(ask.min);
    let wanted = used + min;
    let (reason, retry_after_ms) = if wanted <= limit {
        // When other apps' calls leave the org's window is not known here.
        (DenyReason::OrgLimitExhausted, None)
    } else {
        let reason = if wanted > allocation {
            DenyReason::AllocationExhausted
        } else {
            DenyReason::PriorityShareExhausted
        };
        let retry_after_ms = if min > limit {
            None
        } else {
            counts
                .window
                .time_until_freed(shape, wanted - limit, now_ms)
        };
        (reason, retry_after_ms)
    };
    let remaining = limit.saturating_sub(used);
    if budget.shadow && reason != DenyReason::OrgLimitExhausted {
        // Shadow mode lifts the allocation and the shares, never the org
        // limit: what this integration alone has counted must stay under
        // it, and so must the org-wide estimate.
        let count = fitting(org_limit);
        if count >= fewest {
            return grant(
                counts,
                shape,
                org_view.is_some(),
                count,
                used,
                allocation,
                limit,
                Some(reason),
            );
        }
        return Decision {
            outcome: Outcome::Denied {
                reason: DenyReason::OrgLimitExhausted,
                retry_after_ms: None,
            },
            used,
            allocation,
            remaining,
            shadow_denied: None,
        };
    }
    Decision {
        outcome: Outcome::Denied {
            reason,
            retry_after_ms,
        },
        used,
        allocation,
        remaining,
        shadow_denied: None,
    }
}

/// Counts a grant of `count` tokens in the current bucket (and in the org
/// estimate while a report is current) and says so.
#[allow(clippy::too_many_arguments)]
fn grant(
    counts: &mut Counts,
    shape: &WindowShape,
    org_view_current: bool,
    count: u64,
    used: u64,
    allocation: u64,
    limit: u64,
    shadow_denied: Option<DenyReason>,
) -> Decision {
    counts.window.add(shape, count as u32);
    if let Some(view) = counts.org.as_mut().filter(|_| org_view_current) {
        view.granted_since += count;
    }
    let grant = Grant {
        bucket_start_ms: shape.bucket_start_ms(counts.window.head()),
        count,
        nonce: 0,
    };
    Decision {
        outcome: Outcome::Granted(grant),
        used: used + count,
        allocation,
        // A shadow grant may pass the share: nothing is left of it.
        remaining: limit.saturating_sub(used + count),
        shadow_denied,
    }
}

/// What a release did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseOutcome {
    /// The grant's unused tokens were taken off its bucket (as many as the
    /// bucket still held).
    Released,
    /// The grant was handed back before: nothing more was taken.
    AlreadyReleased,
    /// The grant's bucket has left the window: nothing counts any more.
    Expired,
    /// Not a grant the governor made to this org and resource: nothing was
    /// taken.
    UnknownGrant,
}

/// Tokens handed back and the usage after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Released {
    /// Tokens actually taken off the window.
    pub released: u64,
    /// Calls counted in the window afterwards.
    pub used: u64,
    /// What the release did.
    pub outcome: ReleaseOutcome,
}

/// Hands back up to `count` unused tokens of `grant`; see [`Window::release`]
/// for why only the grant's own bucket is credited. Tokens granted since the
/// last org report leave the org estimate too.
pub fn release(
    counts: &mut Counts,
    shape: &WindowShape,
    grant: Grant,
    count: u64,
    now_ms: i64,
) -> Released {
    counts.window.advance(shape, now_ms);
    let bucket = shape.bucket_of(grant.bucket_start_ms);
    if !counts.window.holds(shape, bucket) {
        return Released {
            released: 0,
            used: counts.window.used(),
            outcome: ReleaseOutcome::Expired,
        };
    }
    let released = counts.window.release(shape, bucket, count.min(grant.count));
    if let Some(view) = counts
        .org
        .as_mut()
        .filter(|view| bucket >= shape.bucket_of(view.observed_at_ms))
    {
        view.granted_since = view.granted_since.saturating_sub(released);
    }
    Released {
        released,
        used: counts.window.used(),
        outcome: ReleaseOutcome::Released,
    }
}

/// Takes a report of the org's usage. A report older than the one kept
/// changes nothing (reports cross on the way); otherwise it replaces it, and
/// the grants counted since are those from the report's bucket on. Returns
/// whether it was kept.
pub fn report(
    counts: &mut Counts,
    shape: &WindowShape,
    used: u64,
    max: u64,
    observed_at_ms: i64,
    now_ms: i64,
) -> bool {
    // No report is newer than the clock: one dated ahead counts as made now.
    let observed_at_ms = observed_at_ms.min(now_ms);
    if counts
        .org
        .is_some_and(|view| view.observed_at_ms > observed_at_ms)
    {
        return false;
    }
    counts.window.advance(shape, now_ms);
    let granted_since = counts
        .window
        .granted_since(shape, shape.bucket_of(observed_at_ms));
    counts.org = Some(OrgView {
        reported_used: used,
        reported_max: max,
        observed_at_ms,
        granted_since,
    });
    true
}

/// Calls a priority may still be granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriorityRemaining {
    /// The priority.
    pub priority: Priority,
    /// Its share of the allocation.
    pub limit: u64,
    /// What it may still be granted.
    pub remaining: u64,
}

/// The usage report of one budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Calls counted in the window.
    pub used: u64,
    /// The allocation in force.
    pub allocation: u64,
    /// Salesforce's limit for the org.
    pub org_limit: u64,
    /// Remaining calls per priority, lowest first.
    pub remaining: Vec<PriorityRemaining>,
    /// When the oldest counted calls leave, and how many.
    pub next_free: Option<(i64, u64)>,
    /// Window length in ms.
    pub window_ms: u64,
    /// `(slice start ms, calls)`, oldest first.
    pub series: Vec<(i64, u64)>,
    /// The clock reading the report is for.
    pub as_of_ms: i64,
    /// True when the default budget applies.
    pub is_default_budget: bool,
    /// The org-wide view, when a worker reported one within the window.
    pub org: Option<OrgView>,
    /// The recent rate of calls and when, at that rate, `used` reaches
    /// `allocation` (see [`crate::forecast`]).
    pub forecast: Forecast,
    /// Who used the window, when asked for.
    pub consumers: Option<crate::consumers::ConsumerReport>,
    /// The budget's usage alert thresholds in force.
    pub alert_thresholds: AlertThresholds,
}

impl Usage {
    /// The numbers of this report a fleet view shows.
    pub fn glance(&self) -> Glance {
        Glance {
            used: self.used,
            allocation: self.allocation,
            org_limit: self.org_limit,
            org: self.org,
            is_default_budget: self.is_default_budget,
            as_of_ms: self.as_of_ms,
        }
    }
}

/// What the usage view shows of one budget: the few numbers of its
/// [`Usage`] that rank it, without the series, forecast and consumers a
/// page of a hundred orgs has no use for (and the store need not read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Glance {
    /// Calls counted in the window.
    pub used: u64,
    /// The allocation in force.
    pub allocation: u64,
    /// Salesforce's limit for the org.
    pub org_limit: u64,
    /// The org-wide view, when a worker reported one within the window.
    pub org: Option<OrgView>,
    /// True when the default budget applies.
    pub is_default_budget: bool,
    /// The clock reading the numbers are for.
    pub as_of_ms: i64,
}

/// The [`Glance`] of `budget` at `now_ms`, with `used` calls counted in
/// its window at that time and `org` the org-wide view as stored: the same
/// numbers [`usage`] reports, from the window's count alone.
pub fn glance(
    budget: &Budget,
    is_default_budget: bool,
    org: Option<OrgView>,
    used: u64,
    shape: &WindowShape,
    now_ms: i64,
) -> Glance {
    let counts = Counts {
        window: Window::default(),
        org,
    };
    let org_limit = counts.org_limit(budget, shape, now_ms);
    Glance {
        used,
        allocation: budget.allocation_at(now_ms).min(org_limit),
        org_limit,
        org: counts.org_view(shape, now_ms),
        is_default_budget,
        as_of_ms: now_ms,
    }
}

/// Reports the usage of `budget` at `now_ms`; with `consumers`, the top
/// `n` consumers of the window too.
pub fn usage(
    budget: &Budget,
    is_default_budget: bool,
    counts: &mut Counts,
    shape: &WindowShape,
    now_ms: i64,
    consumers: Option<(&crate::consumers::ConsumerCounts, usize)>,
) -> Usage {
    let window = &mut counts.window;
    window.advance(shape, now_ms);
    let used = window.used();
    // The view's numbers come from one place, so the two always agree.
    let Glance {
        allocation,
        org_limit,
        org,
        ..
    } = glance(budget, is_default_budget, counts.org, used, shape, now_ms);
    let remaining = Priority::ALL
        .iter()
        .map(|&priority| {
            let limit = budget.limit_at(priority, now_ms).min(allocation);
            PriorityRemaining {
                priority,
                limit,
                remaining: limit.saturating_sub(used),
            }
        })
        .collect();
    Usage {
        used,
        allocation,
        org_limit,
        remaining,
        next_free: window.next_free(shape),
        window_ms: shape.window_ms(),
        series: window.series(shape, now_ms, SERIES_POINTS),
        as_of_ms: now_ms,
        is_default_budget,
        org,
        forecast: crate::forecast::forecast(
            shape,
            &window.counted(shape),
            window.head(),
            used,
            allocation,
            now_ms,
        ),
        consumers: consumers.map(|(c, n)| c.report(shape, window.head(), n)),
        alert_thresholds: budget.thresholds(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn rules() -> Rules {
        Rules {
            probe: Default::default(),
            shape: shape(),
            org_margin_percent: 2,
        }
    }

    fn shape() -> WindowShape {
        WindowShape::new(Duration::from_secs(10), Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn budgets_follow_the_rules() {
        assert!(Budget::new(100, 100).validate(0).is_ok());
        assert_eq!(
            Budget::new(0, 0).validate(0).unwrap_err().field,
            "budget.org_limit"
        );
        assert_eq!(
            Budget::new(100, 101).validate(0).unwrap_err().field,
            "budget.allocation"
        );
        let mut b = Budget::new(100, 10);
        b.allocation_override = Some(AllocationOverride {
            allocation: 50,
            expires_at_ms: 5,
        });
        assert_eq!(
            b.validate(5).unwrap_err().field,
            "budget.allocation_override.expires_at"
        );
        assert!(b.validate(4).is_ok());
        assert_eq!(b.allocation_at(4), 50);
        assert_eq!(b.allocation_at(5), 10);
    }

    #[test]
    fn shares_must_not_decrease() {
        assert!(Shares::new(75, 95, 100).is_ok());
        assert_eq!(
            Shares::new(0, 95, 100).unwrap_err().field,
            "budget.shares.retry_percent"
        );
        assert_eq!(
            Shares::new(75, 95, 101).unwrap_err().field,
            "budget.shares.critical_percent"
        );
        assert_eq!(Shares::new(96, 95, 100).unwrap_err().field, "budget.shares");
    }

    #[test]
    fn counts_are_bounded() {
        assert_eq!(parse_count("count", 0).unwrap_err().field, "count");
        assert_eq!(
            parse_count("count", MAX_COUNT + 1).unwrap_err().field,
            "count"
        );
        assert_eq!(parse_count("count", MAX_COUNT), Ok(MAX_COUNT as u32));
    }

    #[test]
    fn a_lease_asks_between_min_and_count() {
        assert_eq!(Ask::parse(10, 0), Ok(Ask::exactly(10)));
        assert_eq!(Ask::parse(10, 3), Ok(Ask { count: 10, min: 3 }));
        assert_eq!(Ask::parse(10, 10), Ok(Ask::exactly(10)));
        assert_eq!(Ask::parse(10, 11).unwrap_err().field, "min_count");
        assert_eq!(Ask::parse(0, 1).unwrap_err().field, "count");
    }

    #[test]
    fn a_lease_takes_what_fits_down_to_its_minimum() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        let lease = Ask { count: 40, min: 5 };
        let mut got = Vec::new();
        for _ in 0..3 {
            let d = decide(&b, &r, &mut c, lease, Priority::Critical, 1_000);
            let Outcome::Granted(g) = d.outcome else {
                panic!("{d:?}")
            };
            got.push(g.count);
        }
        // 40 + 40, then the 20 left of the allocation.
        assert_eq!(got, [40, 40, 20]);
        assert_eq!(c.window.used(), 100);
        let d = decide(&b, &r, &mut c, lease, Priority::Critical, 1_000);
        assert_eq!(d.used, 100);
        assert!(matches!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::AllocationExhausted,
                retry_after_ms: Some(_)
            }
        ));
    }

    #[test]
    fn a_lease_below_its_minimum_is_denied_and_counts_nothing() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        assert!(decide(&b, &r, &mut c, Ask::exactly(97), Priority::Critical, 1_000).granted());
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask { count: 10, min: 4 },
            Priority::Critical,
            1_000,
        );
        assert!(!d.granted());
        assert_eq!(c.window.used(), 97);
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask { count: 10, min: 3 },
            Priority::Critical,
            1_000,
        );
        assert_eq!(
            d.outcome,
            Outcome::Granted(Grant {
                bucket_start_ms: 1_000,
                count: 3,
                nonce: 0,
            })
        );
    }

    #[test]
    fn a_lease_stops_at_the_org_ceiling() {
        let r = Rules {
            org_margin_percent: 0,
            ..rules()
        };
        let b = Budget::new(1000, 500);
        let mut c = Counts::default();
        report(&mut c, &r.shape, 990, 1000, 1_000, 1_000);
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask { count: 50, min: 1 },
            Priority::Critical,
            1_000,
        );
        let Outcome::Granted(g) = d.outcome else {
            panic!("{d:?}")
        };
        assert_eq!(g.count, 10);
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask { count: 50, min: 1 },
            Priority::Critical,
            1_000,
        );
        assert!(matches!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::OrgLimitExhausted,
                ..
            }
        ));
    }

    #[test]
    fn remaining_after_a_grant_is_what_is_left_of_the_share() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        let d = decide(&b, &r, &mut c, Ask::exactly(20), Priority::Normal, 1_000);
        assert_eq!((d.used, d.remaining), (20, 75));
        let d = decide(&b, &r, &mut c, Ask::exactly(30), Priority::Normal, 1_000);
        assert_eq!((d.used, d.remaining), (50, 45));
    }

    #[test]
    fn filling_the_allocation_exactly_past_a_share_is_the_share_s_denial() {
        // Normal's share of 20 is 19. With 19 used, one more normal token
        // would fill the allocation exactly: the allocation has room, the
        // share has not. Only a denial that finds the whole allocation used
        // is ALLOCATION_EXHAUSTED (which suspends the integration).
        let r = rules();
        let b = Budget::new(1000, 20);
        let mut c = Counts::default();
        assert!(decide(&b, &r, &mut c, Ask::exactly(19), Priority::Normal, 1_000).granted());
        let d = decide(&b, &r, &mut c, Ask::exactly(1), Priority::Normal, 1_000);
        assert!(matches!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::PriorityShareExhausted,
                ..
            }
        ));
        assert!(decide(&b, &r, &mut c, Ask::exactly(1), Priority::Critical, 1_000).granted());
        let d = decide(&b, &r, &mut c, Ask::exactly(1), Priority::Critical, 1_000);
        assert!(matches!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::AllocationExhausted,
                ..
            }
        ));
    }

    #[test]
    fn a_grant_takes_the_nonce_it_is_given_and_keeps_the_rest() {
        let grant = Grant {
            bucket_start_ms: 60_000,
            count: 3,
            nonce: 0,
        };
        assert_eq!(
            grant.with_nonce(0xfeed),
            Grant {
                bucket_start_ms: 60_000,
                count: 3,
                nonce: 0xfeed
            }
        );
    }

    #[test]
    fn lower_priorities_stop_at_their_share() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        let d = decide(&b, &r, &mut c, Ask::exactly(75), Priority::Retry, 1_000);
        assert!(d.granted());
        assert_eq!(d.remaining, 0);
        let d = decide(&b, &r, &mut c, Ask::exactly(1), Priority::Retry, 1_000);
        // Granted at 1 s, in bucket 1: it leaves when bucket 12 starts, one
        // bucket after the exact 11 s (late, never early).
        assert_eq!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::PriorityShareExhausted,
                retry_after_ms: Some(11_000)
            }
        );
        assert!(decide(&b, &r, &mut c, Ask::exactly(20), Priority::Normal, 1_000).granted());
        let d = decide(&b, &r, &mut c, Ask::exactly(6), Priority::Critical, 1_000);
        assert!(matches!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::AllocationExhausted,
                ..
            }
        ));
        assert_eq!(d.used, 95);
        assert!(decide(&b, &r, &mut c, Ask::exactly(5), Priority::Critical, 1_000).granted());
    }

    #[test]
    fn a_request_larger_than_the_share_can_never_wait_its_way_in() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        let d = decide(&b, &r, &mut c, Ask::exactly(101), Priority::Critical, 1_000);
        assert_eq!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::AllocationExhausted,
                retry_after_ms: None
            }
        );
        assert_eq!(c.window.used(), 0);
    }

    #[test]
    fn release_is_capped_by_the_grant() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        let Outcome::Granted(g) =
            decide(&b, &r, &mut c, Ask::exactly(10), Priority::Normal, 1_000).outcome
        else {
            panic!("denied");
        };
        assert!(decide(&b, &r, &mut c, Ask::exactly(10), Priority::Normal, 1_500).granted());
        let r = release(&mut c, &r.shape, g, 15, 2_000);
        assert_eq!(
            r,
            Released {
                released: 10,
                used: 10,
                outcome: ReleaseOutcome::Released,
            }
        );
    }

    #[test]
    fn a_grant_whose_bucket_left_the_window_hands_nothing_back() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        let Outcome::Granted(g) =
            decide(&b, &r, &mut c, Ask::exactly(10), Priority::Normal, 1_000).outcome
        else {
            panic!("denied");
        };
        // 10 s window of 1 s buckets: bucket 1 leaves when bucket 12 starts.
        let late = release(&mut c, &r.shape, g, 10, 12_000);
        assert_eq!(late.outcome, ReleaseOutcome::Expired);
        assert_eq!((late.released, late.used), (0, 0));
        let mut c = Counts::default();
        decide(&b, &r, &mut c, Ask::exactly(10), Priority::Normal, 1_000);
        let in_time = release(&mut c, &r.shape, g, 10, 11_999);
        assert_eq!(
            (in_time.outcome, in_time.released),
            (ReleaseOutcome::Released, 10)
        );
    }

    #[test]
    fn the_org_view_stops_grants_short_of_the_org_limit() {
        let r = rules();
        let b = Budget::new(5_000, 5_000);
        let mut c = Counts::default();
        assert!(decide(&b, &r, &mut c, Ask::exactly(10), Priority::Critical, 1_000).granted());
        // Another app used most of the org: 4 880 of 5 000 at 1.5 s.
        assert!(report(&mut c, &r.shape, 4_880, 5_000, 1_500, 1_600));
        assert_eq!(
            c.org.unwrap().granted_since,
            10,
            "the grant in the report's bucket counts: errs high"
        );
        assert!(decide(&b, &r, &mut c, Ask::exactly(10), Priority::Critical, 1_700).granted());
        let d = decide(&b, &r, &mut c, Ask::exactly(1), Priority::Critical, 1_800);
        assert_eq!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::OrgLimitExhausted,
                retry_after_ms: None
            }
        );
        // An older report crossing a newer one changes nothing.
        assert!(!report(&mut c, &r.shape, 0, 5_000, 1_400, 1_900));
        // A fresh report with room lets grants through again.
        assert!(report(&mut c, &r.shape, 1_000, 5_000, 3_000, 3_000));
        assert!(decide(&b, &r, &mut c, Ask::exactly(1), Priority::Critical, 3_100).granted());
    }

    #[test]
    fn a_reported_limit_below_the_allocation_caps_it() {
        let r = rules();
        let b = Budget::new(10_000, 8_000);
        let mut c = Counts::default();
        report(&mut c, &r.shape, 0, 5_000, 1_000, 1_000);
        let u = usage(&b, false, &mut c, &r.shape, 1_000, None);
        assert_eq!((u.allocation, u.org_limit), (5_000, 5_000));
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask::exactly(5_000),
            Priority::Critical,
            1_000,
        );
        assert!(
            matches!(
                d.outcome,
                Outcome::Denied {
                    reason: DenyReason::OrgLimitExhausted,
                    ..
                }
            ),
            "2 % margin"
        );
    }

    #[test]
    fn a_glance_has_the_numbers_of_the_usage_report() {
        let r = rules();
        let b = Budget::new(10_000, 8_000);
        let mut c = Counts::default();
        assert!(decide(&b, &r, &mut c, Ask::exactly(30), Priority::Critical, 500).granted());
        report(&mut c, &r.shape, 4_000, 5_000, 1_000, 1_000);
        for now in [1_000, 2_000, 9_000, 100_000] {
            let u = usage(&b, false, &mut c.clone(), &r.shape, now, None);
            let g = glance(&b, false, c.org, u.used, &r.shape, now);
            assert_eq!(g, u.glance(), "at {now}");
        }
        // Once the report is a window old, the budget's own limit is back.
        let late = glance(&b, true, c.org, 0, &r.shape, 1_000_000);
        assert_eq!(
            (late.org, late.org_limit, late.allocation),
            (None, 10_000, 8_000)
        );
    }

    #[test]
    fn released_tokens_leave_the_org_estimate() {
        let r = rules();
        let b = Budget::new(5_000, 5_000);
        let mut c = Counts::default();
        report(&mut c, &r.shape, 100, 5_000, 1_000, 1_000);
        let Outcome::Granted(g) =
            decide(&b, &r, &mut c, Ask::exactly(10), Priority::Critical, 1_200).outcome
        else {
            panic!("denied");
        };
        release(&mut c, &r.shape, g, 4, 1_300);
        assert_eq!(c.org.unwrap().estimate(), 106);
    }

    fn shadow(org_limit: u64, allocation: u64) -> Budget {
        Budget {
            shadow: true,
            ..Budget::new(org_limit, allocation)
        }
    }

    #[test]
    fn shadow_mode_grants_what_the_allocation_would_deny_and_says_so() {
        let r = rules();
        let b = shadow(1_000, 100);
        let mut c = Counts::default();
        let d = decide(&b, &r, &mut c, Ask::exactly(100), Priority::Critical, 1_000);
        assert_eq!((d.granted(), d.shadow_denied), (true, None));
        let d = decide(&b, &r, &mut c, Ask::exactly(50), Priority::Critical, 1_000);
        assert!(d.granted());
        assert_eq!(d.shadow_denied, Some(DenyReason::AllocationExhausted));
        assert_eq!((d.used, d.allocation, d.remaining), (150, 100, 0));
        assert_eq!(c.window.used(), 150, "a shadow grant counts like any grant");
    }

    #[test]
    fn shadow_mode_names_the_share_a_priority_would_have_passed() {
        let r = rules();
        let b = shadow(1_000, 100);
        let mut c = Counts::default();
        assert!(decide(&b, &r, &mut c, Ask::exactly(75), Priority::Retry, 1_000).granted());
        let d = decide(&b, &r, &mut c, Ask::exactly(5), Priority::Retry, 1_000);
        assert_eq!(d.shadow_denied, Some(DenyReason::PriorityShareExhausted));
        assert_eq!(d.used, 80);
    }

    #[test]
    fn shadow_mode_never_passes_the_org_limit() {
        let r = rules();
        let b = shadow(120, 100);
        let mut c = Counts::default();
        assert!(decide(&b, &r, &mut c, Ask::exactly(110), Priority::Critical, 1_000).granted());
        let d = decide(&b, &r, &mut c, Ask::exactly(11), Priority::Critical, 1_000);
        assert_eq!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::OrgLimitExhausted,
                retry_after_ms: None
            }
        );
        assert_eq!(d.shadow_denied, None);
        // A lease takes what is left under the org limit.
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask { count: 50, min: 1 },
            Priority::Critical,
            1_000,
        );
        let Outcome::Granted(g) = d.outcome else {
            panic!("{d:?}")
        };
        assert_eq!((g.count, d.used), (10, 120));
        assert_eq!(d.shadow_denied, Some(DenyReason::AllocationExhausted));
    }

    #[test]
    fn shadow_mode_keeps_the_org_wide_ceiling() {
        let r = Rules {
            org_margin_percent: 0,
            ..rules()
        };
        let b = shadow(1_000, 100);
        let mut c = Counts::default();
        report(&mut c, &r.shape, 950, 1_000, 1_000, 1_000);
        let d = decide(&b, &r, &mut c, Ask::exactly(60), Priority::Critical, 1_000);
        assert!(matches!(
            d.outcome,
            Outcome::Denied {
                reason: DenyReason::OrgLimitExhausted,
                ..
            }
        ));
        assert_eq!(c.window.used(), 0);
    }

    #[test]
    fn a_lease_with_room_is_not_a_shadow_grant() {
        let r = rules();
        let b = shadow(1_000, 100);
        let mut c = Counts::default();
        assert!(decide(&b, &r, &mut c, Ask::exactly(90), Priority::Critical, 1_000).granted());
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask { count: 40, min: 5 },
            Priority::Critical,
            1_000,
        );
        let Outcome::Granted(g) = d.outcome else {
            panic!("{d:?}")
        };
        assert_eq!((g.count, d.shadow_denied), (10, None));
        // With less room than its minimum, the whole lease goes through.
        let d = decide(
            &b,
            &r,
            &mut c,
            Ask { count: 40, min: 5 },
            Priority::Critical,
            1_000,
        );
        let Outcome::Granted(g) = d.outcome else {
            panic!("{d:?}")
        };
        assert_eq!(
            (g.count, d.shadow_denied),
            (40, Some(DenyReason::AllocationExhausted))
        );
    }

    #[test]
    fn usage_reports_every_priority() {
        let r = rules();
        let b = Budget::new(1000, 100);
        let mut c = Counts::default();
        decide(&b, &r, &mut c, Ask::exactly(80), Priority::Critical, 1_000);
        let u = usage(&b, false, &mut c, &r.shape, 2_000, None);
        assert_eq!(u.used, 80);
        let remaining: Vec<u64> = u.remaining.iter().map(|r| r.remaining).collect();
        assert_eq!(remaining, vec![0, 15, 20]);
        assert_eq!(u.next_free, Some((12_000, 80)));
        assert_eq!(u.series.iter().map(|p| p.1).sum::<u64>(), 80);
    }
}
