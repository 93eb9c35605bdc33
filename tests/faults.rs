//! Fault tests: what the services promise when the ground moves under them.
//! Each test puts real load on a service, breaks something mid-load, and then
//! checks counts and states, never timings:
//!
//! - `redis_killed_during_load_never_over_grants`: Redis (AOF, fsync on
//!   every write) SIGKILLed under 24 clients acquiring tokens. Every failed
//!   call is UNAVAILABLE, nothing is granted while Redis is away, health
//!   follows Redis down and up, the clients recover on their own channels,
//!   and across the whole run the governor grants no more than the
//!   allocation, while Redis, restarted from its AOF, counts all of it. The
//!   only tokens counted and not granted are of calls in flight at the kill:
//!   Redis ran their script, then died before it answered.
//! - `acknowledged_ingests_survive_kill_9_with_appendfsync_always`: Redis
//!   SIGKILLed under a stream of `IngestErrors`. Every acknowledged failure
//!   is there after the restart, a batch refused and sent again is stored
//!   whole and counted once (ingest is idempotent by key), and the
//!   idempotency keys survive too.
//! - `a_killed_worker_s_resync_jobs_are_redelivered`: a worker claims every
//!   resync job and vanishes having done a few. Its unfinished jobs go to
//!   two live workers, each to exactly one and none before the dead worker's
//!   lease lapsed (on the store's clock); the dead worker's leases are void.
//! - `a_service_restarted_during_load_leaves_nothing_half_written`: the
//!   sync-error service stopped (graceful drain, as on SIGTERM) and started
//!   again on its address under 6 ingesting clients. Every call succeeds or
//!   fails in a way a client may retry, no call the drain took loses its
//!   reply, and the counts are exactly the acknowledged failures', per type.
//! - `a_governor_restarted_during_load_never_over_grants`: the same for the
//!   governor: across its restart it grants exactly the allocation.
//!
//! A restart shows the clients more than UNAVAILABLE: tonic reports a call
//! caught by the server's graceful GOAWAY as CANCELLED or INTERNAL, though
//! it never left the client ([`retryable`] says which). Redis listens on
//! unix sockets and the services on loopback; every wait has a deadline
//! well under 20 s.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings as SyncErrorsSettings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::PATIENCE;
use syncgov_tests::outage::{self, RedisOutage};
use syncgov_tests::{RedisServer, Service, free_addr, health_becomes};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

// ---------------------------------------------------------------------------
// Shared pieces.
// ---------------------------------------------------------------------------

/// Where a fault test stands; load tasks read it around every call, so that
/// each call knows whether it was sent and answered before, during or after
/// the fault.
const BEFORE: u8 = 0;
/// The fault is under way (set just before it is caused).
const DURING: u8 = 1;
/// The fault is being repaired, or is over (set just before the repair).
const AFTER: u8 = 2;

/// Every error the calls of a fault test met: how often per code, with the
/// first message of each, and every error a client could not retry, so that
/// a failed assertion says what was seen.
#[derive(Clone, Default)]
struct Codes {
    seen: Arc<Mutex<BTreeMap<i32, (u64, String)>>>,
    not_retryable: Arc<Mutex<Vec<String>>>,
}

impl Codes {
    fn record(&self, status: &tonic::Status) {
        let mut seen = self.seen.lock().expect("the code record");
        let entry = seen
            .entry(status.code() as i32)
            .or_insert_with(|| (0, describe(status)));
        entry.0 += 1;
        drop(seen);
        if !retryable(status) {
            let mut bad = self.not_retryable.lock().expect("the code record");
            bad.push(format!("{:?}: {}", status.code(), describe(status)));
        }
    }

    fn count(&self, code: Code) -> u64 {
        let seen = self.seen.lock().expect("the code record");
        seen.get(&(code as i32)).map_or(0, |(n, _)| *n)
    }

    fn total(&self) -> u64 {
        let seen = self.seen.lock().expect("the code record");
        seen.values().map(|(n, _)| n).sum()
    }

