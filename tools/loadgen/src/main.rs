//! `loadgen`: drives the syncgov services over gRPC with many concurrent
//! callers and reports rates, latency percentiles and outcomes. The numbers
//! in `docs/BENCHMARKS.md` come from here.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use syncgov_api::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
use syncgov_api::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
use syncgov_api::envoy::service::ratelimit::v3 as rls;
use syncgov_api::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::auth::AuthChannel;
use syncgov_kit::security::ClientSettings;
use syncgov_kit::settings::parse_duration;

mod floor;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load generator for the syncgov services.
#[derive(Parser)]
#[command(name = "loadgen", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Calls AcquireTokens on the quota governor as fast as the callers can.
    Acquire(AcquireArgs),
    /// Sends IngestErrors batches to the sync-error service; every failure is
    /// a new error (the costliest path: indexes and counters all move).
    Ingest(IngestArgs),
    /// Calls GetSyncHealth for one org, to measure its latency.
    Health(HealthArgs),
    /// Streams one org's ExportErrorsCsv and reports rows, bytes and time.
    Export(ExportArgs),
    /// Reads a fleet view a page at a time, each caller walking the whole
    /// list with the page tokens and starting again at its end: the latency
    /// of a page, first pages and deep ones alike.
    Fleet(FleetArgs),
    /// An OTLP/gRPC trace receiver that counts what it is sent and drops it:
    /// the far end of an exporter, for measuring what traces cost.
    Sink(SinkArgs),
    /// A server that grants every AcquireTokens and ShouldRateLimit call at
    /// once with nothing behind it: what a gRPC call costs on this machine,
    /// the floor under any governor.
    Floor(floor::FloorArgs),
}

/// Options of `sink`.
#[derive(Args)]
struct SinkArgs {
    /// Where to listen (loopback).
    #[arg(long, default_value = "127.0.0.1:4317")]
    listen: std::net::SocketAddr,
}

/// How hard and how long to push.
#[derive(Args, Clone)]
struct Load {
    /// The service's address.
    #[arg(long)]
    addr: Option<String>,
    /// Calls in flight at once.
    #[arg(long, short = 'c', default_value_t = 16)]
    concurrency: u32,
    /// HTTP/2 connections the calls share (default: one per 16 callers, at
    /// least one, at most 8).
    #[arg(long)]
    connections: Option<u32>,
    /// How long to measure.
    #[arg(long, short = 'd', default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before measuring, not counted.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Stop once this many calls were measured, all callers together,
    /// even before --duration: a run of a known size, whatever the
    /// machine's speed.
    #[arg(long)]
    requests: Option<u64>,
    /// TLS and the bearer token.
    #[command(flatten)]
    security: ClientSettings,
}

/// Options of `acquire`.
#[derive(Args)]
struct AcquireArgs {
    #[command(flatten)]
    load: Load,
    /// Distinct orgs the calls spread over.
    #[arg(long, default_value_t = 1000)]
    orgs: u32,
    /// Tokens asked per call.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Allocation given to every org before the run (org limit 1e9). The
    /// default never runs out, so every call is a full decision that grants.
    #[arg(long, default_value_t = 1_000_000_000)]
    allocation: u64,
    /// Leave the orgs' budgets as they are (for example a default budget).
    #[arg(long)]
    no_setup: bool,
    /// Which protocol asks: the governor's AcquireTokens, or Envoy's
    /// ShouldRateLimit (domain salesforce-sync, an org_id descriptor).
    #[arg(long, value_enum, default_value_t = Api::Governor)]
    api: Api,
    /// Prefix of the org ids used.
    #[arg(long, default_value = "loadgen-")]
    org_prefix: String,
    /// Lease mode: each caller takes blocks of up to this many tokens per
    /// org (AcquireTokens with min_count 1) and spends them locally, one
    /// token per decision; the governor sees one call per block.
    #[arg(long, conflicts_with = "api")]
    lease: Option<u64>,
}

