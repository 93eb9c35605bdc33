//! The demonstration: the whole product in one process, with no set-up.
//!
//! Both services start on loopback ports with their embedded stores. Sync
//! workers run against simulated Salesforce orgs: each asks the governor for
//! a token before every call, reports the org's `Sforce-Limit-Info` usage,
//! and reports the failures Salesforce answers with (real texts, from the
//! classifier's test data) to sync-errors, along with failures they detect
//! on the CRM side (an association limit, an e-mail already in use, ...),
//! whose type they state. The workers take the categories in turns, so
//! every card of the health page shows up, ASSOCIATIONS included. Midway another app drains one
//! org's API limit, so Salesforce refuses calls with `TotalRequests Limit
//! exceeded.`: the org is suspended, and the suspension clears by itself
//! once those calls leave the org's rolling window. The other org has a
//! small allocation, runs out of it, and is held until its calls leave the
//! window.
//!
//! A day does not fit in a minute: the demo's rolling window is half its
//! duration, in 24 buckets, so everything a day would show happens while it
//! runs.
//!
//! The story does not depend on the machine's speed. What the simulation
//! does is counted in buckets and calls, never in calls per second: other
//! apps make so many calls per bucket, workers make at most so many per
//! bucket (a fast machine is held back, a slow one just makes fewer),
//! globex's workers ask for their tokens by the batch so that its small
//! allocation runs out in a few asks, and the bulk load lands on an
//! integration call, which Salesforce then refuses. The run lasts
//! `--duration`, and longer if the story is not told by then (globex out of
//! its allocation, acme-corp suspended and back), at most twice as long.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use sync_errors::taxonomy::{Category, ErrorType};
use syncctl::{Output, names, render};
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// What the demonstration runs: how long and with how many workers.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// How long the demonstration runs, 6s to 1h (on a machine too slow
    /// for the story to be told by then, up to twice as long); its rolling
    /// window is half of it.
    #[arg(long, default_value = "45s", value_parser = parse_demo_duration)]
    pub duration: Duration,
    /// Sync workers per org, 1 to 32.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub workers: u32,
    /// After the summary, keep both services running with the web console
    /// in front of them on --console-listen, until Ctrl-C.
    #[arg(long)]
    pub keep: bool,
    /// Where the web console listens with --keep.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "keep")]
    pub console_listen: SocketAddr,
}

/// The shortest run in which the whole story fits.
const MIN_DURATION: Duration = Duration::from_secs(6);
/// The longest run: past it, a demo is a load test.
const MAX_DURATION: Duration = Duration::from_secs(3_600);

/// Reads `--duration`, refusing runs too short for the story or too long.
fn parse_demo_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if !(MIN_DURATION..=MAX_DURATION).contains(&d) {
        return Err("must be 6s to 1h".to_owned());
    }
    Ok(d)
}
/// The real Salesforce failures the simulated orgs answer with.
const FAILURES: &str =
    include_str!("../../../services/sync-errors/tests/data/salesforce_errors.jsonl");
/// One call in this many fails on a record: each worker's calls number
/// `FAILURE_ODDS / 2`, `FAILURE_ODDS * 3 / 2`, ... do, so that a worker
/// that made `FAILURE_ODDS` calls has reported one.
const FAILURE_ODDS: u64 = 40;
/// Failures a worker detects on the CRM side, which no Salesforce text
/// carries: the worker states their type. `(type code, object, message)`.
const CRM_SIDE: &[(&str, &str, &str)] = &[
    (
        "ASSOCIATION_LIMIT_REACHED",
        "Contact",
        "The CRM company already has the most associated contacts it may have.",
    ),
    (
        "WAITING_FOR_ACCOUNT_SYNC",
        "Contact",
        "The contact's Salesforce account is not synced as a CRM company yet.",
    ),
    (
        "MISSING_CONTACT_ID",
        "Task",
        "The task's custom code needs a contact ID the record does not have.",
    ),
    (
        "EMAIL_ALREADY_IN_USE",
        "Lead",
        "Another CRM contact already has this e-mail address.",
    ),
    (
        "MISSING_PICKLIST_OPTION",
        "Lead",
        "The CRM property has no option for the Salesforce value 'Webinar'.",
    ),
    (
        "MISMATCHED_OPTIONS",
        "Opportunity",
        "The picklist options of the CRM property and the Salesforce field differ.",
    ),
    (
        "INACTIVE_OPPORTUNITY_STAGE",
        "Opportunity",
        "The opportunity's stage 'Negotiation (old)' is inactive.",
    ),
    (
        "OWNERS_NOT_SYNCED",
        "Account",
        "The Salesforce owner of the record is not synced as a CRM user.",
    ),
    (
        "OPTION_LIMIT_EXCEEDED",
        "Contact",
        "The CRM property holds the most options it may have.",
    ),
];
/// Records each org's workers sync, so that errors repeat on a record.
const RECORDS: u64 = 400;

