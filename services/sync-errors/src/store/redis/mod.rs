//! The Redis store: sync errors shared by every replica.
//!
//! Every write is one Lua script over the keys of one org (layout in
//! `../lua/errors.lua`), so a batch is stored whole or not at all, whatever
//! other replicas do at the same time. Every key carries the org as a hash tag
//! (`syncgov:errors:{<org>}:…`), so an org's keys share one Redis Cluster slot.
//! Reads (listing, one error, health) are plain commands, pipelined.
//!
//! On a Redis Cluster ([`crate::store::conn`]) no script or pipeline touches
//! two slots. What is shared by every org lives in slots of its own:
//! - the resync queue: [`QUEUE_SHARDS`] shards, each with its own hash tag
//!   (`syncgov:resync:{q<n>}:…`: per org a ready set of job pointers
//!   `<org>/<error id>`, the line of orgs taking turns, the parked orgs and
//!   the in-flight set; layout in `../lua/queue.lua`); an org's jobs all go
//!   to one shard. Claims take orgs in turns within a shard and spread over
//!   the shards, so no org's backlog holds up another's jobs. A job's
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

//!
//! The files: this one holds [`RedisStore`] and the order of the steps of
//! each operation; `keys` spells every key, `scripts` runs each Lua script
//! with its KEYS and ARGV, `decode` reads what Redis answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use syncgov_kit::store::{corrupt, from_redis};

use crate::classify::{Classification, Classified};
use crate::domain::ErrorExplanation;
use crate::domain::{
    Cursor, ErrorFilter, ErrorId, ErrorState, Failure, HealthCounts, OrgId, Page, StoredError,
};
use crate::notify;
use crate::resync::{JobId, JobOutcome, QueuePolicy};
use crate::store::conn::{Durability, Endpoint, Redis};
use crate::store::{
    Claimed, Completed, ErrorStore, Ingested, Moved, OutboxEntry, Pending, QueueDepth, Queued,
    ReportedFailure, StoreError,
};
use crate::top::{ErrorCounts, FleetCounts, TopOrder, TopRank};

mod decode;
mod keys;
mod scripts;

use decode::{Completion, Lease, Seen};
use keys::OrgKeys;
pub use keys::{
    NOTIFIED_ORGS, OUTBOX_ORGS, QUEUE_SHARDS, SUSPENSION_CURSOR, ShardKeys, USAGE_ALERT_CURSOR,
    prefix, queue_keys,
};
use scripts::{ScriptFailure, Scripts};

/// Ids read per round trip while filling a page.
const SCAN_BATCH: usize = 200;

/// Orgs' counters read at once when summing the fleet's.
const FLEET_READS_AT_ONCE: usize = 16;

/// How long the channels that took a notification are remembered: longer
/// than any claim lasts, so a retry always finds them.
const SENT_CHANNELS_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
/// Most ids looked at for one page: a page of a rare filter over a huge
/// index comes back short, with a cursor, instead of scanning on and on.
const SCAN_LIMIT: usize = 10_000;
/// Most rounds over the queue shards one claim makes: pointers a claim
/// drops (their job is over, or another claim holds it) can leave it short,
/// and then it returns what it has rather than going round again and again;
/// the worker's next claim takes the rest.
const CLAIM_ROUNDS: usize = 4;
/// Outbox looks between two scans for outboxes the hint set missed: at the
/// relay's pace of one look every half second, a scan a minute.
const OUTBOX_LOOKS_PER_SCAN: u64 = 120;

