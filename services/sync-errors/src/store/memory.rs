//! The embedded store: errors, indexes and counters in this process's memory,
//! with the same rules as the Redis store. For a single replica, tests and
//! demos; the data is gone when the process stops.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::{
    Claimed, Completed, ErrorStore, IDEMPOTENCY_WINDOW_MS, Ingested, Moved, OutboxEntry, Pending,
    QueueDepth, Queued, ReportedFailure, StoreError,
};
use crate::classify::{Classification, Classified};
use crate::domain::{
    Cursor, ErrorExplanation, ErrorFilter, ErrorId, ErrorState, Failure, HealthCounts, OrgId, Page,
    StoredError, SuspensionEvent, TypeCounts,
};
use crate::notify;
use crate::resync::{JobId, JobOutcome, QueuePolicy};
use crate::taxonomy::{Category, ErrorType};
use crate::top::{ErrorCounts, FleetCounts, TopOrder, TopRank};
use syncgov_kit::clock::now_ms;

/// Suspension events kept per org.
const SUSPENSIONS_KEPT: usize = 100;

/// What ingest answered for a failure: kept with its idempotency key.
type FirstAnswer = (Classification, Option<ErrorId>);

/// Everything kept for one org.
#[derive(Default)]
struct OrgErrors {
    /// Last creation sequence number handed out.
    seq: u64,
    /// Every error, current or resolved.
    errors: HashMap<ErrorId, StoredError>,
    /// Error ids by creation sequence: listing walks it backwards.
    by_seq: BTreeMap<u64, ErrorId>,
    /// Current errors per record (object/record key): id and category.
    records: HashMap<String, HashMap<ErrorId, Category>>,
    /// Counters kept at write time.
    types: HashMap<ErrorType, TypeCounts>,
    /// Distinct records per category.
    category_records: HashMap<Category, u64>,
    /// Errors resyncing: the org's jobs in the queue, which the policy
    /// caps.
    queued: u64,
    /// Total current errors and distinct records.
    errors_total: u64,
    records_total: u64,
    /// Idempotency keys of this window and the one before, by window
    /// number, each with what ingest answered for it the first time.
    idempotency: BTreeMap<i64, HashMap<String, FirstAnswer>>,
    /// Latest suspension-level failures, newest first.
    suspensions: VecDeque<SuspensionEvent>,
    /// Suspension-level failures not yet told to the governor, oldest first.
    outbox: VecDeque<SuspensionEvent>,
    /// Notification settings, when set.
    notify: Option<notify::Settings>,
    /// The last digest period of each digest frequency, once seen.
    last_digest: HashMap<notify::Frequency, i64>,
    /// New errors per type since the last digest, per digest frequency.
    new_errors: HashMap<notify::Frequency, BTreeMap<ErrorType, u64>>,
    /// When each type's last immediate notification went out (ms).
    announced: HashMap<ErrorType, i64>,
    /// Notifications to deliver, oldest first.
    outgoing: VecDeque<Pending>,
    /// Notifications being delivered, with when their claim lapses (ms) and
    /// how many tries it had.
    inflight: Vec<(Pending, i64, u32)>,
    /// Ids of suspension notices queued, so each is queued once.
    noticed: std::collections::HashSet<String>,
    /// How deliveries to the webhook are going.
    delivery: notify::DeliveryStatus,
    /// How deliveries by e-mail are going.
    email_delivery: notify::DeliveryStatus,
    /// The channels that took each notification in flight.
    channels_sent: HashMap<String, Vec<String>>,
}

impl OrgErrors {
    /// What was answered for `key` when it was first seen within the
    /// idempotency window; `None` when it is new, and then it is remembered
    /// with `answer`.
    fn seen(&mut self, key: &str, now_ms: i64, answer: FirstAnswer) -> Option<FirstAnswer> {
        let window = now_ms.div_euclid(IDEMPOTENCY_WINDOW_MS);
        self.idempotency.retain(|&w, _| w >= window - 1);
        if let Some(first) = self.idempotency.values().find_map(|keys| keys.get(key)) {
            return Some(first.clone());
        }
        self.idempotency
            .entry(window)
            .or_default()
            .insert(key.to_owned(), answer);
        None
    }

