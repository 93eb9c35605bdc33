//! The Redis store: budgets and windows shared by every replica.
//!
//! Each decision is one Lua script round trip over the keys of one budget,
//! so it is atomic however many replicas ask at once, and it reads the clock
//! of Redis (`TIME`), the one clock all replicas share. Every key carries the
//! org as a hash tag (`{org}`) so that an org's keys share one Redis Cluster
//! slot.
//!
//! On a Redis Cluster every script runs on the master of its org's slot, so
//! an org's decisions read that master's clock: still one clock per budget
//! for every replica (after a failover, the promoted replica's; a clock that
//! steps back never moves a window back). Coalesced decisions go out in one
//! call per slot. Suspensions and their feed share one hash tag (`{susp}`),
//! so they live on one master, whose clock stamps their events.
//!
//! Keys of a budget, `<org>` and `<res>` (`api` or `bulk`) filled in:
//! - `syncgov:quota:{<org>}:<res>:budget`, a hash: `l` org limit, `a`
//!   allocation, `sr`/`sn`/`sc` shares, `oa`/`oe` override allocation and
//!   expiry; kept until deleted.
//! - `syncgov:quota:{<org>}:<res>:window:<bucket ms>x<buckets>`, a string
//!   (layout in `lua/window.lua`): 16 bytes + 4 per bucket, so 5 780 bytes for
//!   the default 24 h of 60 s buckets. It expires one window after its last
//!   grant. The shape is part of the name: a governor started with another
//!   window shape counts afresh rather than misreading the old layout.

use std::sync::Arc;
use std::time::Duration;

use redis::cluster_routing::Slot;
use redis::{Script, Value};
use syncgov_kit::store::{corrupt, from_redis, redis_span};
use tracing::Instrument;

use super::conn::{Endpoint, Redis};
use super::{BudgetKey, FoundBudget, OrgReport, ProbeOutcome, QuotaStore, StoreError};
use crate::domain::OrgId;
use crate::domain::{
    self, AllocationOverride, Ask, Budget, Counts, Decision, DenyReason, Grant, OrgView, Outcome,
    Priority, Released, Rules, Shares, Usage,
};
use crate::suspension::{Cursor, Event, EventKind, ProbeClaim, Suspension, SuspensionReason};
use crate::window::{Window, WindowShape};

/// Budgets and windows in Redis.
pub struct RedisStore {
    /// Multiplexed connection (per node, on a cluster) that reconnects by
    /// itself; cheap to clone.
    conn: Redis,
    rules: Rules,
    /// Decisions read the shape often; a copy of `rules.shape`.
    shape: WindowShape,
    acquire: Script,
    release: Script,
    report: Script,
    /// Coalesces concurrent decisions; `None` decides each on its own.
    batches: Option<Batches>,
    suspend: Script,
    clear: Script,
    snapshot: Script,
    claim_probe: Script,
    probe_result: Script,
    /// For the follower's blocking reads, which get a connection of their
    /// own so they never hold up decisions on the shared one.
    endpoint: Endpoint,
    follower: tokio::sync::Mutex<Option<Redis>>,
    timeout: Duration,
    read: Script,
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
    pub fn open(
        endpoint: &Endpoint,
        rules: Rules,
        timeout: Duration,
        coalesce: bool,
    ) -> Result<Self, StoreError> {
        let shape = rules.shape;
        let conn = endpoint.connect(timeout)?;
        Ok(Self {
            conn: conn.clone(),
            rules,
            shape,
            report: Script::new(concat!(
                include_str!("lua/window.lua"),
                include_str!("lua/report.lua")
            )),
            acquire: Script::new(concat!(
                include_str!("lua/window.lua"),
                include_str!("lua/decide.lua"),
                include_str!("lua/acquire.lua")
            )),
            batches: coalesce.then(|| Batches {
                sender: std::sync::OnceLock::new(),
                conn: conn.clone(),
                script: Arc::new(Script::new(concat!(
                    include_str!("lua/window.lua"),
                    include_str!("lua/decide.lua"),
                    include_str!("lua/acquire_many.lua")
                ))),
                shape,
                margin: rules.org_margin_percent,
            }),
            release: Script::new(concat!(
                include_str!("lua/window.lua"),
                include_str!("lua/release.lua")
            )),
            read: Script::new(include_str!("lua/read.lua")),
            suspend: Script::new(include_str!("lua/suspend.lua")),
            clear: Script::new(include_str!("lua/clear.lua")),
            snapshot: Script::new(include_str!("lua/snapshot.lua")),
            claim_probe: Script::new(include_str!("lua/claim_probe.lua")),
            probe_result: Script::new(include_str!("lua/probe_result.lua")),
            endpoint: endpoint.clone(),
            follower: tokio::sync::Mutex::new(None),
            timeout,
        })
    }

