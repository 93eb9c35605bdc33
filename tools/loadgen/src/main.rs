//! `loadgen`: drives the syncgov services over gRPC with many concurrent
//! callers and reports decisions per second, latency percentiles and
//! outcomes. The numbers in `docs/BENCHMARKS.md` come from here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::settings::parse_duration;
use tonic::transport::{Channel, Endpoint};

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
}

/// How to load the governor.
#[derive(Parser)]
struct AcquireArgs {
    /// The governor's address.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Distinct orgs the calls spread over.
    #[arg(long, default_value_t = 1000)]
    orgs: u32,
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
    /// Prefix of the org ids used.
    #[arg(long, default_value = "loadgen-")]
    org_prefix: String,
}

/// What one caller saw.
#[derive(Default)]
struct Tally {
    granted: u64,
    denied: u64,
    errors: u64,
    /// Latency of every measured call, in microseconds.
    latencies_us: Vec<u32>,
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Acquire(args) => acquire(args).await,
    }
}

async fn connect(addr: &str) -> anyhow::Result<Channel> {
    Endpoint::from_shared(addr.to_owned())
        .context("--addr")?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("cannot reach {addr}"))
}

async fn acquire(args: AcquireArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.orgs > 0, "--orgs must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let connections = args
        .connections
        .unwrap_or(args.concurrency.div_ceil(16).clamp(1, 8))
        .max(1);
    let mut channels = Vec::new();
    for _ in 0..connections {
        channels.push(connect(&args.addr).await?);
    }
    let orgs: Arc<Vec<String>> = Arc::new(
        (0..args.orgs)
            .map(|i| format!("{}{i}", args.org_prefix))
            .collect(),
    );

    if !args.no_setup {
        let mut client = QuotaGovernorClient::new(channels[0].clone());
        for org in orgs.iter() {
            client
                .set_budget(pb::SetBudgetRequest {
                    org_id: org.clone(),
                    resource: pb::Resource::ApiRequests.into(),
                    budget: Some(pb::Budget {
                        org_limit: 1_000_000_000,
                        allocation: args.allocation,
                        ..Default::default()
                    }),
                })
                .await
                .context("SetBudget")?;
        }
    }

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for i in 0..args.concurrency {
        let mut client = QuotaGovernorClient::new(channels[(i % connections) as usize].clone());
        let orgs = orgs.clone();
        let (measuring, stop) = (measuring.clone(), stop.clone());
        let count = args.count;
        callers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            // A per-caller xorshift picks orgs: cheap, and callers do not
            // march over the orgs in lockstep.
            let mut state =
                0x9E37_79B9_7F4A_7C15u64 ^ (u64::from(i) + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            while !stop.load(Ordering::Relaxed) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let org = &orgs[(state % orgs.len() as u64) as usize];
                let started = Instant::now();
                let reply = client
                    .acquire_tokens(pb::AcquireTokensRequest {
                        org_id: org.clone(),
                        resource: pb::Resource::ApiRequests.into(),
                        count,
                        priority: pb::Priority::Normal.into(),
                        client_id: "loadgen".into(),
                    })
                    .await;
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                tally
                    .latencies_us
                    .push(started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                match reply {
                    Ok(r) if r.get_ref().granted => tally.granted += 1,
                    Ok(_) => tally.denied += 1,
                    Err(_) => tally.errors += 1,
                }
            }
            tally
        }));
    }

    tokio::time::sleep(args.warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(args.duration).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);

    let mut total = Tally::default();
    for caller in callers {
        let tally = caller.await?;
        total.granted += tally.granted;
        total.denied += tally.denied;
        total.errors += tally.errors;
        total.latencies_us.extend(tally.latencies_us);
    }
    report(&args, connections, elapsed, total);
    Ok(())
}

fn report(args: &AcquireArgs, connections: u32, elapsed: Duration, mut total: Tally) {
    total.latencies_us.sort_unstable();
    let calls = total.latencies_us.len();
    let pct = |p: f64| -> f64 {
        if calls == 0 {
            return 0.0;
        }
        let index = ((calls as f64 * p).ceil() as usize).clamp(1, calls) - 1;
        f64::from(total.latencies_us[index]) / 1000.0
    };
    println!(
        "acquire: {} orgs, concurrency {}, {} connection(s), count {}, {:.1} s measured",
        args.orgs,
        args.concurrency,
        connections,
        args.count,
        elapsed.as_secs_f64()
    );
    println!("decisions/s  {:.0}", calls as f64 / elapsed.as_secs_f64());
    println!(
        "latency ms   p50 {:.3}  p99 {:.3}  p999 {:.3}  max {:.3}",
        pct(0.50),
        pct(0.99),
        pct(0.999),
        pct(1.0)
    );
    println!(
        "granted {}  denied {}  errors {}",
        total.granted, total.denied, total.errors
    );
}
