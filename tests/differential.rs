//! Differential property tests of the governor's stores: one random history
//! of budgets (with overrides that expire), acquires (all or nothing and
//! leases, alone and in bursts), releases (some of them twice), org-wide
//! usage reports, usage reads, and clock steps forwards and backwards runs
//! on the memory store, on a real Redis and on a real Redis Cluster, each
//! Redis both deciding one by one and coalescing (a burst goes to Redis as
//! one `acquire_many.lua` call). All stores read one clock the test sets
//! (`TestClock`, which the scripts receive in place of Redis `TIME`).
//!
//! Every reply of every store is compared field by field with the memory
//! store's (usage reads with their top consumers: each request names one,
//! and with the usage view's read of the same numbers, `glance.lua`), so
//! `window.lua`, `glance.lua` and `decide.lua` are held to `window.rs` and
//! `domain::decide` on the same histories; and every decision, release and
//! report is compared with a reference model written from the documented
//! rules, which keeps the calls of each bucket in a map rather than a ring
//! and knows nothing of the code under test. Whatever the clock did, the
//! window must still count every call that has not had a whole window (and
//! at most one bucket more) to leave since the newest time the clock showed.
//!
//! One Redis and one cluster serve all the cases of a test; each case works
//! on an org of its own, so cases never see each other's keys.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use quota_governor::consumers::{CONSUMER_CAP, Consumer, ConsumerReport};
use quota_governor::domain::{
    AllocationOverride, Ask, Budget, Decision, DenyReason, Grant, OrgId, Outcome, Priority,
    ReleaseOutcome, Released, Resource, Rules, Shares,
};
use quota_governor::store::conn::Endpoint;
use quota_governor::store::memory::MemoryStore;
use quota_governor::store::redis::RedisStore;
use quota_governor::store::{BudgetKey, OrgReport, QuotaStore, TestClock};
use quota_governor::window::WindowShape;
use syncgov_tests::RedisServer;
use syncgov_tests::cluster::{self, ClusterLease};

/// Histories per test; each runs on five stores. Kept modest so that the
/// whole target takes a minute or two on two busy cores.
const CASES: u32 = 256;
/// Steps of one history, at most.
const MAX_STEPS: usize = 48;

/// One request for tokens.
#[derive(Clone, Copy, Debug)]
struct Request {
    count: u32,
    /// `count` for all or nothing; below it, a lease.
    min: u32,
    priority: Priority,
    /// Who asks: a number naming a client, an object and an operation.
    consumer: u8,
}

/// One step of a history.
#[derive(Clone, Debug)]
enum Step {
    /// The org's own budget, replaced; an override ends `ends_in_ms` after now.
    SetBudget {
        org_limit: u64,
        allocation: u64,
        shares: [u64; 3],
        allowance: Option<(u64, i64)>,
        /// Shadow mode: what the allocation or a share would deny goes
        /// through under the org limit, flagged.
        shadow: bool,
    },
    /// The org's own budget goes; the default applies, if the case has one.
    DeleteBudget,
    Acquire(Request),
    /// Requests sent at once: one batch for the coalescing stores.
    Burst(Vec<Request>),
    /// Hands back `count` of the grant numbered `grant` (modulo the grants
    /// made), whether or not it was handed back before.
    Release {
        grant: usize,
        count: u64,
    },
    /// The org's usage as a worker saw it, `age_ms` ago (negative: a worker
    /// whose clock is ahead); `None`: as of now.
    Report {
        used: u64,
        max: u64,
        age_ms: Option<i64>,
    },
    Usage,
    /// The clock moves by `ms`, forwards or backwards.
    Clock {
        ms: i64,
    },
}

fn request() -> impl Strategy<Value = Request> {
    let priority = prop_oneof![
        Just(Priority::Retry),
        Just(Priority::Normal),
        Just(Priority::Critical)
    ];
    (1u32..30, 0u32..30, priority, 0u8..CONSUMERS).prop_map(|(count, min, priority, consumer)| {
        Request {
            count,
            // About half all or nothing, half leases.
            min: if min == 0 || min > count { count } else { min },
            priority,
            consumer,
        }
    })
}