/// The protocol `acquire` speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Api {
    /// syncgov.quota.v1.QuotaGovernor/AcquireTokens.
    Governor,
    /// envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit.
    Envoy,
    /// syncgov.quota.v1.QuotaGovernor/AcquireTokensStream: one long-lived
    /// stream per connection, the callers' requests multiplexed on it.
    Stream,
}

/// Options of `ingest`.
#[derive(Args)]
struct IngestArgs {
    #[command(flatten)]
    load: Load,
    /// Distinct orgs the batches spread over.
    #[arg(long, default_value_t = 100)]
    orgs: u32,
    /// Failures per IngestErrors call (1 to 1 000).
    #[arg(long, default_value_t = 500)]
    batch: u32,
    /// Stop once this many failures were sent (and acknowledged), whatever
    /// the duration: for filling an org before measuring reads.
    #[arg(long)]
    total: Option<u64>,
    /// Prefix of the org ids used.
    #[arg(long, default_value = "loadgen-")]
    org_prefix: String,
    /// Send the batches to the orgs in turn (`<prefix>0`, `<prefix>1`, …,
    /// then from the start again, across all callers) instead of to orgs
    /// picked at random: with at least as many batches as orgs, every org
    /// gets errors, and as many as every other, give or take a batch.
    #[arg(long)]
    in_turn: bool,
}

/// Options of `health`.
#[derive(Args)]
struct HealthArgs {
    #[command(flatten)]
    load: Load,
    /// The org.
    #[arg(long)]
    org: String,
}

/// Options of `fleet`.
#[derive(Args)]
struct FleetArgs {
    #[command(flatten)]
    load: Load,
    /// Which view.
    #[arg(long, value_enum)]
    view: FleetView,
    /// Items per page.
    #[arg(long, default_value_t = 100)]
    page_size: u32,
    /// Before measuring, suspend this many orgs (`<prefix>0` on) for
    /// SALESFORCE_ORG_LOCKED, so that the suspensions view has something
    /// to page through.
    #[arg(long)]
    suspend: Option<u32>,
    /// Prefix of the org ids `--suspend` uses.
    #[arg(long, default_value = "loadgen-")]
    org_prefix: String,
}

/// A fleet view `fleet` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FleetView {
    /// The governor's ListBudgets, every resource.
    Budgets,
    /// The governor's ListSuspensions across orgs.
    Suspensions,
    /// The governor's ListUsage: the orgs nearest their limits.
    Usage,
    /// sync-errors' ListTopOrgs by current errors.
    ErrorsTop,
}

/// Options of `export`.
#[derive(Args)]
struct ExportArgs {
    /// The service's address.
    #[arg(long, default_value = "http://127.0.0.1:50052")]
    addr: String,
    /// The org.
    #[arg(long)]
    org: String,
    /// TLS and the bearer token.
    #[command(flatten)]
    security: ClientSettings,
}

/// How one call went.
#[derive(Clone, Copy)]
enum Outcome {
    /// Granted (acquire) or accepted (everything else).
    Ok,
    /// Denied (acquire).
    Denied,
    /// The call failed.
    Failed,
}

/// What the callers saw.
#[derive(Default)]
struct Tally {
    ok: u64,
    denied: u64,
    failed: u64,
    /// Latency of every measured call, in microseconds.
    latencies_us: Vec<u32>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Acquire(args) => acquire(args).await,
        Command::Ingest(args) => ingest(args).await,
        Command::Fleet(args) => fleet(args).await,
        Command::Health(args) => health(args).await,
        Command::Export(args) => export(args).await,
        Command::Sink(args) => sink(args).await,
        Command::Floor(args) => floor::serve(args).await,
    }
}

/// Counts spans and export calls.
#[derive(Clone, Default)]
struct Sink {
    spans: Arc<AtomicU64>,
    exports: Arc<AtomicU64>,
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans: usize = request
            .get_ref()
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .map(|s| s.spans.len())
            .sum();
        self.spans.fetch_add(spans as u64, Ordering::Relaxed);
        self.exports.fetch_add(1, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn sink(args: SinkArgs) -> anyhow::Result<()> {
    let sink = Sink::default();
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    println!("sink listening on {}", listener.local_addr()?);
    let counts = sink.clone();
    tokio::spawn(async move {
        let mut last = 0;
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let spans = counts.spans.load(Ordering::Relaxed);
            if spans != last {
                eprintln!(
                    "spans {spans} in {} exports",
                    counts.exports.load(Ordering::Relaxed)
                );
                last = spans;
            }
        }
    });
    tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(sink))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
        .await?;
    Ok(())
}