    /// Counts a new current error for notifications, as the settings say.
    fn notify_new_error(&mut self, error_type: ErrorType, now_ms: i64) {
        let Some(plan) = self.notify.as_ref().map(notify::Settings::new_error_plan) else {
            return;
        };
        for frequency in plan.digests {
            *self
                .new_errors
                .entry(frequency)
                .or_default()
                .entry(error_type)
                .or_default() += 1;
        }
        if !plan.immediate {
            return;
        }
        let recent = self
            .announced
            .get(&error_type)
            .is_some_and(|&at| now_ms - at < notify::DEBOUNCE_MS as i64);
        if !recent {
            self.announced.insert(error_type, now_ms);
            self.outgoing.push_back(Pending {
                id: format!("errors-{}-{now_ms}", error_type.number()),
                kind: "errors".into(),
                period: None,
                counts: [(error_type.number().to_string(), 1)].into(),
                ..Pending::default()
            });
        }
    }

    /// Records one classified failure as ingest does, at `now` (ms): once
    /// per idempotency key, as an occurrence of its current error or as a
    /// suspension event for the outbox.
    fn record(
        &mut self,
        failure: &Failure,
        classified: &Classified,
        now: i64,
        trace_parent: &str,
    ) -> Ingested {
        let classification = classified.class;
        let explanation = ErrorExplanation::of(&classified.why);
        let error_id = match classification {
            Classification::Record(error_type) => Some(failure.error_id(error_type)),
            Classification::Suspension(_) => None,
        };
        if let Some((first, first_id)) = self.seen(
            &failure.idempotency_key,
            now,
            (classification, error_id.clone()),
        ) {
            // Seen: the answer given then, for what was stored then,
            // whatever this report says.
            return Ingested {
                classification: first,
                explanation: None,
                error_id: first_id,
                duplicate: true,
            };
        }
        let at = failure.occurred_at_ms.unwrap_or(now);
        match classification {
            Classification::Record(error_type) => {
                self.upsert(failure, error_type, at, &explanation);
            }
            Classification::Suspension(reason) => {
                let event = SuspensionEvent {
                    reason,
                    status_code: failure.status_code.clone(),
                    message: failure.message.clone(),
                    occurred_at_ms: at,
                    trace_parent: trace_parent.to_owned(),
                };
                self.outbox.push_back(event.clone());
                self.suspensions.push_front(event);
                self.suspensions.truncate(SUSPENSIONS_KEPT);
            }
        }
        Ingested {
            classification,
            explanation: Some(explanation),
            error_id,
            duplicate: false,
        }
    }

    fn upsert(
        &mut self,
        failure: &Failure,
        error_type: ErrorType,
        at_ms: i64,
        explanation: &ErrorExplanation,
    ) -> ErrorId {
        let id = failure.error_id(error_type);
        match self.errors.get_mut(&id) {
            Some(error) if error.state.is_current() => {
                error.record_occurrence(failure, at_ms, Some(explanation.clone()));
            }
            _ => {
                // New, or back after being resolved: a new current error.
                if let Some(old) = self.errors.get(&id) {
                    self.by_seq.remove(&old.seq);
                }
                self.seq += 1;
                let error = StoredError::new(
                    id.clone(),
                    self.seq,
                    failure,
                    error_type,
                    at_ms,
                    Some(explanation.clone()),
                );
                self.by_seq.insert(self.seq, id.clone());
                self.count_in(&error);
                self.notify_new_error(error_type, now_ms());
                self.errors.insert(id.clone(), error);
            }
        }
        id
    }

    /// Counts a new current error: per type, per category's records, overall.
    fn count_in(&mut self, error: &StoredError) {
        let category = error.category();
        let on_record = self.records.entry(error.record_key()).or_default();
        let record_was_clean = on_record.is_empty();
        let category_was_clean = !on_record.values().any(|&c| c == category);
        on_record.insert(error.id.clone(), category);
        self.types.entry(error.error_type).or_default().errors += 1;
        self.errors_total += 1;
        if record_was_clean {
            self.records_total += 1;
        }
        if category_was_clean {
            *self.category_records.entry(category).or_default() += 1;
        }
    }

