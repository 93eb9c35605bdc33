//! The quota governor's behaviour, over real gRPC, on every store: each
//! scenario below runs against the embedded store (`memory::`), a real
//! `redis-server` (`redis::`) and a local Redis Cluster (`cluster::`), and
//! must come out the same on each. Budgets, all-or-nothing grants and
//! leases, priority shares, retry hints, releases, decision streams, usage
//! and its chart, overrides, org-wide usage reports, suspensions (their
//! events, probes and clearing), Envoy's rate limit protocol, and the field
//! named by every refusal of bad input.

use std::time::{Duration, Instant};

use prost_types::Timestamp;
use quota_governor::config::{DefaultBudget, Settings};
use quota_governor::domain::Budget;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::PATIENCE;
use syncgov_tests::governor::{
    Env, acquire, acquire_as, budget, clear, denied_for, envoy_rls, lease, next_event, release,
    secs, set_budget, stream_of, suspend, usage, usage_by_consumer,
};
use syncgov_tests::{Backend, eventually, on_every_store};
use tonic::Code;
use tonic::transport::Channel;

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
    an_override_ends_when_it_expires,
    resources_are_budgeted_apart,
    deleting_a_budget_frees_no_calls,
    bad_input_names_the_field,
    org_usage_reports_stop_grants_short_of_the_org_limit,
    the_org_limit_follows_the_reports,
    org_usage_reports_refuse_bad_input,
    a_suspension_denies_tokens_until_cleared,
    suspension_events_stream_in_order_and_resume_from_a_cursor,
    an_orgs_suspension_history_pages_newest_first,
    suspension_calls_refuse_bad_input,
    a_transient_suspension_is_probed_and_ends_by_itself,
    a_probe_whose_result_never_comes_is_followed_by_another,
    an_operator_suspension_lets_no_probe_through,
    envoy_rate_limit_requests_spend_the_same_budget,
    envoy_descriptors_without_a_budget_follow_the_setting,
    shadow_mode_grants_what_the_allocation_would_deny_and_flags_it,
    shadow_mode_never_passes_the_org_limit_nor_a_suspension,
    shadow_mode_answers_envoy_ok_with_a_header,
    usage_forecasts_when_the_allocation_runs_out,
    usage_names_the_consumers_that_took_the_most,
    a_bucket_names_at_most_the_cap_of_consumers,
    consumer_fields_are_refused_naming_the_field,
    envoy_descriptors_may_name_their_consumer,
);

