//! Suspensions, pure: what stops an org's integration, how each reason ends,
//! and the events others watch. While an org has an active suspension, every
//! token request for it is denied with the reason.

use std::cmp::Ordering;
use std::fmt;

pub use syncgov_taxonomy::SuspensionReason;

pub use crate::domain::ProbePolicy;
use crate::domain::{Decision, DenyReason, InvalidInput, OrgId, Outcome, Resource, Usage};

/// Longest detail kept with a suspension, in characters.
pub const MAX_DETAIL_LEN: usize = 1_024;

/// How a suspension ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clearing {
    /// Only an operator's ClearSuspension ends it: permissions, credentials,
    /// storage or mappings must be fixed in Salesforce first.
    Operator,
    /// Transient: ends by itself once a probe call after a back-off succeeds.
    Probe,
    /// Ends by itself when the integration's allocation has room again.
    Allocation,
    /// Ends by itself when the org as a whole has calls again.
    OrgLimit,
}

/// How `reason` ends, as the taxonomy says.
pub fn clearing(reason: SuspensionReason) -> Clearing {
    use SuspensionReason as R;
    match reason {
        R::IntegrationApiLimitExceeded => Clearing::Allocation,
        R::SalesforceApiLimitExceeded => Clearing::OrgLimit,
        R::SalesforceOrgLocked
        | R::SalesforceOrgUnavailable
        | R::SalesforceServerError
        | R::SalesforceConcurrentLimitExceeded
        | R::Unknown => Clearing::Probe,
        R::SalesforceApiDisabled
        | R::MissingObjectPermissions
        | R::MissingFieldPermissions
        | R::SalesforceStorageLimitExceeded
        | R::MissingFieldMappings
        | R::SalesforceAuthFailed => Clearing::Operator,
    }
}

/// The suspension a denial calls for, if any: the integration's allocation
/// used up to the last call, or the org as a whole at its limit. Only the
/// daily API requests budget suspends; the Bulk API budget just denies.
pub fn caused_by(decision: &Decision, resource: Resource) -> Option<SuspensionReason> {
    if resource != Resource::ApiRequests {
        return None;
    }
    match decision.outcome {
        Outcome::Denied {
            reason: DenyReason::AllocationExhausted,
            ..
        } if decision.used >= decision.allocation => {
            Some(SuspensionReason::IntegrationApiLimitExceeded)
        }
        Outcome::Denied {
            reason: DenyReason::OrgLimitExhausted,
            ..
        } => Some(SuspensionReason::SalesforceApiLimitExceeded),
        _ => None,
    }
}

/// True when a suspension that ends by itself on the budget's numbers may
/// end now, given the org's API requests usage (`None`: the org has no
/// budget any more, so nothing is left to protect). Suspensions that end by
/// a probe or by an operator never end here.
pub fn may_clear(suspension: &Suspension, usage: Option<&Usage>, org_margin_percent: u8) -> bool {
    let reason = suspension.reason;
    match (clearing(reason), usage) {
        (Clearing::Allocation | Clearing::OrgLimit, None) => true,
        // Calls have left the window: the allocation has room again.
        (Clearing::Allocation, Some(u)) => u.used < u.allocation,
        // A report made since the suspension began says the org has calls
        // again: one from before it cannot know what suspended the org (a
        // refusal by Salesforce after another app's burst, say). Without
        // one, nothing is known here: the org comes back through a probe.
        (Clearing::OrgLimit, Some(u)) => u.org.is_some_and(|view| {
            view.observed_at_ms >= suspension.since_ms
                && view.estimate() < view.ceiling(u.org_limit, org_margin_percent)
        }),
        (Clearing::Probe | Clearing::Operator, _) => false,
    }
}

/// True when a suspension for `reason` lets a probe call through once its
/// back-off has passed: the transient reasons, and the org limit (when no
/// current report says the org has calls, a probe is how it is found out).
pub fn probed(reason: SuspensionReason) -> bool {
    matches!(clearing(reason), Clearing::Probe | Clearing::OrgLimit)
}