/// One simulated org and how its story goes.
struct OrgPlan {
    id: &'static str,
    /// Salesforce's limit per window, for all apps.
    org_limit: u64,
    /// What the integration may use of it.
    allocation: u64,
    /// Other apps' calls per bucket, always.
    others_per_bucket: u64,
    /// The most calls the integration's workers make per bucket, all of
    /// them together: a bound, so that a fast machine does not spend more
    /// than the story allows; a slow one makes fewer.
    calls_per_bucket: u64,
    /// Tokens a worker asks for at once (all or nothing), then makes that
    /// many calls.
    batch: u64,
    /// Whether another app drains the org's limit midway.
    burst: bool,
}

/// The simulated orgs' ids, as `--help` names them.
pub const ORG_IDS: [&str; 2] = [ORGS[0].id, ORGS[1].id];

const ORGS: [OrgPlan; 2] = [
    OrgPlan {
        id: "acme-corp",
        org_limit: 60_000,
        allocation: 40_000,
        others_per_bucket: 200,
        // Half the allocation per window at most: acme-corp never runs out
        // of its own allocation; Salesforce's limit is what stops it.
        calls_per_bucket: 800,
        batch: 1,
        burst: true,
    },
    OrgPlan {
        id: "globex",
        org_limit: 20_000,
        allocation: 600,
        others_per_bucket: 20,
        // A backfill: batches of 100, so the allocation is spent in six
        // asks and the seventh is denied, however slow the machine.
        calls_per_bucket: 300,
        batch: 100,
        burst: false,
    },
];

/// The times of the story, all fractions of the duration.
#[derive(Clone, Copy, Debug)]
struct Timeline {
    duration: Duration,
    window: Duration,
    bucket: Duration,
    burst_at: Duration,
}

impl Timeline {
    fn new(duration: Duration) -> anyhow::Result<Self> {
        parse_demo_duration(&humantime::format_duration(duration).to_string())
            .map_err(|e| anyhow::anyhow!("--duration: {e}"))?;
        let bucket_ms = duration.as_millis() as u64 / 2 / 24;
        Ok(Self {
            duration,
            window: Duration::from_millis(bucket_ms * 24),
            bucket: Duration::from_millis(bucket_ms),
            burst_at: duration / 10,
        })
    }

    /// How often the progress line is printed: nine times in the run.
    fn tick(&self) -> Duration {
        self.duration / PROGRESS_LINES
    }
}

/// Progress lines printed during `--duration`; more follow while the run
/// is longer.
const PROGRESS_LINES: u32 = 9;

/// A Salesforce org as the simulation keeps it: every app's calls in its
/// rolling window, in buckets like the governor's.
struct SimOrg {
    limit: u64,
    bucket_ms: u64,
    buckets: u64,
    calls: VecDeque<(u64, u64)>,
    /// Other apps' calls per bucket, counted when the bucket is first seen.
    others_per_bucket: u64,
    /// The last bucket other apps' calls were counted in.
    others_until: Option<u64>,
    /// The integration's calls so far.
    integration_calls: u64,
    /// When the bulk load lands, if it is still to come: the first
    /// integration call at or after `at_ms` once the integration has made
    /// `after_calls` calls.
    burst: Option<Burst>,
}

/// Another app's bulk load, still to come.
#[derive(Clone, Copy, Debug)]
struct Burst {
    at_ms: u64,
    after_calls: u64,
}

impl SimOrg {
    fn new(plan: &OrgPlan, timeline: &Timeline, burst: Option<Burst>) -> Self {
        Self {
            limit: plan.org_limit,
            bucket_ms: timeline.bucket.as_millis() as u64,
            buckets: 24,
            calls: VecDeque::new(),
            others_per_bucket: plan.others_per_bucket,
            others_until: None,
            integration_calls: 0,
            burst,
        }
    }

