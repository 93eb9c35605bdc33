//! Two ways of deciding that must give the same answers, compared reply by
//! reply on Redis: coalesced batches (`--coalesce true`, one
//! `acquire_many.lua` call deciding what arrived together) against one
//! script call per decision, and `AcquireTokensStream` against unary
//! `AcquireTokens`. The same sequence of requests goes both ways, and every
//! field of every reply is compared: grants and their counts, denials and
//! their reasons, `used`, `allocation`, `remaining`, `retry_after`, the
//! grant ids (what they grant, and what handing them back does), probes,
//! suspensions, the org-wide view; then each org's usage.
//!
//! The sequence is deterministic: many orgs with budgets of their own,
//! asked round after round for all-or-nothing tokens, leases, priorities
//! past their share and counts past the allocation, with an org-wide usage
//! reported, a suspension and an org without a budget among them. Within a
//! round each org is asked once, all orgs at the same time (so the
//! coalescing side gets batches of several orgs, and a stream carries many
//! requests at once); rounds follow one another, so each org's own requests
//! come in the same order both ways.

use std::time::{Duration, Instant};

use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::governor::{budget, stream_of};
use syncgov_tests::{RedisServer, Service};
use tonic::transport::Channel;

/// Orgs asked in every round.
const ORGS: usize = 24;
/// Rounds of requests.
const ROUNDS: usize = 12;

/// A governor on a Redis of its own.
struct Side {
    _redis: RedisServer,
    _governor: Service,
    client: QuotaGovernorClient<Channel>,
}

impl Side {
    async fn start(coalesce: bool) -> Self {
        let redis = RedisServer::start();
        let governor = Service::governor(Settings {
            coalesce,
            server: ServerSettings {
                redis_url: Some(redis.url().parse().unwrap()),
                // What is compared does not depend on speed.
                redis_timeout: Duration::from_secs(30),
                ..ServerSettings::default()
            },
            ..Settings::default()
        })
        .await;
        let client = QuotaGovernorClient::new(governor.channel().await);
        Self {
            _redis: redis,
            _governor: governor,
            client,
        }
    }
}

/// Org `i` of a set named `prefix`.
fn org(prefix: &str, i: usize) -> String {
    format!("{prefix}-{i:02}")
}

/// The budgets, usage reports and suspension every org set starts with:
/// the same for both sides. The last org has no budget (UNKNOWN_ORG).
async fn set_up(c: &mut QuotaGovernorClient<Channel>, prefix: &str) {
    for i in 0..ORGS - 1 {
        let mut b = budget(200 + 10 * i as u64, 40 + 3 * i as u64);
        if i % 4 == 1 {
            b.shares = Some(pb::PriorityShares {
                retry_percent: 50,
                normal_percent: 80,
                critical_percent: 100,
            });
        }
        c.set_budget(pb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: org(prefix, i),
            resource: 0,
            budget: Some(b),
        })
        .await
        .expect("SetBudget");
    }
    // Another app has used most of org 3's limit: the org-wide view stops
    // its grants short of it.
    c.report_org_usage(pb::ReportOrgUsageRequest {
        org_id: org(prefix, 3),
        limit_info: "api-usage=205/230".into(),
        ..Default::default()
    })
    .await
    .expect("ReportOrgUsage");
    // Org 5 is suspended until an operator clears it.
    c.suspend(pb::SuspendRequest {
        org_id: org(prefix, 5),
        reason: tx::SuspensionReason::SalesforceAuthFailed.into(),
        detail: "INVALID_SESSION_ID: Session expired or invalid".into(),
    })
    .await
    .expect("Suspend");
}

/// Request `round` of org `i`: counts, leases and priorities that take
/// each org through grants, leases cut short, priority shares and the
/// allocation running out.
fn request(prefix: &str, round: usize, i: usize) -> pb::AcquireTokensRequest {
    let step = round * 7 + i * 3;
    let priority = [
        pb::Priority::Normal,
        pb::Priority::Retry,
        pb::Priority::Critical,
        pb::Priority::Unspecified,
    ][step % 4];
    let count = [1, 3, 7, 12, 30, 2, 5][step % 7];
    // Every third request is a lease: as many as fit, at least a few.
    let min_count = if step.is_multiple_of(3) {
        1 + count / 4
    } else {
        0
    };
    pb::AcquireTokensRequest {
        org_id: org(prefix, i),
        resource: 0,
        count,
        priority: priority.into(),
        client_id: format!("worker-{}", i % 3),
        min_count,
        object: String::new(),
        operation: String::new(),
    }
}

/// What a grant id grants, as its text says: `g3.<bucket>.<count>.…`.
fn granted_by(grant_id: &str) -> Option<(String, String)> {
    let mut parts = grant_id.split('.');
    let version = parts.next()?;
    let _bucket = parts.next()?;
    let count = parts.next()?;
    Some((version.to_owned(), count.to_owned()))
}

