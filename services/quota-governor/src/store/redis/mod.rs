//! The Redis store: budgets and windows shared by every replica.
//!
//! Each decision is one Lua script round trip over the keys of one budget,
//! so it is atomic however many replicas ask at once, and it reads the clock
//! of Redis (`TIME`), the one clock all replicas share. Every key carries the
//! org as a hash tag ([`keys`]) so that an org's keys share one Redis Cluster
//! slot.
//!
//! On a Redis Cluster every script runs on the master of its org's slot, so
//! an org's decisions read that master's clock: still one clock per budget
//! for every replica (after a failover, the promoted replica's; a clock that
//! steps back never moves a window back). Coalesced decisions ([`batch`]) go
//! out in one call per slot. Suspensions and their feed share one hash tag
//! (`{susp}`), so they live on one master, whose clock stamps their events.
//!
//! The scripts live in `../lua/`, each with its KEYS and ARGV documented
//! above it; their replies are read in [`decode`].

mod batch;
mod call;
pub mod decode;
pub mod keys;

use std::time::Duration;

use redis::cluster_routing::Slot;
use redis::{Script, ScriptInvocation, Value};
use syncgov_kit::store::{corrupt, from_redis, redis_span};
use tracing::Instrument;

use super::conn::{Durability, Endpoint, Redis};
use super::{
    BudgetKey, Clock, FoundBudget, LevelMove, OrgReport, Page, ProbeOutcome, QuotaStore, StoreError,
};
use crate::alerts::{Alert, AlertKey, Crossing};
use crate::consumers::{CONSUMER_CAP, Consumer};
use crate::domain::{
    self, Ask, Budget, Counts, Decision, Glance, Grant, OrgId, Priority, Released, Resource, Rules,
    Usage,
};
use crate::fleet::{self, Ppm, Rank};
use crate::grant_id::KEY_LEN;
use crate::suspension::{self, Cursor, Event, ProbeClaim, Suspension, SuspensionReason};
use crate::window::WindowShape;
use batch::Batches;
use call::ScriptCall;
use decode::Suspended;

/// A call of a script that changes a suspension and tells the feed
/// (suspend.lua, clear.lua, probe_result.lua), with the keys it reads, in
/// their order.
fn suspension_call<'a>(
    script: &'a Script,
    org: &OrgId,
    reason: SuspensionReason,
) -> ScriptInvocation<'a> {
    let mut call = script.prepare_invoke();
    call.key(keys::SUSPENSIONS)
        .key(keys::EVENTS)
        .key(keys::SUSPENSIONS_BY_ORG)
        .key(keys::suspensions_by_reason(reason.number()))
        .key(keys::org_events(org))
        .key(keys::ORG_EVENTS_FROM);
    call
}

/// The clock in front of every script that reads the clock of a budget.
const CLOCK: &str = include_str!("../lua/clock.lua");
/// The clock a test sets, in place of [`CLOCK`] (see [`Clock`] for why a
/// governor never has it).
#[cfg(feature = "test-clock")]
const TEST_CLOCK: &str = include_str!("../lua/test_clock.lua");
/// The rolling window's helpers.
const WINDOW: &str = include_str!("../lua/window.lua");

/// A script of `parts` with `clock` and the window's helpers in front.
fn with_window(clock: &str, parts: &[&str]) -> Script {
    let mut text = format!("{clock}{WINDOW}");
    parts.iter().for_each(|part| text.push_str(part));
    Script::new(&text)
}

/// The scripts of the store, loaded once (`EVALSHA`, reloaded on
/// `NOSCRIPT`); each is documented in its file.
struct Scripts {
    acquire: Script,
    release: Script,
    report: Script,
    read: Script,
    glance: Script,
    suspend: Script,
    clear: Script,
    snapshot: Script,
    claim_probe: Script,
    probe_result: Script,
    grant_key: Script,
    list_suspensions: Script,
    rank_usage: Script,
    move_alert_level: Script,
    replace_budget: Script,
}