/// Whether a token request may go through a suspension as its probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeClaim {
    /// Yes: this request is the probe.
    Granted,
    /// Not before this time (ms): the back-off runs, or a probe is out.
    NotBefore(i64),
    /// The org is not (or no longer) suspended for the reason.
    NotSuspended,
}

/// An active suspension of one org for one reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspension {
    /// The org.
    pub org: OrgId,
    /// Why.
    pub reason: SuspensionReason,
    /// What was seen (a status code and message, an operator's note).
    pub detail: String,
    /// Since when, ms.
    pub since_ms: i64,
    /// For a suspension ended by a probe: when the next may go (ms), as the
    /// store knows it.
    pub probe_at_ms: Option<i64>,
}

/// What happened to a suspension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// It began.
    Suspended,
    /// It ended.
    Cleared,
}

/// Where an event stands in the feed; events are totally ordered by it.
/// Rendered as `MS-SEQ`, as Redis stream ids are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cursor {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence within the millisecond.
    pub seq: u64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl Cursor {
    /// Reads a cursor a caller gives back (or a Redis stream id).
    pub fn parse(field: &str, text: &str) -> Result<Self, InvalidInput> {
        let bad = || InvalidInput::new(field, "must be a cursor the service returned");
        let (ms, seq) = text.split_once('-').ok_or_else(bad)?;
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// A change of a suspension, as watchers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its place in the feed.
    pub cursor: Cursor,
    /// The org.
    pub org: OrgId,
    /// The reason.
    pub reason: SuspensionReason,
    /// Began or ended.
    pub kind: EventKind,
    /// The suspension's detail.
    pub detail: String,
    /// When, ms.
    pub at_ms: i64,
    /// True when the governor cleared it by itself, not an operator.
    pub automatic: bool,
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cursor.cmp(&other.cursor)
    }
}

/// True for the control characters a detail may hold: line breaks and tabs,
/// which error texts carry. Every other one (escape sequences above all)
/// could rewrite what an operator's terminal shows.
fn allowed_control(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\t')
}

/// Checks a suspension's detail: at most [`MAX_DETAIL_LEN`] characters, and
/// no control characters but line breaks and tabs.
pub fn check_detail(detail: &str) -> Result<(), InvalidInput> {
    let printable = detail
        .chars()
        .all(|c| !c.is_control() || allowed_control(c));
    if detail.chars().count() > MAX_DETAIL_LEN || !printable {
        return Err(InvalidInput::new(
            "detail",
            format!(
                "must be at most {MAX_DETAIL_LEN} characters, with no control characters but line breaks and tabs"
            ),
        ));
    }
    Ok(())
}

/// The active suspensions of every org, as one replica knows them: kept in
/// step with the event feed, so that a token request is checked without a
/// store round trip.
#[derive(Debug, Default)]
pub struct Active {
    by_org: std::collections::HashMap<OrgId, Vec<Suspension>>,
    /// The newest event applied.
    last: Cursor,
}

impl Active {
    /// Starts from a snapshot of the active suspensions, taken after the feed
    /// stood at `last`.
    pub fn from_snapshot(suspensions: Vec<Suspension>, last: Cursor) -> Self {
        let mut active = Self {
            by_org: Default::default(),
            last,
        };
        for s in suspensions {
            active.by_org.entry(s.org.clone()).or_default().push(s);
        }
        active
    }

    /// Applies one event of the feed, in feed order; events at or before the
    /// last applied one are ignored, so replaying an overlap is harmless.
    pub fn apply(&mut self, event: &Event) {
        if event.cursor <= self.last && self.last != Cursor::default() {
            return;
        }
        self.last = event.cursor;
        self.change(event);
    }

    /// Applies an event this replica made, ahead of the feed: the feed's
    /// position stays where it is, so events of other replicas before it
    /// are still applied when the feed brings them (and this one again,
    /// which changes nothing).
    pub fn apply_ahead(&mut self, event: &Event) {
        self.change(event);
    }

    fn change(&mut self, event: &Event) {
        let list = self.by_org.entry(event.org.clone()).or_default();
        list.retain(|s| s.reason != event.reason);
        if event.kind == EventKind::Suspended {
            list.push(Suspension {
                org: event.org.clone(),
                reason: event.reason,
                detail: event.detail.clone(),
                since_ms: event.at_ms,
                probe_at_ms: None,
            });
        }
        if list.is_empty() {
            self.by_org.remove(&event.org);
        }
    }