async fn budgets_are_set_read_and_deleted(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let reply = c
        .set_budget(pb::SetBudgetRequest {
            expected_revision: String::new(),
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
            top_consumers: 0,
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
    assert_eq!(r.outcome(), pb::ReleaseOutcome::Released);
    // A grant is handed back once: the same release sent again (a retry
    // after a lost reply) takes nothing more off the window.
    for _ in 0..2 {
        let r = release(4, grant.grant_id.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!((r.released, r.used), (0, 6), "released twice");
        assert_eq!(r.outcome(), pb::ReleaseOutcome::AlreadyReleased);
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
    // Ids of earlier versions carry no signature: they name no grant the
    // governor can vouch for, and hand back nothing.
    let parts: Vec<&str> = grant.grant_id.split('.').collect();
    assert_eq!(parts[0], "g3", "{}", grant.grant_id);
    for old in [
        format!("g1.{}.{}", parts[1], parts[2]),
        format!("g2.{}.{}.{}", parts[1], parts[2], parts[3]),
    ] {
        let r = release(50, old).await.unwrap().into_inner();
        assert_eq!((r.released, r.used), (0, 6));
        assert_eq!(r.outcome(), pb::ReleaseOutcome::UnknownGrant);
    }
    let err = release(1, "not-a-grant".into()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("grant_id:"), "{}", err.message());
    assert!(acquire(c, "acme", 14, pb::Priority::Critical).await.granted);
    assert!(!acquire(c, "acme", 1, pb::Priority::Critical).await.granted);
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
            .all(|r| r.grant_id.starts_with("g3."))
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
    set_budget(c, "acme", b.clone()).await;
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
            expected_revision: String::new(),
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

async fn an_override_ends_when_it_expires(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let now_ms = syncgov_kit::clock::now_ms;
    // The override ends three seconds from now, on the store's clock (this
    // machine's, for the memory store and the test's Redis alike).
    let expires_ms = now_ms() + 3_000;
    let mut b = budget(100, 5);
    b.allocation_override = Some(pb::AllocationOverride {
        allocation: 8,
        expires_at: Some(syncgov_kit::clock::timestamp(expires_ms)),
    });
    set_budget(c, "acme", b).await;
    let reply = acquire(c, "acme", 8, pb::Priority::Critical).await;
    let answered = now_ms();
    // Decided before the expiry (any machine but one stalled for seconds):
    // the override is in force.
    let spent_under_override = answered < expires_ms;
    if spent_under_override {
        assert!(reply.granted, "{reply:?}");
        assert_eq!(reply.allocation, 8);
    }
    // The allocation in force, read until the override has ended: the
    // override's while it runs, the budget's own from its expiry on (each
    // reading judged by when it was sent and answered).
    let deadline = Instant::now() + PATIENCE;
    loop {
        let sent = now_ms();
        let allocation = usage(c, "acme").await.allocation;
        let answered = now_ms();
        if answered < expires_ms {
            assert_eq!(allocation, 8, "the override ended early");
        }
        if sent >= expires_ms {
            assert_eq!(allocation, 5, "the override outlived its expiry");
        }
        if allocation == 5 {
            assert!(answered >= expires_ms, "the override ended early");
            break;
        }
        assert!(Instant::now() < deadline, "the override never ended");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The calls made under the override stay counted.
    let after = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(after.allocation, 5);
    if spent_under_override {
        assert_eq!(denied_for(&after), pb::DenyReason::AllocationExhausted);
        assert_eq!(after.used, 8);
    }
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
        expected_revision: String::new(),
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
            object: String::new(),
            operation: String::new(),
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
        (
            pb::AcquireTokensRequest {
                object: "Contact.Name".into(),
                ..acquire_with("acme", 1, 1, 2, "")
            },
            "object",
        ),
        (
            pb::AcquireTokensRequest {
                object: "x".repeat(65),
                ..acquire_with("acme", 1, 1, 2, "")
            },
            "object",
        ),
        (
            pb::AcquireTokensRequest {
                operation: "Bulk Insert".into(),
                ..acquire_with("acme", 1, 1, 2, "")
            },
            "operation",
        ),
        (
            pb::AcquireTokensRequest {
                operation: "q".repeat(33),
                ..acquire_with("acme", 1, 1, 2, "")
            },
            "operation",
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
        expected_revision: String::new(),
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
            top_consumers: 0,
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
    // The grant and the report must share a bucket for the grant to count.
    syncgov_tests::early_in_a_bucket().await;
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
    let resumed = eventually(PATIENCE, || {
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
            ..Default::default()
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
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.suspensions.is_empty());
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

async fn an_orgs_suspension_history_pages_newest_first(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    let locked = tx::SuspensionReason::SalesforceOrgLocked;
    let mappings = tx::SuspensionReason::MissingFieldMappings;
    // acme: suspended, cleared, suspended again, cleared again; globex's
    // events in between are not acme's.
    for round in 0..2 {
        suspend(c, "acme", locked).await;
        suspend(c, "globex", mappings).await;
        clear(c, "acme", locked).await;
        if round == 0 {
            clear(c, "globex", mappings).await;
        }
    }
    suspend(c, "acme", mappings).await;
    let page = |size: u32, token: String| {
        let mut c = c.clone();
        async move {
            c.list_suspension_history(pb::ListSuspensionHistoryRequest {
                org_id: "acme".into(),
                page_size: size,
                page_token: token,
            })
            .await
            .expect("ListSuspensionHistory")
            .into_inner()
        }
    };
    let all = page(0, String::new()).await;
    assert!(all.next_page_token.is_empty(), "the whole feed was read");
    let seen: Vec<(i32, i32)> = all.events.iter().map(|e| (e.kind, e.reason)).collect();
    let (began, ended) = (
        pb::SuspensionEventKind::Suspended as i32,
        pb::SuspensionEventKind::Cleared as i32,
    );
    assert_eq!(
        seen,
        [
            (began, mappings as i32),
            (ended, locked as i32),
            (began, locked as i32),
            (ended, locked as i32),
            (began, locked as i32),
        ],
        "newest first, acme's only"
    );
    assert!(all.events.iter().all(|e| e.org_id == "acme"));
    let at = |e: &pb::WatchSuspensionsResponse| e.at.as_ref().map(|t| (t.seconds, t.nanos));
    assert!(all.events.windows(2).all(|w| at(&w[0]) >= at(&w[1])));

    // Two at a time: the same events, each once.
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let reply = page(2, token).await;
        assert!(reply.events.len() <= 2);
        paged.extend(reply.events.into_iter().map(|e| e.cursor));
        token = reply.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let cursors: Vec<String> = all.events.iter().map(|e| e.cursor.clone()).collect();
    assert_eq!(paged, cursors);

    // A token is good for its org only; sizes are bounded.
    let first = page(1, String::new()).await;
    let err = c
        .list_suspension_history(pb::ListSuspensionHistoryRequest {
            org_id: "globex".into(),
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("page_token"), "{err:?}");
    let err = c
        .list_suspension_history(pb::ListSuspensionHistoryRequest {
            org_id: "acme".into(),
            page_size: 101,
            page_token: String::new(),
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("page_size"), "{err:?}");
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
    granted_within(c, org).await.map(|(_, reply)| reply)
}

/// As [`acquire_within`], with when the granted request was sent: the
/// grant was made after that instant.
async fn granted_within(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
) -> Option<(Instant, pb::AcquireTokensResponse)> {
    let deadline = Instant::now() + PATIENCE;
    while Instant::now() < deadline {
        let sent = Instant::now();
        let reply = acquire(c, org, 1, pb::Priority::Critical).await;
        if reply.granted {
            return Some((sent, reply));
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
    probe: &pb::AcquireTokensResponse,
) -> pb::ReportProbeResultResponse {
    c.report_probe_result(pb::ReportProbeResultRequest {
        org_id: org.into(),
        reason: reason.into(),
        success,
        grant_id: probe.grant_id.clone(),
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
    let failed = probe_result(c, "acme", locked, false, &probe).await;
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
    assert!(probe_result(c, "acme", locked, true, &second).await.cleared);
    let _began = next_event(&mut events).await;
    let ended = next_event(&mut events).await;
    assert_eq!(
        (ended.kind, ended.automatic),
        (pb::SuspensionEventKind::Cleared as i32, true)
    );
    let normal = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert!(normal.granted && !normal.probe);
}

async fn a_probe_whose_result_never_comes_is_followed_by_another(backend: Backend) {
    let mut env = Env::start(backend, quick_probes()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 50)).await;
    let locked = tx::SuspensionReason::SalesforceOrgLocked;
    suspend(c, "acme", locked).await;
    let (first_sent, first) = granted_within(c, "acme").await.expect("a probe");
    assert!(first.probe);
    // Its worker never says how it went: one back-off later another
    // request goes through as the probe, and not before. The first was
    // granted after it was sent, so a second answered sooner than a
    // back-off after that came too early, however slow the machine.
    let second = acquire_within(c, "acme").await.expect("another probe");
    assert!(second.probe, "{second:?}");
    assert!(
        // Less a millisecond: the store reads its clock in whole ones.
        first_sent.elapsed() + Duration::from_millis(1) >= quick_probes().probe_backoff,
        "the second probe came before a back-off had passed"
    );
    assert_ne!(first.grant_id, second.grant_id);
}

async fn an_operator_suspension_lets_no_probe_through(backend: Backend) {
    let mut env = Env::start(backend, quick_probes()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 50)).await;
    set_budget(c, "control", budget(100, 50)).await;
    let auth = tx::SuspensionReason::SalesforceAuthFailed;
    let transient = tx::SuspensionReason::SalesforceServerError;
    let s = suspend(c, "acme", auth).await.suspension.unwrap();
    assert!(s.next_probe_at.is_none());
    // A control org suspended after it for a transient reason gets its
    // probe once the back-off has passed: by then acme would have had one.
    suspend(c, "control", transient).await;
    let probe = acquire_within(c, "control")
        .await
        .expect("the control's probe");
    assert!(probe.probe);
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::Suspended
    );
    let err = c
        .report_probe_result(pb::ReportProbeResultRequest {
            org_id: "acme".into(),
            reason: auth.into(),
            success: true,
            grant_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("reason:"), "{}", err.message());
    // A transient reason beside it lets no probe through either: again
    // until a control suspended after it has had its probe.
    suspend(c, "acme", transient).await;
    set_budget(c, "control-2", budget(100, 50)).await;
    suspend(c, "control-2", transient).await;
    let probe = acquire_within(c, "control-2")
        .await
        .expect("the control's probe");
    assert!(probe.probe);
    assert_eq!(
        denied_for(&acquire(c, "acme", 1, pb::Priority::Critical).await),
        pb::DenyReason::Suspended
    );
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

/// A budget of `allocation` out of `org_limit`, in shadow mode.
fn shadow_budget(org_limit: u64, allocation: u64) -> pb::Budget {
    pb::Budget {
        shadow: true,
        ..budget(org_limit, allocation)
    }
}

async fn shadow_mode_grants_what_the_allocation_would_deny_and_flags_it(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", shadow_budget(1_000, 100)).await;
    set_budget(c, "plain", budget(1_000, 100)).await;
    let read = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            resource: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(read.budget.unwrap().shadow, "stored with the budget");
    let listed = c
        .list_budgets(pb::ListBudgetsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let shadows: Vec<(String, bool)> = listed
        .budgets
        .iter()
        .map(|b| (b.org_id.clone(), b.budget.as_ref().unwrap().shadow))
        .collect();
    assert_eq!(
        shadows,
        [("acme".to_owned(), true), ("plain".to_owned(), false)]
    );

    // 150 calls against an allocation of 100: all go through in shadow
    // mode, the last 50 flagged with the denial they escaped.
    let mut flagged = Vec::new();
    let mut last = None;
    for _ in 0..150 {
        let reply = acquire(c, "acme", 1, pb::Priority::Critical).await;
        assert!(reply.granted, "{reply:?}");
        assert_eq!(reply.deny_reason(), pb::DenyReason::Unspecified);
        assert!(!reply.grant_id.is_empty());
        if reply.shadow_denied {
            flagged.push(reply.shadow_deny_reason());
        } else {
            assert_eq!(reply.shadow_deny_reason(), pb::DenyReason::Unspecified);
        }
        last = Some(reply);
    }
    assert_eq!(flagged.len(), 50);
    assert!(
        flagged
            .iter()
            .all(|&r| r == pb::DenyReason::AllocationExhausted)
    );
    let last = last.unwrap();
    assert_eq!((last.used, last.allocation, last.remaining), (150, 100, 0));
    assert_eq!(usage(c, "acme").await.used, 150, "usage stays true");

    // Without shadow mode the same calls stop at the allocation.
    let mut granted = 0;
    let mut refused = Vec::new();
    for _ in 0..150 {
        let reply = acquire(c, "plain", 1, pb::Priority::Critical).await;
        assert!(!reply.shadow_denied, "{reply:?}");
        if reply.granted {
            granted += 1;
        } else {
            refused.push(reply.deny_reason());
        }
    }
    assert_eq!(granted, 100);
    assert_eq!(refused.len(), 50);
    assert_eq!(refused[0], pb::DenyReason::AllocationExhausted);
    assert_eq!(usage(c, "plain").await.used, 100);

    // A share: retries stop at 75 % of the allocation, or pass it flagged.
    set_budget(c, "share", shadow_budget(1_000, 100)).await;
    assert!(acquire(c, "share", 75, pb::Priority::Retry).await.granted);
    let over = acquire(c, "share", 5, pb::Priority::Retry).await;
    assert!(over.granted && over.shadow_denied, "{over:?}");
    assert_eq!(
        over.shadow_deny_reason(),
        pb::DenyReason::PriorityShareExhausted
    );

    // The stream says the same, and a shadow grant hands back like any.
    let ask = pb::AcquireTokensRequest {
        org_id: "acme".into(),
        count: 10,
        priority: pb::Priority::Normal.into(),
        ..Default::default()
    };
    let (replies, end) = stream_of(c, vec![ask.clone(), ask]).await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(replies.len(), 2);
    for reply in &replies {
        assert!(reply.granted && reply.shadow_denied, "{reply:?}");
        assert_eq!(
            reply.shadow_deny_reason(),
            pb::DenyReason::AllocationExhausted
        );
    }
    assert_eq!(replies[1].used, 170);
    let back = release(c, "acme", &replies[1].grant_id, 10).await;
    assert_eq!((back.released, back.used), (10, 160));

    // Shadow mode off again: the allocation binds at once.
    set_budget(c, "acme", budget(1_000, 100)).await;
    let denied = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&denied), pb::DenyReason::AllocationExhausted);
    assert!(!denied.shadow_denied);
    env.governor.shutdown().await;
}

async fn shadow_mode_never_passes_the_org_limit_nor_a_suspension(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", shadow_budget(120, 100)).await;
    let big = acquire(c, "acme", 110, pb::Priority::Critical).await;
    assert!(big.granted && big.shadow_denied, "{big:?}");
    // A lease past the allocation takes only what the org limit leaves.
    let rest = lease(c, "acme", 1, 50).await;
    assert!(rest.granted && rest.shadow_denied, "{rest:?}");
    assert_eq!((rest.granted_count, rest.used), (10, 120));
    let over = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&over), pb::DenyReason::OrgLimitExhausted);
    assert!(!over.shadow_denied);
    assert_eq!(usage(c, "acme").await.used, 120, "never past the org limit");
    // The org limit denial suspends the org as it always does; shadow
    // mode lets nothing through a suspension.
    let after = acquire(c, "acme", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&after), pb::DenyReason::Suspended);

    set_budget(c, "globex", shadow_budget(1_000, 10)).await;
    suspend(c, "globex", tx::SuspensionReason::SalesforceAuthFailed).await;
    let suspended = acquire(c, "globex", 1, pb::Priority::Critical).await;
    assert_eq!(denied_for(&suspended), pb::DenyReason::Suspended);
    assert!(!suspended.shadow_denied);
    // Nor does it take bad input.
    let err = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "globex".into(),
            count: 2_000_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("count:"), "{}", err.message());
    env.governor.shutdown().await;
}

async fn shadow_mode_answers_envoy_ok_with_a_header(backend: Backend) {
    use envoy_rls::{Code, ask, descriptor};
    let mut env = Env::start(backend, Settings::default()).await;
    let channel = env.governor.channel().await;
    let c = &mut env.client;
    set_budget(c, "acme", shadow_budget(100, 4)).await;
    let acme = || vec![descriptor(&[("org_id", "acme"), ("priority", "critical")])];
    let within = ask(channel.clone(), "salesforce-sync", acme(), 4)
        .await
        .unwrap();
    assert_eq!(within.overall_code, Code::Ok as i32);
    assert!(within.response_headers_to_add.is_empty(), "{within:?}");
    let past = ask(channel.clone(), "salesforce-sync", acme(), 1)
        .await
        .unwrap();
    assert_eq!(past.overall_code, Code::Ok as i32, "{past:?}");
    assert_eq!(past.statuses[0].code, Code::Ok as i32);
    assert_eq!(past.statuses[0].limit_remaining, 0);
    let headers: Vec<(&str, &str)> = past
        .response_headers_to_add
        .iter()
        .map(|h| (h.key.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        headers,
        [("x-syncgov-shadow-denied", "allocation_exhausted")]
    );
    assert_eq!(usage(c, "acme").await.used, 5);
    env.governor.shutdown().await;
}

/// `t` in milliseconds since the epoch.
fn ms_of(t: &Timestamp) -> i64 {
    t.seconds * 1_000 + i64::from(t.nanos) / 1_000_000
}

async fn usage_forecasts_when_the_allocation_runs_out(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(1_000, 100)).await;
    set_budget(c, "idle", budget(1_000, 100)).await;

    // No calls: no rate, and the allocation never runs out.
    let idle = usage(c, "idle").await;
    assert_eq!(idle.calls_per_hour, 0.0);
    assert_eq!(idle.recent_calls, 0);
    assert!(idle.exhausted_at.is_none(), "{idle:?}");

    // 10 calls in the last hour: 90 more at that rate, none of the 10
    // leaving the window before then.
    for _ in 0..10 {
        assert!(acquire(c, "acme", 1, pb::Priority::Normal).await.granted);
    }
    let u = usage(c, "acme").await;
    assert_eq!((u.used, u.recent_calls), (10, 10));
    let span = u.rate_measured_over.expect("the span of the rate");
    let span_ms = span.seconds * 1_000 + i64::from(span.nanos) / 1_000_000;
    // At least one bucket (60 s), at most the hour of buckets.
    assert!((60_000..=3_600_000).contains(&span_ms), "{span_ms}");
    let per_hour = 10.0 * 3_600_000.0 / span_ms as f64;
    assert!((u.calls_per_hour - per_hour).abs() < 1e-6, "{u:?}");
    let as_of = ms_of(u.as_of.as_ref().unwrap());
    let at = ms_of(u.exhausted_at.as_ref().expect("a steady rate runs out"));
    assert_eq!(at - as_of, (90 * span_ms + 9) / 10, "ceil(90 × span / 10)");
    assert!(at - as_of <= 86_400_000, "within the window");

    // Used up: it runs out now.
    assert!(acquire(c, "acme", 90, pb::Priority::Critical).await.granted);
    let full = usage(c, "acme").await;
    assert_eq!(full.exhausted_at, full.as_of, "{full:?}");
    env.governor.shutdown().await;
}

/// The rows of a usage's top consumers: (client, object, operation, tokens).
fn consumer_rows(u: &pb::GetUsageResponse) -> Vec<(String, String, String, u64)> {
    u.top_consumers
        .iter()
        .map(|c| {
            (
                c.client_id.clone(),
                c.object.clone(),
                c.operation.clone(),
                c.tokens,
            )
        })
        .collect()
}

fn row(client: &str, object: &str, operation: &str, tokens: u64) -> (String, String, String, u64) {
    (client.into(), object.into(), operation.into(), tokens)
}

async fn usage_names_the_consumers_that_took_the_most(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100_000, 50_000)).await;
    set_budget(c, "initech", budget(100_000, 50_000)).await;
    let granted = |r: Result<pb::AcquireTokensResponse, tonic::Status>| r.unwrap().granted;
    assert!(granted(
        acquire_as(c, "acme", 30, ("worker-a", "", "")).await
    ));
    assert!(granted(
        acquire_as(c, "acme", 70, ("worker-b", "", "")).await
    ));
    assert!(granted(
        acquire_as(c, "initech", 5, ("worker-c", "", "")).await
    ));

    // Not asked for: none listed.
    let plain = usage(c, "acme").await;
    assert!(plain.top_consumers.is_empty(), "{plain:?}");
    assert_eq!(plain.consumer_cap, 32);

    let u = usage_by_consumer(c, "acme", 10).await;
    assert_eq!(
        consumer_rows(&u),
        [row("worker-b", "", "", 70), row("worker-a", "", "", 30)]
    );
    assert_eq!(
        (u.consumer_count, u.other_tokens, u.other_named_tokens),
        (2, 0, 0)
    );

    // Object and operation split a worker's tokens; a stream's requests
    // are attributed as one by one; a denial counts for nobody.
    assert!(granted(
        acquire_as(c, "acme", 40, ("worker-a", "Contact", "query")).await
    ));
    let request = |count: u64, object: &str, operation: &str| pb::AcquireTokensRequest {
        org_id: "acme".into(),
        resource: pb::Resource::ApiRequests.into(),
        count,
        client_id: "worker-a".into(),
        object: object.into(),
        operation: operation.into(),
        ..Default::default()
    };
    let (replies, end) = stream_of(
        c,
        vec![
            request(15, "Invoice__c", "bulk-insert"),
            request(5, "Contact", "query"),
            request(60_000, "Contact", "query"),
        ],
    )
    .await;
    assert!(end.is_none(), "{end:?}");
    assert_eq!(
        replies.iter().map(|r| r.granted).collect::<Vec<_>>(),
        [true, true, false]
    );
    let u = usage_by_consumer(c, "acme", 10).await;
    assert_eq!(u.used, 160);
    assert_eq!(
        consumer_rows(&u),
        [
            row("worker-b", "", "", 70),
            row("worker-a", "Contact", "query", 45),
            row("worker-a", "", "", 30),
            row("worker-a", "Invoice__c", "bulk-insert", 15),
        ]
    );

    // The top 2: the rest is summed.
    let u = usage_by_consumer(c, "acme", 2).await;
    assert_eq!(u.top_consumers.len(), 2);
    assert_eq!((u.consumer_count, u.other_named_tokens), (4, 45));

    // Another org's consumers stay its own.
    let other = usage_by_consumer(c, "initech", 10).await;
    assert_eq!(consumer_rows(&other), [row("worker-c", "", "", 5)]);
    env.governor.shutdown().await;
}

async fn a_bucket_names_at_most_the_cap_of_consumers(backend: Backend) {
    // One bucket a day, so that every grant of the test lands in the same
    // bucket (the cap is per bucket).
    let settings = Settings {
        window: Duration::from_secs(86_400),
        bucket: Duration::from_secs(86_400),
        ..Settings::default()
    };
    let mut env = Env::start(backend, settings).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100_000, 50_000)).await;
    for i in 0..40u64 {
        let client = format!("made-up-{i:02}");
        // 1 to 40 tokens: the later the more, so the top is by tokens.
        let reply = acquire_as(c, "acme", i + 1, (&client, "", ""))
            .await
            .unwrap();
        assert!(reply.granted, "{reply:?}");
    }
    let u = usage_by_consumer(c, "acme", 32).await;
    assert_eq!(u.used, (1..=40).sum::<u64>());
    assert_eq!(u.consumer_count, 32, "the first 32 to ask are named");
    assert_eq!(u.consumer_cap, 32);
    assert_eq!(
        u.other_tokens,
        (33..=40).sum::<u64>(),
        "the rest under (other)"
    );
    assert_eq!(u.top_consumers.len(), 32);
    assert_eq!(u.top_consumers[0].client_id, "made-up-31");
    assert_eq!(u.top_consumers[0].tokens, 32);
    let listed: u64 = u.top_consumers.iter().map(|c| c.tokens).sum();
    assert_eq!(listed + u.other_named_tokens + u.other_tokens, u.used);
    // A named consumer keeps counting under its name.
    assert!(
        acquire_as(c, "acme", 100, ("made-up-00", "", ""))
            .await
            .unwrap()
            .granted
    );
    let u = usage_by_consumer(c, "acme", 1).await;
    assert_eq!(consumer_rows(&u), [row("made-up-00", "", "", 101)]);
    env.governor.shutdown().await;
}

async fn consumer_fields_are_refused_naming_the_field(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", budget(100, 50)).await;
    for (consumer, field) in [
        (("w", "Contact__c!", ""), "object"),
        (("w", "Con tact", ""), "object"),
        (("w", "", "UPSERT"), "operation"),
        (("w", "", "up\u{1f}sert"), "operation"),
    ] {
        let err = acquire_as(c, "acme", 1, consumer).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{consumer:?}");
        assert!(
            err.message()
                .starts_with(&format!("{field}: must be empty or 1 to")),
            "{consumer:?}: {}",
            err.message()
        );
    }
    let err = c
        .get_usage(pb::GetUsageRequest {
            org_id: "acme".into(),
            resource: pb::Resource::ApiRequests.into(),
            top_consumers: 33,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(err.message(), "top_consumers: must be 0 (none) to 32");
    // Nothing was counted by the refusals.
    assert_eq!(usage(c, "acme").await.used, 0);
    env.governor.shutdown().await;
}

async fn envoy_descriptors_may_name_their_consumer(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    set_budget(&mut env.client, "acme", budget(1_000, 500)).await;
    let channel = env.governor.channel().await;
    let named = envoy_rls::descriptor(&[
        ("org_id", "acme"),
        ("client_id", "egress"),
        ("object", "Contact"),
        ("operation", "query"),
    ]);
    let reply = envoy_rls::ask(channel.clone(), "salesforce-sync", vec![named], 3)
        .await
        .unwrap();
    assert_eq!(reply.overall_code(), envoy_rls::Code::Ok);
    let unnamed = envoy_rls::descriptor(&[("org_id", "acme")]);
    let reply = envoy_rls::ask(channel.clone(), "salesforce-sync", vec![unnamed], 2)
        .await
        .unwrap();
    assert_eq!(reply.overall_code(), envoy_rls::Code::Ok);
    let u = usage_by_consumer(&mut env.client, "acme", 10).await;
    assert_eq!(
        consumer_rows(&u),
        [row("egress", "Contact", "query", 3), row("", "", "", 2)]
    );
    // A bad entry is refused whole, naming it; nothing is counted.
    let bad = envoy_rls::descriptor(&[("org_id", "acme"), ("object", "Contact.Name")]);
    let err = envoy_rls::ask(channel, "salesforce-sync", vec![bad], 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("descriptors.object:"),
        "{}",
        err.message()
    );
    assert_eq!(usage(&mut env.client, "acme").await.used, 5);
    env.governor.shutdown().await;
}