    /// Says what was seen: `Unavailable x 123 ("first message")`.
    fn summary(&self) -> String {
        let seen = self.seen.lock().expect("the code record");
        seen.iter()
            .map(|(code, (n, message))| format!("{:?} x {n} ({message:?})", Code::from(*code)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks that every error had one of `codes`.
    fn assert_only(&self, codes: &[Code]) {
        let seen = self.seen.lock().expect("the code record");
        for (code, (n, message)) in seen.iter() {
            let code = Code::from(*code);
            assert!(
                codes.contains(&code),
                "{n} calls failed with {code:?}, expected only {codes:?}: {message}"
            );
        }
    }

    /// Checks that a client could retry every error.
    fn assert_retryable(&self) {
        let bad = self.not_retryable.lock().expect("the code record");
        assert!(
            bad.is_empty(),
            "{} calls failed in a way a client may not retry, e.g. {}",
            bad.len(),
            bad[0]
        );
    }
}

/// Whether a client may send a call again that failed with `status` while a
/// server restarted: UNAVAILABLE (the contract's code for it); CANCELLED,
/// which tonic gives a call queued on a connection that closed before it
/// was sent ("operation was canceled", "connection closed"); and the
/// INTERNAL that tonic gives a call made on a connection the server's
/// graceful GOAWAY (NO_ERROR) had already closed to new calls, so that it
/// was never sent (tonic maps every h2 NO_ERROR to INTERNAL; see
/// hyperium/hyper#4052); and the UNKNOWN `transport error` of a request
/// that could not be written to a connection the server had closed
/// ([`unwritten`]). Nothing else.
fn retryable(status: &tonic::Status) -> bool {
    match status.code() {
        Code::Unavailable | Code::Cancelled => true,
        Code::Internal => {
            let cause = describe(status);
            status.message().starts_with("h2 protocol error")
                && cause.contains("GoAway(")
                && cause.contains("NO_ERROR")
        }
        Code::Unknown => unwritten(status),
        _ => false,
    }
}

/// Whether `status` is tonic's `transport error` for a request it could not
/// write because the server had already closed the connection (a broken
/// pipe or a reset): the client had not yet read the server's GOAWAY when
/// it opened the call, and the request never reached a handler. HTTP/2
/// (RFC 9113, section 6.8) lets a client send such a request again.
fn unwritten(status: &tonic::Status) -> bool {
    let mut next = std::error::Error::source(status);
    while let Some(error) = next {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            );
        }
        next = error.source();
    }
    false
}

/// A request the server's closed connection refused is retryable; other
/// transport failures are not.
#[test]
fn a_request_written_to_a_closed_connection_may_be_sent_again() {
    use std::io::{Error, ErrorKind};
    let status = |kind| tonic::Status::from_error(Box::new(Error::from(kind)));
    for kind in [ErrorKind::BrokenPipe, ErrorKind::ConnectionReset] {
        let failed = status(kind);
        assert_eq!(failed.code(), Code::Unknown);
        assert!(retryable(&failed), "{kind:?}");
    }
    assert!(!retryable(&status(ErrorKind::InvalidData)));
    assert!(!retryable(&tonic::Status::unknown("transport error")));
}

/// A status's message, and the error at the root of it when there is one
/// (for a transport error: the HTTP/2 frame behind it).
fn describe(status: &tonic::Status) -> String {
    let mut root: Option<&dyn std::error::Error> = None;
    let mut next = std::error::Error::source(status);
    while let Some(error) = next {
        root = Some(error);
        next = error.source();
    }
    match root {
        Some(root) => format!("{}; caused by {root:?}", status.message()),
        None => status.message().to_owned(),
    }
}

/// Sets `appendfsync always` on `redis`: each write is fsynced before Redis
/// answers it, so an acknowledged write survives a SIGKILL however busy the
/// disk, and a crash of the host. The harness starts its AOF servers so;
/// set here again because this test's promise rests on it.
async fn fsync_every_write(redis: &RedisServer) {
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let () = ::redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg("always")
        .query_async(&mut conn)
        .await
        .expect("CONFIG SET appendfsync always");
}

/// A Redis that logs every write to its AOF and fsyncs it before answering.
async fn durable_redis() -> RedisServer {
    let redis = RedisServer::start_with(true);
    fsync_every_write(&redis).await;
    redis
}

/// Waits up to `limit` for `count` to reach `at_least`, looking every 5 ms
/// (tighter than `eventually`, so that a fault lands early in the load).
async fn reaches(count: impl Fn() -> u64, at_least: u64, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while count() < at_least {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// Awaits every load task, for at most `limit` in all.
async fn join_all<T>(tasks: Vec<tokio::task::JoinHandle<T>>, limit: Duration) -> Vec<T> {
    tokio::time::timeout(limit, async {
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await.expect("a load task"));
        }
        out
    })
    .await
    .expect("the load ended in time")
}

// ---------------------------------------------------------------------------
// The governor.
// ---------------------------------------------------------------------------

async fn set_budget(c: &mut QuotaGovernorClient<Channel>, org: &str, allocation: u64) {
    c.set_budget(quota::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource: quota::Resource::ApiRequests.into(),
        budget: Some(quota::Budget {
            // Far above the allocation: the allocation is what binds.
            org_limit: 100 * allocation,
            allocation,
            ..Default::default()
        }),
    })
    .await
    .expect("SetBudget");
}

fn one_token(org: &str) -> quota::AcquireTokensRequest {
    quota::AcquireTokensRequest {
        org_id: org.into(),
        resource: quota::Resource::ApiRequests.into(),
        count: 1,
        priority: quota::Priority::Critical.into(),
        client_id: "fault-load".into(),
        min_count: 0,
        object: String::new(),
        operation: String::new(),
    }
}

async fn used(c: &mut QuotaGovernorClient<Channel>, org: &str) -> u64 {
    c.get_usage(quota::GetUsageRequest {
        org_id: org.into(),
        resource: quota::Resource::ApiRequests.into(),
        top_consumers: 0,
    })
    .await
    .expect("GetUsage")
    .into_inner()
    .used
}

/// What the governor's load clients saw, all of them together.
#[derive(Default)]
struct GrantTally {
    /// Grants, by the phase their reply came in.
    granted: [AtomicU64; 3],
    /// Grants of calls both sent and answered while the fault was under way.
    granted_during: AtomicU64,
    /// Calls sent before the fault that failed: the only ones whose token a
    /// store may have counted without the client hearing of it.
    failed_in_flight: AtomicU64,
    /// Each client's last reply, a denial: the phase it came in and why.
    denials: Mutex<Vec<(u8, quota::DenyReason)>>,
}

impl GrantTally {
    fn granted(&self) -> u64 {
        self.granted.iter().map(|g| g.load(Ordering::SeqCst)).sum()
    }
}

