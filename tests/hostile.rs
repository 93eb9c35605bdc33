//! The governor against callers that are hostile or buggy, over real gRPC,
//! on every store (memory, a real `redis-server` with two replicas sharing
//! it, and a local Redis Cluster with two replicas): forged and replayed
//! grant ids, times far in the future, and the other ways a caller might
//! make the governor grant more than the allocation. Each test is one way
//! to break a promise, and shows it holds.

use std::time::{Duration, Instant};

use prost_types::Timestamp;
use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::clock::{now_ms, timestamp};
use syncgov_kit::server::ServerSettings;
use syncgov_tests::governor::{
    acquire, budget, denied_for, lease, release, set_budget, stream_of, suspend, usage,
};
use syncgov_tests::{Backend, Service, Store, on_every_store};
use tonic::Code;
use tonic::transport::Channel;

on_every_store!(
    forged_and_replayed_grant_ids_hand_back_nothing,
    lease_and_stream_grants_are_released_once_by_their_org_only,
    only_the_holder_of_a_probe_reports_it,
    org_usage_reports_must_be_dated_now_give_or_take,
    raising_the_allocation_lifts_its_suspension_at_once,
    suspension_details_and_override_expiries_are_bounded,
    envoy_requests_carry_a_bounded_number_of_descriptors,
);

/// The tests that take a single `redis-server` of their own.
mod one_redis {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_envoy_request_keeps_all_its_tokens_or_none() {
        super::a_cancelled_envoy_request_keeps_all_its_tokens_or_none().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn replicas_follow_a_store_that_lost_its_data() {
        super::replicas_follow_a_store_that_lost_its_data().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_watchers_cost_the_store_nothing_each() {
        super::idle_watchers_cost_the_store_nothing_each().await
    }
}

/// The governors a test calls in turn: one on memory, two replicas
/// sharing the Redis or the cluster otherwise, so that a release may land
/// on a replica that did not make the grant.
struct Replicas {
    clients: Vec<QuotaGovernorClient<Channel>>,
    _governors: Vec<Service>,
    _store: Store,
}

impl Replicas {
    async fn start(backend: Backend) -> Self {
        Self::start_with(backend, Settings::default()).await
    }

    async fn start_with(backend: Backend, settings: Settings) -> Self {
        let store = backend.start();
        let count = match backend {
            Backend::Memory => 1,
            Backend::Redis | Backend::Cluster => 2,
        };
        let mut governors = Vec::new();
        let mut clients = Vec::new();
        for _ in 0..count {
            let governor = Service::governor(Settings {
                server: ServerSettings {
                    redis_url: store.redis_url(),
                    redis_cluster_nodes: store.cluster_nodes(),
                    ..settings.server.clone()
                },
                ..settings.clone()
            })
            .await;
            clients.push(QuotaGovernorClient::new(governor.channel().await));
            governors.push(governor);
        }
        Self {
            clients,
            _governors: governors,
            _store: store,
        }
    }

