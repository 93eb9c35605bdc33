//! The fleet views' pure parts: page sizes, page tokens, and the order of
//! the usage view. Each view pages over an index the store keeps sorted (by
//! org for budgets and suspensions, by share used for usage), so a page
//! costs the same with ten orgs or a hundred thousand. A page token names
//! the last index entry a page read and the filter it was read with, so a
//! token can neither be replayed with another filter nor point anywhere but
//! just after an entry.
//!
//! An index entry is a string whose byte order is the view's order: org ids
//! use only `A-Z a-z 0-9 . _ : -`, all above the separator `\x1f`, so
//! `"<org>\x1f<rest>"` sorts by org, then by the rest.

use crate::domain::{Glance, OrgId, Resource};
use crate::suspension::SuspensionReason;
pub use syncgov_kit::page::{PageLimits, Scope, page_size, read_token, token};

/// Separates the parts of an index entry; below every character of an org id.
pub const SEP: char = '\u{1f}';

/// Budgets and suspensions per page.
pub const LIST_PAGE: PageLimits = PageLimits {
    default: 100,
    max: 1_000,
};

/// Page sizes of an org's suspension history: a screenful by default.
pub const HISTORY_PAGE: PageLimits = PageLimits {
    default: 20,
    max: 100,
};
/// Orgs per page of the usage view.
pub const USAGE_PAGE: PageLimits = PageLimits {
    default: 20,
    max: 1_000,
};

/// The index entry of a budget: by org, then resource.
pub fn budget_entry(org: &OrgId, resource: Resource) -> String {
    format!("{org}{SEP}{}", resource.as_str())
}

/// Reads a budget's index entry.
pub fn read_budget_entry(text: &str) -> Option<(OrgId, Resource)> {
    let (org, resource) = text.split_once(SEP)?;
    let resource = match resource {
        "api" => Resource::ApiRequests,
        "bulk" => Resource::BulkBatches,
        _ => return None,
    };
    Some((OrgId::parse(org).ok()?, resource))
}

/// The index entry of a suspension: by org, then reason (the same string
/// names it in the store's hash of active suspensions).
pub fn suspension_entry(org: &OrgId, reason: SuspensionReason) -> String {
    format!("{org}{SEP}{}", reason.number())
}

/// Reads a suspension's index entry.
pub fn read_suspension_entry(text: &str) -> Option<(OrgId, SuspensionReason)> {
    let (org, reason) = text.split_once(SEP)?;
    let reason = SuspensionReason::from_number(reason.parse().ok()?)?;
    Some((OrgId::parse(org).ok()?, reason))
}

/// A share used, in parts per million, as the usage view orders it; at most
/// [`MAX_PPM`] (ten times the limit: beyond that the order says nothing new).
pub type Ppm = u32;

/// The largest share the usage view tells apart.
pub const MAX_PPM: Ppm = 9_999_999;

/// How much of its budget an org has used, read off its usage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Share {
    /// Calls in the window over the allocation in force.
    pub allocation: f64,
    /// The org's estimated usage (all apps) over its org limit; 0 without a
    /// report.
    pub org: f64,
}

impl Share {
    /// The shares of `usage` (see [`crate::domain::Usage::glance`] for a
    /// full report's). An allocation of 0 with calls still counted is fully
    /// used; with none, unused.
    pub fn of(usage: &Glance) -> Self {
        let ratio = |used: u64, of: u64| match (used, of) {
            (0, _) => 0.0,
            (_, 0) => 1.0,
            (used, of) => used as f64 / of as f64,
        };
        Self {
            allocation: ratio(usage.used, usage.allocation),
            org: usage
                .org
                .map_or(0.0, |view| ratio(view.estimate(), usage.org_limit)),
        }
    }

    /// The larger share: how near the org is to running out.
    pub fn used(&self) -> f64 {
        self.allocation.max(self.org)
    }

    /// [`Self::used`] in parts per million, capped at [`MAX_PPM`].
    pub fn ppm(&self) -> Ppm {
        (self.used() * 1e6).round().clamp(0.0, f64::from(MAX_PPM)) as Ppm
    }
}

/// An org's place in the usage view: the largest share first, then by org.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rank {
    /// [`MAX_PPM`] less the share: ascending order is the largest share first.
    inverse: Ppm,
    /// The org.
    pub org: OrgId,
}

impl Rank {
    /// The place of `org` with `ppm` used.
    pub fn new(org: OrgId, ppm: Ppm) -> Self {
        Self {
            inverse: MAX_PPM - ppm.min(MAX_PPM),
            org,
        }
    }

    /// The share used the rank was made with.
    pub fn ppm(&self) -> Ppm {
        MAX_PPM - self.inverse
    }

