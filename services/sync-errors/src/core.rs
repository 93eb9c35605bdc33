//! The sync-error service's core: every operation the RPCs offer, over domain
//! values, with the rules that are more than one field's: how many failures a
//! batch or a classify call may hold, that each failure is classified before
//! it is stored, how many errors one resync may select and how a claim is
//! bounded, what a resync job's reported outcome does, which webhook secret a
//! settings update checks and keeps and which webhook URLs it refuses, and
//! the jitter that spreads retries.
//!
//! It answers with domain values and [`Error`]; it knows neither protobuf nor
//! tonic (the adapter in `grpc.rs` does) nor Redis (the store does).
//!
//! Invariants: a request's bounds are checked before any of its items is
//! read, and the first bad item is the one named; nothing is stored for a
//! refused request; a failed resync attempt's failure is recorded like a
//! reported one, with the job's outcome and only while the worker's lease
//! holds.

use std::sync::Arc;
use std::time::Duration;

use tokio_stream::Stream;

use crate::classify::{Classification, Classified, FailureText};
use crate::destination::{Policy, WebhookUrl};
use crate::domain::{
    Cursor, ErrorFilter, ErrorId, ErrorState, Failure, InvalidInput, MAX_BATCH, MAX_RESYNC, OrgId,
    Page, StoredError, SyncHealth,
};
use crate::error::Error;
use crate::export::{self, Chunk};
use crate::notify;
use crate::resync::{self, JobId, JobOutcome};
use crate::rules::{RulesHandle, classify_failure as classify_with};
use crate::store::{
    Claimed, Completed, ErrorStore, Ingested, Moved, Queued, ReportedFailure, StoreError,
};
use crate::taxonomy::{Basis, ErrorType, Stated};
use crate::top::{ErrorCounts, TopOrder, TopRank};
use syncgov_kit::page::Scope;

/// The sync-error service over a store: what every RPC handler shares.
pub struct SyncErrors<S> {
    /// The errors, queue and settings; shared with export streams, which
    /// outlive the call that starts them.
    store: Arc<S>,
    /// Where webhooks may go: a URL the deliveries would refuse whatever
    /// DNS says is refused when set.
    webhooks: Policy,
    /// The operator rules in force, reloaded as their file changes.
    rules: Arc<RulesHandle>,
    /// Whether the service can send e-mail (it has an SMTP server): without
    /// one, naming recipients is refused rather than silently unused.
    email: bool,
}

/// One text to classify, with what the worker stated about it.
#[derive(Clone, Copy, Debug)]
pub struct ClassifyInput<'a> {
    /// The org whose operator rules apply too; `None`: only the rules that
    /// name no org.
    pub org: Option<&'a OrgId>,
    /// The text.
    pub text: FailureText<'a>,
    /// What the worker stated.
    pub stated: Option<Stated>,
}

/// What a reclassification did (or would do, in a dry run).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reclassified {
    /// Current errors classified again.
    pub examined: u64,
    /// Errors moved to another type.
    pub moved: u64,
    /// Errors that now read as a suspension: left as they are.
    pub now_suspension: u64,
    /// Errors being resynced: left as they are.
    pub skipped_resyncing: u64,
    /// The moves per (from, to), in the order first seen.
    pub moves: Vec<(ErrorType, ErrorType, u64)>,
}

/// Errors moved per store call while reclassifying.
const RECLASSIFY_BATCH: usize = 200;

/// How a worker says a claimed resync job went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Report {
    /// The record synced.
    Success,
    /// The record failed again, with this failure.
    Failure(Failure),
}

/// Where a completed resync job left its error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobDone {
    /// The error's state now.
    pub state: ErrorState,
    /// When the next attempt is due, after a failure that was not the last.
    pub retry_at_ms: Option<i64>,
}

impl<S: ErrorStore> SyncErrors<S> {
    /// The service over `store`, with webhooks held to `webhooks`.
    pub fn new(store: Arc<S>, webhooks: Policy) -> Self {
        Self::with_rules(store, webhooks, Arc::default())
    }

    /// The service over `store`, classifying with the operator rules of
    /// `rules` too.
    pub fn with_rules(store: Arc<S>, webhooks: Policy, rules: Arc<RulesHandle>) -> Self {
        Self {
            store,
            webhooks,
            rules,
            email: false,
        }
    }