/// A step, for a window of buckets of `bucket_ms`, `buckets` of them.
fn step(bucket_ms: i64, buckets: i64) -> impl Strategy<Value = Step> {
    let window_ms = bucket_ms * buckets;
    let shares = (1u64..=100, 1u64..=100, 1u64..=100).prop_map(|(a, b, c)| {
        let mut s = [a, b, c];
        s.sort_unstable();
        s
    });
    prop_oneof![
        1 => (50u64..400, 0u64..=100, shares, proptest::option::of((0u64..=100, 1i64..3 * window_ms)), proptest::bool::weighted(0.4))
            .prop_map(|(org_limit, percent, shares, allowance, shadow)| Step::SetBudget {
                org_limit,
                allocation: org_limit * percent / 100,
                shares,
                allowance: allowance.map(|(p, ends)| (org_limit * p / 100, ends)),
                shadow,
            }),
        1 => Just(Step::DeleteBudget),
        10 => request().prop_map(Step::Acquire),
        2 => proptest::collection::vec(request(), 2..8).prop_map(Step::Burst),
        3 => (0usize..64, 1u64..30).prop_map(|(grant, count)| Step::Release { grant, count }),
        2 => (0u64..300, 1u64..400, proptest::option::of(-bucket_ms..2 * window_ms))
            .prop_map(|(used, max, age_ms)| Step::Report { used, max, age_ms }),
        1 => Just(Step::Usage),
        8 => prop_oneof![
            // Within a bucket or a few, the common case.
            6 => 0..3 * bucket_ms,
            // Past the whole window.
            1 => window_ms..3 * window_ms,
            // Back: a clock corrected by NTP, a failover to a slower master.
            3 => -3 * bucket_ms..0,
        ]
        .prop_map(|ms| Step::Clock { ms }),
    ]
}

/// A whole case: the window's shape, the default budget, the org margin,
/// where in its bucket the clock starts, and the history.
#[derive(Clone, Debug)]
struct Case {
    bucket_ms: i64,
    buckets: i64,
    margin: u8,
    default: Option<(u64, u64)>,
    offset_ms: i64,
    steps: Vec<Step>,
}

fn case() -> impl Strategy<Value = Case> {
    (prop_oneof![Just(1_000i64), Just(250)], 1i64..6).prop_flat_map(|(bucket_ms, buckets)| {
        (
            prop_oneof![Just(0u8), Just(10)],
            proptest::option::of((100u64..300, 0u64..=100)),
            0..bucket_ms,
            proptest::collection::vec(step(bucket_ms, buckets), 1..MAX_STEPS),
        )
            .prop_map(move |(margin, default, offset_ms, steps)| Case {
                bucket_ms,
                buckets,
                margin,
                default: default.map(|(limit, percent)| (limit, limit * percent / 100)),
                offset_ms,
                steps,
            })
    })
}

/// The five stores a history runs on, all on one clock.
struct Stores {
    clock: TestClock,
    memory: MemoryStore,
    /// The others: each with its name for messages, whether it coalesces,
    /// and the key it keeps the case's budget under (two of them share each
    /// Redis: each its own org).
    others: Vec<Other>,
}

/// A Redis store of the comparison.
struct Other {
    name: &'static str,
    store: RedisStore,
    coalescing: bool,
    key: BudgetKey,
}

/// Where the Redis stores live: one Redis and one cluster per test.
struct Servers {
    redis: RedisServer,
    cluster: ClusterLease,
}

impl Servers {
    fn start() -> Self {
        Self {
            redis: RedisServer::start(),
            cluster: cluster::lease(),
        }
    }

    fn stores(&self, rules: Rules, clock: &TestClock, key: &BudgetKey) -> Stores {
        let single = Endpoint::Single(self.redis.url());
        let nodes = Endpoint::Cluster(self.cluster.seeds());
        // What is compared does not depend on speed.
        let timeout = Duration::from_secs(30);
        let open = |name, endpoint: &Endpoint, coalescing| Other {
            name,
            store: RedisStore::open_with_clock(endpoint, rules, timeout, coalescing, clock.clone())
                .expect("a redis store"),
            coalescing,
            key: BudgetKey {
                org: OrgId::parse(&format!("{}-{}", key.org, u8::from(coalescing)))
                    .expect("an org id"),
                resource: key.resource,
            },
        };
        Stores {
            clock: clock.clone(),
            memory: MemoryStore::with_clock(rules, clock.clone()),
            others: vec![
                open("redis", &single, false),
                open("redis, coalesced", &single, true),
                open("cluster", &nodes, false),
                open("cluster, coalesced", &nodes, true),
            ],
        }
    }
}