    /// Counts other apps' calls of every bucket up to `now_ms` not yet
    /// counted (of the last window at most: older ones have left it).
    fn others(&mut self, now_ms: u64) {
        let current = now_ms / self.bucket_ms;
        let from = match self.others_until {
            Some(last) if last >= current => return,
            Some(last) => (last + 1).max(current.saturating_sub(self.buckets)),
            None => current,
        };
        self.others_until = Some(current);
        for bucket in from..=current {
            self.count_in(bucket, self.others_per_bucket);
        }
    }

    /// One call of the integration at `now_ms`: lands the bulk load first
    /// when it is due, then counts the call unless the org is over its
    /// limit. True when Salesforce refuses the call.
    fn integration_call(&mut self, now_ms: u64) -> bool {
        self.integration_calls += 1;
        if let Some(burst) = self.burst
            && now_ms >= burst.at_ms
            && self.integration_calls > burst.after_calls
        {
            self.burst = None;
            let left = self.limit.saturating_sub(self.used(now_ms));
            self.count(now_ms, left);
        }
        let over = self.used(now_ms) >= self.limit;
        if !over {
            self.count(now_ms, 1);
        }
        over
    }

    /// Calls counted in the window at `now_ms`.
    fn used(&mut self, now_ms: u64) -> u64 {
        self.others(now_ms);
        let current = now_ms / self.bucket_ms;
        while self
            .calls
            .front()
            .is_some_and(|&(bucket, _)| bucket + self.buckets <= current)
        {
            self.calls.pop_front();
        }
        self.calls.iter().map(|&(_, n)| n).sum()
    }

    fn count(&mut self, now_ms: u64, n: u64) {
        self.others(now_ms);
        self.count_in(now_ms / self.bucket_ms, n);
    }

    fn count_in(&mut self, bucket: u64, n: u64) {
        match self.calls.back_mut() {
            Some((last, calls)) if *last == bucket => *calls += n,
            _ => self.calls.push_back((bucket, n)),
        }
    }

    /// The `Sforce-Limit-Info` header Salesforce sends with every answer.
    fn limit_info(&mut self, now_ms: u64) -> String {
        format!("api-usage={}/{}", self.used(now_ms), self.limit)
    }
}

/// A failure text from the classifier's test data, or one a worker
/// detects on the CRM side with the type it states.
#[derive(Clone, Debug)]
struct Sample {
    status_code: String,
    message: String,
    fields: Vec<String>,
    object_type: String,
    stated_code: String,
    /// The category an expert gave it (or its stated type's).
    category: String,
}

/// The failures workers detect on the CRM side, as samples.
fn crm_side_samples() -> Vec<Sample> {
    CRM_SIDE
        .iter()
        .map(|&(code, object, message)| Sample {
            status_code: String::new(),
            message: message.to_owned(),
            fields: Vec::new(),
            object_type: object.to_owned(),
            stated_code: code.to_owned(),
            category: ErrorType::from_code(code)
                .map(|t| t.category().code().to_owned())
                .unwrap_or_default(),
        })
        .collect()
}

/// The record failures by category, in the taxonomy's order, CRM-side ones
/// included: the workers take the categories in turns, so that every card
/// shows up even in a short run.
fn pools(records: Vec<Sample>) -> Vec<Vec<Sample>> {
    let all: Vec<Sample> = records.into_iter().chain(crm_side_samples()).collect();
    Category::ALL
        .iter()
        .map(|c| {
            all.iter()
                .filter(|s| s.category == c.code())
                .cloned()
                .collect::<Vec<_>>()
        })
        .filter(|pool| !pool.is_empty())
        .collect()
}

