//! The Redis store: sync errors shared by every replica.
//!
//! Every write is one Lua script over the keys of one org (layout in
//! `lua/errors.lua`), so a batch is stored whole or not at all, whatever
//! other replicas do at the same time. Every key carries the org as a hash tag
//! (`syncgov:errors:{<org>}:…`), so an org's keys share one Redis Cluster slot.
//! Reads (listing, one error, health) are plain commands, pipelined.
//!
//! On a Redis Cluster ([`super::conn`]) no script or pipeline touches two
//! slots. What is shared by every org lives in slots of its own:
//! - the resync queue: [`QUEUE_SHARDS`] shards, each with its own hash tag
//!   (`syncgov:resync:{q<n>}:ready` and `:inflight`, sorted sets of job
//!   pointers `<org>/<error id>`); an org's jobs all go to one shard. A job's
//!   state (lease, attempts, retry time) stays in its error's hash, in the
//!   org's slot, where the org's scripts decide who holds the job. Each step
//!   that spans the two slots goes pointer-side and org-side in an order that
//!   leaves, if it stops half-way, a pointer with nothing to do (dropped when
//!   claimed) or a pointer that comes back when its visibility lapses, never
//!   a job without a pointer nor a job held twice (see `resync`, `claim`,
//!   `lease_job`, `complete`);
//! - the outbox hint set, the orgs with notifications on, and the reading of
//!   the governor's events: single keys, written by plain commands after the
//!   org's script (a lost outbox hint is found again by a scan of every
//!   master).

use std::collections::HashMap;
use std::time::Duration;

use redis::Script;
use serde::{Deserialize, Serialize};
use syncgov_kit::store::{corrupt, from_redis};
use tracing::Instrument;

use super::conn::{Endpoint, Redis};
use super::{
    Claimed, Completed, ErrorStore, IDEMPOTENCY_WINDOW_MS, Ingested, MAX_RETRY_WAIT_MS, Pending,
    QueueDepth, Queued, RESOLVED_TTL_MS, StoreError,
};
use crate::classify::Classification;
use crate::domain::{
    Cursor, Direction, ErrorFilter, ErrorId, ErrorState, Failure, HealthCounts, OrgId, Page,
    StoredError, SuspensionEvent, TypeCounts,
};
use crate::notify;
use crate::resync::{self, JobId, JobOutcome, RetryPolicy};
use crate::taxonomy::{Category, ErrorType, SuspensionReason};

/// Separates field names inside one hash field (they are printable).
const FIELD_SEPARATOR: char = '\u{1f}';
/// Ids read per round trip while filling a page.
const SCAN_BATCH: usize = 200;
/// Most ids looked at for one page: a page of a rare filter over a huge
/// index comes back short, with a cursor, instead of scanning on and on.
const SCAN_LIMIT: usize = 10_000;

/// The orgs whose outbox may hold entries: a hint for the relay, written
/// after the ingest script (another slot); a scan for outboxes backs it up.
pub const OUTBOX_ORGS: &str = "syncgov:errors:outbox-orgs";

/// Where the replicas' reading of the governor's suspension events stands.
pub const SUSPENSION_CURSOR: &str = "syncgov:errors:suspension-cursor";

/// The orgs with notifications on.
pub const NOTIFIED_ORGS: &str = "syncgov:errors:notify-orgs";

/// Shards of the shared resync queue. Each shard's keys carry their own hash
/// tag, so on Redis Cluster the queue spreads over several slots.
pub const QUEUE_SHARDS: u32 = 16;

/// Sync errors in Redis.
pub struct RedisStore {
    /// Multiplexed connection (per node, on a cluster) that reconnects by
    /// itself; cheap to clone.
    conn: Redis,
    policy: RetryPolicy,
    ingest: Script,
    resolve_record: Script,
    resync: Script,
    digest: Script,
    notify_claim: Script,
    notice: Script,
    claim: Script,
    lease: Script,
    complete: Script,
    /// Counts outbox looks: every so many, a scan backs up the hint set.
    outbox_scans: std::sync::atomic::AtomicU64,
    /// Where the next claim starts looking, so shards take turns.
    next_shard: std::sync::atomic::AtomicU32,
    /// Numbers leases within this replica; the replica's random tag keeps
    /// leases of different replicas apart.
    leases: std::sync::atomic::AtomicU64,
    replica: u64,
}