    /// Uncounts a current error that stops being current.
    fn count_out(&mut self, error: &StoredError) {
        let category = error.category();
        let key = error.record_key();
        let Some(on_record) = self.records.get_mut(&key) else {
            return;
        };
        on_record.remove(&error.id);
        let category_now_clean = !on_record.values().any(|&c| c == category);
        if on_record.is_empty() {
            self.records.remove(&key);
            self.records_total -= 1;
        }
        if let Some(n) = self
            .category_records
            .get_mut(&category)
            .filter(|_| category_now_clean)
        {
            *n -= 1;
        }
        let counts = self.types.entry(error.error_type).or_default();
        counts.errors -= 1;
        if error.state == ErrorState::Dead {
            counts.dead -= 1;
        }
        self.errors_total -= 1;
    }

    /// Moves one current error to another type, as
    /// [`ErrorStore::reclassify`] says; false when it is not to move.
    fn move_error(&mut self, m: &Moved) -> bool {
        let Some(old) = self.errors.get(&m.id).cloned() else {
            return false;
        };
        let movable = matches!(old.state, ErrorState::Open | ErrorState::Dead);
        if !movable || old.error_type != m.from || m.from == m.to {
            return false;
        }
        self.count_out(&old);
        self.errors.remove(&m.id);
        self.by_seq.remove(&old.seq);
        match self.errors.get_mut(&m.new_id) {
            Some(target) if target.state.is_current() => {
                // The record already has a current error of the new type:
                // one error, with the occurrences of both.
                target.occurrences += old.occurrences;
                target.first_seen_ms = target.first_seen_ms.min(old.first_seen_ms);
                if old.last_seen_ms > target.last_seen_ms {
                    target.last_seen_ms = old.last_seen_ms;
                    target.message = old.message;
                    target.status_code = old.status_code;
                    target.fields = old.fields;
                    target.direction = old.direction;
                    target.explanation = Some(m.explanation.clone());
                }
            }
            resolved => {
                if let Some(gone) = resolved.map(|e| e.seq) {
                    self.by_seq.remove(&gone);
                }
                let moved = StoredError {
                    id: m.new_id.clone(),
                    error_type: m.to,
                    explanation: Some(m.explanation.clone()),
                    ..old
                };
                self.by_seq.insert(moved.seq, moved.id.clone());
                self.count_in(&moved);
                if moved.state == ErrorState::Dead {
                    self.types.entry(m.to).or_default().dead += 1;
                }
                self.errors.insert(moved.id.clone(), moved);
            }
        }
        true
    }

    fn resolve(&mut self, id: &ErrorId) -> bool {
        let Some(error) = self.errors.get(id).cloned() else {
            return false;
        };
        if !error.state.is_current() {
            return false;
        }
        self.count_out(&error);
        if error.state == ErrorState::Resyncing {
            self.queued -= 1;
        }
        if let Some(e) = self.errors.get_mut(id) {
            e.state = ErrorState::Resolved;
        }
        true
    }
}

/// The resync queue, shared by every org.
#[derive(Default)]
struct Queue {
    /// Jobs waiting, per org, by when they are due.
    ready: HashMap<OrgId, BTreeSet<(i64, ErrorId)>>,
    /// The orgs with jobs waiting, in the order they take turns: exactly
    /// the keys of `ready`.
    turns: VecDeque<OrgId>,
    /// Jobs claimed: lease and when the claim lapses.
    leased: HashMap<JobId, (String, i64)>,
}

impl Queue {
    /// Puts `job` in its org's waiting jobs, due at `due_ms`, unless it is
    /// waiting already; an org that had none joins the back of the line.
    fn push(&mut self, job: JobId, due_ms: i64) {
        let waiting = self.ready.entry(job.org.clone()).or_default();
        if waiting.is_empty() {
            self.turns.push_back(job.org.clone());
        }
        if !waiting.iter().any(|(_, error)| *error == job.error) {
            waiting.insert((due_ms, job.error));
        }
    }

