//! The quota governor over real gRPC: one behaviour suite run against the
//! embedded store, a real `redis-server` and a local Redis Cluster, then what
//! only Redis can show (replicas sharing budgets, real-time expiry, outages, footprint).

use std::time::{Duration, Instant};

use prost_types::Timestamp;
use quota_governor::config::{DefaultBudget, RedisUrl, Settings};
use quota_governor::domain::Budget;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::cluster::ClusterLease;
use syncgov_tests::{Process, RedisServer, Service, eventually, health, health_becomes};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

/// Where the governor under test keeps its budgets.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    Redis,
    /// A Redis Cluster of 3 masters, shared with other tests one at a time.
    Cluster,
}

/// A governor on `backend`, with the Redis it uses (if any).
struct Env {
    governor: Service,
    client: QuotaGovernorClient<Channel>,
    _redis: Option<RedisServer>,
    _cluster: Option<ClusterLease>,
}

impl Env {
    async fn start(backend: Backend, settings: Settings) -> Self {
        let (settings, redis, cluster) = match backend {
            Backend::Memory => (settings, None, None),
            Backend::Redis => {
                let redis = RedisServer::start();
                let url: RedisUrl = redis.url().parse().unwrap();
                // The suite runs the batched decision path; the others run
                // one script call per decision.
                (
                    Settings {
                        redis_url: Some(url),
                        coalesce: true,
                        ..settings
                    },
                    Some(redis),
                    None,
                )
            }
            Backend::Cluster => {
                let cluster = syncgov_tests::cluster::lease();
                let nodes = cluster.seeds().iter().map(|s| s.parse().unwrap()).collect();
                (
                    Settings {
                        redis_cluster_nodes: nodes,
                        coalesce: true,
                        ..settings
                    },
                    None,
                    Some(cluster),
                )
            }
        };
        let governor = Service::governor(settings).await;
        let client = QuotaGovernorClient::new(governor.channel().await);
        Self {
            governor,
            client,
            _redis: redis,
            _cluster: cluster,
        }
    }
}

fn budget(org_limit: u64, allocation: u64) -> pb::Budget {
    pb::Budget {
        org_limit,
        allocation,
        ..Default::default()
    }
}

async fn set_budget(client: &mut QuotaGovernorClient<Channel>, org: &str, budget: pb::Budget) {
    client
        .set_budget(pb::SetBudgetRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            budget: Some(budget),
        })
        .await
        .expect("set the budget");
}

async fn acquire(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    count: u64,
    priority: pb::Priority,
) -> pb::AcquireTokensResponse {
    client
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            count,
            priority: priority.into(),
            client_id: "worker-1".into(),
            min_count: 0,
        })
        .await
        .expect("AcquireTokens answers")
        .into_inner()
}

async fn usage(client: &mut QuotaGovernorClient<Channel>, org: &str) -> pb::GetUsageResponse {
    client
        .get_usage(pb::GetUsageRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
        })
        .await
        .expect("GetUsage answers")
        .into_inner()
}

fn denied_for(reply: &pb::AcquireTokensResponse) -> pb::DenyReason {
    assert!(!reply.granted, "expected a denial, got {reply:?}");
    reply.deny_reason()
}

fn secs(d: &prost_types::Duration) -> f64 {
    d.seconds as f64 + f64::from(d.nanos) / 1e9
}

// ---------------------------------------------------------------------------
// The behaviour suite: every test runs on every store (memory, one Redis, a
// Redis Cluster).
// ---------------------------------------------------------------------------

macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Memory).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Redis).await })*
        }
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Cluster).await })*
        }
    };
}

on_every_store!(
    budgets_are_set_read_and_deleted,
    a_grant_is_all_or_nothing,
    each_priority_stops_at_its_share,
    an_org_without_a_budget_is_unknown,
    the_default_budget_covers_orgs_without_one,
    a_denial_says_when_to_retry,
    a_request_larger_than_the_allocation_gets_no_retry_after,
    released_tokens_return_to_their_grant_only,
    a_stream_of_requests_is_answered_in_order,
    tasks_share_one_decision_stream,
    a_lease_takes_what_fits_and_hands_back_the_rest,
    usage_reports_the_window_and_a_chart,
    an_override_raises_the_allocation_until_it_expires,
    resources_are_budgeted_apart,
    deleting_a_budget_frees_no_calls,
    bad_input_names_the_field,
    org_usage_reports_stop_grants_short_of_the_org_limit,
    the_org_limit_follows_the_reports,
    org_usage_reports_refuse_bad_input,
    a_suspension_denies_tokens_until_cleared,
    suspension_events_stream_in_order_and_resume_from_a_cursor,
    suspension_calls_refuse_bad_input,
    a_transient_suspension_is_probed_and_ends_by_itself,
    an_operator_suspension_lets_no_probe_through,
    envoy_rate_limit_requests_spend_the_same_budget,
    envoy_descriptors_without_a_budget_follow_the_setting,
);

async fn budgets_are_set_read_and_deleted(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let reply = c
        .set_budget(pb::SetBudgetRequest {
            org_id: "acme".into(),
            resource: pb::Resource::ApiRequests.into(),
            budget: Some(budget(100_000, 40_000)),
        })
        .await
        .unwrap()
        .into_inner();
    let stored = reply.budget.unwrap();
    let shares = stored.shares.unwrap();
    assert_eq!(
        (
            shares.retry_percent,
            shares.normal_percent,
            shares.critical_percent
        ),
        (75, 95, 100)
    );

    let read = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            resource: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.budget.unwrap(), stored);
    assert!(!read.is_default);

    let delete = |c: &mut QuotaGovernorClient<Channel>| {
        let mut c = c.clone();
        async move {
            c.delete_budget(pb::DeleteBudgetRequest {
                org_id: "acme".into(),
                resource: 1,
            })
            .await
            .unwrap()
            .into_inner()
            .deleted
        }
    };
    assert!(delete(c).await);
    assert!(!delete(c).await, "a second delete finds nothing");
    let err = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            resource: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    env.governor.shutdown().await;
}

async fn a_grant_is_all_or_nothing(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 10)).await;
    let first = acquire(c, "acme", 7, pb::Priority::Critical).await;
    assert!(first.granted);
    assert_eq!((first.used, first.allocation, first.remaining), (7, 10, 3));
    assert!(!first.grant_id.is_empty());

    let too_many = acquire(c, "acme", 4, pb::Priority::Critical).await;
    assert_eq!(denied_for(&too_many), pb::DenyReason::AllocationExhausted);
    assert_eq!(
        (too_many.used, too_many.remaining),
        (7, 3),
        "a denial counts nothing"
    );
    assert!(too_many.grant_id.is_empty());

    assert!(acquire(c, "acme", 3, pb::Priority::Critical).await.granted);
    assert_eq!(usage(c, "acme").await.used, 10);
}

async fn each_priority_stops_at_its_share(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(1_000, 100)).await;
    assert!(acquire(c, "acme", 75, pb::Priority::Retry).await.granted);
    let retry = acquire(c, "acme", 1, pb::Priority::Retry).await;
    assert_eq!(denied_for(&retry), pb::DenyReason::PriorityShareExhausted);
    assert_eq!(retry.remaining, 0);

    // Unspecified priority is normal: up to 95.
    assert!(
        acquire(c, "acme", 20, pb::Priority::Unspecified)
            .await
            .granted
    );
    let normal = acquire(c, "acme", 1, pb::Priority::Normal).await;
    assert_eq!(denied_for(&normal), pb::DenyReason::PriorityShareExhausted);

    assert!(acquire(c, "acme", 5, pb::Priority::Critical).await.granted);
    let critical = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&critical), pb::DenyReason::AllocationExhausted);

    let u = usage(c, "acme").await;
    let remaining: Vec<(i32, u64, u64)> = u
        .remaining
        .iter()
        .map(|r| (r.priority, r.limit, r.remaining))
        .collect();
    assert_eq!(remaining, vec![(1, 75, 0), (2, 95, 0), (3, 100, 0)]);
}

