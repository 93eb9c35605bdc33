//! The fleet view of errors, pure: which orgs have the most current errors,
//! UNKNOWN errors or dead resync jobs. Each order is a sorted index the
//! store keeps as an org's counters change (never a scan of every org), of
//! entries whose byte order is the view's: the count subtracted from
//! [`MAX_COUNT`] in twelve digits, a separator below every character of an
//! org id, the org. So the most come first, ties in org order, and a page
//! token is simply the last entry read.

use crate::domain::{HealthCounts, OrgId};
use crate::taxonomy::Category;
use syncgov_kit::page::PageLimits;

/// Orgs per page of the view.
pub const TOP_PAGE: PageLimits = PageLimits {
    default: 20,
    max: 1_000,
};

/// The largest count the order tells apart.
pub const MAX_COUNT: u64 = 999_999_999_999;

/// What the view orders orgs by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TopOrder {
    /// Current errors.
    Current,
    /// Current errors of type UNKNOWN.
    Unknown,
    /// Current errors whose resync ended dead.
    Dead,
}

impl TopOrder {
    /// Every order, each with an index of its own.
    pub const ALL: [Self; 3] = [Self::Current, Self::Unknown, Self::Dead];

    /// Short name, for store keys and page tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Unknown => "unknown",
            Self::Dead => "dead",
        }
    }
}

/// An org's counts as the view shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorCounts {
    /// Current errors.
    pub current: u64,
    /// Current errors of type UNKNOWN.
    pub unknown: u64,
    /// Current errors whose resync ended dead.
    pub dead: u64,
    /// Distinct records with a current error.
    pub records: u64,
}

impl ErrorCounts {
    /// Read off the org's counters.
    pub fn of(health: &HealthCounts) -> Self {
        Self {
            current: health.errors,
            unknown: health.unknown(),
            dead: health.types.iter().map(|(_, c)| c.dead).sum(),
            records: health.records,
        }
    }

    /// The count `order` ranks by.
    pub fn count(&self, order: TopOrder) -> u64 {
        match order {
            TopOrder::Current => self.current,
            TopOrder::Unknown => self.unknown,
            TopOrder::Dead => self.dead,
        }
    }
}

/// The fleet's current errors, summed from every org's counters for the
/// state gauges: per category, errors and impacted records; and the errors
/// whose resync ended dead. A sum of counters kept at write time, never a
/// count of errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetCounts {
    /// Current errors per category, in [`Category::ALL`]'s order.
    pub errors: [u64; Category::ALL.len()],
    /// Records with a current error of the category, in the same order (a
    /// record with errors of two categories counts in both).
    pub records: [u64; Category::ALL.len()],
    /// Current errors whose resync ended dead.
    pub dead: u64,
}

impl Default for FleetCounts {
    fn default() -> Self {
        Self {
            errors: [0; Category::ALL.len()],
            records: [0; Category::ALL.len()],
            dead: 0,
        }
    }
}

impl FleetCounts {
    /// Adds one org's counters.
    pub fn add(&mut self, health: &HealthCounts) {
        for (t, counts) in &health.types {
            if let Some(i) = category_index(t.category()) {
                self.errors[i] += counts.errors;
            }
            self.dead += counts.dead;
        }
        for (c, n) in &health.category_records {
            if let Some(i) = category_index(*c) {
                self.records[i] += n;
            }
        }
    }

    /// Every category with its current errors and impacted records.
    pub fn per_category(&self) -> impl Iterator<Item = (Category, u64, u64)> + '_ {
        Category::ALL
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, self.errors[i], self.records[i]))
    }
}

fn category_index(category: Category) -> Option<usize> {
    Category::ALL.iter().position(|&c| c == category)
}

/// An org's place in one order of the view: the most first, then by org.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopRank {
    /// [`MAX_COUNT`] less the count.
    inverse: u64,
    /// The org.
    pub org: OrgId,
}

impl TopRank {
    /// The place of `org` with `count`.
    pub fn new(org: OrgId, count: u64) -> Self {
        Self {
            inverse: MAX_COUNT - count.min(MAX_COUNT),
            org,
        }
    }

