//! The store's Lua scripts, one per atomic operation, each behind a typed
//! call that passes its KEYS and ARGV in the order the script's block
//! comment documents (the scripts are in `../lua/`) and reads its reply
//! with [`super::decode`].
//!
//! Invariants: a script's keys share one hash tag, an org's prefix or a
//! queue shard's, so each runs in one Redis Cluster slot. The scripts that
//! change errors run behind `errors.lua` (the helpers that keep indexes and
//! counters) and a type -> category table generated from the Rust taxonomy,
//! so the scripts can never disagree with it; the ones that move jobs on a
//! queue shard run behind `queue.lua` (the line of orgs taking turns).

use redis::Script;
use serde::Serialize;
use syncgov_kit::store::{corrupt, from_redis};
use tracing::Instrument;

use super::decode::{self, Completion, FIELD_SEPARATOR, Lease, Seen};
use super::keys::{OrgKeys, ShardKeys, queue_keys};
use crate::classify::{Classification, Classified};
use crate::domain::{ErrorExplanation, ErrorId, Failure, OrgId};
use crate::resync::{JobId, JobOutcome, RetryPolicy};
use crate::store::conn::Redis;
use crate::store::{
    DEAD_LETTERS_KEPT, IDEMPOTENCY_WINDOW_MS, MAX_RETRY_WAIT_MS, Moved, OutboxEntry, Pending,
    Queued, RESOLVED_TTL_MS, StoreError,
};
use crate::taxonomy::ErrorType;

/// The taxonomy's type -> category map as a Lua table, generated from the
/// Rust taxonomy so the scripts can never disagree with it.
fn category_table() -> String {
    let entries: Vec<String> = ErrorType::ALL
        .iter()
        .map(|t| format!("[{}] = {}", t.number(), t.category().number()))
        .collect();
    format!("local category_of = {{{}}}\n", entries.join(", "))
}

/// One failure as the ingest script reads it (an element of its ARGV[2]).
#[derive(Serialize)]
pub struct ScriptFailure<'a> {
    k: &'a str,
    id: String,
    t: i32,
    c: i32,
    /// The suspension reason; 0 for a record-level failure.
    r: i32,
    o: &'a str,
    rid: &'a str,
    sid: &'a str,
    d: i32,
    st: &'a str,
    m: &'a str,
    f: String,
    /// When, in ms, as a string of digits (empty: now): the script writes
    /// it as it is, never as a Lua number.
    at: String,
    /// The ingest's traceparent, kept with suspension-level failures only.
    #[serde(skip_serializing_if = "str::is_empty")]
    tp: &'a str,
    /// What ingest answers for it, kept with its idempotency key.
    a: String,
    /// What decided its type: basis number, confidence in thousandths (a
    /// string of digits) and what matched.
    xb: i32,
    xc: String,
    xm: String,
}

impl<'a> ScriptFailure<'a> {
    /// `failure` as classified, counted towards `error_id` (none for a
    /// suspension), with the ingest's `trace_parent`.
    pub fn new(
        failure: &'a Failure,
        classified: &Classified,
        error_id: Option<&ErrorId>,
        trace_parent: &'a str,
    ) -> Self {
        let classification = classified.class;
        let why = ErrorExplanation::of(&classified.why);
        let (t, c, r) = match classification {
            Classification::Record(t) => (t.number(), t.category().number(), 0),
            Classification::Suspension(reason) => (0, 0, reason.number()),
        };
        Self {
            k: &failure.idempotency_key,
            id: error_id.map(ToString::to_string).unwrap_or_default(),
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
            at: failure
                .occurred_at_ms
                .map(|ms| ms.to_string())
                .unwrap_or_default(),
            tp: if r > 0 { trace_parent } else { "" },
            a: decode::idempotency_answer(classification, error_id),
            xb: why.basis.number(),
            xc: why.confidence_milli.to_string(),
            xm: why.matched,
        }
    }

    /// True when the script treats it as suspension-level (and puts it in
    /// the org's outbox).
    pub fn suspends(&self) -> bool {
        self.r > 0
    }
}

