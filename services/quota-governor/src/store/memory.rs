//! The embedded store: budgets and windows in this process's memory, with the
//! same rules as the Redis store. For a single replica, tests and demos; the
//! data is gone when the process stops.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use syncgov_kit::clock::now_ms;

use super::{
    BudgetKey, Clock, FoundBudget, LevelMove, OrgReport, Page, ProbeOutcome, QuotaStore, StoreError,
};
use crate::alerts::{Alert, AlertKey, Crossing};
use crate::consumers::{Consumer, ConsumerCounts};
use crate::domain::{
    self, Ask, Budget, Counts, Decision, Grant, OrgId, Outcome, Priority, ReleaseOutcome, Released,
    Resource, Rules, Usage,
};
use crate::fleet::{Ppm, Rank};
use crate::grant_id::KEY_LEN;
use crate::suspension::{self, Cursor, Event, EventKind, ProbeClaim, Suspension, SuspensionReason};

/// Shards of the map: decisions on different orgs rarely wait for each other.
const SHARDS: usize = 64;
/// Budgets (an org and a resource) the store holds at most, by default:
/// each takes about 6 KB once used (its 24 h window of 60 s buckets).
pub const DEFAULT_MAX_ORGS: usize = 100_000;

/// What the store keeps per budget key.
#[derive(Default)]
struct Entry {
    /// The org's own budget, if it has one.
    budget: Option<Budget>,
    /// Calls counted and the org-wide view; kept when the budget is deleted,
    /// so that deleting and re-creating a budget frees nothing.
    counts: Counts,
    /// Grants handed back (by nonce), until when the mark is kept: a grant
    /// is released at most once.
    released: std::collections::HashMap<u64, i64>,
    /// Tokens granted per consumer, per bucket (kept with the window, so
    /// also when the budget is deleted).
    consumers: ConsumerCounts,
}

/// Budgets and windows in memory, sharded by key behind plain mutexes: each
/// critical section is a few arithmetic steps, never an await.
pub struct MemoryStore {
    rules: Rules,
    /// The process's clock, unless a test set one.
    clock: Clock,
    /// Active suspensions and every event, in order.
    suspensions: Mutex<Suspensions>,
    /// Wakes followers waiting for events.
    new_events: tokio::sync::Notify,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<BudgetKey, Entry>>>,
    /// Entries held, across shards, and the most allowed: a caller making
    /// up org ids cannot make the process grow without bound.
    held: AtomicUsize,
    max_held: usize,
    /// The secret grant ids are signed with, once one was asked for.
    grant_key: Mutex<Option<[u8; KEY_LEN]>>,
    /// The fleet views' sorted indexes, so that a page never walks every
    /// org.
    fleet: Mutex<FleetIndex>,
    /// Usage alert levels and their feed.
    alerts: Mutex<Alerts>,
}

/// Usage alerts kept in memory.
#[derive(Default)]
struct Alerts {
    /// Levels above 0.
    levels: HashMap<AlertKey, u8>,
    /// The newest alerts, at most [`ALERTS_KEPT`]; alert n has cursor
    /// (0, n).
    feed: std::collections::VecDeque<Alert>,
    /// Alerts ever appended: the last one's sequence number.
    appended: u64,
}

/// Usage alerts the embedded store keeps for watchers that fall behind.
const ALERTS_KEPT: usize = 10_000;

/// The sorted indexes of the fleet views.
#[derive(Default)]
struct FleetIndex {
    /// Every budget an org has of its own, in org order.
    budgets: std::collections::BTreeSet<BudgetKey>,
    /// Per resource, the orgs by share used, the largest first.
    ranks: HashMap<Resource, std::collections::BTreeSet<Rank>>,
    /// Where each budget stands in `ranks`.
    ranked: HashMap<BudgetKey, Rank>,
    /// The budgets that name usage alert thresholds of their own, by the
    /// lowest.
    floors: std::collections::BTreeSet<(u8, BudgetKey)>,
}