async fn an_org_without_a_budget_is_unknown(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let reply = acquire(c, "nobody", 1, pb::Priority::Normal).await;
    assert_eq!(denied_for(&reply), pb::DenyReason::UnknownOrg);
    assert!(
        reply.retry_after.is_none(),
        "waiting does not make an org known"
    );
    let err = c
        .get_usage(pb::GetUsageRequest {
            org_id: "nobody".into(),
            resource: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert!(err.message().starts_with("org_id:"), "{}", err.message());
}

async fn the_default_budget_covers_orgs_without_one(backend: Backend) {
    let settings = Settings {
        default_budget: Some(DefaultBudget(Budget::new(10, 5))),
        ..Settings::default()
    };
    let mut env = Env::start(backend, settings).await;
    let c = &mut env.client;
    assert!(
        acquire(c, "newcomer", 5, pb::Priority::Critical)
            .await
            .granted
    );
    assert_eq!(
        denied_for(&acquire(c, "newcomer", 1, pb::Priority::Critical).await),
        pb::DenyReason::AllocationExhausted
    );
    let read = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "newcomer".into(),
            resource: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.is_default);
    assert_eq!(read.budget.unwrap().allocation, 5);
    let u = usage(c, "newcomer").await;
    assert!(u.is_default_budget);
    assert_eq!(u.used, 5);

    // An org's own budget wins over the default.
    set_budget(c, "own", budget(100, 50)).await;
    assert!(acquire(c, "own", 50, pb::Priority::Critical).await.granted);
}

async fn a_denial_says_when_to_retry(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 3)).await;
    let started = Instant::now();
    assert!(acquire(c, "acme", 3, pb::Priority::Critical).await.granted);
    let denied = acquire(c, "acme", 1, pb::Priority::Critical).await;
    let elapsed = started.elapsed().as_secs_f64();
    let retry_after = secs(denied.retry_after.as_ref().expect("a retry_after"));
    // Never early: not before a whole window has passed since the grant.
    assert!(
        retry_after >= 86_400.0 - elapsed,
        "retry_after {retry_after}"
    );
    // At most one bucket late.
    assert!(retry_after <= 86_460.0, "retry_after {retry_after}");
}

async fn a_request_larger_than_the_allocation_gets_no_retry_after(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 10)).await;
    let reply = acquire(c, "acme", 11, pb::Priority::Critical).await;
    assert_eq!(denied_for(&reply), pb::DenyReason::AllocationExhausted);
    assert!(reply.retry_after.is_none());
    let retry = acquire(c, "acme", 8, pb::Priority::Retry).await;
    assert_eq!(denied_for(&retry), pb::DenyReason::PriorityShareExhausted);
    assert!(retry.retry_after.is_none(), "8 > 75 % of 10 can never fit");
}

async fn released_tokens_return_to_their_grant_only(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 20)).await;
    let grant = acquire(c, "acme", 10, pb::Priority::Critical).await;
    let release = |count: u64, grant_id: String| {
        let mut c = c.clone();
        async move {
            c.release_tokens(pb::ReleaseTokensRequest {
                org_id: "acme".into(),
                resource: 0,
                count,
                grant_id,
            })
            .await
        }
    };
    let r = release(4, grant.grant_id.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.released, r.used), (4, 6));
    // A grant is handed back once: the same release sent again (a retry
    // after a lost reply) takes nothing more off the window.
    for _ in 0..2 {
        let r = release(4, grant.grant_id.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!((r.released, r.used), (0, 6), "released twice");
    }
    // More than the grant: capped by the grant's count.
    let second = acquire(&mut c.clone(), "acme", 5, pb::Priority::Critical).await;
    assert_ne!(
        second.grant_id, grant.grant_id,
        "every grant has its own id"
    );
    let r = release(50, second.grant_id.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.released, r.used), (5, 6));
    // Ids of earlier versions (`g1.`, no nonce) are still taken, without
    // the once-only guard; never below zero.
    let parts: Vec<&str> = grant.grant_id.split('.').collect();
    assert_eq!(parts[0], "g2", "{}", grant.grant_id);
    let old = format!("g1.{}.{}", parts[1], parts[2]);
    let r = release(50, old.clone()).await.unwrap().into_inner();
    assert_eq!((r.released, r.used), (6, 0));
    let r = release(1, old).await.unwrap().into_inner();
    assert_eq!((r.released, r.used), (0, 0), "never below zero");
    let err = release(1, "not-a-grant".into()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("grant_id:"), "{}", err.message());
    assert!(acquire(c, "acme", 20, pb::Priority::Critical).await.granted);
}

/// `requests` sent on one `AcquireTokensStream`: the replies, then how the
/// stream ended (`None`: cleanly).
async fn stream_of(
    client: &mut QuotaGovernorClient<Channel>,
    requests: Vec<pb::AcquireTokensRequest>,
) -> (Vec<pb::AcquireTokensResponse>, Option<tonic::Status>) {
    let messages = requests
        .into_iter()
        .map(|request| pb::AcquireTokensStreamRequest {
            request: Some(request),
        });
    let mut replies = client
        .acquire_tokens_stream(tokio_stream::iter(messages))
        .await
        .expect("the stream opens")
        .into_inner();
    let mut answered = Vec::new();
    loop {
        match replies.message().await {
            Ok(Some(reply)) => answered.push(reply.response.expect("a response in every reply")),
            Ok(None) => return (answered, None),
            Err(status) => return (answered, Some(status)),
        }
    }
}

async fn a_stream_of_requests_is_answered_in_order(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 20)).await;
    let ask = |org: &str| pb::AcquireTokensRequest {
        org_id: org.into(),
        count: 1,
        priority: pb::Priority::Critical.into(),
        ..Default::default()
    };
    // acme has a budget, nobody has none: the replies say which was which.
    let requests: Vec<_> = (0..50)
        .map(|i| ask(if i % 2 == 0 { "acme" } else { "nobody" }))
        .collect();
    let (replies, end) = stream_of(c, requests).await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(replies.len(), 50);
    for (i, reply) in replies.iter().enumerate() {
        if i % 2 == 1 {
            assert_eq!(denied_for(reply), pb::DenyReason::UnknownOrg, "reply {i}");
        }
    }
    let granted = replies.iter().filter(|r| r.granted).count();
    assert_eq!(granted, 20, "exactly the allocation of acme's 25 requests");
    assert!(
        replies
            .iter()
            .filter(|r| r.granted)
            .all(|r| r.grant_id.starts_with("g2."))
    );
    assert_eq!(usage(c, "acme").await.used, 20);

    // A request the unary call would refuse ends the stream with its
    // status, after the replies before it.
    set_budget(c, "globex", budget(100, 20)).await;
    let bad = pb::AcquireTokensRequest {
        count: 0,
        ..ask("globex")
    };
    let (replies, end) = stream_of(c, vec![ask("globex"), ask("globex"), bad, ask("globex")]).await;
    let end = end.expect("the bad request ends the stream");
    assert_eq!(end.code(), Code::InvalidArgument);
    assert!(end.message().starts_with("count:"), "{}", end.message());
    assert_eq!(replies.len(), 2);
    assert!(replies.iter().all(|r| r.granted));
}