/// Sync errors in Redis.
pub struct RedisStore {
    /// Multiplexed connection (per node, on a cluster) that reconnects by
    /// itself; cheap to clone.
    conn: Redis,
    /// Replicas an ingest must reach before it is acknowledged, if any.
    durability: Option<Durability>,
    /// How failed resync attempts back off (the complete script applies
    /// it) and how many jobs an org may have queued (the resync script).
    policy: QueuePolicy,
    /// One handle per Lua script, each loaded on a node when first needed.
    scripts: Scripts,
    /// Counts outbox looks: every so many, a scan backs up the hint set.
    outbox_scans: AtomicU64,
    /// Where the next claim starts looking: after the last shard a claim
    /// of this replica took a job from, so shards take turns.
    next_shard: AtomicU32,
    /// Numbers leases within this replica; the replica's random tag keeps
    /// leases of different replicas apart.
    leases: AtomicU64,
    /// This replica's random tag, in every lease it makes.
    replica: u64,
    /// Keeps the top-orgs view (`../lua/rank_top.lua`).
    rank_top: redis::Script,
}

impl RedisStore {
    /// A store on the Redis at `endpoint` (one server or a Redis Cluster);
    /// connects lazily, so the service starts (not serving) while Redis is
    /// down. `timeout` bounds every connection attempt and every reply.
    pub fn open(
        endpoint: &Endpoint,
        timeout: Duration,
        policy: QueuePolicy,
        durability: Option<Durability>,
    ) -> Result<Self, StoreError> {
        let conn = endpoint.connect(timeout)?;
        let replica = {
            use std::hash::{BuildHasher, RandomState};
            RandomState::new().hash_one(std::process::id())
        };
        Ok(Self {
            conn,
            durability,
            policy,
            scripts: Scripts::new(),
            next_shard: AtomicU32::new(0),
            outbox_scans: AtomicU64::new(0),
            leases: AtomicU64::new(0),
            replica,
            rank_top: redis::Script::new(include_str!("../lua/rank_top.lua")),
        })
    }

    /// The keys of the queue shard that holds `org`'s jobs (as
    /// [`queue_keys`]).
    pub fn queue_keys(org: &OrgId) -> ShardKeys {
        queue_keys(org)
    }

    /// The prefix of every key of `org` (as [`prefix`]).
    pub fn prefix(org: &OrgId) -> String {
        prefix(org)
    }