    /// The next job due at `now`, the orgs taking turns: the first org in
    /// line with a job due gives its earliest and goes to the back of the
    /// line; orgs passed over (their jobs back off) go to the back too.
    fn next_due(&mut self, now: i64) -> Option<JobId> {
        for _ in 0..self.turns.len() {
            let org = self.turns.pop_front()?;
            let Some(waiting) = self.ready.get_mut(&org) else {
                continue;
            };
            let due = waiting.first().is_some_and(|&(at, _)| at <= now);
            let taken = if due { waiting.pop_first() } else { None };
            if waiting.is_empty() {
                self.ready.remove(&org);
            } else {
                self.turns.push_back(org.clone());
            }
            if let Some((_, error)) = taken {
                return Some(JobId { org, error });
            }
        }
        None
    }

    /// Jobs waiting, due or not.
    fn waiting(&self) -> usize {
        self.ready.values().map(BTreeSet::len).sum()
    }
}

/// Errors in memory, one mutex per org, one for the resync queue: each
/// critical section is a handful of map operations, never an await. Locks
/// are always taken queue first, then org, so two calls never wait on each
/// other in a circle.
pub struct MemoryStore {
    orgs: Mutex<HashMap<OrgId, Arc<Mutex<OrgErrors>>>>,
    queue: Mutex<Queue>,
    policy: QueuePolicy,
    /// Numbers leases: every claim gets a new one.
    leases: AtomicU64,
    /// Where the reading of the governor's suspension events stands.
    suspension_cursor: Mutex<Option<String>>,
    /// Where the reading of the governor's usage alerts stands.
    usage_alert_cursor: Mutex<Option<String>>,
    /// The top-orgs view: per order, the orgs by count, the most first;
    /// and where each org stands in each.
    top: Mutex<HashMap<TopOrder, TopIndex>>,
}

/// One order of the top-orgs view: the orgs by count, and where each stands.
type TopIndex = (BTreeSet<TopRank>, HashMap<OrgId, TopRank>);

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new(QueuePolicy::default())
    }
}

impl MemoryStore {
    /// An empty store whose resync queue follows `policy`.
    pub fn new(policy: QueuePolicy) -> Self {
        Self {
            orgs: Mutex::default(),
            queue: Mutex::default(),
            policy,
            leases: AtomicU64::new(0),
            suspension_cursor: Mutex::new(None),
            usage_alert_cursor: Mutex::new(None),
            top: Mutex::default(),
        }
    }

    fn org(&self, org: &OrgId) -> Arc<Mutex<OrgErrors>> {
        lock(&self.orgs).entry(org.clone()).or_default().clone()
    }
}

/// The id of the digest of `frequency` for `period`: a daily one keeps the
/// form of before channels had frequencies; a weekly one is told apart.
fn digest_id(frequency: notify::Frequency, period: i64) -> String {
    match frequency {
        notify::Frequency::Weekly => format!("digest-w{period}"),
        _ => format!("digest-{period}"),
    }
}