impl FleetIndex {
    /// Keeps `key`'s lowest own threshold (`None`: it names none, or has
    /// no budget) in `floors`.
    fn set_floor(&mut self, key: &BudgetKey, budget: Option<&Budget>) {
        self.floors.retain(|(_, k)| k != key);
        if let Some(t) = budget.and_then(|b| b.alert_thresholds) {
            self.floors.insert((t.lowest(), key.clone()));
        }
    }
}

impl MemoryStore {
    /// An empty store deciding by `rules`, holding at most
    /// [`DEFAULT_MAX_ORGS`] budgets.
    pub fn new(rules: Rules) -> Self {
        Self::bounded(rules, DEFAULT_MAX_ORGS)
    }

    /// An empty store deciding by `rules`, holding at most `max_orgs`
    /// budgets (an org counts once per resource it uses): beyond it, a new
    /// org is refused (`StoreError::Full`) until idle ones are forgotten.
    pub fn bounded(rules: Rules, max_orgs: usize) -> Self {
        Self::with(rules, max_orgs, Clock::Own)
    }

    /// An empty store deciding by `rules` at the times `clock` shows
    /// (suspensions keep the process's clock). Tests only: see [`Clock`]
    /// for why a governor cannot have one.
    #[cfg(feature = "test-clock")]
    pub fn with_clock(rules: Rules, clock: super::TestClock) -> Self {
        Self::with(rules, DEFAULT_MAX_ORGS, Clock::Set(clock))
    }

    fn with(rules: Rules, max_orgs: usize, clock: Clock) -> Self {
        Self {
            rules,
            clock,
            suspensions: Mutex::default(),
            new_events: tokio::sync::Notify::new(),
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            held: AtomicUsize::new(0),
            max_held: max_orgs,
            grant_key: Mutex::default(),
            fleet: Mutex::default(),
            alerts: Mutex::default(),
        }
    }