/// Where a fault test stands, for the load tasks: the phase, and how many
/// calls the load may still send before the fault. The allowance keeps the
/// load from spending the allocation before the fault however the test's
/// own task is scheduled: once it is used up, the load waits for the fault.
struct Phase {
    now: AtomicU8,
    moved: tokio::sync::watch::Sender<u8>,
    allowance: AtomicU64,
}

impl Phase {
    /// Before the fault, with `allowance` calls to send until it begins.
    fn new(allowance: u64) -> Arc<Self> {
        Arc::new(Self {
            now: AtomicU8::new(BEFORE),
            moved: tokio::sync::watch::channel(BEFORE).0,
            allowance: AtomicU64::new(allowance),
        })
    }

    fn load(&self) -> u8 {
        self.now.load(Ordering::SeqCst)
    }

    fn set(&self, phase: u8) {
        self.now.store(phase, Ordering::SeqCst);
        self.moved.send_replace(phase);
    }

    /// The phase a call is sent in: before the fault, one call of the
    /// allowance, or a wait for the fault once it is used up.
    async fn send(&self) -> u8 {
        if self.load() == BEFORE {
            let taken = self
                .allowance
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if taken.is_err() {
                let mut moved = self.moved.subscribe();
                let _ = moved.wait_for(|p| *p != BEFORE).await;
            }
        }
        self.load()
    }
}

/// Starts `clients` tasks acquiring one token at a time from the governor
/// at `addr`, each on a channel of its own that it never rebuilds, until
/// each is denied. A failed call is recorded, and retried after 10 ms.
async fn acquire_load(
    addr: SocketAddr,
    clients: usize,
    phase: &Arc<Phase>,
    tally: &Arc<GrantTally>,
    codes: &Codes,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let mut c = QuotaGovernorClient::new(syncgov_tests::channel(addr).await);
        let (phase, tally, codes) = (phase.clone(), tally.clone(), codes.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let sent = phase.send().await;
                let reply = c.acquire_tokens(one_token("acme")).await;
                let answered = phase.load();
                match reply {
                    Ok(reply) if reply.get_ref().granted => {
                        tally.granted[answered as usize].fetch_add(1, Ordering::SeqCst);
                        if sent == DURING && answered == DURING {
                            tally.granted_during.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    Ok(reply) => {
                        let reason = reply.get_ref().deny_reason();
                        tally
                            .denials
                            .lock()
                            .expect("the denials")
                            .push((answered, reason));
                        return;
                    }
                    Err(status) => {
                        codes.record(&status);
                        if sent == BEFORE {
                            tally.failed_in_flight.fetch_add(1, Ordering::SeqCst);
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
        }));
    }
    tasks
}

/// Checks that every client stopped on a denial that came after the fault,
/// for the allocation running out (which then suspends the integration).
fn assert_denied_only_at_the_end(tally: &GrantTally, clients: usize) {
    let denials = tally.denials.lock().expect("the denials");
    assert_eq!(denials.len(), clients, "every client ended on a denial");
    for (phase, reason) in denials.iter() {
        assert_eq!(
            *phase, AFTER,
            "a client was denied ({reason:?}) before the fault was over"
        );
        assert!(
            matches!(
                reason,
                quota::DenyReason::AllocationExhausted | quota::DenyReason::Suspended
            ),
            "{reason:?}"
        );
    }
}

/// Redis SIGKILLed under load: fail-closed, no over-grant, and recovery with
/// nothing done by the clients but carrying on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_during_load_never_over_grants() {
    const ALLOCATION: u64 = 4_000;
    const CLIENTS: usize = 24;
    let started = Instant::now();
    let mut redis = durable_redis().await;
    let settings = GovernorSettings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            health_interval: outage::HEALTH_INTERVAL,
            redis_timeout: outage::REDIS_TIMEOUT,
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    };
    let governor = Service::governor(settings).await;
    let service = quota_governor::app::SERVICE_NAME;
    let mut admin = QuotaGovernorClient::new(governor.channel().await);
    set_budget(&mut admin, "acme", ALLOCATION).await;
    assert!(health_becomes(governor.addr(), service, ServingStatus::Serving, PATIENCE).await);

    // At most half the allocation goes before the kill, so every client is
    // still asking when Redis dies, however the tasks are scheduled.
    let phase = Phase::new(ALLOCATION / 2);
    let tally = Arc::new(GrantTally::default());
    let codes = Codes::default();
    let load = acquire_load(governor.addr(), CLIENTS, &phase, &tally, &codes).await;
    assert!(
        reaches(|| tally.granted(), ALLOCATION / 4, PATIENCE).await,
        "the load did not get going"
    );

    let mut outage = RedisOutage::new(&mut redis, governor.addr(), service);
    outage.kill();
    // Marked once Redis is dead: a call sent from here on cannot have been
    // decided by it, so a grant of one would be a grant nothing counted.
    phase.set(DURING);
    let before_kill = tally.granted();
    outage.until_not_serving().await;
    // The load keeps going against the outage for a while.
    assert!(
        reaches(
            || codes.total(),
            4 * CLIENTS as u64,
            Duration::from_secs(10)
        )
        .await,
        "the load stopped during the outage"
    );

    phase.set(AFTER);
    outage.restart();
    fsync_every_write(outage.redis()).await;
    outage.until_serving().await;
    join_all(load, PATIENCE).await;

    let granted = tally.granted();
    let in_flight = tally.failed_in_flight.load(Ordering::SeqCst);
    let used = used(&mut admin, "acme").await;
    println!(
        "redis kill: granted {granted} of {ALLOCATION} ({before_kill} before the kill, {} while \
         away, {} after), Redis counted {used}, {in_flight} calls in flight at the kill failed; \
         errors: {}; {:.1} s",
        tally.granted[DURING as usize].load(Ordering::SeqCst),
        tally.granted[AFTER as usize].load(Ordering::SeqCst),
        codes.summary(),
        started.elapsed().as_secs_f64()
    );
    codes.assert_only(&[Code::Unavailable]);
    assert!(codes.count(Code::Unavailable) > 0);
    assert_eq!(
        tally.granted_during.load(Ordering::SeqCst),
        0,
        "fail-closed: no call sent after Redis died is granted while it is away"
    );
    assert!(granted <= ALLOCATION, "over-granted: {granted}");
    assert_denied_only_at_the_end(&tally, CLIENTS);
    assert!(tally.granted[AFTER as usize].load(Ordering::SeqCst) > 0);
    // The AOF kept every counted call: the window is full, no more and no
    // less, once the clients have been denied.
    assert_eq!(used, ALLOCATION, "Redis's count after the restart");
    // What Redis counted and no client heard of can only be calls that were
    // in flight when it died.
    assert!(
        ALLOCATION - granted <= in_flight,
        "{} tokens counted but never granted, with only {in_flight} calls in flight",
        ALLOCATION - granted
    );
    governor.shutdown().await;
}

