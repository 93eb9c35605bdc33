//! What only a real Redis shows of the quota governor: several replicas
//! sharing one Redis grant exactly the allocation, never more (unary calls,
//! with and without coalescing, leases, streams, Envoy's protocol) and see
//! each other's suspensions; calls leave a short window on Redis's clock;
//! Redis going away is `UNAVAILABLE` (or, failing open, the emergency
//! budget only) and the governor recovers when it comes back; a Redis that
//! lost the scripts is given them again; an org with every bucket in use
//! fits in 8 KiB.

use std::time::{Duration, Instant};

use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::PATIENCE;
use syncgov_tests::governor::{
    Env, acquire, budget, clear, denied_for, envoy_rls, lease, next_event, release, secs,
    set_budget, stream_of, suspend, usage, usage_by_consumer,
};
use syncgov_tests::outage::{self, RedisOutage};
use syncgov_tests::{Backend, Process, RedisServer, Service, eventually, health};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

/// How long these tests let Redis take to answer: what they prove (exact
/// counts, what replicas see) does not depend on speed, and a loaded machine
/// may answer slowly.
const SLOW_REDIS: Duration = Duration::from_secs(10);

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
        // Exactness does not depend on speed: a loaded machine may answer
        // slowly, and a timeout here would prove nothing.
        "--redis-timeout",
        "10s",
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
        coalesce: false,
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            redis_timeout: SLOW_REDIS,
            ..ServerSettings::default()
        },
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
        coalesce: true,
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            redis_timeout: SLOW_REDIS,
            ..ServerSettings::default()
        },
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
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            redis_timeout: SLOW_REDIS,
            ..ServerSettings::default()
        },
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
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            redis_timeout: SLOW_REDIS,
            ..ServerSettings::default()
        },
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
    let stopped = eventually(PATIENCE, || {
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
    let resumed = eventually(PATIENCE, || {
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
    let granted = eventually(PATIENCE, || {
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
        store_outage: quota_governor::outage::OutagePolicy::FailOpen,
        emergency_budget: 3,
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            redis_timeout: outage::REDIS_TIMEOUT,
            ..ServerSettings::default()
        },
        ..Settings::default()
    };
    let governor = Service::governor(settings).await;
    let mut c = QuotaGovernorClient::new(governor.channel().await);
    set_budget(&mut c, "acme", budget(100, 10)).await;
    let normal = acquire(&mut c, "acme", 4, pb::Priority::Critical).await;
    assert!(normal.granted && !normal.emergency, "{normal:?}");
    set_budget(&mut c, "globex", budget(100, 10)).await;
    suspend(&mut c, "globex", tx::SuspensionReason::SalesforceOrgLocked).await;

    let service = quota_governor::app::SERVICE_NAME;
    let mut outage = RedisOutage::new(&mut redis, governor.addr(), service);
    outage.kill();
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

    outage.restart();
    // The last answer seen, to tell a slow recovery from a stuck one.
    let last = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let recovered = eventually(PATIENCE, || {
        let mut c = c.clone();
        let last = last.clone();
        async move {
            let answer = c.acquire_tokens(ask("acme")).await;
            let ok = answer
                .as_ref()
                .is_ok_and(|r| r.get_ref().granted && !r.get_ref().emergency);
            *last.lock().unwrap() = format!("{answer:?}");
            ok
        }
    })
    .await;
    assert!(
        recovered,
        "no normal grant once Redis was back; last answer: {}",
        last.lock().unwrap()
    );
    // The window counts what Redis saw: 4 before, 1 after; the emergency
    // grants are counted nowhere.
    assert_eq!(usage(&mut c, "acme").await.used, 5);
}

/// A Redis that no longer has the governor's scripts (restarted, `SCRIPT
/// FLUSH`, a failover to a replica that never ran them) is given them again
/// by the next decision, with coalescing and without: the decision is made
/// and counted once.
#[tokio::test]
async fn a_redis_that_forgot_the_scripts_is_given_them_again() {
    for coalesce in [false, true] {
        let redis = RedisServer::start();
        let settings = Settings {
            coalesce,
            server: ServerSettings {
                redis_url: Some(redis.url().parse().unwrap()),
                ..ServerSettings::default()
            },
            ..Settings::default()
        };
        let governor = Service::governor(settings).await;
        let mut c = QuotaGovernorClient::new(governor.channel().await);
        set_budget(&mut c, "acme", budget(100, 10)).await;
        assert!(
            acquire(&mut c, "acme", 2, pb::Priority::Critical)
                .await
                .granted
        );
        let mut conn = redis
            .client()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let () = ::redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut conn)
            .await
            .unwrap();
        let reply = acquire(&mut c, "acme", 3, pb::Priority::Critical).await;
        assert!(reply.granted, "coalescing {coalesce}: {reply:?}");
        assert_eq!(reply.used, 5, "coalescing {coalesce}");
        assert_eq!(usage(&mut c, "acme").await.used, 5, "coalescing {coalesce}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_unavailable_and_the_governor_recovers() {
    let mut redis = RedisServer::start_with(true);
    let settings = Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            health_interval: outage::HEALTH_INTERVAL,
            redis_timeout: outage::REDIS_TIMEOUT,
            ..ServerSettings::default()
        },
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
        eventually(PATIENCE, || async {
            health(governor.addr(), "").await == ServingStatus::Serving
        })
        .await
    );

    let service = quota_governor::app::SERVICE_NAME;
    let mut outage = RedisOutage::new(&mut redis, governor.addr(), service);
    outage.kill();
    let err = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            resource: 1,
            count: 1,
            priority: 3,
            client_id: String::new(),
            min_count: 0,
            object: String::new(),
            operation: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    outage.until_not_serving().await;

    outage.restart();
    outage.until_serving().await;
    let last = std::sync::Mutex::new(String::new());
    let recovered = eventually(PATIENCE, || {
        let mut c = c.clone();
        let last = &last;
        async move {
            let reply = c
                .acquire_tokens(pb::AcquireTokensRequest {
                    org_id: "acme".into(),
                    resource: 1,
                    count: 6,
                    priority: 3,
                    client_id: String::new(),
                    min_count: 0,
                    object: String::new(),
                    operation: String::new(),
                })
                .await;
            *last.lock().unwrap() = format!("{reply:?}");
            reply.is_ok_and(|r| r.into_inner().granted)
        }
    })
    .await;
    assert!(
        recovered,
        "the governor did not recover once Redis was back; last answer: {}",
        last.lock().unwrap()
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
    let redis = env.store.redis().expect("a Redis backend");
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

    let mut keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("*{00D5g000004XyZaEAK}*")
        .query_async(&mut conn)
        .await
        .unwrap();
    // The consumers hash is measured on its own below.
    let consumers_key = "syncgov:quota:{00D5g000004XyZaEAK}:api:consumers:60000x1440";
    assert!(keys.iter().any(|k| k == consumers_key), "{keys:?}");
    keys.retain(|k| k != consumers_key);
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

    // Who used it: one worker in every bucket, as the grants would have
    // left the consumers hash (lua/decide.lua), measured as it stands.
    let name = "sync-worker-1\u{1f}Contact\u{1f}upsert";
    let mut fields: Vec<(String, String)> = vec![("^".into(), head.to_string())];
    for b in head - 1440..=head {
        fields.push((b.to_string(), format!("\u{1e}{name}\u{1d}7")));
    }
    let _: () = ::redis::cmd("DEL")
        .arg(consumers_key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = ::redis::cmd("HSET")
        .arg(consumers_key)
        .arg(&fields)
        .query_async(&mut conn)
        .await
        .unwrap();
    let consumers: u64 = ::redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(consumers_key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut conn)
        .await
        .unwrap();
    println!("consumers hash of one worker in every bucket: {consumers} bytes");
    assert!(consumers <= 160 * 1024, "{consumers} bytes");
    let u = usage_by_consumer(c, "00D5g000004XyZaEAK", 10).await;
    assert_eq!(u.top_consumers.len(), 1, "{u:?}");
    assert_eq!(u.top_consumers[0].client_id, "sync-worker-1");
    assert_eq!(u.top_consumers[0].tokens, 1441 * 7);

    // The governor reads the full window back (the slot of the oldest
    // bucket is about to leave, but is still counted).
    assert_eq!(usage(c, "00D5g000004XyZaEAK").await.used, 1441 * 7);
}

/// A clock that steps back never moves a window backwards, on the Redis
/// store's clock (Redis `TIME`): the window's head is set five buckets
/// ahead of the clock, as if the decisions so far had been made by a clock
/// five minutes ahead that was then set right. The calls counted stay
/// counted, a new grant goes into the newest bucket (so it leaves the
/// window no earlier than those), and the allocation still holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_stepped_back_never_moves_the_window_back() {
    let redis = RedisServer::start();
    let governor = Service::governor(Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            redis_timeout: SLOW_REDIS,
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let c = &mut QuotaGovernorClient::new(governor.channel().await);
    set_budget(c, "acme", budget(100, 10)).await;
    assert!(acquire(c, "acme", 4, pb::Priority::Critical).await.granted);

    // The window string: head (i64 at bit 0), total (i64 at bit 64), then a
    // u32 per slot, bucket b in slot b mod (buckets + 1).
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = "syncgov:quota:{acme}:api:window:60000x1440";
    let ring: i64 = 1_441;
    let slot = |bucket: i64| 128 + (bucket % ring) * 32;
    let reader = conn.clone();
    let read = |fields: Vec<(&'static str, i64)>| {
        let mut conn = reader.clone();
        async move {
            let mut cmd = ::redis::cmd("BITFIELD");
            cmd.arg(key);
            for (kind, offset) in fields {
                cmd.arg("GET").arg(kind).arg(offset);
            }
            let values: Vec<i64> = cmd.query_async(&mut conn).await.unwrap();
            values
        }
    };
    let head = read(vec![("i64", 0)]).await[0];
    assert!(head > 0, "a window was written");
    let ahead = head + 5;
    let () = ::redis::cmd("BITFIELD")
        .arg(key)
        .arg("SET")
        .arg("i64")
        .arg(0)
        .arg(ahead)
        .query_async(&mut conn)
        .await
        .map(|_: Vec<i64>| ())
        .unwrap();

    let reply = acquire(c, "acme", 3, pb::Priority::Critical).await;
    assert!(reply.granted, "{reply:?}");
    assert_eq!(reply.used, 7, "the calls counted before stay counted");
    let fields = read(vec![
        ("i64", 0),
        ("i64", 64),
        ("u32", slot(head)),
        ("u32", slot(ahead)),
    ])
    .await;
    assert_eq!(
        fields,
        [ahead, 7, 4, 3],
        "head kept, total 7, the old calls in their bucket, the new one in the newest"
    );
    let over = acquire(c, "acme", 4, pb::Priority::Critical).await;
    assert_eq!(denied_for(&over), pb::DenyReason::AllocationExhausted);
    assert_eq!(usage(c, "acme").await.used, 7);
}