    /// A lease no other claim, of this replica or another, has had.
    fn next_lease(&self) -> String {
        format!(
            "l{:x}{:x}",
            self.replica & 0xffff_ffff,
            self.leases.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    /// Leases one claimed job; `None` when the job is not to be handed out
    /// now (its pointer is dealt with here).
    async fn lease_job(
        &self,
        member: &str,
        visibility: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        let Ok(job) = JobId::parse("job", member) else {
            return Ok(None);
        };
        let inflight = queue_keys(&job.org).inflight;
        let lease = self.next_lease();
        let answer = self
            .scripts
            .lease(&self.conn, &job, &lease, visibility.as_millis() as u64)
            .await?;
        let mut conn = self.conn.clone();
        match answer {
            Lease::Granted {
                attempt,
                until_ms,
                error,
            } => Ok(Some(Claimed {
                attempt,
                visible_again_ms: until_ms,
                lease,
                error: *error,
                job,
            })),
            // Another lease still runs: put its timeout back.
            Lease::Held { until_ms } => {
                redis::cmd("ZADD")
                    .arg(&inflight)
                    .arg("XX")
                    .arg(until_ms)
                    .arg(member)
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                Ok(None)
            }
            // A retry not due yet: back to its org's ready set at its time.
            Lease::NotDue { due_ms } => {
                self.scripts
                    .enqueue(&self.conn, &job.org, &[member.to_owned()], due_ms, true)
                    .await?;
                Ok(None)
            }
            // Nothing to do: drop the pointer.
            Lease::Unwanted => {
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

    /// Names `org` in the outbox hint set, after a script put a
    /// suspension-level failure in its outbox. That failure is stored
    /// whatever happens here; if this hint is lost, the relay's scan finds
    /// the outbox.
    async fn hint_outbox(&self, org: &OrgId) {
        let hint: Result<(), _> = redis::cmd("SADD")
            .arg(OUTBOX_ORGS)
            .arg(org.as_str())
            .exec_async(&mut self.conn.clone())
            .await;
        if let Err(e) = hint {
            tracing::warn!(error = %e, "outbox hint lost; the relay's scan will find it");
        }
    }

    /// The errors of `ids`, in order; `None` for one that is gone.
    async fn read_errors(
        &self,
        keys: &OrgKeys,
        ids: &[String],
    ) -> Result<Vec<Option<StoredError>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(keys.error(id));
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
                decode::stored_error(id, &fields).map(Some)
            })
            .collect()
    }
}

impl ErrorStore for RedisStore {
    async fn ingest(
        &self,
        org: &OrgId,
        batch: &[(Failure, Classified)],
        trace_parent: &str,
    ) -> Result<Vec<Ingested>, StoreError> {
        let mut results: Vec<Ingested> = batch
            .iter()
            .map(|(failure, classified)| Ingested {
                classification: classified.class,
                explanation: Some(ErrorExplanation::of(&classified.why)),
                error_id: match classified.class {
                    Classification::Record(t) => Some(failure.error_id(t)),
                    Classification::Suspension(_) => None,
                },
                duplicate: false,
            })
            .collect();
        let failures: Vec<ScriptFailure> = batch
            .iter()
            .zip(&results)
            .map(|((failure, classified), result)| {
                ScriptFailure::new(failure, classified, result.error_id.as_ref(), trace_parent)
            })
            .collect();
        let suspends = failures.iter().any(ScriptFailure::suspends);
        let duplicates = self
            .scripts
            .ingest(&self.conn, &OrgKeys::of(org), &failures)
            .await?;
        if let Some(durability) = self.durability {
            // Acknowledged only once the replicas have it: a failover
            // loses nothing a worker was told is stored.
            self.conn
                .wait_for_replicas(&prefix(org), durability.replicas, durability.timeout)
                .await?;
        }
        if suspends {
            self.hint_outbox(org).await;
        }
        for (result, seen) in results.iter_mut().zip(duplicates) {
            if let Seen::Before(first) = seen {
                // The key was seen: the answer is the one given then, for
                // the failure stored then, whatever this one says.
                result.duplicate = true;
                result.explanation = None;
                if let Some((classification, error_id)) = first {
                    result.classification = classification;
                    result.error_id = error_id;
                }
            }
        }
        Ok(results)
    }

    async fn reclassify(&self, org: &OrgId, moves: &[Moved]) -> Result<Vec<bool>, StoreError> {
        if moves.is_empty() {
            return Ok(Vec::new());
        }
        self.scripts
            .reclassify(&self.conn, &OrgKeys::of(org), moves)
            .await
    }

    async fn health(&self, org: &OrgId) -> Result<HealthCounts, StoreError> {
        let keys = OrgKeys::of(org);
        let (counts, suspensions): (HashMap<String, i64>, Vec<String>) = redis::pipe()
            .hgetall(keys.counts())
            .lrange(keys.suspensions(), 0, 19)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(decode::health_counts(&counts, &suspensions))
    }

    async fn list(
        &self,
        org: &OrgId,
        filter: &ErrorFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let keys = OrgKeys::of(org);
        let index = keys.index_for(filter);
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
            let found = self.read_errors(&keys, &names).await?;
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
            .read_errors(&OrgKeys::of(org), &[id.to_string()])
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
        self.scripts
            .resolve_record(&self.conn, &OrgKeys::of(org), object_type, crm_record_id)
            .await
    }

    async fn resync(&self, org: &OrgId, ids: &[ErrorId]) -> Result<Vec<Queued>, StoreError> {
        // The errors live in the org's slot and the pointers in its queue
        // shard's, so no one script can do both (see `claim`). The order keeps
        // every resyncing error within reach of a pointer:
        // 1. read the errors' states and how many jobs the org has queued:
        //    only open or dead ones may be queued, as many as the org may
        //    still have;
        // 2. put a pointer to each of those in the org's ready set on its
        //    shard, due at once (NX keeps a pointer already there), and the
        //    org in the shard's line;
        // 3. mark them resyncing, those still open or dead while the org is
        //    under its cap (one script).
        // A crash or an error after 2 leaves pointers to errors that are not
        // resyncing, which a claim drops when they come up; a pointer is
        // never taken away here, for it may meanwhile be the pointer of a job
        // another call queued.
        let keys = OrgKeys::of(org);
        let mut read = redis::pipe();
        read.hget(keys.counts(), "q");
        for id in ids {
            read.hget(keys.error(id.as_str()), "s");
        }
        let (queued, states): (Option<i64>, Vec<Option<i64>>) = {
            let mut replies: Vec<Option<i64>> = read
                .query_async(&mut self.conn.clone())
                .await
                .map_err(from_redis)?;
            if replies.len() != ids.len() + 1 {
                return Err(corrupt("error states"));
            }
            let queued = replies.remove(0);
            (queued, replies)
        };
        let mut results: Vec<Option<Queued>> =
            states.into_iter().map(decode::not_queueable).collect();
        // Only as many as the org may still queue get a pointer; the script
        // checks again, atomically, against resyncs running meanwhile.
        let cap = self.policy.max_queued_per_org;
        let mut room = i64::from(cap) - queued.unwrap_or(0).max(0);
        let mut wanted = Vec::new();
        for (i, result) in results.iter_mut().enumerate() {
            if result.is_some() {
                continue;
            }
            if room > 0 {
                room -= 1;
                wanted.push(i);
            } else {
                *result = Some(Queued::QueueFull);
            }
        }
        if !wanted.is_empty() {
            let jobs: Vec<JobId> = wanted
                .iter()
                .map(|&i| JobId {
                    org: org.clone(),
                    error: ids[i].clone(),
                })
                .collect();
            let members: Vec<String> = jobs.iter().map(JobId::to_string).collect();
            self.scripts
                .enqueue(&self.conn, org, &members, 0, false)
                .await?;
            let marked = self.scripts.resync(&self.conn, &keys, jobs, cap).await?;
            for (&i, queued) in wanted.iter().zip(marked) {
                results[i] = Some(queued);
            }
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| corrupt("resync reply")))
            .collect()
    }

    async fn claim(&self, max: usize, visibility: Duration) -> Result<Vec<Claimed>, StoreError> {
        // Per shard: its pointers move to in-flight (the shard's script,
        // where the orgs take turns), then each job is leased (its org's
        // script), which hands it out only when no other lease runs. A
        // pointer whose lease is never made (an error, a crash) comes back
        // when its visibility lapses.
        //
        // Across shards, rounds: each shard still giving jobs is asked for
        // its share of what is left, from the shard after the last one that
        // gave, so the orgs of every shard are served, not only those of
        // the first busy shard.
        let start = self.next_shard.load(Ordering::Relaxed);
        let mut active: Vec<u32> = (0..QUEUE_SHARDS)
            .map(|i| (start + i) % QUEUE_SHARDS)
            .collect();
        let mut claimed = Vec::new();
        let mut last_giving = None;
        let mut rounds = 0;
        while claimed.len() < max && !active.is_empty() && rounds < CLAIM_ROUNDS {
            rounds += 1;
            let share = (max - claimed.len()).div_ceil(active.len());
            let mut still = Vec::with_capacity(active.len());
            for &shard in &active {
                let wanted = share.min(max - claimed.len());
                if wanted == 0 {
                    still.push(shard);
                    continue;
                }
                let members = self
                    .scripts
                    .claim(
                        &self.conn,
                        &ShardKeys::of(shard),
                        wanted,
                        visibility.as_millis() as u64,
                    )
                    .await?;
                if members.len() == wanted {
                    // It may have more.
                    still.push(shard);
                }
                if !members.is_empty() {
                    last_giving = Some(shard);
                }
                for member in members {
                    if let Some(job) = self.lease_job(&member, visibility).await? {
                        claimed.push(job);
                    }
                }
            }
            active = still;
        }
        if let Some(shard) = last_giving {
            self.next_shard
                .store((shard + 1) % QUEUE_SHARDS, Ordering::Relaxed);
        }
        Ok(claimed)
    }

    async fn complete(
        &self,
        job: &JobId,
        lease: &str,
        outcome: JobOutcome,
        reported: Option<ReportedFailure<'_>>,
        jitter: f64,
    ) -> Result<Completed, StoreError> {
        // The outcome first (the org's script, which checks the lease, then
        // records the reported failure and the outcome), then the pointer
        // (the shard's). Lost in between, the in-flight pointer comes back
        // when it lapses, and its lease drops it or puts it back for its
        // retry.
        let error_id = reported.and_then(|r| match r.classified.class {
            Classification::Record(t) => Some(r.failure.error_id(t)),
            Classification::Suspension(_) => None,
        });
        let failure = reported.map(|r| {
            ScriptFailure::new(r.failure, r.classified, error_id.as_ref(), r.trace_parent)
        });
        let completion = self
            .scripts
            .complete(
                &self.conn,
                job,
                lease,
                outcome,
                failure.as_ref(),
                &self.policy.retry,
                jitter,
            )
            .await?;
        let suspends = failure.as_ref().is_some_and(ScriptFailure::suspends);
        if suspends && completion != Completion::LeaseLost {
            self.hint_outbox(&job.org).await;
        }
        let inflight = queue_keys(&job.org).inflight;
        let member = job.to_string();
        let mut conn = self.conn.clone();
        match completion {
            Completion::LeaseLost => Ok(Completed::LeaseLost),
            Completion::Retry { retry_at_ms } => {
                self.scripts
                    .enqueue(&self.conn, &job.org, &[member], retry_at_ms, true)
                    .await?;
                Ok(Completed::Done {
                    state: ErrorState::Resyncing,
                    retry_at_ms: Some(retry_at_ms),
                })
            }
            Completion::Ended(state) => {
                redis::cmd("ZREM")
                    .arg(&inflight)
                    .arg(&member)
                    .exec_async(&mut conn)
                    .await
                    .map_err(from_redis)?;
                Ok(Completed::Done {
                    state,
                    retry_at_ms: None,
                })
            }
        }
    }

    async fn outbox(&self, max: usize) -> Result<Vec<(OrgId, Vec<OutboxEntry>)>, StoreError> {
        let mut conn = self.conn.clone();
        let mut orgs: Vec<String> = redis::cmd("SMEMBERS")
            .arg(OUTBOX_ORGS)
            .query_async(&mut conn)
            .await
            .map_err(from_redis)?;
        // Now and then, look for outboxes the hint missed.
        let scans = self.outbox_scans.fetch_add(1, Ordering::Relaxed);
        if scans.is_multiple_of(OUTBOX_LOOKS_PER_SCAN) {
            // On every master of a cluster: outboxes live in their org's slot.
            for key in self.conn.scan(keys::OUTBOX_PATTERN).await? {
                if let Some(org) = keys::outbox_org(&key) {
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
                .arg(OrgKeys::of(&org).outbox())
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
            let entries = entries
                .into_iter()
                .map(|raw| OutboxEntry {
                    event: decode::suspension_event(&raw),
                    raw,
                })
                .collect();
            pending.push((org, entries));
        }
        Ok(pending)
    }

    async fn outbox_done(
        &self,
        org: &OrgId,
        done: &[(OutboxEntry, Option<String>)],
    ) -> Result<(), StoreError> {
        self.scripts
            .outbox_done(&self.conn, &OrgKeys::of(org), done)
            .await
    }

    async fn notification_settings(
        &self,
        org: &OrgId,
    ) -> Result<Option<notify::Settings>, StoreError> {
        let values: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(OrgKeys::of(org).notify())
            .arg(&["en", "fq", "url", "sec", "x"])
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        decode::notification_settings(&values)
    }

    async fn set_notification_settings(
        &self,
        org: &OrgId,
        mut settings: notify::Settings,
    ) -> Result<notify::Settings, StoreError> {
        // One script: the settings and what they mean for deliveries not
        // yet sent change together.
        let secret = self
            .scripts
            .notify_settings(&self.conn, &OrgKeys::of(org), &settings)
            .await?;
        settings.webhook_secret = Some(secret).filter(|s| !s.is_empty());
        let mut conn = self.conn.clone();
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

    async fn make_digest(
        &self,
        org: &OrgId,
        frequency: notify::Frequency,
        period: i64,
    ) -> Result<bool, StoreError> {
        self.scripts
            .digest(&self.conn, &OrgKeys::of(org), frequency, period)
            .await
    }

    async fn claim_notification(
        &self,
        org: &OrgId,
        lease_ms: u64,
    ) -> Result<Option<Pending>, StoreError> {
        self.scripts
            .notify_claim(&self.conn, &OrgKeys::of(org), lease_ms)
            .await
    }

    async fn queue_notice(&self, org: &OrgId, notice: &Pending) -> Result<bool, StoreError> {
        self.scripts
            .notice(&self.conn, &OrgKeys::of(org), notice)
            .await
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

    async fn usage_alert_cursor(&self) -> Result<Option<String>, StoreError> {
        redis::cmd("GET")
            .arg(USAGE_ALERT_CURSOR)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn set_usage_alert_cursor(&self, cursor: &str) -> Result<(), StoreError> {
        redis::cmd("SET")
            .arg(USAGE_ALERT_CURSOR)
            .arg(cursor)
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn record_delivery(
        &self,
        org: &OrgId,
        channel: notify::Channel,
        failure: Option<&str>,
    ) -> Result<notify::DeliveryStatus, StoreError> {
        let key = OrgKeys::of(org).notify();
        let [failures, last, at, success] = decode::delivery_fields(channel);
        let now = syncgov_kit::clock::now_ms();
        let mut pipe = redis::pipe();
        pipe.atomic();
        match failure {
            None => {
                pipe.hset_multiple(
                    &key,
                    &[(failures, "0".to_owned()), (success, now.to_string())],
                )
                .ignore();
            }
            Some(why) => {
                pipe.hincr(&key, failures, 1).ignore();
                pipe.hset_multiple(&key, &[(last, why.to_owned()), (at, now.to_string())])
                    .ignore();
            }
        }
        let (values,): (Vec<Option<String>>,) = pipe
            .cmd("HMGET")
            .arg(&key)
            .arg(&decode::delivery_fields(channel))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        decode::delivery_status(&values)
    }

    async fn delivery_status(
        &self,
        org: &OrgId,
        channel: notify::Channel,
    ) -> Result<notify::DeliveryStatus, StoreError> {
        let values: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(OrgKeys::of(org).notify())
            .arg(&decode::delivery_fields(channel))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        decode::delivery_status(&values)
    }

    async fn sent_channels(&self, org: &OrgId, id: &str) -> Result<Vec<String>, StoreError> {
        redis::cmd("SMEMBERS")
            .arg(OrgKeys::of(org).notify_sent(id))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn channel_sent(&self, org: &OrgId, id: &str, channel: &str) -> Result<(), StoreError> {
        // Both keys carry the org's hash tag: one slot, one MULTI.
        let key = OrgKeys::of(org).notify_sent(id);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.sadd(&key, channel).ignore();
        pipe.pexpire(&key, SENT_CHANNELS_TTL_MS).ignore();
        pipe.exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn notification_sent(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        let keys = OrgKeys::of(org);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.hdel(keys.notify_inflight(), id).ignore();
        pipe.del(keys.notify_sent(id)).ignore();
        pipe.exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn fleet_counts(&self) -> Result<FleetCounts, StoreError> {
        use futures_util::StreamExt as _;
        // The orgs with current errors, as ranked after each write: one
        // read of the view's slot, then each org's counters in its own slot
        // (a few reads in flight at once), never an error.
        let orgs: Vec<String> = redis::cmd("HKEYS")
            .arg(keys::top_ranked(TopOrder::Current))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let reads = futures_util::stream::iter(orgs)
            .filter_map(|org| std::future::ready(OrgId::parse(&org).ok()))
            .map(|org| async move {
                redis::cmd("HGETALL")
                    .arg(OrgKeys::of(&org).counts())
                    .query_async::<HashMap<String, i64>>(&mut self.conn.clone())
                    .await
                    .map_err(from_redis)
            })
            .buffer_unordered(FLEET_READS_AT_ONCE);
        futures_util::pin_mut!(reads);
        let mut fleet = FleetCounts::default();
        while let Some(counts) = reads.next().await {
            fleet.add(&decode::health_counts(&counts?, &[]));
        }
        Ok(fleet)
    }

    async fn rank_top(&self, org: &OrgId, counts: &ErrorCounts) -> Result<(), StoreError> {
        let mut call = self.rank_top.prepare_invoke();
        for order in TopOrder::ALL {
            call.key(keys::top(order));
        }
        for order in TopOrder::ALL {
            call.key(keys::top_ranked(order));
        }
        call.arg(org.as_str());
        for order in TopOrder::ALL {
            let count = counts.count(order);
            call.arg(if count > 0 {
                TopRank::new(org.clone(), count).entry()
            } else {
                String::new()
            });
        }
        call.invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(())
    }

    async fn top_ranks(
        &self,
        order: TopOrder,
        after: Option<&TopRank>,
        limit: usize,
    ) -> Result<(Vec<TopRank>, Option<TopRank>), StoreError> {
        let members: Vec<String> = redis::cmd("ZRANGEBYLEX")
            .arg(keys::top(order))
            .arg(after.map_or_else(|| "-".to_owned(), |a| format!("({}", a.entry())))
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        let items = members
            .iter()
            .map(|m| TopRank::read(m).ok_or_else(|| corrupt("top-orgs index")))
            .collect::<Result<Vec<_>, _>>()?;
        let next = (items.len() == limit)
            .then(|| items.last().cloned())
            .flatten();
        Ok((items, next))
    }

    async fn index_existing(&self) -> Result<(), StoreError> {
        let done: bool = redis::cmd("EXISTS")
            .arg(keys::TOP_INDEXED)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        if done {
            return Ok(());
        }
        // Once per store: every org's counters, on every master.
        let orgs: Vec<OrgId> = self
            .conn
            .scan(keys::COUNTS_PATTERN)
            .await?
            .iter()
            .filter_map(|k| keys::counts_org(k))
            .collect();
        for org in &orgs {
            let counts = ErrorCounts::of(&self.health(org).await?);
            self.rank_top(org, &counts).await?;
        }
        redis::cmd("SET")
            .arg(keys::TOP_INDEXED)
            .arg(1)
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)?;
        tracing::info!(
            orgs = orgs.len(),
            "top-orgs view filled with the orgs counted before it"
        );
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        redis::cmd("PING")
            .exec_async(&mut self.conn.clone())
            .await
            .map_err(from_redis)
    }

    async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        // One script per shard: each shard lives in its own slot.
        let mut depth = QueueDepth::default();
        for shard in 0..QUEUE_SHARDS {
            let (waiting, claimed) = self
                .scripts
                .depth(&self.conn, &ShardKeys::of(shard))
                .await?;
            depth.waiting += waiting;
            depth.claimed += claimed;
        }
        Ok(depth)
    }
}