/// The governor stopped (graceful drain) and started again on its address
/// under load: retryable codes only, and exactly the allocation granted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_governor_restarted_during_load_never_over_grants() {
    const ALLOCATION: u64 = 4_000;
    const CLIENTS: usize = 16;
    let started = Instant::now();
    let redis = RedisServer::start();
    let settings = || GovernorSettings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            shutdown_grace: Duration::from_secs(5),
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    };
    let addr = free_addr();
    let governor = Service::governor_at(settings(), addr).await;
    let mut admin = QuotaGovernorClient::new(governor.channel().await);
    set_budget(&mut admin, "acme", ALLOCATION).await;

    let phase = Phase::new(ALLOCATION / 2);
    let tally = Arc::new(GrantTally::default());
    let codes = Codes::default();
    let load = acquire_load(addr, CLIENTS, &phase, &tally, &codes).await;
    assert!(
        reaches(|| tally.granted(), ALLOCATION / 4, PATIENCE).await,
        "the load did not get going"
    );

    phase.set(DURING);
    governor.shutdown().await;
    let before_stop = tally.granted();
    // The clients meet the stopped governor before it comes back.
    assert!(
        reaches(|| codes.total(), CLIENTS as u64, PATIENCE).await,
        "no call met the stopped governor"
    );
    phase.set(AFTER);
    let governor = Service::governor_at(settings(), addr).await;
    join_all(load, PATIENCE).await;

    let granted = tally.granted();
    let mut admin = QuotaGovernorClient::new(governor.channel().await);
    let used = used(&mut admin, "acme").await;
    println!(
        "governor restart: granted {granted} of {ALLOCATION} ({before_stop} before the stop, {} \
         during, {} after), Redis counted {used}; errors: {}; {:.1} s",
        tally.granted[DURING as usize].load(Ordering::SeqCst),
        tally.granted[AFTER as usize].load(Ordering::SeqCst),
        codes.summary(),
        started.elapsed().as_secs_f64()
    );
    codes.assert_retryable();
    assert!(granted <= ALLOCATION, "over-granted: {granted}");
    assert_denied_only_at_the_end(&tally, CLIENTS);
    assert_eq!(used, ALLOCATION);
    // A drain answers every call it took, and a call it did not take was
    // not decided: no token is counted without its grant being heard.
    assert_eq!(granted, ALLOCATION, "tokens counted but never granted");
    governor.shutdown().await;
}

// ---------------------------------------------------------------------------
// The sync-error service.
// ---------------------------------------------------------------------------

/// The two kinds of failure the loads report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    TooLong,
    Email,
}

impl Kind {
    fn error_type(self) -> tx::ErrorType {
        match self {
            Kind::TooLong => tx::ErrorType::StringTooLong,
            Kind::Email => tx::ErrorType::InvalidEmail,
        }
    }
}

fn failure(key: &str, record: &str, kind: Kind) -> pb::Failure {
    let (status_code, message, fields) = match kind {
        Kind::TooLong => (
            "STRING_TOO_LONG",
            "Description: data value too large: <<customer data>>  (max length=255): [Description]",
            vec!["Description".to_owned()],
        ),
        Kind::Email => ("INVALID_EMAIL_ADDRESS", "invalid email address: XX", vec![]),
    };
    pb::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: record.into(),
        salesforce_id: String::new(),
        direction: pb::Direction::ToSalesforce.into(),
        status_code: status_code.into(),
        message: message.into(),
        fields,
        occurred_at: None,
        ..Default::default()
    }
}

/// One acknowledged IngestErrors call: what it sent and what came back.
struct Acked {
    failures: Vec<pb::Failure>,
    results: Vec<pb::IngestResult>,
    /// Tries of the same batch refused before this one was acknowledged.
    refused: u32,
    /// The phase the acknowledged try was sent in.
    sent: u8,
    /// The phase the acknowledgement came in.
    phase: u8,
}

