//! Where budgets and windows live. One small trait, two implementations with
//! the same semantics: [`memory::MemoryStore`] for a single process with no
//! set-up, and [`redis::RedisStore`] for replicas sharing one Redis or a
//! Redis Cluster ([`conn`]; one Lua script round trip per decision). The
//! behaviour suite in `tests/` runs against each.
//!
//! The store owns the clock: the memory store reads the process's, the Redis
//! store reads Redis `TIME`, so all replicas sharing a Redis agree on it.
//! Only a test can set it instead ([`TestClock`], behind the `test-clock`
//! feature), to run the same history on every store.

use std::future::Future;
use std::time::Duration;

use crate::alerts::{Alert, AlertKey, Crossing};
use crate::consumers::Consumer;
use crate::domain::{
    Ask, Budget, Counts, Decision, Glance, Grant, OrgId, Priority, Released, Resource, Rules, Usage,
};
use crate::fleet::{Ppm, Rank};
use crate::grant_id::KEY_LEN;
use crate::suspension::{Cursor, Event, ProbeClaim, Suspension, SuspensionReason};

/// The clock a store decides by.
///
/// A governor always has [`Clock::Own`]: `app` opens its store with
/// `MemoryStore::bounded` or `RedisStore::open`, which take no clock, and
/// the only constructors taking one (`MemoryStore::with_clock`,
/// `RedisStore::open_with_clock`) exist only when the crate is built with
/// the `test-clock` feature, which only the tests package asks for (as a
/// dev-dependency, so not even `cargo build --workspace --bins` turns it
/// on). Nothing a caller sends over gRPC reaches the clock either way.
#[derive(Clone, Debug, Default)]
pub(crate) enum Clock {
    /// The store's own: the process's for the memory store, Redis `TIME`
    /// (in the scripts) for the Redis store.
    #[default]
    Own,
    /// A clock a test sets.
    #[cfg(feature = "test-clock")]
    Set(TestClock),
}

impl Clock {
    /// The time a test set; `None` for the store's own clock.
    pub(crate) fn set_ms(&self) -> Option<i64> {
        match self {
            Clock::Own => None,
            #[cfg(feature = "test-clock")]
            Clock::Set(clock) => Some(clock.now_ms()),
        }
    }
}

/// A clock a test sets and steps, forwards or backwards, shared by every
/// store it is given to (clones share the time). Tests only.
#[cfg(feature = "test-clock")]
#[derive(Clone, Debug)]
pub struct TestClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

#[cfg(feature = "test-clock")]
impl TestClock {
    /// A clock showing `ms` (milliseconds since the epoch).
    pub fn at(ms: i64) -> Self {
        Self(std::sync::Arc::new(std::sync::atomic::AtomicI64::new(ms)))
    }