    /// The count the rank was made with.
    pub fn count(&self) -> u64 {
        MAX_COUNT - self.inverse
    }

    /// The index entry: its byte order is the rank's order.
    pub fn entry(&self) -> String {
        format!("{:012}\u{1f}{}", self.inverse, self.org)
    }

    /// Reads an index entry.
    pub fn read(text: &str) -> Option<Self> {
        let (inverse, org) = text.split_once('\u{1f}')?;
        if inverse.len() != 12 || !inverse.bytes().all(|b| b.is_ascii_digit()) {
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
    use crate::domain::TypeCounts;
    use crate::taxonomy::ErrorType;

    fn org(text: &str) -> OrgId {
        OrgId::parse(text).unwrap()
    }

    #[test]
    fn entries_order_the_most_first_then_by_org_and_read_back() {
        let ranks = [
            TopRank::new(org("b"), 7),
            TopRank::new(org("a"), 7),
            TopRank::new(org("c"), 1_000_000),
            TopRank::new(org("d"), 1),
        ];
        let mut entries: Vec<String> = ranks.iter().map(TopRank::entry).collect();
        entries.sort();
        let read: Vec<TopRank> = entries.iter().map(|e| TopRank::read(e).unwrap()).collect();
        let mut sorted = ranks.to_vec();
        sorted.sort();
        assert_eq!(read, sorted);
        assert_eq!(
            read.iter().map(|r| r.org.as_str()).collect::<Vec<_>>(),
            ["c", "a", "b", "d"]
        );
        assert_eq!(read[0].count(), 1_000_000);
        assert_eq!(TopRank::new(org("x"), u64::MAX).count(), MAX_COUNT);
        for bad in [
            "7\u{1f}a",
            "00000000000a\u{1f}a",
            "000000000001\u{1f}a b",
            "000000000001",
        ] {
            assert_eq!(TopRank::read(bad), None, "{bad}");
        }
    }

    #[test]
    fn counts_are_read_off_the_counters() {
        let health = HealthCounts {
            errors: 9,
            records: 8,
            types: vec![
                (ErrorType::Unknown, TypeCounts { errors: 4, dead: 1 }),
                (
                    ErrorType::CustomValidationRule,
                    TypeCounts { errors: 5, dead: 2 },
                ),
            ],
            ..HealthCounts::default()
        };
        let counts = ErrorCounts::of(&health);
        assert_eq!(
            counts,
            ErrorCounts {
                current: 9,
                unknown: 4,
                dead: 3,
                records: 8
            }
        );
        assert_eq!(counts.count(TopOrder::Dead), 3);
    }

    #[test]
    fn the_fleet_sums_every_orgs_counters_per_category() {
        let acme = HealthCounts {
            errors: 5,
            records: 4,
            types: vec![
                (ErrorType::Unknown, TypeCounts { errors: 2, dead: 1 }),
                (
                    ErrorType::CustomValidationRule,
                    TypeCounts { errors: 2, dead: 0 },
                ),
                (ErrorType::SalesforceFlow, TypeCounts { errors: 1, dead: 1 }),
            ],
            category_records: vec![(Category::Other, 2), (Category::CustomCode, 2)],
            ..HealthCounts::default()
        };
        let globex = HealthCounts {
            errors: 1,
            records: 1,
            types: vec![(ErrorType::Unknown, TypeCounts { errors: 1, dead: 0 })],
            category_records: vec![(Category::Other, 1)],
            ..HealthCounts::default()
        };
        let mut fleet = FleetCounts::default();
        fleet.add(&acme);
        fleet.add(&globex);
        let of = |c: Category| {
            fleet
                .per_category()
                .find(|(k, ..)| *k == c)
                .map(|(_, e, r)| (e, r))
                .unwrap()
        };
        assert_eq!(of(Category::Other), (3, 3));
        assert_eq!(of(Category::CustomCode), (3, 2));
        assert_eq!(of(Category::Picklist), (0, 0));
        assert_eq!(fleet.dead, 2);
        assert_eq!(fleet.per_category().count(), Category::ALL.len());
    }
}