impl RedisStore {
    /// A store on the Redis at `endpoint` (one server or a Redis Cluster);
    /// connects lazily, so the service starts (not serving) while Redis is
    /// down. `timeout` bounds every connection attempt and every reply.
    pub fn open(
        endpoint: &Endpoint,
        timeout: Duration,
        policy: RetryPolicy,
    ) -> Result<Self, StoreError> {
        let conn = endpoint.connect(timeout)?;
        let script = |body: &str| {
            Script::new(&format!(
                "{}{}{body}",
                category_table(),
                include_str!("lua/errors.lua")
            ))
        };
        let replica = {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::process::id())
        };
        Ok(Self {
            conn,
            policy,
            ingest: script(include_str!("lua/ingest.lua")),
            resolve_record: script(include_str!("lua/resolve_record.lua")),
            resync: script(include_str!("lua/resync.lua")),
            digest: script(include_str!("lua/digest.lua")),
            notify_claim: script(include_str!("lua/notify_claim.lua")),
            notice: Script::new(include_str!("lua/notice.lua")),
            claim: Script::new(include_str!("lua/claim.lua")),
            lease: script(include_str!("lua/lease.lua")),
            complete: script(include_str!("lua/complete.lua")),
            next_shard: std::sync::atomic::AtomicU32::new(0),
            outbox_scans: std::sync::atomic::AtomicU64::new(0),
            leases: std::sync::atomic::AtomicU64::new(0),
            replica,
        })
    }

    /// The ready and in-flight sets of the queue shard that holds `org`'s jobs.
    pub fn queue_keys(org: &OrgId) -> (String, String) {
        Self::shard_keys(resync::shard_of(org, QUEUE_SHARDS))
    }

    fn shard_keys(shard: u32) -> (String, String) {
        (
            format!("syncgov:resync:{{q{shard}}}:ready"),
            format!("syncgov:resync:{{q{shard}}}:inflight"),
        )
    }

    /// Leases one claimed job; `None` when the job is no longer wanted (the
    /// pointer is dealt with here).
    async fn lease_job(
        &self,
        member: &str,
        visibility: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        let Ok(job) = JobId::parse("job", member) else {
            return Ok(None);
        };
        let (ready, inflight) = Self::queue_keys(&job.org);
        let lease = format!(
            "l{:x}{:x}",
            self.replica & 0xffff_ffff,
            self.leases
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1
        );
        let reply: Vec<redis::Value> = self
            .lease
            .key(Self::prefix(&job.org))
            .arg(job.error.as_str())
            .arg(&lease)
            .arg(visibility.as_millis() as u64)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let int = |i: usize| -> Result<i64, StoreError> {
            reply
                .get(i)
                .and_then(|v| redis::from_redis_value_ref(v).ok())
                .ok_or_else(|| corrupt("lease reply"))
        };
        let mut conn = self.conn.clone();
        match int(0)? {
            1 => {
                let mut fields = HashMap::new();
                for pair in reply[3..].chunks(2) {
                    if let [k, v] = pair {
                        let k: String =
                            redis::from_redis_value_ref(k).map_err(|_| corrupt("error"))?;
                        let v: String =
                            redis::from_redis_value_ref(v).map_err(|_| corrupt("error"))?;
                        fields.insert(k, v);
                    }
                }
                let error = parse_error(job.error.clone(), &fields)?;
                Ok(Some(Claimed {
                    attempt: int(1)? as u32,
                    visible_again_ms: int(2)?,
                    lease,
                    error,
                    job,
                }))
            }
            // Another lease still runs: put its timeout back.
            2 => {
                redis::cmd("ZADD")
                    .arg(&inflight)
                    .arg("XX")
                    .arg(int(1)?)
                    .arg(member)
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                Ok(None)
            }
            // A retry not due yet: back to the ready set at its time.
            3 => {
                redis::pipe()
                    .atomic()
                    .zrem(&inflight, member)
                    .zadd(&ready, member, int(1)?)
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                Ok(None)
            }
            _ => {
                redis::cmd("ZREM")
                    .arg(&inflight)
                    .arg(member)
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                Ok(None)
            }
        }
    }

    /// The prefix of every key of `org`.
    pub fn prefix(org: &OrgId) -> String {
        format!("syncgov:errors:{{{org}}}")
    }
}