impl Scripts {
    /// The scripts, budgets' with `clock` in front.
    fn new(clock: &str) -> Self {
        Self {
            acquire: with_window(
                clock,
                &[
                    include_str!("../lua/decide.lua"),
                    include_str!("../lua/acquire.lua"),
                ],
            ),
            release: with_window(clock, &[include_str!("../lua/release.lua")]),
            report: with_window(clock, &[include_str!("../lua/report.lua")]),
            read: Script::new(&format!("{clock}{}", include_str!("../lua/read.lua"))),
            glance: with_window(clock, &[include_str!("../lua/glance.lua")]),
            suspend: Script::new(include_str!("../lua/suspend.lua")),
            clear: Script::new(include_str!("../lua/clear.lua")),
            snapshot: Script::new(include_str!("../lua/snapshot.lua")),
            claim_probe: Script::new(include_str!("../lua/claim_probe.lua")),
            probe_result: Script::new(include_str!("../lua/probe_result.lua")),
            grant_key: Script::new(include_str!("../lua/grant_key.lua")),
            list_suspensions: Script::new(include_str!("../lua/list_suspensions.lua")),
            rank_usage: Script::new(include_str!("../lua/rank_usage.lua")),
            move_alert_level: Script::new(include_str!("../lua/move_alert_level.lua")),
            replace_budget: Script::new(include_str!("../lua/replace_budget.lua")),
        }
    }
}

/// Budgets and windows in Redis.
pub struct RedisStore {
    /// Multiplexed connection (per node, on a cluster) that reconnects by
    /// itself; cheap to clone.
    conn: Redis,
    rules: Rules,
    /// Decisions read the shape often; a copy of `rules.shape`.
    shape: WindowShape,
    /// The ends of the keys that name the shape, formatted once.
    shape_names: keys::ShapeNames,
    scripts: Scripts,
    /// Coalesces concurrent decisions; `None` decides each on its own.
    batches: Option<Batches>,
    /// Replicas a grant must reach before it is answered, if any.
    durability: Option<Durability>,
    /// For the follower's blocking reads, which get a connection of their
    /// own so they never hold up decisions on the shared one.
    endpoint: Endpoint,
    follower: tokio::sync::Mutex<Option<Redis>>,
    timeout: Duration,
    /// Redis `TIME`, unless a test set a clock: then its time goes to the
    /// budgets' scripts as their last argument.
    clock: Clock,
}

impl RedisStore {
    /// A store on the Redis at `endpoint`: one server (`redis://`,
    /// `rediss://` or `redis+unix://`) or a Redis Cluster. Connects lazily:
    /// the governor starts, and reports itself not serving, while Redis is
    /// still down. `timeout` bounds every connection attempt and every reply,
    /// so a hung Redis cannot hang callers.
    ///
    /// With `coalesce`, decisions that reach this replica at the same time
    /// go to Redis together, one script call per batch (per slot, on a
    /// cluster).
    ///
    /// With `durability`, a grant is answered only once that many replicas
    /// have it (Redis `WAIT`), so that a failover loses no grant a caller
    /// was told of.
    pub fn open(
        endpoint: &Endpoint,
        rules: Rules,
        timeout: Duration,
        coalesce: bool,
        durability: Option<Durability>,
    ) -> Result<Self, StoreError> {
        Self::open_at(endpoint, rules, timeout, coalesce, durability, Clock::Own)
    }

    /// A store as [`RedisStore::open`] makes, deciding budgets at the times
    /// `clock` shows instead of Redis `TIME` (suspensions keep Redis'
    /// clock). Tests only: see [`Clock`] for why a governor cannot have one.
    #[cfg(feature = "test-clock")]
    pub fn open_with_clock(
        endpoint: &Endpoint,
        rules: Rules,
        timeout: Duration,
        coalesce: bool,
        clock: super::TestClock,
    ) -> Result<Self, StoreError> {
        Self::open_at(endpoint, rules, timeout, coalesce, None, Clock::Set(clock))
    }

    fn open_at(
        endpoint: &Endpoint,
        rules: Rules,
        timeout: Duration,
        coalesce: bool,
        durability: Option<Durability>,
        clock: Clock,
    ) -> Result<Self, StoreError> {
        let shape = rules.shape;
        let conn = endpoint.connect(timeout)?;
        let clock_lua = match clock {
            Clock::Own => CLOCK,
            #[cfg(feature = "test-clock")]
            Clock::Set(_) => TEST_CLOCK,
        };
        Ok(Self {
            batches: coalesce.then(|| {
                Batches::new(
                    conn.clone(),
                    with_window(
                        clock_lua,
                        &[
                            include_str!("../lua/decide.lua"),
                            include_str!("../lua/acquire_many.lua"),
                        ],
                    ),
                    shape,
                    rules.org_margin_percent,
                    durability,
                    clock.clone(),
                )
            }),
            conn,
            rules,
            shape,
            shape_names: keys::ShapeNames::new(&shape),
            durability,
            scripts: Scripts::new(clock_lua),
            endpoint: endpoint.clone(),
            follower: tokio::sync::Mutex::new(None),
            timeout,
            clock,
        })
    }

