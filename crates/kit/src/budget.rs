//! A budget of one org and resource, and its rules: what SetBudget, the
//! governor's budgets file and `syncctl budget apply` all check the same
//! way, naming the field and the rule. Pure: time is passed in.

use crate::input::{InvalidInput, Priority};

/// Largest org limit accepted: every bucket count must fit in 32 bits.
pub const MAX_ORG_LIMIT: u64 = 1_000_000_000;
/// Furthest ahead an allocation override may end: a year and a day. An
/// override is for a migration, not a new allocation by the back door.
pub const MAX_OVERRIDE_MS: i64 = 366 * 24 * 3_600 * 1_000;

/// The Salesforce budget being governed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// Daily API requests.
    ApiRequests,
    /// Bulk API batches.
    BulkBatches,
}

impl Resource {
    /// Every resource, in the order listings print them.
    pub const ALL: [Resource; 2] = [Resource::ApiRequests, Resource::BulkBatches];

    /// Short name used in store keys, logs, budgets files and `syncctl`'s
    /// `--resource`.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::ApiRequests => "api",
            Resource::BulkBatches => "bulk",
        }
    }

    /// The resource [`Resource::as_str`] names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// Percent of the allocation each priority may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shares {
    /// Share of [`Priority::Retry`].
    pub retry: u8,
    /// Share of [`Priority::Normal`].
    pub normal: u8,
    /// Share of [`Priority::Critical`].
    pub critical: u8,
}

impl Default for Shares {
    fn default() -> Self {
        Self {
            retry: 75,
            normal: 95,
            critical: 100,
        }
    }
}

impl Shares {
    /// The share of `priority`, in percent.
    pub fn of(&self, priority: Priority) -> u8 {
        match priority {
            Priority::Retry => self.retry,
            Priority::Normal => self.normal,
            Priority::Critical => self.critical,
        }
    }

    /// Builds shares from percents, checking each is 1..=100 and that they do
    /// not decrease with priority.
    pub fn new(retry: u64, normal: u64, critical: u64) -> Result<Self, InvalidInput> {
        let pct = |field: &str, value: u64| {
            u8::try_from(value)
                .ok()
                .filter(|v| (1..=100).contains(v))
                .ok_or_else(|| {
                    InvalidInput::new(format!("budget.shares.{field}"), "must be 1 to 100")
                })
        };
        let shares = Self {
            retry: pct("retry_percent", retry)?,
            normal: pct("normal_percent", normal)?,
            critical: pct("critical_percent", critical)?,
        };
        if shares.retry > shares.normal || shares.normal > shares.critical {
            return Err(InvalidInput::new(
                "budget.shares",
                "must not decrease with priority: retry <= normal <= critical",
            ));
        }
        Ok(shares)
    }
}

/// A temporary allocation that replaces the budget's until it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocationOverride {
    /// Calls per window while it lasts.
    pub allocation: u64,
    /// When it ends, in milliseconds since the epoch.
    pub expires_at_ms: i64,
}

/// The budget of one (org, resource).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Salesforce's limit for the whole org, per window.
    pub org_limit: u64,
    /// What this integration may use of it, per window.
    pub allocation: u64,
    /// Per-priority shares of the allocation.
    pub shares: Shares,
    /// Optional temporary allocation.
    pub allocation_override: Option<AllocationOverride>,
    /// Shadow mode: a request the allocation or a priority's share would
    /// deny is granted anyway and flagged; the org limit still binds.
    pub shadow: bool,
    /// Usage alert thresholds, of the allocation and of the org limit alike;
    /// `None`: [`DEFAULT_ALERT_THRESHOLDS`].
    pub alert_thresholds: Option<AlertThresholds>,
}

impl Budget {
    /// A budget with the default shares and no override.
    pub fn new(org_limit: u64, allocation: u64) -> Self {
        Self {
            org_limit,
            allocation,
            shares: Shares::default(),
            allocation_override: None,
            shadow: false,
            alert_thresholds: None,
        }
    }

    /// The usage alert thresholds in force: the budget's own, else the
    /// defaults.
    pub fn thresholds(&self) -> AlertThresholds {
        self.alert_thresholds.unwrap_or_default()
    }

    /// Checks the budget's rules; an override must still be running at `now_ms`.
    pub fn validate(&self, now_ms: i64) -> Result<(), InvalidInput> {
        if self.org_limit == 0 || self.org_limit > MAX_ORG_LIMIT {
            return Err(InvalidInput::new(
                "budget.org_limit",
                format!("must be 1 to {MAX_ORG_LIMIT}"),
            ));
        }
        if self.allocation > self.org_limit {
            return Err(InvalidInput::new(
                "budget.allocation",
                "must be at most budget.org_limit",
            ));
        }
        if let Some(o) = self.allocation_override {
            if o.allocation > self.org_limit {
                return Err(InvalidInput::new(
                    "budget.allocation_override.allocation",
                    "must be at most budget.org_limit",
                ));
            }
            if o.expires_at_ms <= now_ms {
                return Err(InvalidInput::new(
                    "budget.allocation_override.expires_at",
                    "must be in the future",
                ));
            }
            if o.expires_at_ms - now_ms > MAX_OVERRIDE_MS {
                return Err(InvalidInput::new(
                    "budget.allocation_override.expires_at",
                    "must be at most 366 days ahead",
                ));
            }
        }
        Ok(())
    }