/// The taxonomy's type -> category map as a Lua table, generated from the
/// Rust taxonomy so the scripts can never disagree with it.
fn category_table() -> String {
    let entries: Vec<String> = ErrorType::ALL
        .iter()
        .map(|t| format!("[{}] = {}", t.number(), t.category().number()))
        .collect();
    format!("local category_of = {{{}}}\n", entries.join(", "))
}

/// One failure as the ingest script reads it.
#[derive(Serialize)]
struct ScriptFailure<'a> {
    k: &'a str,
    id: String,
    t: i32,
    c: i32,
    r: i32,
    o: &'a str,
    rid: &'a str,
    sid: &'a str,
    d: i32,
    st: &'a str,
    m: &'a str,
    f: String,
    at: i64,
    /// The ingest's traceparent, kept with suspension-level failures only.
    #[serde(skip_serializing_if = "str::is_empty")]
    tp: &'a str,
}

/// A suspension event as kept in the org's list.
#[derive(Deserialize)]
struct ScriptSuspension {
    r: i32,
    st: String,
    m: String,
    at: i64,
    #[serde(default)]
    tp: String,
}

fn parse_error(id: ErrorId, fields: &HashMap<String, String>) -> Result<StoredError, StoreError> {
    let text = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let number = |name: &str| -> Result<i64, StoreError> {
        fields
            .get(name)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("error"))
    };
    let error_type =
        ErrorType::from_number(number("t")? as i32).ok_or_else(|| corrupt("error type"))?;
    let state =
        ErrorState::from_number(number("s")? as i32).ok_or_else(|| corrupt("error state"))?;
    let joined = text("f");
    Ok(StoredError {
        id,
        seq: number("seq")? as u64,
        object_type: text("o"),
        crm_record_id: text("rid"),
        salesforce_id: text("sid"),
        direction: Direction::from_number(number("d")? as i32),
        error_type,
        status_code: text("st"),
        message: text("m"),
        fields: if joined.is_empty() {
            Vec::new()
        } else {
            joined.split(FIELD_SEPARATOR).map(str::to_owned).collect()
        },
        occurrences: number("n")? as u64,
        first_seen_ms: number("fs")?,
        last_seen_ms: number("ls")?,
        state,
        resync_attempts: number("a")? as u32,
    })
}

impl RedisStore {
    /// The index that narrows `filter` the most; the rest is checked per error.
    fn index_for(org: &OrgId, filter: &ErrorFilter) -> String {
        let p = Self::prefix(org);
        match (
            filter.state,
            filter.error_type,
            filter.category,
            &filter.object_type,
        ) {
            (Some(ErrorState::Resolved), ..) => format!("{p}:ix:resolved"),
            (_, Some(t), ..) => format!("{p}:ix:t:{}", t.number()),
            (_, None, Some(c), _) => format!("{p}:ix:c:{}", c.number()),
            (_, None, None, Some(o)) => format!("{p}:ix:o:{o}"),
            _ => format!("{p}:ix:all"),
        }
    }

    async fn read_errors(
        &self,
        org: &OrgId,
        ids: &[String],
    ) -> Result<Vec<Option<StoredError>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let p = Self::prefix(org);
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(format!("{p}:e:{id}"));
        }
        let hashes: Vec<HashMap<String, String>> = pipe
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        ids.iter()
            .zip(hashes)
            .map(|(id, fields)| {
                if fields.is_empty() {
                    // Resolved long ago and expired, or removed meanwhile.
                    return Ok(None);
                }
                let id = ErrorId::parse("error_id", id).map_err(|_| corrupt("error id"))?;
                parse_error(id, &fields).map(Some)
            })
            .collect()
    }
}

