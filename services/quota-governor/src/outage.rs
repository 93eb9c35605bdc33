//! What the governor does while its store is unreachable.
//!
//! `fail-closed` (the default) denies every request with UNAVAILABLE: no
//! Salesforce call goes out that the budget did not count. `fail-open`
//! lets a small emergency budget through per org and per replica, so that
//! syncs do not stop for a short store outage, at the cost of calls the
//! window never counts: at most `budget` per org, per replica, per
//! `window`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::domain::OrgId;

/// The policy for store outages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutagePolicy {
    /// Deny with UNAVAILABLE: never spend a customer's calls blindly.
    #[default]
    FailClosed,
    /// Grant from a small per-org emergency budget of this replica.
    FailOpen,
}

/// The emergency budgets of one replica: per org, calls granted in the
/// current emergency window.
#[derive(Debug)]
pub struct EmergencyBudget {
    budget: u64,
    window_ms: i64,
    used: Mutex<HashMap<OrgId, (i64, u64)>>,
}

impl EmergencyBudget {
    /// At most `budget` calls per org per `window_ms`.
    pub fn new(budget: u64, window_ms: i64) -> Self {
        Self {
            budget,
            window_ms: window_ms.max(1),
            used: Mutex::default(),
        }
    }

    /// Takes `count` calls of `org`'s emergency budget at `now_ms`; false
    /// (and nothing taken) when they do not fit.
    pub fn take(&self, org: &OrgId, count: u64, now_ms: i64) -> bool {
        let window = now_ms.div_euclid(self.window_ms);
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let entry = used.entry(org.clone()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 + count > self.budget {
            return false;
        }
        entry.1 += count;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_org_has_its_own_budget_per_window() {
        let budget = EmergencyBudget::new(5, 1_000);
        let acme = OrgId::parse("acme").unwrap();
        let globex = OrgId::parse("globex").unwrap();
        assert!(budget.take(&acme, 3, 0));
        assert!(!budget.take(&acme, 3, 10), "3 + 3 > 5: nothing taken");
        assert!(budget.take(&acme, 2, 20));
        assert!(!budget.take(&acme, 1, 999));
        assert!(budget.take(&globex, 5, 999), "another org's budget");
        assert!(budget.take(&acme, 5, 1_000), "a new window");
    }

    #[test]
    fn a_zero_budget_grants_nothing() {
        let budget = EmergencyBudget::new(0, 1_000);
        assert!(!budget.take(&OrgId::parse("acme").unwrap(), 1, 0));
    }
}