/// `d` in milliseconds.
/// The governor's default bucket, in ms (a 24 h window of 60 s buckets).
const BUCKET_MS: i64 = 60_000;

fn ms(d: &prost_types::Duration) -> i64 {
    d.seconds * 1_000 + i64::from(d.nanos) / 1_000_000
}

/// Checks that two replies to the same request are the same answer.
/// `retry_after` counts down with the clock, so the two may differ by as
/// much as the time that passed between the two decisions, `apart`.
fn same_reply(
    a: &pb::AcquireTokensResponse,
    b: &pb::AcquireTokensResponse,
    apart: Duration,
    at: &str,
) {
    assert_eq!(
        (
            a.granted,
            a.granted_count,
            a.deny_reason,
            a.used,
            a.allocation,
            a.remaining,
            a.suspension_reason,
            a.probe,
            a.emergency,
        ),
        (
            b.granted,
            b.granted_count,
            b.deny_reason,
            b.used,
            b.allocation,
            b.remaining,
            b.suspension_reason,
            b.probe,
            b.emergency,
        ),
        "{at}: {a:?} against {b:?}"
    );
    match (&a.retry_after, &b.retry_after) {
        (None, None) => {}
        (Some(x), Some(y)) => {
            // Two decisions on either side of a bucket's end: the later one's
            // calls free up with the next bucket, a bucket later.
            let off = (ms(x) - ms(y)).abs();
            let slack = apart.as_millis() as i64 + 1;
            assert!(
                off <= slack || (off - BUCKET_MS).abs() <= slack,
                "{at}: retry_after {x:?} against {y:?}, decided at most {apart:?} apart"
            )
        }
        _ => panic!(
            "{at}: retry_after {:?} against {:?}",
            a.retry_after, b.retry_after
        ),
    }
    assert_eq!(
        granted_by(&a.grant_id),
        granted_by(&b.grant_id),
        "{at}: grant ids {:?} and {:?}",
        a.grant_id,
        b.grant_id
    );
}

/// What a sequence of replies went through, so that a test can check its
/// sequence reached every kind of answer it compares.
#[derive(Default)]
struct Seen(std::collections::BTreeSet<String>);

impl Seen {
    fn note(&mut self, request: &pb::AcquireTokensRequest, reply: &pb::AcquireTokensResponse) {
        let kind = if reply.granted && reply.granted_count < request.count {
            "a lease cut short".to_owned()
        } else if reply.granted {
            "a grant".to_owned()
        } else {
            format!("{:?}", reply.deny_reason())
        };
        self.0.insert(kind);
    }

    fn assert_all(&self) {
        for kind in [
            "a grant",
            "a lease cut short",
            "AllocationExhausted",
            "PriorityShareExhausted",
            "OrgLimitExhausted",
            "Suspended",
            "UnknownOrg",
        ] {
            assert!(
                self.0.contains(kind),
                "the sequence never gave {kind}: {:?}",
                self.0
            );
        }
    }
}

/// Hands back one token of each grant of `replies` through `c`, then the
/// same grant again: the answers of one side.
async fn hand_back(
    c: &mut QuotaGovernorClient<Channel>,
    replies: &[(String, pb::AcquireTokensResponse)],
) -> Vec<(u64, u64, i32)> {
    let mut answers = Vec::new();
    for (org, reply) in replies
        .iter()
        .filter(|(_, r)| r.granted && r.granted_count > 1)
    {
        for _ in 0..2 {
            let released = c
                .release_tokens(pb::ReleaseTokensRequest {
                    org_id: org.clone(),
                    resource: 0,
                    count: 1,
                    grant_id: reply.grant_id.clone(),
                })
                .await
                .expect("ReleaseTokens")
                .into_inner();
            answers.push((released.released, released.used, released.outcome));
        }
    }
    answers
}

/// Each org's usage, as `GetUsage` reports it (orgs without a budget
/// skipped): used, allocation, remaining per priority and the org-wide
/// estimate. Not the calls that free up next: which bucket a call lands in
/// depends on when each side ran, and the sides run one after the other.
async fn usages(
    c: &mut QuotaGovernorClient<Channel>,
    prefix: &str,
) -> Vec<(u64, u64, Vec<u64>, u64)> {
    let mut all = Vec::new();
    for i in 0..ORGS - 1 {
        let u = c
            .get_usage(pb::GetUsageRequest {
                org_id: org(prefix, i),
                resource: 0,
                top_consumers: 0,
            })
            .await
            .expect("GetUsage")
            .into_inner();
        all.push((
            u.used,
            u.allocation,
            u.remaining.iter().map(|p| p.remaining).collect(),
            u.org_used_estimate,
        ));
    }
    all
}