    /// A handle for one command or script call (clones share the
    /// multiplexed connection).
    fn conn(&self) -> Redis {
        self.conn.clone()
    }

    /// Enters `key` in the budget indexes with `budget` (its lowest own
    /// alert threshold too), or takes it out (`None`).
    async fn index_budget(
        &self,
        key: &BudgetKey,
        budget: Option<&Budget>,
    ) -> Result<(), StoreError> {
        let entry = fleet::budget_entry(&key.org, key.resource);
        let mut pipe = redis::pipe();
        if budget.is_some() {
            pipe.zadd(keys::BUDGETS, &entry, 0).zadd(
                keys::budgets_of(key.resource),
                key.org.as_str(),
                0,
            );
        } else {
            pipe.zrem(keys::BUDGETS, &entry)
                .zrem(keys::budgets_of(key.resource), key.org.as_str());
        }
        match budget.and_then(|b| b.alert_thresholds) {
            Some(t) => pipe.zadd(keys::ALERT_FLOORS, &entry, t.lowest()),
            None => pipe.zrem(keys::ALERT_FLOORS, &entry),
        };
        pipe.exec_async(&mut self.conn()).await.map_err(from_redis)
    }

    /// Fills the fleet indexes with what was stored before they existed:
    /// the budgets (one `SCAN` of the keyspace, on every master of a
    /// cluster) and the active suspensions. Done once per store, whichever
    /// replica gets there first; entering an entry twice changes nothing.
    pub async fn index_existing(&self) -> Result<(), StoreError> {
        let done: bool = redis::cmd("EXISTS")
            .arg(keys::FLEET_INDEXED)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        if done {
            return Ok(());
        }
        let budgets = self.conn.scan("syncgov:quota:{*}:*:budget").await?;
        for chunk in budgets.chunks(500) {
            let mut pipe = redis::pipe();
            for (org, resource) in chunk.iter().filter_map(|k| keys::read_budget(k)) {
                pipe.zadd(keys::BUDGETS, fleet::budget_entry(&org, resource), 0)
                    .zadd(keys::budgets_of(resource), org.as_str(), 0);
            }
            pipe.exec_async(&mut self.conn())
                .await
                .map_err(from_redis)?;
        }
        let fields: Vec<String> = redis::cmd("HKEYS")
            .arg(keys::SUSPENSIONS)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        for chunk in fields.chunks(500) {
            let mut pipe = redis::pipe();
            for field in chunk {
                if let Some((_, reason)) = fleet::read_suspension_entry(field) {
                    pipe.zadd(keys::SUSPENSIONS_BY_ORG, field, 0).zadd(
                        keys::suspensions_by_reason(reason.number()),
                        field,
                        0,
                    );
                }
            }
            pipe.exec_async(&mut self.conn())
                .await
                .map_err(from_redis)?;
        }
        let entered = budgets.len() + fields.len();
        redis::cmd("SET")
            .arg(keys::FLEET_INDEXED)
            .arg(1)
            .exec_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        tracing::info!(
            entered,
            "fleet indexes filled with what was stored before them"
        );
        Ok(())
    }
}

/// The `ZRANGEBYLEX` bound just after `member`, or the start.
fn lex_after(member: Option<String>) -> String {
    member.map_or_else(|| "-".to_owned(), |m| format!("({m}"))
}

/// Members of the sorted set `key` after `after`, up to `limit`.
async fn lex_page(
    conn: &mut Redis,
    key: &str,
    after: Option<String>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    redis::cmd("ZRANGEBYLEX")
        .arg(key)
        .arg(lex_after(after))
        .arg("+")
        .arg("LIMIT")
        .arg(0)
        .arg(limit)
        .query_async(conn)
        .await
        .map_err(from_redis)
}

