//! Where errors, their indexes and counters live. One small trait, two
//! implementations with the same semantics: [`memory::MemoryStore`] for one
//! process with no set-up, [`redis::RedisStore`] for replicas sharing a Redis
//! (one Lua script per write, over keys of one org). The behaviour suite in
//! `tests/` runs against both.

use std::future::Future;

use std::time::Duration;

use crate::classify::{Classification, Classified};
use crate::domain::{
    Cursor, ErrorExplanation, ErrorFilter, ErrorId, ErrorState, Failure, HealthCounts, OrgId, Page,
    StoredError, SuspensionEvent,
};
use crate::notify;
use crate::resync::{JobId, JobOutcome};
use crate::taxonomy::ErrorType;
use crate::top::{ErrorCounts, FleetCounts, TopOrder, TopRank};

/// The handle on Redis, one server or a cluster.
pub use syncgov_kit::redis_conn as conn;
pub mod memory;
pub mod redis;

pub use syncgov_kit::store::StoreError;

/// How long an idempotency key is remembered: a report retried within this
/// time (and up to twice as long) is recognised as the same report.
pub const IDEMPOTENCY_WINDOW_MS: i64 = 24 * 3_600_000;

/// Longest wait between tries of a notification's delivery.
pub const MAX_RETRY_WAIT_MS: u64 = 3_600_000;

/// How long a resolved error stays readable (GetError, state filter).
pub const RESOLVED_TTL_MS: i64 = 7 * 24 * 3_600_000;