/// Locks a mutex; a poisoned one is still consistent here, because every
/// update completes its counters before anything can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ErrorStore for MemoryStore {
    async fn ingest(
        &self,
        org: &OrgId,
        batch: &[(Failure, Classified)],
        trace_parent: &str,
    ) -> Result<Vec<Ingested>, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        let now = now_ms();
        Ok(batch
            .iter()
            .map(|(failure, classified)| org.record(failure, classified, now, trace_parent))
            .collect())
    }

    async fn reclassify(&self, org: &OrgId, moves: &[Moved]) -> Result<Vec<bool>, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        Ok(moves.iter().map(|m| org.move_error(m)).collect())
    }

    async fn health(&self, org: &OrgId) -> Result<HealthCounts, StoreError> {
        let org = self.org(org);
        let org = lock(&org);
        Ok(HealthCounts {
            errors: org.errors_total,
            records: org.records_total,
            types: org
                .types
                .iter()
                .filter(|(_, c)| c.errors > 0)
                .map(|(&t, &c)| (t, c))
                .collect(),
            category_records: org
                .category_records
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(&c, &n)| (c, n))
                .collect(),
            suspensions: org.suspensions.iter().cloned().collect(),
        })
    }

    async fn list(
        &self,
        org: &OrgId,
        filter: &ErrorFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let org = self.org(org);
        let org = lock(&org);
        let before = cursor.map_or(u64::MAX, |c| c.0);
        let mut matching = org
            .by_seq
            .range(..before)
            .rev()
            .filter_map(|(_, id)| org.errors.get(id))
            .filter(|e| filter.matches(e));
        let errors: Vec<StoredError> = matching.by_ref().take(limit).cloned().collect();
        let more = matching.next().is_some();
        let next = if more {
            errors.last().map(|e| Cursor(e.seq))
        } else {
            None
        };
        Ok(Page { errors, next })
    }

    async fn get(&self, org: &OrgId, id: &ErrorId) -> Result<Option<StoredError>, StoreError> {
        let org = self.org(org);
        let org = lock(&org);
        Ok(org.errors.get(id).cloned())
    }

    async fn resolve_record(
        &self,
        org: &OrgId,
        object_type: &str,
        crm_record_id: &str,
    ) -> Result<u32, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        let key = crate::domain::record_key(object_type, crm_record_id);
        let ids: Vec<ErrorId> = org
            .records
            .get(&key)
            .map(|r| r.keys().cloned().collect())
            .unwrap_or_default();
        Ok(ids.iter().filter(|id| org.resolve(id)).count() as u32)
    }

    async fn resync(&self, org_id: &OrgId, ids: &[ErrorId]) -> Result<Vec<Queued>, StoreError> {
        let mut queue = lock(&self.queue);
        let org = self.org(org_id);
        let mut org = lock(&org);
        let now = now_ms();
        let cap = u64::from(self.policy.max_queued_per_org);
        let mut results = Vec::with_capacity(ids.len());
        for id in ids {
            let queued = org.queued;
            let Some(error) = org.errors.get_mut(id) else {
                results.push(Queued::NotFound);
                continue;
            };
            let was = error.state;
            match was {
                ErrorState::Resolved => results.push(Queued::Resolved),
                ErrorState::Resyncing => results.push(Queued::AlreadyQueued),
                ErrorState::Open | ErrorState::Dead if queued >= cap => {
                    results.push(Queued::QueueFull);
                }
                ErrorState::Open | ErrorState::Dead => {
                    error.state = ErrorState::Resyncing;
                    error.resync_attempts = 0;
                    let error_type = error.error_type;
                    if was == ErrorState::Dead {
                        org.types.entry(error_type).or_default().dead -= 1;
                    }
                    org.queued += 1;
                    let job = JobId {
                        org: org_id.clone(),
                        error: id.clone(),
                    };
                    queue.push(job.clone(), now);
                    results.push(Queued::Queued(job));
                }
            }
        }
        Ok(results)
    }

    async fn claim(&self, max: usize, visibility: Duration) -> Result<Vec<Claimed>, StoreError> {
        let mut queue = lock(&self.queue);
        let now = now_ms();
        let deadline = now + visibility.as_millis() as i64;
        // Claims that lapsed come back first, then jobs that are due, the
        // orgs taking turns.
        let mut lapsed: Vec<JobId> = queue
            .leased
            .iter()
            .filter(|(_, (_, until))| *until <= now)
            .map(|(job, _)| job.clone())
            .collect();
        lapsed.sort();
        let mut lapsed = lapsed.into_iter();
        let mut claimed = Vec::new();
        while claimed.len() < max {
            let job = match lapsed.next() {
                Some(job) => {
                    queue.leased.remove(&job);
                    job
                }
                None => match queue.next_due(now) {
                    // A job another claim still holds (its error was
                    // resynced again meanwhile) stays that claim's.
                    Some(job)
                        if queue
                            .leased
                            .get(&job)
                            .is_some_and(|(_, until)| *until > now) =>
                    {
                        continue;
                    }
                    Some(job) => job,
                    None => break,
                },
            };
            let org = self.org(&job.org);
            let mut org = lock(&org);
            // A job whose error was resolved meanwhile is simply dropped.
            let Some(error) = org
                .errors
                .get_mut(&job.error)
                .filter(|e| e.state == ErrorState::Resyncing)
            else {
                continue;
            };
            error.resync_attempts += 1;
            let lease = format!("l{}", self.leases.fetch_add(1, Ordering::Relaxed) + 1);
            queue.leased.insert(job.clone(), (lease.clone(), deadline));
            claimed.push(Claimed {
                job,
                lease,
                attempt: error.resync_attempts,
                error: error.clone(),
                visible_again_ms: deadline,
            });
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
        // The lease first: a claim that lapsed, or was never made, records
        // nothing, not even the failure it reports.
        let mut queue = lock(&self.queue);
        if queue.leased.get(job).is_none_or(|(held, _)| held != lease) {
            return Ok(Completed::LeaseLost);
        }
        queue.leased.remove(job);
        let org = self.org(&job.org);
        let mut org = lock(&org);
        if let Some(r) = reported {
            org.record(r.failure, r.classified, now_ms(), r.trace_parent);
        }
        let Some(error) = org
            .errors
            .get(&job.error)
            .filter(|e| e.state == ErrorState::Resyncing)
            .cloned()
        else {
            // Resolved meanwhile (a normal sync of the record succeeded).
            let state = org
                .errors
                .get(&job.error)
                .map_or(ErrorState::Resolved, |e| e.state);
            return Ok(Completed::Done {
                state,
                retry_at_ms: None,
            });
        };
        Ok(match outcome {
            JobOutcome::Success => {
                org.resolve(&job.error);
                Completed::Done {
                    state: ErrorState::Resolved,
                    retry_at_ms: None,
                }
            }
            JobOutcome::Failure if self.policy.retry.exhausted(error.resync_attempts) => {
                if let Some(e) = org.errors.get_mut(&job.error) {
                    e.state = ErrorState::Dead;
                }
                org.queued -= 1;
                org.types.entry(error.error_type).or_default().dead += 1;
                Completed::Done {
                    state: ErrorState::Dead,
                    retry_at_ms: None,
                }
            }
            JobOutcome::Failure => {
                let wait = self.policy.retry.backoff(error.resync_attempts, jitter);
                let retry_at = now_ms() + wait.as_millis() as i64;
                queue.push(job.clone(), retry_at);
                Completed::Done {
                    state: ErrorState::Resyncing,
                    retry_at_ms: Some(retry_at),
                }
            }
        })
    }

    async fn outbox(&self, max: usize) -> Result<Vec<(OrgId, Vec<OutboxEntry>)>, StoreError> {
        let orgs: Vec<(OrgId, Arc<Mutex<OrgErrors>>)> = lock(&self.orgs)
            .iter()
            .map(|(id, org)| (id.clone(), org.clone()))
            .collect();
        Ok(orgs
            .into_iter()
            .filter_map(|(id, org)| {
                let pending: Vec<OutboxEntry> = lock(&org)
                    .outbox
                    .iter()
                    .take(max)
                    .map(|event| OutboxEntry {
                        raw: format!("{event:?}"),
                        event: Ok(event.clone()),
                    })
                    .collect();
                (!pending.is_empty()).then_some((id, pending))
            })
            .collect())
    }

    async fn outbox_done(
        &self,
        org: &OrgId,
        done: &[(OutboxEntry, Option<String>)],
    ) -> Result<(), StoreError> {
        // One relay per process: the head is what it read. Nothing outlives
        // the process here, so the relay's log line is a dead letter's
        // record.
        let org = self.org(org);
        let mut org = lock(&org);
        let count = done.len().min(org.outbox.len());
        org.outbox.drain(..count);
        Ok(())
    }

    async fn notification_settings(
        &self,
        org: &OrgId,
    ) -> Result<Option<notify::Settings>, StoreError> {
        let org = self.org(org);
        let org = lock(&org);
        Ok(org.notify.clone())
    }

    async fn set_notification_settings(
        &self,
        org: &OrgId,
        mut settings: notify::Settings,
    ) -> Result<notify::Settings, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        if settings.webhook_secret.is_none() {
            settings.webhook_secret = org.notify.as_ref().and_then(|s| s.webhook_secret.clone());
        }
        let before = org.notify.take().unwrap_or_default();
        if !settings.enabled {
            // Nothing goes out while off, nor anything stale once on again.
            org.outgoing.clear();
            org.inflight.clear();
            org.channels_sent.clear();
            org.new_errors.clear();
        } else if !before.enabled || before.webhook_url != settings.webhook_url {
            // A new destination: what is being retried is due at once, and
            // its failures start over.
            for entry in &mut org.inflight {
                entry.1 = 0;
            }
            org.delivery = notify::DeliveryStatus {
                last_success_ms: org.delivery.last_success_ms,
                ..notify::DeliveryStatus::default()
            };
        }
        if settings.enabled
            && (!before.enabled || before.email_recipients != settings.email_recipients)
        {
            // Other recipients: e-mail's failures start over too.
            org.email_delivery = notify::DeliveryStatus {
                last_success_ms: org.email_delivery.last_success_ms,
                ..notify::DeliveryStatus::default()
            };
        }
        org.notify = Some(settings.clone());
        Ok(settings)
    }

    async fn notified_orgs(&self) -> Result<Vec<OrgId>, StoreError> {
        let orgs: Vec<(OrgId, Arc<Mutex<OrgErrors>>)> = lock(&self.orgs)
            .iter()
            .map(|(id, org)| (id.clone(), org.clone()))
            .collect();
        Ok(orgs
            .into_iter()
            .filter(|(_, org)| lock(org).notify.as_ref().is_some_and(|s| s.enabled))
            .map(|(id, _)| id)
            .collect())
    }

    async fn make_digest(
        &self,
        org: &OrgId,
        frequency: notify::Frequency,
        period: i64,
    ) -> Result<bool, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        match org.last_digest.get(&frequency) {
            None => {
                org.last_digest.insert(frequency, period);
                return Ok(false);
            }
            Some(&last) if last >= period => return Ok(false),
            Some(_) => {
                org.last_digest.insert(frequency, period);
            }
        }
        let counts: std::collections::BTreeMap<String, u64> = org
            .new_errors
            .remove(&frequency)
            .unwrap_or_default()
            .into_iter()
            .map(|(t, n)| (t.number().to_string(), n))
            .collect();
        if counts.is_empty() {
            return Ok(false);
        }
        org.outgoing.push_back(Pending {
            id: digest_id(frequency, period),
            kind: "digest".into(),
            period: Some(period),
            frequency: Some(frequency.number()),
            counts,
            ..Pending::default()
        });
        Ok(true)
    }

    async fn claim_notification(
        &self,
        org: &OrgId,
        lease_ms: u64,
    ) -> Result<Option<Pending>, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        let now = now_ms();
        // Each retry's claim lasts twice the one before: the back-off.
        let until = |tries: u32| {
            let wait = lease_ms
                .saturating_mul(1 << (tries - 1).min(30))
                .min(super::MAX_RETRY_WAIT_MS.max(lease_ms));
            now + wait as i64
        };
        if let Some(entry) = org
            .inflight
            .iter_mut()
            .find(|(_, lapses, _)| *lapses <= now)
        {
            entry.2 += 1;
            entry.1 = until(entry.2);
            return Ok(Some(entry.0.clone()));
        }
        if !org.inflight.is_empty() {
            // One at a time, in order: the next waits for this one.
            return Ok(None);
        }
        let Some(next) = org.outgoing.pop_front() else {
            return Ok(None);
        };
        org.inflight.push((next.clone(), until(1), 1));
        Ok(Some(next))
    }

    async fn queue_notice(&self, org: &OrgId, notice: &Pending) -> Result<bool, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        if !org.noticed.insert(notice.id.clone()) {
            return Ok(false);
        }
        org.outgoing.push_back(notice.clone());
        Ok(true)
    }

    async fn suspension_cursor(&self) -> Result<Option<String>, StoreError> {
        Ok(lock(&self.suspension_cursor).clone())
    }

    async fn set_suspension_cursor(&self, cursor: &str) -> Result<(), StoreError> {
        *lock(&self.suspension_cursor) = Some(cursor.to_owned());
        Ok(())
    }

    async fn usage_alert_cursor(&self) -> Result<Option<String>, StoreError> {
        Ok(lock(&self.usage_alert_cursor).clone())
    }

    async fn set_usage_alert_cursor(&self, cursor: &str) -> Result<(), StoreError> {
        *lock(&self.usage_alert_cursor) = Some(cursor.to_owned());
        Ok(())
    }

    async fn record_delivery(
        &self,
        org: &OrgId,
        channel: notify::Channel,
        failure: Option<&str>,
    ) -> Result<notify::DeliveryStatus, StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        let status = match channel {
            notify::Channel::Webhook => &mut org.delivery,
            notify::Channel::Email => &mut org.email_delivery,
        };
        match failure {
            None => {
                status.consecutive_failures = 0;
                status.last_success_ms = Some(now_ms());
            }
            Some(why) => {
                status.consecutive_failures = status.consecutive_failures.saturating_add(1);
                status.last_failure = why.to_owned();
                status.last_failure_ms = Some(now_ms());
            }
        }
        Ok(status.clone())
    }

    async fn delivery_status(
        &self,
        org: &OrgId,
        channel: notify::Channel,
    ) -> Result<notify::DeliveryStatus, StoreError> {
        let org = self.org(org);
        let org = lock(&org);
        Ok(match channel {
            notify::Channel::Webhook => org.delivery.clone(),
            notify::Channel::Email => org.email_delivery.clone(),
        })
    }

    async fn sent_channels(&self, org: &OrgId, id: &str) -> Result<Vec<String>, StoreError> {
        let org = self.org(org);
        let org = lock(&org);
        Ok(org.channels_sent.get(id).cloned().unwrap_or_default())
    }

    async fn channel_sent(&self, org: &OrgId, id: &str, channel: &str) -> Result<(), StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        let sent = org.channels_sent.entry(id.to_owned()).or_default();
        if !sent.iter().any(|c| c == channel) {
            sent.push(channel.to_owned());
        }
        Ok(())
    }

    async fn notification_sent(&self, org: &OrgId, id: &str) -> Result<(), StoreError> {
        let org = self.org(org);
        let mut org = lock(&org);
        org.inflight.retain(|(n, _, _)| n.id != id);
        org.channels_sent.remove(id);
        Ok(())
    }

    async fn fleet_counts(&self) -> Result<FleetCounts, StoreError> {
        let orgs: Vec<OrgId> = lock(&self.orgs).keys().cloned().collect();
        let mut fleet = FleetCounts::default();
        for org in &orgs {
            fleet.add(&self.health(org).await?);
        }
        Ok(fleet)
    }

    async fn rank_top(&self, org: &OrgId, counts: &ErrorCounts) -> Result<(), StoreError> {
        // Each critical section is a few set operations: a poisoned lock is
        // usable.
        let mut top = self.top.lock().unwrap_or_else(|p| p.into_inner());
        for order in TopOrder::ALL {
            let (ranks, ranked) = top.entry(order).or_default();
            if let Some(old) = ranked.remove(org) {
                ranks.remove(&old);
            }
            let count = counts.count(order);
            if count > 0 {
                let rank = TopRank::new(org.clone(), count);
                ranks.insert(rank.clone());
                ranked.insert(org.clone(), rank);
            }
        }
        Ok(())
    }

    async fn top_ranks(
        &self,
        order: TopOrder,
        after: Option<&TopRank>,
        limit: usize,
    ) -> Result<(Vec<TopRank>, Option<TopRank>), StoreError> {
        use std::ops::Bound;
        let top = self.top.lock().unwrap_or_else(|p| p.into_inner());
        let items: Vec<TopRank> = top.get(&order).map_or_else(Vec::new, |(ranks, _)| {
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
        Ok((items, next))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    async fn queue_depth(&self) -> Result<QueueDepth, StoreError> {
        let queue = lock(&self.queue);
        Ok(QueueDepth {
            waiting: queue.waiting() as u64,
            claimed: queue.leased.len() as u64,
        })
    }
}
