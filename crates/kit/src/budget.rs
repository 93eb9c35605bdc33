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
        }
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