    /// The allocation in force at `now_ms`.
    pub fn allocation_at(&self, now_ms: i64) -> u64 {
        match self.allocation_override {
            Some(o) if now_ms < o.expires_at_ms => o.allocation,
            _ => self.allocation,
        }
    }

    /// The most `priority` may have in the window at `now_ms`.
    pub fn limit_at(&self, priority: Priority, now_ms: i64) -> u64 {
        self.allocation_at(now_ms) * u64::from(self.shares.of(priority)) / 100
    }
}

/// Most usage alert thresholds one budget may name: each is a notice per
/// crossing, so a few are useful and many are noise.
pub const MAX_ALERT_THRESHOLDS: usize = 5;
/// The thresholds of a budget that names none, in percent.
pub const DEFAULT_ALERT_THRESHOLDS: [u8; 3] = [80, 90, 100];

/// Usage alert thresholds, in percent: 1 to [`MAX_ALERT_THRESHOLDS`] of
/// them, each 1 to 100, ascending and each once. Fixed-size, so that a
/// [`Budget`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AlertThresholds {
    percents: [u8; MAX_ALERT_THRESHOLDS],
    len: u8,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        let mut percents = [0; MAX_ALERT_THRESHOLDS];
        percents[..DEFAULT_ALERT_THRESHOLDS.len()].copy_from_slice(&DEFAULT_ALERT_THRESHOLDS);
        Self {
            percents,
            len: DEFAULT_ALERT_THRESHOLDS.len() as u8,
        }
    }
}

impl std::fmt::Debug for AlertThresholds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl AlertThresholds {
    /// The field callers name them by, in errors.
    pub const FIELD: &'static str = "budget.alert_thresholds_percent";

    /// Reads thresholds a caller sent, refusing what breaks a rule (naming
    /// [`Self::FIELD`]): none, more than [`MAX_ALERT_THRESHOLDS`], one
    /// outside 1 to 100, or not strictly ascending. Refused rather than
    /// sorted: a budgets file then reads back as it was written.
    pub fn new(percents: &[u64]) -> Result<Self, InvalidInput> {
        if percents.is_empty() || percents.len() > MAX_ALERT_THRESHOLDS {
            return Err(InvalidInput::new(
                Self::FIELD,
                format!("must name 1 to {MAX_ALERT_THRESHOLDS} thresholds"),
            ));
        }
        let mut out = [0u8; MAX_ALERT_THRESHOLDS];
        for (i, &p) in percents.iter().enumerate() {
            let p = u8::try_from(p)
                .ok()
                .filter(|p| (1..=100).contains(p))
                .ok_or_else(|| InvalidInput::new(Self::FIELD, "each must be 1 to 100"))?;
            if i > 0 && p <= out[i - 1] {
                return Err(InvalidInput::new(
                    Self::FIELD,
                    "must be ascending, each once (for example 80, 90, 100)",
                ));
            }
            out[i] = p;
        }
        Ok(Self {
            percents: out,
            len: percents.len() as u8,
        })
    }

    /// The thresholds, ascending.
    pub fn as_slice(&self) -> &[u8] {
        &self.percents[..usize::from(self.len)]
    }

    /// The lowest threshold.
    pub fn lowest(&self) -> u8 {
        self.percents[0]
    }

    /// The thresholds packed in one integer, a byte each from the lowest
    /// up: how stores keep them beside a budget's other numbers.
    pub fn packed(&self) -> i64 {
        self.as_slice()
            .iter()
            .rev()
            .fold(0i64, |n, &p| (n << 8) | i64::from(p))
    }

    /// Reads [`Self::packed`]; `None` when it is not a valid packing.
    pub fn unpack(mut packed: i64) -> Option<Self> {
        let mut percents = Vec::new();
        while packed > 0 {
            percents.push((packed & 0xff) as u64);
            packed >>= 8;
        }
        Self::new(&percents).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_bounded_ascending_and_named_in_errors() {
        assert_eq!(
            AlertThresholds::default().as_slice(),
            DEFAULT_ALERT_THRESHOLDS
        );
        assert_eq!(
            AlertThresholds::new(&[50, 100]).unwrap().as_slice(),
            [50, 100]
        );
        for bad in [
            &[][..],
            &[0],
            &[101],
            &[90, 80],
            &[80, 80],
            &[10, 20, 30, 40, 50, 60],
            &[u64::MAX],
        ] {
            let e = AlertThresholds::new(bad).unwrap_err();
            assert_eq!(e.field, AlertThresholds::FIELD, "{bad:?}");
        }
    }

    #[test]
    fn thresholds_pack_and_read_back() {
        for t in [&[80u64, 90, 100][..], &[1], &[1, 2, 3, 99, 100]] {
            let kept = AlertThresholds::new(t).unwrap();
            assert_eq!(AlertThresholds::unpack(kept.packed()), Some(kept));
        }
        assert_eq!(AlertThresholds::unpack(0), None);
        assert_eq!(AlertThresholds::unpack(0x50_5a), None, "90 then 80");
    }
}