    /// The budget hash of `key`.
    pub fn budget_key(key: &BudgetKey) -> String {
        format!(
            "syncgov:quota:{{{}}}:{}:budget",
            key.org,
            key.resource.as_str()
        )
    }

    /// The marker of a grant of `key` that was handed back: a grant is
    /// released at most once.
    pub fn released_key(key: &BudgetKey, nonce: u64) -> String {
        format!(
            "syncgov:quota:{{{}}}:{}:released:{nonce:x}",
            key.org,
            key.resource.as_str()
        )
    }

    /// The org-wide view hash of `key`: `ru` reported used, `rm` reported
    /// max, `rt` when observed, `rg` grants since.
    pub fn org_key(key: &BudgetKey) -> String {
        format!(
            "syncgov:quota:{{{}}}:{}:org",
            key.org,
            key.resource.as_str()
        )
    }

    /// The hash of every active suspension (of every org: one hash tag).
    pub const SUSPENSIONS: &str = "syncgov:quota:{susp}:active";
    /// The stream of suspension events.
    pub const EVENTS: &str = "syncgov:quota:{susp}:events";

    /// The event at `cursor`, as the feed has it.
    async fn event_at(&self, cursor: Cursor) -> Result<Option<Event>, StoreError> {
        let id = cursor.to_string();
        let entries: Value = redis::cmd("XRANGE")
            .arg(Self::EVENTS)
            .arg(&id)
            .arg(&id)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(parse_events(&entries)?.pop())
    }

    /// The window string of `key` for windows of `shape`.
    pub fn window_key(key: &BudgetKey, shape: &WindowShape) -> String {
        format!(
            "syncgov:quota:{{{}}}:{}:window:{}x{}",
            key.org,
            key.resource.as_str(),
            shape.bucket_ms(),
            shape.buckets()
        )
    }
}

/// The hash fields of a budget, in the order the scripts read them.
const BUDGET_FIELDS: [&str; 7] = ["l", "a", "sr", "sn", "sc", "oa", "oe"];

fn budget_fields(budget: &Budget) -> Vec<(&'static str, i64)> {
    let mut fields = vec![
        ("l", budget.org_limit as i64),
        ("a", budget.allocation as i64),
        ("sr", i64::from(budget.shares.retry)),
        ("sn", i64::from(budget.shares.normal)),
        ("sc", i64::from(budget.shares.critical)),
    ];
    if let Some(o) = budget.allocation_override {
        fields.push(("oa", o.allocation as i64));
        fields.push(("oe", o.expires_at_ms));
    }
    fields
}