/// `ingest.lua` as the function `ingest(KEYS, ARGV)`: the ingest script
/// calls it with its own KEYS and ARGV, and the complete script to record
/// the failure a worker reports with its job's outcome in the same step.
fn ingest_function() -> String {
    format!(
        "local function ingest(KEYS, ARGV)\n{}\nend\n",
        include_str!("../lua/ingest.lua")
    )
}

/// The loaded scripts (each sent by hash, and loaded on `NOSCRIPT`).
pub struct Scripts {
    ingest: Script,
    resolve_record: Script,
    resync: Script,
    digest: Script,
    notify_claim: Script,
    notify_settings: Script,
    notice: Script,
    claim: Script,
    enqueue: Script,
    depth: Script,
    lease: Script,
    complete: Script,
    outbox_done: Script,
    reclassify: Script,
}

/// One move as `reclassify.lua` reads it (an element of its ARGV[1]).
#[derive(Serialize)]
struct ScriptMove<'a> {
    id: &'a str,
    nid: &'a str,
    from: i32,
    t: i32,
    c: i32,
    xb: i32,
    xc: String,
    xm: &'a str,
}

impl Scripts {
    /// Every script, the ones that change errors or move jobs behind their
    /// helpers.
    pub fn new() -> Self {
        let queue_script =
            |body: &str| Script::new(&format!("{}{body}", include_str!("../lua/queue.lua")));
        let errors_script = |body: &str| {
            Script::new(&format!(
                "{}{}{body}",
                category_table(),
                include_str!("../lua/errors.lua")
            ))
        };
        Self {
            ingest: errors_script(&format!("{}return ingest(KEYS, ARGV)\n", ingest_function())),
            resolve_record: errors_script(include_str!("../lua/resolve_record.lua")),
            resync: errors_script(include_str!("../lua/resync.lua")),
            digest: errors_script(include_str!("../lua/digest.lua")),
            notify_claim: errors_script(include_str!("../lua/notify_claim.lua")),
            notify_settings: Script::new(include_str!("../lua/notify_settings.lua")),
            notice: Script::new(include_str!("../lua/notice.lua")),
            claim: queue_script(include_str!("../lua/claim.lua")),
            enqueue: queue_script(include_str!("../lua/enqueue.lua")),
            depth: Script::new(include_str!("../lua/depth.lua")),
            lease: errors_script(include_str!("../lua/lease.lua")),
            complete: errors_script(&format!(
                "{}{}",
                ingest_function(),
                include_str!("../lua/complete.lua")
            )),
            outbox_done: Script::new(include_str!("../lua/outbox_done.lua")),
            reclassify: errors_script(include_str!("../lua/reclassify.lua")),
        }
    }

    /// `reclassify.lua`: moves current errors of the org to other types,
    /// atomically; per move, whether it was made.
    pub async fn reclassify(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        moves: &[Moved],
    ) -> Result<Vec<bool>, StoreError> {
        let batch: Vec<ScriptMove> = moves
            .iter()
            .map(|m| ScriptMove {
                id: m.id.as_str(),
                nid: m.new_id.as_str(),
                from: m.from.number(),
                t: m.to.number(),
                c: m.to.category().number(),
                xb: m.explanation.basis.number(),
                xc: m.explanation.confidence_milli.to_string(),
                xm: &m.explanation.matched,
            })
            .collect();
        let json = serde_json::to_string(&batch).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let reply: Vec<i64> = self
            .reclassify
            .key(keys.prefix())
            .arg(json)
            .arg(RESOLVED_TTL_MS)
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        if reply.len() != moves.len() {
            return Err(corrupt("reclassify reply"));
        }
        Ok(reply.into_iter().map(|n| n == 1).collect())
    }