    /// The same, able to send e-mail when `email` (an SMTP server is set).
    pub fn with_email(self, email: bool) -> Self {
        Self { email, ..self }
    }

    /// Classifies and stores a batch of failures of `org`, all or none.
    /// `failures` are read one by one after the batch's size is checked, so a
    /// batch too big is refused as such and a bad failure is named by its own
    /// error. Returns each failure with what ingest made of it, in order.
    ///
    /// Records `suspensions` and `classifications` on the caller's span (the
    /// RPC's, which declares them; elsewhere recording is a no-op).
    pub async fn ingest<I>(
        &self,
        org: &OrgId,
        failures: I,
    ) -> Result<Vec<(Failure, Ingested)>, Error>
    where
        I: ExactSizeIterator<Item = Result<Failure, InvalidInput>>,
    {
        let count = failures.len();
        if count == 0 || count > MAX_BATCH {
            return Err(InvalidInput::new(
                "failures",
                format!("must hold 1 to {MAX_BATCH} failures"),
            )
            .into());
        }
        let rules = self.rules.get();
        let batch = tracing::debug_span!("classify", failures = count).in_scope(|| {
            failures
                .map(|failure| {
                    let failure = failure?;
                    let classified = classify_failure(&rules, org, &failure);
                    Ok((failure, classified))
                })
                .collect::<Result<Vec<_>, InvalidInput>>()
        })?;
        record_batch(&batch);
        // The trace context travels with suspension-level failures, so the
        // relay's later Suspend call joins this ingest's trace.
        let ingested = self
            .store
            .ingest(org, &batch, &syncgov_kit::telemetry::current_traceparent())
            .await?;
        for i in ingested.iter().filter(|i| !i.duplicate) {
            crate::metrics::ingested(i.classification);
        }
        if ingested.iter().any(|i| !i.duplicate) {
            self.rank(org).await;
        }
        Ok(batch
            .into_iter()
            .map(|(failure, _)| failure)
            .zip(ingested)
            .collect())
    }

    /// Classifies up to [`MAX_BATCH`] error texts, each with the operator
    /// rules of its org (none: the rules that name no org); stores nothing.
    pub fn classify<'a, I>(&self, inputs: I) -> Result<Vec<Classified>, Error>
    where
        I: ExactSizeIterator<Item = Result<ClassifyInput<'a>, InvalidInput>>,
    {
        if inputs.len() == 0 || inputs.len() > MAX_BATCH {
            return Err(
                InvalidInput::new("inputs", format!("must hold 1 to {MAX_BATCH} inputs")).into(),
            );
        }
        let rules = self.rules.get();
        inputs
            .map(|input| {
                let input = input?;
                let org = input.org.map(OrgId::as_str);
                Ok(classify_with(input.stated, &rules, org, &input.text))
            })
            .collect::<Result<Vec<_>, InvalidInput>>()
            .map_err(Error::from)
    }