    /// The org's active suspensions, oldest first.
    pub fn of(&self, org: &OrgId) -> &[Suspension] {
        self.by_org.get(org).map_or(&[], Vec::as_slice)
    }

    /// The newest event applied.
    pub fn last(&self) -> Cursor {
        self.last
    }

    /// Every active suspension.
    pub fn all(&self) -> Vec<Suspension> {
        self.by_org.values().flatten().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ms: u64, org: &str, reason: SuspensionReason, kind: EventKind) -> Event {
        Event {
            cursor: Cursor { ms, seq: 0 },
            org: OrgId::parse(org).unwrap(),
            reason,
            kind,
            detail: String::new(),
            at_ms: ms as i64,
            automatic: false,
        }
    }

    #[test]
    fn every_reason_has_its_clearing() {
        use SuspensionReason as R;
        assert_eq!(
            clearing(R::IntegrationApiLimitExceeded),
            Clearing::Allocation
        );
        assert_eq!(clearing(R::SalesforceApiLimitExceeded), Clearing::OrgLimit);
        assert_eq!(clearing(R::SalesforceOrgLocked), Clearing::Probe);
        assert_eq!(clearing(R::SalesforceAuthFailed), Clearing::Operator);
        for reason in R::ALL {
            // The taxonomy's own word on it agrees.
            assert_eq!(
                clearing(reason) != Clearing::Operator,
                reason.clears_by_itself(),
                "{reason:?}"
            );
        }
    }

    #[test]
    fn probes_back_off_doubling_up_to_the_cap() {
        let p = ProbePolicy::default();
        assert_eq!(p.after_failure(60_000), 120_000);
        assert_eq!(p.after_failure(2_400_000), 3_600_000);
        assert_eq!(p.after_failure(0), 60_000);
        assert!(probed(SuspensionReason::SalesforceOrgLocked));
        assert!(probed(SuspensionReason::SalesforceApiLimitExceeded));
        assert!(!probed(SuspensionReason::IntegrationApiLimitExceeded));
        assert!(!probed(SuspensionReason::SalesforceAuthFailed));
    }

    #[test]
    fn denials_that_suspend() {
        use crate::domain::{Decision, DenyReason, Outcome, Resource};
        let denied = |reason, used, allocation| Decision {
            outcome: Outcome::Denied {
                reason,
                retry_after_ms: None,
            },
            used,
            allocation,
            remaining: 0,
            shadow_denied: None,
        };
        let api = Resource::ApiRequests;
        assert_eq!(
            caused_by(&denied(DenyReason::AllocationExhausted, 100, 100), api),
            Some(SuspensionReason::IntegrationApiLimitExceeded)
        );
        assert_eq!(
            caused_by(&denied(DenyReason::AllocationExhausted, 90, 100), api),
            None,
            "a big request, room left"
        );
        assert_eq!(
            caused_by(&denied(DenyReason::PriorityShareExhausted, 95, 100), api),
            None
        );
        assert_eq!(
            caused_by(&denied(DenyReason::OrgLimitExhausted, 1, 100), api),
            Some(SuspensionReason::SalesforceApiLimitExceeded)
        );
        assert_eq!(
            caused_by(
                &denied(DenyReason::AllocationExhausted, 100, 100),
                Resource::BulkBatches
            ),
            None
        );
    }

