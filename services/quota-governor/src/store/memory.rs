//! The embedded store: budgets and windows in this process's memory, with the
//! same rules as the Redis store. For a single replica, tests and demos; the
//! data is gone when the process stops.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};

use super::{BudgetKey, FoundBudget, OrgReport, QuotaStore, StoreError};
use crate::domain::{self, Budget, Counts, Decision, Grant, Priority, Released, Rules, Usage};
use syncgov_kit::clock::now_ms;

/// Shards of the map: decisions on different orgs rarely wait for each other.
const SHARDS: usize = 64;

/// What the store keeps per budget key.
#[derive(Default)]
struct Entry {
    /// The org's own budget, if it has one.
    budget: Option<Budget>,
    /// Calls counted and the org-wide view; kept when the budget is deleted,
    /// so that deleting and re-creating a budget frees nothing.
    counts: Counts,
}

/// Budgets and windows in memory, sharded by key behind plain mutexes: each
/// critical section is a few arithmetic steps, never an await.
pub struct MemoryStore {
    rules: Rules,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<BudgetKey, Entry>>>,
}

impl MemoryStore {
    /// An empty store deciding by `rules`.
    pub fn new(rules: Rules) -> Self {
        Self {
            rules,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &BudgetKey) -> MutexGuard<'_, HashMap<BudgetKey, Entry>> {
        let index = self.hasher.hash_one(key) as usize % SHARDS;
        // A panic while holding the lock cannot leave an entry half-updated
        // (each update is a few integer steps), so a poisoned lock is usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn found(own: Option<Budget>, fallback: Option<&Budget>) -> Option<FoundBudget> {
    match (own, fallback) {
        (Some(budget), _) => Some(FoundBudget {
            budget,
            is_default: false,
        }),
        (None, Some(&budget)) => Some(FoundBudget {
            budget,
            is_default: true,
        }),
        (None, None) => None,
    }
}

impl QuotaStore for MemoryStore {
    async fn set_budget(&self, key: &BudgetKey, budget: &Budget) -> Result<(), StoreError> {
        self.shard(key).entry(key.clone()).or_default().budget = Some(*budget);
        Ok(())
    }

    async fn get_budget(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> Result<Option<FoundBudget>, StoreError> {
        let own = self.shard(key).get(key).and_then(|e| e.budget);
        Ok(found(own, fallback))
    }

    async fn delete_budget(&self, key: &BudgetKey) -> Result<bool, StoreError> {
        Ok(self
            .shard(key)
            .get_mut(key)
            .and_then(|e| e.budget.take())
            .is_some())
    }

    async fn acquire(
        &self,
        key: &BudgetKey,
        count: u32,
        priority: Priority,
        fallback: Option<&Budget>,
    ) -> Result<Decision, StoreError> {
        let mut shard = self.shard(key);
        let own = shard.get(key).and_then(|e| e.budget);
        let Some(found) = found(own, fallback) else {
            return Ok(Decision::unknown_org());
        };
        let entry = shard.entry(key.clone()).or_default();
        Ok(domain::decide(
            &found.budget,
            &self.rules,
            &mut entry.counts,
            count,
            priority,
            now_ms(),
        ))
    }

    async fn release(
        &self,
        key: &BudgetKey,
        grant: Grant,
        count: u64,
    ) -> Result<Released, StoreError> {
        let mut shard = self.shard(key);
        Ok(match shard.get_mut(key) {
            Some(entry) => {
                domain::release(&mut entry.counts, &self.rules.shape, grant, count, now_ms())
            }
            None => Released {
                released: 0,
                used: 0,
            },
        })
    }

    async fn usage(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> Result<Option<Usage>, StoreError> {
        let mut shard = self.shard(key);
        let own = shard.get(key).and_then(|e| e.budget);
        let Some(found) = found(own, fallback) else {
            return Ok(None);
        };
        let entry = shard.entry(key.clone()).or_default();
        Ok(Some(domain::usage(
            &found.budget,
            found.is_default,
            &mut entry.counts,
            &self.rules.shape,
            now_ms(),
        )))
    }

    async fn report_org_usage(
        &self,
        key: &BudgetKey,
        used: u64,
        max: u64,
        observed_at_ms: Option<i64>,
        fallback: Option<&Budget>,
    ) -> Result<Option<OrgReport>, StoreError> {
        let mut shard = self.shard(key);
        let own = shard.get(key).and_then(|e| e.budget);
        if found(own, fallback).is_none() {
            return Ok(None);
        }
        let now = now_ms();
        let entry = shard.entry(key.clone()).or_default();
        let accepted = domain::report(
            &mut entry.counts,
            &self.rules.shape,
            used,
            max,
            observed_at_ms.unwrap_or(now),
            now,
        );
        if accepted {
            // The org limit follows what Salesforce says it is.
            if let Some(budget) = &mut entry.budget {
                budget.org_limit = max;
            }
        }
        Ok(Some(OrgReport::of(&entry.counts, accepted, &self.rules)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