/// Script arguments for the default budget: absent when there is none.
fn fallback_args(fallback: Option<&Budget>) -> Vec<i64> {
    fallback
        .map(|b| {
            budget_fields(b)
                .into_iter()
                .take(5)
                .map(|(_, v)| v)
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the budget hash fields; `None` when the budget does not exist.
fn parse_budget(values: &[Option<i64>]) -> Result<Option<Budget>, StoreError> {
    let [Some(l), Some(a), Some(sr), Some(sn), Some(sc), oa, oe] = values else {
        return match values.first() {
            Some(None) => Ok(None),
            _ => Err(corrupt("budget")),
        };
    };
    let shares =
        Shares::new(*sr as u64, *sn as u64, *sc as u64).map_err(|_| corrupt("budget shares"))?;
    let allocation_override = match (oa, oe) {
        (Some(allocation), Some(expires_at_ms)) => Some(AllocationOverride {
            allocation: *allocation as u64,
            expires_at_ms: *expires_at_ms,
        }),
        _ => None,
    };
    Ok(Some(Budget {
        org_limit: *l as u64,
        allocation: *a as u64,
        shares,
        allocation_override,
    }))
}

fn int_or_nil(value: &Value) -> Result<Option<i64>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        other => redis::from_redis_value_ref::<i64>(other)
            .map(Some)
            .map_err(|_| corrupt("budget field")),
    }
}

/// Decodes the window string (layout in `lua/window.lua`).
fn parse_window(shape: &WindowShape, bytes: &[u8]) -> Result<Window, StoreError> {
    if bytes.is_empty() {
        return Ok(Window::default());
    }
    let head = bytes.get(..8).ok_or_else(|| corrupt("window"))?;
    let head = i64::from_be_bytes(head.try_into().map_err(|_| corrupt("window"))?);
    let slots = bytes.get(16..).unwrap_or_default();
    let ring = slots
        .chunks(4)
        .map(|c| {
            let mut word = [0u8; 4];
            word[..c.len()].copy_from_slice(c);
            u32::from_be_bytes(word)
        })
        .collect();
    Ok(Window::from_parts(shape, head, ring))
}

/// Reads a stream id (`MS-SEQ`).
fn parse_cursor(value: &Value) -> Result<Cursor, StoreError> {
    let text: String = redis::from_redis_value_ref(value).map_err(|_| corrupt("event id"))?;
    Cursor::parse("cursor", &text).map_err(|_| corrupt("event id"))
}

/// Reads stream entries: `[[id, [field, value, ...]], ...]`.
fn parse_events(entries: &Value) -> Result<Vec<Event>, StoreError> {
    let Value::Array(entries) = entries else {
        return Ok(Vec::new());
    };
    entries
        .iter()
        .map(|entry| {
            let Value::Array(parts) = entry else {
                return Err(corrupt("event"));
            };
            let [id, Value::Array(fields)] = parts.as_slice() else {
                return Err(corrupt("event"));
            };
            let mut map = std::collections::HashMap::new();
            for pair in fields.chunks(2) {
                if let [k, v] = pair {
                    let k: String = redis::from_redis_value_ref(k).map_err(|_| corrupt("event"))?;
                    let v: String = redis::from_redis_value_ref(v).map_err(|_| corrupt("event"))?;
                    map.insert(k, v);
                }
            }
            let get = |k: &str| map.get(k).cloned().unwrap_or_default();
            let number = |k: &str| get(k).parse::<i64>().map_err(|_| corrupt("event"));
            Ok(Event {
                cursor: parse_cursor(id)?,
                org: OrgId::parse(&get("o")).map_err(|_| corrupt("event org"))?,
                reason: SuspensionReason::from_number(number("r")? as i32)
                    .ok_or_else(|| corrupt("event reason"))?,
                kind: if number("k")? == 1 {
                    EventKind::Suspended
                } else {
                    EventKind::Cleared
                },
                detail: get("d"),
                at_ms: number("at")?,
                automatic: get("a") == "1",
            })
        })
        .collect()
}

/// A suspension's state as kept in the active hash.
#[derive(serde::Deserialize)]
struct KeptSuspension {
    d: String,
    s: i64,
    #[serde(default)]
    p: i64,
}

fn parse_suspension(field: &str, state: &str) -> Result<Suspension, StoreError> {
    let (org, reason) = field
        .split_once('\u{1f}')
        .ok_or_else(|| corrupt("suspension"))?;
    let kept: KeptSuspension = serde_json::from_str(state).map_err(|_| corrupt("suspension"))?;
    Ok(Suspension {
        org: OrgId::parse(org).map_err(|_| corrupt("suspension org"))?,
        reason: reason
            .parse::<i32>()
            .ok()
            .and_then(SuspensionReason::from_number)
            .ok_or_else(|| corrupt("suspension reason"))?,
        detail: kept.d,
        since_ms: kept.s,
        probe_at_ms: (kept.p > 0).then_some(kept.p),
    })
}

fn priority_arg(priority: Priority) -> u8 {
    match priority {
        Priority::Retry => 1,
        Priority::Normal => 2,
        Priority::Critical => 3,
    }
}

/// Reads one decision's nine numbers (decide.lua).
fn read_decision(reply: &[i64]) -> Result<Decision, StoreError> {
    let &[
        granted,
        reason,
        used,
        allocation,
        remaining,
        retry_after,
        bucket_start_ms,
        _is_default,
        count,
    ] = reply
    else {
        return Err(corrupt("acquire reply"));
    };
    let outcome = if granted == 1 {
        Outcome::Granted(Grant {
            bucket_start_ms,
            count: u64::try_from(count).map_err(|_| corrupt("granted count"))?,
            nonce: 0,
        })
    } else {
        let reason = match reason {
            1 => DenyReason::AllocationExhausted,
            2 => DenyReason::PriorityShareExhausted,
            3 => DenyReason::OrgLimitExhausted,
            5 => DenyReason::UnknownOrg,
            _ => return Err(corrupt("deny reason")),
        };
        Outcome::Denied {
            reason,
            retry_after_ms: u64::try_from(retry_after).ok(),
        }
    };
    Ok(Decision {
        outcome,
        used: used as u64,
        allocation: allocation as u64,
        remaining: remaining as u64,
    })
}

/// Numbers in one decision's reply (decide.lua).
const DECISION_LEN: usize = 9;

/// A decision waiting for the next batch.
struct Asked {
    key: BudgetKey,
    ask: Ask,
    priority: Priority,
    fallback: Option<Budget>,
    reply: tokio::sync::oneshot::Sender<Result<Decision, StoreError>>,
}

/// Most decisions in one batch.
const MAX_BATCH: usize = 256;
/// Batches in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

/// Coalesces the decisions that reach this replica at the same time into
/// one script call: whatever is waiting when a batch starts goes in it, in
/// arrival order, and the script decides them one after the other.
///
/// On a Redis Cluster one script call may only touch keys of one slot, so a
/// batch is split by the slot of its orgs (an org's keys share one), and
/// the parts go to their masters at the same time: decisions of one org stay
/// in arrival order, in one part.
struct Batches {
    sender: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Asked>>,
    conn: Redis,
    script: Arc<Script>,
    shape: WindowShape,
    margin: u8,
}

impl Batches {
    /// The queue into the batcher, started on first use (inside the runtime).
    fn sender(&self) -> &tokio::sync::mpsc::UnboundedSender<Asked> {
        self.sender.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(batch_loop(
                rx,
                self.conn.clone(),
                self.script.clone(),
                self.shape,
                self.margin,
            ));
            tx
        })
    }
}