/// Starts `clients` tasks sending batches from `batch(client, n)` to the
/// service at `addr`, each batch again (same idempotency keys) after 20 ms
/// until it is acknowledged, until `stop` is set. Each returns its
/// acknowledged batches.
async fn ingest_load(
    addr: SocketAddr,
    clients: usize,
    batch: fn(usize, usize) -> Vec<pb::Failure>,
    phase: &Arc<AtomicU8>,
    stop: &Arc<AtomicBool>,
    acks: &Arc<[AtomicU64; 3]>,
    codes: &Codes,
) -> Vec<tokio::task::JoinHandle<Vec<Acked>>> {
    let mut tasks = Vec::new();
    for client in 0..clients {
        let mut c = SyncErrorsClient::new(syncgov_tests::channel(addr).await);
        let (phase, stop, acks, codes) = (phase.clone(), stop.clone(), acks.clone(), codes.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let failures = batch(client, n);
                let mut refused = 0;
                loop {
                    let sent = phase.load(Ordering::SeqCst);
                    let reply = c
                        .ingest_errors(pb::IngestErrorsRequest {
                            org_id: "acme".into(),
                            failures: failures.clone(),
                        })
                        .await;
                    match reply {
                        Ok(reply) => {
                            let at = phase.load(Ordering::SeqCst);
                            acks[at as usize].fetch_add(1, Ordering::SeqCst);
                            acked.push(Acked {
                                failures,
                                results: reply.into_inner().results,
                                refused,
                                sent,
                                phase: at,
                            });
                            break;
                        }
                        Err(status) => {
                            codes.record(&status);
                            refused += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
            acked
        }));
    }
    tasks
}

/// Every current error of the org, listed page by page.
async fn every_error(c: &mut SyncErrorsClient<Channel>, org: &str) -> Vec<pb::SyncError> {
    let mut errors = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_errors(pb::ListErrorsRequest {
                org_id: org.into(),
                filter: Some(pb::ErrorFilter::default()),
                page_size: 500,
                page_token: token,
            })
            .await
            .expect("ListErrors")
            .into_inner();
        errors.extend(page.errors);
        if page.next_page_token.is_empty() {
            return errors;
        }
        token = page.next_page_token;
    }
}

async fn sync_health(c: &mut SyncErrorsClient<Channel>, org: &str) -> pb::GetSyncHealthResponse {
    c.get_sync_health(pb::GetSyncHealthRequest { org_id: org.into() })
        .await
        .expect("GetSyncHealth")
        .into_inner()
}