async fn tasks_share_one_decision_stream(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(1_000, 100)).await;
    let stream = syncgov_client::DecisionStream::open(c.clone())
        .await
        .expect("the stream opens");
    let ask = |count: u64| pb::AcquireTokensRequest {
        org_id: "acme".into(),
        count,
        priority: pb::Priority::Critical.into(),
        ..Default::default()
    };
    // 16 tasks asking 10 times each for 100 tokens: exactly 100 granted.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let stream = stream.clone();
        tasks.push(tokio::spawn(async move {
            let mut granted = 0;
            for _ in 0..10 {
                let reply = stream.decide(ask(1)).await.expect("a reply");
                if reply.granted {
                    granted += 1;
                } else {
                    // Exhausted, and then suspended until calls leave.
                    let reason = reply.deny_reason();
                    assert!(
                        matches!(
                            reason,
                            pb::DenyReason::AllocationExhausted | pb::DenyReason::Suspended
                        ),
                        "{reason:?}"
                    );
                }
            }
            granted
        }));
    }
    let mut granted = 0;
    for task in tasks {
        granted += task.await.unwrap();
    }
    assert_eq!(granted, 100);
    assert_eq!(usage(c, "acme").await.used, 100);
    // A refused request ends the stream: its caller hears why, later ones
    // that the stream is gone.
    let refused = stream.decide(ask(0)).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("count:"),
        "{}",
        refused.message()
    );
    let after = stream.decide(ask(1)).await.unwrap_err();
    assert_eq!(after.code(), Code::Unavailable);
}

async fn lease(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    min_count: u64,
    count: u64,
) -> pb::AcquireTokensResponse {
    client
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: org.into(),
            count,
            min_count,
            priority: pb::Priority::Critical.into(),
            ..Default::default()
        })
        .await
        .expect("AcquireTokens answers")
        .into_inner()
}

async fn release(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    grant_id: &str,
    count: u64,
) -> pb::ReleaseTokensResponse {
    client
        .release_tokens(pb::ReleaseTokensRequest {
            org_id: org.into(),
            resource: 0,
            count,
            grant_id: grant_id.into(),
        })
        .await
        .expect("ReleaseTokens answers")
        .into_inner()
}

async fn a_lease_takes_what_fits_and_hands_back_the_rest(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(1_000, 100)).await;
    let first = lease(c, "acme", 1, 60).await;
    assert!(first.granted);
    assert_eq!((first.granted_count, first.used), (60, 60));
    // 40 are left: all or nothing gets none of them.
    let all = acquire(c, "acme", 60, pb::Priority::Critical).await;
    assert_eq!(denied_for(&all), pb::DenyReason::AllocationExhausted);
    // The worker spent 25 of its lease and hands back the other 35.
    let back = release(c, "acme", &first.grant_id, 35).await;
    assert_eq!((back.released, back.used), (35, 25));
    // A lease that cannot have its minimum takes nothing...
    let short = lease(c, "acme", 80, 90).await;
    assert_eq!(denied_for(&short), pb::DenyReason::AllocationExhausted);
    assert_eq!(short.granted_count, 0);
    assert!(short.retry_after.is_some());
    assert_eq!(usage(c, "acme").await.used, 25);
    // ...one that can takes all there is, up to its count.
    let second = lease(c, "acme", 10, 90).await;
    assert_eq!(
        (second.granted_count, second.used, second.remaining),
        (75, 100, 0)
    );
    assert_eq!(usage(c, "acme").await.used, 100);
    // All or nothing says how many it granted too.
    set_budget(c, "other", budget(1_000, 100)).await;
    let exact = acquire(c, "other", 7, pb::Priority::Critical).await;
    assert_eq!(exact.granted_count, 7);
}

async fn usage_reports_the_window_and_a_chart(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100_000, 50_000)).await;
    assert!(acquire(c, "acme", 120, pb::Priority::Normal).await.granted);
    assert!(acquire(c, "acme", 30, pb::Priority::Retry).await.granted);
    let u = usage(c, "acme").await;
    assert_eq!((u.used, u.allocation, u.org_limit), (150, 50_000, 100_000));
    assert_eq!(u.window.unwrap().seconds, 86_400);
    assert_eq!(u.series.len(), 24);
    assert_eq!(u.series.iter().map(|p| p.calls).sum::<u64>(), 150);
    let hour = |p: &pb::UsagePoint| p.start.as_ref().unwrap().seconds;
    assert!(
        u.series
            .windows(2)
            .all(|w| hour(&w[1]) - hour(&w[0]) == 3_600),
        "hourly slices"
    );
    assert_eq!(u.next_free_calls, 150);
    let as_of = u.as_of.unwrap().seconds;
    let next_free = u.next_free_at.unwrap().seconds;
    assert!(
        (86_400..=86_460).contains(&(next_free - as_of)),
        "{}",
        next_free - as_of
    );
}

async fn an_override_raises_the_allocation_until_it_expires(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let in_an_hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 3_600;
    let mut b = budget(100, 5);
    b.allocation_override = Some(pb::AllocationOverride {
        allocation: 8,
        expires_at: Some(Timestamp {
            seconds: in_an_hour,
            nanos: 0,
        }),
    });
    set_budget(c, "acme", b).await;
    let reply = acquire(c, "acme", 8, pb::Priority::Critical).await;
    assert!(reply.granted);
    assert_eq!(reply.allocation, 8);
    let read = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            resource: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        read.budget.unwrap().allocation_override,
        b.allocation_override
    );

    // An override that already ended is refused.
    b.allocation_override.as_mut().unwrap().expires_at = Some(Timestamp {
        seconds: 1,
        nanos: 0,
    });
    let err = c
        .set_budget(pb::SetBudgetRequest {
            org_id: "acme".into(),
            resource: 0,
            budget: Some(b),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message()
            .starts_with("budget.allocation_override.expires_at:"),
        "{}",
        err.message()
    );
}

async fn resources_are_budgeted_apart(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 10)).await;
    let bulk = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            resource: pb::Resource::BulkBatches.into(),
            count: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(denied_for(&bulk), pb::DenyReason::UnknownOrg);
    c.set_budget(pb::SetBudgetRequest {
        org_id: "acme".into(),
        resource: pb::Resource::BulkBatches.into(),
        budget: Some(budget(15_000, 2)),
    })
    .await
    .unwrap();
    let bulk = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            resource: pb::Resource::BulkBatches.into(),
            count: 2,
            priority: pb::Priority::Critical.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(bulk.granted);
    assert_eq!(
        usage(c, "acme").await.used,
        0,
        "bulk batches do not count as API requests"
    );
}

async fn deleting_a_budget_frees_no_calls(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 10)).await;
    assert!(acquire(c, "acme", 10, pb::Priority::Critical).await.granted);
    c.delete_budget(pb::DeleteBudgetRequest {
        org_id: "acme".into(),
        resource: 0,
    })
    .await
    .unwrap();
    set_budget(c, "acme", budget(100, 10)).await;
    let reply = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&reply), pb::DenyReason::AllocationExhausted);
}

