//! The governor's core: one decision path for every protocol that asks for
//! tokens (the governor's own gRPC API, its streams, Envoy's rate limit
//! protocol), and the rules around it that are neither pure arithmetic nor
//! transport: suspensions checked before the budget, probes through
//! transient ones, suspensions the governor starts itself, the emergency
//! budget of a store outage, the metrics of every ruling, and the usage
//! alerts (the check every `--usage-alert-interval`, and their watchers).
//!
//! It speaks in domain values and [`GovernorError`]s; the adapters (`grpc`,
//! `rls`) turn protobuf into the one and the other into gRPC statuses. It
//! never names tonic or Redis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use syncgov_kit::clock::now_ms;
use syncgov_kit::metrics::OrgLabels;
use tokio::sync::{broadcast, mpsc};

use crate::alerts::{self, Alert, AlertKey, Crossing};
use crate::consumers::Consumer;
use crate::domain::{
    Ask, Budget, DenyReason, Glance, Grant, InvalidInput, OrgId, Outcome, Priority, ReleaseOutcome,
    Released, Resource, Rules, Ruling, Usage,
};
use crate::feed::{Feed, News};
use crate::fleet::{Rank, Scope, Share};
use crate::grant_id::{GrantId, GrantKey, Opened};
use crate::metrics::GovernorMetrics;
use crate::outage::EmergencyBudget;
use crate::revision::{Revision, describe};
use crate::store::{
    BudgetKey, FoundBudget, LevelMove, OrgReport, Page, ProbeOutcome, QuotaStore, StoreError,
};
use crate::suspension::{self, Clearing, Cursor, Event, ProbeClaim, Suspension, SuspensionReason};

/// Why the governor could not answer. A denial is not an error: it is a
/// [`Ruling`].
#[derive(Debug, thiserror::Error)]
pub enum GovernorError {
    /// The request breaks a rule; the message names the field.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// A probe result named a grant that is not the probe out for the
    /// suspension: only the worker holding the probe's grant reports.
    #[error(
        "grant_id: not the grant of the probe out for this suspension; only the worker holding the probe's grant reports how it went"
    )]
    NotTheProbe,
    /// A watcher did not read its events and fell too far behind: it is
    /// ended rather than buffered without bound, and resumes from the
    /// cursor named.
    #[error(
        "the watcher fell {backlog} events behind and was ended; watch again with cursor {0} to resume",
        backlog = crate::feed::WATCH_BACKLOG
    )]
    WatcherBehind(Cursor),
    /// The org has no budget for the resource, and no default budget is set.
    #[error(
        "org_id: org {} has no {} budget and no default budget is set",
        .0.org,
        .0.resource.as_str()
    )]
    NoBudget(BudgetKey),
    /// A conditional write found the budget changed since it was read
    /// (or gone): nothing was written. Names the budget as it now stands.
    #[error(
        "{field}: the {resource} budget of org {org} is no longer revision {expected}, someone changed it since it was read; it is now {now}; read it again and decide anew",
        field = crate::revision::FIELD,
        org = .key.org,
        resource = .key.resource.as_str(),
    )]
    Stale {
        /// The budget written to.
        key: BudgetKey,
        /// The revision the caller read.
        expected: Revision,
        /// The budget as it now stands, in words.
        now: String,
    },
    /// The store failed (unreachable: retryable; corrupt: not).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the governor needs besides its store and feed, from its settings.
#[derive(Debug)]
pub struct Options {
    /// The rules every decision follows (window, org margin, probes).
    pub rules: Rules,
    /// Budget of orgs that have none; `None` denies them with UNKNOWN_ORG.
    pub default_budget: Option<Budget>,
    /// With `--store-outage fail-open`: what may be granted while the store
    /// is unreachable.
    pub emergency: Option<EmergencyBudget>,
    /// Orgs whose metrics carry their own label.
    pub metric_orgs: OrgLabels,
    /// How often usage is checked against the alert thresholds; also how
    /// often a watcher of usage alerts looks for those other replicas
    /// appended.
    pub usage_alert_interval: Duration,
}

/// The decision path and the suspension rules over one store.
pub struct Governor<S> {
    store: Arc<S>,
    /// The window, the org margin and the probe back-off.
    rules: Rules,
    /// The suspensions as this replica follows them: a token request is
    /// checked against them without a store round trip.
    feed: Arc<Feed>,
    /// Budget of orgs that have none; `None` denies them with UNKNOWN_ORG.
    default_budget: Option<Budget>,
    /// Per org, no probe before then (ms): spares the store a question per
    /// request while a back-off runs.
    probes_not_before: Mutex<HashMap<OrgId, i64>>,
    /// Rulings counted for the admin port and OTLP.
    metrics: GovernorMetrics,
    /// With fail-open: what may be granted while the store is unreachable.
    emergency: Option<EmergencyBudget>,
    /// Tells grants apart, so that each is handed back at most once.
    nonces: Nonces,
    /// The secrets grant ids are signed with, as the store keeps them.
    keys: RwLock<GrantKeys>,
    /// Per budget, the bucket in which this replica last put it in the
    /// usage index: the index is kept at most once per bucket per org, off
    /// the decision script, so a decision stays one round trip.
    ranked: Mutex<HashMap<BudgetKey, u64>>,
    /// How often usage is checked against the alert thresholds.
    alert_interval: Duration,
    /// Bumped after each usage alert check, to wake this replica's
    /// watchers of usage alerts.
    alert_news: tokio::sync::watch::Sender<u64>,
}

/// Usage alerts a watcher receives, in feed order; ends with an error when
/// the store fails.
pub type AlertWatch = mpsc::Receiver<Result<Alert, GovernorError>>;

/// Orgs read per page of the usage index by a usage alert check.
const ALERT_PAGE: usize = 200;

/// What one usage alert check saw and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AlertCheck {
    /// Budgets whose usage was read.
    pub read: usize,
    /// Alerts this replica appended.
    pub appended: Vec<Crossing>,
    /// Budgets at or above each (threshold, of).
    pub above: std::collections::BTreeMap<(u8, alerts::Of), u64>,
}

/// Budgets whose last ranking a replica remembers before it forgets them
/// all (and ranks each again on its next decision).
const RANKED_REMEMBERED: usize = 200_000;

/// The store's grant key as this replica last read it, and the one before:
/// ids signed just before the key changed (the store lost its data) still
/// open while every replica catches up.
#[derive(Default)]
struct GrantKeys {
    current: Option<Arc<GrantKey>>,
    previous: Option<Arc<GrantKey>>,
}

