//! Whether a budget changed since a person opened the page that edits it.
//!
//! The governor's SetBudget replaces a budget whole, and has no conditional
//! form. The console therefore carries what the page showed in hidden form
//! fields (the allocation, the override, and a fingerprint of the whole
//! budget) and, just before writing, compares them with the budget as it
//! stands: a change made by someone else in between is refused in words
//! instead of being silently overwritten (the last writer no longer wins
//! unseen). Pure: no I/O, no clock.

use prost::Message;
use sha2::{Digest, Sha256};
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
    /// The fingerprint of the whole budget ([`fingerprint`]).
    pub fingerprint: String,
}

/// The hidden fields' names, as the template writes them.
pub const FIELDS: [&str; 3] = ["seen_allocation", "seen_override", "seen_budget"];

impl Seen {
    /// What the page shows of `budget`.
    pub fn of(budget: &quota::Budget) -> Self {
        Self {
            allocation: budget.allocation,
            override_: override_of(budget),
            fingerprint: fingerprint(budget),
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
    pub fn parse(allocation: &str, override_: &str, fingerprint: &str) -> Option<Self> {
        let allocation = allocation.parse().ok()?;
        let override_ = match override_ {
            "" => None,
            text => {
                let (a, at) = text.split_once('@')?;
                Some((a.parse().ok()?, at.parse().ok()?))
            }
        };
        let valid = fingerprint.len() == 16 && fingerprint.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| Self {
            allocation,
            override_,
            fingerprint: fingerprint.to_owned(),
        })
    }

    /// Why `current` is not the budget the page showed, as the sentence
    /// the person reads; `None` when it is the same.
    pub fn changed(&self, current: &quota::Budget) -> Option<String> {
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
        (fingerprint(current) != self.fingerprint).then(|| {
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

/// 16 hex digits of the SHA-256 of the budget's encoding: protobuf
/// encodes the same values to the same bytes, so replicas agree.
pub fn fingerprint(budget: &quota::Budget) -> String {
    let digest = Sha256::digest(budget.encode_to_vec());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            &seen.fingerprint,
        )
        .expect("fields written by the page read back")
    }

    #[test]
    fn the_same_budget_has_not_changed() {
        let b = budget(10_000);
        let seen = round_trip(&Seen::of(&b));
        assert_eq!(seen.changed(&b), None);
    }

    #[test]
    fn another_allocation_is_named_with_its_new_value() {
        let seen = round_trip(&Seen::of(&budget(10_000)));
        assert_eq!(
            seen.changed(&budget(12_000)).as_deref(),
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
        let set = Seen::of(&plain)
            .changed(&with)
            .expect("an override appeared");
        assert!(
            set.starts_with(
                "The temporary allocation was changed to 50,000 calls until 1970-01-02"
            ),
            "{set}"
        );
        let ended = round_trip(&Seen::of(&with))
            .changed(&plain)
            .expect("the override went");
        assert!(
            ended.starts_with("The temporary allocation was ended"),
            "{ended}"
        );
    }

    #[test]
    fn any_other_change_is_caught_by_the_fingerprint() {
        let seen = Seen::of(&budget(10_000));
        let mut other = budget(10_000);
        other.org_limit = 90_000;
        let said = seen.changed(&other).expect("the org limit changed");
        assert!(said.contains("org limit"), "{said}");
        other = budget(10_000);
        other.alert_thresholds_percent = vec![50];
        assert!(seen.changed(&other).is_some());
    }

    #[test]
    fn missing_or_forged_fields_read_as_nothing_seen() {
        let fp = Seen::of(&budget(1)).fingerprint;
        assert!(Seen::parse("", "", &fp).is_none());
        assert!(Seen::parse("-1", "", &fp).is_none());
        assert!(Seen::parse("10", "5", &fp).is_none());
        assert!(Seen::parse("10", "5@x", &fp).is_none());
        assert!(Seen::parse("10", "", "zz").is_none());
        assert!(Seen::parse("10", "", "0123456789abcdef").is_some());
    }
}