    /// Classifies the org's current errors again with the rules and the
    /// classifier as they are now, and moves each whose type changed (none
    /// in a `dry_run`). An error its worker stated the type of keeps it;
    /// one that now reads as a suspension stays where it is (the org is
    /// never suspended after the fact); one being resynced is left for
    /// later. Counts stay exact: the store moves each error in one step.
    pub async fn reclassify(&self, org: &OrgId, dry_run: bool) -> Result<Reclassified, Error> {
        let rules = self.rules.get();
        let mut done = Reclassified::default();
        let mut cursor = None;
        let all = ErrorFilter::default();
        loop {
            let page = self
                .store
                .list(org, &all, cursor, crate::domain::MAX_PAGE_SIZE)
                .await?;
            let mut moves = Vec::new();
            for error in &page.errors {
                done.examined += 1;
                if error
                    .explanation
                    .as_ref()
                    .is_some_and(|x| x.basis == Basis::WorkerStated)
                {
                    continue;
                }
                let text = FailureText {
                    status_code: &error.status_code,
                    message: &error.message,
                    fields: &error.fields,
                    object_type: &error.object_type,
                };
                let classified = classify_with(None, &rules, Some(org.as_str()), &text);
                match classified.class {
                    Classification::Suspension(_) => done.now_suspension += 1,
                    Classification::Record(t) if t == error.error_type => {}
                    Classification::Record(_) if error.state == ErrorState::Resyncing => {
                        done.skipped_resyncing += 1;
                    }
                    Classification::Record(t) => moves.push(Moved {
                        id: error.id.clone(),
                        from: error.error_type,
                        to: t,
                        new_id: ErrorId::of(&error.object_type, &error.crm_record_id, t),
                        explanation: crate::domain::ErrorExplanation::of(&classified.why),
                    }),
                }
            }
            for chunk in moves.chunks(RECLASSIFY_BATCH) {
                let moved = if dry_run {
                    vec![true; chunk.len()]
                } else {
                    self.store.reclassify(org, chunk).await?
                };
                for (m, ok) in chunk.iter().zip(moved) {
                    if !ok {
                        // Changed meanwhile (resolved, resynced, moved).
                        continue;
                    }
                    done.moved += 1;
                    match done
                        .moves
                        .iter_mut()
                        .find(|(f, t, _)| *f == m.from && *t == m.to)
                    {
                        Some(entry) => entry.2 += 1,
                        None => done.moves.push((m.from, m.to, 1)),
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        if done.moved > 0 && !dry_run {
            self.rank(org).await;
        }
        tracing::info!(
            examined = done.examined,
            moved = done.moved,
            now_suspension = done.now_suspension,
            dry_run,
            "reclassified"
        );
        Ok(done)
    }

    /// The org's health cards, from its counters.
    pub async fn health(&self, org: &OrgId) -> Result<SyncHealth, Error> {
        Ok(self.store.health(org).await?.cards())
    }

    /// A page of the org's errors passing `filter`, newest first.
    pub async fn list(
        &self,
        org: &OrgId,
        filter: &ErrorFilter,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page, Error> {
        Ok(self.store.list(org, filter, cursor, limit).await?)
    }

    /// One error of the org, current or recently resolved.
    pub async fn get(&self, org: &OrgId, id: ErrorId) -> Result<StoredError, Error> {
        self.store
            .get(org, &id)
            .await?
            .ok_or_else(|| Error::ErrorNotFound {
                org: org.clone(),
                id,
            })
    }

    /// A page of the records with a current error of `error_type`: one
    /// current error per record and type, so the errors of a type are its
    /// affected records.
    pub async fn affected_records(
        &self,
        org: &OrgId,
        error_type: ErrorType,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Page, Error> {
        let filter = ErrorFilter {
            error_type: Some(error_type),
            ..ErrorFilter::default()
        };
        self.list(org, &filter, cursor, limit).await
    }

    /// Queues a resync job for each selected error, 1 to [`MAX_RESYNC`] of
    /// them (read after the count is checked, like ingest's failures); says
    /// per error what happened.
    pub async fn resync<I>(&self, org: &OrgId, ids: I) -> Result<Vec<(ErrorId, Queued)>, Error>
    where
        I: ExactSizeIterator<Item = Result<ErrorId, InvalidInput>>,
    {
        if ids.len() == 0 || ids.len() > MAX_RESYNC {
            // More than a resync is for: the advice says what is.
            return Err(InvalidInput::new(
                "error_ids",
                format!(
                    "must hold 1 to {MAX_RESYNC} errors; for more, re-import the records or update a mapped \
                     property so that they sync again"
                ),
            )
            .into());
        }
        let ids = ids.collect::<Result<Vec<_>, _>>()?;
        let queued = self.store.resync(org, &ids).await?;
        // A dead error queued again is dead no more.
        self.rank(org).await;
        Ok(ids.into_iter().zip(queued).collect())
    }

    /// Hands up to `max_jobs` (1 to [`resync::MAX_CLAIM`]) due jobs to a
    /// worker for `visibility` (unset: the default; else 1 s to 1 h).
    pub async fn claim(
        &self,
        max_jobs: u32,
        visibility: Option<Duration>,
    ) -> Result<Vec<Claimed>, Error> {
        let max = max_jobs as usize;
        if max == 0 || max > resync::MAX_CLAIM {
            return Err(InvalidInput::new(
                "max_jobs",
                format!("must be 1 to {}", resync::MAX_CLAIM),
            )
            .into());
        }
        let visibility = resync::visibility("visibility_timeout", visibility)?;
        Ok(self.store.claim(max, visibility).await?)
    }

    /// Ends the attempt of a claimed job as the worker reports it, if
    /// `lease` still holds the job ([`Error::LeaseLost`] if not): a new
    /// failure is recorded like any reported one, with the outcome, in one
    /// step of the store; a lease that does not hold records nothing.
    pub async fn complete(
        &self,
        job: &JobId,
        lease: &str,
        report: Report,
    ) -> Result<JobDone, Error> {
        let trace_parent = syncgov_kit::telemetry::current_traceparent();
        let (outcome, failure) = match report {
            Report::Success => (JobOutcome::Success, None),
            Report::Failure(failure) => {
                let classified = classify_failure(&self.rules.get(), &job.org, &failure);
                (JobOutcome::Failure, Some((failure, classified)))
            }
        };
        let reported = failure
            .as_ref()
            .map(|(failure, classified)| ReportedFailure {
                failure,
                classified,
                trace_parent: &trace_parent,
            });
        match self
            .store
            .complete(job, lease, outcome, reported, jitter())
            .await?
        {
            Completed::LeaseLost => Err(Error::LeaseLost),
            Completed::Done { state, retry_at_ms } => {
                self.rank(&job.org).await;
                Ok(JobDone { state, retry_at_ms })
            }
        }
    }

    /// Resolves the current errors of one record (a later sync of it
    /// succeeded); returns how many.
    pub async fn resolve_record(
        &self,
        org: &OrgId,
        object_type: &str,
        crm_record_id: &str,
    ) -> Result<u32, Error> {
        let resolved = self
            .store
            .resolve_record(org, object_type, crm_record_id)
            .await?;
        if resolved > 0 {
            self.rank(org).await;
        }
        Ok(resolved)
    }

    /// Puts `org` where its counters now place it in the top-orgs view. On
    /// Redis the view lives in a slot of its own, so this follows the
    /// org's write rather than joining it: a failure is logged (the write
    /// stands, and the org's next change ranks it again), and a page
    /// reads the counts afresh.
    async fn rank(&self, org: &OrgId) {
        let ranked = async {
            let counts = ErrorCounts::of(&self.store.health(org).await?);
            self.store.rank_top(org, &counts).await
        };
        if let Err(e) = ranked.await {
            tracing::warn!(org_id = %org, error = %e, "cannot rank the org in the top-orgs view now");
        }
    }

    /// A page of the top-orgs view by `order` for `scope`: the orgs with
    /// the most, after `after`, up to `limit`, with their counts read now
    /// (an org found out of place is ranked again); and where the next page
    /// starts. Every org: a page off the store's index; some orgs: each of
    /// them read.
    pub async fn top_orgs(
        &self,
        scope: &Scope,
        order: TopOrder,
        after: Option<TopRank>,
        limit: usize,
    ) -> Result<(Vec<(OrgId, ErrorCounts)>, Option<TopRank>), Error> {
        let (ranks, next) = match scope {
            Scope::Every => self.store.top_ranks(order, after.as_ref(), limit).await?,
            Scope::Only(orgs) => {
                let read = orgs.iter().map(|org| async move {
                    let counts = ErrorCounts::of(&self.store.health(org).await?);
                    Ok::<_, StoreError>(TopRank::new(org.clone(), counts.count(order)))
                });
                let mut ranks: Vec<TopRank> = futures_util::future::try_join_all(read)
                    .await?
                    .into_iter()
                    .filter(|r| r.count() > 0 && after.as_ref().is_none_or(|a| r > a))
                    .collect();
                ranks.sort();
                let next = (ranks.len() > limit).then(|| ranks[limit - 1].clone());
                ranks.truncate(limit);
                (ranks, next)
            }
        };
        let read = ranks.iter().map(|rank| async move {
            let counts = ErrorCounts::of(&self.store.health(&rank.org).await?);
            if counts.count(order) != rank.count() {
                self.store.rank_top(&rank.org, &counts).await?;
            }
            Ok::<_, StoreError>((rank.org.clone(), counts))
        });
        let mut items: Vec<(OrgId, ErrorCounts)> = futures_util::future::try_join_all(read)
            .await?
            .into_iter()
            .filter(|(_, counts)| counts.count(order) > 0)
            .collect();
        items.sort_by_cached_key(|(org, counts)| TopRank::new(org.clone(), counts.count(order)));
        Ok((items, next))
    }

    /// Streams the org's errors passing `filter` as CSV, memory bounded.
    pub fn export_csv(
        &self,
        org: OrgId,
        filter: ErrorFilter,
    ) -> impl Stream<Item = Result<Chunk, Error>> + Send + 'static {
        export::csv_stream(self.store.clone(), org, filter)
    }

    /// The org's notification settings, secret included (the defaults, off,
    /// when never set).
    pub async fn notification_settings(&self, org: &OrgId) -> Result<notify::Settings, Error> {
        Ok(self
            .store
            .notification_settings(org)
            .await?
            .unwrap_or_default())
    }

    /// How deliveries to the org's webhook are going; `None` when its
    /// notifications are off (or were never set).
    pub async fn delivery_status(
        &self,
        org: &OrgId,
    ) -> Result<Option<notify::DeliveryStatus>, Error> {
        let on = self
            .store
            .notification_settings(org)
            .await?
            .is_some_and(|s| s.enabled);
        if !on {
            return Ok(None);
        }
        Ok(Some(
            self.store
                .delivery_status(org, notify::Channel::Webhook)
                .await?,
        ))
    }

    /// How e-mails to the org's recipients are going; `None` when its
    /// notifications are off or name no recipient.
    pub async fn email_delivery_status(
        &self,
        org: &OrgId,
    ) -> Result<Option<notify::DeliveryStatus>, Error> {
        let mails = self
            .store
            .notification_settings(org)
            .await?
            .is_some_and(|s| s.enabled && !s.email_recipients.is_empty());
        if !mails {
            return Ok(None);
        }
        Ok(Some(
            self.store
                .delivery_status(org, notify::Channel::Email)
                .await?,
        ))
    }

    /// Changes the org's notification settings as `update` says (what it
    /// does not name stays as stored), checks the result and stores it;
    /// returns it as stored. The secret kept is checked with the rest:
    /// turning notifications on needs a secret, given now or before. A
    /// secret given is checked on its own too, so a bad one is refused as
    /// such even when something else is wrong.
    pub async fn update_notification_settings(
        &self,
        org: &OrgId,
        update: notify::Update,
    ) -> Result<notify::Settings, Error> {
        let stored = self
            .store
            .notification_settings(org)
            .await?
            .unwrap_or_default();
        let settings = update.apply(stored);
        if let Some(given) = &update.webhook_secret {
            notify::Settings {
                webhook_secret: Some(given.clone()),
                ..notify::Settings::default()
            }
            .validate()?;
        }
        settings.validate()?;
        if !self.email
            && update
                .email_recipients
                .as_ref()
                .is_some_and(|r| !r.is_empty())
        {
            return Err(Error::EmailOff);
        }
        if !settings.webhook_url.is_empty() {
            let url = WebhookUrl::parse("settings.webhook_url", &settings.webhook_url)?;
            self.webhooks.check_url("settings.webhook_url", &url)?;
        }
        let settings = self.store.set_notification_settings(org, settings).await?;
        tracing::info!(enabled = settings.enabled, "notification settings updated");
        Ok(settings)
    }
}

/// The classification of a failure of `org` as reported: what its worker
/// stated, else the org's operator rules, else the built-in classifier.
pub(crate) fn classify_failure(
    rules: &crate::rules::Rules,
    org: &OrgId,
    failure: &Failure,
) -> Classified {
    classify_with(
        failure.stated,
        rules,
        Some(org.as_str()),
        &FailureText {
            status_code: &failure.status_code,
            message: &failure.message,
            fields: &failure.fields,
            object_type: &failure.object_type,
        },
    )
}

/// Records what a batch holds on the current span, for traces: how many
/// suspension-level failures, and its distinct types and reasons.
fn record_batch(batch: &[(Failure, Classified)]) {
    let suspensions = batch
        .iter()
        .filter(|(_, c)| matches!(c.class, Classification::Suspension(_)))
        .count();
    let span = tracing::Span::current();
    span.record("suspensions", suspensions);
    if span.is_disabled() {
        // Nobody reads it: skip building the list.
        return;
    }
    let mut kinds: Vec<&str> = batch.iter().map(|(_, c)| c.class.code()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    span.record("classifications", kinds.join(",").as_str());
}

/// A number in [0, 1) for back-off jitter; it need not be unpredictable,
/// only different from one failure to the next, so that jobs failing
/// together do not all come back together.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}