/// A priority as the scripts number it.
fn priority_arg(priority: Priority) -> u8 {
    match priority {
        Priority::Retry => 1,
        Priority::Normal => 2,
        Priority::Critical => 3,
    }
}

impl QuotaStore for RedisStore {
    async fn set_budget(&self, key: &BudgetKey, budget: &Budget) -> Result<(), StoreError> {
        // The index first: on a cluster it lives in another slot than the
        // budget, so the two writes are not one. An index entry whose budget
        // is missing is skipped when read, never a budget missing from it.
        self.index_budget(key, Some(budget)).await?;
        let hash = keys::budget(key);
        redis::pipe()
            .atomic()
            .del(&hash)
            .hset_multiple(&hash, &decode::budget_fields(budget))
            .exec_async(&mut self.conn())
            .await
            .map_err(from_redis)
    }

    async fn replace_budget(
        &self,
        key: &BudgetKey,
        expected: Option<&Budget>,
        budget: &Budget,
    ) -> Result<bool, StoreError> {
        // The index first, as set_budget does: an entry whose budget is
        // missing is harmless, a budget missing from the index is not.
        self.index_budget(key, Some(budget)).await?;
        let mut call = self.scripts.replace_budget.key(keys::budget(key));
        call.arg(decode::BUDGET_FIELDS.len())
            .arg(&decode::BUDGET_FIELDS);
        let expected = expected.map(decode::budget_fields).unwrap_or_default();
        for name in decode::BUDGET_FIELDS {
            match expected.iter().find(|(n, _)| *n == name) {
                Some((_, value)) => call.arg(*value),
                None => call.arg(""),
            };
        }
        for (name, value) in decode::budget_fields(budget) {
            call.arg(name).arg(value);
        }
        let written: i64 = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        if written == 1 {
            return Ok(true);
        }
        // Refused: the index names the refused budget's lowest alert
        // threshold; put back the one of the budget that stands.
        if let Some(found) = self.get_budget(key, None).await? {
            self.index_budget(key, Some(&found.budget)).await?;
        }
        Ok(false)
    }