    fn fleet(&self) -> MutexGuard<'_, FleetIndex> {
        // Each critical section is a few set operations that cannot panic
        // half-way, so a poisoned lock is usable.
        self.fleet.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The entry of `key` in its `shard`, made when there is none yet and
    /// the store has room for it.
    fn entry<'s>(
        &self,
        shard: &'s mut HashMap<BudgetKey, Entry>,
        key: &BudgetKey,
    ) -> Result<&'s mut Entry, StoreError> {
        if !shard.contains_key(key) {
            let taken = self
                .held
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < self.max_held).then_some(n + 1)
                });
            if taken.is_err() {
                return Err(StoreError::Full(format!(
                    "the governor holds {} budgets in memory, the most --memory-max-orgs allows; \
                     idle ones are forgotten once their window empties",
                    self.max_held
                )));
            }
        }
        Ok(shard.entry(key.clone()).or_default())
    }

    /// Forgets, at `now_ms`, every entry that holds nothing any more: no
    /// budget of its own, no call nor consumer left in its window, no org-wide report
    /// still current, no grant it must remember was handed back. Returns how
    /// many were forgotten.
    pub fn forget_idle(&self, now_ms: i64) -> usize {
        let shape = &self.rules.shape;
        let mut forgotten = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = shard.len();
            shard.retain(|_, entry| {
                entry.counts.window.advance(shape, now_ms);
                entry.released.retain(|_, until| *until > now_ms);
                entry.budget.is_some()
                    || entry.counts.window.used() > 0
                    // Released calls leave the window's count, not the
                    // consumers': those stay until their bucket leaves.
                    || !entry
                        .consumers
                        .is_empty_at(shape, entry.counts.window.head())
                    || entry.counts.org_view(shape, now_ms).is_some()
                    || !entry.released.is_empty()
            });
            forgotten += before - shard.len();
        }
        self.held.fetch_sub(forgotten, Ordering::Relaxed);
        forgotten
    }

    /// Now, by the store's clock.
    fn now(&self) -> i64 {
        self.clock.set_ms().unwrap_or_else(now_ms)
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

/// Suspensions in memory: the active ones and the feed of events.
#[derive(Default)]
struct Suspensions {
    active: Vec<Kept>,
    events: Vec<Event>,
}

impl Kept {
    fn is(&self, org: &OrgId, reason: SuspensionReason) -> bool {
        self.suspension.org == *org && self.suspension.reason == reason
    }
}

/// An active suspension with its probe state.
struct Kept {
    suspension: Suspension,
    /// Current wait between probes, ms.
    backoff_ms: u64,
    /// A probe is out until then (ms): no other goes meanwhile.
    out_until_ms: i64,
    /// The nonce of the grant the last probe carried: only its holder may
    /// report how it went.
    probe_nonce: Option<u64>,
}

impl Suspensions {
    fn find(&self, org: &OrgId, reason: SuspensionReason) -> Option<&Kept> {
        self.active.iter().find(|k| k.is(org, reason))
    }

    fn push(
        &mut self,
        org: &OrgId,
        reason: SuspensionReason,
        kind: EventKind,
        detail: &str,
        automatic: bool,
    ) -> Event {
        let event = Event {
            cursor: Cursor {
                ms: 0,
                seq: self.events.len() as u64 + 1,
            },
            org: org.clone(),
            reason,
            kind,
            detail: detail.to_owned(),
            at_ms: now_ms(),
            automatic,
        };
        self.events.push(event.clone());
        event
    }

    fn after(&self, cursor: Cursor, limit: usize) -> Vec<Event> {
        // Memory cursors are (0, n): event n sits at index n - 1.
        let from = (cursor.seq as usize).min(self.events.len());
        self.events[from..].iter().take(limit).cloned().collect()
    }

    fn before(&self, before: Option<Cursor>, limit: usize) -> Vec<Event> {
        // Event n sits at index n - 1, so the events before it end at n - 1.
        let end = before.map_or(self.events.len(), |c| {
            (c.seq as usize).saturating_sub(1).min(self.events.len())
        });
        self.events[..end]
            .iter()
            .rev()
            .take(limit)
            .cloned()
            .collect()
    }
}

impl QuotaStore for MemoryStore {
    async fn set_budget(&self, key: &BudgetKey, budget: &Budget) -> Result<(), StoreError> {
        let mut shard = self.shard(key);
        self.entry(&mut shard, key)?.budget = Some(*budget);
        drop(shard);
        let mut fleet = self.fleet();
        fleet.budgets.insert(key.clone());
        fleet.set_floor(key, Some(budget));
        Ok(())
    }

    async fn replace_budget(
        &self,
        key: &BudgetKey,
        expected: Option<&Budget>,
        budget: &Budget,
    ) -> Result<bool, StoreError> {
        let mut shard = self.shard(key);
        // Checked and written under the shard's lock: no other write to
        // this budget can come in between.
        let current = shard.get(key).and_then(|e| e.budget);
        if current.as_ref() != expected {
            return Ok(false);
        }
        self.entry(&mut shard, key)?.budget = Some(*budget);
        drop(shard);
        let mut fleet = self.fleet();
        fleet.budgets.insert(key.clone());
        fleet.set_floor(key, Some(budget));
        Ok(true)
    }

    async fn get_budget(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> Result<Option<FoundBudget>, StoreError> {
        let own = self.shard(key).get(key).and_then(|e| e.budget);
        Ok(FoundBudget::pick(own, fallback))
    }

    async fn delete_budget(&self, key: &BudgetKey) -> Result<bool, StoreError> {
        let deleted = self
            .shard(key)
            .get_mut(key)
            .and_then(|e| e.budget.take())
            .is_some();
        let mut fleet = self.fleet();
        fleet.budgets.remove(key);
        fleet.set_floor(key, None);
        Ok(deleted)
    }

    async fn acquire(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
        consumer: &Consumer,
        fallback: Option<&Budget>,
    ) -> Result<Decision, StoreError> {
        let mut shard = self.shard(key);
        // One lookup on the hot path: a key is cloned and a slot taken
        // only when the org has no entry yet.
        let entry = match shard.get_mut(key) {
            Some(entry) => entry,
            None if fallback.is_none() => return Ok(Decision::unknown_org()),
            None => self.entry(&mut shard, key)?,
        };
        let Some(found) = FoundBudget::pick(entry.budget, fallback) else {
            return Ok(Decision::unknown_org());
        };
        let decision = domain::decide(
            &found.budget,
            &self.rules,
            &mut entry.counts,
            ask,
            priority,
            self.now(),
        );
        if let Outcome::Granted(grant) = &decision.outcome {
            // As decide.lua: in the bucket the grant was counted in.
            let shape = &self.rules.shape;
            let bucket = shape.bucket_of(grant.bucket_start_ms);
            entry.consumers.add(shape, bucket, consumer, grant.count);
        }
        Ok(decision)
    }

    async fn release(
        &self,
        key: &BudgetKey,
        grant: Grant,
        count: u64,
    ) -> Result<Released, StoreError> {
        let mut shard = self.shard(key);
        let now = self.now();
        let shape = &self.rules.shape;
        let Some(entry) = shard.get_mut(key) else {
            // Nothing was ever counted here: whatever the grant was, its
            // calls are no longer in any window.
            return Ok(Released {
                released: 0,
                used: 0,
                outcome: ReleaseOutcome::Expired,
            });
        };
        // As release.lua: a grant whose bucket left the window is expired,
        // whether or not it was handed back before.
        let looked = domain::release(&mut entry.counts, shape, grant, 0, now);
        if looked.outcome == ReleaseOutcome::Expired {
            return Ok(looked);
        }
        entry.released.retain(|_, until| *until > now);
        // Kept until the grant's bucket leaves the window, whatever the clock
        // does meanwhile: a retry neither moves nor shortens it.
        let until = shape.leaves_at_ms(shape.bucket_of(grant.bucket_start_ms));
        if entry.released.insert(grant.nonce, until).is_some() {
            return Ok(Released {
                outcome: ReleaseOutcome::AlreadyReleased,
                ..looked
            });
        }
        Ok(domain::release(&mut entry.counts, shape, grant, count, now))
    }

    async fn usage_of(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
        top: usize,
    ) -> Result<Option<Usage>, StoreError> {
        let shard = self.shard(key);
        let own = shard.get(key).and_then(|e| e.budget);
        let Some(found) = FoundBudget::pick(own, fallback) else {
            return Ok(None);
        };
        // Reading changes nothing, as on Redis (read.lua writes nothing):
        // the window moves on a copy, so a clock that steps back after a
        // read finds it where the last decision left it. An org never
        // counted reads as empty.
        let mut counts = shard
            .get(key)
            .map(|entry| entry.counts.clone())
            .unwrap_or_default();
        let none = ConsumerCounts::default();
        let consumers = shard.get(key).map_or(&none, |entry| &entry.consumers);
        Ok(Some(domain::usage(
            &found.budget,
            found.is_default,
            &mut counts,
            &self.rules.shape,
            self.now(),
            (top > 0).then_some((consumers, top)),
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
        if FoundBudget::pick(own, fallback).is_none() {
            return Ok(None);
        }
        let now = self.now();
        let entry = self.entry(&mut shard, key)?;
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

    async fn suspend(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        detail: &str,
    ) -> Result<(Suspension, Option<Event>), StoreError> {
        let mut s = self.suspensions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = s.find(org, reason) {
            return Ok((existing.suspension.clone(), None));
        }
        let event = s.push(org, reason, EventKind::Suspended, detail, false);
        let backoff_ms = self.rules.probe.first_ms;
        let suspension = Suspension {
            org: org.clone(),
            reason,
            detail: detail.to_owned(),
            since_ms: event.at_ms,
            probe_at_ms: suspension::probed(reason).then_some(event.at_ms + backoff_ms as i64),
        };
        s.active.push(Kept {
            suspension: suspension.clone(),
            backoff_ms,
            out_until_ms: 0,
            probe_nonce: None,
        });
        drop(s);
        self.new_events.notify_waiters();
        Ok((suspension, Some(event)))
    }

    async fn clear(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        automatic: bool,
    ) -> Result<Option<Event>, StoreError> {
        let mut s = self.suspensions.lock().unwrap_or_else(|p| p.into_inner());
        let Some(index) = s.active.iter().position(|k| k.is(org, reason)) else {
            return Ok(None);
        };
        let ended = s.active.remove(index);
        let event = s.push(
            org,
            reason,
            EventKind::Cleared,
            &ended.suspension.detail,
            automatic,
        );
        drop(s);
        self.new_events.notify_waiters();
        Ok(Some(event))
    }

    async fn snapshot(&self) -> Result<(Vec<Suspension>, Cursor), StoreError> {
        let s = self.suspensions.lock().unwrap_or_else(|p| p.into_inner());
        let active = s.active.iter().map(|k| k.suspension.clone()).collect();
        Ok((
            active,
            Cursor {
                ms: 0,
                seq: s.events.len() as u64,
            },
        ))
    }

    async fn claim_probe(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        nonce: u64,
    ) -> Result<ProbeClaim, StoreError> {
        let mut s = self.suspensions.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_ms();
        let Some(kept) = s.active.iter_mut().find(|k| k.is(org, reason)) else {
            return Ok(ProbeClaim::NotSuspended);
        };
        let due = kept.suspension.probe_at_ms.unwrap_or(i64::MAX);
        if now < due {
            return Ok(ProbeClaim::NotBefore(due));
        }
        if now < kept.out_until_ms {
            return Ok(ProbeClaim::NotBefore(kept.out_until_ms));
        }
        // The probe has as long as the back-off to report before another goes.
        kept.out_until_ms = now + kept.backoff_ms as i64;
        kept.probe_nonce = Some(nonce);
        Ok(ProbeClaim::Granted)
    }

    async fn probe_result(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        success: bool,
        nonce: u64,
    ) -> Result<ProbeOutcome, StoreError> {
        {
            let mut s = self.suspensions.lock().unwrap_or_else(|p| p.into_inner());
            let Some(kept) = s.active.iter_mut().find(|k| k.is(org, reason)) else {
                return Ok(ProbeOutcome::NotSuspended);
            };
            if kept.probe_nonce != Some(nonce) {
                return Ok(ProbeOutcome::NotTheProbe);
            }
            if !success {
                kept.backoff_ms = self.rules.probe.after_failure(kept.backoff_ms);
                let next = now_ms() + kept.backoff_ms as i64;
                kept.suspension.probe_at_ms = Some(next);
                kept.out_until_ms = 0;
                kept.probe_nonce = None;
                return Ok(ProbeOutcome::BackedOff(next));
            }
        }
        Ok(match self.clear(org, reason, true).await? {
            Some(event) => ProbeOutcome::Cleared(event),
            None => ProbeOutcome::NotSuspended,
        })
    }

    async fn events_after(&self, cursor: Cursor, limit: usize) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .suspensions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .after(cursor, limit))
    }

    async fn events_before(
        &self,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        Ok(self
            .suspensions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .before(before, limit))
    }

    async fn org_events_before(
        &self,
        _org: &OrgId,
        _before: Option<Cursor>,
        _limit: usize,
    ) -> Result<(Vec<Event>, Option<Cursor>), StoreError> {
        // Read in memory, the feed itself is fast enough to read through.
        Ok((Vec::new(), None))
    }

    async fn wait_events(&self, cursor: Cursor, wait: Duration) -> Result<Vec<Event>, StoreError> {
        // Register for the wake-up before looking, so none is missed.
        let notified = self.new_events.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let ready = self
            .suspensions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .after(cursor, 100);
        if !ready.is_empty() {
            return Ok(ready);
        }
        let _ = tokio::time::timeout(wait, notified).await;
        Ok(self
            .suspensions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .after(cursor, 100))
    }

    async fn grant_key(&self, candidate: &[u8; KEY_LEN]) -> Result<[u8; KEY_LEN], StoreError> {
        let mut kept = self.grant_key.lock().unwrap_or_else(|p| p.into_inner());
        Ok(*kept.get_or_insert(*candidate))
    }

    async fn list_budgets(
        &self,
        resource: Option<Resource>,
        after: Option<&BudgetKey>,
        limit: usize,
    ) -> Result<Page<(BudgetKey, Budget), BudgetKey>, StoreError> {
        use std::ops::Bound;
        let keys: Vec<BudgetKey> = {
            let fleet = self.fleet();
            let from = after.map_or(Bound::Unbounded, Bound::Excluded);
            fleet
                .budgets
                .range((from, Bound::Unbounded))
                .filter(|k| resource.is_none_or(|r| r == k.resource))
                .take(limit)
                .cloned()
                .collect()
        };
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        let items = keys
            .into_iter()
            .filter_map(|key| {
                let budget = self.shard(&key).get(&key).and_then(|e| e.budget)?;
                Some((key, budget))
            })
            .collect();
        Ok(Page { items, next })
    }

    async fn list_suspensions(
        &self,
        org: Option<&OrgId>,
        reason: Option<SuspensionReason>,
        after: Option<&(OrgId, SuspensionReason)>,
        limit: usize,
    ) -> Result<Page<Suspension, (OrgId, SuspensionReason)>, StoreError> {
        // Active suspensions are few next to orgs; the embedded store sorts
        // the matching ones. The Redis store reads its sorted index.
        let entry =
            |org: &OrgId, reason: SuspensionReason| crate::fleet::suspension_entry(org, reason);
        let after = after.map(|(o, r)| entry(o, *r));
        let mut found: Vec<(String, Suspension)> = self
            .suspensions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .active
            .iter()
            .map(|k| &k.suspension)
            .filter(|s| org.is_none_or(|o| *o == s.org) && reason.is_none_or(|r| r == s.reason))
            .map(|s| (entry(&s.org, s.reason), s.clone()))
            .filter(|(e, _)| after.as_ref().is_none_or(|a| e > a))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.truncate(limit);
        let next = (found.len() == limit)
            .then(|| found.last().map(|(_, s)| (s.org.clone(), s.reason)))
            .flatten();
        Ok(Page {
            items: found.into_iter().map(|(_, s)| s).collect(),
            next,
        })
    }

    async fn rank_usage(&self, key: &BudgetKey, ppm: Option<Ppm>) -> Result<(), StoreError> {
        let mut fleet = self.fleet();
        let FleetIndex { ranks, ranked, .. } = &mut *fleet;
        let ranks = ranks.entry(key.resource).or_default();
        if let Some(old) = ranked.remove(key) {
            ranks.remove(&old);
        }
        if let Some(ppm) = ppm {
            let rank = Rank::new(key.org.clone(), ppm);
            ranks.insert(rank.clone());
            ranked.insert(key.clone(), rank);
        }
        Ok(())
    }

    async fn usage_ranks(
        &self,
        resource: Resource,
        after: Option<&Rank>,
        limit: usize,
    ) -> Result<Page<Rank, Rank>, StoreError> {
        use std::ops::Bound;
        let fleet = self.fleet();
        let items: Vec<Rank> = fleet.ranks.get(&resource).map_or_else(Vec::new, |ranks| {
            let from = after.map_or(Bound::Unbounded, Bound::Excluded);
            ranks
                .range((from, Bound::Unbounded))
                .take(limit)
                .cloned()
                .collect()
        });
        let next = (items.len() == limit)
            .then(|| items.last().cloned())
            .flatten();
        Ok(Page { items, next })
    }

    async fn alert_floor(&self) -> Result<Option<u8>, StoreError> {
        Ok(self.fleet().floors.first().map(|(t, _)| *t))
    }

    async fn alert_levels(&self) -> Result<Vec<(AlertKey, u8)>, StoreError> {
        let alerts = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        Ok(alerts.levels.iter().map(|(k, l)| (k.clone(), *l)).collect())
    }

    async fn move_alert_level(
        &self,
        key: &AlertKey,
        from: u8,
        to: u8,
        crossing: Option<&Crossing>,
    ) -> Result<LevelMove, StoreError> {
        let mut alerts = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        if alerts.levels.get(key).copied().unwrap_or(0) != from {
            return Ok(LevelMove::Stale);
        }
        if to == 0 {
            alerts.levels.remove(key);
        } else {
            alerts.levels.insert(key.clone(), to);
        }
        let Some(crossing) = crossing else {
            return Ok(LevelMove::Moved(None));
        };
        alerts.appended += 1;
        let alert = Alert {
            cursor: Cursor {
                ms: 0,
                seq: alerts.appended,
            },
            crossing: crossing.clone(),
            at_ms: now_ms(),
        };
        if alerts.feed.len() == ALERTS_KEPT {
            alerts.feed.pop_front();
        }
        alerts.feed.push_back(alert.clone());
        Ok(LevelMove::Moved(Some(alert)))
    }

    async fn alerts_after(&self, cursor: Cursor, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let alerts = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        Ok(alerts
            .feed
            .iter()
            .filter(|a| a.cursor > cursor)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn last_alert(&self) -> Result<Cursor, StoreError> {
        let alerts = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Cursor {
            ms: 0,
            seq: alerts.appended,
        })
    }

    async fn housekeeping(self: std::sync::Arc<Self>) {
        // Every bucket, at most every minute: an org leaves as soon as its
        // last call has left its window.
        let every =
            Duration::from_millis(self.rules.shape.bucket_ms()).min(Duration::from_secs(60));
        loop {
            tokio::time::sleep(every).await;
            let forgotten = self.forget_idle(self.now());
            if forgotten > 0 {
                tracing::debug!(forgotten, "idle orgs forgotten");
            }
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(org: &str) -> BudgetKey {
        BudgetKey {
            org: OrgId::parse(org).unwrap(),
            resource: Resource::ApiRequests,
        }
    }

    /// Made-up org ids with no budget and no default are answered unknown
    /// without taking a place: the store's bound stays for real orgs.
    #[tokio::test]
    async fn unknown_orgs_take_no_place_in_a_bounded_store() {
        let rules = Rules {
            shape: crate::window::WindowShape::new(Duration::from_secs(60), Duration::from_secs(1))
                .unwrap(),
            org_margin_percent: 2,
            probe: Default::default(),
        };
        let store = MemoryStore::bounded(rules, 1);
        let consumer = Consumer::default();
        for i in 0..20 {
            let decision = store
                .acquire(
                    &key(&format!("made-up-{i}")),
                    Ask::exactly(1),
                    Priority::Normal,
                    &consumer,
                    None,
                )
                .await
                .unwrap();
            assert!(!decision.granted(), "{i}: {decision:?}");
        }
        let real = key("acme");
        store
            .set_budget(&real, &Budget::new(100, 10))
            .await
            .unwrap();
        let decision = store
            .acquire(&real, Ask::exactly(1), Priority::Normal, &consumer, None)
            .await
            .unwrap();
        assert!(decision.granted(), "{decision:?}");
        // The one place is taken now: a new org with a default is refused.
        let full = store
            .acquire(
                &key("another"),
                Ask::exactly(1),
                Priority::Normal,
                &consumer,
                Some(&Budget::new(100, 10)),
            )
            .await;
        assert!(matches!(full, Err(StoreError::Full(_))), "{full:?}");
    }
}