/// Calls of one bucket, as the model keeps them.
#[derive(Clone, Copy, Debug, Default)]
struct View {
    used: u64,
    max: u64,
    at_ms: i64,
    since: u64,
}

/// The reference model: the documented rules, over a map of bucket to
/// calls. A call made in bucket `b` counts until the newest bucket the clock
/// has shown reaches `b + buckets + 1`; a clock that steps back keeps the
/// newest bucket, and grants made meanwhile count in it.
struct Model {
    bucket_ms: i64,
    buckets: i64,
    margin: u64,
    own: Option<Budget>,
    default: Option<Budget>,
    /// The newest bucket, once a call was counted since everything left.
    head: Option<i64>,
    calls: BTreeMap<i64, u64>,
    org: Option<View>,
    /// Grants handed back, by number.
    released: HashSet<usize>,
}

impl Model {
    fn window_ms(&self) -> i64 {
        self.bucket_ms * self.buckets
    }

    fn bucket(&self, now: i64) -> i64 {
        now.div_euclid(self.bucket_ms)
    }

    /// Moves to `now`; returns the bucket counted as newest.
    fn advance(&mut self, now: i64) -> i64 {
        let current = self.bucket(now);
        match self.head {
            Some(head) if current - head > self.buckets => {
                self.head = None;
                self.calls.clear();
                current
            }
            Some(head) => {
                self.head = Some(head.max(current));
                head.max(current)
            }
            None => current,
        }
    }

    /// Buckets still counted, oldest first, with their calls.
    fn counted(&self, newest: i64) -> Vec<(i64, u64)> {
        if self.head.is_none() {
            return Vec::new();
        }
        self.calls
            .range(newest - self.buckets..=newest)
            .map(|(&b, &c)| (b, c))
            .collect()
    }

    fn used(&self, newest: i64) -> u64 {
        self.counted(newest).iter().map(|(_, c)| c).sum()
    }

    /// The calls a store would count at `now`, changing nothing.
    fn used_at(&self, now: i64) -> u64 {
        match self.head {
            Some(head) if self.bucket(now) - head <= self.buckets => {
                self.used(head.max(self.bucket(now)))
            }
            _ => 0,
        }
    }

    fn budget(&self) -> Option<(Budget, bool)> {
        match (self.own, self.default) {
            (Some(own), _) => Some((own, false)),
            (None, Some(default)) => Some((default, true)),
            (None, None) => None,
        }
    }

    fn view(&self, now: i64) -> Option<View> {
        self.org.filter(|v| now - v.at_ms < self.window_ms())
    }

    fn decide(&mut self, request: Request, now: i64) -> Decision {
        let Some((budget, _)) = self.budget() else {
            return Decision::unknown_org();
        };
        let view = self.view(now);
        let org_limit = view.map_or(budget.org_limit, |v| v.max);
        let in_force = match budget.allocation_override {
            Some(o) if now < o.expires_at_ms => o.allocation,
            _ => budget.allocation,
        };
        let share = u64::from(budget.shares.of(request.priority));
        let allocation = in_force.min(org_limit);
        let limit = (in_force * share / 100).min(allocation);
        let newest = self.advance(now);
        let used = self.used(newest);
        // The org-wide room, when a report is current: the margin's ceiling
        // less what the org was seen to use and this integration's grants since.
        let org_room = view.map_or(u64::MAX, |v| {
            (org_limit * (100 - self.margin) / 100).saturating_sub(v.used + v.since)
        });
        let count = u64::from(request.count)
            .min(limit.saturating_sub(used))
            .min(org_room);
        if count >= u64::from(request.min.max(1)) {
            return self.grant(newest, view.is_some(), count, used, allocation, limit, None);
        }
        let wanted = used + u64::from(request.min);
        let (reason, retry_after_ms) = if wanted <= limit {
            (DenyReason::OrgLimitExhausted, None)
        } else {
            let reason = if wanted > allocation {
                DenyReason::AllocationExhausted
            } else {
                DenyReason::PriorityShareExhausted
            };
            // The first time enough calls have left, oldest first.
            let mut freed = 0;
            let mut after = None;
            if u64::from(request.min) <= limit {
                for (b, calls) in self.counted(newest) {
                    freed += calls;
                    if freed >= wanted - limit {
                        let leaves = (b + self.buckets + 1) * self.bucket_ms;
                        after = Some((leaves - now).max(0) as u64);
                        break;
                    }
                }
            }
            (reason, after)
        };
        if budget.shadow && reason != DenyReason::OrgLimitExhausted {
            // Shadow mode: the org limit in force is the only cap left,
            // besides the org-wide room.
            let count = u64::from(request.count)
                .min(org_limit.saturating_sub(used))
                .min(org_room);
            if count >= u64::from(request.min.max(1)) {
                return self.grant(
                    newest,
                    view.is_some(),
                    count,
                    used,
                    allocation,
                    limit,
                    Some(reason),
                );
            }
            return Decision {
                outcome: Outcome::Denied {
                    reason: DenyReason::OrgLimitExhausted,
                    retry_after_ms: None,
                },
                used,
                allocation,
                remaining: limit.saturating_sub(used),
                shadow_denied: None,
            };
        }
        Decision {
            outcome: Outcome::Denied {
                reason,
                retry_after_ms,
            },
            used,
            allocation,
            remaining: limit.saturating_sub(used),
            shadow_denied: None,
        }
    }