    /// The client of call `i`: the replicas in turn.
    fn at(&self, i: usize) -> QuotaGovernorClient<Channel> {
        self.clients[i % self.clients.len()].clone()
    }
}

/// With an allocation of 1 000, a worker holds 950 and sends back ids it
/// made up, altered or took from another org, then replays its real one:
/// nothing is handed back but the real grant's unused tokens, once, and
/// `used` always equals what is held. (Before grant ids were signed, this
/// loop granted 5 700 of an allocation of 1 000 with `used` at 0.)
async fn forged_and_replayed_grant_ids_hand_back_nothing(backend: Backend) {
    let governors = Replicas::start(backend).await;
    set_budget(&mut governors.at(0), "acme", budget(2_000, 1_000)).await;
    set_budget(&mut governors.at(0), "globex", budget(2_000, 1_000)).await;
    let held = acquire(&mut governors.at(0), "acme", 950, pb::Priority::Critical).await;
    assert!(held.granted, "{held:?}");
    let theirs = acquire(&mut governors.at(1), "globex", 10, pb::Priority::Critical).await;
    assert!(theirs.granted, "{theirs:?}");

    let parts: Vec<&str> = held.grant_id.split('.').collect();
    let [version, bucket, count, nonce, tag] = parts.as_slice() else {
        panic!("a grant id of five parts: {}", held.grant_id);
    };
    assert_eq!((*version, *count), ("g3", "950"));
    let flip = |text: &str| {
        let last = if text.ends_with('0') { "1" } else { "0" };
        format!("{}{last}", &text[..text.len() - 1])
    };
    let forged = [
        // The forms of earlier versions, which carried no signature.
        format!("g1.{bucket}.950"),
        format!("g2.{bucket}.950.abcdef"),
        // The real id with its tag, its count, its nonce or its bucket
        // changed.
        flip(&held.grant_id),
        format!("g3.{bucket}.999.{nonce}.{tag}"),
        format!("g3.{bucket}.950.{}.{tag}", flip(nonce)),
        format!(
            "g3.{}.950.{nonce}.{tag}",
            bucket.parse::<i64>().unwrap() - 60_000
        ),
        // Another org's real id.
        theirs.grant_id.clone(),
    ];
    for (i, id) in forged.iter().enumerate() {
        let r = release(&mut governors.at(i), "acme", id, 950).await;
        assert_eq!(r.outcome(), pb::ReleaseOutcome::UnknownGrant, "{id}");
        assert_eq!((r.released, r.used), (0, 950), "{id}");
        let again = acquire(
            &mut governors.at(i + 1),
            "acme",
            950,
            pb::Priority::Critical,
        )
        .await;
        assert!(!again.granted, "granted again after releasing {id}");
        assert_eq!(usage(&mut governors.at(i), "acme").await.used, 950, "{id}");
    }
    assert_eq!(usage(&mut governors.at(0), "globex").await.used, 10);

    // The real id hands back its unused tokens once, on whichever replica.
    let r = release(&mut governors.at(1), "acme", &held.grant_id, 900).await;
    assert_eq!(r.outcome(), pb::ReleaseOutcome::Released);
    assert_eq!((r.released, r.used), (900, 50));
    for i in 0..3 {
        let r = release(&mut governors.at(i), "acme", &held.grant_id, 900).await;
        assert_eq!(
            r.outcome(),
            pb::ReleaseOutcome::AlreadyReleased,
            "replay {i}"
        );
        assert_eq!((r.released, r.used), (0, 50), "replay {i}");
    }
    // What is held is what counts: 950 fit again, and not one more.
    assert!(
        acquire(&mut governors.at(0), "acme", 950, pb::Priority::Critical)
            .await
            .granted
    );
    assert!(
        !acquire(&mut governors.at(1), "acme", 1, pb::Priority::Critical)
            .await
            .granted
    );
    assert_eq!(usage(&mut governors.at(0), "acme").await.used, 1_000);
}

/// Leases and streamed grants carry the same signed ids: each is released
/// once, by its own org only.
async fn lease_and_stream_grants_are_released_once_by_their_org_only(backend: Backend) {
    let governors = Replicas::start(backend).await;
    set_budget(&mut governors.at(0), "acme", budget(2_000, 100)).await;
    set_budget(&mut governors.at(0), "globex", budget(2_000, 100)).await;

    let leased = lease(&mut governors.at(0), "acme", 10, 80).await;
    assert_eq!(leased.granted_count, 80, "{leased:?}");
    let streamed = {
        let ask = pb::AcquireTokensRequest {
            org_id: "acme".into(),
            count: 20,
            priority: pb::Priority::Critical.into(),
            ..Default::default()
        };
        let (replies, end) = stream_of(&mut governors.at(1), vec![ask]).await;
        assert!(end.is_none(), "{end:?}");
        replies.into_iter().next().expect("one reply")
    };
    assert!(streamed.granted, "{streamed:?}");

    for id in [&leased.grant_id, &streamed.grant_id] {
        // Another org cannot spend them.
        let r = release(&mut governors.at(0), "globex", id, 20).await;
        assert_eq!(r.outcome(), pb::ReleaseOutcome::UnknownGrant);
        assert_eq!(r.released, 0);
    }
    let r = release(&mut governors.at(1), "acme", &leased.grant_id, 70).await;
    assert_eq!((r.released, r.used), (70, 30));
    let r = release(&mut governors.at(0), "acme", &streamed.grant_id, 20).await;
    assert_eq!((r.released, r.used), (20, 10));
    for id in [&leased.grant_id, &streamed.grant_id] {
        let r = release(&mut governors.at(1), "acme", id, 20).await;
        assert_eq!(r.outcome(), pb::ReleaseOutcome::AlreadyReleased);
        assert_eq!((r.released, r.used), (0, 10));
    }
    assert!(
        acquire(&mut governors.at(0), "acme", 90, pb::Priority::Critical)
            .await
            .granted
    );
    assert!(
        !acquire(&mut governors.at(1), "acme", 1, pb::Priority::Critical)
            .await
            .granted
    );
}

/// Reports the result of a probe of `org`'s suspension for `reason`,
/// naming `grant_id`.
async fn report_probe(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
    grant_id: &str,
) -> Result<pb::ReportProbeResultResponse, tonic::Status> {
    c.report_probe_result(pb::ReportProbeResultRequest {
        org_id: org.into(),
        reason: reason.into(),
        success: true,
        grant_id: grant_id.into(),
    })
    .await
    .map(tonic::Response::into_inner)
}

/// The reasons `org` is suspended for now.
async fn suspended_for(c: &mut QuotaGovernorClient<Channel>, org: &str) -> Vec<i32> {
    c.list_suspensions(pb::ListSuspensionsRequest {
        org_id: org.into(),
        ..Default::default()
    })
    .await
    .expect("ListSuspensions answers")
    .into_inner()
    .suspensions
    .iter()
    .map(|s| s.reason)
    .collect()
}

/// Straight after a transient suspension, a worker that says "the probe
/// went through" without holding the probe changes nothing: no grant id, a
/// grant of before the suspension, a made-up id and another org's grant are
/// all refused, and the suspension stands until the probe's own holder
/// reports. (Before, any worker ended every transient suspension at once.)
async fn only_the_holder_of_a_probe_reports_it(backend: Backend) {
    let governors = Replicas::start_with(
        backend,
        Settings {
            probe_backoff: Duration::from_millis(300),
            probe_backoff_cap: Duration::from_secs(2),
            ..Settings::default()
        },
    )
    .await;
    let c = &mut governors.at(0);
    set_budget(c, "acme", budget(1_000, 500)).await;
    set_budget(c, "globex", budget(1_000, 500)).await;
    let before = acquire(c, "acme", 1, pb::Priority::Critical).await;
    let theirs = acquire(c, "globex", 1, pb::Priority::Critical).await;
    let tag = "0".repeat(32);
    let made_up = format!("g3.0.1.1.{tag}");
    use tx::SuspensionReason as R;
    for reason in [
        R::SalesforceOrgLocked,
        R::SalesforceOrgUnavailable,
        R::SalesforceServerError,
        R::SalesforceConcurrentLimitExceeded,
        R::SalesforceApiLimitExceeded,
    ] {
        suspend(c, "acme", reason).await;
        let err = report_probe(&mut governors.at(1), "acme", reason, "")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{reason:?}");
        assert!(err.message().starts_with("grant_id:"), "{}", err.message());
        for id in [&before.grant_id, &made_up, &theirs.grant_id] {
            let err = report_probe(&mut governors.at(1), "acme", reason, id)
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::FailedPrecondition, "{reason:?} {id}");
            assert!(err.message().starts_with("grant_id:"), "{}", err.message());
        }
        assert!(suspended_for(c, "acme").await.contains(&(reason as i32)));
        syncgov_tests::governor::clear(c, "acme", reason).await;
    }