/// The record-level samples, and Salesforce's answer once the org's daily
/// limit is spent.
fn samples() -> anyhow::Result<(Vec<Sample>, Sample)> {
    let mut records = Vec::new();
    let mut limit = None;
    for line in FAILURES.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).context("the failure samples")?;
        let text = |key: &str| v[key].as_str().unwrap_or_default().to_owned();
        let sample = Sample {
            status_code: text("status_code"),
            message: text("message"),
            fields: v["fields"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            object_type: text("object_type"),
            stated_code: String::new(),
            category: v["expected"]["category"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        match v["expected"]["level"].as_str() {
            Some("record") => records.push(sample),
            _ if sample.status_code == "REQUEST_LIMIT_EXCEEDED"
                && sample.message.starts_with("TotalRequests") =>
            {
                limit = Some(sample)
            }
            _ => {}
        }
    }
    let limit = limit.context("the samples hold Salesforce's TotalRequests answer")?;
    anyhow::ensure!(!records.is_empty(), "the samples hold record failures");
    Ok((records, limit))
}

/// Counters the workers share with the progress line.
#[derive(Default)]
struct Tally {
    granted: AtomicU64,
    denied: Mutex<BTreeMap<String, u64>>,
    failures: AtomicU64,
    calls_refused: AtomicU64,
}

impl Tally {
    fn denied_total(&self) -> u64 {
        lock(&self.denied).values().sum()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A cheap per-worker random stream: the demo needs variety, not security.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn now_ms() -> u64 {
    syncgov_kit::clock::now_ms().max(0) as u64
}

/// A service running inside this process.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("a service task")?
    }
}

fn serve(prepared: syncgov_kit::server::Prepared) -> Running {
    let addr = prepared.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(prepared.run(async move {
        let _ = stopped.await;
    }));
    Running { addr, stop, task }
}

async fn start_services(timeline: &Timeline) -> anyhow::Result<(Running, Running)> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("bind a loopback port")?;
    let governor = quota_governor::app::build_with_listener(
        quota_governor::config::Settings {
            window: timeline.window,
            bucket: timeline.bucket,
            ..Default::default()
        },
        listener,
    )?;
    let governor = serve(governor);
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("bind a loopback port")?;
    let sync_errors = sync_errors::app::build_with_listener(
        sync_errors::config::Settings {
            governor_addr: Some(format!("http://{}", governor.addr)),
            ..Default::default()
        },
        listener,
    )?;
    Ok((governor, serve(sync_errors)))
}

async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Channel::from_shared(format!("http://{addr}"))?
        .connect()
        .await
        .with_context(|| format!("connect to {addr}"))
}

/// The Salesforce objects the demo's workers sync, in turn.
const DEMO_OBJECTS: [&str; 3] = ["Contact", "Account", "Opportunity"];

/// Everything a worker needs.
struct Worker {
    name: String,
    plan: &'static OrgPlan,
    sim: Arc<Mutex<SimOrg>>,
    governor: QuotaGovernorClient<Channel>,
    sync_errors: SyncErrorsClient<Channel>,
    tally: Arc<Tally>,
    /// Record failures by category.
    pools: Arc<Vec<Vec<Sample>>>,
    /// Whose turn it is among the categories, shared by every worker.
    turn: Arc<AtomicU64>,
    limit_answer: Arc<Sample>,
    rng: Rng,
    /// How long to hold off after Salesforce refused a call for the org's
    /// limit, as a real worker would before asking again.
    backoff: Duration,
    /// The bucket's length, and the most calls this worker makes in one.
    bucket: Duration,
    per_bucket: u64,
    stop: Arc<AtomicBool>,
}