    /// Counts `count` calls in bucket `newest` (and in the org's grants
    /// since its report, while one is current).
    #[allow(clippy::too_many_arguments)]
    fn grant(
        &mut self,
        newest: i64,
        view_current: bool,
        count: u64,
        used: u64,
        allocation: u64,
        limit: u64,
        shadow_denied: Option<DenyReason>,
    ) -> Decision {
        self.head = Some(newest);
        *self.calls.entry(newest).or_default() += count;
        if let (Some(org), true) = (self.org.as_mut(), view_current) {
            org.since += count;
        }
        Decision {
            outcome: Outcome::Granted(Grant {
                bucket_start_ms: newest * self.bucket_ms,
                count,
                nonce: 0,
            }),
            used: used + count,
            allocation,
            remaining: limit.saturating_sub(used + count),
            shadow_denied,
        }
    }

    fn release(&mut self, number: usize, grant: Grant, count: u64, now: i64) -> Released {
        let newest = self.advance(now);
        let bucket = self.bucket(grant.bucket_start_ms);
        if self.head.is_none() || bucket > newest || bucket < newest - self.buckets {
            return Released {
                released: 0,
                used: self.used(newest),
                outcome: ReleaseOutcome::Expired,
            };
        }
        if !self.released.insert(number) {
            return Released {
                released: 0,
                used: self.used(newest),
                outcome: ReleaseOutcome::AlreadyReleased,
            };
        }
        let held = self.calls.entry(bucket).or_default();
        let released = count.min(grant.count).min(*held);
        *held -= released;
        let bucket_ms = self.bucket_ms;
        if let Some(org) = self
            .org
            .as_mut()
            .filter(|org| bucket >= org.at_ms.div_euclid(bucket_ms))
        {
            org.since = org.since.saturating_sub(released);
        }
        Released {
            released,
            used: self.used(newest),
            outcome: ReleaseOutcome::Released,
        }
    }

    fn report(&mut self, used: u64, max: u64, at: Option<i64>, now: i64) -> Option<OrgReport> {
        self.budget()?;
        let at = at.unwrap_or(now).min(now);
        let margin = self.margin;
        let ceiling = move |max: u64| max * (100 - margin) / 100;
        if let Some(kept) = self.org.filter(|v| v.at_ms > at) {
            return Some(OrgReport {
                accepted: false,
                estimate: kept.used + kept.since,
                org_limit: kept.max,
                ceiling: ceiling(kept.max),
            });
        }
        let newest = self.advance(now);
        let from = self.bucket(at);
        let since = self
            .counted(newest)
            .iter()
            .filter(|(b, _)| *b >= from)
            .map(|(_, c)| c)
            .sum();
        self.org = Some(View {
            used,
            max,
            at_ms: at,
            since,
        });
        if let Some(own) = self.own.as_mut() {
            own.org_limit = max;
        }
        Some(OrgReport {
            accepted: true,
            estimate: used + since,
            org_limit: max,
            ceiling: ceiling(max),
        })
    }
}

/// A grant made during a history.
struct Made {
    grant: Grant,
    /// Tokens not handed back.
    net: u64,
}

/// Tells apart the orgs of every case run by this process.
static NEXT_ORG: AtomicU64 = AtomicU64::new(0);