/// The (current errors, impacted records) of `error_type` in `health`.
fn of_type(health: &pb::GetSyncHealthResponse, error_type: tx::ErrorType) -> (u64, u64) {
    health
        .categories
        .iter()
        .flat_map(|c| &c.types)
        .find(|t| t.r#type == error_type as i32)
        .map_or((0, 0), |t| (t.current_errors, t.impacted_records))
}

/// Checks that the org holds exactly the errors of `acked`, each counted
/// once: listed, counted in total and per type, and one occurrence each
/// (a batch sent again after a lost reply adds nothing). Returns how many.
async fn assert_exactly_acknowledged(c: &mut SyncErrorsClient<Channel>, acked: &[Acked]) -> usize {
    let mut expected: HashMap<String, Kind> = HashMap::new();
    let mut records: HashMap<Kind, HashSet<String>> = HashMap::new();
    for batch in acked {
        assert_eq!(batch.results.len(), batch.failures.len());
        for (sent, result) in batch.failures.iter().zip(&batch.results) {
            assert_eq!(result.idempotency_key, sent.idempotency_key);
            assert!(!result.error_id.is_empty(), "{result:?}");
            let kind = if sent.status_code == "STRING_TOO_LONG" {
                Kind::TooLong
            } else {
                Kind::Email
            };
            expected.insert(result.error_id.clone(), kind);
            records
                .entry(kind)
                .or_default()
                .insert(sent.crm_record_id.clone());
        }
    }
    let listed = every_error(c, "acme").await;
    let listed_ids: HashSet<&String> = listed.iter().map(|e| &e.error_id).collect();
    assert_eq!(listed_ids.len(), listed.len(), "an error was listed twice");
    let missing = expected
        .keys()
        .filter(|id| !listed_ids.contains(id))
        .count();
    assert_eq!(missing, 0, "acknowledged errors missing");
    assert_eq!(listed.len(), expected.len(), "errors nobody reported");
    let counted_twice: Vec<_> = listed.iter().filter(|e| e.occurrences != 1).collect();
    assert!(
        counted_twice.is_empty(),
        "{} errors have more than one occurrence, e.g. {:?}",
        counted_twice.len(),
        counted_twice.first()
    );
    let health = sync_health(c, "acme").await;
    let distinct: HashSet<&String> = records.values().flatten().collect();
    assert_eq!(
        (health.current_errors, health.impacted_records),
        (expected.len() as u64, distinct.len() as u64)
    );
    for kind in [Kind::TooLong, Kind::Email] {
        let records = records.get(&kind).map_or(0, HashSet::len) as u64;
        assert_eq!(
            of_type(&health, kind.error_type()),
            (records, records),
            "{kind:?}: one error per record"
        );
    }
    expected.len()
}

/// Checks that every batch was stored whole or not at all: one never
/// refused is new; one refused and sent again may have been stored by a try
/// whose reply was lost, and is then a duplicate as a whole. Returns how many
/// batches were sent again, and how many of those had been stored already.
fn assert_whole_batches(acked: &[Acked]) -> (usize, usize) {
    let (mut retried, mut stored_before) = (0, 0);
    for batch in acked {
        let duplicates = batch.results.iter().filter(|r| r.duplicate).count();
        if batch.refused == 0 {
            assert_eq!(duplicates, 0, "a batch sent once came back duplicate");
            continue;
        }
        retried += 1;
        assert!(
            duplicates == 0 || duplicates == batch.results.len(),
            "part of a batch was stored: {duplicates} of {}",
            batch.results.len()
        );
        if duplicates > 0 {
            stored_before += 1;
        }
    }
    (retried, stored_before)
}

/// Batch `n` of client `client` for the Redis fault: 5 failures on records
/// of their own, alternating the two kinds.
fn ingest_batch(client: usize, n: usize) -> Vec<pb::Failure> {
    (0..5)
        .map(|i| {
            let kind = if i % 2 == 0 {
                Kind::TooLong
            } else {
                Kind::Email
            };
            failure(
                &format!("k-{client}-{n}-{i}"),
                &format!("c-{client}-{n}-{i}"),
                kind,
            )
        })
        .collect()
}

/// Redis SIGKILLed under a stream of ingests: every acknowledged failure is
/// there after the restart, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_ingests_survive_kill_9_with_appendfsync_always() {
    const CLIENTS: usize = 4;
    let started = Instant::now();
    let mut redis = durable_redis().await;
    let settings = SyncErrorsSettings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            health_interval: outage::HEALTH_INTERVAL,
            redis_timeout: outage::REDIS_TIMEOUT,
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    };
    let service = Service::sync_errors(settings).await;
    let name = sync_errors::app::SERVICE_NAME;
    let mut admin = SyncErrorsClient::new(service.channel().await);

    let phase = Arc::new(AtomicU8::new(BEFORE));
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Arc<[AtomicU64; 3]> = Arc::default();
    let codes = Codes::default();
    let load = ingest_load(
        service.addr(),
        CLIENTS,
        ingest_batch,
        &phase,
        &stop,
        &acks,
        &codes,
    )
    .await;
    let acked = |at: u8| acks[at as usize].load(Ordering::SeqCst);
    assert!(
        reaches(|| acked(BEFORE), 40, PATIENCE).await,
        "the load did not get going"
    );

    let mut outage = RedisOutage::new(&mut redis, service.addr(), name);
    outage.kill();
    // Marked once Redis is dead: a batch sent from here on cannot be
    // stored until it is back.
    phase.store(DURING, Ordering::SeqCst);
    outage.until_not_serving().await;
    assert!(
        reaches(
            || codes.total(),
            4 * CLIENTS as u64,
            Duration::from_secs(10)
        )
        .await,
        "the load stopped during the outage"
    );
    phase.store(AFTER, Ordering::SeqCst);
    outage.restart();
    fsync_every_write(outage.redis()).await;
    outage.until_serving().await;
    assert!(
        reaches(
            || acked(AFTER),
            10 * CLIENTS as u64,
            Duration::from_secs(10)
        )
        .await,
        "the load did not come back"
    );
    stop.store(true, Ordering::SeqCst);
    let acked: Vec<Acked> = join_all(load, PATIENCE)
        .await
        .into_iter()
        .flatten()
        .collect();

    codes.assert_only(&[Code::Unavailable]);
    assert!(codes.count(Code::Unavailable) > 0);
    assert!(
        acked.iter().all(|b| b.sent != DURING || b.phase != DURING),
        "a batch was acknowledged while Redis was away"
    );
    let (retried, stored_before) = assert_whole_batches(&acked);
    let stored = assert_exactly_acknowledged(&mut admin, &acked).await;

    // The idempotency keys survived the kill as well: the batches
    // acknowledged before it, sent again, are recognised.
    let mut again = 0;
    for batch in acked.iter().filter(|b| b.phase == BEFORE) {
        let results = admin
            .ingest_errors(pb::IngestErrorsRequest {
                org_id: "acme".into(),
                failures: batch.failures.clone(),
            })
            .await
            .expect("IngestErrors")
            .into_inner()
            .results;
        assert!(results.iter().all(|r| r.duplicate), "{results:?}");
        again += 1;
    }
    assert_eq!(
        sync_health(&mut admin, "acme").await.current_errors as usize,
        stored
    );
    println!(
        "ingest under redis kill: {} batches acknowledged ({} before the kill, {} after), {stored} \
         errors stored; {retried} batches refused and sent again, {stored_before} of them stored \
         by a lost try; {again} early batches sent again: all duplicates; errors: {}; {:.1} s",
        acked.len(),
        acked.iter().filter(|b| b.phase == BEFORE).count(),
        acked.iter().filter(|b| b.phase == AFTER).count(),
        codes.summary(),
        started.elapsed().as_secs_f64()
    );
}

async fn claim(
    c: &mut SyncErrorsClient<Channel>,
    worker: &str,
    max: u32,
    visibility: Duration,
) -> Vec<pb::ResyncJob> {
    c.claim_resync_jobs(pb::ClaimResyncJobsRequest {
        worker_id: worker.into(),
        max_jobs: max,
        visibility_timeout: Some(prost_types::Duration::try_from(visibility).unwrap()),
    })
    .await
    .expect("ClaimResyncJobs")
    .into_inner()
    .jobs
}