async fn batch_loop(
    mut asked: tokio::sync::mpsc::UnboundedReceiver<Asked>,
    conn: Redis,
    script: Arc<Script>,
    shape: WindowShape,
    margin: u8,
) {
    let in_flight = Arc::new(tokio::sync::Semaphore::new(BATCHES_IN_FLIGHT));
    let cluster = conn.is_cluster();
    while let Some(first) = asked.recv().await {
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            return;
        };
        // Whatever else is waiting now joins, up to the bound.
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match asked.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (conn, script) = (conn.clone(), script.clone());
        tokio::spawn(async move {
            // One script call per default budget (an argument of the call)
            // and, on a cluster, per slot.
            let mut groups: Vec<(Option<Slot>, Vec<Asked>)> = Vec::new();
            for asked in batch {
                let slot = cluster.then(|| Slot::for_key(RedisStore::budget_key(&asked.key)));
                match groups
                    .iter_mut()
                    .find(|(s, g)| *s == slot && g[0].fallback == asked.fallback)
                {
                    Some((_, group)) => group.push(asked),
                    None => groups.push((slot, vec![asked])),
                }
            }
            if cluster && groups.len() > 1 {
                let mut parts = tokio::task::JoinSet::new();
                for (_, group) in groups {
                    let (conn, script) = (conn.clone(), script.clone());
                    parts.spawn(async move {
                        run_batch(&conn, &script, &shape, margin, group).await;
                    });
                }
                while parts.join_next().await.is_some() {}
            } else {
                for (_, group) in groups {
                    run_batch(&conn, &script, &shape, margin, group).await;
                }
            }
            drop(permit);
        });
    }
}