    /// `ingest.lua`: stores `failures` of the org, atomically. Returns per
    /// failure whether its idempotency key was seen before, and with it
    /// what was answered then.
    pub async fn ingest(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        failures: &[ScriptFailure<'_>],
    ) -> Result<Vec<Seen>, StoreError> {
        let json =
            serde_json::to_string(failures).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let reply: Vec<redis::Value> = self
            .ingest
            .key(keys.prefix())
            .arg(IDEMPOTENCY_WINDOW_MS)
            .arg(json)
            .invoke_async(&mut conn.clone())
            .instrument(syncgov_kit::store::redis_span("EVALSHA", "ingest"))
            .await
            .map_err(from_redis)?;
        decode::duplicates(&reply, failures.len())
    }

    /// `resolve_record.lua`: resolves the current errors of one record;
    /// returns how many.
    pub async fn resolve_record(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        object_type: &str,
        crm_record_id: &str,
    ) -> Result<u32, StoreError> {
        self.resolve_record
            .key(keys.prefix())
            .arg(object_type)
            .arg(crm_record_id)
            .arg(RESOLVED_TTL_MS)
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)
    }

    /// `resync.lua`: marks the errors of `jobs` (all of the org of `keys`)
    /// resyncing, those still open or dead, while the org has fewer than
    /// `max_queued` resyncing; says per job what happened.
    pub async fn resync(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        jobs: Vec<JobId>,
        max_queued: u32,
    ) -> Result<Vec<Queued>, StoreError> {
        let codes: Vec<i64> = self
            .resync
            .key(keys.prefix())
            .arg(max_queued)
            .arg(jobs.iter().map(|j| j.error.as_str()).collect::<Vec<_>>())
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        if codes.len() != jobs.len() {
            return Err(corrupt("resync reply"));
        }
        Ok(jobs
            .into_iter()
            .zip(codes)
            .map(|(job, code)| decode::resync_code(code, job))
            .collect())
    }

    /// `digest.lua`: makes the org's digest of `period`, once; true when
    /// one was queued.
    pub async fn digest(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        frequency: crate::notify::Frequency,
        period: i64,
    ) -> Result<bool, StoreError> {
        let made: i64 = self
            .digest
            .key(keys.prefix())
            .arg(period)
            .arg(frequency.number())
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(made == 1)
    }

    /// `notify_claim.lua`: claims the org's next notification to deliver,
    /// the first claim for `lease_ms`, each retry's twice the one before.
    pub async fn notify_claim(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        lease_ms: u64,
    ) -> Result<Option<Pending>, StoreError> {
        let json: Option<String> = self
            .notify_claim
            .key(keys.prefix())
            .arg(lease_ms)
            .arg(MAX_RETRY_WAIT_MS.max(lease_ms))
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        json.map(|j| serde_json::from_str(&j).map_err(|_| corrupt("notification")))
            .transpose()
    }

