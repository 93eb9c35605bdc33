//! Whether a budget changed since a person opened the page that edits it.
//!
//! The governor's SetBudget replaces a budget whole. The console therefore
//! carries what the page showed in hidden form fields (the allocation, the
//! override, and the governor's revision of the whole budget). Just before
//! writing it compares them with the budget as it stands, so that a change
//! made by someone else in between is refused in words naming the new
//! value; and it writes with the revision as SetBudget's
//! `expected_revision`, so that a change landing after that comparison is
//! refused by the governor too, instead of being overwritten. Pure: no I/O,
//! no clock.

use syncgov_api::quota::v1 as quota;

use crate::format;

/// What the page showed of a budget, as its forms carry it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The allocation, without an override.
    pub allocation: u64,
    /// The override as stored: its allocation and its end (seconds), or
    /// none.
    pub override_: Option<(u64, i64)>,
    /// The governor's revision of the whole budget, as GetBudget gave it.
    pub revision: String,
}

/// The hidden fields' names, as the template writes them.
pub const FIELDS: [&str; 3] = ["seen_allocation", "seen_override", "seen_budget"];

impl Seen {
    /// What the page shows of `budget`, whose revision is `revision`.
    pub fn of(budget: &quota::Budget, revision: &str) -> Self {
        Self {
            allocation: budget.allocation,
            override_: override_of(budget),
            revision: revision.to_owned(),
        }
    }

    /// The override as its hidden field carries it: `ALLOCATION@SECONDS`,
    /// or empty for none.
    pub fn override_field(&self) -> String {
        self.override_
            .map(|(a, at)| format!("{a}@{at}"))
            .unwrap_or_default()
    }

    /// Reads the hidden fields back; `None` when one is missing or
    /// malformed (a form from elsewhere, or tampered with).
    pub fn parse(allocation: &str, override_: &str, revision: &str) -> Option<Self> {
        let allocation = allocation.parse().ok()?;
        let override_ = match override_ {
            "" => None,
            text => {
                let (a, at) = text.split_once('@')?;
                Some((a.parse().ok()?, at.parse().ok()?))
            }
        };
        let valid = revision.len() == 16 && revision.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Self {
            allocation,
            override_,
            revision: revision.to_owned(),
        })
    }

    /// Why `current` (of revision `revision`) is not the budget the page
    /// showed, as the sentence the person reads; `None` when it is the same.
    pub fn changed(&self, current: &quota::Budget, revision: &str) -> Option<String> {
        let again = "since you opened this page; review and try again.";
        if current.allocation != self.allocation {
            return Some(format!(
                "The allocation was changed to {} by someone else {again}",
                format::count(current.allocation)
            ));
        }
        let now = override_of(current);
        if now != self.override_ {
            return Some(match now {
                Some((a, at)) => format!(
                    "The temporary allocation was changed to {} calls until {} by someone else {again}",
                    format::count(a),
                    format::time(Some(&prost_types::Timestamp {
                        seconds: at,
                        nanos: 0
                    }))
                ),
                None => format!("The temporary allocation was ended by someone else {again}"),
            });
        }
        (!revision.eq_ignore_ascii_case(&self.revision)).then(|| {
            format!(
                "The budget (its org limit, priority shares or alert thresholds) was changed by someone else {again}"
            )
        })
    }
}

fn override_of(budget: &quota::Budget) -> Option<(u64, i64)> {
    budget
        .allocation_override
        .as_ref()
        .map(|o| (o.allocation, o.expires_at.as_ref().map_or(0, |t| t.seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Revisions as the governor writes them; which is which does not
    /// matter here, only that they differ.
    const R1: &str = "00000000000000a1";
    const R2: &str = "00000000000000b2";

    fn budget(allocation: u64) -> quota::Budget {
        quota::Budget {
            org_limit: 100_000,
            allocation,
            ..Default::default()
        }
    }

    fn round_trip(seen: &Seen) -> Seen {
        Seen::parse(
            &seen.allocation.to_string(),
            &seen.override_field(),
            &seen.revision,
        )
        .expect("fields written by the page read back")
    }

    #[test]
    fn the_same_budget_has_not_changed() {
        let b = budget(10_000);
        let seen = round_trip(&Seen::of(&b, R1));
        assert_eq!(seen.changed(&b, R1), None);
        assert_eq!(seen.changed(&b, &R1.to_uppercase()), None);
    }

    #[test]
    fn another_allocation_is_named_with_its_new_value() {
        let seen = round_trip(&Seen::of(&budget(10_000), R1));
        assert_eq!(
            seen.changed(&budget(12_000), R2).as_deref(),
            Some(
                "The allocation was changed to 12,000 by someone else since you opened this \
                 page; review and try again."
            )
        );
    }

    #[test]
    fn an_override_set_or_ended_meanwhile_is_named() {
        let plain = budget(10_000);
        let mut with = plain.clone();
        with.allocation_override = Some(quota::AllocationOverride {
            allocation: 50_000,
            expires_at: Some(prost_types::Timestamp {
                seconds: 86_400,
                nanos: 0,
            }),
        });
        let set = Seen::of(&plain, R1)
            .changed(&with, R2)
            .expect("an override appeared");
        assert!(
            set.starts_with(
                "The temporary allocation was changed to 50,000 calls until 1970-01-02"
            ),
            "{set}"
        );
        let ended = round_trip(&Seen::of(&with, R2))
            .changed(&plain, R1)
            .expect("the override went");
        assert!(
            ended.starts_with("The temporary allocation was ended"),
            "{ended}"
        );
    }

    #[test]
    fn any_other_change_is_caught_by_the_revision() {
        let seen = Seen::of(&budget(10_000), R1);
        let mut other = budget(10_000);
        other.org_limit = 90_000;
        let said = seen.changed(&other, R2).expect("the org limit changed");
        assert!(said.contains("org limit"), "{said}");
    }

    #[test]
    fn missing_or_forged_fields_read_as_nothing_seen() {
        assert!(Seen::parse("", "", R1).is_none());
        assert!(Seen::parse("-1", "", R1).is_none());
        assert!(Seen::parse("10", "5", R1).is_none());
        assert!(Seen::parse("10", "5@x", R1).is_none());
        assert!(Seen::parse("10", "", "zz").is_none());
        assert!(Seen::parse("10", "", "").is_none());
        assert!(Seen::parse("10", "", "0123456789abcdef").is_some());
    }
}