impl ErrorStore for RedisStore {
    async fn ingest(
        &self,
        org: &OrgId,
        batch: &[(Failure, Classification)],
        trace_parent: &str,
    ) -> Result<Vec<Ingested>, StoreError> {
        let mut failures = Vec::with_capacity(batch.len());
        let mut results = Vec::with_capacity(batch.len());
        for (failure, classification) in batch {
            let (error_id, t, c, r) = match *classification {
                Classification::Record(t) => (
                    Some(failure.error_id(t)),
                    t.number(),
                    t.category().number(),
                    0,
                ),
                Classification::Suspension(reason) => (None, 0, 0, reason.number()),
            };
            failures.push(ScriptFailure {
                k: &failure.idempotency_key,
                id: error_id
                    .as_ref()
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
                t,
                c,
                r,
                o: &failure.object_type,
                rid: &failure.crm_record_id,
                sid: &failure.salesforce_id,
                d: failure.direction.number(),
                st: &failure.status_code,
                m: &failure.message,
                f: failure.fields.join(&FIELD_SEPARATOR.to_string()),
                at: failure.occurred_at_ms.unwrap_or(0),
                tp: if r > 0 { trace_parent } else { "" },
            });
            results.push(Ingested {
                classification: *classification,
                error_id,
                duplicate: false,
            });
        }
        let suspends = failures.iter().any(|f| f.r > 0);
        let json =
            serde_json::to_string(&failures).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let duplicates: Vec<i64> = self
            .ingest
            .key(Self::prefix(org))
            .arg(IDEMPOTENCY_WINDOW_MS)
            .arg(json)
            .invoke_async(&mut self.conn.clone())
            .instrument(syncgov_kit::store::redis_span("EVALSHA", "ingest"))
            .await
            .map_err(from_redis)?;
        if duplicates.len() != results.len() {
            return Err(corrupt("ingest reply"));
        }
        if suspends {
            // The batch is stored (with its outbox entries) whatever happens
            // here; if this hint is lost, the relay's scan finds the outbox.
            let hint: Result<(), _> = redis::cmd("SADD")
                .arg(OUTBOX_ORGS)
                .arg(org.as_str())
                .exec_async(&mut self.conn.clone())
                .await;
            if let Err(e) = hint {
                tracing::warn!(error = %e, "outbox hint lost; the relay's scan will find it");
            }
        }
        for (result, duplicate) in results.iter_mut().zip(duplicates) {
            result.duplicate = duplicate == 1;
        }
        Ok(results)
    }

    async fn health(&self, org: &OrgId) -> Result<HealthCounts, StoreError> {
        let p = Self::prefix(org);
        let (counts, suspensions): (HashMap<String, i64>, Vec<String>) = redis::pipe()
            .hgetall(format!("{p}:counts"))
            .lrange(format!("{p}:susp"), 0, 19)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let count = |name: String| counts.get(&name).copied().unwrap_or(0).max(0) as u64;
        let types = ErrorType::ALL
            .iter()
            .map(|&t| {
                let n = t.number();
                (
                    t,
                    TypeCounts {
                        errors: count(format!("e:t:{n}")),
                        dead: count(format!("d:t:{n}")),
                    },
                )
            })
            .filter(|(_, c)| c.errors > 0)
            .collect();
        let category_records = Category::ALL
            .iter()
            .map(|&c| (c, count(format!("r:c:{}", c.number()))))
            .filter(|(_, n)| *n > 0)
            .collect();
        let suspensions = suspensions
            .iter()
            .filter_map(|json| serde_json::from_str::<ScriptSuspension>(json).ok())
            .filter_map(|s| {
                Some(SuspensionEvent {
                    reason: SuspensionReason::from_number(s.r)?,
                    status_code: s.st,
                    message: s.m,
                    occurred_at_ms: s.at,
                    trace_parent: s.tp,
                })
            })
            .collect();
        Ok(HealthCounts {
            errors: count("e".into()),
            records: count("r".into()),
            types,
            category_records,
            suspensions,
        })
    }

    async fn list(
        &self,
        org: &OrgId,
        filter: &ErrorFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let index = Self::index_for(org, filter);
        let mut errors = Vec::with_capacity(limit);
        // Exclusive upper bound on seq: the cursor is the last seq returned.
        let mut before = cursor.map(|c| c.0);
        let mut scanned = 0;
        loop {
            let max = before.map_or("+inf".to_owned(), |b| format!("({b}"));
            let ids: Vec<(String, u64)> = redis::cmd("ZREVRANGEBYSCORE")
                .arg(&index)
                .arg(max)
                .arg("-inf")
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(SCAN_BATCH)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(from_redis)?;
            let exhausted = ids.len() < SCAN_BATCH;
            let names: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
            let found = self.read_errors(org, &names).await?;
            for ((_, seq), error) in ids.iter().zip(found) {
                scanned += 1;
                before = Some(*seq);
                let Some(error) = error else { continue };
                if !filter.matches(&error) {
                    continue;
                }
                if errors.len() == limit {
                    // One more match exists: the page is full and not the last.
                    let next = errors.last().map(|e: &StoredError| Cursor(e.seq));
                    return Ok(Page { errors, next });
                }
                errors.push(error);
            }
            if exhausted {
                return Ok(Page { errors, next: None });
            }
            if scanned >= SCAN_LIMIT {
                // Stop scanning; the caller continues from here.
                return Ok(Page {
                    errors,
                    next: before.map(Cursor),
                });
            }
        }
    }