async fn bad_input_names_the_field(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 10)).await;
    let acquire_with = |org_id: &str, count: u64, resource: i32, priority: i32, client_id: &str| {
        pb::AcquireTokensRequest {
            org_id: org_id.into(),
            resource,
            count,
            priority,
            client_id: client_id.into(),
            min_count: 0,
        }
    };
    let long = "x".repeat(65);
    let cases = [
        (acquire_with("", 1, 1, 2, ""), "org_id"),
        (acquire_with(&long, 1, 1, 2, ""), "org_id"),
        (acquire_with("acme\n", 1, 1, 2, ""), "org_id"),
        (acquire_with("ac{me}", 1, 1, 2, ""), "org_id"),
        (acquire_with("acme", 0, 1, 2, ""), "count"),
        (acquire_with("acme", 1_000_001, 1, 2, ""), "count"),
        (acquire_with("acme", 1, 42, 2, ""), "resource"),
        (acquire_with("acme", 1, 1, 9, ""), "priority"),
        (acquire_with("acme", 1, 1, 2, "bad\u{7}id"), "client_id"),
        (
            pb::AcquireTokensRequest {
                min_count: 2,
                ..acquire_with("acme", 1, 1, 2, "")
            },
            "min_count",
        ),
    ];
    for (request, field) in cases {
        let err = c.acquire_tokens(request.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{request:?}");
        assert!(
            err.message().starts_with(&format!("{field}:")),
            "{request:?}: {}",
            err.message()
        );
    }

    let set = |budget: Option<pb::Budget>| pb::SetBudgetRequest {
        org_id: "acme".into(),
        resource: 1,
        budget,
    };
    let shares = |r, n, c| pb::Budget {
        shares: Some(pb::PriorityShares {
            retry_percent: r,
            normal_percent: n,
            critical_percent: c,
        }),
        ..budget(100, 10)
    };
    let cases = [
        (set(Some(budget(100, 101))), "budget.allocation"),
        (set(Some(budget(0, 0))), "budget.org_limit"),
        (set(Some(budget(2_000_000_000, 1))), "budget.org_limit"),
        (set(None), "budget"),
        (set(Some(shares(80, 70, 100))), "budget.shares"),
        (set(Some(shares(0, 70, 100))), "budget.shares.retry_percent"),
        (
            set(Some(shares(50, 70, 101))),
            "budget.shares.critical_percent",
        ),
    ];
    for (request, field) in cases {
        let err = c.set_budget(request.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{request:?}");
        assert!(
            err.message().starts_with(&format!("{field}:")),
            "{request:?}: {}",
            err.message()
        );
    }

    let err = c
        .release_tokens(pb::ReleaseTokensRequest {
            org_id: "acme".into(),
            resource: 1,
            count: 0,
            grant_id: "g1.0.1".into(),
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("count:"), "{}", err.message());
    let err = c
        .get_usage(pb::GetUsageRequest {
            org_id: "".into(),
            resource: 1,
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("org_id:"), "{}", err.message());
    let err = c
        .delete_budget(pb::DeleteBudgetRequest {
            org_id: "acme".into(),
            resource: -1,
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("resource:"), "{}", err.message());
}

async fn report(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    limit_info: &str,
    observed_at: Option<Timestamp>,
) -> Result<pb::ReportOrgUsageResponse, tonic::Status> {
    c.report_org_usage(pb::ReportOrgUsageRequest {
        org_id: org.into(),
        resource: 0,
        limit_info: limit_info.into(),
        observed_at,
        ..Default::default()
    })
    .await
    .map(|r| r.into_inner())
}

async fn org_usage_reports_stop_grants_short_of_the_org_limit(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(5_000, 5_000)).await;
    assert!(acquire(c, "acme", 10, pb::Priority::Critical).await.granted);
    // Other apps used most of the org.
    let r = report(c, "acme", "api-usage=4880/5000", None)
        .await
        .unwrap();
    assert!(r.accepted);
    assert_eq!(
        (r.org_used_estimate, r.org_limit, r.org_ceiling),
        (4_890, 5_000, 4_900),
        "own grants count, errs high"
    );
    assert!(acquire(c, "acme", 10, pb::Priority::Critical).await.granted);
    let denied = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&denied), pb::DenyReason::OrgLimitExhausted);
    assert!(denied.retry_after.is_none());
    assert_eq!(denied.used, 20, "the integration itself has room");

    let u = usage(c, "acme").await;
    assert_eq!(u.org_used_estimate, 4_900);
    assert!(u.org_usage_reported_at.is_some());

    // A report from before the kept one changes nothing.
    let an_hour_ago = Timestamp {
        seconds: u.as_of.unwrap().seconds - 3_600,
        nanos: 0,
    };
    let stale = report(c, "acme", "api-usage=10/5000", Some(an_hour_ago))
        .await
        .unwrap();
    assert!(!stale.accepted);

    // The org at its limit suspends the integration until it has calls again.
    let suspended = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&suspended), pb::DenyReason::Suspended);
    assert_eq!(
        suspended.suspension_reason,
        tx::SuspensionReason::SalesforceApiLimitExceeded as i32
    );
    let mut events = c
        .watch_suspensions(pb::WatchSuspensionsRequest {
            org_id: "acme".into(),
            cursor: "0-0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        next_event(&mut events).await.kind,
        pb::SuspensionEventKind::Suspended as i32
    );

    // A fresh report with room: the suspension ends by itself, grants resume.
    assert!(
        report(c, "acme", "api-usage=1200/5000", None)
            .await
            .unwrap()
            .accepted
    );
    let cleared = next_event(&mut events).await;
    assert_eq!(
        (cleared.kind, cleared.automatic),
        (pb::SuspensionEventKind::Cleared as i32, true)
    );
    let resumed = eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            acquire(&mut c, "acme", 1, pb::Priority::Critical)
                .await
                .granted
        }
    })
    .await;
    assert!(resumed);
}

async fn the_org_limit_follows_the_reports(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(5_000, 4_000)).await;
    let r = c
        .report_org_usage(pb::ReportOrgUsageRequest {
            org_id: "acme".into(),
            used: 0,
            max: 3_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.org_limit, r.org_ceiling), (3_000, 2_940));
    let read = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            resource: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.budget.unwrap().org_limit, 3_000);
    let u = usage(c, "acme").await;
    assert_eq!(
        (u.org_limit, u.allocation),
        (3_000, 3_000),
        "the allocation cannot exceed the org's limit"
    );
}

async fn org_usage_reports_refuse_bad_input(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(5_000, 4_000)).await;
    let starts = |err: tonic::Status, field: &str| {
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().starts_with(&format!("{field}:")),
            "{field}: {}",
            err.message()
        );
    };
    starts(
        report(c, "acme", "api-usage=lots", None).await.unwrap_err(),
        "limit_info",
    );
    starts(
        report(c, "acme", "per-app-api-usage=1/2", None)
            .await
            .unwrap_err(),
        "limit_info",
    );
    let both = pb::ReportOrgUsageRequest {
        org_id: "acme".into(),
        used: 1,
        max: 2,
        limit_info: "api-usage=1/2".into(),
        ..Default::default()
    };
    starts(c.report_org_usage(both).await.unwrap_err(), "limit_info");
    let no_max = pb::ReportOrgUsageRequest {
        org_id: "acme".into(),
        used: 1,
        max: 0,
        ..Default::default()
    };
    starts(c.report_org_usage(no_max).await.unwrap_err(), "max");
    let unknown = report(c, "nobody", "api-usage=1/2", None)
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

async fn suspend(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
) -> pb::SuspendResponse {
    c.suspend(pb::SuspendRequest {
        org_id: org.into(),
        reason: reason.into(),
        detail: "INVALID_SESSION_ID: Session expired or invalid".into(),
    })
    .await
    .expect("Suspend")
    .into_inner()
}

async fn clear(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
) -> bool {
    c.clear_suspension(pb::ClearSuspensionRequest {
        org_id: org.into(),
        reason: reason.into(),
    })
    .await
    .expect("ClearSuspension")
    .into_inner()
    .cleared
}

