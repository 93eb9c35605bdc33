//! Usage alerts' pure parts: when a budget's usage crosses one of its
//! thresholds (`Budget::alert_thresholds`, 80, 90 and 100 % unless it names
//! others), of the allocation or of the org limit, and what is kept so that
//! each crossing is told once.
//!
//! Per budget and per what the threshold is a share of ([`Of`]) the store
//! keeps a *level*: the highest threshold told and not yet re-armed (0:
//! none). [`step`] moves it. A threshold fires when usage reaches it from
//! below the level; it re-arms only once usage falls below [`REARM_PERMILLE`]
//! of it (95 %: 76 % for an 80 % threshold), so usage hovering at a
//! threshold, as a rolling window makes it do, is told once, not at every
//! look. A jump past several thresholds at once tells the highest only:
//! one notice says where usage stands.
//!
//! The governor looks every `--usage-alert-interval` at the orgs the usage
//! index ranks at or above [`floor_ppm`] of the lowest threshold in use,
//! never at every org (`Governor::check_usage_alerts`).

use std::fmt;

use crate::domain::{OrgId, Resource, Usage};
use crate::fleet::{Ppm, SEP};
use crate::suspension::Cursor;

/// A threshold re-arms once usage falls below this many thousandths of it.
pub const REARM_PERMILLE: u64 = 950;

/// What a threshold is a share of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Of {
    /// The allocation in force.
    Allocation,
    /// The org limit, against the org's estimated usage by every app.
    OrgLimit,
}

impl Of {
    /// Both, in the order metrics list them.
    pub const ALL: [Of; 2] = [Of::Allocation, Of::OrgLimit];

    /// Its name in metric labels, store keys and notices.
    pub fn as_str(self) -> &'static str {
        match self {
            Of::Allocation => "allocation",
            Of::OrgLimit => "org_limit",
        }
    }

    /// The [`Of`] [`Of::as_str`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// Names one level: a budget and what its thresholds are a share of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlertKey {
    /// The org.
    pub org: OrgId,
    /// The budget's resource.
    pub resource: Resource,
    /// Allocation or org limit.
    pub of: Of,
}

impl AlertKey {
    /// The key as stores name it: `<org>\x1f<res>\x1f<of>`.
    pub fn field(&self) -> String {
        format!(
            "{}{SEP}{}{SEP}{}",
            self.org,
            self.resource.as_str(),
            self.of.as_str()
        )
    }

    /// Reads [`AlertKey::field`].
    pub fn read(field: &str) -> Option<Self> {
        let mut parts = field.split(SEP);
        let key = Self {
            org: OrgId::parse(parts.next()?).ok()?,
            resource: Resource::from_name(parts.next()?)?,
            of: Of::from_name(parts.next()?)?,
        };
        parts.next().is_none().then_some(key)
    }
}

/// What one look at a budget's usage does to its level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The level from now on.
    pub level: u8,
    /// The threshold to tell of, if one was crossed upwards.
    pub fired: Option<u8>,
}

/// True when `used` is at least `permille` thousandths of `percent` % of
/// `limit`. A limit of 0 with calls counted is fully used; with none,
/// unused (as the usage view ranks it).
fn at_least(used: u64, limit: u64, percent: u8, permille: u64) -> bool {
    if limit == 0 {
        return used > 0;
    }
    u128::from(used) * 100_000 >= u128::from(percent) * u128::from(permille) * u128::from(limit)
}

/// True when `used` of `limit` is at or above `percent` %.
pub fn reached(used: u64, limit: u64, percent: u8) -> bool {
    at_least(used, limit, percent, 1_000)
}

/// Moves a level (`level`, of `thresholds`, ascending) on usage `used` of
/// `limit`: a threshold above the level reached fires (the highest one
/// reached); otherwise the level falls to the highest threshold at or below
/// it that usage is still within the re-arm margin of (0 for none), and
/// nothing fires. A level that is no threshold any more (the thresholds
/// changed) falls the same way.
pub fn step(thresholds: &[u8], level: u8, used: u64, limit: u64) -> Step {
    let reached = thresholds
        .iter()
        .rev()
        .copied()
        .find(|&t| at_least(used, limit, t, 1_000))
        .unwrap_or(0);
    if reached > level {
        return Step {
            level: reached,
            fired: Some(reached),
        };
    }
    let kept = thresholds
        .iter()
        .rev()
        .copied()
        .filter(|&t| t <= level)
        .find(|&t| at_least(used, limit, t, REARM_PERMILLE))
        .unwrap_or(0);
    Step {
        level: kept,
        fired: None,
    }
}