    async fn get(&self, org: &OrgId, id: &ErrorId) -> Result<Option<StoredError>, StoreError> {
        Ok(self
            .read_errors(org, &[id.to_string()])
            .await?
            .pop()
            .flatten())
    }

    async fn resolve_record(
        &self,
        org: &OrgId,
        object_type: &str,
        crm_record_id: &str,
    ) -> Result<u32, StoreError> {
        let resolved: u32 = self
            .resolve_record
            .key(Self::prefix(org))
            .arg(object_type)
            .arg(crm_record_id)
            .arg(RESOLVED_TTL_MS)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(resolved)
    }

    async fn resync(&self, org: &OrgId, ids: &[ErrorId]) -> Result<Vec<Queued>, StoreError> {
        // The errors live in the org's slot and the pointers in its queue
        // shard's, so no one script can do both (see `claim`). The order keeps
        // every resyncing error within reach of a pointer:
        // 1. read the errors' states: only open or dead ones may be queued;
        // 2. put a pointer to each of those on the shard, due at once (NX
        //    keeps a pointer already there);
        // 3. mark them resyncing, those still open or dead (one script).
        // A crash or an error after 2 leaves pointers to errors that are not
        // resyncing, which a claim drops when they come up; a pointer is
        // never taken away here, for it may meanwhile be the pointer of a job
        // another call queued.
        let p = Self::prefix(org);
        let mut read = redis::pipe();
        for id in ids {
            read.hget(format!("{p}:e:{id}"), "s");
        }
        let states: Vec<Option<i64>> = read
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        if states.len() != ids.len() {
            return Err(corrupt("error states"));
        }
        let mut results: Vec<Option<Queued>> = states
            .iter()
            .map(|state| match state {
                None => Some(Queued::NotFound),
                Some(4) => Some(Queued::Resolved),
                Some(2) => Some(Queued::AlreadyQueued),
                Some(_) => None,
            })
            .collect();
        let wanted: Vec<usize> = (0..ids.len()).filter(|&i| results[i].is_none()).collect();
        if !wanted.is_empty() {
            let (ready, _) = Self::queue_keys(org);
            let job = |i: usize| JobId {
                org: org.clone(),
                error: ids[i].clone(),
            };
            let mut add = redis::cmd("ZADD");
            add.arg(&ready).arg("NX");
            for &i in &wanted {
                add.arg(0).arg(job(i).to_string());
            }
            add.exec_async(&mut self.conn.clone())
                .await
                .map_err(from_redis)?;
            let codes: Vec<i64> = self
                .resync
                .key(&p)
                .arg(wanted.iter().map(|&i| ids[i].as_str()).collect::<Vec<_>>())
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(from_redis)?;
            if codes.len() != wanted.len() {
                return Err(corrupt("resync reply"));
            }
            for (&i, code) in wanted.iter().zip(codes) {
                results[i] = Some(match code {
                    3 => Queued::Queued(job(i)),
                    2 => Queued::AlreadyQueued,
                    1 => Queued::Resolved,
                    _ => Queued::NotFound,
                });
            }
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| corrupt("resync reply")))
            .collect()
    }

    async fn claim(&self, max: usize, visibility: Duration) -> Result<Vec<Claimed>, StoreError> {
        let start = self
            .next_shard
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Per shard: its pointers move to in-flight (the shard's script),
        // then each job is leased (its org's script), which hands it out only
        // when no other lease runs. A pointer whose lease is never made (an
        // error, a crash) comes back when its visibility lapses.
        let mut claimed = Vec::new();
        for i in 0..QUEUE_SHARDS {
            if claimed.len() >= max {
                break;
            }
            let (ready, inflight) = Self::shard_keys((start + i) % QUEUE_SHARDS);
            let reply: Vec<redis::Value> = self
                .claim
                .key(&ready)
                .key(&inflight)
                .arg(max - claimed.len())
                .arg(visibility.as_millis() as u64)
                .invoke_async(&mut self.conn.clone())
                .await
                .map_err(from_redis)?;
            for member in reply.iter().skip(1) {
                let member: String =
                    redis::from_redis_value_ref(member).map_err(|_| corrupt("claim reply"))?;
                if let Some(job) = self.lease_job(&member, visibility).await? {
                    claimed.push(job);
                }
            }
        }
        Ok(claimed)
    }

    async fn complete(
        &self,
        job: &JobId,
        lease: &str,
        outcome: JobOutcome,
        jitter: f64,
    ) -> Result<Completed, StoreError> {
        // The outcome first (the org's script, which checks the lease), then
        // the pointer (the shard's). Lost in between, the in-flight pointer
        // comes back when it lapses, and its lease drops it or puts it back
        // for its retry.
        let reply: Vec<i64> = self
            .complete
            .key(Self::prefix(&job.org))
            .arg(job.error.as_str())
            .arg(lease)
            .arg(if outcome == JobOutcome::Success { 1 } else { 2 })
            .arg(self.policy.max_attempts)
            .arg(self.policy.base.as_millis() as u64)
            .arg(self.policy.cap.as_millis() as u64)
            .arg(jitter.clamp(0.0, 0.999_999))
            .arg(RESOLVED_TTL_MS)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let (ready, inflight) = Self::queue_keys(&job.org);
        let member = job.to_string();
        let mut conn = self.conn.clone();
        match reply.as_slice() {
            [-1] => Ok(Completed::LeaseLost),
            &[2, retry_at] if retry_at > 0 => {
                redis::pipe()
                    .atomic()
                    .zrem(&inflight, &member)
                    .zadd(&ready, &member, retry_at)
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                Ok(Completed::Done {
                    state: ErrorState::Resyncing,
                    retry_at_ms: Some(retry_at),
                })
            }
            &[state, _] => {
                redis::cmd("ZREM")
                    .arg(&inflight)
                    .arg(&member)
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                let state =
                    ErrorState::from_number(state as i32).ok_or_else(|| corrupt("error state"))?;
                Ok(Completed::Done {
                    state,
                    retry_at_ms: None,
                })
            }
            _ => Err(corrupt("complete reply")),
        }
    }

    async fn outbox(&self, max: usize) -> Result<Vec<(OrgId, Vec<SuspensionEvent>)>, StoreError> {
        let mut conn = self.conn.clone();
        let mut orgs: Vec<String> = redis::cmd("SMEMBERS")
            .arg(OUTBOX_ORGS)
            .query_async(&mut conn)
            .await
            .map_err(from_redis)?;
        // Now and then, look for outboxes the hint missed.
        let scans = self
            .outbox_scans
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if scans.is_multiple_of(120) {
            // On every master of a cluster: outboxes live in their org's slot.
            for key in self.conn.scan("syncgov:errors:{*}:outbox").await? {
                if let Some(org) = key
                    .strip_prefix("syncgov:errors:{")
                    .and_then(|k| k.strip_suffix("}:outbox"))
                {
                    orgs.push(org.to_owned());
                }
            }
            orgs.sort();
            orgs.dedup();
        }
        let mut pending = Vec::new();
        for org in orgs {
            let Ok(org) = OrgId::parse(&org) else {
                continue;
            };
            let entries: Vec<String> = redis::cmd("LRANGE")
                .arg(format!("{}:outbox", Self::prefix(&org)))
                .arg(0)
                .arg(max.saturating_sub(1))
                .query_async(&mut conn)
                .await
                .map_err(from_redis)?;
            if entries.is_empty() {
                // Nothing left: drop the hint (an entry pushed meanwhile is
                // still found by the scan).
                redis::cmd("SREM")
                    .arg(OUTBOX_ORGS)
                    .arg(org.as_str())
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                continue;
            }
            let events = entries
                .iter()
                .filter_map(|json| serde_json::from_str::<ScriptSuspension>(json).ok())
                .filter_map(|s| {
                    Some(SuspensionEvent {
                        reason: SuspensionReason::from_number(s.r)?,
                        status_code: s.st,
                        message: s.m,
                        occurred_at_ms: s.at,
                        trace_parent: s.tp,
                    })
                })
                .collect();
            pending.push((org, events));
        }
        Ok(pending)
    }

    async fn outbox_done(&self, org: &OrgId, count: usize) -> Result<(), StoreError> {
        redis::cmd("LTRIM")
            .arg(format!("{}:outbox", Self::prefix(org)))
            .arg(count)
            .arg(-1)
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn notification_settings(
        &self,
        org: &OrgId,
    ) -> Result<Option<notify::Settings>, StoreError> {
        let values: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(format!("{}:notify", Self::prefix(org)))
            .arg(&["en", "fq", "url", "sec"])
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let [en, fq, url, sec] = values.as_slice() else {
            return Err(corrupt("notification settings"));
        };
        let Some(en) = en else { return Ok(None) };
        let frequency = fq
            .as_deref()
            .and_then(|f| f.parse().ok())
            .and_then(notify::Frequency::from_number)
            .ok_or_else(|| corrupt("notification frequency"))?;
        Ok(Some(notify::Settings {
            enabled: en == "1",
            frequency,
            webhook_url: url.clone().unwrap_or_default(),
            webhook_secret: sec.clone().filter(|s| !s.is_empty()),
        }))
    }

    async fn set_notification_settings(
        &self,
        org: &OrgId,
        mut settings: notify::Settings,
    ) -> Result<notify::Settings, StoreError> {
        if settings.webhook_secret.is_none() {
            settings.webhook_secret = self
                .notification_settings(org)
                .await?
                .and_then(|s| s.webhook_secret);
        }
        let key = format!("{}:notify", Self::prefix(org));
        let mut conn = self.conn.clone();
        redis::cmd("HSET")
            .arg(&key)
            .arg("en")
            .arg(u8::from(settings.enabled))
            .arg("fq")
            .arg(settings.frequency.number())
            .arg("url")
            .arg(&settings.webhook_url)
            .arg("sec")
            .arg(settings.webhook_secret.as_deref().unwrap_or_default())
            .exec_async(&mut conn)
            .await
            .map_err(from_redis)?;
        // The index of orgs to look at; a failure here fails the call, which
        // the caller repeats.
        let index = if settings.enabled { "SADD" } else { "SREM" };
        redis::cmd(index)
            .arg(NOTIFIED_ORGS)
            .arg(org.as_str())
            .exec_async(&mut conn)
            .await
            .map_err(from_redis)?;
        Ok(settings)
    }

    async fn notified_orgs(&self) -> Result<Vec<OrgId>, StoreError> {
        let orgs: Vec<String> = redis::cmd("SMEMBERS")
            .arg(NOTIFIED_ORGS)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(orgs.iter().filter_map(|o| OrgId::parse(o).ok()).collect())
    }

    async fn make_digest(&self, org: &OrgId, period: i64) -> Result<bool, StoreError> {
        let made: i64 = self
            .digest
            .key(Self::prefix(org))
            .arg(period)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(made == 1)
    }

    async fn claim_notification(
        &self,
        org: &OrgId,
        lease_ms: u64,
    ) -> Result<Option<Pending>, StoreError> {
        let json: Option<String> = self
            .notify_claim
            .key(Self::prefix(org))
            .arg(lease_ms)
            .arg(MAX_RETRY_WAIT_MS.max(lease_ms))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        json.map(|j| serde_json::from_str(&j).map_err(|_| corrupt("notification")))
            .transpose()
    }

    async fn queue_notice(&self, org: &OrgId, notice: &Pending) -> Result<bool, StoreError> {
        let json = serde_json::to_string(notice).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let queued: i64 = self
            .notice
            .key(Self::prefix(org))
            .arg(&notice.id)
            .arg(json)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(queued == 1)
    }

    async fn suspension_cursor(&self) -> Result<Option<String>, StoreError> {
        redis::cmd("GET")
            .arg(SUSPENSION_CURSOR)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn set_suspension_cursor(&self, cursor: &str) -> Result<(), StoreError> {
        redis::cmd("SET")
            .arg(SUSPENSION_CURSOR)
            .arg(cursor)
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn notification_sent(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        redis::cmd("HDEL")
            .arg(format!("{}:notify:inflight", Self::prefix(org)))
            .arg(id)
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        redis::cmd("PING")
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        // One ZCARD per key: each shard lives in its own slot.
        let mut depth = QueueDepth::default();
        for shard in 0..QUEUE_SHARDS {
            let (ready, inflight) = Self::shard_keys(shard);
            let (waiting, claimed): (u64, u64) = redis::pipe()
                .zcard(&ready)
                .zcard(&inflight)
                .query_async(&mut self.conn.clone())
                .await
                .map_err(from_redis)?;
            depth.waiting += waiting;
            depth.claimed += claimed;
        }
        Ok(depth)
    }
}