/// A timestamp in ms since the epoch.
fn ms(at: Option<&prost_types::Timestamp>) -> i64 {
    let at = at.expect("a timestamp");
    at.seconds * 1_000 + i64::from(at.nanos) / 1_000_000
}

async fn complete(
    c: &mut SyncErrorsClient<Channel>,
    job: &pb::ResyncJob,
) -> Result<pb::CompleteResyncJobResponse, tonic::Status> {
    c.complete_resync_job(pb::CompleteResyncJobRequest {
        job_id: job.job_id.clone(),
        lease_id: job.lease_id.clone(),
        outcome: Some(pb::complete_resync_job_request::Outcome::Success(true)),
    })
    .await
    .map(|r| r.into_inner())
}

/// A worker that claims every resync job and dies: its unfinished jobs go,
/// once its lease lapses, to the live workers, each to exactly one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_resync_jobs_are_redelivered() {
    const ERRORS: usize = 150;
    const DONE_BEFORE_DYING: usize = 10;
    const LEASE: Duration = Duration::from_secs(2);
    const LIVE_LEASE: Duration = Duration::from_secs(60);
    let started = Instant::now();
    let redis = RedisServer::start();
    let service = Service::sync_errors(SyncErrorsSettings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    })
    .await;
    let mut admin = SyncErrorsClient::new(service.channel().await);
    let failures = (0..ERRORS)
        .map(|i| failure(&format!("k{i}"), &format!("c{i}"), Kind::TooLong))
        .collect();
    let ids: Vec<String> = admin
        .ingest_errors(pb::IngestErrorsRequest {
            org_id: "acme".into(),
            failures,
        })
        .await
        .expect("IngestErrors")
        .into_inner()
        .results
        .into_iter()
        .map(|r| r.error_id)
        .collect();
    for chunk in ids.chunks(100) {
        let queued = admin
            .resync_errors(pb::ResyncErrorsRequest {
                org_id: "acme".into(),
                error_ids: chunk.to_vec(),
            })
            .await
            .expect("ResyncErrors")
            .into_inner()
            .results;
        assert!(queued.iter().all(|q| !q.job_id.is_empty()), "{queued:?}");
    }

    // Worker 1 claims every job, does a few, and dies: its channel closes
    // with its leases still running. The jobs it does are claimed with a
    // lease long enough to do them however slow the machine; the others
    // with a short one, which lapses once w1 is gone.
    let mut w1 = SyncErrorsClient::new(service.channel().await);
    let mut held = claim(&mut w1, "w1", DONE_BEFORE_DYING as u32, LIVE_LEASE).await;
    assert_eq!(held.len(), DONE_BEFORE_DYING);
    loop {
        let jobs = claim(&mut w1, "w1", 100, LEASE).await;
        if jobs.is_empty() {
            break;
        }
        held.extend(jobs);
    }
    assert_eq!(held.len(), ERRORS, "w1 claimed every job");
    for job in &held[..DONE_BEFORE_DYING] {
        assert_eq!(
            complete(&mut w1, job).await.expect("w1 completes").state,
            pb::ErrorState::Resolved as i32
        );
    }
    drop(w1);
    let done_by_w1: HashSet<String> = held[..DONE_BEFORE_DYING]
        .iter()
        .map(|j| j.job_id.clone())
        .collect();
    let orphaned: HashSet<String> = held[DONE_BEFORE_DYING..]
        .iter()
        .map(|j| j.job_id.clone())
        .collect();

    // When each of w1's claims lapses, on the store's clock.
    let lapses: HashMap<String, i64> = held
        .iter()
        .map(|j| (j.job_id.clone(), ms(j.visible_again_at.as_ref())))
        .collect();

    // Two live workers claim with long leases until every orphan is done.
    let finished = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in ["w2", "w3"] {
        let mut c = SyncErrorsClient::new(service.channel().await);
        let finished = finished.clone();
        let total = orphaned.len() as u64;
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            while finished.load(Ordering::SeqCst) < total {
                let jobs = claim(&mut c, w, 7, LIVE_LEASE).await;
                if jobs.is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                for job in jobs {
                    let reply = complete(&mut c, &job)
                        .await
                        .expect("a live worker completes");
                    assert_eq!(reply.state, pb::ErrorState::Resolved as i32);
                    finished.fetch_add(1, Ordering::SeqCst);
                    done.push(job);
                }
            }
            done
        }));
    }
    let done = join_all(workers, PATIENCE).await;

    // A claim's lapse less its visibility timeout is when it was made, on
    // the store's clock: no job went to a live worker before w1's claim of
    // it lapsed, so never to two workers at once.
    for job in done.iter().flatten() {
        let claimed = ms(job.visible_again_at.as_ref()) - LIVE_LEASE.as_millis() as i64;
        let lapsed = lapses[&job.job_id];
        assert!(
            claimed >= lapsed,
            "{} went to a live worker {} ms before w1's lease lapsed",
            job.job_id,
            lapsed - claimed
        );
    }
    let ids_of = |jobs: &[pb::ResyncJob]| -> HashSet<String> {
        jobs.iter().map(|j| j.job_id.clone()).collect()
    };
    let (w2, w3) = (ids_of(&done[0]), ids_of(&done[1]));
    assert_eq!(w2.len(), done[0].len(), "w2 got a job twice");
    assert_eq!(w3.len(), done[1].len(), "w3 got a job twice");
    assert!(
        w2.is_disjoint(&w3),
        "live workers shared {} jobs",
        w2.intersection(&w3).count()
    );
    let redelivered: HashSet<String> = w2.union(&w3).cloned().collect();
    assert!(
        redelivered.is_disjoint(&done_by_w1),
        "a completed job came back"
    );
    assert_eq!(redelivered, orphaned, "every unfinished job came back");
    assert!(
        done.iter().flatten().all(|j| j.attempt == 2),
        "redelivered jobs are second attempts"
    );
    // The dead worker's leases are void: had it only stalled, its late
    // completions could not overwrite the live workers' outcomes.
    let mut late = SyncErrorsClient::new(service.channel().await);
    for job in &held[DONE_BEFORE_DYING..DONE_BEFORE_DYING + 5] {
        let err = complete(&mut late, job).await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    }
    assert!(claim(&mut admin, "w4", 100, LEASE).await.is_empty());
    assert_eq!(sync_health(&mut admin, "acme").await.current_errors, 0);
    println!(
        "resync: w1 claimed {ERRORS} and did {DONE_BEFORE_DYING}; w2 did {}, w3 did {} of the {} \
         orphans, none twice; {:.1} s",
        w2.len(),
        w3.len(),
        orphaned.len(),
        started.elapsed().as_secs_f64()
    );
}