/// Consumers a history draws from: more than a bucket names, so that a
/// burst-heavy history sometimes counts some under `(other)`.
const CONSUMERS: u8 = 48;

/// The consumer numbered `n`: 40 clients, each with some object and
/// operation or none.
fn consumer(n: u8) -> Consumer {
    let objects = ["", "Contact", "Invoice__c"];
    let operations = ["", "query", "bulk-insert"];
    Consumer::parse(
        &format!("w{}", n % 40),
        objects[usize::from(n) % 3],
        operations[usize::from(n / 3) % 3],
    )
    .expect("a valid consumer")
}

fn ask(r: Request) -> Ask {
    Ask {
        count: r.count,
        min: r.min,
    }
}

/// Runs `case` on every store and the model, failing at the first reply
/// that differs.
async fn run(servers: &Servers, case: Case, label: &str) -> Result<(), TestCaseError> {
    let shape = WindowShape::new(
        Duration::from_millis((case.bucket_ms * case.buckets) as u64),
        Duration::from_millis(case.bucket_ms as u64),
    )
    .expect("a valid shape");
    let rules = Rules {
        shape,
        org_margin_percent: case.margin,
        probe: Default::default(),
    };
    // A day ahead of the real clock, on a bucket boundary plus the case's
    // offset: the keys' expiry (set from this clock, kept by Redis' own)
    // then never strikes while the case runs.
    let day = 86_400_000;
    let start = (syncgov_kit::clock::now_ms() + day) / day * day + case.offset_ms;
    let clock = TestClock::at(start);
    let key = BudgetKey {
        org: OrgId::parse(&format!(
            "{label}-{}",
            NEXT_ORG.fetch_add(1, Ordering::Relaxed)
        ))
        .expect("an org id"),
        resource: Resource::ApiRequests,
    };
    let stores = servers.stores(rules, &clock, &key);
    let default = case
        .default
        .map(|(limit, allocation)| Budget::new(limit, allocation));
    let fallback = default.as_ref();
    let mut model = Model {
        bucket_ms: case.bucket_ms,
        buckets: case.buckets,
        margin: u64::from(case.margin),
        own: None,
        default,
        head: None,
        calls: BTreeMap::new(),
        org: None,
        released: HashSet::new(),
    };
    let mut made: Vec<Made> = Vec::new();
    // The newest time the clock has shown.
    let mut newest_ms = start;

    for (index, step) in case.steps.into_iter().enumerate() {
        let now = stores.clock.now_ms();
        let at = |what: &str| format!("step {index} ({what}) at {}", now - start);
        match step {
            Step::Clock { ms } => {
                stores.clock.set(now + ms);
                newest_ms = newest_ms.max(now + ms);
            }
            Step::SetBudget {
                org_limit,
                allocation,
                shares,
                allowance,
                shadow,
            } => {
                let budget = Budget {
                    org_limit,
                    allocation,
                    shares: Shares::new(shares[0], shares[1], shares[2]).expect("valid shares"),
                    allocation_override: allowance.map(|(allocation, ends_in_ms)| {
                        AllocationOverride {
                            allocation,
                            expires_at_ms: now + ends_in_ms,
                        }
                    }),
                    shadow,
                    alert_thresholds: None,
                };
                budget.validate(now).expect("a budget the API would take");
                stores.memory.set_budget(&key, &budget).await.unwrap();
                for other in &stores.others {
                    other.store.set_budget(&other.key, &budget).await.unwrap();
                }
                model.own = Some(budget);
            }
            Step::DeleteBudget => {
                let had = stores.memory.delete_budget(&key).await.unwrap();
                prop_assert_eq!(had, model.own.is_some(), "{}", at("delete"));
                for o in &stores.others {
                    let theirs = o.store.delete_budget(&o.key).await.unwrap();
                    prop_assert_eq!(theirs, had, "{} on {}", at("delete"), o.name);
                }
                model.own = None;
            }
            Step::Acquire(request) => {
                let requests = vec![request];
                decide_all(
                    &stores, &key, fallback, &requests, &mut model, &mut made, now,
                )
                .await
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", at("acquire"))))?;
            }
            Step::Burst(requests) => {
                decide_all(
                    &stores, &key, fallback, &requests, &mut model, &mut made, now,
                )
                .await
                .map_err(|e| TestCaseError::fail(format!("{}: {e}", at("burst"))))?;
            }
            Step::Release { grant, count } => {
                if made.is_empty() {
                    continue;
                }
                let number = grant % made.len();
                // An honest caller hands back at most what it did not use;
                // a second release of the same grant is a retry.
                let count = count.min(made[number].net).max(1);
                let grant = made[number].grant.with_nonce(number as u64 + 1);
                let mine = stores.memory.release(&key, grant, count).await.unwrap();
                let expected = model.release(number, grant, count, now);
                prop_assert_eq!(
                    mine,
                    expected,
                    "{}: memory against the model",
                    at("release")
                );
                for o in &stores.others {
                    let theirs = o.store.release(&o.key, grant, count).await.unwrap();
                    prop_assert_eq!(theirs, mine, "{} on {}", at("release"), o.name);
                }
                made[number].net -= mine.released;
            }
            Step::Report { used, max, age_ms } => {
                let observed = age_ms.map(|age| now - age);
                let mine = stores
                    .memory
                    .report_org_usage(&key, used, max, observed, fallback)
                    .await
                    .unwrap();
                let expected = model.report(used, max, observed, now);
                prop_assert_eq!(mine, expected, "{}: memory against the model", at("report"));
                for o in &stores.others {
                    let theirs = o
                        .store
                        .report_org_usage(&o.key, used, max, observed, fallback)
                        .await
                        .unwrap();
                    prop_assert_eq!(theirs, mine, "{} on {}", at("report"), o.name);
                }
            }
            Step::Usage => {
                let mine = stores.memory.usage_of(&key, fallback, 32).await.unwrap();
                // A read moves nothing, not even the window's newest bucket.
                prop_assert_eq!(
                    mine.as_ref().map(|u| (u.used, u.is_default_budget)),
                    model
                        .budget()
                        .map(|(_, is_default)| (model.used_at(now), is_default)),
                    "{}: memory against the model",
                    at("usage")
                );
                // The usage view reads the same numbers without the window
                // (glance.lua on Redis).
                let glance = vec![mine.as_ref().map(|u| u.glance())];
                let own = stores
                    .memory
                    .glances(std::slice::from_ref(&key), fallback)
                    .await
                    .unwrap();
                prop_assert_eq!(&own, &glance, "{} glance on memory", at("usage"));
                for o in &stores.others {
                    let theirs = o.store.usage_of(&o.key, fallback, 32).await.unwrap();
                    prop_assert_eq!(&theirs, &mine, "{} on {}", at("usage"), o.name);
                    let theirs = o
                        .store
                        .glances(std::slice::from_ref(&o.key), fallback)
                        .await
                        .unwrap();
                    prop_assert_eq!(&theirs, &glance, "{} glance on {}", at("usage"), o.name);
                }
            }
        }
        // Whatever the clock did, every call not handed back counts until a
        // whole window and one bucket have passed since its bucket began,
        // by the newest time the clock showed.
        let still_due: u64 = made
            .iter()
            .filter(|m| newest_ms < m.grant.bucket_start_ms + (case.buckets + 1) * case.bucket_ms)
            .map(|m| m.net)
            .sum();
        let counted = model.used_at(stores.clock.now_ms());
        prop_assert!(
            counted >= still_due,
            "step {index}: the window counts {counted} calls of the {still_due} still due"
        );
    }
    Ok(())
}