/// Usage against each [`Of`]: `(used, limit)`. Without a report of the
/// org's usage, the org limit counts nothing used.
pub fn measures(usage: &Usage) -> [(Of, u64, u64); 2] {
    [
        (Of::Allocation, usage.used, usage.allocation),
        (
            Of::OrgLimit,
            usage.org.map_or(0, |view| view.estimate()),
            usage.org_limit,
        ),
    ]
}

/// The share (ppm, as the usage index ranks orgs) below which no level of
/// thresholds at least `lowest` % can still be held: an org ranked below it
/// has nothing to fire and nothing to keep.
pub fn floor_ppm(lowest: u8) -> Ppm {
    (u64::from(lowest) * 10 * REARM_PERMILLE) as Ppm
}

/// A crossing to append to the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crossing {
    /// Whose.
    pub key: AlertKey,
    /// The threshold crossed, percent.
    pub threshold: u8,
    /// Calls used when it was seen.
    pub used: u64,
    /// The allocation or org limit they are a share of.
    pub limit: u64,
}

/// A usage alert as the feed keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Its place in the feed; it names the crossing.
    pub cursor: Cursor,
    /// What was crossed.
    pub crossing: Crossing,
    /// When it was seen, ms (the store's clock).
    pub at_ms: i64,
}

impl fmt::Display for Crossing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) at {} % of the {}: {} of {}",
            self.key.org,
            self.key.resource.as_str(),
            self.threshold,
            self.key.of.as_str(),
            self.used,
            self.limit
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &[u8] = &[80, 90, 100];

    /// Steps through `used` (of 1 000) from level 0; the thresholds fired.
    fn walk(used: &[u64]) -> Vec<u8> {
        let mut level = 0;
        let mut fired = Vec::new();
        for &u in used {
            let s = step(T, level, u, 1_000);
            level = s.level;
            fired.extend(s.fired);
        }
        fired
    }

    #[test]
    fn each_threshold_fires_once_when_crossed_upwards() {
        assert_eq!(
            walk(&[500, 799, 800, 850, 899, 900, 950, 1_000, 1_200]),
            [80, 90, 100]
        );
    }

    #[test]
    fn hovering_at_a_threshold_fires_once() {
        assert_eq!(walk(&[800, 799, 801, 770, 810, 761, 800]), [80]);
    }

    #[test]
    fn a_threshold_rearms_below_95_percent_of_itself() {
        // 80 % re-arms below 76 %.
        assert_eq!(walk(&[800, 759, 800]), [80, 80]);
        assert_eq!(walk(&[800, 760, 800]), [80]);
        // Falling from 90 to 84 re-arms 90 and keeps 80.
        assert_eq!(walk(&[900, 840, 800, 900]), [90, 90]);
        // Falling to nothing re-arms them all.
        assert_eq!(walk(&[1_000, 0, 950]), [100, 90]);
    }

    #[test]
    fn a_jump_tells_the_highest_threshold_reached() {
        assert_eq!(
            step(T, 0, 950, 1_000),
            Step {
                level: 90,
                fired: Some(90)
            }
        );
        assert_eq!(step(T, 80, 2_000, 1_000).fired, Some(100));
    }

    #[test]
    fn changed_thresholds_move_the_level_without_firing() {
        // Told at 85 %, which is no threshold any more.
        assert_eq!(
            step(&[80, 90], 85, 820, 1_000),
            Step {
                level: 80,
                fired: None
            }
        );
        assert_eq!(
            step(&[90], 85, 820, 1_000),
            Step {
                level: 0,
                fired: None
            }
        );
    }

    #[test]
    fn a_limit_of_zero_is_full_once_anything_is_used() {
        assert_eq!(step(T, 0, 0, 0).fired, None);
        assert_eq!(step(T, 0, 1, 0).fired, Some(100));
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        assert_eq!(step(T, 0, u64::MAX, u64::MAX).fired, Some(100));
        assert_eq!(step(T, 0, u64::MAX / 2, u64::MAX).fired, None);
    }

    #[test]
    fn keys_read_back() {
        let key = AlertKey {
            org: OrgId::parse("acme.eu").unwrap(),
            resource: Resource::BulkBatches,
            of: Of::OrgLimit,
        };
        assert_eq!(AlertKey::read(&key.field()), Some(key));
        assert_eq!(AlertKey::read("acme\u{1f}api"), None);
        assert_eq!(AlertKey::read("acme\u{1f}api\u{1f}allocation\u{1f}x"), None);
    }

    #[test]
    fn the_floor_is_the_lowest_rearm_point() {
        assert_eq!(floor_ppm(80), 760_000);
        assert_eq!(floor_ppm(100), 950_000);
    }
}