async fn a_suspension_denies_tokens_until_cleared(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 50)).await;
    set_budget(c, "globex", budget(100, 50)).await;
    let first = suspend(c, "acme", tx::SuspensionReason::SalesforceAuthFailed).await;
    assert!(first.created);
    let s = first.suspension.unwrap();
    assert_eq!(s.clearing, pb::SuspensionClearing::Operator as i32);
    assert!(!s.guidance.is_empty());
    assert!(
        !suspend(c, "acme", tx::SuspensionReason::SalesforceAuthFailed)
            .await
            .created,
        "idempotent"
    );

    let denied = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&denied), pb::DenyReason::Suspended);
    assert_eq!(
        denied.suspension_reason,
        tx::SuspensionReason::SalesforceAuthFailed as i32
    );
    assert!(
        acquire(c, "globex", 1, pb::Priority::Critical)
            .await
            .granted,
        "other orgs go on"
    );

    let listed = c
        .list_suspensions(pb::ListSuspensionsRequest {
            org_id: "acme".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.suspensions.len(), 1);
    assert_eq!(
        listed.suspensions[0].detail,
        "INVALID_SESSION_ID: Session expired or invalid"
    );

    assert!(clear(c, "acme", tx::SuspensionReason::SalesforceAuthFailed).await);
    assert!(
        !clear(c, "acme", tx::SuspensionReason::SalesforceAuthFailed).await,
        "idempotent"
    );
    assert!(acquire(c, "acme", 1, pb::Priority::Critical).await.granted);
    let listed = c
        .list_suspensions(pb::ListSuspensionsRequest {
            org_id: "acme".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.suspensions.is_empty());
}

async fn next_event(
    stream: &mut tonic::Streaming<pb::WatchSuspensionsResponse>,
) -> pb::WatchSuspensionsResponse {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("an event within 10 s")
        .expect("the stream goes on")
        .expect("an event")
}

async fn suspension_events_stream_in_order_and_resume_from_a_cursor(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let watcher = c.clone();
    let watch = |org: &str, cursor: &str| {
        let mut c = watcher.clone();
        let request = pb::WatchSuspensionsRequest {
            org_id: org.into(),
            cursor: cursor.into(),
        };
        async move {
            c.watch_suspensions(request)
                .await
                .expect("WatchSuspensions")
                .into_inner()
        }
    };
    let mut acme_only = watch("acme", "").await;
    suspend(c, "acme", tx::SuspensionReason::SalesforceOrgLocked).await;
    suspend(c, "globex", tx::SuspensionReason::MissingFieldMappings).await;
    clear(c, "acme", tx::SuspensionReason::SalesforceOrgLocked).await;

    let began = next_event(&mut acme_only).await;
    assert_eq!(
        (began.org_id.as_str(), began.kind),
        ("acme", pb::SuspensionEventKind::Suspended as i32)
    );
    assert_eq!(
        began.reason,
        tx::SuspensionReason::SalesforceOrgLocked as i32
    );
    let ended = next_event(&mut acme_only).await;
    assert_eq!(ended.kind, pb::SuspensionEventKind::Cleared as i32);
    assert!(!ended.automatic, "an operator cleared it");

    // Resuming after the first event brings what followed it.
    let mut resumed = watch("acme", &began.cursor).await;
    assert_eq!(next_event(&mut resumed).await.cursor, ended.cursor);
    // Every org's events, from the start of the feed.
    let mut everything = watch("", "0-0").await;
    let orgs: Vec<String> = [
        next_event(&mut everything).await,
        next_event(&mut everything).await,
        next_event(&mut everything).await,
    ]
    .into_iter()
    .map(|e| e.org_id)
    .collect();
    assert_eq!(orgs, ["acme", "globex", "acme"]);
}

async fn suspension_calls_refuse_bad_input(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let starts = |err: tonic::Status, field: &str| {
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert!(
            err.message().starts_with(&format!("{field}:")),
            "{field}: {}",
            err.message()
        );
    };
    let suspend_with = |org: &str, reason: i32, detail: String| pb::SuspendRequest {
        org_id: org.into(),
        reason,
        detail,
    };
    starts(
        c.suspend(suspend_with("acme", 0, String::new()))
            .await
            .unwrap_err(),
        "reason",
    );
    starts(
        c.suspend(suspend_with("acme", 99, String::new()))
            .await
            .unwrap_err(),
        "reason",
    );
    starts(
        c.suspend(suspend_with("", 1, String::new()))
            .await
            .unwrap_err(),
        "org_id",
    );
    starts(
        c.suspend(suspend_with("acme", 1, "x".repeat(1_025)))
            .await
            .unwrap_err(),
        "detail",
    );
    let err = c
        .clear_suspension(pb::ClearSuspensionRequest {
            org_id: "acme".into(),
            reason: 0,
        })
        .await
        .unwrap_err();
    starts(err, "reason");
    let err = c
        .watch_suspensions(pb::WatchSuspensionsRequest {
            org_id: String::new(),
            cursor: "yesterday".into(),
        })
        .await
        .unwrap_err();
    starts(err, "cursor");
}

fn quick_probes() -> Settings {
    Settings {
        probe_backoff: Duration::from_millis(300),
        probe_backoff_cap: Duration::from_secs(2),
        ..Settings::default()
    }
}

/// Asks for one token until a grant comes (a probe, here), for up to 5 s.
async fn acquire_within(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
) -> Option<pb::AcquireTokensResponse> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let reply = acquire(c, org, 1, pb::Priority::Critical).await;
        if reply.granted {
            return Some(reply);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

async fn probe_result(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
    success: bool,
) -> pb::ReportProbeResultResponse {
    c.report_probe_result(pb::ReportProbeResultRequest {
        org_id: org.into(),
        reason: reason.into(),
        success,
    })
    .await
    .expect("ReportProbeResult")
    .into_inner()
}

async fn a_transient_suspension_is_probed_and_ends_by_itself(backend: Backend) {
    let mut env = Env::start(backend, quick_probes()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 50)).await;
    let locked = tx::SuspensionReason::SalesforceOrgLocked;
    let s = suspend(c, "acme", locked).await.suspension.unwrap();
    assert_eq!(s.clearing, pb::SuspensionClearing::Probe as i32);
    assert!(s.next_probe_at.is_some());
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::Suspended
    );

    // After the back-off one request goes through as the probe, and only one.
    let probe = acquire_within(c, "acme")
        .await
        .expect("a probe after the back-off");
    assert!(probe.probe);
    assert_eq!(probe.suspension_reason, locked as i32);
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::Suspended
    );

    // The probe failed: the back-off doubles, then another probe.
    let failed = probe_result(c, "acme", locked, false).await;
    assert!(!failed.cleared);
    assert!(failed.next_probe_at.is_some());
    let second = acquire_within(c, "acme").await.expect("a second probe");
    assert!(second.probe);

    // It went through: the suspension ends, by itself.
    let mut events = c
        .watch_suspensions(pb::WatchSuspensionsRequest {
            org_id: "acme".into(),
            cursor: "0-0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(probe_result(c, "acme", locked, true).await.cleared);
    let _began = next_event(&mut events).await;
    let ended = next_event(&mut events).await;
    assert_eq!(
        (ended.kind, ended.automatic),
        (pb::SuspensionEventKind::Cleared as i32, true)
    );
    let normal = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert!(normal.granted && !normal.probe);
}

async fn an_operator_suspension_lets_no_probe_through(backend: Backend) {
    let mut env = Env::start(backend, quick_probes()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 50)).await;
    let auth = tx::SuspensionReason::SalesforceAuthFailed;
    let s = suspend(c, "acme", auth).await.suspension.unwrap();
    assert!(s.next_probe_at.is_none());
    // Several back-offs long: still no probe.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::Suspended
    );
    let err = c
        .report_probe_result(pb::ReportProbeResultRequest {
            org_id: "acme".into(),
            reason: auth.into(),
            success: true,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("reason:"), "{}", err.message());
    // A transient reason beside it lets no probe through either.
    suspend(c, "acme", tx::SuspensionReason::SalesforceServerError).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::Suspended
    );
}

mod envoy_rls {
    use syncgov_api::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
    use syncgov_api::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
    pub use syncgov_api::envoy::service::ratelimit::v3::rate_limit_response::Code;
    use syncgov_api::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient;
    pub use syncgov_api::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
    use tonic::transport::Channel;

    /// A descriptor of `pairs`.
    pub fn descriptor(pairs: &[(&str, &str)]) -> RateLimitDescriptor {
        RateLimitDescriptor {
            entries: pairs
                .iter()
                .map(|(k, v)| Entry {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        }
    }

    /// Asks as Envoy would.
    pub async fn ask(
        channel: Channel,
        domain: &str,
        descriptors: Vec<RateLimitDescriptor>,
        hits_addend: u32,
    ) -> Result<RateLimitResponse, tonic::Status> {
        RateLimitServiceClient::new(channel)
            .should_rate_limit(RateLimitRequest {
                domain: domain.into(),
                descriptors,
                hits_addend,
            })
            .await
            .map(|r| r.into_inner())
    }
}

async fn envoy_rate_limit_requests_spend_the_same_budget(backend: Backend) {
    use envoy_rls::{Code, ask, descriptor};
    let mut env = Env::start(backend, Settings::default()).await;
    let channel = env.governor.channel().await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 4)).await;
    let acme = || vec![descriptor(&[("org_id", "acme"), ("priority", "critical")])];