    /// The index entry: its byte order is the rank's order.
    pub fn entry(&self) -> String {
        format!("{:07}{SEP}{}", self.inverse, self.org)
    }

    /// Reads an index entry.
    pub fn read(text: &str) -> Option<Self> {
        let (inverse, org) = text.split_once(SEP)?;
        if inverse.len() != 7 || !inverse.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            inverse: inverse.parse().ok()?,
            org: OrgId::parse(org).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(text: &str) -> OrgId {
        OrgId::parse(text).unwrap()
    }

    #[test]
    fn page_sizes_default_and_are_bounded() {
        assert_eq!(page_size("page_size", 0, LIST_PAGE), Ok(100));
        assert_eq!(page_size("page_size", 1_000, LIST_PAGE), Ok(1_000));
        let refused = page_size("page_size", 1_001, LIST_PAGE).unwrap_err();
        assert_eq!(refused.field, "page_size");
        assert_eq!(page_size("page_size", 0, USAGE_PAGE), Ok(20));
    }

    #[test]
    fn a_token_reads_back_with_its_filter_only() {
        let entry = budget_entry(&org("acme"), Resource::BulkBatches);
        let t = token("b:all", &entry);
        assert_eq!(
            read_token("page_token", &t, "b:all", read_budget_entry),
            Ok(Some((org("acme"), Resource::BulkBatches)))
        );
        assert!(read_token("page_token", &t, "b:api", read_budget_entry).is_err());
        assert_eq!(
            read_token("page_token", "", "b:all", read_budget_entry),
            Ok(None)
        );
        for bad in [
            "zz",
            "abc",
            "00",
            &token("b:all", "acme"),
            &token("b:all", "a b\u{1f}api"),
        ] {
            let e = read_token("page_token", bad, "b:all", read_budget_entry).unwrap_err();
            assert_eq!(e.field, "page_token", "{bad}");
        }
    }

    #[test]
    fn entries_sort_by_org_then_the_rest() {
        let mut entries = [
            budget_entry(&org("a.b"), Resource::ApiRequests),
            budget_entry(&org("a"), Resource::BulkBatches),
            budget_entry(&org("a"), Resource::ApiRequests),
            budget_entry(&org("B"), Resource::ApiRequests),
        ];
        entries.sort();
        let read: Vec<_> = entries
            .iter()
            .map(|e| read_budget_entry(e).unwrap())
            .collect();
        assert_eq!(
            read,
            vec![
                (org("B"), Resource::ApiRequests),
                (org("a"), Resource::ApiRequests),
                (org("a"), Resource::BulkBatches),
                (org("a.b"), Resource::ApiRequests),
            ]
        );
        let s = suspension_entry(&org("acme"), SuspensionReason::SalesforceOrgLocked);
        assert_eq!(
            read_suspension_entry(&s),
            Some((org("acme"), SuspensionReason::SalesforceOrgLocked))
        );
    }

    #[test]
    fn ranks_order_the_largest_share_first_and_read_back() {
        let ranks = [
            Rank::new(org("b"), 900_000),
            Rank::new(org("a"), 900_000),
            Rank::new(org("c"), 20_000_000),
            Rank::new(org("d"), 0),
        ];
        let mut by_entry: Vec<_> = ranks.iter().map(Rank::entry).collect();
        by_entry.sort();
        let mut by_rank = ranks.to_vec();
        by_rank.sort();
        let read: Vec<_> = by_entry.iter().map(|e| Rank::read(e).unwrap()).collect();
        assert_eq!(read, by_rank);
        assert_eq!(
            read.iter().map(|r| r.org.as_str()).collect::<Vec<_>>(),
            ["c", "a", "b", "d"]
        );
        assert_eq!(read[0].ppm(), MAX_PPM);
        assert_eq!(Rank::read("12\u{1f}acme"), None);
    }

    #[test]
    fn shares_of_usage() {
        let usage = |used, allocation| Glance {
            used,
            allocation,
            org_limit: 1_000,
            org: None,
            is_default_budget: false,
            as_of_ms: 0,
        };
        assert_eq!(Share::of(&usage(50, 100)).ppm(), 500_000);
        assert_eq!(Share::of(&usage(0, 0)).ppm(), 0);
        assert_eq!(Share::of(&usage(3, 0)).ppm(), 1_000_000);
        let mut reported = usage(10, 100);
        reported.org = Some(crate::domain::OrgView {
            reported_used: 800,
            reported_max: 1_000,
            observed_at_ms: 0,
            granted_since: 100,
        });
        let share = Share::of(&reported);
        assert_eq!(share.ppm(), 900_000);
        assert!((share.allocation - 0.1).abs() < 1e-9);
    }
}