async fn connect(addr: &str, security: &ClientSettings) -> anyhow::Result<AuthChannel> {
    let channel = security
        .tls()
        .endpoint(addr)
        .context("--addr")?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))?;
    Ok(AuthChannel::new(channel, security.bearer()?))
}

impl Load {
    fn connections(&self) -> u32 {
        self.connections
            .unwrap_or(self.concurrency.div_ceil(16).clamp(1, 8))
            .max(1)
    }

    async fn channels(&self, default_addr: &str) -> anyhow::Result<Vec<AuthChannel>> {
        anyhow::ensure!(self.concurrency > 0, "--concurrency must be at least 1");
        let addr = self.addr.as_deref().unwrap_or(default_addr);
        let mut channels = Vec::new();
        for _ in 0..self.connections() {
            channels.push(connect(addr, &self.security).await?);
        }
        Ok(channels)
    }
}

/// Runs `load.concurrency` callers, each calling `call(caller, n)` in a loop
/// for the warm-up and then the measured duration (or until `stop` is set),
/// and returns what they saw in the measured part, with its length.
async fn drive<F, Fut>(
    load: &Load,
    stop: Arc<AtomicBool>,
    call: F,
) -> anyhow::Result<(Tally, Duration)>
where
    F: Fn(u32, u64) -> Fut + Clone + 'static,
    Fut: Future<Output = Outcome> + 'static,
{
    // Without a warm-up, every call is measured from the first.
    let measuring = Arc::new(AtomicBool::new(load.warmup.is_zero()));
    // Measured calls left to send, with --requests.
    let left = Arc::new(AtomicU64::new(load.requests.unwrap_or(u64::MAX)));
    let local = tokio::task::LocalSet::new();
    let mut callers = Vec::new();
    for caller in 0..load.concurrency {
        let (call, measuring, stop, left) =
            (call.clone(), measuring.clone(), stop.clone(), left.clone());
        callers.push(local.spawn_local(async move {
            let mut tally = Tally::default();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let counted = measuring.load(Ordering::Relaxed);
                if counted
                    && left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_err()
                {
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
                let started = Instant::now();
                let outcome = call(caller, n).await;
                n += 1;
                if !counted {
                    continue;
                }
                tally
                    .latencies_us
                    .push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                match outcome {
                    Outcome::Ok => tally.ok += 1,
                    Outcome::Denied => tally.denied += 1,
                    Outcome::Failed => tally.failed += 1,
                }
            }
            tally
        }));
    }
    let (warmup, duration) = (load.warmup, load.duration);
    local
        .run_until(async move {
            tokio::time::sleep(warmup).await;
            measuring.store(true, Ordering::Relaxed);
            let started = Instant::now();
            let deadline = tokio::time::sleep(duration);
            tokio::pin!(deadline);
            // Finish early when a caller sets `stop` (enough work done).
            while !stop.load(Ordering::Relaxed) {
                tokio::select! {
                    () = &mut deadline => break,
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
            let elapsed = started.elapsed();
            stop.store(true, Ordering::Relaxed);
            let mut total = Tally::default();
            for caller in callers {
                let tally = caller.await?;
                total.ok += tally.ok;
                total.denied += tally.denied;
                total.failed += tally.failed;
                total.latencies_us.extend(tally.latencies_us);
            }
            Ok((total, elapsed))
        })
        .await
}

/// Prints rate, latency percentiles and outcomes.
fn report(title: &str, unit: &str, per_call: u64, elapsed: Duration, mut total: Tally) {
    total.latencies_us.sort_unstable();
    let calls = total.latencies_us.len();
    let pct = |p: f64| -> f64 {
        if calls == 0 {
            return 0.0;
        }
        let index = ((calls as f64 * p).ceil() as usize).clamp(1, calls) - 1;
        f64::from(total.latencies_us[index]) / 1000.0
    };
    println!("{title}, {:.1} s measured", elapsed.as_secs_f64());
    println!(
        "{unit}/s  {:.0}",
        (calls as u64 * per_call) as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency ms   p50 {:.3}  p99 {:.3}  p999 {:.3}  max {:.3}",
        pct(0.50),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    println!(
        "ok {}  denied {}  failed {}",
        total.ok, total.denied, total.failed
    );
}

/// A per-caller xorshift: cheap, and callers do not march in lockstep.
fn pick(caller: u32, n: u64, len: usize) -> usize {
    let mut state =
        0x9E37_79B9_7F4A_7C15u64 ^ (u64::from(caller) + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ n;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    (state % len as u64) as usize
}

async fn acquire(args: AcquireArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.orgs > 0, "--orgs must be at least 1");
    let channels = args.load.channels("http://127.0.0.1:50051").await?;
    let orgs: Arc<Vec<String>> = Arc::new(
        (0..args.orgs)
            .map(|i| format!("{}{i}", args.org_prefix))
            .collect(),
    );
    if !args.no_setup {
        let mut client = QuotaGovernorClient::new(channels[0].clone());
        for org in orgs.iter() {
            let budget = quota::Budget {
                org_limit: 1_000_000_000,
                allocation: args.allocation,
                ..Default::default()
            };
            client
                .set_budget(quota::SetBudgetRequest {
                    expected_revision: String::new(),
                    org_id: org.clone(),
                    resource: quota::Resource::ApiRequests.into(),
                    budget: Some(budget),
                })
                .await
                .context("SetBudget")?;
        }
    }
    let count = args.count;
    let api = args.api;
    let clients: Arc<Vec<QuotaGovernorClient<AuthChannel>>> = Arc::new(
        channels
            .iter()
            .cloned()
            .map(QuotaGovernorClient::new)
            .collect(),
    );
    let envoys: Arc<Vec<RateLimitServiceClient<AuthChannel>>> = Arc::new(
        channels
            .into_iter()
            .map(RateLimitServiceClient::new)
            .collect(),
    );
    let mut streams = Vec::new();
    if api == Api::Stream {
        for client in clients.iter() {
            let stream = syncgov_client::DecisionStream::open(client.clone());
            streams.push(stream.await.context("AcquireTokensStream")?);
        }
    }
    let streams = Arc::new(streams);
    if let Some(block) = args.lease {
        let title = format!(
            "acquire (leases of {block}): {} orgs, concurrency {}, {} connection(s)",
            args.orgs,
            args.load.concurrency,
            args.load.connections()
        );
        let (tally, elapsed) = drive_leases(&args.load, clients, orgs, block).await?;
        report(&title, "decisions", 1, elapsed, tally);
        return Ok(());
    }
    let (tally, elapsed) = drive(&args.load, Arc::default(), move |caller, n| {
        let mut client = clients[caller as usize % clients.len()].clone();
        let mut envoy = envoys[caller as usize % envoys.len()].clone();
        let stream = streams.get(caller as usize % streams.len().max(1)).cloned();
        let org = orgs[pick(caller, n, orgs.len())].clone();
        async move {
            let request = quota::AcquireTokensRequest {
                org_id: org.clone(),
                resource: quota::Resource::ApiRequests.into(),
                count,
                priority: quota::Priority::Normal.into(),
                client_id: "loadgen".into(),
                min_count: 0,
                object: String::new(),
                operation: String::new(),
            };
            if let Some(stream) = stream {
                return match stream.decide(request).await {
                    Ok(r) if r.granted => Outcome::Ok,
                    Ok(_) => Outcome::Denied,
                    Err(_) => Outcome::Failed,
                };
            }
            if api == Api::Envoy {
                let request = rls::RateLimitRequest {
                    domain: "salesforce-sync".into(),
                    descriptors: vec![RateLimitDescriptor {
                        entries: vec![Entry {
                            key: "org_id".into(),
                            value: org,
                        }],
                    }],
                    hits_addend: count as u32,
                };
                return match envoy.should_rate_limit(request).await {
                    Ok(r)
                        if r.get_ref().overall_code
                            == rls::rate_limit_response::Code::Ok as i32 =>
                    {
                        Outcome::Ok
                    }
                    Ok(_) => Outcome::Denied,
                    Err(_) => Outcome::Failed,
                };
            }
            let reply = client.acquire_tokens(request).await;
            match reply {
                Ok(r) if r.get_ref().granted => Outcome::Ok,
                Ok(_) => Outcome::Denied,
                Err(_) => Outcome::Failed,
            }
        }
    })
    .await?;
    let title = format!(
        "acquire ({:?}): {} orgs, concurrency {}, {} connection(s), count {}",
        args.api,
        args.orgs,
        args.load.concurrency,
        args.load.connections(),
        args.count
    );
    report(&title, "decisions", 1, elapsed, tally);
    Ok(())
}

/// Drives lease-mode decisions: each caller keeps a lease per org it has
/// asked for and takes one token per decision.
async fn drive_leases(
    load: &Load,
    clients: Arc<Vec<QuotaGovernorClient<AuthChannel>>>,
    orgs: Arc<Vec<String>>,
    block: u64,
) -> anyhow::Result<(Tally, Duration)> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;
    use syncgov_client::{Lease, Take};

    /// Each caller's leases, by org.
    type Leases = Vec<RefCell<HashMap<usize, Lease<AuthChannel>>>>;
    let leases: Rc<Leases> = Rc::new((0..load.concurrency).map(|_| RefCell::default()).collect());
    drive(load, Arc::default(), move |caller, n| {
        let client = clients[caller as usize % clients.len()].clone();
        let index = pick(caller, n, orgs.len());
        let org = orgs[index].clone();
        let leases = leases.clone();
        async move {
            // Calls of one caller run one after another: the borrow is free.
            let mine = &leases[caller as usize];
            let taken = mine.borrow_mut().remove(&index);
            let mut lease = taken.unwrap_or_else(|| {
                Lease::new(
                    client,
                    org,
                    quota::Resource::ApiRequests,
                    quota::Priority::Normal,
                    block,
                )
                .with_client_id("loadgen")
            });
            let outcome = match lease.take().await {
                Ok(Take::Granted) => Outcome::Ok,
                Ok(Take::Denied(_)) => Outcome::Denied,
                Err(_) => Outcome::Failed,
            };
            mine.borrow_mut().insert(index, lease);
            outcome
        }
    })
    .await
}

/// Real Salesforce error texts, so that ingest classifies as it would.
const TEXTS: [(&str, &str, &str); 4] = [
    (
        "STRING_TOO_LONG",
        "Description: data value too large: <<customer data>>  (max length=255): [Description]",
        "Description",
    ),
    (
        "INVALID_EMAIL_ADDRESS",
        "Email: invalid email address: jane@@example",
        "Email",
    ),
    (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Phone number must be 10 digits: [Phone]",
        "Phone",
    ),
    (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        "ContactTrigger: execution of BeforeInsert caused by: System.NullPointerException: Attempt to de-reference a null object: Trigger.ContactTrigger: line 12, column 1",
        "",
    ),
];

async fn ingest(args: IngestArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.orgs > 0, "--orgs must be at least 1");
    anyhow::ensure!(
        (1..=1_000).contains(&args.batch),
        "--batch must be 1 to 1000"
    );
    let channels = args.load.channels("http://127.0.0.1:50052").await?;
    let clients: Arc<Vec<SyncErrorsClient<AuthChannel>>> =
        Arc::new(channels.into_iter().map(SyncErrorsClient::new).collect());
    let orgs: Arc<Vec<String>> = Arc::new(
        (0..args.orgs)
            .map(|i| format!("{}{i}", args.org_prefix))
            .collect(),
    );
    // Keys and records unique to this run, so every failure is a new error.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let (batch, total) = (args.batch, args.total);
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    // The next org in turn, shared by the callers, with --in-turn.
    let turn = Arc::new(AtomicU64::new(0));
    let in_turn = args.in_turn;
    let (tally, elapsed) = drive(&args.load, stop, move |caller, n| {
        let mut client = clients[caller as usize % clients.len()].clone();
        let index = if in_turn {
            (turn.fetch_add(1, Ordering::Relaxed) % orgs.len() as u64) as usize
        } else {
            pick(caller, n, orgs.len())
        };
        let org = orgs[index].clone();
        let (sent, stop) = (sent.clone(), stopper.clone());
        async move {
            let failures = (0..batch)
                .map(|i| {
                    let (status, message, field) = TEXTS[(i as usize + n as usize) % TEXTS.len()];
                    errors::Failure {
                        idempotency_key: format!("{run}-{caller}-{n}-{i}"),
                        object_type: "Contact".into(),
                        crm_record_id: format!("r{run}-{caller}-{n}-{i}"),
                        direction: errors::Direction::ToSalesforce.into(),
                        status_code: status.into(),
                        message: message.into(),
                        fields: if field.is_empty() {
                            vec![]
                        } else {
                            vec![field.into()]
                        },
                        ..Default::default()
                    }
                })
                .collect();
            match client
                .ingest_errors(errors::IngestErrorsRequest {
                    org_id: org,
                    failures,
                })
                .await
            {
                Ok(_) => {
                    let done =
                        sent.fetch_add(u64::from(batch), Ordering::Relaxed) + u64::from(batch);
                    if total.is_some_and(|t| done >= t) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    Outcome::Ok
                }
                Err(_) => Outcome::Failed,
            }
        }
    })
    .await?;
    let title = format!(
        "ingest: {} orgs{}, batches of {}, concurrency {}, {} connection(s)",
        args.orgs,
        if args.in_turn { " in turn" } else { "" },
        args.batch,
        args.load.concurrency,
        args.load.connections()
    );
    report(&title, "errors", u64::from(args.batch), elapsed, tally);
    Ok(())
}

async fn health(args: HealthArgs) -> anyhow::Result<()> {
    let channels = args.load.channels("http://127.0.0.1:50052").await?;
    let clients: Arc<Vec<SyncErrorsClient<AuthChannel>>> =
        Arc::new(channels.into_iter().map(SyncErrorsClient::new).collect());
    let org = args.org.clone();
    let mut probe = clients[0].clone();
    let first = probe
        .get_sync_health(errors::GetSyncHealthRequest {
            org_id: org.clone(),
        })
        .await
        .context("GetSyncHealth")?
        .into_inner();
    let (tally, elapsed) = drive(&args.load, Arc::default(), move |caller, _| {
        let mut client = clients[caller as usize % clients.len()].clone();
        let org = org.clone();
        async move {
            match client
                .get_sync_health(errors::GetSyncHealthRequest { org_id: org })
                .await
            {
                Ok(_) => Outcome::Ok,
                Err(_) => Outcome::Failed,
            }
        }
    })
    .await?;
    let title = format!(
        "health: org {} with {} current errors, concurrency {}",
        args.org, first.current_errors, args.load.concurrency
    );
    report(&title, "calls", 1, elapsed, tally);
    Ok(())
}

/// One page of `view` after `token`: its items and the next token.
async fn fleet_page(
    governor: &mut QuotaGovernorClient<AuthChannel>,
    errors_client: &mut SyncErrorsClient<AuthChannel>,
    view: FleetView,
    page_size: u32,
    page_token: String,
) -> Result<(usize, String), tonic::Status> {
    Ok(match view {
        FleetView::Budgets => {
            let r = governor
                .list_budgets(quota::ListBudgetsRequest {
                    resource: 0,
                    page_size,
                    page_token,
                })
                .await?
                .into_inner();
            (r.budgets.len(), r.next_page_token)
        }
        FleetView::Suspensions => {
            let r = governor
                .list_suspensions(quota::ListSuspensionsRequest {
                    org_id: String::new(),
                    reason: 0,
                    page_size,
                    page_token,
                })
                .await?
                .into_inner();
            (r.suspensions.len(), r.next_page_token)
        }
        FleetView::Usage => {
            let r = governor
                .list_usage(quota::ListUsageRequest {
                    resource: 0,
                    page_size,
                    page_token,
                })
                .await?
                .into_inner();
            (r.orgs.len(), r.next_page_token)
        }
        FleetView::ErrorsTop => {
            let r = errors_client
                .list_top_orgs(errors::ListTopOrgsRequest {
                    order_by: 0,
                    page_size,
                    page_token,
                })
                .await?
                .into_inner();
            (r.orgs.len(), r.next_page_token)
        }
    })
}

async fn fleet(args: FleetArgs) -> anyhow::Result<()> {
    use std::cell::RefCell;
    use std::rc::Rc;
    let default_addr = match args.view {
        FleetView::ErrorsTop => "http://127.0.0.1:50052",
        _ => "http://127.0.0.1:50051",
    };
    let channels = args.load.channels(default_addr).await?;
    if let Some(n) = args.suspend {
        let mut client = QuotaGovernorClient::new(channels[0].clone());
        for i in 0..n {
            client
                .suspend(quota::SuspendRequest {
                    org_id: format!("{}{i}", args.org_prefix),
                    reason: syncgov_api::taxonomy::v1::SuspensionReason::SalesforceOrgLocked.into(),
                    detail: "loadgen".into(),
                })
                .await
                .context("Suspend")?;
        }
    }
    // One walk through the whole list first: how many items and pages.
    let (mut governor, mut errors_client) = (
        QuotaGovernorClient::new(channels[0].clone()),
        SyncErrorsClient::new(channels[0].clone()),
    );
    let (mut items, mut pages, mut token) = (0usize, 0usize, String::new());
    let walked = Instant::now();
    loop {
        let (n, next) = fleet_page(
            &mut governor,
            &mut errors_client,
            args.view,
            args.page_size,
            token,
        )
        .await
        .context("a page")?;
        items += n;
        pages += 1;
        if next.is_empty() {
            break;
        }
        token = next;
    }
    let walked = walked.elapsed();
    let view = args.view;
    let page_size = args.page_size;
    let tokens: Rc<Vec<RefCell<String>>> = Rc::new(
        (0..args.load.concurrency)
            .map(|_| RefCell::default())
            .collect(),
    );
    let clients = Arc::new(channels);
    let (tally, elapsed) = drive(&args.load, Arc::default(), move |caller, _| {
        let channel = clients[caller as usize % clients.len()].clone();
        let tokens = tokens.clone();
        async move {
            let token = tokens[caller as usize].borrow().clone();
            let (mut g, mut e) = (
                QuotaGovernorClient::new(channel.clone()),
                SyncErrorsClient::new(channel),
            );
            match fleet_page(&mut g, &mut e, view, page_size, token).await {
                Ok((_, next)) => {
                    *tokens[caller as usize].borrow_mut() = next;
                    Outcome::Ok
                }
                Err(_) => Outcome::Failed,
            }
        }
    })
    .await?;
    let title = format!(
        "fleet {view:?}: {items} items in {pages} pages of {page_size} (one walk: {:.1} s), concurrency {}",
        walked.as_secs_f64(),
        args.load.concurrency
    );
    report(&title, "pages", 1, elapsed, tally);
    Ok(())
}

async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let mut client = SyncErrorsClient::new(connect(&args.addr, &args.security).await?);
    let started = Instant::now();
    let mut stream = client
        .export_errors_csv(errors::ExportErrorsCsvRequest {
            org_id: args.org.clone(),
            filter: None,
        })
        .await
        .context("ExportErrorsCsv")?
        .into_inner();
    let (mut rows, mut bytes, mut chunks) = (0u64, 0u64, 0u64);
    while let Some(chunk) = stream.message().await.context("export stream")? {
        rows += u64::from(chunk.rows);
        bytes += chunk.chunk.len() as u64;
        chunks += 1;
    }
    let elapsed = started.elapsed();
    println!("export: org {}", args.org);
    println!(
        "rows {rows}  bytes {bytes}  chunks {chunks}  time {:.2} s  rows/s {:.0}",
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