async fn run_batch(
    conn: &Redis,
    script: &Script,
    shape: &WindowShape,
    margin: u8,
    batch: Vec<Asked>,
) {
    let mut invocation = script.prepare_invoke();
    invocation
        .arg(shape.bucket_ms())
        .arg(shape.ring_len())
        .arg(margin);
    let fallback = fallback_args(batch[0].fallback.as_ref());
    if fallback.is_empty() {
        invocation.arg(&["", "", "", "", ""]);
    } else {
        invocation.arg(fallback);
    }
    for asked in &batch {
        invocation
            .key(RedisStore::budget_key(&asked.key))
            .key(RedisStore::window_key(&asked.key, shape))
            .key(RedisStore::org_key(&asked.key));
        invocation
            .arg(asked.ask.count)
            .arg(asked.ask.min)
            .arg(priority_arg(asked.priority));
    }
    let reply: Result<Vec<i64>, _> = invocation
        .invoke_async(&mut conn.clone())
        .instrument(redis_span("EVALSHA", "acquire_many"))
        .await;
    match reply {
        Ok(numbers) if numbers.len() == batch.len() * DECISION_LEN => {
            for (asked, numbers) in batch.into_iter().zip(numbers.chunks(DECISION_LEN)) {
                let _ = asked.reply.send(read_decision(numbers));
            }
        }
        Ok(_) => {
            for asked in batch {
                let _ = asked.reply.send(Err(corrupt("batch reply")));
            }
        }
        Err(e) => {
            let message = e.to_string();
            let unavailable = matches!(from_redis(e), StoreError::Unavailable(_));
            for asked in batch {
                let error = if unavailable {
                    StoreError::Unavailable(message.clone())
                } else {
                    StoreError::Corrupt(message.clone())
                };
                let _ = asked.reply.send(Err(error));
            }
        }
    }
}