    #[test]
    fn which_suspensions_end_on_the_numbers() {
        use crate::domain::{OrgView, Usage};
        use SuspensionReason as R;
        let held = |reason| Suspension {
            org: OrgId::parse("acme").unwrap(),
            reason,
            detail: String::new(),
            since_ms: 0,
            probe_at_ms: None,
        };
        let usage = |used, org: Option<OrgView>| Usage {
            used,
            allocation: 100,
            org_limit: 5_000,
            remaining: vec![],
            next_free: None,
            window_ms: 1,
            series: vec![],
            as_of_ms: 0,
            is_default_budget: false,
            org,
            forecast: Default::default(),
            consumers: None,
            alert_thresholds: Default::default(),
        };
        assert!(!may_clear(
            &held(R::IntegrationApiLimitExceeded),
            Some(&usage(100, None)),
            2
        ));
        assert!(may_clear(
            &held(R::IntegrationApiLimitExceeded),
            Some(&usage(99, None)),
            2
        ));
        let full = OrgView {
            reported_used: 4_950,
            reported_max: 5_000,
            observed_at_ms: 0,
            granted_since: 0,
        };
        let room = OrgView {
            reported_used: 1_000,
            ..full
        };
        assert!(!may_clear(
            &held(R::SalesforceApiLimitExceeded),
            Some(&usage(0, Some(full))),
            2
        ));
        assert!(may_clear(
            &held(R::SalesforceApiLimitExceeded),
            Some(&usage(0, Some(room))),
            2
        ));
        assert!(
            !may_clear(
                &held(R::SalesforceApiLimitExceeded),
                Some(&usage(0, None)),
                2
            ),
            "nothing known: a probe decides"
        );
        let later = Suspension {
            since_ms: 1,
            ..held(R::SalesforceApiLimitExceeded)
        };
        assert!(
            !may_clear(&later, Some(&usage(0, Some(room))), 2),
            "a report from before the suspension says nothing of now"
        );
        assert!(!may_clear(&held(R::SalesforceOrgLocked), None, 2));
        assert!(!may_clear(&held(R::SalesforceAuthFailed), None, 2));
        assert!(
            may_clear(&held(R::IntegrationApiLimitExceeded), None, 2),
            "no budget left to protect"
        );
    }

    #[test]
    fn cursors_order_and_round_trip() {
        let a = Cursor { ms: 5, seq: 1 };
        assert!(a < Cursor { ms: 5, seq: 2 } && a < Cursor { ms: 6, seq: 0 });
        assert_eq!(Cursor::parse("cursor", &a.to_string()), Ok(a));
        assert!(Cursor::parse("cursor", "5").is_err());
    }

    #[test]
    fn the_active_set_follows_the_feed_and_ignores_replays() {
        use SuspensionReason as R;
        let acme = OrgId::parse("acme").unwrap();
        let mut active = Active::default();
        active.apply(&event(
            1,
            "acme",
            R::SalesforceOrgLocked,
            EventKind::Suspended,
        ));
        active.apply(&event(
            2,
            "acme",
            R::SalesforceAuthFailed,
            EventKind::Suspended,
        ));
        assert_eq!(active.of(&acme).len(), 2);
        active.apply(&event(
            3,
            "acme",
            R::SalesforceOrgLocked,
            EventKind::Cleared,
        ));
        assert_eq!(active.of(&acme)[0].reason, R::SalesforceAuthFailed);
        // A replay of the first event changes nothing.
        active.apply(&event(
            1,
            "acme",
            R::SalesforceOrgLocked,
            EventKind::Suspended,
        ));
        assert_eq!(active.of(&acme).len(), 1);
        active.apply(&event(
            4,
            "acme",
            R::SalesforceAuthFailed,
            EventKind::Cleared,
        ));
        assert!(active.of(&acme).is_empty());
        assert_eq!(active.last(), Cursor { ms: 4, seq: 0 });
    }

    #[test]
    fn a_change_applied_ahead_does_not_hide_earlier_events() {
        use SuspensionReason as R;
        let acme = OrgId::parse("acme").unwrap();
        let mut active = Active::default();
        // This replica clears at 3 before the feed brought 2 (another
        // replica's suspension for another reason).
        active.apply_ahead(&event(
            3,
            "acme",
            R::SalesforceOrgLocked,
            EventKind::Cleared,
        ));
        active.apply(&event(
            2,
            "acme",
            R::MissingFieldMappings,
            EventKind::Suspended,
        ));
        active.apply(&event(
            3,
            "acme",
            R::SalesforceOrgLocked,
            EventKind::Cleared,
        ));
        assert_eq!(active.of(&acme).len(), 1);
        assert_eq!(active.of(&acme)[0].reason, R::MissingFieldMappings);
    }
}