    // The probe's own grant ends it.
    let locked = R::SalesforceOrgLocked;
    suspend(c, "acme", locked).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let probe = loop {
        let reply = acquire(c, "acme", 1, pb::Priority::Critical).await;
        if reply.granted {
            break reply;
        }
        assert!(Instant::now() < deadline, "no probe within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(probe.probe);
    let done = report_probe(&mut governors.at(1), "acme", locked, &probe.grant_id)
        .await
        .expect("the holder reports");
    assert!(done.cleared);
    assert!(suspended_for(c, "acme").await.is_empty());
}

/// Reports org usage dated far in the future or long ago are refused
/// naming `observed_at`: one dated in year 9999 used to block the org for
/// good (every truthful report after it was ignored as older).
async fn org_usage_reports_must_be_dated_now_give_or_take(backend: Backend) {
    let governors = Replicas::start(backend).await;
    let c = &mut governors.at(0);
    set_budget(c, "acme", budget(10_000, 5_000)).await;
    let report = |observed_at: Option<Timestamp>, used: u64| pb::ReportOrgUsageRequest {
        org_id: "acme".into(),
        used,
        max: 10_000,
        observed_at,
        ..Default::default()
    };
    let now = now_ms();
    let day = 86_400_000;
    for at in [
        Timestamp {
            seconds: 253_402_300_799,
            nanos: 0,
        },
        Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        },
        Timestamp {
            seconds: 0,
            nanos: -1,
        },
        timestamp(now + 10 * 60_000),
        timestamp(now - day - 3_600_000),
    ] {
        let err = c
            .report_org_usage(report(Some(at), 9_999))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{at:?}");
        assert!(
            err.message().starts_with("observed_at:"),
            "{}",
            err.message()
        );
    }
    // A clock a minute fast is taken, and does not outrank the next report.
    let fast = c
        .report_org_usage(report(Some(timestamp(now + 60_000)), 9_999))
        .await
        .expect("a minute ahead is taken")
        .into_inner();
    assert!(fast.accepted);
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::OrgLimitExhausted
    );
    let truthful = c
        .report_org_usage(report(Some(timestamp(now_ms() + 1)), 100))
        .await
        .unwrap()
        .into_inner();
    assert!(truthful.accepted, "{truthful:?}");
    assert!(acquire(c, "acme", 1, pb::Priority::Critical).await.granted);
}

/// A suspension for a used-up allocation ends as soon as an admin raises
/// the allocation, not at the next sweep; and while it holds, the denial
/// says what is used.
async fn raising_the_allocation_lifts_its_suspension_at_once(backend: Backend) {
    let governors = Replicas::start(backend).await;
    let c = &mut governors.at(0);
    set_budget(c, "acme", budget(5_000, 1_000)).await;
    assert!(
        acquire(c, "acme", 1_000, pb::Priority::Critical)
            .await
            .granted
    );
    assert!(!acquire(c, "acme", 1, pb::Priority::Critical).await.granted);
    // The other replica hears of the suspension through the store's feed.
    let mut other = governors.at(1);
    let mut held = acquire(&mut other, "acme", 1, pb::Priority::Critical).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while held.deny_reason() != pb::DenyReason::Suspended {
        assert!(
            Instant::now() < deadline,
            "not suspended within 30 s: {held:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        held = acquire(&mut other, "acme", 1, pb::Priority::Critical).await;
    }
    assert_eq!(
        held.suspension_reason,
        tx::SuspensionReason::IntegrationApiLimitExceeded as i32
    );
    assert_eq!((held.used, held.allocation), (1_000, 1_000));

    set_budget(&mut governors.at(1), "acme", budget(5_000, 2_000)).await;
    assert!(suspended_for(c, "acme").await.is_empty());
    let after = acquire(&mut governors.at(1), "acme", 1, pb::Priority::Critical).await;
    assert!(after.granted, "{after:?}");
    assert_eq!((after.used, after.allocation), (1_001, 2_000));
}

/// A suspension's detail may not carry escape sequences or other control
/// characters (line breaks and tabs are fine), and an allocation override
/// may not end in year 292 277 026 596 nor more than 366 days ahead.
async fn suspension_details_and_override_expiries_are_bounded(backend: Backend) {
    let governors = Replicas::start(backend).await;
    let c = &mut governors.at(0);
    for detail in ["\u{1b}[2J\u{1b}[Hall clear", "nul\u{0}byte", "bell\u{7}"] {
        let err = c
            .suspend(pb::SuspendRequest {
                org_id: "acme".into(),
                reason: tx::SuspensionReason::SalesforceOrgLocked.into(),
                detail: detail.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{detail:?}");
        assert!(err.message().starts_with("detail:"), "{}", err.message());
    }
    let multi_line = suspend(c, "acme", tx::SuspensionReason::SalesforceOrgLocked).await;
    assert!(multi_line.created);
    let ok = c
        .suspend(pb::SuspendRequest {
            org_id: "globex".into(),
            reason: tx::SuspensionReason::SalesforceServerError.into(),
            detail: "Apex trigger failed:\n\tline 4".into(),
        })
        .await;
    assert!(ok.is_ok(), "{ok:?}");

    let with_override = |expires_at: Timestamp| pb::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: "acme".into(),
        resource: 0,
        budget: Some(pb::Budget {
            org_limit: 10_000,
            allocation: 1_000,
            allocation_override: Some(pb::AllocationOverride {
                allocation: 5_000,
                expires_at: Some(expires_at),
            }),
            ..Default::default()
        }),
    };
    let now = now_ms();
    for expires_at in [
        Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        },
        timestamp(now + 400 * 86_400_000),
    ] {
        let err = c.set_budget(with_override(expires_at)).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{expires_at:?}");
        assert!(
            err.message()
                .starts_with("budget.allocation_override.expires_at:"),
            "{}",
            err.message()
        );
    }
    let month = c
        .set_budget(with_override(timestamp(now + 30 * 86_400_000)))
        .await;
    assert!(month.is_ok(), "{month:?}");
}

/// Two replicas on one Redis hold an org suspended; Redis loses its data
/// without a connection error (`FLUSHALL`): each replica's view converges
/// to the store's within ten seconds (generous deadline here), so nothing
/// stays suspended for good on a record that no longer exists.
async fn replicas_follow_a_store_that_lost_its_data() {
    let governors = Replicas::start(Backend::Redis).await;
    let redis = governors._store.redis().expect("one redis");
    for i in 0..2 {
        set_budget(&mut governors.at(i), "acme", budget(1_000, 500)).await;
    }
    suspend(
        &mut governors.at(0),
        "acme",
        tx::SuspensionReason::MissingFieldMappings,
    )
    .await;
    let suspended = |i: usize| {
        let mut c = governors.at(i);
        async move {
            acquire(&mut c, "acme", 1, pb::Priority::Critical)
                .await
                .deny_reason()
                == pb::DenyReason::Suspended
        }
    };
    for i in 0..2 {
        assert!(syncgov_tests::eventually(Duration::from_secs(30), || suspended(i)).await);
    }
    let mut conn = redis.client().get_connection().expect("a redis connection");
    let _: () = ::redis::cmd("FLUSHALL").query(&mut conn).expect("FLUSHALL");
    set_budget(&mut governors.at(0), "acme", budget(1_000, 500)).await;
    for i in 0..2 {
        let free = || {
            let mut c = governors.at(i);
            async move {
                acquire(&mut c, "acme", 1, pb::Priority::Critical)
                    .await
                    .granted
            }
        };
        assert!(
            syncgov_tests::eventually(Duration::from_secs(30), free).await,
            "replica {i} still holds the lost suspension"
        );
    }
    assert!(suspended_for(&mut governors.at(1), "acme").await.is_empty());
}

/// Watchers of a replica share its one reading of the store's feed: 300
/// idle watchers add no store commands of their own (each polled once a
/// second before, 300 commands a second here).
async fn idle_watchers_cost_the_store_nothing_each() {
    // One test is one caller on one connection: room for its 300 watchers.
    let governors = Replicas::start_with(
        Backend::Redis,
        Settings {
            server: ServerSettings {
                max_streams_per_caller: 1_000,
                max_concurrent_calls_per_connection: 1_000,
                ..ServerSettings::default()
            },
            ..Settings::default()
        },
    )
    .await;
    let redis = governors._store.redis().expect("one redis");
    let mut conn = redis.client().get_connection().expect("a redis connection");
    let processed = |conn: &mut ::redis::Connection| -> u64 {
        let info: String = ::redis::cmd("INFO").arg("stats").query(conn).unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("total_commands_processed:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("total_commands_processed")
    };
    let mut watchers = Vec::new();
    for _ in 0..300 {
        let stream = governors
            .at(0)
            .watch_suspensions(pb::WatchSuspensionsRequest::default())
            .await
            .expect("a watcher")
            .into_inner();
        watchers.push(stream);
    }
    // Every watcher has caught up once (one read each); from here on they
    // idle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = processed(&mut conn);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let commands = processed(&mut conn) - before;
    let seconds = started.elapsed().as_secs_f64();
    // What one replica does by itself: the feed's blocking read, a snapshot
    // every 5 s, the health ping and the grant key; far below one a second
    // per watcher.
    assert!(
        (commands as f64) < 100.0 * seconds,
        "{commands} commands in {seconds:.1} s with 300 idle watchers"
    );
    // And they still see what happens.
    suspend(
        &mut governors.at(1),
        "acme",
        tx::SuspensionReason::SalesforceOrgLocked,
    )
    .await;
    for stream in watchers.iter_mut().take(5) {
        let event = syncgov_tests::governor::next_event(stream).await;
        assert_eq!(event.org_id, "acme");
    }
}

/// A worker token may spend only up to its ceiling (normal, unless the
/// token says more): asking at critical, by AcquireTokens, a stream or
/// Envoy's protocol, is refused and takes nothing; a token given critical
/// may.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_spends_the_critical_reserve_only_when_its_token_allows() {
    use syncgov_kit::auth::{AuthChannel, Bearer};
    use syncgov_tests::governor::envoy_rls::{Code as RlsCode, descriptor};
    const PLAIN: &str = "worker-plain-0123456789abcdef0123";
    const TRUSTED: &str = "worker-trusted-0123456789abcdef01";
    const ADMIN: &str = "admin-0123456789abcdef0123456789";
    let dir = syncgov_tests::TempDir::new("ceiling");
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "{PLAIN} worker acme plain\n{TRUSTED} worker:critical acme trusted\n{ADMIN} admin * root\n"
        ),
    )
    .unwrap();
    let governor = Service::governor(Settings {
        server: ServerSettings {
            security: syncgov_kit::security::SecuritySettings {
                auth_token_file: Some(tokens),
                ..Default::default()
            },
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let channel = governor.channel().await;
    let as_caller = |token: &str| {
        QuotaGovernorClient::new(AuthChannel::new(
            channel.clone(),
            Bearer::fixed(token).unwrap(),
        ))
    };
    as_caller(ADMIN)
        .set_budget(pb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: "acme".into(),
            resource: 0,
            budget: Some(budget(10_000, 100)),
        })
        .await
        .unwrap();
    let ask = |priority: pb::Priority| pb::AcquireTokensRequest {
        org_id: "acme".into(),
        count: 100,
        priority: priority.into(),
        ..Default::default()
    };
    let mut plain = as_caller(PLAIN);
    let err = plain
        .acquire_tokens(ask(pb::Priority::Critical))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("normal"), "{}", err.message());
    let streamed = plain
        .acquire_tokens_stream(tokio_stream::iter([pb::AcquireTokensStreamRequest {
            request: Some(ask(pb::Priority::Critical)),
        }]))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await;
    assert_eq!(
        streamed.unwrap_err().code(),
        Code::PermissionDenied,
        "a stream is held to the same ceiling"
    );
    let envoy = syncgov_api::envoy::service::ratelimit::v3::rate_limit_service_client::RateLimitServiceClient::new(
        AuthChannel::new(channel.clone(), Bearer::fixed(PLAIN).unwrap()),
    )
    .clone()
    .should_rate_limit(syncgov_api::envoy::service::ratelimit::v3::RateLimitRequest {
        domain: "salesforce-sync".into(),
        descriptors: vec![descriptor(&[("org_id", "acme"), ("priority", "critical")])],
        hits_addend: 100,
    })
    .await
    .unwrap()
    .into_inner();
    assert_eq!(envoy.overall_code, RlsCode::OverLimit as i32);
    assert!(
        envoy
            .response_headers_to_add
            .iter()
            .any(|h| h.key == "x-syncgov-refused" && h.value.contains("critical")),
        "{envoy:?}"
    );
    let used = as_caller(ADMIN)
        .get_usage(pb::GetUsageRequest {
            org_id: "acme".into(),
            resource: 0,
            top_consumers: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .used;
    assert_eq!(used, 0, "nothing refused was counted");
    // Up to normal, the plain worker spends; the trusted one takes the
    // reserve.
    let normal = plain
        .acquire_tokens(pb::AcquireTokensRequest {
            count: 95,
            ..ask(pb::Priority::Normal)
        })
        .await
        .unwrap()
        .into_inner();
    assert!(normal.granted, "{normal:?}");
    let rest = as_caller(TRUSTED)
        .acquire_tokens(pb::AcquireTokensRequest {
            count: 5,
            ..ask(pb::Priority::Critical)
        })
        .await
        .unwrap()
        .into_inner();
    assert!(rest.granted, "{rest:?}");
}

/// Envoy's protocol takes at most 64 descriptors per request (one request
/// of 150 000 used to run decisions for 30 s), refused naming the field.
async fn envoy_requests_carry_a_bounded_number_of_descriptors(backend: Backend) {
    use syncgov_tests::governor::envoy_rls::{ask, descriptor};
    let governors = Replicas::start(backend).await;
    set_budget(&mut governors.at(0), "acme", budget(1_000_000, 500_000)).await;
    let channel = governors.at(0);
    let many = vec![descriptor(&[("org_id", "acme")]); 65];
    let err = ask(
        governors._governors[0].channel().await,
        "salesforce-sync",
        many,
        1,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("descriptors:"),
        "{}",
        err.message()
    );
    let fits = vec![descriptor(&[("org_id", "acme")]); 64];
    assert!(
        ask(
            governors._governors[0].channel().await,
            "salesforce-sync",
            fits,
            1
        )
        .await
        .is_ok()
    );
    assert_eq!(usage(&mut channel.clone(), "acme").await.used, 64);
}

/// A request whose last descriptor is over its limit hands back what its
/// others were granted, even when its caller cancels it half-way: the
/// decisions run to the end in a task of their own.
async fn a_cancelled_envoy_request_keeps_all_its_tokens_or_none() {
    use syncgov_api::envoy::service::ratelimit::v3 as rls;
    use syncgov_tests::governor::envoy_rls::descriptor;
    let governors = Replicas::start(Backend::Redis).await;
    let mut admin = governors.at(0);
    for i in 0..63 {
        set_budget(&mut admin, &format!("org{i}"), budget(1_000, 100)).await;
    }
    set_budget(&mut admin, "full", budget(1_000, 0)).await;
    let mut descriptors: Vec<_> = (0..63)
        .map(|i| descriptor(&[("org_id", &format!("org{i}"))]))
        .collect();
    descriptors.push(descriptor(&[("org_id", "full")]));
    let mut request = tonic::Request::new(rls::RateLimitRequest {
        domain: "salesforce-sync".into(),
        descriptors,
        hits_addend: 1,
    });
    // Far shorter than 64 decisions on Redis take: cancelled half-way.
    request.set_timeout(Duration::from_millis(2));
    let channel = governors._governors[0].channel().await;
    let _ = rls::rate_limit_service_client::RateLimitServiceClient::new(channel)
        .should_rate_limit(request)
        .await;
    let total = || {
        let mut c = governors.at(1);
        async move {
            let mut used = 0;
            for i in 0..63 {
                used += usage(&mut c, &format!("org{i}")).await.used;
            }
            used
        }
    };
    // Once the request's task is done, nothing it granted stays counted.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let used = total().await;
        if used == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{used} tokens kept of a request that did not go out"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The embedded store holds a bounded number of orgs, and forgets an org
/// once its window has emptied: made-up org ids cannot make the governor
/// grow without end (200 000 of them took it to 1.3 GB, nothing freed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_store_holds_a_bounded_number_of_orgs_and_forgets_idle_ones() {
    let governor = Service::governor(Settings {
        window: Duration::from_secs(4),
        bucket: Duration::from_secs(1),
        memory_max_orgs: 50,
        default_budget: Some("100/1000".parse().unwrap()),
        ..Settings::default()
    })
    .await;
    let mut c = QuotaGovernorClient::new(governor.channel().await);
    for i in 0..50 {
        let reply = acquire(&mut c, &format!("made-up-{i}"), 1, pb::Priority::Normal).await;
        assert!(reply.granted, "{i}: {reply:?}");
    }
    let full = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "one-too-many".into(),
            count: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(full.code(), Code::ResourceExhausted, "{full:?}");
    assert!(
        full.message().contains("--memory-max-orgs"),
        "{}",
        full.message()
    );
    // Orgs already held still decide.
    assert!(
        acquire(&mut c, "made-up-0", 1, pb::Priority::Normal)
            .await
            .granted
    );
    // Once their windows empty (4 s) the idle orgs are forgotten and new
    // ones fit again.
    let room = || {
        let mut c = c.clone();
        async move {
            c.acquire_tokens(pb::AcquireTokensRequest {
                org_id: "one-too-many".into(),
                count: 1,
                ..Default::default()
            })
            .await
            .is_ok()
        }
    };
    assert!(syncgov_tests::eventually(Duration::from_secs(30), room).await);
}

/// Open streams count against their caller for as long as they are open: a
/// caller may have at most `--max-streams-per-caller` of them, and they are
/// among its calls in flight. (One token used to open 15 000 streams.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_count_against_their_caller_while_open() {
    let governor = Service::governor(Settings {
        server: ServerSettings {
            max_streams_per_caller: 5,
            max_concurrent_calls_per_caller: 8,
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let mut c = QuotaGovernorClient::new(governor.channel().await);
    set_budget(&mut c, "acme", budget(1_000, 500)).await;
    let watch = |c: &QuotaGovernorClient<Channel>| {
        let mut c = c.clone();
        async move {
            c.watch_suspensions(pb::WatchSuspensionsRequest::default())
                .await
                .map(tonic::Response::into_inner)
        }
    };
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(watch(&c).await.expect("a stream within the bound"));
    }
    let sixth = watch(&c).await.unwrap_err();
    assert_eq!(sixth.code(), Code::ResourceExhausted, "{sixth:?}");
    assert!(
        sixth.message().contains("streams open"),
        "{}",
        sixth.message()
    );
    // A decision stream is a stream too.
    let decisions = c
        .acquire_tokens_stream(tokio_stream::pending::<pb::AcquireTokensStreamRequest>())
        .await
        .unwrap_err();
    assert_eq!(decisions.code(), Code::ResourceExhausted);
    // A closed stream gives its place back.
    drop(open.pop());
    let reopened = || {
        let c = c.clone();
        async move { watch(&c).await.is_ok() }
    };
    assert!(syncgov_tests::eventually(Duration::from_secs(30), reopened).await);

    // Open streams are calls in flight for as long as they are open: with
    // five places and five streams open, a unary call finds none.
    let governor = Service::governor(Settings {
        server: ServerSettings {
            max_streams_per_caller: 10,
            max_concurrent_calls_per_caller: 5,
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let c = QuotaGovernorClient::new(governor.channel().await);
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(watch(&c).await.expect("a stream within the bound"));
    }
    let unary = c
        .clone()
        .list_suspensions(pb::ListSuspensionsRequest {
            org_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unary.code(), Code::ResourceExhausted, "{unary:?}");
    assert!(
        unary.message().contains("calls in flight"),
        "{}",
        unary.message()
    );
    drop(open.pop());
    let room = || {
        let mut c = c.clone();
        async move {
            c.list_suspensions(pb::ListSuspensionsRequest {
                org_id: "acme".into(),
                ..Default::default()
            })
            .await
            .is_ok()
        }
    };
    assert!(syncgov_tests::eventually(Duration::from_secs(30), room).await);
}

/// A `redis-server` on a loopback TCP port (replication needs one), in its
/// own directory, killed when dropped.
struct TcpRedis {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    _dir: syncgov_tests::TempDir,
}

impl TcpRedis {
    /// Starts a server; with `master`, as its replica.
    fn start(master: Option<std::net::SocketAddr>) -> Self {
        let dir = syncgov_tests::TempDir::new("redis-tcp");
        let addr = syncgov_tests::free_addr();
        let mut command = std::process::Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--port", &addr.port().to_string()])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(dir.path().join("redis.log"));
        if let Some(master) = master {
            command.args(["--replicaof", "127.0.0.1", &master.port().to_string()]);
        }
        let child = command
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    fn client(&self) -> ::redis::Client {
        ::redis::Client::open(format!("redis://{}", self.addr)).expect("a redis url")
    }

    /// True once a replica has finished its first sync with its master.
    fn replicating(&self) -> bool {
        let Ok(mut conn) = self.client().get_connection() else {
            return false;
        };
        let info: String = ::redis::cmd("INFO")
            .arg("replication")
            .query(&mut conn)
            .unwrap_or_default();
        info.contains("master_link_status:up")
    }

    fn dbsize(&self) -> u64 {
        let mut conn = self.client().get_connection().expect("a connection");
        ::redis::cmd("DBSIZE").query(&mut conn).expect("DBSIZE")
    }
}

impl Drop for TcpRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// With `--redis-wait-replicas 1`, a grant and an ingest are acknowledged
/// only once a replica has them; with the replica gone they answer
/// UNAVAILABLE (safe to retry) instead of an acknowledgement a failover
/// could lose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_and_ingests_wait_for_a_replica_when_asked() {
    use syncgov_api::syncerrors::v1 as epb;
    use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;

    let master = TcpRedis::start(None);
    let mut replica = TcpRedis::start(Some(master.addr));
    let up = || {
        let ok = replica.replicating();
        async move { ok }
    };
    assert!(
        syncgov_tests::eventually(Duration::from_secs(30), up).await,
        "the replica never synced"
    );
    let server = ServerSettings {
        redis_url: Some(format!("redis://{}", master.addr).parse().unwrap()),
        redis_wait_replicas: 1,
        // Long enough for a replica on a busy machine to acknowledge (the
        // calls after it is gone wait this long before they answer), within
        // the store's timeout, which bounds the wait too.
        redis_timeout: Duration::from_secs(10),
        redis_wait_timeout: Duration::from_secs(3),
        ..ServerSettings::default()
    };
    let governor = Service::governor(Settings {
        server: server.clone(),
        ..Settings::default()
    })
    .await;
    let errors = Service::sync_errors(sync_errors::config::Settings {
        server,
        ..sync_errors::config::Settings::default()
    })
    .await;
    let mut g = QuotaGovernorClient::new(governor.channel().await);
    let mut e = SyncErrorsClient::new(errors.channel().await);
    set_budget(&mut g, "acme", budget(1_000, 500)).await;
    assert!(
        acquire(&mut g, "acme", 5, pb::Priority::Normal)
            .await
            .granted
    );
    let failure = syncgov_tests::syncerrors::failure("k1", "Contact", "003A", "too_long");
    let stored = e
        .ingest_errors(epb::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![failure.clone()],
        })
        .await;
    assert!(stored.is_ok(), "{stored:?}");
    assert!(replica.dbsize() > 0, "the replica holds the writes");

    // The replica goes away: nothing more is acknowledged.
    let _ = replica.child.kill();
    let _ = replica.child.wait();
    let refused = g
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            count: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(
        refused.message().contains("replicas"),
        "{}",
        refused.message()
    );
    let refused = e
        .ingest_errors(epb::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![failure],
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    // A denial writes nothing and needs no replica.
    let denied = g
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            count: 10_000,
            ..Default::default()
        })
        .await;
    assert!(denied.is_ok_and(|r| !r.into_inner().granted));
}