/// A sync-error service on a chosen address, so that it can be stopped and
/// started again where its clients look for it.
struct Served {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    async fn sync_errors(settings: SyncErrorsSettings, addr: SocketAddr) -> Self {
        syncgov_kit::telemetry::init_for_tests();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the service's address");
        let app =
            sync_errors::app::build_with_listener(settings, listener).expect("sync-errors builds");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async move {
            let _ = stopped.await;
        }));
        Self { stop, task }
    }

    /// Stops it as SIGTERM would (stop accepting, drain the calls under way)
    /// and waits until it has stopped.
    async fn shutdown(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("the server task")
            .expect("the server stops cleanly");
    }
}

/// Batch `n` of client `client` for the restart: 4 failures on records of
/// their own, every record too long and every other one an invalid email
/// as well, so that the two types share records.
fn restart_batch(client: usize, n: usize) -> Vec<pb::Failure> {
    let mut batch = Vec::new();
    for i in 0..2 {
        let record = format!("c-{client}-{n}-{i}");
        batch.push(failure(&format!("{record}-long"), &record, Kind::TooLong));
        if i == 0 {
            batch.push(failure(&format!("{record}-email"), &record, Kind::Email));
        }
    }
    batch
}

/// The sync-error service restarted under load: calls succeed or fail
/// retryably, and the counts are exactly the acknowledged failures'.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_restarted_during_load_leaves_nothing_half_written() {
    const CLIENTS: usize = 6;
    let started = Instant::now();
    let redis = RedisServer::start();
    let settings = || SyncErrorsSettings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            shutdown_grace: Duration::from_secs(5),
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    };
    let addr = free_addr();
    let service = Served::sync_errors(settings(), addr).await;

    let phase = Arc::new(AtomicU8::new(BEFORE));
    let stop = Arc::new(AtomicBool::new(false));
    let acks: Arc<[AtomicU64; 3]> = Arc::default();
    let codes = Codes::default();
    let load = ingest_load(addr, CLIENTS, restart_batch, &phase, &stop, &acks, &codes).await;
    let acked = |at: u8| acks[at as usize].load(Ordering::SeqCst);
    assert!(
        reaches(|| acked(BEFORE), 60, PATIENCE).await,
        "the load did not get going"
    );

    phase.store(DURING, Ordering::SeqCst);
    service.shutdown().await;
    assert!(
        reaches(|| codes.total(), CLIENTS as u64, PATIENCE).await,
        "no call met the stopped service"
    );
    phase.store(AFTER, Ordering::SeqCst);
    let service = Served::sync_errors(settings(), addr).await;
    assert!(
        reaches(
            || acked(AFTER),
            10 * CLIENTS as u64,
            Duration::from_secs(10)
        )
        .await,
        "the load did not come back"
    );
    stop.store(true, Ordering::SeqCst);
    let acked: Vec<Acked> = join_all(load, PATIENCE)
        .await
        .into_iter()
        .flatten()
        .collect();

    codes.assert_retryable();
    let mut admin = SyncErrorsClient::new(syncgov_tests::channel(addr).await);
    let stored = assert_exactly_acknowledged(&mut admin, &acked).await;
    let (retried, stored_before) = assert_whole_batches(&acked);
    println!(
        "sync-errors restart: {} batches acknowledged ({} before the stop, {} during, {} after), \
         {stored} errors stored; {retried} batches refused and sent again, {stored_before} of \
         them stored by a lost try; errors: {}; {:.1} s",
        acked.len(),
        acked.iter().filter(|b| b.phase == BEFORE).count(),
        acked.iter().filter(|b| b.phase == DURING).count(),
        acked.iter().filter(|b| b.phase == AFTER).count(),
        codes.summary(),
        started.elapsed().as_secs_f64()
    );
    // A drain answers every call it took: no batch was stored by a try whose
    // caller heard only an error.
    assert_eq!(stored_before, 0, "a batch was stored but its reply lost");
    service.shutdown().await;
}