    async fn get_budget(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> Result<Option<FoundBudget>, StoreError> {
        let values: Vec<Option<i64>> = redis::cmd("HMGET")
            .arg(keys::budget(key))
            .arg(&decode::BUDGET_FIELDS)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        Ok(FoundBudget::pick(decode::budget(&values)?, fallback))
    }

    async fn delete_budget(&self, key: &BudgetKey) -> Result<bool, StoreError> {
        let deleted: i64 = redis::cmd("DEL")
            .arg(keys::budget(key))
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        self.index_budget(key, None).await?;
        Ok(deleted > 0)
    }

    async fn acquire(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
        consumer: &Consumer,
        fallback: Option<&Budget>,
    ) -> Result<Decision, StoreError> {
        if let Some(batches) = &self.batches {
            return batches.decide(key, ask, priority, consumer, fallback).await;
        }
        let reply: Vec<i64> = ScriptCall::new(&self.scripts.acquire, 4)
            .arg(keys::DecisionKeys::new(key, &self.shape_names))
            .arg(ask.count)
            .arg(ask.min)
            .arg(priority_arg(priority))
            .arg(self.shape.bucket_ms())
            .arg(self.shape.ring_len())
            .arg(self.rules.org_margin_percent)
            .arg(consumer.stored())
            .arg(CONSUMER_CAP)
            .arg(decode::fallback_args(fallback))
            .arg(self.clock.set_ms())
            .invoke(&mut self.conn())
            .instrument(redis_span("EVALSHA", "acquire"))
            .await
            .map_err(from_redis)?;
        let decision = decode::decision(&reply)?;
        if let (Some(durability), true) = (self.durability, decision.granted()) {
            self.conn
                .wait_for_replicas(&keys::budget(key), durability.replicas, durability.timeout)
                .await?;
        }
        Ok(decision)
    }

    async fn release(
        &self,
        key: &BudgetKey,
        grant: Grant,
        count: u64,
    ) -> Result<Released, StoreError> {
        let reply: Vec<i64> = self
            .scripts
            .release
            .key(keys::window(key, &self.shape))
            .key(keys::org(key))
            .key(keys::released(key, grant.nonce))
            .arg(self.shape.bucket_of(grant.bucket_start_ms))
            .arg(count.min(grant.count))
            .arg(self.shape.bucket_ms())
            .arg(self.shape.ring_len())
            .arg(self.clock.set_ms())
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::released(&reply)
    }

    async fn usage_of(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
        top: usize,
    ) -> Result<Option<Usage>, StoreError> {
        let mut read = self.scripts.read.key(keys::budget(key));
        read.key(keys::window(key, &self.shape)).key(keys::org(key));
        if top > 0 {
            read.key(keys::consumers(key, &self.shape));
        }
        let reply: Value = read
            .arg(self.clock.set_ms())
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        let Value::Array(parts) = reply else {
            return Err(corrupt("usage reply"));
        };
        let (now, fields, window, org, consumers) = match parts.as_slice() {
            [now, Value::Array(fields), window, Value::Array(org)] => {
                (now, fields, window, org, None)
            }
            [
                now,
                Value::Array(fields),
                window,
                Value::Array(org),
                Value::Array(consumers),
            ] => (
                now,
                fields,
                window,
                org,
                Some(decode::consumers(consumers)?),
            ),
            _ => return Err(corrupt("usage reply")),
        };
        let now_ms: i64 = redis::from_redis_value_ref(now).map_err(|_| corrupt("clock"))?;
        let values = fields
            .iter()
            .map(decode::int_or_nil)
            .collect::<Result<Vec<_>, _>>()?;
        let Some(found) = FoundBudget::pick(decode::budget(&values)?, fallback) else {
            return Ok(None);
        };
        let bytes: Vec<u8> = match window {
            Value::Nil => Vec::new(),
            other => redis::from_redis_value_ref(other).map_err(|_| corrupt("window"))?,
        };
        let mut counts = Counts {
            window: decode::window(&self.shape, &bytes)?,
            org: decode::org_view(org)?,
        };
        Ok(Some(domain::usage(
            &found.budget,
            found.is_default,
            &mut counts,
            &self.shape,
            now_ms,
            consumers.as_ref().map(|c| (c, top)),
        )))
    }

    async fn glances(
        &self,
        keys: &[BudgetKey],
        fallback: Option<&Budget>,
    ) -> Result<Vec<Option<Glance>>, StoreError> {
        // One script call reads a whole page on one server. On a cluster a
        // call may only touch one slot (an org's keys share one): one call
        // per slot, all at once over the per-node connections.
        let mut groups: Vec<(Option<Slot>, Vec<usize>)> = Vec::new();
        let cluster = self.conn.is_cluster();
        for (i, key) in keys.iter().enumerate() {
            let slot = cluster.then(|| Slot::for_key(keys::budget(key)));
            match groups.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, group)) => group.push(i),
                None => groups.push((slot, vec![i])),
            }
        }
        let read = groups.iter().map(|(_, group)| async move {
            let mut call = self.scripts.glance.prepare_invoke();
            for &i in group {
                call.key(keys::budget(&keys[i]))
                    .key(keys::window(&keys[i], &self.shape))
                    .key(keys::org(&keys[i]));
            }
            let reply: Vec<Value> = call
                .arg(self.shape.bucket_ms())
                .arg(self.shape.ring_len())
                .arg(self.clock.set_ms())
                .invoke_async(&mut self.conn())
                .instrument(redis_span("EVALSHA", "glance"))
                .await
                .map_err(from_redis)?;
            let glances = decode::glances(&reply, group.len(), fallback, &self.shape)?;
            Ok::<_, StoreError>(group.iter().copied().zip(glances))
        });
        let mut found = vec![None; keys.len()];
        for part in futures_util::future::try_join_all(read).await? {
            for (i, glance) in part {
                found[i] = glance;
            }
        }
        Ok(found)
    }

    async fn report_org_usage(
        &self,
        key: &BudgetKey,
        used: u64,
        max: u64,
        observed_at_ms: Option<i64>,
        fallback: Option<&Budget>,
    ) -> Result<Option<OrgReport>, StoreError> {
        let reply: Vec<i64> = self
            .scripts
            .report
            .key(keys::budget(key))
            .key(keys::window(key, &self.shape))
            .key(keys::org(key))
            .arg(used)
            .arg(max)
            .arg(observed_at_ms.unwrap_or(0))
            .arg(self.shape.bucket_ms())
            .arg(self.shape.ring_len())
            .arg(u8::from(fallback.is_some()))
            .arg(self.clock.set_ms())
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::report(&reply, self.rules.org_margin_percent)
    }

    async fn suspend(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        detail: &str,
    ) -> Result<(Suspension, Option<Event>), StoreError> {
        let reply: Vec<Value> = suspension_call(&self.scripts.suspend, org, reason)
            .arg(org.as_str())
            .arg(reason.number())
            .arg(detail)
            .arg(if suspension::probed(reason) {
                self.rules.probe.first_ms
            } else {
                0
            })
            .invoke_async(&mut self.conn())
            .instrument(redis_span("EVALSHA", "suspend"))
            .await
            .map_err(from_redis)?;
        Ok(match decode::suspended(&reply, org, reason)? {
            Suspended::Already(suspension) => (suspension, None),
            Suspended::Now(suspension, event) => (suspension, Some(event)),
        })
    }

    async fn clear(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        automatic: bool,
    ) -> Result<Option<Event>, StoreError> {
        let reply: Vec<Value> = suspension_call(&self.scripts.clear, org, reason)
            .arg(org.as_str())
            .arg(reason.number())
            .arg(u8::from(automatic))
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::cleared(&reply)
    }

    async fn claim_probe(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        nonce: u64,
    ) -> Result<ProbeClaim, StoreError> {
        let reply: Vec<i64> = self
            .scripts
            .claim_probe
            .key(keys::SUSPENSIONS)
            .arg(org.as_str())
            .arg(reason.number())
            .arg(format!("{nonce:x}"))
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::probe_claim(&reply)
    }

    async fn probe_result(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        success: bool,
        nonce: u64,
    ) -> Result<ProbeOutcome, StoreError> {
        let reply: Vec<Value> = suspension_call(&self.scripts.probe_result, org, reason)
            .arg(org.as_str())
            .arg(reason.number())
            .arg(u8::from(success))
            .arg(self.rules.probe.first_ms)
            .arg(self.rules.probe.cap_ms)
            .arg(format!("{nonce:x}"))
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::probe_outcome(&reply)
    }

    async fn snapshot(&self) -> Result<(Vec<Suspension>, Cursor), StoreError> {
        let reply: Vec<Value> = self
            .scripts
            .snapshot
            .key(keys::SUSPENSIONS)
            .key(keys::EVENTS)
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::snapshot(&reply)
    }

    async fn events_after(&self, cursor: Cursor, limit: usize) -> Result<Vec<Event>, StoreError> {
        let entries: Value = redis::cmd("XRANGE")
            .arg(keys::EVENTS)
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::events(&entries)
    }

    async fn events_before(
        &self,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        // XREVRANGE from just before `before` (exclusive) down to the
        // oldest, newest first. Nothing comes before the first id.
        if before.is_some_and(|c| c.ms == 0 && c.seq == 0) {
            return Ok(Vec::new());
        }
        let end = before.map_or_else(|| "+".to_owned(), |c| format!("({c}"));
        let entries: Value = redis::cmd("XREVRANGE")
            .arg(keys::EVENTS)
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::events(&entries)
    }

    async fn org_events_before(
        &self,
        org: &OrgId,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<(Vec<Event>, Option<Cursor>), StoreError> {
        if before.is_some_and(|c| c.ms == 0 && c.seq == 0) {
            return Ok((Vec::new(), None));
        }
        let key = keys::org_events(org);
        let end = before.map_or_else(|| "+".to_owned(), |c| format!("({c}"));
        let (entries, from, len, oldest): (Value, Option<String>, usize, Value) = redis::pipe()
            .cmd("XREVRANGE")
            .arg(&key)
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .cmd("GET")
            .arg(keys::ORG_EVENTS_FROM)
            .cmd("XLEN")
            .arg(&key)
            .cmd("XRANGE")
            .arg(&key)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        let Some(from) = from else {
            // No event was ever written to an org's own stream.
            return Ok((Vec::new(), None));
        };
        let mut from =
            Cursor::parse("org events from", &from).map_err(|_| corrupt("org events' start"))?;
        if len >= keys::ORG_EVENTS_KEPT {
            // Trimmed: the org's stream holds everything from its oldest on.
            if let Some(oldest) = decode::events(&oldest)?.first() {
                from = from.max(oldest.cursor);
            }
        }
        Ok((decode::events(&entries)?, Some(from)))
    }

    async fn wait_events(&self, cursor: Cursor, wait: Duration) -> Result<Vec<Event>, StoreError> {
        let mut slot = self.follower.lock().await;
        if slot.is_none() {
            *slot = Some(self.endpoint.dedicated(self.timeout, wait).await?);
        }
        let Some(conn) = slot.as_mut() else {
            return Err(StoreError::Unavailable("no follower connection".into()));
        };
        let reply: Result<Value, _> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(wait.as_millis() as u64)
            .arg("STREAMS")
            .arg(keys::EVENTS)
            .arg(cursor.to_string())
            .query_async(conn)
            .await;
        match reply {
            Ok(reply) => decode::read_events(&reply),
            Err(e) => {
                // Start afresh next time: the connection may be broken.
                *slot = None;
                Err(from_redis(e))
            }
        }
    }

    async fn grant_key(&self, candidate: &[u8; KEY_LEN]) -> Result<[u8; KEY_LEN], StoreError> {
        let kept: String = self
            .scripts
            .grant_key
            .key(keys::GRANT_KEY)
            .arg(decode::hex(candidate))
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::grant_key(&kept)
    }

    async fn list_budgets(
        &self,
        resource: Option<Resource>,
        after: Option<&BudgetKey>,
        limit: usize,
    ) -> Result<Page<(BudgetKey, Budget), BudgetKey>, StoreError> {
        let keys: Vec<BudgetKey> = match resource {
            None => lex_page(
                &mut self.conn(),
                keys::BUDGETS,
                after.map(|k| fleet::budget_entry(&k.org, k.resource)),
                limit,
            )
            .await?
            .iter()
            .map(|m| {
                fleet::read_budget_entry(m)
                    .map(|(org, resource)| BudgetKey { org, resource })
                    .ok_or_else(|| corrupt("budget index"))
            })
            .collect::<Result<_, _>>()?,
            Some(resource) => {
                // This index holds each org once, under its name.
                let after = after.map(|k| k.org.to_string());
                lex_page(&mut self.conn(), &keys::budgets_of(resource), after, limit)
                    .await?
                    .iter()
                    .map(|m| {
                        OrgId::parse(m)
                            .map(|org| BudgetKey { org, resource })
                            .map_err(|_| corrupt("budget index"))
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        // Each budget lives in its org's slot: read side by side over the
        // multiplexed connection.
        let read = keys.iter().map(|key| async move {
            let values: Vec<Option<i64>> = redis::cmd("HMGET")
                .arg(keys::budget(key))
                .arg(&decode::BUDGET_FIELDS)
                .query_async(&mut self.conn())
                .await
                .map_err(from_redis)?;
            Ok::<_, StoreError>(decode::budget(&values)?.map(|b| (key.clone(), b)))
        });
        let items = futures_util::future::try_join_all(read)
            .await?
            .into_iter()
            .flatten()
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
        let index = match reason {
            Some(reason) => keys::suspensions_by_reason(reason.number()),
            None => keys::SUSPENSIONS_BY_ORG.to_owned(),
        };
        let after = after.map(|(o, r)| fleet::suspension_entry(o, *r));
        // One org's entries run from `<org>\x1f` to just before
        // `<org>\x1f~` (reason numbers are digits).
        let (min, max) = match org {
            Some(org) => {
                let first = format!("[{org}{}", fleet::SEP);
                let min = match after {
                    Some(a) if format!("[{a}") > first => format!("({a}"),
                    _ => first,
                };
                (min, format!("({org}{}~", fleet::SEP))
            }
            None => (lex_after(after), "+".to_owned()),
        };
        let reply: Vec<Value> = self
            .scripts
            .list_suspensions
            .key(index)
            .key(keys::SUSPENSIONS)
            .arg(min)
            .arg(max)
            .arg(limit)
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        let [read, last, pairs @ ..] = reply.as_slice() else {
            return Err(corrupt("suspension page"));
        };
        let read: usize =
            redis::from_redis_value_ref(read).map_err(|_| corrupt("suspension page"))?;
        let last: String =
            redis::from_redis_value_ref(last).map_err(|_| corrupt("suspension page"))?;
        let items = pairs
            .chunks(2)
            .map(|pair| match pair {
                [field, state] => decode::suspension(field, state),
                _ => Err(corrupt("suspension page")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = match read == limit {
            true => Some(
                fleet::read_suspension_entry(&last).ok_or_else(|| corrupt("suspension index"))?,
            ),
            false => None,
        };
        Ok(Page { items, next })
    }

    async fn rank_usage(&self, key: &BudgetKey, ppm: Option<Ppm>) -> Result<(), StoreError> {
        let member = ppm.map_or_else(String::new, |ppm| Rank::new(key.org.clone(), ppm).entry());
        self.scripts
            .rank_usage
            .key(keys::usage_ranks(key.resource))
            .key(keys::usage_ranked(key.resource))
            .arg(key.org.as_str())
            .arg(member)
            .invoke_async::<i64>(&mut self.conn())
            .await
            .map_err(from_redis)?;
        Ok(())
    }

    async fn usage_ranks(
        &self,
        resource: Resource,
        after: Option<&Rank>,
        limit: usize,
    ) -> Result<Page<Rank, Rank>, StoreError> {
        let items = lex_page(
            &mut self.conn(),
            &keys::usage_ranks(resource),
            after.map(Rank::entry),
            limit,
        )
        .await?
        .iter()
        .map(|m| Rank::read(m).ok_or_else(|| corrupt("usage index")))
        .collect::<Result<Vec<_>, _>>()?;
        let next = (items.len() == limit)
            .then(|| items.last().cloned())
            .flatten();
        Ok(Page { items, next })
    }

    async fn alert_floor(&self) -> Result<Option<u8>, StoreError> {
        let lowest: Vec<(String, f64)> = redis::cmd("ZRANGE")
            .arg(keys::ALERT_FLOORS)
            .arg(0)
            .arg(0)
            .arg("WITHSCORES")
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        Ok(lowest.first().map(|(_, t)| t.clamp(0.0, 100.0) as u8))
    }

    async fn alert_levels(&self) -> Result<Vec<(AlertKey, u8)>, StoreError> {
        let levels: Vec<(String, u8)> = redis::cmd("HGETALL")
            .arg(keys::ALERT_LEVELS)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        levels
            .into_iter()
            .map(|(field, level)| {
                AlertKey::read(&field)
                    .map(|key| (key, level))
                    .ok_or_else(|| corrupt("alert level"))
            })
            .collect()
    }

    async fn move_alert_level(
        &self,
        key: &AlertKey,
        from: u8,
        to: u8,
        crossing: Option<&Crossing>,
    ) -> Result<LevelMove, StoreError> {
        let mut call = self.scripts.move_alert_level.key(keys::ALERT_LEVELS);
        call.key(keys::ALERT_EVENTS)
            .arg(key.field())
            .arg(from)
            .arg(to);
        if let Some(c) = crossing {
            call.arg(c.key.org.as_str())
                .arg(c.key.resource.as_str())
                .arg(c.key.of.as_str())
                .arg(c.threshold)
                .arg(c.used)
                .arg(c.limit);
        }
        let reply: Vec<Value> = call
            .invoke_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::level_move(&reply, crossing)
    }

    async fn alerts_after(&self, cursor: Cursor, limit: usize) -> Result<Vec<Alert>, StoreError> {
        let entries: Value = redis::cmd("XRANGE")
            .arg(keys::ALERT_EVENTS)
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        decode::alerts(&entries)
    }

    async fn last_alert(&self) -> Result<Cursor, StoreError> {
        let newest: Value = redis::cmd("XREVRANGE")
            .arg(keys::ALERT_EVENTS)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.conn())
            .await
            .map_err(from_redis)?;
        Ok(decode::alerts(&newest)?
            .first()
            .map_or_else(Cursor::default, |a| a.cursor))
    }

    async fn housekeeping(self: std::sync::Arc<Self>) {
        // Until the indexes hold what was stored before them, once.
        loop {
            match self.index_existing().await {
                Ok(()) => return,
                Err(e) => tracing::debug!(error = %e, "cannot fill the fleet indexes now"),
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        redis::cmd("PING")
            .exec_async(&mut self.conn())
            .await
            .map_err(from_redis)
    }
}