    // hits_addend 0 counts one hit, as Envoy means it.
    let first = ask(channel.clone(), "salesforce-sync", acme(), 0)
        .await
        .unwrap();
    assert_eq!(first.overall_code, Code::Ok as i32);
    let status = &first.statuses[0];
    assert_eq!(status.limit_remaining, 3);
    assert_eq!(status.current_limit.as_ref().unwrap().requests_per_unit, 4);
    assert_eq!(status.current_limit.as_ref().unwrap().name, "acme/api");
    assert!(status.duration_until_reset.is_some());
    assert!(
        acquire(c, "acme", 1, pb::Priority::Critical).await.granted,
        "the same budget as AcquireTokens"
    );
    assert_eq!(
        ask(channel.clone(), "salesforce-sync", acme(), 2)
            .await
            .unwrap()
            .overall_code,
        Code::Ok as i32
    );
    let over = ask(channel.clone(), "salesforce-sync", acme(), 1)
        .await
        .unwrap();
    assert_eq!(over.overall_code, Code::OverLimit as i32);
    assert_eq!(over.statuses[0].limit_remaining, 0);
    assert_eq!(usage(c, "acme").await.used, 4);

    // One descriptor over: the request does not go out, the others' tokens come back.
    set_budget(c, "globex", budget(100, 10)).await;
    let both = vec![
        descriptor(&[("org_id", "globex"), ("priority", "critical")]),
        acme()[0].clone(),
    ];
    assert_eq!(
        ask(channel.clone(), "salesforce-sync", both, 1)
            .await
            .unwrap()
            .overall_code,
        Code::OverLimit as i32
    );
    assert_eq!(usage(c, "globex").await.used, 0, "handed back");

    // A suspended org is over the limit, and Envoy is told why.
    suspend(c, "globex", tx::SuspensionReason::SalesforceAuthFailed).await;
    let suspended = ask(
        channel.clone(),
        "salesforce-sync",
        vec![descriptor(&[("org_id", "globex")])],
        1,
    )
    .await
    .unwrap();
    assert_eq!(suspended.overall_code, Code::OverLimit as i32);
    assert_eq!(
        suspended.response_headers_to_add[0].key,
        "x-syncgov-suspended"
    );
    assert_eq!(
        suspended.response_headers_to_add[0].value,
        "SALESFORCE_AUTH_FAILED"
    );

    let err = ask(
        channel,
        "salesforce-sync",
        vec![descriptor(&[("org_id", "a b")])],
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().starts_with("org_id:"), "{}", err.message());
}

async fn envoy_descriptors_without_a_budget_follow_the_setting(backend: Backend) {
    use envoy_rls::{Code, ask, descriptor};
    let open = Env::start(backend, Settings::default()).await;
    let channel = open.governor.channel().await;
    let other = ask(
        channel.clone(),
        "salesforce-sync",
        vec![descriptor(&[("generic_key", "x")])],
        1,
    )
    .await
    .unwrap();
    assert_eq!(other.overall_code, Code::Ok as i32, "ignored by default");
    let domain = ask(
        channel,
        "another-domain",
        vec![descriptor(&[("org_id", "acme")])],
        1,
    )
    .await
    .unwrap();
    assert_eq!(domain.overall_code, Code::Ok as i32);

    let strict = Settings {
        rls_unmapped: quota_governor::rls::Unmapped::Deny,
        ..Settings::default()
    };
    let closed = Env::start(backend, strict).await;
    let denied = ask(
        closed.governor.channel().await,
        "salesforce-sync",
        vec![descriptor(&[("generic_key", "x")])],
        1,
    )
    .await
    .unwrap();
    assert_eq!(denied.overall_code, Code::OverLimit as i32);
}

// ---------------------------------------------------------------------------
// What only a shared Redis shows.
// ---------------------------------------------------------------------------