/// How often a replica reads the store's grant key again, so that replicas
/// agree within this long after the store lost its data.
pub const GRANT_KEY_REFRESH: Duration = Duration::from_secs(5);

/// What a probe's result did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeReport {
    /// The suspension ended.
    Cleared,
    /// It stays; the next probe may go then (ms).
    BackedOff(i64),
    /// There was no such suspension.
    NotSuspended,
}

/// Suspension events a watcher receives, in feed order; ends with an error
/// when the store fails.
pub type Watch = mpsc::Receiver<Result<Event, GovernorError>>;

/// Events a watcher may have waiting before the feed waits for it to read.
const WATCH_BUFFER: usize = 64;

/// Feed events read per store call when looking for an org's history.
const HISTORY_CHUNK: usize = 500;

/// Feed events one history call reads at most (of every org), so that a
/// page of an org with few events costs a bounded read of the store.
pub const HISTORY_SCAN: usize = 10_000;

impl<S: QuotaStore> Governor<S> {
    /// A governor over `store`, checking suspensions against `feed`.
    pub fn new(store: Arc<S>, feed: Arc<Feed>, options: Options) -> Self {
        Self {
            metrics: GovernorMetrics::new(options.metric_orgs, feed.clone()),
            rules: options.rules,
            store,
            feed,
            default_budget: options.default_budget,
            probes_not_before: Mutex::default(),
            emergency: options.emergency,
            nonces: Nonces::new(),
            keys: RwLock::default(),
            ranked: Mutex::default(),
            alert_interval: options.usage_alert_interval,
            alert_news: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Reads the store's grant key (offering a fresh one when it keeps
    /// none) and makes it the one new ids are signed with.
    pub async fn refresh_grant_key(&self) -> Result<Arc<GrantKey>, GovernorError> {
        let kept = GrantKey::new(self.store.grant_key(GrantKey::random().bytes()).await?);
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        match &keys.current {
            Some(current) if **current == kept => Ok(current.clone()),
            _ => {
                let kept = Arc::new(kept);
                keys.previous = keys.current.replace(kept.clone());
                Ok(kept)
            }
        }
    }

    /// Reads the store's grant key every [`GRANT_KEY_REFRESH`], until
    /// dropped.
    pub async fn keep_grant_key(self: Arc<Self>) {
        loop {
            if let Err(e) = self.refresh_grant_key().await {
                tracing::debug!(error = %e, "cannot read the grant key now");
            }
            tokio::time::sleep(GRANT_KEY_REFRESH).await;
        }
    }

    /// The key new ids are signed with, read from the store on first use.
    async fn signing_key(&self) -> Result<Arc<GrantKey>, GovernorError> {
        let current = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .current
            .clone();
        match current {
            Some(key) => Ok(key),
            None => self.refresh_grant_key().await,
        }
    }

    /// The id a caller holds for `grant` of `key`: signed, so that only
    /// this org's real grants can be handed back.
    pub fn grant_id(&self, key: &BudgetKey, grant: &Grant) -> Option<String> {
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        let signing = keys.current.as_ref()?;
        Some(signing.seal(&key.org, key.resource, grant))
    }

    /// Rules on a request for tokens: the org's suspensions first (a probe
    /// may go through), then the budget; a denial that calls for a
    /// suspension starts it. A grant carries a nonce of its own, so that it
    /// is handed back at most once. Every protocol's one path; the tokens
    /// granted are counted for `consumer` too.
    pub async fn acquire(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
        consumer: &Consumer,
    ) -> Result<Ruling, GovernorError> {
        let started = Instant::now();
        let ruling = self.rule(key, ask, priority, consumer).await?;
        self.metrics.decided(&key.org, &ruling, started);
        Ok(ruling)
    }

    async fn rule(
        &self,
        key: &BudgetKey,
        ask: Ask,
        priority: Priority,
        consumer: &Consumer,
    ) -> Result<Ruling, GovernorError> {
        // Every grant has a nonce of its own; a probe's is known to the
        // store before the grant is made, so that only its holder reports.
        let nonce = self.nonces.next();
        let suspensions = self.feed.suspensions_of(&key.org);
        let probe = match suspensions.first() {
            None => None,
            Some(first) => match self.try_probe(&key.org, &suspensions, nonce).await {
                Some(reason) => Some(reason),
                None => return Ok(self.suspended(key, first.reason).await),
            },
        };
        // A grant must be signed: the key is read before anything is
        // counted (once; then from memory).
        if let Err(e) = self.signing_key().await {
            return match e {
                GovernorError::Store(StoreError::Unavailable(cause)) => {
                    match self.emergency_grant(key, ask, &cause) {
                        Some(count) => Ok(Ruling::Emergency(count)),
                        None => Err(StoreError::Unavailable(cause).into()),
                    }
                }
                e => Err(e),
            };
        }
        let mut decision = match self
            .store
            .acquire(key, ask, priority, consumer, self.default_budget.as_ref())
            .await
        {
            Ok(decision) => decision,
            Err(StoreError::Unavailable(cause)) => {
                return match self.emergency_grant(key, ask, &cause) {
                    Some(count) => Ok(Ruling::Emergency(count)),
                    None => Err(StoreError::Unavailable(cause).into()),
                };
            }
            Err(e) => return Err(e.into()),
        };
        if let Outcome::Granted(grant) = &mut decision.outcome {
            *grant = grant.with_nonce(nonce);
        }
        if !matches!(
            decision.outcome,
            Outcome::Denied {
                reason: DenyReason::UnknownOrg,
                ..
            }
        ) {
            self.rank_once_per_bucket(key).await;
        }
        if let Some(reason) = suspension::caused_by(&decision, key.resource) {
            let detail = match reason {
                SuspensionReason::SalesforceApiLimitExceeded => {
                    "the org's calls (all apps, as last reported, with grants since) \
                     reached its limit less the safety margin"
                        .to_owned()
                }
                _ => format!(
                    "{} of {} calls used in the window",
                    decision.used, decision.allocation
                ),
            };
            self.suspend_automatically(&key.org, reason, &detail).await;
        }
        Ok(Ruling::Decided { decision, probe })
    }

    /// The denial of a suspended org, with its usage as the store has it, so
    /// that a caller sees where the budget stands (nothing is granted
    /// either way; without the store, the numbers are 0).
    async fn suspended(&self, key: &BudgetKey, reason: SuspensionReason) -> Ruling {
        let usage = self
            .store
            .usage(key, self.default_budget.as_ref())
            .await
            .ok()
            .flatten();
        Ruling::Suspended {
            reason,
            used: usage.as_ref().map_or(0, |u| u.used),
            allocation: usage.as_ref().map_or(0, |u| u.allocation),
        }
    }

    /// With fail-open, what the emergency budget grants while the store is
    /// unreachable: all of `ask`, else its minimum, else nothing.
    fn emergency_grant(&self, key: &BudgetKey, ask: Ask, cause: &str) -> Option<u64> {
        let budget = self.emergency.as_ref()?;
        let now = now_ms();
        let count = [u64::from(ask.count), u64::from(ask.min)]
            .into_iter()
            .find(|&n| budget.take(&key.org, n, now))?;
        tracing::warn!(
            org_id = %key.org,
            count,
            error = cause,
            "store unreachable: granted from this replica's emergency budget"
        );
        Some(count)
    }

    /// Lets this request through `org`'s suspensions as a probe when every
    /// one of them ends by a probe and the oldest's back-off has passed;
    /// returns the reason probed. Without the store there is no probe: the
    /// org is suspended whatever the store says, and the answer stays so.
    async fn try_probe(
        &self,
        org: &OrgId,
        suspensions: &[Suspension],
        nonce: u64,
    ) -> Option<SuspensionReason> {
        if !suspensions.iter().all(|s| suspension::probed(s.reason)) {
            return None;
        }
        let now = now_ms();
        if self
            .probes()
            .get(org)
            .is_some_and(|&not_before| now < not_before)
        {
            return None;
        }
        let reason = suspensions[0].reason;
        match self.store.claim_probe(org, reason, nonce).await {
            Ok(ProbeClaim::Granted) => {
                self.probes().remove(org);
                Some(reason)
            }
            Ok(ProbeClaim::NotBefore(at)) => {
                self.probes().insert(org.clone(), at);
                None
            }
            Ok(ProbeClaim::NotSuspended) => None,
            Err(e) => {
                tracing::debug!(error = %e, "cannot claim a probe now");
                None
            }
        }
    }

    fn probes(&self) -> MutexGuard<'_, HashMap<OrgId, i64>> {
        // Each critical section is one map operation: a panic cannot leave
        // the map half-changed, so a poisoned lock is usable.
        self.probes_not_before
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Suspends `org` for a reason the governor saw itself, unless this
    /// replica already knows it is. A store failure here is logged: the
    /// denial itself already stands.
    async fn suspend_automatically(&self, org: &OrgId, reason: SuspensionReason, detail: &str) {
        if self.feed.suspended(org).is_some_and(|s| s.reason == reason) {
            return;
        }
        match self.store.suspend(org, reason, detail).await {
            Ok((_, Some(event))) => {
                self.feed.apply(&event);
                tracing::info!(org_id = %org, reason = reason.code(), "suspended by the governor");
            }
            Ok((_, None)) => {}
            Err(e) => tracing::warn!(org_id = %org, error = %e, "cannot record a suspension"),
        }
    }

    /// Hands back up to `count` unused tokens of the grant a caller names
    /// by `grant_id`: only a real grant of this org and resource, only what
    /// it still holds, at most once. Anything else hands back nothing and
    /// says so.
    pub async fn release(
        &self,
        key: &BudgetKey,
        grant_id: &str,
        count: u64,
    ) -> Result<Released, GovernorError> {
        let opened = match GrantId::parse(grant_id)? {
            Some(id) => {
                self.signing_key().await?;
                let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
                let known = keys.current.iter().chain(keys.previous.iter());
                id.open(known.map(|k| &**k), &key.org, key.resource)
            }
            None => Opened::Unknown,
        };
        match opened {
            Opened::Genuine(grant) => Ok(self.store.release(key, grant, count).await?),
            Opened::Unknown => {
                syncgov_kit::auth::refused("unknown_grant");
                tracing::debug!(org_id = %key.org, "release of a grant this org was not given");
                let used = self
                    .store
                    .usage(key, self.default_budget.as_ref())
                    .await?
                    .map_or(0, |u| u.used);
                Ok(Released {
                    released: 0,
                    used,
                    outcome: ReleaseOutcome::UnknownGrant,
                })
            }
        }
    }

    /// Hands back every token of a grant whose call never went out (an
    /// Envoy request denied on another descriptor).
    pub async fn hand_back(&self, key: &BudgetKey, grant: Grant) -> Result<(), GovernorError> {
        self.store.release(key, grant, grant.count).await?;
        Ok(())
    }

    /// Creates or replaces a budget.
    pub async fn set_budget(&self, key: &BudgetKey, budget: &Budget) -> Result<(), GovernorError> {
        self.store.set_budget(key, budget).await?;
        self.after_budget_set(key, budget).await;
        Ok(())
    }

    /// What follows a budget written, conditionally or not.
    async fn after_budget_set(&self, key: &BudgetKey, budget: &Budget) {
        tracing::info!(
            resource = key.resource.as_str(),
            allocation = budget.allocation,
            org_limit = budget.org_limit,
            "budget set"
        );
        // A suspension for a used-up allocation or org limit ends now if the
        // new budget has room, not a sweep later; read from the store, as
        // this replica may not have heard of it yet.
        self.clear_due_in_store(&key.org).await;
        self.rank_now(key).await;
    }

    /// Creates or replaces a budget only if the budget of `key` is still
    /// the one whose revision is `expected` (the org's own, or the default
    /// one standing in); else [`GovernorError::Stale`] and nothing is
    /// written. Returns the org's own budget it replaced, if any.
    pub async fn set_budget_if(
        &self,
        key: &BudgetKey,
        expected: Revision,
        budget: &Budget,
    ) -> Result<Option<Budget>, GovernorError> {
        let found = self
            .store
            .get_budget(key, self.default_budget.as_ref())
            .await?;
        let stale = |found: Option<FoundBudget>| GovernorError::Stale {
            key: key.clone(),
            expected,
            now: describe(found.as_ref().map(|f| (&f.budget, f.is_default))),
        };
        let Some(read) = found.filter(|f| Revision::of(&f.budget, f.is_default) == expected) else {
            return Err(stale(found));
        };
        let own = (!read.is_default).then_some(read.budget);
        // The read above only gives the refusal its words; the store checks
        // again, atomically with the write, so a write that landed since is
        // never overwritten.
        if !self.store.replace_budget(key, own.as_ref(), budget).await? {
            let now = self
                .store
                .get_budget(key, self.default_budget.as_ref())
                .await?;
            return Err(stale(now));
        }
        self.after_budget_set(key, budget).await;
        Ok(own)
    }

    /// Ranks `key` in the usage index now, after a change to its budget or
    /// its org's report; a failure is logged (the next decision ranks it).
    async fn rank_now(&self, key: &BudgetKey) {
        if let Err(e) = self.rank(key).await {
            tracing::debug!(error = %e, "cannot rank the usage now");
        }
    }

    /// The budget of `key`: the org's own, or the default one.
    pub async fn budget(&self, key: &BudgetKey) -> Result<FoundBudget, GovernorError> {
        self.store
            .get_budget(key, self.default_budget.as_ref())
            .await?
            .ok_or_else(|| GovernorError::NoBudget(key.clone()))
    }

    /// The org's own budget of `key`, if it has one (not the default).
    pub async fn own_budget(&self, key: &BudgetKey) -> Result<Option<Budget>, GovernorError> {
        match self.budget(key).await {
            Ok(found) => Ok((!found.is_default).then_some(found.budget)),
            Err(GovernorError::NoBudget(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes a budget; false when there was none. The window stays, so
    /// deleting and setting a budget again frees no calls.
    pub async fn delete_budget(&self, key: &BudgetKey) -> Result<bool, GovernorError> {
        let deleted = self.store.delete_budget(key).await?;
        tracing::info!(resource = key.resource.as_str(), deleted, "budget deleted");
        self.clear_due_in_store(&key.org).await;
        self.rank_now(key).await;
        Ok(deleted)
    }

    /// The usage of `key`'s budget.
    pub async fn usage(&self, key: &BudgetKey, top: usize) -> Result<Usage, GovernorError> {
        self.store
            .usage_of(key, self.default_budget.as_ref(), top)
            .await?
            .ok_or_else(|| GovernorError::NoBudget(key.clone()))
    }

    /// Keeps a report of the whole org's usage (`observed_at_ms`: when the
    /// worker saw it; `None`: now).
    pub async fn report_org_usage(
        &self,
        key: &BudgetKey,
        used: u64,
        max: u64,
        observed_at_ms: Option<i64>,
    ) -> Result<OrgReport, GovernorError> {
        if let Some(at) = observed_at_ms {
            // A report from the future would outrank every truthful one
            // after it; one older than the window says nothing of now.
            syncgov_kit::input::check_recent(
                "observed_at",
                at,
                now_ms(),
                crate::org_usage::MAX_FUTURE_SKEW_MS,
                self.rules.shape.window_ms() as i64,
            )?;
        }
        let report = self
            .store
            .report_org_usage(key, used, max, observed_at_ms, self.default_budget.as_ref())
            .await?
            .ok_or_else(|| GovernorError::NoBudget(key.clone()))?;
        tracing::debug!(
            used,
            max,
            accepted = report.accepted,
            estimate = report.estimate,
            "org usage reported"
        );
        if report.accepted {
            // A report that gives the org calls again ends its org-limit
            // suspension now, not at the next sweep.
            self.clear_due(&key.org).await;
            self.rank_now(key).await;
        }
        Ok(report)
    }

    /// Suspends `org` for `reason` unless it already is; returns the
    /// suspension as it stands and whether it began now.
    pub async fn suspend(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        detail: &str,
    ) -> Result<(Suspension, bool), GovernorError> {
        suspension::check_detail(detail)?;
        let (suspension, event) = self.store.suspend(org, reason, detail).await?;
        if let Some(event) = &event {
            self.feed.apply(event);
            tracing::info!(reason = reason.code(), "suspended");
        }
        Ok((suspension, event.is_some()))
    }

    /// Ends `org`'s suspension for `reason` on an operator's word; false
    /// when there was none.
    pub async fn clear(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
    ) -> Result<bool, GovernorError> {
        let event = self.store.clear(org, reason, false).await?;
        if let Some(event) = &event {
            self.feed.apply(event);
            tracing::info!(reason = reason.code(), "suspension cleared");
        }
        Ok(event.is_some())
    }

    /// The active suspensions of `org`, as the store has them.
    pub async fn suspensions(&self, org: &OrgId) -> Result<Vec<Suspension>, GovernorError> {
        // An org has at most one suspension per reason.
        let every_reason = 1_000;
        let mut held = self
            .store
            .list_suspensions(Some(org), None, None, every_reason)
            .await?
            .items;
        held.sort_by_key(|s| s.since_ms);
        Ok(held)
    }

    /// Records how a probe through `org`'s suspension for `reason` went:
    /// success ends it, failure backs off. Only the probe's grant
    /// (`grant_id`, as the probe's reply gave it) may report.
    pub async fn probe_result(
        &self,
        org: &OrgId,
        reason: SuspensionReason,
        success: bool,
        grant_id: &str,
    ) -> Result<ProbeReport, GovernorError> {
        if !suspension::probed(reason) {
            return Err(InvalidInput::new(
                "reason",
                "is not ended by probes; only ClearSuspension ends it",
            )
            .into());
        }
        if grant_id.is_empty() {
            return Err(InvalidInput::new(
                "grant_id",
                "is required: the grant_id of the probe's AcquireTokens reply",
            )
            .into());
        }
        let id = GrantId::parse(grant_id)?.ok_or(GovernorError::NotTheProbe)?;
        self.signing_key().await?;
        let grant = {
            let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
            let known: Vec<&GrantKey> = keys
                .current
                .iter()
                .chain(keys.previous.iter())
                .map(|k| &**k)
                .collect();
            // A probe may go through either resource's budget.
            [Resource::ApiRequests, Resource::BulkBatches]
                .into_iter()
                .find_map(
                    |resource| match id.open(known.iter().copied(), org, resource) {
                        Opened::Genuine(grant) => Some(grant),
                        Opened::Unknown => None,
                    },
                )
                .ok_or(GovernorError::NotTheProbe)?
        };
        Ok(
            match self
                .store
                .probe_result(org, reason, success, grant.nonce)
                .await?
            {
                ProbeOutcome::Cleared(event) => {
                    self.feed.apply(&event);
                    tracing::info!(reason = reason.code(), "probe succeeded; suspension ended");
                    ProbeReport::Cleared
                }
                ProbeOutcome::BackedOff(at) => {
                    self.probes().insert(org.clone(), at);
                    ProbeReport::BackedOff(at)
                }
                ProbeOutcome::NotSuspended => ProbeReport::NotSuspended,
                ProbeOutcome::NotTheProbe => {
                    syncgov_kit::auth::refused("not_the_probe");
                    return Err(GovernorError::NotTheProbe);
                }
            },
        )
    }

    /// Ends, every `every`, the suspensions that end by themselves on the
    /// budget's numbers (the allocation has room, the org has calls) once
    /// they may. Every replica runs it; the store clears a suspension once,
    /// so one event is told however many replicas look. Runs until dropped.
    pub async fn clear_when_due(self: Arc<Self>, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            for suspension in self.feed.all() {
                self.clear_if_due(&suspension).await;
            }
        }
    }

    /// As [`Self::clear_due`], for the suspensions the store holds (an
    /// admin's change, rare enough to read them).
    async fn clear_due_in_store(&self, org: &OrgId) {
        match self.suspensions(org).await {
            Ok(held) => {
                for suspension in held {
                    self.clear_if_due(&suspension).await;
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot check suspensions now"),
        }
    }

    /// Ends `org`'s suspensions, as this replica knows them, that its
    /// budget's numbers no longer call for.
    async fn clear_due(&self, org: &OrgId) {
        for suspension in self.feed.suspensions_of(org) {
            self.clear_if_due(&suspension).await;
        }
    }

    /// Ends `suspension` when it ends on the numbers and they say it may.
    async fn clear_if_due(&self, suspension: &Suspension) {
        if !matches!(
            suspension::clearing(suspension.reason),
            Clearing::Allocation | Clearing::OrgLimit
        ) {
            return;
        }
        let key = BudgetKey {
            org: suspension.org.clone(),
            resource: Resource::ApiRequests,
        };
        let usage = match self.store.usage(&key, self.default_budget.as_ref()).await {
            Ok(usage) => usage,
            Err(e) => {
                tracing::debug!(error = %e, "cannot check a suspension now");
                return;
            }
        };
        if !suspension::may_clear(suspension, usage.as_ref(), self.rules.org_margin_percent) {
            return;
        }
        match self
            .store
            .clear(&suspension.org, suspension.reason, true)
            .await
        {
            Ok(Some(event)) => {
                self.feed.apply(&event);
                tracing::info!(org_id = %suspension.org, reason = suspension.reason.code(), "suspension ended by itself");
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "cannot clear a suspension now"),
        }
    }

    /// Puts `key` in the usage index at its share used now, unless this
    /// replica already did in the current bucket. A failure is logged: the
    /// decision stands, and the next bucket tries again.
    async fn rank_once_per_bucket(&self, key: &BudgetKey) {
        let bucket = now_ms().max(0) as u64 / self.rules.shape.bucket_ms();
        {
            let mut ranked = self.ranked.lock().unwrap_or_else(|p| p.into_inner());
            if ranked.get(key) == Some(&bucket) {
                return;
            }
            if ranked.len() >= RANKED_REMEMBERED {
                ranked.clear();
            }
            ranked.insert(key.clone(), bucket);
        }
        if let Err(e) = self.rank(key).await {
            tracing::debug!(error = %e, "cannot rank the usage now");
        }
    }

    /// Puts `key` in the usage index at its share used now (out of it when
    /// it has no budget any more); returns the usage read.
    async fn rank(&self, key: &BudgetKey) -> Result<Option<Usage>, StoreError> {
        let usage = self.store.usage(key, self.default_budget.as_ref()).await?;
        let ppm = usage.as_ref().map(|u| Share::of(&u.glance()).ppm());
        self.store.rank_usage(key, ppm).await?;
        Ok(usage)
    }

    /// A page of the budgets `scope` may see, in org order; only of
    /// `resource` when given. Every org: a page off the store's index; some
    /// orgs: each of them looked up.
    pub async fn list_budgets(
        &self,
        scope: &Scope,
        resource: Option<Resource>,
        after: Option<BudgetKey>,
        limit: usize,
    ) -> Result<Page<(BudgetKey, Budget), BudgetKey>, GovernorError> {
        let orgs = match scope {
            Scope::Every => {
                return Ok(self
                    .store
                    .list_budgets(resource, after.as_ref(), limit)
                    .await?);
            }
            Scope::Only(orgs) => orgs,
        };
        let resources: &[Resource] = match resource {
            Some(ref r) => std::slice::from_ref(r),
            None => &[Resource::ApiRequests, Resource::BulkBatches],
        };
        let mut candidates = Vec::new();
        for org in orgs {
            for &resource in resources {
                let key = BudgetKey {
                    org: org.clone(),
                    resource,
                };
                if after.as_ref().is_none_or(|a| key > *a) {
                    candidates.push(key);
                }
            }
        }
        let mut items = Vec::new();
        let mut next = None;
        for key in candidates {
            if items.len() == limit {
                next = items.last().map(|(k, _): &(BudgetKey, Budget)| k.clone());
                break;
            }
            if let Some(found) = self.store.get_budget(&key, None).await? {
                items.push((key, found.budget));
            }
        }
        Ok(Page { items, next })
    }

    /// A page of the active suspensions `scope` may see, in org order (then
    /// reason); only of `org` and of `reason` when given.
    pub async fn list_suspensions(
        &self,
        scope: &Scope,
        org: Option<&OrgId>,
        reason: Option<SuspensionReason>,
        after: Option<(OrgId, SuspensionReason)>,
        limit: usize,
    ) -> Result<Page<Suspension, (OrgId, SuspensionReason)>, GovernorError> {
        let orgs = match (scope, org) {
            (Scope::Every, _) | (_, Some(_)) => {
                return Ok(self
                    .store
                    .list_suspensions(org, reason, after.as_ref(), limit)
                    .await?);
            }
            (Scope::Only(orgs), None) => orgs,
        };
        let mut items = Vec::new();
        let from = after.as_ref().map(|(o, _)| o);
        for org in orgs.iter().filter(|o| from.is_none_or(|f| *o >= f)) {
            let within = after.as_ref().filter(|(o, _)| o == org);
            let page = self
                .store
                .list_suspensions(Some(org), reason, within, limit - items.len())
                .await?;
            items.extend(page.items);
            if items.len() == limit {
                let next = items.last().map(|s: &Suspension| (s.org.clone(), s.reason));
                return Ok(Page { items, next });
            }
        }
        Ok(Page { items, next: None })
    }

    /// A page of the usage view of `resource` for `scope`: the orgs nearest
    /// their allocation or org limit, the largest share used first. The
    /// order is the index's, kept at most a bucket late; the numbers are
    /// read now, a page at once ([`QuotaStore::glances`]), and an entry
    /// found out of date is ranked again.
    pub async fn list_usage(
        &self,
        scope: &Scope,
        resource: Resource,
        after: Option<Rank>,
        limit: usize,
    ) -> Result<Page<(BudgetKey, Glance), Rank>, GovernorError> {
        let key = |org: &OrgId| BudgetKey {
            org: org.clone(),
            resource,
        };
        let (mut items, next) = match scope {
            Scope::Every => {
                let page = self
                    .store
                    .usage_ranks(resource, after.as_ref(), limit)
                    .await?;
                let keys: Vec<BudgetKey> = page.items.iter().map(|rank| key(&rank.org)).collect();
                let glances = self
                    .store
                    .glances(&keys, self.default_budget.as_ref())
                    .await?;
                let stale = page.items.iter().zip(&keys).zip(&glances).filter_map(
                    |((rank, key), glance)| {
                        let ppm = glance.as_ref().map(|g| Share::of(g).ppm());
                        (ppm != Some(rank.ppm())).then(|| self.store.rank_usage(key, ppm))
                    },
                );
                futures_util::future::try_join_all(stale).await?;
                let items: Vec<_> = keys
                    .into_iter()
                    .zip(glances)
                    .filter_map(|(key, glance)| Some((key, glance?)))
                    .collect();
                (items, page.next)
            }
            Scope::Only(orgs) => {
                let keys: Vec<BudgetKey> = orgs.iter().map(key).collect();
                let glances = self
                    .store
                    .glances(&keys, self.default_budget.as_ref())
                    .await?;
                let mut ranked: Vec<_> = keys
                    .into_iter()
                    .zip(glances)
                    .filter_map(|(key, glance)| {
                        let glance = glance?;
                        Some((
                            Rank::new(key.org.clone(), Share::of(&glance).ppm()),
                            (key, glance),
                        ))
                    })
                    .filter(|(rank, _)| after.as_ref().is_none_or(|a| rank > a))
                    .collect();
                ranked.sort_by(|a, b| a.0.cmp(&b.0));
                let next = (ranked.len() > limit).then(|| ranked[limit - 1].0.clone());
                ranked.truncate(limit);
                (ranked.into_iter().map(|(_, item)| item).collect(), next)
            }
        };
        items.sort_by_cached_key(|(key, glance)| {
            Rank::new(key.org.clone(), Share::of(glance).ppm())
        });
        Ok(Page { items, next })
    }

    /// Checks usage against the alert thresholds every
    /// `--usage-alert-interval`, until dropped; a zero interval checks
    /// nothing. A failed check is logged and tried again at the next.
    pub async fn keep_usage_alerts(self: Arc<Self>) {
        if self.alert_interval.is_zero() {
            return std::future::pending().await;
        }
        let mut every = tokio::time::interval(self.alert_interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = self.check_usage_alerts().await {
                // A store outage shows in its own metrics and logs; the
                // next check catches up (levels are kept in the store).
                tracing::debug!(error = %e, "cannot check usage against the alert thresholds now");
            }
        }
    }

    /// One usage alert check: reads the usage of the budgets the usage
    /// index ranks at or above the lowest threshold in use (less its
    /// re-arm margin), and of those holding a level below that, never of
    /// every org; moves each level ([`alerts::step`]) with the store's
    /// check-and-set, so that of replicas checking at once one appends
    /// each crossing; and counts the budgets above each threshold for the
    /// gauge.
    pub async fn check_usage_alerts(&self) -> Result<AlertCheck, GovernorError> {
        let own_floor = self.store.alert_floor().await?;
        // Budgets that name no thresholds have the defaults.
        let lowest = syncgov_kit::budget::DEFAULT_ALERT_THRESHOLDS[0];
        let floor = alerts::floor_ppm(own_floor.map_or(lowest, |f| f.min(lowest)));
        let levels: HashMap<AlertKey, u8> = self.store.alert_levels().await?.into_iter().collect();
        let mut check = AlertCheck::default();
        let mut seen = std::collections::HashSet::new();
        for resource in Resource::ALL {
            let mut after = None;
            loop {
                let page = self
                    .store
                    .usage_ranks(resource, after.as_ref(), ALERT_PAGE)
                    .await?;
                let within: Vec<&Rank> = page
                    .items
                    .iter()
                    .take_while(|rank| rank.ppm() >= floor)
                    .collect();
                let done = within.len() < page.items.len() || page.next.is_none();
                let read = within.iter().map(|rank| async move {
                    let key = BudgetKey {
                        org: rank.org.clone(),
                        resource,
                    };
                    let usage = self.store.usage(&key, self.default_budget.as_ref()).await?;
                    // Kept up to date as the usage view keeps it.
                    let ppm = usage.as_ref().map(|u| Share::of(&u.glance()).ppm());
                    if ppm != Some(rank.ppm()) {
                        self.store.rank_usage(&key, ppm).await?;
                    }
                    Ok::<_, StoreError>((key, usage))
                });
                for (key, usage) in futures_util::future::try_join_all(read).await? {
                    self.judge(&key, usage.as_ref(), &levels, &mut check)
                        .await?;
                    seen.insert(key);
                }
                if done {
                    break;
                }
                after = page.next;
            }
        }
        // Levels of budgets the index ranks below the floor now (or not at
        // all): their usage fell, or their budget went; read to re-arm.
        let below: std::collections::BTreeSet<BudgetKey> = levels
            .keys()
            .map(|k| BudgetKey {
                org: k.org.clone(),
                resource: k.resource,
            })
            .filter(|k| !seen.contains(k))
            .collect();
        for key in below {
            let usage = self.store.usage(&key, self.default_budget.as_ref()).await?;
            self.judge(&key, usage.as_ref(), &levels, &mut check)
                .await?;
        }
        self.metrics.set_above(check.above.clone());
        self.alert_news.send_modify(|n| *n = n.wrapping_add(1));
        Ok(check)
    }

    /// Moves the levels of `key` on its `usage` (`None`: it has no budget
    /// any more, which re-arms every threshold), appending the crossings
    /// this replica is the one to tell, and counts it in `check`.
    async fn judge(
        &self,
        key: &BudgetKey,
        usage: Option<&Usage>,
        levels: &HashMap<AlertKey, u8>,
        check: &mut AlertCheck,
    ) -> Result<(), StoreError> {
        check.read += 1;
        let thresholds = usage.map(|u| u.alert_thresholds).unwrap_or_default();
        let measures = usage.map_or(
            [(alerts::Of::Allocation, 0, 0), (alerts::Of::OrgLimit, 0, 0)],
            alerts::measures,
        );
        for (of, used, limit) in measures {
            for &t in thresholds.as_slice() {
                if usage.is_some() && alerts::reached(used, limit, t) {
                    *check.above.entry((t, of)).or_default() += 1;
                }
            }
            let alert_key = AlertKey {
                org: key.org.clone(),
                resource: key.resource,
                of,
            };
            let level = levels.get(&alert_key).copied().unwrap_or(0);
            let step = match usage {
                Some(_) => alerts::step(thresholds.as_slice(), level, used, limit),
                None => alerts::Step {
                    level: 0,
                    fired: None,
                },
            };
            if step.level == level && step.fired.is_none() {
                continue;
            }
            let crossing = step.fired.map(|threshold| Crossing {
                key: alert_key.clone(),
                threshold,
                used,
                limit,
            });
            if let LevelMove::Moved(Some(alert)) = self
                .store
                .move_alert_level(&alert_key, level, step.level, crossing.as_ref())
                .await?
            {
                tracing::info!(
                    org_id = %alert.crossing.key.org,
                    resource = alert.crossing.key.resource.as_str(),
                    of = of.as_str(),
                    threshold = alert.crossing.threshold,
                    used,
                    limit,
                    cursor = %alert.cursor,
                    "usage alert"
                );
                self.metrics.alerted(alert.crossing.threshold, of);
                check.appended.push(alert.crossing);
            }
        }
        Ok(())
    }

    /// Every usage alert after `cursor` (`None`: from now on) of the orgs
    /// `scope` may see, only of `org` when given, as they come: those of
    /// this replica's checks at once, those of other replicas within an
    /// `--usage-alert-interval`. Ends when the reader goes away or the
    /// store fails.
    pub fn watch_alerts(
        &self,
        scope: Scope,
        org: Option<OrgId>,
        cursor: Option<Cursor>,
    ) -> AlertWatch {
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        // Subscribed before the position is read, so nothing falls between.
        let news = self.alert_news.subscribe();
        let poll = if self.alert_interval.is_zero() {
            Duration::from_secs(1)
        } else {
            self.alert_interval
        };
        tokio::spawn(watch_alerts(
            self.store.clone(),
            news,
            poll,
            AlertFilter { scope, org },
            cursor,
            tx,
        ));
        rx
    }

    /// Up to `page` of `org`'s events before `before` (`None`: the newest),
    /// newest first, and where to go on from when older events may follow.
    /// Read from the org's own index of the feed where the store keeps one;
    /// events older than the index (written before it existed, or trimmed
    /// from it) are read from the feed, which is shared by every org: there
    /// a call reads at most [`HISTORY_SCAN`] events, and a page of a rare
    /// org may come short, with a cursor to read on.
    pub async fn history(
        &self,
        org: &OrgId,
        before: Option<Cursor>,
        page: usize,
    ) -> Result<(Vec<Event>, Option<Cursor>), GovernorError> {
        let (mut found, from) = self.store.org_events_before(org, before, page).await?;
        let Some(from) = from else {
            return self.scan_history(org, before, page).await;
        };
        if found.len() == page {
            let next = found.last().map(|e| e.cursor);
            return Ok((found, next));
        }
        // The index has nothing older below `before`: the org's older
        // events, if any, precede where it begins.
        let start = before.map_or(from, |b| b.min(from));
        let (older, next) = self
            .scan_history(org, Some(start), page - found.len())
            .await?;
        found.extend(older);
        Ok((found, next))
    }

    /// [`Governor::history`] read from the feed itself, at most
    /// [`HISTORY_SCAN`] events of it.
    async fn scan_history(
        &self,
        org: &OrgId,
        before: Option<Cursor>,
        page: usize,
    ) -> Result<(Vec<Event>, Option<Cursor>), GovernorError> {
        let mut found = Vec::new();
        let mut scanned = 0;
        let mut before = before;
        while found.len() < page && scanned < HISTORY_SCAN {
            let chunk = self.store.events_before(before, HISTORY_CHUNK).await?;
            let full = chunk.len() == HISTORY_CHUNK;
            scanned += chunk.len();
            for event in chunk {
                before = Some(event.cursor);
                if event.org == *org {
                    found.push(event);
                    if found.len() == page {
                        return Ok((found, before));
                    }
                }
            }
            if !full {
                return Ok((found, None));
            }
        }
        Ok((found, before))
    }

    /// Every suspension event after `cursor` (`None`: from now on) that
    /// concerns `org` (`None`: every org), as it happens.
    pub fn watch(&self, org: Option<OrgId>, cursor: Option<Cursor>) -> Watch {
        // Subscribe before reading the position, so nothing falls between.
        let live = self.feed.subscribe();
        let last = cursor.unwrap_or_else(|| self.feed.last());
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        tokio::spawn(watch(self.store.clone(), live, last, org, tx));
        rx
    }
}

/// Sends the events after `last` that pass `org` to `tx`, in feed order and
/// without gaps or repeats: first those the store holds (catching up), then
/// what the replica's follower reads, fanned out to every watcher from one
/// reading of the store. A watcher that falls [`crate::feed::WATCH_BACKLOG`]
/// events behind is ended with a status naming the cursor to resume from,
/// never buffered without bound. Ends when the reader goes away or the store
/// fails.
async fn watch<S: QuotaStore>(
    store: Arc<S>,
    mut live: broadcast::Receiver<News>,
    mut last: Cursor,
    org: Option<OrgId>,
    tx: mpsc::Sender<Result<Event, GovernorError>>,
) {
    let wanted = |e: &Event| org.as_ref().is_none_or(|o| *o == e.org);
    // Catches up from the store: events the follower read before this
    // watcher subscribed, and those it moved past without reading.
    let catch_up = |last: Cursor| {
        let (store, tx) = (store.clone(), tx.clone());
        async move {
            let mut last = last;
            loop {
                let events = match store.events_after(last, 100).await {
                    Ok(events) => events,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return None;
                    }
                };
                let full = events.len() == 100;
                for e in events {
                    last = e.cursor;
                    if wanted(&e) && tx.send(Ok(e)).await.is_err() {
                        return None;
                    }
                }
                if !full {
                    return Some(last);
                }
            }
        }
    };
    let Some(caught_up) = catch_up(last).await else {
        return;
    };
    last = caught_up;
    loop {
        let news = tokio::select! {
            news = live.recv() => news,
            () = tx.closed() => return,
        };
        match news {
            Ok(News::Event(e)) => {
                if e.cursor > last {
                    last = e.cursor;
                    if wanted(&e) && tx.send(Ok(e)).await.is_err() {
                        return;
                    }
                }
            }
            Ok(News::Gap) => match catch_up(last).await {
                Some(caught_up) => last = caught_up,
                None => return,
            },
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let _ = tx.send(Err(GovernorError::WatcherBehind(last))).await;
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Which usage alerts a watcher receives.
struct AlertFilter {
    /// The orgs the caller may see.
    scope: Scope,
    /// Only this org's, when given.
    org: Option<OrgId>,
}

impl AlertFilter {
    fn wants(&self, alert: &Alert) -> bool {
        let org = &alert.crossing.key.org;
        self.org.as_ref().is_none_or(|o| o == org)
            && match &self.scope {
                Scope::Every => true,
                Scope::Only(orgs) => orgs.contains(org),
            }
    }
}

/// Sends the usage alerts after `cursor` (`None`: the newest now) that
/// pass `filter` to `tx`, in feed order, without gaps or repeats: reads
/// the store's feed from where the watcher stands, then again whenever
/// this replica's check ran (`news`) or `poll` passed (another replica
/// may have appended).
async fn watch_alerts<S: QuotaStore>(
    store: Arc<S>,
    mut news: tokio::sync::watch::Receiver<u64>,
    poll: Duration,
    filter: AlertFilter,
    cursor: Option<Cursor>,
    tx: mpsc::Sender<Result<Alert, GovernorError>>,
) {
    let mut last = match cursor {
        Some(cursor) => cursor,
        None => match store.last_alert().await {
            Ok(cursor) => cursor,
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
        },
    };
    loop {
        let read = match store.alerts_after(last, 100).await {
            Ok(read) => read,
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
                return;
            }
        };
        let full = read.len() == 100;
        for alert in read {
            last = alert.cursor;
            if filter.wants(&alert) && tx.send(Ok(alert)).await.is_err() {
                return;
            }
        }
        if full {
            continue;
        }
        tokio::select! {
            changed = news.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(poll) => {}
            () = tx.closed() => return,
        }
    }
}

/// Grant nonces: a random start per replica, then a fixed odd step per
/// grant, which visits every 64-bit value once before repeating; replicas
/// start far apart, so their nonces do not meet in practice.
struct Nonces(std::sync::atomic::AtomicU64);

impl Nonces {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self(std::sync::atomic::AtomicU64::new(seed))
    }

    /// The next nonce; never 0, which marks ids without one.
    fn next(&self) -> u64 {
        const STEP: u64 = 0x9e37_79b9_7f4a_7c15;
        loop {
            let n = self.0.fetch_add(STEP, std::sync::atomic::Ordering::Relaxed);
            if n != 0 {
                return n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Rules;
    use crate::store::memory::MemoryStore;
    use crate::suspension::EventKind;
    use crate::window::WindowShape;

    fn event(seq: u64) -> Event {
        Event {
            cursor: Cursor { ms: 0, seq },
            org: OrgId::parse("acme").unwrap(),
            reason: SuspensionReason::SalesforceOrgLocked,
            kind: EventKind::Suspended,
            detail: String::new(),
            at_ms: 0,
            automatic: false,
        }
    }

    /// Puts `count` events of other orgs in the memory store's feed, as
    /// suspensions and clears through the store API.
    async fn others(store: &MemoryStore, count: usize) {
        let other = OrgId::parse("other").unwrap();
        let reason = SuspensionReason::SalesforceOrgLocked;
        for _ in 0..count / 2 {
            assert!(store.suspend(&other, reason, "").await.unwrap().1.is_some());
            assert!(store.clear(&other, reason, false).await.unwrap().is_some());
        }
    }

    #[tokio::test]
    async fn a_history_read_stops_at_its_bound_and_reads_on_without_gaps_or_repeats() {
        let rules = Rules {
            shape: WindowShape::new(Duration::from_secs(60), Duration::from_secs(1)).unwrap(),
            org_margin_percent: 2,
            probe: Default::default(),
        };
        let store = Arc::new(MemoryStore::new(rules));
        let acme = OrgId::parse("acme").unwrap();
        let reason = SuspensionReason::SalesforceOrgLocked;
        // Oldest to newest: acme's first event; more than a call reads of
        // another org's; acme's second and third; again more than a call
        // reads.
        store.suspend(&acme, reason, "").await.unwrap();
        others(&store, HISTORY_SCAN + 300).await;
        store.clear(&acme, reason, false).await.unwrap();
        store.suspend(&acme, reason, "").await.unwrap();
        others(&store, HISTORY_SCAN + 60).await;
        let governor = Governor::new(
            store,
            Arc::new(Feed::default()),
            Options {
                rules,
                default_budget: None,
                emergency: None,
                metric_orgs: OrgLabels::default(),
                usage_alert_interval: Duration::from_secs(60),
            },
        );

        let mut pages = Vec::new();
        let mut before = None;
        loop {
            let (found, next) = governor.history(&acme, before, 100).await.unwrap();
            pages.push(found.iter().map(|e| e.cursor).collect::<Vec<_>>());
            match next {
                Some(cursor) => before = Some(cursor),
                None => break,
            }
            assert!(pages.len() < 10, "paging ends");
        }
        // The first call read its bound of the other org's events and
        // stopped with none of acme's; the second found acme's newer two;
        // the third the oldest, and the end of the feed.
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [0, 2, 1], "{pages:?}");
        let cursors: Vec<Cursor> = pages.concat();
        assert!(
            cursors.windows(2).all(|w| w[0] > w[1]),
            "newest first, none twice: {cursors:?}"
        );
        // Memory cursors count events from 1: acme's are the first, and the
        // two right after the first run of others.
        let first_run = (HISTORY_SCAN + 300) as u64;
        assert_eq!(
            cursors.iter().map(|c| c.seq).collect::<Vec<_>>(),
            [first_run + 3, first_run + 2, 1]
        );
    }

    #[tokio::test]
    async fn a_watcher_that_does_not_read_is_ended_with_its_cursor() {
        let rules = Rules {
            shape: WindowShape::new(Duration::from_secs(60), Duration::from_secs(1)).unwrap(),
            org_margin_percent: 2,
            probe: Default::default(),
        };
        let store = Arc::new(MemoryStore::new(rules));
        let (news, live) = broadcast::channel(crate::feed::WATCH_BACKLOG);
        let (tx, mut rx) = mpsc::channel(WATCH_BUFFER);
        let watcher = tokio::spawn(watch(store, live, Cursor::default(), None, tx));
        // Far more events than the watcher's queue and the backlog hold,
        // and nobody reading.
        for seq in 1..=(3 * crate::feed::WATCH_BACKLOG as u64) {
            let _ = news.send(News::Event(event(seq)));
            tokio::task::yield_now().await;
        }
        let mut read = 0;
        let ended = loop {
            match rx.recv().await.expect("the watcher ends with a status") {
                Ok(_) => read += 1,
                Err(e) => break e,
            }
        };
        let GovernorError::WatcherBehind(cursor) = ended else {
            panic!("{ended:?}")
        };
        assert_eq!(cursor, Cursor { ms: 0, seq: read });
        assert!(read < 3 * crate::feed::WATCH_BACKLOG as u64);
        watcher.await.unwrap();
    }
}
