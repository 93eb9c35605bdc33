//! The revision of a budget: what a conditional SetBudget names to say
//! "only if the budget is still the one I read", so that two people editing
//! the same budget cannot silently overwrite each other.
//!
//! A revision is a fingerprint of the budget's content (and of whether it
//! is the default one), not a counter: it needs nothing stored beside the
//! budget, so budgets written before revisions existed, by the budgets file
//! or by `syncctl budget apply` all have one, and deleting and re-creating a
//! budget cannot reuse a number. A budget changed and changed back has its
//! old revision again, which is right: it is the budget that was read.
//! Pure: no I/O, no clock.

use std::fmt;

use crate::domain::{Budget, InvalidInput};

/// The name of the request field that carries an expected revision.
pub const FIELD: &str = "expected_revision";

/// A budget's revision: 64 bits of FNV-1a over its fields, written as 16
/// hexadecimal digits. Not a secret and not a defence: a caller able to
/// forge one may as well write unconditionally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Revision(u64);

/// Bumped if the encoding below ever changes, so that old and new
/// fingerprints of one budget differ instead of colliding by accident.
const ENCODING: u64 = 1;

impl Revision {
    /// The revision of `budget`; `is_default` when it is the configured
    /// default budget standing in for an org that has none of its own.
    pub fn of(budget: &Budget, is_default: bool) -> Self {
        let (override_allocation, override_end) = budget
            .allocation_override
            .map_or((u64::MAX, i64::MIN), |o| (o.allocation, o.expires_at_ms));
        let words = [
            ENCODING,
            u64::from(is_default),
            budget.org_limit,
            budget.allocation,
            u64::from(budget.shares.retry),
            u64::from(budget.shares.normal),
            u64::from(budget.shares.critical),
            u64::from(budget.allocation_override.is_some()),
            override_allocation,
            override_end as u64,
            u64::from(budget.shadow),
            budget
                .alert_thresholds
                .map_or(u64::MAX, |t| t.packed() as u64),
        ];
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in words.iter().flat_map(|w| w.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self(hash)
    }

    /// Reads a revision as a reply gave it; the error names [`FIELD`].
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let bad = || {
            InvalidInput::new(
                FIELD,
                "must be 16 hexadecimal digits, as GetBudget's revision gives them",
            )
        };
        if text.len() != 16 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        u64::from_str_radix(text, 16).map(Self).map_err(|_| bad())
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// A budget as a refused conditional write names it: `found` and whether
/// it is the default one, or `None` when there is none at all.
pub fn describe(found: Option<(&Budget, bool)>) -> String {
    let Some((budget, is_default)) = found else {
        return "deleted (no budget)".to_owned();
    };
    let mut words = format!(
        "allocation {} of org limit {}, shares {}/{}/{} %",
        budget.allocation,
        budget.org_limit,
        budget.shares.retry,
        budget.shares.normal,
        budget.shares.critical
    );
    if let Some(o) = budget.allocation_override {
        words += &format!(
            ", override {} until {}",
            o.allocation,
            syncgov_kit::clock::timestamp(o.expires_at_ms)
        );
    }
    if budget.shadow {
        words += ", shadow mode";
    }
    if let Some(t) = budget.alert_thresholds {
        let t: Vec<String> = t.as_slice().iter().map(u8::to_string).collect();
        words += &format!(", alerts at {} %", t.join("/"));
    }
    words += &format!(" (revision {})", Revision::of(budget, is_default));
    if is_default {
        format!("the default budget, the org having none of its own: {words}")
    } else {
        words
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertThresholds, AllocationOverride, Shares};

    #[test]
    fn reads_back_what_it_writes() {
        let r = Revision::of(&Budget::new(100, 10), false);
        let text = r.to_string();
        assert_eq!(text.len(), 16);
        assert_eq!(Revision::parse(&text).unwrap(), r);
        assert_eq!(Revision::parse(&text.to_uppercase()).unwrap(), r);
    }

    #[test]
    fn every_field_changes_it() {
        let base = Budget::new(1_000, 100);
        let mut variants = vec![base];
        let mut b = base;
        b.org_limit = 1_001;
        variants.push(b);
        b = base;
        b.allocation = 101;
        variants.push(b);
        b = base;
        b.shares = Shares::new(50, 95, 100).unwrap();
        variants.push(b);
        b = base;
        b.allocation_override = Some(AllocationOverride {
            allocation: 500,
            expires_at_ms: 1,
        });
        variants.push(b);
        b.allocation_override = Some(AllocationOverride {
            allocation: 500,
            expires_at_ms: 2,
        });
        variants.push(b);
        b = base;
        b.shadow = true;
        variants.push(b);
        b = base;
        b.alert_thresholds = Some(AlertThresholds::new(&[80, 90, 100]).unwrap());
        variants.push(b);
        let mut seen: Vec<Revision> = variants.iter().map(|b| Revision::of(b, false)).collect();
        seen.push(Revision::of(&base, true));
        let mut unique = seen.clone();
        unique.sort_by_key(|r| r.0);
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{seen:?}");
    }

    #[test]
    fn the_same_content_has_the_same_revision() {
        assert_eq!(
            Revision::of(&Budget::new(100, 10), false),
            Revision::of(&Budget::new(100, 10), false)
        );
    }

    #[test]
    fn a_description_names_the_values_and_the_revision() {
        let mut b = Budget::new(100_000, 12_000);
        b.allocation_override = Some(AllocationOverride {
            allocation: 50_000,
            expires_at_ms: 86_400_000,
        });
        let said = describe(Some((&b, false)));
        assert!(said.starts_with("allocation 12000 of org limit 100000, shares 75/95/100 %, override 50000 until 1970-01-02T00:00:00Z"), "{said}");
        assert!(
            said.ends_with(&format!("(revision {})", Revision::of(&b, false))),
            "{said}"
        );
        assert!(describe(Some((&b, true))).starts_with("the default budget"));
        assert_eq!(describe(None), "deleted (no budget)");
    }

    #[test]
    fn anything_but_16_hex_digits_is_refused_naming_the_field() {
        for bad in [
            "",
            "abc",
            "0123456789abcdeg",
            "0123456789abcdef0",
            "+123456789abcdef",
        ] {
            let e = Revision::parse(bad).unwrap_err();
            assert_eq!(e.field, FIELD, "{bad}");
        }
    }
}