/// Two governor binaries coalescing over `redis`, and an admin client of the
/// first that gave acme an allocation of 10 000.
async fn two_coalescing_replicas(
    redis: &RedisServer,
) -> ([Process; 2], QuotaGovernorClient<Channel>) {
    let url = redis.url();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--redis-url",
        url.as_str(),
        "--coalesce",
        "true",
    ];
    let replicas = [
        Process::start("quota-governor", &args),
        Process::start("quota-governor", &args),
    ];
    let mut admin = QuotaGovernorClient::new(syncgov_tests::channel(replicas[0].addr()).await);
    set_budget(&mut admin, "acme", budget(20_000, 10_000)).await;
    (replicas, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_and_64_clients_grant_exactly_the_allocation() {
    let redis = RedisServer::start();
    let (replicas, _admin) = two_coalescing_replicas(&redis).await;

    let mut clients = Vec::new();
    for i in 0..64 {
        let addr = replicas[i % 2].addr();
        clients.push(tokio::spawn(async move {
            let mut c = QuotaGovernorClient::new(syncgov_tests::channel(addr).await);
            let mut granted = 0u64;
            loop {
                let reply = acquire(&mut c, "acme", 1, pb::Priority::Critical).await;
                if !reply.granted {
                    // The allocation ran out, and then the integration is
                    // suspended until calls leave the window.
                    let reason = reply.deny_reason();
                    assert!(
                        matches!(
                            reason,
                            pb::DenyReason::AllocationExhausted | pb::DenyReason::Suspended
                        ),
                        "{reason:?}"
                    );
                    return granted;
                }
                granted += 1;
            }
        }));
    }
    let mut total = 0;
    for client in clients {
        total += client.await.unwrap();
    }
    assert_eq!(total, 10_000);
    let mut other = QuotaGovernorClient::new(syncgov_tests::channel(replicas[1].addr()).await);
    assert_eq!(usage(&mut other, "acme").await.used, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_coalescing_two_replicas_grant_exactly_the_allocation_too() {
    let redis = RedisServer::start();
    let settings = || Settings {
        redis_url: Some(redis.url().parse().unwrap()),
        coalesce: false,
        ..Settings::default()
    };
    let replicas = [
        Service::governor(settings()).await,
        Service::governor(settings()).await,
    ];
    let mut admin = QuotaGovernorClient::new(replicas[0].channel().await);
    set_budget(&mut admin, "acme", budget(5_000, 2_000)).await;
    let mut clients = Vec::new();
    for i in 0..32 {
        let channel = replicas[i % 2].channel().await;
        clients.push(tokio::spawn(async move {
            let mut c = QuotaGovernorClient::new(channel);
            let mut granted = 0u64;
            while acquire(&mut c, "acme", 1, pb::Priority::Critical)
                .await
                .granted
            {
                granted += 1;
            }
            granted
        }));
    }
    let mut total = 0;
    for client in clients {
        total += client.await.unwrap();
    }
    assert_eq!(total, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_from_two_coalescing_replicas_never_pass_the_allocation() {
    let redis = RedisServer::start();
    let settings = || Settings {
        redis_url: Some(redis.url().parse().unwrap()),
        coalesce: true,
        ..Settings::default()
    };
    let replicas = [
        Service::governor(settings()).await,
        Service::governor(settings()).await,
    ];
    let mut admin = QuotaGovernorClient::new(replicas[0].channel().await);
    set_budget(&mut admin, "acme", budget(20_000, 10_000)).await;
    let mut clients = Vec::new();
    for i in 0..64u64 {
        let channel = replicas[i as usize % 2].channel().await;
        clients.push(tokio::spawn(async move {
            let mut c = QuotaGovernorClient::new(channel);
            // Each worker leases blocks of up to 37, spends all but a few of
            // each and hands the rest back, until the allocation runs out.
            let unused = i % 4;
            let mut spent = 0u64;
            loop {
                let reply = lease(&mut c, "acme", 1, 37).await;
                if !reply.granted {
                    return spent;
                }
                let left = unused.min(reply.granted_count);
                spent += reply.granted_count - left;
                if left > 0 {
                    let back = release(&mut c, "acme", &reply.grant_id, left).await;
                    assert_eq!(back.released, left);
                }
            }
        }));
    }
    let mut spent = 0;
    for client in clients {
        spent += client.await.unwrap();
    }
    let used = usage(&mut admin, "acme").await.used;
    assert_eq!(used, spent, "the window counts exactly what was spent");
    assert!(used <= 10_000, "{used} over the allocation");
    // Only the last hand-backs can leave room: at most 3 tokens per worker.
    assert!(used >= 10_000 - 64 * 3, "{used}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_and_64_streams_grant_exactly_the_allocation() {
    let redis = RedisServer::start();
    let (replicas, mut admin) = two_coalescing_replicas(&redis).await;

    // 64 streams, each asking 200 times at once: 12 800 requests for 10 000
    // tokens.
    let mut clients = Vec::new();
    for i in 0..64 {
        let addr = replicas[i % 2].addr();
        clients.push(tokio::spawn(async move {
            let mut c = QuotaGovernorClient::new(syncgov_tests::channel(addr).await);
            let asks = (0..200)
                .map(|_| pb::AcquireTokensRequest {
                    org_id: "acme".into(),
                    count: 1,
                    priority: pb::Priority::Critical.into(),
                    ..Default::default()
                })
                .collect();
            let (replies, end) = stream_of(&mut c, asks).await;
            assert!(end.is_none(), "{end:?}");
            assert_eq!(replies.len(), 200);
            for reply in replies.iter().filter(|r| !r.granted) {
                let reason = reply.deny_reason();
                assert!(
                    matches!(
                        reason,
                        pb::DenyReason::AllocationExhausted | pb::DenyReason::Suspended
                    ),
                    "{reason:?}"
                );
            }
            replies.iter().filter(|r| r.granted).count() as u64
        }));
    }
    let mut total = 0;
    for client in clients {
        total += client.await.unwrap();
    }
    assert_eq!(total, 10_000);
    assert_eq!(usage(&mut admin, "acme").await.used, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_and_64_envoy_clients_grant_exactly_the_allocation() {
    use envoy_rls::{Code, ask, descriptor};
    let redis = RedisServer::start();
    let settings = || Settings {
        redis_url: Some(redis.url().parse().unwrap()),
        ..Settings::default()
    };
    let replicas = [
        Service::governor(settings()).await,
        Service::governor(settings()).await,
    ];
    let mut admin = QuotaGovernorClient::new(replicas[0].channel().await);
    set_budget(&mut admin, "acme", budget(20_000, 10_000)).await;

    let mut clients = Vec::new();
    for i in 0..64 {
        let channel = replicas[i % 2].channel().await;
        clients.push(tokio::spawn(async move {
            let mut allowed = 0u64;
            loop {
                let d = vec![descriptor(&[("org_id", "acme"), ("priority", "critical")])];
                let reply = ask(channel.clone(), "salesforce-sync", d, 1)
                    .await
                    .expect("ShouldRateLimit");
                if reply.overall_code != Code::Ok as i32 {
                    return allowed;
                }
                allowed += 1;
            }
        }));
    }
    let mut total = 0;
    for client in clients {
        total += client.await.unwrap();
    }
    assert_eq!(total, 10_000);
    assert_eq!(usage(&mut admin, "acme").await.used, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_set_on_one_replica_stops_the_other() {
    let redis = RedisServer::start();
    let settings = || Settings {
        redis_url: Some(redis.url().parse().unwrap()),
        ..Settings::default()
    };
    let (a, b) = (
        Service::governor(settings()).await,
        Service::governor(settings()).await,
    );
    let mut on_a = QuotaGovernorClient::new(a.channel().await);
    let mut on_b = QuotaGovernorClient::new(b.channel().await);
    set_budget(&mut on_a, "acme", budget(100, 50)).await;
    assert!(
        acquire(&mut on_b, "acme", 1, pb::Priority::Critical)
            .await
            .granted
    );
    suspend(
        &mut on_a,
        "acme",
        tx::SuspensionReason::SalesforceStorageLimitExceeded,
    )
    .await;
    let stopped = eventually(Duration::from_secs(5), || {
        let mut c = on_b.clone();
        async move {
            acquire(&mut c, "acme", 1, pb::Priority::Critical)
                .await
                .deny_reason()
                == pb::DenyReason::Suspended
        }
    })
    .await;
    assert!(stopped, "replica b never saw the suspension");
    clear(
        &mut on_b,
        "acme",
        tx::SuspensionReason::SalesforceStorageLimitExceeded,
    )
    .await;
    let resumed = eventually(Duration::from_secs(5), || {
        let mut c = on_a.clone();
        async move {
            acquire(&mut c, "acme", 1, pb::Priority::Critical)
                .await
                .granted
        }
    })
    .await;
    assert!(resumed, "replica a never saw the clear");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_leave_a_short_window_in_real_time() {
    let settings = Settings {
        window: Duration::from_secs(4),
        bucket: Duration::from_secs(1),
        ..Settings::default()
    };
    let mut env = Env::start(Backend::Redis, settings).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 5)).await;
    let started = Instant::now();
    assert!(acquire(c, "acme", 5, pb::Priority::Critical).await.granted);
    let denied = acquire(c, "acme", 1, pb::Priority::Critical).await;
    let elapsed = started.elapsed().as_secs_f64();
    let retry_after = secs(denied.retry_after.as_ref().expect("a retry_after"));
    assert!(
        retry_after >= 4.0 - elapsed && retry_after <= 5.0,
        "retry_after {retry_after}"
    );

    // The allocation ran out: the integration is suspended, and the
    // suspension ends by itself once the calls have left the window.
    let mut events = c
        .watch_suspensions(pb::WatchSuspensionsRequest {
            org_id: "acme".into(),
            cursor: "0-0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let began = next_event(&mut events).await;
    assert_eq!(
        began.reason,
        tx::SuspensionReason::IntegrationApiLimitExceeded as i32
    );
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::Suspended
    );
    let ended = next_event(&mut events).await;
    assert_eq!(
        (ended.kind, ended.automatic),
        (pb::SuspensionEventKind::Cleared as i32, true)
    );

    tokio::time::sleep(Duration::from_secs_f64(retry_after)).await;
    // The grant is decided on Redis's clock; allow it a moment to agree.
    let granted = eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            acquire(&mut c, "acme", 5, pb::Priority::Critical)
                .await
                .granted
        }
    })
    .await;
    assert!(
        granted,
        "the calls did not leave the window after retry_after"
    );
    let u = usage(c, "acme").await;
    assert_eq!(u.used, 5);
    assert_eq!(u.series.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_grants_only_the_emergency_budget_while_redis_is_away() {
    let mut redis = RedisServer::start_with(true);
    let settings = Settings {
        redis_url: Some(redis.url().parse().unwrap()),
        redis_timeout: Duration::from_millis(500),
        store_outage: quota_governor::outage::OutagePolicy::FailOpen,
        emergency_budget: 3,
        ..Settings::default()
    };
    let governor = Service::governor(settings).await;
    let mut c = QuotaGovernorClient::new(governor.channel().await);
    set_budget(&mut c, "acme", budget(100, 10)).await;
    let normal = acquire(&mut c, "acme", 4, pb::Priority::Critical).await;
    assert!(normal.granted && !normal.emergency, "{normal:?}");
    set_budget(&mut c, "globex", budget(100, 10)).await;
    suspend(&mut c, "globex", tx::SuspensionReason::SalesforceOrgLocked).await;

    redis.stop();
    let ask = |org: &str| pb::AcquireTokensRequest {
        org_id: org.into(),
        count: 1,
        priority: pb::Priority::Critical.into(),
        ..Default::default()
    };
    let mut emergency = 0;
    let refused = loop {
        match c.acquire_tokens(ask("acme")).await {
            Ok(reply) => {
                let reply = reply.into_inner();
                assert!(reply.granted && reply.emergency, "{reply:?}");
                assert!(reply.grant_id.is_empty(), "nothing to release");
                emergency += 1;
                assert!(emergency <= 3, "past the emergency budget");
            }
            Err(status) => break status,
        }
    };
    assert_eq!(emergency, 3);
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    // A suspended org stays stopped, store or no store.
    let held = c.acquire_tokens(ask("globex")).await.unwrap().into_inner();
    assert_eq!(denied_for(&held), pb::DenyReason::Suspended);

    redis.restart();
    let recovered = eventually(Duration::from_secs(10), || {
        let mut c = c.clone();
        async move {
            c.acquire_tokens(ask("acme"))
                .await
                .is_ok_and(|r| r.get_ref().granted && !r.get_ref().emergency)
        }
    })
    .await;
    assert!(recovered, "no normal grant once Redis was back");
    // The window counts what Redis saw: 4 before, 1 after; the emergency
    // grants are counted nowhere.
    assert_eq!(usage(&mut c, "acme").await.used, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_unavailable_and_the_governor_recovers() {
    let mut redis = RedisServer::start_with(true);
    let settings = Settings {
        redis_url: Some(redis.url().parse().unwrap()),
        health_interval: Duration::from_millis(100),
        redis_timeout: Duration::from_millis(500),
        ..Settings::default()
    };
    let governor = Service::governor(settings).await;
    let mut c = QuotaGovernorClient::new(governor.channel().await);
    set_budget(&mut c, "acme", budget(100, 10)).await;
    assert!(
        acquire(&mut c, "acme", 4, pb::Priority::Critical)
            .await
            .granted
    );
    assert!(
        eventually(Duration::from_secs(5), || async {
            health(governor.addr(), "").await == ServingStatus::Serving
        })
        .await
    );

    redis.stop();
    let err = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            resource: 1,
            count: 1,
            priority: 3,
            client_id: String::new(),
            min_count: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let service = quota_governor::app::SERVICE_NAME;
    assert!(
        health_becomes(
            governor.addr(),
            service,
            ServingStatus::NotServing,
            Duration::from_secs(5)
        )
        .await
    );

    redis.restart();
    assert!(
        health_becomes(
            governor.addr(),
            service,
            ServingStatus::Serving,
            Duration::from_secs(10)
        )
        .await
    );
    let recovered = eventually(Duration::from_secs(5), || {
        let mut c = c.clone();
        async move {
            c.acquire_tokens(pb::AcquireTokensRequest {
                org_id: "acme".into(),
                resource: 1,
                count: 6,
                priority: 3,
                client_id: String::new(),
                min_count: 0,
            })
            .await
            .is_ok_and(|r| r.into_inner().granted)
        }
    })
    .await;
    assert!(
        recovered,
        "the governor did not recover once Redis was back"
    );
    // The AOF kept the budget and the window: the allocation is spent.
    assert_eq!(
        denied_for(&acquire(&mut c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::AllocationExhausted
    );
    governor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_with_every_bucket_in_use_fits_in_8_kib() {
    let mut env = Env::start(Backend::Redis, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "00D5g000004XyZaEAK", budget(1_000_000_000, 500_000_000)).await;
    assert!(
        acquire(c, "00D5g000004XyZaEAK", 1, pb::Priority::Critical)
            .await
            .granted
    );

    // Fill every bucket of the 24 h window as a day of steady traffic would:
    // rewrite the window string with 1 441 non-zero slots.
    let redis = env._redis.as_ref().unwrap();
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let window_key = "syncgov:quota:{00D5g000004XyZaEAK}:api:window:60000x1440";
    let head: i64 = ::redis::cmd("BITFIELD")
        .arg(window_key)
        .arg(&["GET", "i64", "0"])
        .query_async::<Vec<i64>>(&mut conn)
        .await
        .unwrap()[0];
    let mut bytes = head.to_be_bytes().to_vec();
    bytes.extend((1441 * 7i64).to_be_bytes());
    for _ in 0..1441 {
        bytes.extend(7u32.to_be_bytes());
    }
    let _: () = ::redis::cmd("SET")
        .arg(window_key)
        .arg(bytes)
        .query_async(&mut conn)
        .await
        .unwrap();

    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("*{00D5g000004XyZaEAK}*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let mut footprint = 0u64;
    for key in &keys {
        let bytes: u64 = ::redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut conn)
            .await
            .unwrap();
        footprint += bytes;
    }
    println!("footprint of one org with every bucket in use: {footprint} bytes over {keys:?}");
    assert!(footprint <= 8 * 1024, "{footprint} bytes");

    // The governor reads the full window back (the slot of the oldest
    // bucket is about to leave, but is still counted).
    assert_eq!(usage(c, "00D5g000004XyZaEAK").await.used, 1441 * 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_stops_cleanly_on_sigterm() {
    let governor = Process::start("quota-governor", &["--listen", "127.0.0.1:0"]);
    assert_eq!(health(governor.addr(), "").await, ServingStatus::Serving);
    let status = governor.terminate();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_services() {
    let governor = Service::governor(Settings::default()).await;
    let names = syncgov_tests::reflected_services(governor.addr()).await;
    assert!(
        names.contains(&"syncgov.quota.v1.QuotaGovernor".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
}

#[test]
fn bad_settings_stop_the_binary_before_it_listens() {
    let run = |args: &[&str]| {
        std::process::Command::new(syncgov_tests::binary("quota-governor"))
            .args(args)
            .output()
            .expect("run quota-governor")
    };
    let out = run(&[
        "--listen",
        "127.0.0.1:0",
        "--window",
        "10s",
        "--bucket",
        "3s",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--window and --bucket") && stderr.contains("whole number of buckets"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing listened: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run(&["--default-budget", "500"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALLOCATION/ORG_LIMIT"));

    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--redis-url",
        "--window",
        "--bucket",
        "--default-budget",
        "QUOTA_GOVERNOR_REDIS_URL",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_and_slow_calls_are_refused() {
    let redis = RedisServer::start();
    let settings = Settings {
        redis_url: Some(redis.url().parse().unwrap()),
        redis_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_millis(300),
        ..Settings::default()
    };
    let governor = Service::governor(settings).await;
    let mut c = QuotaGovernorClient::new(governor.channel().await)
        .max_encoding_message_size(16 * 1024 * 1024);
    set_budget(&mut c, "acme", budget(100, 10)).await;

    // Over the 4 MiB a server decodes: refused before any work.
    let huge = pb::AcquireTokensRequest {
        org_id: "acme".into(),
        count: 1,
        client_id: "x".repeat(5 * 1024 * 1024),
        ..Default::default()
    };
    let err = c.acquire_tokens(huge).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");

    // A store that hangs longer than the request timeout: the caller hears
    // back at the timeout, not when the store answers.
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // CLIENT PAUSE holds every other client's commands for 2 s.
    let _: () = ::redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(2_000)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
    let err = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            count: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.code() == Code::Cancelled && err.message().contains("Timeout"),
        "{err:?}"
    );
    // Once the store answers again, so does the governor.
    let back = eventually(Duration::from_secs(10), || {
        let mut c = c.clone();
        async move {
            c.acquire_tokens(pb::AcquireTokensRequest {
                org_id: "acme".into(),
                count: 1,
                ..Default::default()
            })
            .await
            .is_ok_and(|r| r.get_ref().granted)
        }
    })
    .await;
    assert!(back, "no grant once the store answered again");
}