/// Storage of sync errors.
pub trait ErrorStore: Send + Sync + 'static {
    /// Records a batch of classified failures of one org, atomically: all of
    /// the batch is stored before this returns, or none of it.
    fn ingest(
        &self,
        org: &OrgId,
        batch: &[(Failure, Classified)],
        trace_parent: &str,
    ) -> impl Future<Output = Result<Vec<Ingested>, StoreError>> + Send;

    /// Moves current errors of `org` to another type, each in one atomic
    /// step that keeps every counter exact: out of its type (and of its
    /// record's category, if it was the record's only error of it), into the
    /// new one under its new id, merged into the record's current error of
    /// the new type if there is one. An error no longer open or dead, or no
    /// longer of the type the move expects, is left alone (`false`).
    /// Nothing is suspended and nobody is notified: a reclassification is
    /// not a new failure.
    fn reclassify(
        &self,
        org: &OrgId,
        moves: &[Moved],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// The org's counters, read without scanning errors.
    fn health(&self, org: &OrgId) -> impl Future<Output = Result<HealthCounts, StoreError>> + Send;

    /// A page of errors passing `filter`, newest first, after `cursor`.
    fn list(
        &self,
        org: &OrgId,
        filter: &ErrorFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> impl Future<Output = Result<Page, StoreError>> + Send;

    /// One error, current or recently resolved.
    fn get(
        &self,
        org: &OrgId,
        id: &ErrorId,
    ) -> impl Future<Output = Result<Option<StoredError>, StoreError>> + Send;

    /// Resolves the current errors of one record; returns how many.
    fn resolve_record(
        &self,
        org: &OrgId,
        object_type: &str,
        crm_record_id: &str,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Queues a resync job for each error, while the org has fewer jobs
    /// queued than the policy allows; says per error what happened.
    fn resync(
        &self,
        org: &OrgId,
        ids: &[ErrorId],
    ) -> impl Future<Output = Result<Vec<Queued>, StoreError>> + Send;

    /// Hands up to `max` due jobs (queued, retry due, or whose claim lapsed)
    /// to a worker for `visibility`: lapsed claims first, then the orgs with
    /// due jobs taking turns, one job each.
    fn claim(
        &self,
        max: usize,
        visibility: Duration,
    ) -> impl Future<Output = Result<Vec<Claimed>, StoreError>> + Send;

    /// Ends the attempt of a claimed job, if `lease` still holds it:
    /// records the failure `reported` with it (as ingest would), then the
    /// outcome, atomically; when the lease does not hold, records nothing at
    /// all. `jitter` in [0, 1) spreads retries.
    fn complete(
        &self,
        job: &JobId,
        lease: &str,
        outcome: JobOutcome,
        reported: Option<ReportedFailure<'_>>,
        jitter: f64,
    ) -> impl Future<Output = Result<Completed, StoreError>> + Send;

    /// Orgs whose outbox holds suspension-level failures not yet told to the
    /// governor, with up to `max` of their entries each, oldest first.
    fn outbox(
        &self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<(OrgId, Vec<OutboxEntry>)>, StoreError>> + Send;

    /// Takes the first entries of `org`'s outbox as the relay handled them,
    /// in order: each told to the governor (`None`), or moved to the org's
    /// dead letters with the reason (`Some`), never just dropped. An entry
    /// no longer at the head (another replica's relay took it meanwhile) is
    /// left alone.
    fn outbox_done(
        &self,
        org: &OrgId,
        done: &[(OutboxEntry, Option<String>)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The org's notification settings, secret included; `None` when never set.
    fn notification_settings(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Option<notify::Settings>, StoreError>> + Send;

    /// Stores the org's notification settings (a `None` secret keeps the one
    /// stored) and returns them as stored, atomically with what the change
    /// means for deliveries not yet sent: turned off, the org's queued and
    /// in-flight notifications are dropped (nothing goes out while off, and
    /// nothing stale when turned on again); sent somewhere else (or turned
    /// on again), the notification being retried is due at once and the
    /// webhook's delivery status starts over (and e-mail's, when sent to
    /// other recipients or turned on again). Deliveries read the settings before
    /// each POST, so a new secret signs the next one.
    fn set_notification_settings(
        &self,
        org: &OrgId,
        settings: notify::Settings,
    ) -> impl Future<Output = Result<notify::Settings, StoreError>> + Send;

    /// Orgs with notifications on.
    fn notified_orgs(&self) -> impl Future<Output = Result<Vec<OrgId>, StoreError>> + Send;

    /// Queues the org's digest of `frequency` (daily or weekly) for
    /// `period`, once whatever the number of replicas asking: the new
    /// errors per type counted for that frequency since its last digest.
    /// Returns whether one was queued (none when there is nothing new, or on
    /// the first period the org is seen in, which only marks the start).
    fn make_digest(
        &self,
        org: &OrgId,
        frequency: notify::Frequency,
        period: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Claims the org's next notification to deliver, in order: the one in
    /// flight once its claim lapsed (a retry), else, when none is in
    /// flight, the oldest queued; nothing while one is in flight, so an
    /// org's notifications go out one at a time and in the order they were
    /// queued, across replicas. The first claim lasts `lease_ms`, each
    /// retry's twice the one before (up to an hour): the back-off between
    /// tries of a delivery that keeps failing.
    fn claim_notification(
        &self,
        org: &OrgId,
        lease_ms: u64,
    ) -> impl Future<Output = Result<Option<Pending>, StoreError>> + Send;

    /// Queues a notice of a suspension event for `org`, once per `notice.id`
    /// however many replicas see the event; false when it was queued before.
    fn queue_notice(
        &self,
        org: &OrgId,
        notice: &Pending,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Where the replicas' reading of the governor's suspension events
    /// stands, so that a restarted replica resumes instead of missing some.
    fn suspension_cursor(&self) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Keeps where the reading of suspension events stands.
    fn set_suspension_cursor(
        &self,
        cursor: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Where the replicas' reading of the governor's usage alerts stands,
    /// so that a restarted replica resumes instead of missing some.
    fn usage_alert_cursor(&self)
    -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Keeps where the reading of usage alerts stands.
    fn set_usage_alert_cursor(
        &self,
        cursor: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records how an attempt to deliver by `channel` went (`None`: it
    /// took the notification; else why not) and returns the channel's
    /// delivery status it leaves.
    fn record_delivery(
        &self,
        org: &OrgId,
        channel: notify::Channel,
        failure: Option<&str>,
    ) -> impl Future<Output = Result<notify::DeliveryStatus, StoreError>> + Send;

    /// How deliveries by `channel` of the org are going.
    fn delivery_status(
        &self,
        org: &OrgId,
        channel: notify::Channel,
    ) -> impl Future<Output = Result<notify::DeliveryStatus, StoreError>> + Send;

    /// The channels (`webhook`, `email`) that already took the org's
    /// notification `id`: a retry skips them, so a channel that took it is
    /// not sent it again because another failed.
    fn sent_channels(
        &self,
        org: &OrgId,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// `channel` took the org's notification `id`.
    fn channel_sent(
        &self,
        org: &OrgId,
        id: &str,
        channel: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A notification was delivered: it is done.
    fn notification_sent(
        &self,
        org: &OrgId,
        id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Checks that the store answers, for health.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Jobs of the resync queue: waiting (queued or backing off) and
    /// claimed by a worker.
    fn queue_depth(&self) -> impl Future<Output = Result<QueueDepth, StoreError>> + Send;

    /// The fleet's current errors and impacted records per category, and
    /// its dead resync jobs, for the state gauges: summed from the counters
    /// each org keeps at write time (the orgs with current errors as the
    /// top-orgs view lists them), never from the errors themselves.
    fn fleet_counts(&self) -> impl Future<Output = Result<FleetCounts, StoreError>> + Send;

    /// Puts `org` at its `counts` in each order of the top-orgs view, and
    /// out of an order in which it has none.
    fn rank_top(
        &self,
        org: &OrgId,
        counts: &ErrorCounts,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The top-orgs index of `order`, the most first, after `after`, up to
    /// `limit`; and the last entry read when there may be more. Reads a
    /// sorted index, never every org.
    fn top_ranks(
        &self,
        order: TopOrder,
        after: Option<&TopRank>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<TopRank>, Option<TopRank>), StoreError>> + Send;

    /// What the store does by itself beside the server, once: a Redis
    /// store fills the top-orgs view with the orgs counted before it
    /// existed. Nothing for the embedded store.
    fn index_existing(&self) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(Ok(()))
    }
}

/// One error to move to another type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    /// The error.
    pub id: ErrorId,
    /// The type it has (it moves only if it still has it).
    pub from: ErrorType,
    /// The type it gets.
    pub to: ErrorType,
    /// Its id under the new type.
    pub new_id: ErrorId,
    /// What decided the new type.
    pub explanation: ErrorExplanation,
}

/// What ingest made of one failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    /// The classification.
    pub classification: Classification,
    /// What decided it; `None` for a duplicate (the answer given then is
    /// repeated without it).
    pub explanation: Option<ErrorExplanation>,
    /// The error counted towards; `None` for a suspension.
    pub error_id: Option<ErrorId>,
    /// True when the idempotency key was seen before.
    pub duplicate: bool,
}

/// An entry of an org's outbox as read: the suspension-level failure to
/// tell the governor, or why the entry cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The entry as stored, which names it when it is done.
    pub raw: String,
    /// The event, or why it cannot be read.
    pub event: Result<SuspensionEvent, String>,
}

/// Dead letters of the outbox kept per org, the oldest dropped first.
pub const DEAD_LETTERS_KEPT: usize = 1_000;

/// A failure a worker reports with a failed resync attempt, classified: it
/// is recorded like an ingested one, in the same step as the outcome.
#[derive(Clone, Copy, Debug)]
pub struct ReportedFailure<'a> {
    /// The failure, checked.
    pub failure: &'a Failure,
    /// How it classifies, and why.
    pub classified: &'a Classified,
    /// The W3C `traceparent` of the call that reported it.
    pub trace_parent: &'a str,
}

/// What a resync request did to one error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Queued {
    /// A job was queued.
    Queued(JobId),
    /// No such error.
    NotFound,
    /// The error is no longer current.
    Resolved,
    /// A job for it is already queued or running.
    AlreadyQueued,
    /// Not queued: the org has as many jobs queued as it may.
    QueueFull,
}

/// A job handed to a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The job.
    pub job: JobId,
    /// Proves this claim; completing needs it.
    pub lease: String,
    /// The error, as it stands.
    pub error: StoredError,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// When the claim lapses, ms.
    pub visible_again_ms: i64,
}

/// How completing a job went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completed {
    /// Recorded; the error's state now, and when it is retried if it is.
    Done {
        /// The error's state.
        state: ErrorState,
        /// When the next attempt is due, after a failure that was not the last.
        retry_at_ms: Option<i64>,
    },
    /// The claim lapsed (or was never this one): another worker may hold the
    /// job, so this outcome is not recorded.
    LeaseLost,
}

/// A notification waiting for delivery, as the stores keep it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pending {
    /// Names it: the same on every delivery attempt.
    pub id: String,
    /// `errors`, `digest`, `suspended`, `cleared` or `usage`.
    #[serde(rename = "k")]
    pub kind: String,
    /// A digest's period.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub period: Option<i64>,
    /// A digest's frequency (the contract's number): the channels of that
    /// frequency take it. `None` in a digest an earlier version made.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<i32>,
    /// New errors per type number.
    #[serde(rename = "c", default)]
    pub counts: std::collections::BTreeMap<String, u64>,
    /// For a suspension notice: the reason's number.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<i32>,
    /// For a suspension notice: its detail.
    #[serde(rename = "d", default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// For a clear: whether the governor ended it by itself.
    #[serde(rename = "a", default)]
    pub automatic: bool,
    /// For a suspension notice: when the event happened, ms.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
    /// For a usage alert: the calls used in the window.
    #[serde(rename = "uu", default, skip_serializing_if = "Option::is_none")]
    pub used: Option<u64>,
    /// For a usage alert: the allocation (or org limit) they count against.
    #[serde(rename = "ua", default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<u64>,
    /// For a usage alert: the threshold crossed, percent.
    #[serde(rename = "ut", default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    /// For a usage alert: what the threshold is a share of, `allocation` or
    /// `org_limit`; absent for an alert queued before thresholds were named
    /// (of the allocation).
    #[serde(rename = "uo", default, skip_serializing_if = "String::is_empty")]
    pub of: String,
}

/// How many jobs the resync queue holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Queued, or waiting for their retry.
    pub waiting: u64,
    /// Claimed by a worker and not yet completed.
    pub claimed: u64,
}