impl Worker {
    /// Syncs until told to stop; the failures it holds are sent before it
    /// returns.
    async fn run(mut self) {
        let mut pending: Vec<errors::Failure> = Vec::new();
        let mut last_flush = Instant::now();
        let mut n = 0u64;
        let mut pace = (0u64, 0u64);
        while !self.stop.load(Ordering::Relaxed) {
            // At most `per_bucket` calls per bucket: a fast machine waits
            // for the next bucket.
            let bucket = now_ms() / self.bucket.as_millis().max(1) as u64;
            if pace.0 != bucket {
                pace = (bucket, 0);
            }
            if pace.1 + self.plan.batch > self.per_bucket {
                let next = (bucket + 1) * self.bucket.as_millis() as u64;
                tokio::time::sleep(Duration::from_millis(next.saturating_sub(now_ms()))).await;
                continue;
            }
            let reply = self
                .governor
                .acquire_tokens(quota::AcquireTokensRequest {
                    org_id: self.plan.id.into(),
                    count: self.plan.batch,
                    priority: quota::Priority::Normal.into(),
                    client_id: self.name.clone(),
                    // What the calls are for, so that the usage shows a
                    // breakdown by object.
                    object: DEMO_OBJECTS[(n % DEMO_OBJECTS.len() as u64) as usize].into(),
                    operation: "upsert".into(),
                    ..Default::default()
                })
                .await;
            match reply.map(tonic::Response::into_inner) {
                Ok(reply) if reply.granted => {
                    self.tally
                        .granted
                        .fetch_add(reply.granted_count.max(1), Ordering::Relaxed);
                    pace.1 += self.plan.batch;
                    let mut refused = false;
                    for _ in 0..self.plan.batch {
                        n += 1;
                        if self.call_salesforce(n, &mut pending).await {
                            refused = true;
                            break;
                        }
                    }
                    if refused
                        || pending.len() >= 100
                        || last_flush.elapsed() > Duration::from_millis(250)
                    {
                        self.flush(&mut pending).await;
                        last_flush = Instant::now();
                    }
                    if refused {
                        tokio::time::sleep(self.backoff).await;
                    }
                }
                Ok(reply) => {
                    let reason = if reply.deny_reason == quota::DenyReason::Suspended as i32 {
                        format!("SUSPENDED ({})", names::reason(reply.suspension_reason))
                    } else {
                        deny_reason(reply.deny_reason)
                    };
                    *lock(&self.tally.denied).entry(reason).or_default() += 1;
                    self.flush(&mut pending).await;
                    // A real worker parks the work; here it asks again soon,
                    // to show the moment the org comes back.
                    let wait = reply
                        .retry_after
                        .and_then(|d| Duration::try_from(d).ok())
                        .unwrap_or(Duration::from_millis(100));
                    tokio::time::sleep(
                        wait.clamp(Duration::from_millis(20), Duration::from_millis(200)),
                    )
                    .await;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        self.flush(&mut pending).await;
    }

    /// Makes simulated Salesforce call number `n` of this worker; true when
    /// Salesforce refused it for the org's limit.
    async fn call_salesforce(&mut self, n: u64, pending: &mut Vec<errors::Failure>) -> bool {
        // The call itself takes no time in the simulation; let the other
        // tasks of this runtime run between calls.
        tokio::task::yield_now().await;
        let now = now_ms();
        let (over, limit_info) = {
            let mut sim = lock(&self.sim);
            let over = sim.integration_call(now);
            (over, sim.limit_info(now))
        };
        let record = self.rng.below(RECORDS);
        if over {
            self.tally.calls_refused.fetch_add(1, Ordering::Relaxed);
            pending.push(self.failure(n, record, &self.limit_answer.clone()));
        } else if n % FAILURE_ODDS == FAILURE_ODDS / 2 {
            let turn = self.turn.fetch_add(1, Ordering::Relaxed) as usize;
            let pool = &self.pools[turn % self.pools.len()];
            let sample = pool[self.rng.below(pool.len() as u64) as usize].clone();
            pending.push(self.failure(n, record, &sample));
        }
        // Salesforce says how much of the org's limit is used with every
        // answer; passing it on now and then keeps the governor's view
        // fresh. A refusal is reported as the failure it is.
        if !over && n.is_multiple_of(50) {
            let _ = self
                .governor
                .report_org_usage(quota::ReportOrgUsageRequest {
                    org_id: self.plan.id.into(),
                    limit_info,
                    ..Default::default()
                })
                .await;
        }
        over
    }

    fn failure(&self, n: u64, record: u64, sample: &Sample) -> errors::Failure {
        const OBJECTS: [&str; 4] = ["Contact", "Account", "Lead", "Opportunity"];
        let object_type = if sample.object_type.is_empty() {
            OBJECTS[(record % 4) as usize].to_owned()
        } else {
            sample.object_type.clone()
        };
        errors::Failure {
            idempotency_key: format!("{}-{n}", self.name),
            object_type,
            crm_record_id: format!("crm-{record:05}"),
            direction: errors::Direction::ToSalesforce.into(),
            status_code: sample.status_code.clone(),
            message: sample.message.clone(),
            fields: sample.fields.clone(),
            stated_code: sample.stated_code.clone(),
            ..Default::default()
        }
    }

    /// Sends the failures held; on an error they stay for the next try.
    async fn flush(&mut self, pending: &mut Vec<errors::Failure>) {
        if pending.is_empty() {
            return;
        }
        let request = errors::IngestErrorsRequest {
            org_id: self.plan.id.into(),
            failures: pending.clone(),
        };
        if self.sync_errors.ingest_errors(request).await.is_ok() {
            self.tally
                .failures
                .fetch_add(pending.len() as u64, Ordering::Relaxed);
            pending.clear();
        }
    }
}

/// Polls each org's limits (as a worker would read Salesforce's limits
/// resource) and reports them, so that a suspension for the org's limit ends
/// once calls have left its window even while no worker calls.
async fn limits_monitor(
    sims: Vec<(Arc<Mutex<SimOrg>>, &'static OrgPlan)>,
    mut governor: QuotaGovernorClient<Channel>,
    every: Duration,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(every).await;
        for (sim, plan) in &sims {
            let limit_info = lock(sim).limit_info(now_ms());
            let _ = governor
                .report_org_usage(quota::ReportOrgUsageRequest {
                    org_id: plan.id.into(),
                    limit_info,
                    ..Default::default()
                })
                .await;
        }
    }
}

/// Follows every suspension event, printing each as it happens.
async fn follow_suspensions(
    mut governor: QuotaGovernorClient<Channel>,
    events: Arc<Mutex<Vec<quota::WatchSuspensionsResponse>>>,
    output: Output,
) -> anyhow::Result<()> {
    let mut stream = governor
        .watch_suspensions(quota::WatchSuspensionsRequest::default())
        .await?
        .into_inner();
    while let Some(event) = stream.message().await? {
        if output == Output::Table {
            let verb = if event.kind == quota::SuspensionEventKind::Cleared as i32 {
                "clears"
            } else {
                "is suspended"
            };
            println!(
                "  >> {} {verb}: {}",
                event.org_id,
                names::reason(event.reason)
            );
        }
        lock(&events).push(event);
    }
    Ok(())
}

/// Runs the demonstration and prints what happened.
pub async fn run(args: DemoArgs, output: Output) -> anyhow::Result<()> {
    let timeline = Timeline::new(args.duration)?;
    let (records, limit_answer) = samples()?;
    let (governor_svc, errors_svc) = start_services(&timeline).await?;
    let governor = QuotaGovernorClient::new(connect(governor_svc.addr).await?);
    let sync_errors = SyncErrorsClient::new(connect(errors_svc.addr).await?);
    if output == Output::Table {
        println!(
            "syncgov demo: quota-governor on {}, sync-errors on {}\n  (both on their embedded stores)",
            governor_svc.addr, errors_svc.addr
        );
        println!(
            "{}, {} each, for {};\n  a day is compressed into a {} rolling window of 24 buckets",
            render::plural(ORGS.len() as u64, "org", "orgs"),
            render::plural(u64::from(args.workers), "worker", "workers"),
            render::duration_words(timeline.duration),
            render::duration_words(timeline.window)
        );
    }

    let start_ms = now_ms();
    let mut sims = Vec::new();
    for plan in &ORGS {
        let mut admin = governor.clone();
        admin
            .set_budget(quota::SetBudgetRequest {
                org_id: plan.id.into(),
                resource: quota::Resource::ApiRequests.into(),
                budget: Some(quota::Budget {
                    org_limit: plan.org_limit,
                    allocation: plan.allocation,
                    // Sync traffic may use the whole allocation; retries 75 %.
                    shares: Some(quota::PriorityShares {
                        retry_percent: 75,
                        normal_percent: 100,
                        critical_percent: 100,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .context("SetBudget")?;
        // The bulk load lands on the first call of the integration after a
        // tenth of the run, once its workers have made enough calls that
        // the org has record errors to show.
        let burst = plan.burst.then(|| Burst {
            at_ms: start_ms + timeline.burst_at.as_millis() as u64,
            after_calls: u64::from(args.workers) * FAILURE_ODDS,
        });
        sims.push((
            Arc::new(Mutex::new(SimOrg::new(plan, &timeline, burst))),
            plan,
        ));
        if output == Output::Table {
            println!(
                "  {:<10} Salesforce limit {} per window, allocation {}{}",
                plan.id,
                render::count(plan.org_limit),
                render::count(plan.allocation),
                if plan.burst {
                    format!(
                        ";\n  {:<10} from {} another app's bulk load spends the rest of the limit",
                        "",
                        render::duration_words(timeline.burst_at)
                    )
                } else {
                    String::new()
                }
            );
        }
    }

    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let events = Arc::new(Mutex::new(Vec::new()));
    let follower = tokio::spawn(follow_suspensions(governor.clone(), events.clone(), output));
    let background = [tokio::spawn(limits_monitor(
        sims.clone(),
        governor.clone(),
        timeline.bucket * 2,
        stop.clone(),
    ))];
    let (pools, limit_answer) = (Arc::new(pools(records)), Arc::new(limit_answer));
    let turn = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for (i, (sim, plan)) in sims.iter().enumerate() {
        for w in 0..args.workers {
            let worker = Worker {
                name: format!("{}-worker-{w}", plan.id),
                plan,
                sim: sim.clone(),
                governor: governor.clone(),
                sync_errors: sync_errors.clone(),
                tally: tally.clone(),
                pools: pools.clone(),
                turn: turn.clone(),
                limit_answer: limit_answer.clone(),
                rng: Rng(0x9E37_79B9_7F4A_7C15 ^ (((i as u64) << 32) | (u64::from(w) + 1))),
                backoff: timeline.bucket * 4,
                bucket: timeline.bucket,
                per_bucket: plan
                    .calls_per_bucket
                    .div_ceil(u64::from(args.workers))
                    .next_multiple_of(plan.batch),
                stop: stop.clone(),
            };
            workers.push(tokio::spawn(worker.run()));
        }
    }

    // A progress line every ninth of the run, then on while the story is
    // not told yet (a slow machine), for at most as long again.
    let mut line = 0;
    loop {
        line += 1;
        let at = timeline.tick() * line;
        let told = line > PROGRESS_LINES && story_told(&lock(&events));
        if told || at > timeline.duration * 2 {
            break;
        }
        tokio::time::sleep(at.saturating_sub(started.elapsed())).await;
        if output == Output::Table {
            println!(
                "{}",
                progress(started.elapsed(), &tally, &sync_errors).await
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.context("a worker")?;
    }
    for task in background {
        task.abort();
    }
    follower.abort();

    // Tables fit the terminal, as syncctl's do.
    let width = syncctl::output::table_width(None);
    let summary = summarise(&governor, &sync_errors, &tally, &events, width).await?;
    match output {
        Output::Table => print!("{}", summary.text),
        Output::Json => println!("{}", serde_json::to_string_pretty(&summary.json)?),
        Output::Yaml => print!("{}", syncctl::output::yaml(&summary.json)?),
    }
    if args.keep {
        keep_with_console(args.console_listen, governor_svc.addr, errors_svc.addr).await?;
    }
    errors_svc.stop().await?;
    governor_svc.stop().await?;
    Ok(())
}

/// Serves the web console in front of the demo's services until Ctrl-C
/// (or SIGTERM). The services run without authentication: one enters
/// without a token.
async fn keep_with_console(
    listen: SocketAddr,
    governor: SocketAddr,
    sync_errors: SocketAddr,
) -> anyhow::Result<()> {
    let console = syncgov_console::app::build(syncgov_console::config::Settings::local(
        listen,
        &governor.to_string(),
        &sync_errors.to_string(),
    ))
    .await?;
    let addr = console.local_addr();
    eprintln!(
        "the web console: http://{addr}/ (choose \"Enter without a token\"); Ctrl-C stops the demo"
    );
    console.run(Box::pin(syncgov_kit::shutdown::signal())).await
}

/// Whether the story has been told: globex ran out of its allocation, and
/// acme-corp was suspended for Salesforce's limit and came back.
fn story_told(events: &[quota::WatchSuspensionsResponse]) -> bool {
    let seen = |org: &str, kind: quota::SuspensionEventKind, reason: i32| {
        events
            .iter()
            .any(|e| e.org_id == org && e.kind == kind as i32 && e.reason == reason)
    };
    use syncgov_api::taxonomy::v1::SuspensionReason as Reason;
    let integration = Reason::IntegrationApiLimitExceeded as i32;
    let salesforce = Reason::SalesforceApiLimitExceeded as i32;
    seen("globex", quota::SuspensionEventKind::Suspended, integration)
        && seen(
            "acme-corp",
            quota::SuspensionEventKind::Suspended,
            salesforce,
        )
        && seen("acme-corp", quota::SuspensionEventKind::Cleared, salesforce)
}

/// A deny reason's short name (`ALLOCATION_EXHAUSTED`).
fn deny_reason(n: i32) -> String {
    quota::DenyReason::try_from(n).map_or_else(
        |_| n.to_string(),
        |r| {
            r.as_str_name()
                .trim_start_matches("DENY_REASON_")
                .to_owned()
        },
    )
}

/// One progress line: tokens, failures by category, suspended orgs.
async fn progress(
    elapsed: Duration,
    tally: &Tally,
    sync_errors: &SyncErrorsClient<Channel>,
) -> String {
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    for plan in &ORGS {
        if let Ok(health) = sync_errors
            .clone()
            .get_sync_health(errors::GetSyncHealthRequest {
                org_id: plan.id.into(),
            })
            .await
        {
            for c in health.into_inner().categories {
                *categories.entry(names::category(c.category)).or_default() += c.current_errors;
            }
        }
    }
    // One line that fits 80 columns: the categories' own counts are in
    // the health cards at the end.
    let current: u64 = categories.values().sum();
    format!(
        "[{:>6}] granted {}, denied {} | {}, {} errors, {}",
        render::duration_words(elapsed),
        render::count(tally.granted.load(Ordering::Relaxed)),
        render::count(tally.denied_total()),
        render::plural(
            tally.failures.load(Ordering::Relaxed),
            "failure",
            "failures"
        ),
        render::count(current),
        render::plural(categories.len() as u64, "category", "categories"),
    )
}

/// What the demo prints at the end, for people and for scripts.
struct Summary {
    text: String,
    json: serde_json::Value,
}

async fn summarise(
    governor: &QuotaGovernorClient<Channel>,
    sync_errors: &SyncErrorsClient<Channel>,
    tally: &Tally,
    events: &Mutex<Vec<quota::WatchSuspensionsResponse>>,
    width: Option<usize>,
) -> anyhow::Result<Summary> {
    let mut text = String::new();
    let mut orgs = Vec::new();
    for plan in &ORGS {
        let usage = governor
            .clone()
            .get_usage(quota::GetUsageRequest {
                org_id: plan.id.into(),
                resource: quota::Resource::ApiRequests.into(),
                top_consumers: 10,
            })
            .await
            .context("GetUsage")?
            .into_inner();
        let health = sync_errors
            .clone()
            .get_sync_health(errors::GetSyncHealthRequest {
                org_id: plan.id.into(),
            })
            .await
            .context("GetSyncHealth")?
            .into_inner();
        text.push_str(&format!(
            "\n== API calls of {} (the last window) ==\n",
            plan.id
        ));
        text.push_str(&render::usage(&usage, None, width));
        text.push_str(&format!("\n== Sync health of {} ==\n", plan.id));
        text.push_str(&render::health_cards(&health, width));
        orgs.push(serde_json::json!({
            "org_id": plan.id,
            "used": usage.used,
            "allocation": usage.allocation,
            "org_limit": usage.org_limit,
            "current_errors": health.current_errors,
            "impacted_records": health.impacted_records,
            "categories": health.categories.iter().map(|c| serde_json::json!({
                "category": names::category(c.category),
                "current_errors": c.current_errors,
                "impacted_records": c.impacted_records,
            })).collect::<Vec<_>>(),
        }));
    }
    let events = lock(events).clone();
    text.push_str("\n== Suspension history ==\n");
    text.push_str(&render::suspension_history(&events, width));
    let suspended = events
        .iter()
        .filter(|e| e.kind == quota::SuspensionEventKind::Suspended as i32)
        .count();
    let cleared = events.len() - suspended;
    let denied = lock(&tally.denied).clone();
    let granted = tally.granted.load(Ordering::Relaxed);
    let failures = tally.failures.load(Ordering::Relaxed);
    text.push_str("\n== Summary ==\n");
    text.push_str(&format!(
        "tokens granted {}, denied {}\n",
        render::count(granted),
        render::count(denied.values().sum())
    ));
    for (reason, n) in &denied {
        text.push_str(&format!("  denied {reason}: {}\n", render::count(*n)));
    }
    text.push_str(&format!(
        "calls Salesforce refused for the org's limit: {}\nfailures reported: {}\nsuspensions: {suspended}, cleared: {cleared}\n",
        render::count(tally.calls_refused.load(Ordering::Relaxed)),
        render::count(failures)
    ));
    let json = serde_json::json!({
        "tokens_granted": granted,
        "tokens_denied": denied,
        "calls_refused_by_salesforce": tally.calls_refused.load(Ordering::Relaxed),
        "failures_reported": failures,
        "orgs": orgs,
        "suspension_events": events.iter().map(|e| serde_json::json!({
            "org_id": e.org_id,
            "kind": names::event_kind(e.kind),
            "reason": names::reason(e.reason),
            "automatic": e.automatic,
            "detail": e.detail,
        })).collect::<Vec<_>>(),
    });
    Ok(Summary { text, json })
}