impl QuotaStore for RedisStore {
    async fn set_budget(&self, key: &BudgetKey, budget: &Budget) -> Result<(), StoreError> {
        let hash = Self::budget_key(key);
        redis::pipe()
            .atomic()
            .del(&hash)
            .hset_multiple(&hash, &budget_fields(budget))
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn get_budget(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> Result<Option<FoundBudget>, StoreError> {
        let values: Vec<Option<i64>> = redis::cmd("HMGET")
            .arg(Self::budget_key(key))
            .arg(&BUDGET_FIELDS)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(match (parse_budget(&values)?, fallback) {
            (Some(budget), _) => Some(FoundBudget {
                budget,
                is_default: false,
            }),
            (None, Some(&budget)) => Some(FoundBudget {
                budget,
                is_default: true,
            }),
            (None, None) => None,
        })
    }

    async fn delete_budget(&self, key: &BudgetKey) -> Result<bool, StoreError> {
        let deleted: i64 = redis::cmd("DEL")
            .arg(Self::budget_key(key))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(deleted > 0)
    }

    async fn acquire(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
        fallback: Option<&Budget>,
    ) -> Result<Decision, StoreError> {
        if let Some(batches) = &self.batches {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let asked = Asked {
                key: key.clone(),
                ask,
                priority,
                fallback: fallback.copied(),
                reply,
            };
            batches
                .sender()
                .send(asked)
                .map_err(|_| StoreError::Unavailable("the batcher stopped".into()))?;
            return answer
                .await
                .map_err(|_| StoreError::Unavailable("the batch was dropped".into()))?;
        }
        let reply: Vec<i64> = self
            .acquire
            .key(Self::budget_key(key))
            .key(Self::window_key(key, &self.shape))
            .key(Self::org_key(key))
            .arg(ask.count)
            .arg(ask.min)
            .arg(priority_arg(priority))
            .arg(self.shape.bucket_ms())
            .arg(self.shape.ring_len())
            .arg(self.rules.org_margin_percent)
            .arg(fallback_args(fallback))
            .invoke_async(&mut self.conn.clone())
            .instrument(redis_span("EVALSHA", "acquire"))
            .await
            .map_err(from_redis)?;
        read_decision(&reply)
    }

    async fn release(
        &self,
        key: &BudgetKey,
        grant: Grant,
        count: u64,
    ) -> Result<Released, StoreError> {
        let mut invocation = self.release.key(Self::window_key(key, &self.shape));
        invocation.key(Self::org_key(key));
        if grant.nonce != 0 {
            invocation.key(Self::released_key(key, grant.nonce));
        }
        let reply: Vec<i64> = invocation
            .arg(self.shape.bucket_of(grant.bucket_start_ms))
            .arg(count.min(grant.count))
            .arg(self.shape.bucket_ms())
            .arg(self.shape.ring_len())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let &[released, used] = reply.as_slice() else {
            return Err(corrupt("release reply"));
        };
        Ok(Released {
            released: released as u64,
            used: used as u64,
        })
    }

    async fn usage(
        &self,
        key: &BudgetKey,
        fallback: Option<&Budget>,
    ) -> Result<Option<Usage>, StoreError> {
        let reply: Value = self
            .read
            .key(Self::budget_key(key))
            .key(Self::window_key(key, &self.shape))
            .key(Self::org_key(key))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let Value::Array(parts) = reply else {
            return Err(corrupt("usage reply"));
        };
        let [now, Value::Array(fields), window, Value::Array(org)] = parts.as_slice() else {
            return Err(corrupt("usage reply"));
        };
        let now_ms: i64 = redis::from_redis_value_ref(now).map_err(|_| corrupt("clock"))?;
        let values = fields
            .iter()
            .map(int_or_nil)
            .collect::<Result<Vec<_>, _>>()?;
        let (budget, is_default) = match (parse_budget(&values)?, fallback) {
            (Some(budget), _) => (budget, false),
            (None, Some(&budget)) => (budget, true),
            (None, None) => return Ok(None),
        };
        let bytes: Vec<u8> = match window {
            Value::Nil => Vec::new(),
            other => redis::from_redis_value_ref(other).map_err(|_| corrupt("window"))?,
        };
        let window = parse_window(&self.shape, &bytes)?;
        let org = org.iter().map(int_or_nil).collect::<Result<Vec<_>, _>>()?;
        let org = match org.as_slice() {
            [Some(used), Some(max), Some(at), since] => Some(OrgView {
                reported_used: *used as u64,
                reported_max: *max as u64,
                observed_at_ms: *at,
                granted_since: since.unwrap_or(0).max(0) as u64,
            }),
            _ => None,
        };
        let mut counts = Counts { window, org };
        Ok(Some(domain::usage(
            &budget,
            is_default,
            &mut counts,
            &self.shape,
            now_ms,
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
        let reply: Vec<i64> = self
            .report
            .key(Self::budget_key(key))
            .key(Self::window_key(key, &self.shape))
            .key(Self::org_key(key))
            .arg(used)
            .arg(max)
            .arg(observed_at_ms.unwrap_or(0))
            .arg(self.shape.bucket_ms())
            .arg(self.shape.ring_len())
            .arg(u8::from(fallback.is_some()))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        match reply.as_slice() {
            [-1] => Ok(None),
            &[accepted, estimate, org_limit] => {
                let org_limit = org_limit as u64;
                let view = OrgView {
                    reported_max: org_limit,
                    ..OrgView::default()
                };
                Ok(Some(OrgReport {
                    accepted: accepted == 1,
                    estimate: estimate as u64,
                    org_limit,
                    ceiling: view.ceiling(org_limit, self.rules.org_margin_percent),
                }))
            }
            _ => Err(corrupt("report reply")),
        }
    }

    async fn suspend(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        detail: &str,
    ) -> Result<(Suspension, Option<Event>), StoreError> {
        let reply: Vec<Value> = self
            .suspend
            .key(Self::SUSPENSIONS)
            .key(Self::EVENTS)
            .arg(org.as_str())
            .arg(reason.number())
            .arg(detail)
            .arg(if crate::suspension::probed(reason) {
                self.rules.probe.first_ms
            } else {
                0
            })
            .invoke_async(&mut self.conn.clone())
            .instrument(redis_span("EVALSHA", "suspend"))
            .await
            .map_err(from_redis)?;
        let field = format!("{org}\u{1f}{}", reason.number());
        let text = |v: &Value| {
            redis::from_redis_value_ref::<String>(v).map_err(|_| corrupt("suspend reply"))
        };
        match reply.as_slice() {
            [Value::Int(0), state] => Ok((parse_suspension(&field, &text(state)?)?, None)),
            [Value::Int(1), state, id] => {
                let suspension = parse_suspension(&field, &text(state)?)?;
                let event = Event {
                    cursor: parse_cursor(id)?,
                    org: org.clone(),
                    reason,
                    kind: EventKind::Suspended,
                    detail: suspension.detail.clone(),
                    at_ms: suspension.since_ms,
                    automatic: false,
                };
                Ok((suspension, Some(event)))
            }
            _ => Err(corrupt("suspend reply")),
        }
    }

    async fn clear(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        automatic: bool,
    ) -> Result<Option<Event>, StoreError> {
        let reply: Vec<Value> = self
            .clear
            .key(Self::SUSPENSIONS)
            .key(Self::EVENTS)
            .arg(org.as_str())
            .arg(reason.number())
            .arg(u8::from(automatic))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        match reply.as_slice() {
            [Value::Int(0)] => Ok(None),
            [Value::Int(1), id] => {
                // The event as the feed has it (with its detail and time).
                let event = self
                    .event_at(parse_cursor(id)?)
                    .await?
                    .ok_or_else(|| corrupt("clear event"))?;
                Ok(Some(event))
            }
            _ => Err(corrupt("clear reply")),
        }
    }

    async fn claim_probe(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
    ) -> Result<ProbeClaim, StoreError> {
        let reply: Vec<i64> = self
            .claim_probe
            .key(Self::SUSPENSIONS)
            .arg(org.as_str())
            .arg(reason.number())
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        match reply.as_slice() {
            [0] => Ok(ProbeClaim::NotSuspended),
            [1] => Ok(ProbeClaim::Granted),
            &[2, at] => Ok(ProbeClaim::NotBefore(at)),
            _ => Err(corrupt("probe claim reply")),
        }
    }

    async fn probe_result(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        success: bool,
    ) -> Result<ProbeOutcome, StoreError> {
        let reply: Vec<Value> = self
            .probe_result
            .key(Self::SUSPENSIONS)
            .key(Self::EVENTS)
            .arg(org.as_str())
            .arg(reason.number())
            .arg(u8::from(success))
            .arg(self.rules.probe.first_ms)
            .arg(self.rules.probe.cap_ms)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        match reply.as_slice() {
            [Value::Int(0)] => Ok(ProbeOutcome::NotSuspended),
            [Value::Int(1), id] => {
                let event = self
                    .event_at(parse_cursor(id)?)
                    .await?
                    .ok_or_else(|| corrupt("probe event"))?;
                Ok(ProbeOutcome::Cleared(event))
            }
            [Value::Int(2), Value::Int(at)] => Ok(ProbeOutcome::BackedOff(*at)),
            _ => Err(corrupt("probe result reply")),
        }
    }

    async fn snapshot(&self) -> Result<(Vec<Suspension>, Cursor), StoreError> {
        let reply: Vec<Value> = self
            .snapshot
            .key(Self::SUSPENSIONS)
            .key(Self::EVENTS)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let Some((last, pairs)) = reply.split_first() else {
            return Err(corrupt("snapshot reply"));
        };
        let mut active = Vec::new();
        for pair in pairs.chunks(2) {
            if let [field, state] = pair {
                let field: String =
                    redis::from_redis_value_ref(field).map_err(|_| corrupt("suspension"))?;
                let state: String =
                    redis::from_redis_value_ref(state).map_err(|_| corrupt("suspension"))?;
                active.push(parse_suspension(&field, &state)?);
            }
        }
        active.sort_by_key(|s| s.since_ms);
        Ok((active, parse_cursor(last)?))
    }

    async fn events_after(&self, cursor: Cursor, limit: usize) -> Result<Vec<Event>, StoreError> {
        let entries: Value = redis::cmd("XRANGE")
            .arg(Self::EVENTS)
            .arg(format!("({cursor}"))
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        parse_events(&entries)
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
            .arg(Self::EVENTS)
            .arg(cursor.to_string())
            .query_async(conn)
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) => {
                // Start afresh next time: the connection may be broken.
                *slot = None;
                return Err(from_redis(e));
            }
        };
        // [[stream, [entries...]]], or nil when nothing came in time.
        match reply {
            Value::Array(streams) => match streams.first() {
                Some(Value::Array(stream)) => match stream.as_slice() {
                    [_, entries] => parse_events(entries),
                    _ => Err(corrupt("xread reply")),
                },
                _ => Ok(Vec::new()),
            },
            Value::Map(streams) => match streams.first() {
                Some((_, entries)) => parse_events(entries),
                None => Ok(Vec::new()),
            },
            _ => Ok(Vec::new()),
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        redis::cmd("PING")
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrgId, Resource};

    #[test]
    fn every_key_of_an_org_shares_its_hash_tag() {
        let key = BudgetKey {
            org: OrgId::parse("acme").unwrap(),
            resource: Resource::ApiRequests,
        };
        let shape = WindowShape::new(Duration::from_secs(86_400), Duration::from_secs(60)).unwrap();
        assert_eq!(
            RedisStore::budget_key(&key),
            "syncgov:quota:{acme}:api:budget"
        );
        assert_eq!(
            RedisStore::window_key(&key, &shape),
            "syncgov:quota:{acme}:api:window:60000x1440"
        );
    }

    #[test]
    fn window_bytes_decode_big_endian_and_pad() {
        let shape = WindowShape::new(Duration::from_secs(4), Duration::from_secs(1)).unwrap();
        let mut bytes = 12i64.to_be_bytes().to_vec();
        bytes.extend(3i64.to_be_bytes());
        bytes.extend([0, 0, 0, 1, 0, 0, 0, 2]);
        let window = parse_window(&shape, &bytes).unwrap();
        assert_eq!(window.used(), 3);
        assert_eq!(window.head(), 12);
    }

    #[test]
    fn budget_fields_round_trip() {
        let mut budget = Budget::new(100, 50);
        budget.allocation_override = Some(AllocationOverride {
            allocation: 80,
            expires_at_ms: 9,
        });
        let values: Vec<Option<i64>> = {
            let fields = budget_fields(&budget);
            BUDGET_FIELDS
                .iter()
                .map(|name| fields.iter().find(|f| f.0 == *name).map(|f| f.1))
                .collect()
        };
        assert_eq!(parse_budget(&values).unwrap(), Some(budget));
        assert_eq!(parse_budget(&[None; 7]).unwrap(), None);
    }
}