    /// What it shows.
    pub fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sets it to `ms`.
    pub fn set(&self, ms: i64) {
        self.0.store(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The handle on Redis, one server or a cluster.
pub use syncgov_kit::redis_conn as conn;
pub mod memory;
pub mod redis;

/// Names one budget: an org and the resource governed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BudgetKey {
    /// The org.
    pub org: OrgId,
    /// The resource.
    pub resource: Resource,
}

pub use syncgov_kit::store::StoreError;

/// A budget as the store found it: the org's own, or the default one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoundBudget {
    /// The budget.
    pub budget: Budget,
    /// True when the org has none of its own and the default applies.
    pub is_default: bool,
}

impl FoundBudget {
    /// The budget that applies to an org: its `own` when it has one, else
    /// the `fallback` (the default budget); `None` when neither exists.
    pub fn pick(own: Option<Budget>, fallback: Option<&Budget>) -> Option<Self> {
        match (own, fallback) {
            (Some(budget), _) => Some(Self {
                budget,
                is_default: false,
            }),
            (None, Some(&budget)) => Some(Self {
                budget,
                is_default: true,
            }),
            (None, None) => None,
        }
    }
}

/// Storage of budgets and rolling windows.
///
/// Every method is atomic for one budget: concurrent calls, from one process
/// or from several replicas sharing the store, behave as if run one by one.
pub trait QuotaStore: Send + Sync + 'static {
    /// Creates or replaces a budget.
    fn set_budget(
        &self,
        key: &BudgetKey,
        budget: &Budget,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates or replaces a budget only if the org's own budget is still
    /// exactly `expected` (`None`: only if it has none of its own), checking
    /// and writing in one atomic step; false when it differs, and then
    /// nothing is written. What a conditional SetBudget rests on.
    fn replace_budget(
        &self,
        key: &BudgetKey,
        expected: Option<&Budget>,
        budget: &Budget,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Reads a budget; `fallback` (the default budget) when the org has none.
    fn get_budget(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> impl Future<Output = Result<Option<FoundBudget>, StoreError>> + Send;

    /// Removes a budget; false when there was none. The window stays.
    fn delete_budget(
        &self,
        key: &BudgetKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Decides a request for tokens and counts a grant, atomically, for
    /// `consumer` too (in the bucket the grant is counted in, named unless
    /// the bucket already names `consumers::CONSUMER_CAP` others).
    fn acquire(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
        consumer: &Consumer,
        fallback: Option<&Budget>,
    ) -> impl Future<Output = Result<Decision, StoreError>> + Send;

    /// Hands back up to `count` unused tokens of `grant`.
    fn release(
        &self,
        key: &BudgetKey,
        grant: Grant,
        count: u64,
    ) -> impl Future<Output = Result<Released, StoreError>> + Send;

    /// Reports the usage of a budget; `None` when it has no budget.
    fn usage(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> impl Future<Output = Result<Option<Usage>, StoreError>> + Send {
        self.usage_of(key, fallback, 0)
    }

    /// Reports the usage of a budget with its `top` consumers (0: none,
    /// and the consumers are not read); `None` when it has no budget.
    fn usage_of(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
        top: usize,
    ) -> impl Future<Output = Result<Option<Usage>, StoreError>> + Send;

    /// What the usage view shows of each of `keys` (`None` where there is
    /// no budget), in their order: the numbers of [`QuotaStore::usage`],
    /// read for a whole page at once. The default reads each usage in full;
    /// a store may read only what a glance needs.
    fn glances(
        &self,
        keys: &[BudgetKey],
        fallback: Option<&Budget>,
    ) -> impl Future<Output = Result<Vec<Option<Glance>>, StoreError>> + Send {
        let read = keys.iter().map(move |key| async move {
            Ok::<_, StoreError>(self.usage(key, fallback).await?.map(|u| u.glance()))
        });
        futures_util::future::try_join_all(read)
    }

    /// Keeps a report of the org's usage; `None` when the org has no budget.
    fn report_org_usage(
        &self,
        key: &BudgetKey,
        used: u64,
        max: u64,
        observed_at_ms: Option<i64>,
        fallback: Option<&Budget>,
    ) -> impl Future<Output = Result<Option<OrgReport>, StoreError>> + Send;

    /// Suspends `org` for `reason` unless it already is. Returns the
    /// suspension as it stands, and the event when it began now.
    fn suspend(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        detail: &str,
    ) -> impl Future<Output = Result<(Suspension, Option<Event>), StoreError>> + Send;

    /// Ends `org`'s suspension for `reason`; the event when there was one.
    /// `automatic` says the governor ended it, not an operator.
    fn clear(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        automatic: bool,
    ) -> impl Future<Output = Result<Option<Event>, StoreError>> + Send;

    /// Lets one token request through `org`'s suspension for `reason` as its
    /// probe, once the back-off has passed and no other probe is out; across
    /// replicas, one request wins. `nonce` is the nonce of the grant the
    /// probe will carry: only its holder may report how the probe went.
    fn claim_probe(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        nonce: u64,
    ) -> impl Future<Output = Result<ProbeClaim, StoreError>> + Send;

    /// Records how the probe of grant `nonce` went: success ends the
    /// suspension (the event is returned), failure doubles the back-off
    /// (the next probe's time is). Any other grant changes nothing.
    fn probe_result(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        success: bool,
        nonce: u64,
    ) -> impl Future<Output = Result<ProbeOutcome, StoreError>> + Send;

    /// Every active suspension, and the feed's cursor they stand at: one
    /// consistent snapshot, to follow the feed from.
    fn snapshot(
        &self,
    ) -> impl Future<Output = Result<(Vec<Suspension>, Cursor), StoreError>> + Send;

    /// Up to `limit` events after `cursor`, oldest first.
    fn events_after(
        &self,
        cursor: Cursor,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// Up to `limit` events before `before` (the newest when `None`),
    /// newest first: the feed read backwards, for an org's history.
    fn events_before(
        &self,
        before: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// Up to `limit` of `org`'s events before `before` (the newest when
    /// `None`), newest first, from the org's own index of the feed, and
    /// where that index begins: it holds every event of `org` from that
    /// cursor on, and older ones are found only by reading the feed
    /// ([`QuotaStore::events_before`]). `None`: the store keeps no such
    /// index (the feed is read).
    fn org_events_before(
        &self,
        org: &OrgId,
        before: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Event>, Option<Cursor>), StoreError>> + Send;

    /// Events after `cursor`, waiting up to `wait` for the first one: the
    /// feed one follower per replica tails.
    fn wait_events(
        &self,
        cursor: Cursor,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// The secret grant ids are signed with, shared by every replica of
    /// this store: the one kept, or `candidate` when none is kept yet (it is
    /// kept from then on).
    fn grant_key(
        &self,
        candidate: &[u8; KEY_LEN],
    ) -> impl Future<Output = Result<[u8; KEY_LEN], StoreError>> + Send;

    /// Budgets of every org in org order (then resource), after `after`,
    /// up to `limit`; only of `resource` when given. Reads a sorted index,
    /// never every org.
    fn list_budgets(
        &self,
        resource: Option<Resource>,
        after: Option<&BudgetKey>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<(BudgetKey, Budget), BudgetKey>, StoreError>> + Send;

    /// Active suspensions in org order (then reason), after `after`, up to
    /// `limit`; only of `org` and of `reason` when given. Reads a sorted
    /// index, never every suspension.
    fn list_suspensions(
        &self,
        org: Option<&OrgId>,
        reason: Option<SuspensionReason>,
        after: Option<&(OrgId, SuspensionReason)>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Suspension, (OrgId, SuspensionReason)>, StoreError>> + Send;

    /// Puts `key` at its share used (`None`: takes it out) in the usage
    /// index of its resource.
    fn rank_usage(
        &self,
        key: &BudgetKey,
        ppm: Option<Ppm>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The usage index of `resource`, the largest share first, after
    /// `after`, up to `limit`.
    fn usage_ranks(
        &self,
        resource: Resource,
        after: Option<&Rank>,
        limit: usize,
    ) -> impl Future<Output = Result<Page<Rank, Rank>, StoreError>> + Send;

    /// The lowest usage alert threshold any budget names of its own
    /// (`None`: none names its own). Reads a sorted index, never every
    /// budget.
    fn alert_floor(&self) -> impl Future<Output = Result<Option<u8>, StoreError>> + Send;

    /// Every usage alert level held (above 0): the budgets whose usage
    /// reached a threshold and did not fall back below it since. As many
    /// as there are budgets near a threshold, not every budget.
    fn alert_levels(&self) -> impl Future<Output = Result<Vec<(AlertKey, u8)>, StoreError>> + Send;

    /// Moves the level of `key` from `from` to `to`, only if it still is
    /// `from`, and then appends `crossing`, if any, to the alert feed: one
    /// atomic check-and-set, so that of replicas that saw the same
    /// crossing exactly one appends it.
    fn move_alert_level(
        &self,
        key: &AlertKey,
        from: u8,
        to: u8,
        crossing: Option<&Crossing>,
    ) -> impl Future<Output = Result<LevelMove, StoreError>> + Send;

    /// Up to `limit` usage alerts after `cursor`, oldest first.
    fn alerts_after(
        &self,
        cursor: Cursor,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;

    /// The newest usage alert's cursor (the default one when there is
    /// none): where a watcher from now on starts.
    fn last_alert(&self) -> impl Future<Output = Result<Cursor, StoreError>> + Send;

    /// What the store does by itself, beside the server, until dropped:
    /// the embedded store forgets the orgs that hold nothing any more; a
    /// Redis store has nothing to do (its keys expire).
    fn housekeeping(self: std::sync::Arc<Self>) -> impl Future<Output = ()> + Send
    where
        Self: Sized,
    {
        std::future::ready(())
    }

    /// Checks that the store answers, for health.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One page read off a sorted index: what it held, and where the next page
/// starts (`None`: this was the last). A page may hold fewer than asked and
/// still not be the last, when index entries were gone by the time they
/// were read.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T, A> {
    /// What the page holds, in index order.
    pub items: Vec<T>,
    /// The last index entry read, when there may be more after it.
    pub next: Option<A>,
}

/// The org-wide view after a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrgReport {
    /// False when a newer report was already kept.
    pub accepted: bool,
    /// The org's usage as estimated now.
    pub estimate: u64,
    /// The org limit in force.
    pub org_limit: u64,
    /// The estimate at which grants stop.
    pub ceiling: u64,
}

impl OrgReport {
    /// The outcome of a report, read off the counts it left.
    pub fn of(counts: &Counts, accepted: bool, rules: &Rules) -> Self {
        let view = counts.org.unwrap_or_default();
        Self {
            accepted,
            estimate: view.estimate(),
            org_limit: view.reported_max,
            ceiling: view.ceiling(view.reported_max, rules.org_margin_percent),
        }
    }
}

/// What [`QuotaStore::move_alert_level`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LevelMove {
    /// The level was not `from` any more: another replica moved it first;
    /// nothing changed.
    Stale,
    /// The level moved, and the crossing, if any, was appended as this.
    Moved(Option<Alert>),
}

/// What a probe's result did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The suspension ended.
    Cleared(Event),
    /// It stays; the next probe may go then (ms).
    BackedOff(i64),
    /// There was no such suspension.
    NotSuspended,
    /// The grant named is not the probe out for this suspension: nothing
    /// changed.
    NotTheProbe,
}