/// Sends one round's requests to `c` all at once, unary, and returns the
/// replies in org order.
async fn round_at_once(
    c: &QuotaGovernorClient<Channel>,
    requests: &[pb::AcquireTokensRequest],
) -> Vec<pb::AcquireTokensResponse> {
    let calls: Vec<_> = requests
        .iter()
        .cloned()
        .map(|request| {
            let mut c = c.clone();
            tokio::spawn(async move {
                c.acquire_tokens(request)
                    .await
                    .expect("AcquireTokens")
                    .into_inner()
            })
        })
        .collect();
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.expect("a call"));
    }
    replies
}

/// Sends one round's requests to `c` one after the other.
async fn round_one_by_one(
    c: &mut QuotaGovernorClient<Channel>,
    requests: &[pb::AcquireTokensRequest],
) -> Vec<pb::AcquireTokensResponse> {
    let mut replies = Vec::new();
    for request in requests {
        replies.push(
            c.acquire_tokens(request.clone())
                .await
                .expect("AcquireTokens")
                .into_inner(),
        );
    }
    replies
}

/// Decisions the Redis of `side` ran scripts for, and how many script
/// calls that took (`INFO commandstats`).
async fn script_calls(redis: &RedisServer) -> u64 {
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let info: String = ::redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_eval:"))
        .filter_map(|l| {
            l.split("calls=")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn coalesced_batches_answer_as_one_by_one() {
    let started = Instant::now();
    let mut coalesced = Side::start(true).await;
    let mut single = Side::start(false).await;
    set_up(&mut coalesced.client, "org").await;
    set_up(&mut single.client, "org").await;
    let scripts_before = script_calls(&coalesced._redis).await;
    let mut decisions = 0;
    let mut seen = Seen::default();
    for round in 0..ROUNDS {
        let requests: Vec<_> = (0..ORGS).map(|i| request("org", round, i)).collect();
        let batched = round_at_once(&coalesced.client, &requests).await;
        let one_by_one = round_one_by_one(&mut single.client, &requests).await;
        decisions += requests.len() as u64;
        for (i, (a, b)) in batched.iter().zip(&one_by_one).enumerate() {
            same_reply(a, b, started.elapsed(), &format!("round {round}, org {i}"));
            seen.note(&requests[i], b);
        }
        if round % 4 == 3 {
            let orgs: Vec<String> = requests.iter().map(|r| r.org_id.clone()).collect();
            let with = |replies: &[pb::AcquireTokensResponse]| -> Vec<(String, pb::AcquireTokensResponse)> {
                orgs.iter().cloned().zip(replies.iter().cloned()).collect()
            };
            assert_eq!(
                hand_back(&mut coalesced.client, &with(&batched)).await,
                hand_back(&mut single.client, &with(&one_by_one)).await,
                "round {round}: handing grants back"
            );
        }
    }
    assert_eq!(
        usages(&mut coalesced.client, "org").await,
        usages(&mut single.client, "org").await
    );
    seen.assert_all();
    let scripts = script_calls(&coalesced._redis).await - scripts_before;
    println!(
        "coalesced: {decisions} decisions (and releases) in {scripts} script calls; {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streamed_requests_are_decided_as_unary_ones() {
    let started = Instant::now();
    // One governor, one Redis: two sets of orgs with the same budgets, one
    // asked over a stream, the other with unary calls one by one.
    let mut side = Side::start(false).await;
    set_up(&mut side.client, "s").await;
    set_up(&mut side.client, "u").await;
    let mut seen = Seen::default();
    for round in 0..ROUNDS {
        let streamed: Vec<_> = (0..ORGS).map(|i| request("s", round, i)).collect();
        let unary: Vec<_> = (0..ORGS).map(|i| request("u", round, i)).collect();
        let (over_stream, ended) = stream_of(&mut side.client, streamed.clone()).await;
        assert!(
            ended.is_none(),
            "round {round}: the stream ended with {ended:?}"
        );
        assert_eq!(over_stream.len(), streamed.len(), "one reply per request");
        let one_by_one = round_one_by_one(&mut side.client, &unary).await;
        for (i, (a, b)) in over_stream.iter().zip(&one_by_one).enumerate() {
            same_reply(a, b, started.elapsed(), &format!("round {round}, org {i}"));
            seen.note(&unary[i], b);
        }
        if round % 4 == 3 {
            let with = |reqs: &[pb::AcquireTokensRequest],
                        replies: &[pb::AcquireTokensResponse]| {
                reqs.iter()
                    .map(|r| r.org_id.clone())
                    .zip(replies.iter().cloned())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                hand_back(&mut side.client, &with(&streamed, &over_stream)).await,
                hand_back(&mut side.client, &with(&unary, &one_by_one)).await,
                "round {round}: handing grants back"
            );
        }
    }
    assert_eq!(
        usages(&mut side.client, "s").await,
        usages(&mut side.client, "u").await
    );
    seen.assert_all();
}