    /// `notify_settings.lua`: stores the org's notification settings (an
    /// empty secret keeps the one stored) with what the change means for
    /// deliveries not yet sent; returns the secret as stored.
    pub async fn notify_settings(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        settings: &crate::notify::Settings,
    ) -> Result<String, StoreError> {
        self.notify_settings
            .key(keys.prefix())
            .arg(u8::from(settings.enabled))
            .arg(settings.frequency.number())
            .arg(&settings.webhook_url)
            .arg(settings.webhook_secret.as_deref().unwrap_or_default())
            .arg(super::decode::channel_settings(settings))
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)
    }

    /// `notice.lua`: queues `notice` for the org once per its id; false when
    /// it was queued before.
    pub async fn notice(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        notice: &Pending,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(notice).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let queued: i64 = self
            .notice
            .key(keys.prefix())
            .arg(&notice.id)
            .arg(json)
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(queued == 1)
    }

    /// `claim.lua`: moves up to `max` due job pointers of one queue shard
    /// to in-flight until `visibility_ms` from now, lapsed claims first,
    /// then the orgs taking turns; returns them.
    pub async fn claim(
        &self,
        conn: &Redis,
        shard: &ShardKeys,
        max: usize,
        visibility_ms: u64,
    ) -> Result<Vec<String>, StoreError> {
        let reply: Vec<redis::Value> = self
            .claim
            .key(&shard.inflight)
            .key(&shard.turns)
            .key(&shard.parked)
            .key(&shard.legacy_ready)
            .arg(max)
            .arg(visibility_ms)
            .arg(shard.ready_prefix())
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        decode::claimed(&reply)
    }

    /// `enqueue.lua`: puts `members`, job pointers of `org`, on its queue
    /// shard, due at `due_ms` (0: now), and the org in the shard's line.
    /// With `from_inflight` the pointers leave the in-flight set (a retry);
    /// without, a pointer already waiting stays as it is (a new job).
    pub async fn enqueue(
        &self,
        conn: &Redis,
        org: &OrgId,
        members: &[String],
        due_ms: i64,
        from_inflight: bool,
    ) -> Result<(), StoreError> {
        let shard = queue_keys(org);
        let _added: i64 = self
            .enqueue
            .key(shard.ready(org))
            .key(&shard.turns)
            .key(&shard.parked)
            .key(&shard.inflight)
            .arg(org.as_str())
            .arg(due_ms)
            .arg(if from_inflight { "MOVE" } else { "NX" })
            .arg(members)
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(())
    }

    /// `depth.lua`: the jobs of one queue shard, waiting and claimed.
    pub async fn depth(&self, conn: &Redis, shard: &ShardKeys) -> Result<(u64, u64), StoreError> {
        self.depth
            .key(&shard.inflight)
            .key(&shard.turns)
            .key(&shard.parked)
            .key(&shard.legacy_ready)
            .arg(shard.ready_prefix())
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)
    }

    /// `lease.lua`: gives `job` the lease `lease` for `visibility_ms`, if
    /// the job is still wanted and no other lease runs.
    pub async fn lease(
        &self,
        conn: &Redis,
        job: &JobId,
        lease: &str,
        visibility_ms: u64,
    ) -> Result<Lease, StoreError> {
        let reply: Vec<redis::Value> = self
            .lease
            .key(OrgKeys::of(&job.org).prefix())
            .arg(job.error.as_str())
            .arg(lease)
            .arg(visibility_ms)
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        decode::lease(&reply, job.error.clone())
    }

    /// `complete.lua`: ends the attempt of `job` with `outcome`, if `lease`
    /// is still the job's, recording `reported` (the failure of a failed
    /// attempt) with it; a failure backs off by `policy`, spread by `jitter`
    /// in [0, 1).
    #[allow(clippy::too_many_arguments)]
    pub async fn complete(
        &self,
        conn: &Redis,
        job: &JobId,
        lease: &str,
        outcome: JobOutcome,
        reported: Option<&ScriptFailure<'_>>,
        policy: &RetryPolicy,
        jitter: f64,
    ) -> Result<Completion, StoreError> {
        let reported = match reported {
            Some(failure) => {
                serde_json::to_string(&[failure]).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => String::new(),
        };
        let reply: Vec<i64> = self
            .complete
            .key(OrgKeys::of(&job.org).prefix())
            .arg(job.error.as_str())
            .arg(lease)
            .arg(if outcome == JobOutcome::Success { 1 } else { 2 })
            .arg(policy.max_attempts)
            .arg(policy.base.as_millis() as u64)
            .arg(policy.cap.as_millis() as u64)
            .arg(jitter.clamp(0.0, 0.999_999))
            .arg(RESOLVED_TTL_MS)
            .arg(IDEMPOTENCY_WINDOW_MS)
            .arg(reported)
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        decode::completion(&reply)
    }

    /// `outbox_done.lua`: takes the entries of `done` off the head of the
    /// org's outbox, the told ones dropped, the others (with a reason) moved
    /// to its dead letters.
    pub async fn outbox_done(
        &self,
        conn: &Redis,
        keys: &OrgKeys,
        done: &[(OutboxEntry, Option<String>)],
    ) -> Result<(), StoreError> {
        let mut invocation = self.outbox_done.key(keys.outbox());
        invocation.key(keys.outbox_dead());
        invocation.arg(DEAD_LETTERS_KEPT);
        for (entry, dead) in done {
            invocation
                .arg(&entry.raw)
                .arg(dead.as_deref().unwrap_or_default());
        }
        let _taken: i64 = invocation
            .invoke_async(&mut conn.clone())
            .await
            .map_err(from_redis)?;
        Ok(())
    }
}