/// Decides `requests` in order at `now` on every store (at once on the
/// coalescing ones: one batch) and in the model, and compares the replies.
async fn decide_all(
    stores: &Stores,
    key: &BudgetKey,
    fallback: Option<&Budget>,
    requests: &[Request],
    model: &mut Model,
    made: &mut Vec<Made>,
    now: i64,
) -> Result<(), String> {
    let mut mine = Vec::new();
    for r in requests {
        mine.push(
            stores
                .memory
                .acquire(key, ask(*r), r.priority, &consumer(r.consumer), fallback)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    for (i, (r, decision)) in requests.iter().zip(&mine).enumerate() {
        let expected = model.decide(*r, now);
        if *decision != expected {
            return Err(format!(
                "request {i} {r:?}: memory decided {decision:?}, the model {expected:?}"
            ));
        }
        if let Outcome::Granted(grant) = decision.outcome {
            made.push(Made {
                grant,
                net: grant.count,
            });
        }
    }
    for Other {
        name,
        store,
        coalescing,
        key,
    } in &stores.others
    {
        let theirs: Vec<Decision> = if *coalescing {
            // Polled in order, so sent in order: one batch, decided in it
            // in arrival order.
            let consumers: Vec<Consumer> = requests.iter().map(|r| consumer(r.consumer)).collect();
            join_all(
                requests
                    .iter()
                    .zip(&consumers)
                    .map(|(r, who)| store.acquire(key, ask(*r), r.priority, who, fallback)),
            )
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?
        } else {
            let mut theirs = Vec::new();
            for r in requests {
                theirs.push(
                    store
                        .acquire(key, ask(*r), r.priority, &consumer(r.consumer), fallback)
                        .await
                        .map_err(|e| e.to_string())?,
                );
            }
            theirs
        };
        if theirs != mine {
            return Err(format!(
                "{name} decided {theirs:?}, memory {mine:?} for {requests:?}"
            ));
        }
    }
    Ok(())
}

/// Runs `CASES` random histories on one Redis and one cluster. A current
/// thread runtime: a burst's requests all reach the batcher before it runs,
/// so they go to Redis as one batch, in order.
fn differential(label: &'static str, config: Config) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let servers = Servers::start();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| runtime.block_on(run(&servers, case, label)));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn every_store_answers_as_the_model_and_as_each_other() {
    differential(
        "diff",
        Config {
            cases: CASES,
            // Failures are shrunk; the cases are random afresh each run.
            failure_persistence: None,
            ..Config::default()
        },
    );
}

/// Decides `asks` (tokens, consumer) at once on every store (one batch on
/// the coalescing ones, one by one on the others) and checks that all
/// decide alike and grant them all.
async fn grant_on_every_store(stores: &Stores, key: &BudgetKey, asks: &[(u32, Consumer)]) {
    let mut mine = Vec::new();
    for (count, who) in asks {
        let decision = stores
            .memory
            .acquire(key, Ask::exactly(*count), Priority::Normal, who, None)
            .await
            .expect("memory decides");
        assert!(decision.granted(), "{decision:?}");
        mine.push(decision);
    }
    for o in &stores.others {
        let theirs: Vec<Decision> = if o.coalescing {
            join_all(asks.iter().map(|(count, who)| {
                o.store
                    .acquire(&o.key, Ask::exactly(*count), Priority::Normal, who, None)
            }))
            .await
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("a coalescing store decides")
        } else {
            let mut theirs = Vec::new();
            for (count, who) in asks {
                theirs.push(
                    o.store
                        .acquire(&o.key, Ask::exactly(*count), Priority::Normal, who, None)
                        .await
                        .expect("a store decides"),
                );
            }
            theirs
        };
        assert_eq!(theirs, mine, "{} against memory", o.name);
    }
}

/// The usage with its top 32 consumers, the same on every store.
async fn consumers_on_every_store(stores: &Stores, key: &BudgetKey) -> (u64, ConsumerReport) {
    let mine = stores
        .memory
        .usage_of(key, None, 32)
        .await
        .expect("memory reads")
        .expect("a budget");
    for o in &stores.others {
        let theirs = o
            .store
            .usage_of(&o.key, None, 32)
            .await
            .expect("a store reads")
            .expect("a budget");
        assert_eq!(theirs, mine, "{} against memory", o.name);
    }
    (mine.used, mine.consumers.expect("consumers asked for"))
}

/// The named consumers of a report and their tokens, in order.
fn rows(report: &ConsumerReport) -> Vec<(String, u64)> {
    report
        .top
        .iter()
        .map(|r| (r.consumer.client_id.clone(), r.tokens))
        .collect()
}

/// Who used the window, on every store on one clock the test sets: a
/// bucket names at most `CONSUMER_CAP` consumers and counts the others as
/// `(other)`, in arrival order also when the requests are coalesced; the
/// top is by tokens; a consumer's tokens leave exactly when their bucket
/// leaves the window, whether or not a grant came since.
#[test]
fn consumers_are_counted_alike_and_leave_with_the_window() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let servers = Servers::start();
    runtime.block_on(async {
        let shape = WindowShape::new(Duration::from_secs(10), Duration::from_secs(1))
            .expect("a valid shape");
        let rules = Rules {
            shape,
            org_margin_percent: 0,
            probe: Default::default(),
        };
        // A day ahead of the real clock, so that no key expires meanwhile.
        let day = 86_400_000;
        let start = (syncgov_kit::clock::now_ms() + day) / day * day;
        let clock = TestClock::at(start);
        let key = BudgetKey {
            org: OrgId::parse(&format!(
                "consumers-{}",
                NEXT_ORG.fetch_add(1, Ordering::Relaxed)
            ))
            .expect("an org id"),
            resource: Resource::ApiRequests,
        };
        let stores = servers.stores(rules, &clock, &key);
        let budget = Budget::new(100_000, 100_000);
        stores.memory.set_budget(&key, &budget).await.unwrap();
        for o in &stores.others {
            o.store.set_budget(&o.key, &budget).await.unwrap();
        }
        let who = |client: &str| Consumer::parse(client, "", "").expect("a consumer");

        // Bucket 0: 40 made-up clients, 2 tokens each, in one burst.
        let burst: Vec<_> = (0..40).map(|i| (2, who(&format!("w{i:02}")))).collect();
        grant_on_every_store(&stores, &key, &burst).await;
        let (used, report) = consumers_on_every_store(&stores, &key).await;
        assert_eq!(used, 80);
        assert_eq!(
            (report.named, report.other, report.cap),
            (32, 16, CONSUMER_CAP)
        );
        let first: Vec<_> = (0..32).map(|i| (format!("w{i:02}"), 2)).collect();
        assert_eq!(rows(&report), first, "the first 32 to ask, by name");
        let listed: u64 = report.top.iter().map(|r| r.tokens).sum();
        assert_eq!(listed + report.rest + report.other, used);

        // Bucket 3: two workers, 30 and 70; the most tokens first.
        clock.set(start + 3_000);
        grant_on_every_store(&stores, &key, &[(30, who("a")), (70, who("b"))]).await;
        let (used, report) = consumers_on_every_store(&stores, &key).await;
        assert_eq!(used, 180);
        assert_eq!(rows(&report)[..2], [("b".into(), 70), ("a".into(), 30)]);
        assert_eq!(report.named, 34, "the cap is per bucket");

        // Ten buckets a window: bucket 0 counts until the clock enters
        // bucket 11, and then its consumers are gone with its calls.
        clock.set(start + 10_999);
        let (used, report) = consumers_on_every_store(&stores, &key).await;
        assert_eq!((used, report.other, report.named), (180, 16, 34));
        clock.set(start + 11_000);
        let (used, report) = consumers_on_every_store(&stores, &key).await;
        assert_eq!((used, report.other), (100, 0));
        assert_eq!(rows(&report), [("b".into(), 70), ("a".into(), 30)]);

        // A grant now drops bucket 0 from the store for good; the answers
        // stay the same.
        grant_on_every_store(&stores, &key, &[(1, who("c"))]).await;
        // On Redis, only bucket 3 (a and b, closed into one field) and
        // bucket 11 (c's count and its list of names) are left, and the
        // mark of the open bucket.
        let hash = format!("syncgov:quota:{{{}-0}}:api:consumers:1000x10", key.org);
        let mut conn = servers
            .redis
            .client()
            .get_connection()
            .expect("a connection");
        let mut fields: Vec<String> = redis::cmd("HKEYS")
            .arg(&hash)
            .query(&mut conn)
            .expect("HKEYS");
        fields.sort();
        let b3 = (start / 1000 + 3).to_string();
        let b11 = (start / 1000 + 11).to_string();
        let mut expected = vec![
            b3,
            format!("{b11}\u{1e}{}", who("c").stored()),
            format!("{b11}\u{1f}"),
            "^".to_owned(),
        ];
        expected.sort();
        assert_eq!(fields, expected, "bucket 0's 32 consumers are gone");
        let (used, report) = consumers_on_every_store(&stores, &key).await;
        assert_eq!(used, 101);
        assert_eq!(
            rows(&report),
            [("b".into(), 70), ("a".into(), 30), ("c".into(), 1)]
        );

        // Bucket 3 leaves at bucket 14; a whole window later nothing is left.
        clock.set(start + 14_000);
        let (used, report) = consumers_on_every_store(&stores, &key).await;
        assert_eq!((used, rows(&report)), (1, vec![("c".into(), 1)]));
        clock.set(start + 40_000);
        let (used, report) = consumers_on_every_store(&stores, &key).await;
        assert_eq!((used, report.named, report.top.len()), (0, 0, 0));
    });
}
