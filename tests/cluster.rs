//! Both services on a Redis Cluster: where their keys land (every key of an
//! org in the org's slot, the shared resync queue over several slots), and
//! decisions and ingest going on through the failover of a master to its
//! replica, with nothing granted twice over the budget and nothing
//! acknowledged lost. The behaviour suites run on a cluster too
//! (`tests/governor_behaviour.rs`, `tests/sync_errors_behaviour.rs`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings as ErrorsSettings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::cluster::RedisCluster;
use syncgov_tests::{Process, Service, eventually};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

fn nodes(cluster: &RedisCluster) -> Vec<quota_governor::config::RedisUrl> {
    cluster.seeds().iter().map(|s| s.parse().unwrap()).collect()
}

/// A governor and a sync-error service (telling the governor about
/// suspensions) on `cluster`.
async fn services(cluster: &RedisCluster, coalesce: bool) -> (Service, Service) {
    let governor = Service::governor(GovernorSettings {
        coalesce,
        server: ServerSettings {
            redis_cluster_nodes: nodes(cluster),
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let errors = Service::sync_errors(ErrorsSettings {
        governor_addr: Some(format!("http://{}", governor.addr())),
        // The notifications' webhook, a loopback port nobody answers on.
        webhook_allow: vec!["127.0.0.1:9".parse().unwrap()],
        server: ServerSettings {
            redis_cluster_nodes: nodes(cluster),
            ..ServerSettings::default()
        },
        ..ErrorsSettings::default()
    })
    .await;
    (governor, errors)
}

fn failure(key: &str, record: &str, status_code: &str, message: &str) -> errors::Failure {
    errors::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: record.into(),
        direction: errors::Direction::ToSalesforce.into(),
        status_code: status_code.into(),
        message: message.into(),
        ..Default::default()
    }
}

fn too_long(key: &str, record: &str) -> errors::Failure {
    failure(
        key,
        record,
        "STRING_TOO_LONG",
        "Description: data value too large: x (max length=255)",
    )
}

async fn set_budget(c: &mut QuotaGovernorClient<Channel>, org: &str, resource: i32, n: u64) {
    c.set_budget(quota::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource,
        budget: Some(quota::Budget {
            org_limit: 2 * n,
            allocation: n,
            ..Default::default()
        }),
    })
    .await
    .expect("SetBudget");
}

/// A critical request: its share is the whole allocation.
fn acquire_request(org: &str, count: u64) -> quota::AcquireTokensRequest {
    quota::AcquireTokensRequest {
        org_id: org.into(),
        resource: quota::Resource::ApiRequests.into(),
        count,
        priority: quota::Priority::Critical.into(),
        client_id: "worker-1".into(),
        min_count: 0,
        object: String::new(),
        operation: String::new(),
    }
}

async fn ingest(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    failures: Vec<errors::Failure>,
) -> Vec<errors::IngestResult> {
    c.ingest_errors(errors::IngestErrorsRequest {
        org_id: org.into(),
        failures,
    })
    .await
    .expect("IngestErrors")
    .into_inner()
    .results
}

/// The part of `key` between its first `{` and the next `}`: what Redis
/// Cluster hashes.
fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    Some(&key[open + 1..open + 1 + close]).filter(|tag| !tag.is_empty())
}

/// Keys shared by every org, each a single key: read and written by plain
/// commands, never inside an org's script.
const SHARED_KEYS: [&str; 4] = [
    "syncgov:errors:outbox-orgs",
    "syncgov:errors:notify-orgs",
    "syncgov:errors:suspension-cursor",
    "syncgov:quota:grant-key",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_of_an_org_lands_in_its_slot() {
    let cluster = syncgov_tests::cluster::lease();
    let (governor, errors_service) = services(&cluster, true).await;
    let mut gov = QuotaGovernorClient::new(governor.channel().await);
    let mut err = SyncErrorsClient::new(errors_service.channel().await);
    let orgs = ["acme", "globex", "initech"];
    for org in orgs {
        // The governor: budgets of both resources, grants, a hand-back, an
        // org-wide report.
        set_budget(&mut gov, org, quota::Resource::ApiRequests.into(), 100).await;
        set_budget(&mut gov, org, quota::Resource::BulkBatches.into(), 10).await;
        let grant = gov
            .acquire_tokens(acquire_request(org, 5))
            .await
            .expect("AcquireTokens")
            .into_inner();
        assert!(grant.granted, "{grant:?}");
        gov.release_tokens(quota::ReleaseTokensRequest {
            org_id: org.into(),
            resource: 0,
            count: 2,
            grant_id: grant.grant_id,
        })
        .await
        .expect("ReleaseTokens");
        gov.report_org_usage(quota::ReportOrgUsageRequest {
            org_id: org.into(),
            resource: 0,
            limit_info: "api-usage=10/200".into(),
            ..Default::default()
        })
        .await
        .expect("ReportOrgUsage");
        // The sync-error service: notifications on, record errors and a
        // suspension-level failure (to the outbox, then the governor), a
        // resync, a job claimed and failed, a record resolved.
        err.update_notification_settings(errors::UpdateNotificationSettingsRequest {
            org_id: org.into(),
            settings: Some(errors::NotificationSettings {
                enabled: true,
                frequency: errors::NotificationFrequency::Immediately.into(),
                webhook_url: "http://127.0.0.1:9/hooks".into(),
                webhook_secret: "a-secret-of-enough-length".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("UpdateNotificationSettings");
        let results = ingest(
            &mut err,
            org,
            vec![
                too_long("k1", "c1"),
                too_long("k2", "c2"),
                failure(
                    "k3",
                    "c3",
                    "INVALID_EMAIL_ADDRESS",
                    "invalid email address: XX",
                ),
                failure(
                    "k4",
                    "c4",
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                ),
            ],
        )
        .await;
        let queued = err
            .resync_errors(errors::ResyncErrorsRequest {
                org_id: org.into(),
                error_ids: vec![results[0].error_id.clone(), results[1].error_id.clone()],
            })
            .await
            .expect("ResyncErrors")
            .into_inner()
            .results;
        assert!(queued.iter().all(|q| !q.job_id.is_empty()), "{queued:?}");
        err.resolve_record(errors::ResolveRecordRequest {
            org_id: org.into(),
            object_type: "Contact".into(),
            crm_record_id: "c3".into(),
        })
        .await
        .expect("ResolveRecord");
    }
    // Jobs of every org, claimed (some left in flight) and failed once.
    let jobs = err
        .claim_resync_jobs(errors::ClaimResyncJobsRequest {
            worker_id: "w1".into(),
            max_jobs: 100,
            visibility_timeout: Some(prost_types::Duration {
                seconds: 60,
                nanos: 0,
            }),
        })
        .await
        .expect("ClaimResyncJobs")
        .into_inner()
        .jobs;
    assert_eq!(jobs.len(), 2 * orgs.len(), "{jobs:?}");
    for job in jobs.iter().step_by(2) {
        use errors::complete_resync_job_request::Outcome;
        err.complete_resync_job(errors::CompleteResyncJobRequest {
            job_id: job.job_id.clone(),
            lease_id: job.lease_id.clone(),
            outcome: Some(Outcome::Failure(too_long(
                &format!("retry-{}", job.job_id),
                &job.crm_record_id,
            ))),
        })
        .await
        .expect("CompleteResyncJob");
    }
    // The relay told the governor of every org's suspension-level failure.
    let told = eventually(Duration::from_secs(20), || {
        let mut gov = gov.clone();
        async move {
            for org in orgs {
                let active = gov
                    .list_suspensions(quota::ListSuspensionsRequest {
                        org_id: org.into(),
                        ..Default::default()
                    })
                    .await
                    .expect("ListSuspensions")
                    .into_inner()
                    .suspensions;
                if active.is_empty() {
                    return false;
                }
            }
            true
        }
    })
    .await;
    assert!(told, "the relay did not tell the governor of every org");

    // Every key written, found on the masters.
    let keys = cluster.keys("*");
    let mut by_org: BTreeMap<&str, Vec<(u16, String)>> = BTreeMap::new();
    let mut shared = Vec::new();
    for (port, key) in &keys {
        match hash_tag(key) {
            Some(tag) if orgs.contains(&tag) => by_org
                .entry(orgs.iter().find(|o| **o == tag).unwrap())
                .or_default()
                .push((*port, key.clone())),
            _ => shared.push(key.clone()),
        }
    }
    for org in orgs {
        let mine = &by_org[org];
        let slot = cluster.keyslot(&format!("{{{org}}}"));
        let master = cluster.master_of_slot(slot);
        let slots: BTreeSet<u16> = mine.iter().map(|(_, k)| cluster.keyslot(k)).collect();
        assert_eq!(slots, BTreeSet::from([slot]), "{org}: {mine:?}");
        assert!(
            mine.iter().all(|(port, _)| *port == master),
            "{org}: {mine:?}"
        );
        // The keys looked at are the real ones: of both services, of every
        // kind.
        for part in [
            ":api:budget",
            ":bulk:budget",
            ":api:window:",
            ":api:org",
            ":e:",
            ":counts",
            ":ix:all",
            ":ix:resolved",
            ":rec:",
            ":idem:",
            ":susp",
            ":notify",
        ] {
            assert!(
                mine.iter().any(|(_, k)| k.contains(part)),
                "{org}: no key with {part} in {mine:?}"
            );
        }
    }
    // What is not an org's is the shared queue (slots of its own, below),
    // the governor's suspensions and its fleet indexes (one hash tag each),
    // each service's audit trail (one stream, one hash tag), and a few
    // single keys.
    for key in &shared {
        let allowed = key.starts_with("syncgov:resync:{q")
            || key.starts_with("syncgov:quota:{susp}:")
            || key.starts_with("syncgov:quota:{fleet}:")
            || key.starts_with("syncgov:errors:{fleet}:")
            || key.starts_with("syncgov:quota:{audit}:")
            || key.starts_with("syncgov:errors:{audit}:")
            || SHARED_KEYS.contains(&key.as_str());
        assert!(allowed, "a key of no org and no shared kind: {key}");
    }
    assert!(
        shared
            .iter()
            .any(|k| k.starts_with("syncgov:quota:{susp}:"))
    );
    drop((governor, errors_service));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resync_queue_spreads_over_slots_and_every_job_is_done_once() {
    let cluster = syncgov_tests::cluster::lease();
    let (governor, errors_service) = services(&cluster, false).await;
    let mut err = SyncErrorsClient::new(errors_service.channel().await);
    // Three errors for each of many orgs, all resynced.
    let orgs: Vec<String> = (0..40).map(|i| format!("org-{i}")).collect();
    let mut expected = HashSet::new();
    for org in &orgs {
        let results = ingest(
            &mut err,
            org,
            (0..3)
                .map(|r| too_long(&format!("k{r}"), &format!("c{r}")))
                .collect(),
        )
        .await;
        let ids: Vec<String> = results.into_iter().map(|r| r.error_id).collect();
        let queued = err
            .resync_errors(errors::ResyncErrorsRequest {
                org_id: org.clone(),
                error_ids: ids,
            })
            .await
            .expect("ResyncErrors")
            .into_inner()
            .results;
        for q in queued {
            assert!(!q.job_id.is_empty(), "{q:?}");
            expected.insert(q.job_id);
        }
    }
    // Claim a few, so that in-flight sets exist too.
    let first = err
        .claim_resync_jobs(errors::ClaimResyncJobsRequest {
            worker_id: "w1".into(),
            max_jobs: 10,
            visibility_timeout: None,
        })
        .await
        .expect("ClaimResyncJobs")
        .into_inner()
        .jobs;
    assert!(!first.is_empty());

    let queue_keys = cluster.keys("syncgov:resync:*");
    let slots: BTreeSet<u16> = queue_keys.iter().map(|(_, k)| cluster.keyslot(k)).collect();
    let masters: BTreeSet<u16> = queue_keys.iter().map(|(port, _)| *port).collect();
    assert!(slots.len() >= 8, "the queue is in slots {slots:?}");
    assert!(masters.len() >= 2, "the queue is on masters {masters:?}");
    // One shard's ready and in-flight sets share a slot: the claim script
    // moves jobs between them.
    for (_, key) in &queue_keys {
        if let Some(shard) = key.strip_suffix(":inflight") {
            assert_eq!(
                cluster.keyslot(key),
                cluster.keyslot(&format!("{shard}:ready")),
                "{key}"
            );
        }
    }

    // Every job is claimed once and resolves its error.
    let mut done = HashSet::new();
    let mut jobs = first;
    loop {
        for job in &jobs {
            assert!(done.insert(job.job_id.clone()), "{} twice", job.job_id);
            use errors::complete_resync_job_request::Outcome;
            let reply = err
                .complete_resync_job(errors::CompleteResyncJobRequest {
                    job_id: job.job_id.clone(),
                    lease_id: job.lease_id.clone(),
                    outcome: Some(Outcome::Success(true)),
                })
                .await
                .expect("CompleteResyncJob")
                .into_inner();
            assert_eq!(reply.state(), errors::ErrorState::Resolved);
        }
        jobs = err
            .claim_resync_jobs(errors::ClaimResyncJobsRequest {
                worker_id: "w2".into(),
                max_jobs: 25,
                visibility_timeout: None,
            })
            .await
            .expect("ClaimResyncJobs")
            .into_inner()
            .jobs;
        if jobs.is_empty() {
            break;
        }
    }
    assert_eq!(done, expected);
    for org in &orgs {
        let health = err
            .get_sync_health(errors::GetSyncHealthRequest {
                org_id: org.clone(),
            })
            .await
            .expect("GetSyncHealth")
            .into_inner();
        assert_eq!(health.current_errors, 0, "{org}");
    }
    assert!(cluster.keys("syncgov:resync:*").is_empty());
    drop((governor, errors_service));
}

/// Calls `call` until it answers, again while it fails with UNAVAILABLE
/// (the store is failing over), counting those failures in `unavailable`.
async fn until_answered<T, F, Fut>(unavailable: &AtomicU64, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match call().await {
            Ok(reply) => return reply.into_inner(),
            Err(status) if status.code() == Code::Unavailable && Instant::now() < deadline => {
                unavailable.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
}

/// Waits until `flag` is set.
async fn until_set(flag: &AtomicBool) {
    while !flag.load(Ordering::Acquire) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn decisions_and_ingest_go_on_through_a_failover() {
    let cluster = Arc::new(RedisCluster::start(3, 1));
    let org = "failover-org";
    let slot = cluster.keyslot(&format!("{{{org}}}"));
    let master = cluster.master_of_slot(slot);
    let replica = cluster
        .replica_of(master)
        .expect("a replica of the org's master");

    // Two governor replicas (one coalescing decisions, one not) and a
    // sync-error service, all on the cluster.
    let (coalescing, errors_service) = services(&cluster, true).await;
    let single = Service::governor(GovernorSettings {
        server: ServerSettings {
            redis_cluster_nodes: nodes(&cluster),
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    const ALLOCATION: u64 = 600;
    let mut gov = QuotaGovernorClient::new(coalescing.channel().await);
    set_budget(
        &mut gov,
        org,
        quota::Resource::ApiRequests.into(),
        ALLOCATION,
    )
    .await;

    // The workers call all along: before the failover, while it goes on,
    // and after it. A worker that has done many calls before it is over
    // waits for its end, so that some calls surely come after it; then the
    // decisions go on until the budget is spent.
    let failed_over = Arc::new(AtomicBool::new(false));
    let granted = Arc::new(AtomicU64::new(0));
    let granted_after = Arc::new(AtomicU64::new(0));
    let unavailable = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for (i, channel) in [
        coalescing.channel().await,
        coalescing.channel().await,
        single.channel().await,
        single.channel().await,
    ]
    .into_iter()
    .enumerate()
    {
        let failed_over = failed_over.clone();
        let (granted, granted_after) = (granted.clone(), granted_after.clone());
        let unavailable = unavailable.clone();
        workers.spawn(async move {
            let client = QuotaGovernorClient::new(channel);
            for calls in 0.. {
                if calls == 120 {
                    until_set(&failed_over).await;
                }
                let after = failed_over.load(Ordering::Acquire);
                let reply = until_answered(&unavailable, || {
                    let mut client = client.clone();
                    async move { client.acquire_tokens(acquire_request(org, 1)).await }
                })
                .await;
                if !reply.granted {
                    // Spent: the denial that found it so, or the suspension
                    // it started (which ends when calls leave the window).
                    let spent = reply.deny_reason() == quota::DenyReason::AllocationExhausted
                        || reply.suspension_reason()
                            == tx::SuspensionReason::IntegrationApiLimitExceeded;
                    assert!(spent, "worker {i}: {reply:?}");
                    return;
                }
                granted.fetch_add(reply.granted_count, Ordering::Relaxed);
                if after {
                    granted_after.fetch_add(reply.granted_count, Ordering::Relaxed);
                }
                // Paced, so that calls spread over the failover.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            unreachable!("the budget is spent")
        });
    }
    // Ingest: batches of new failures, each sent again until acknowledged.
    let acknowledged = Arc::new(AtomicU64::new(0));
    for w in 0..2 {
        let client = SyncErrorsClient::new(errors_service.channel().await);
        let failed_over = failed_over.clone();
        let (acknowledged, unavailable) = (acknowledged.clone(), unavailable.clone());
        workers.spawn(async move {
            let mut after = 0;
            for batch in 0.. {
                if batch == 40 {
                    until_set(&failed_over).await;
                }
                let ended = failed_over.load(Ordering::Acquire);
                let failures: Vec<errors::Failure> = (0..5)
                    .map(|r| {
                        let record = format!("w{w}-b{batch}-r{r}");
                        too_long(&format!("key-{record}"), &record)
                    })
                    .collect();
                let reply = until_answered(&unavailable, || {
                    let mut client = client.clone();
                    let failures = failures.clone();
                    async move {
                        client
                            .ingest_errors(errors::IngestErrorsRequest {
                                org_id: org.into(),
                                failures,
                            })
                            .await
                    }
                })
                .await;
                assert_eq!(reply.results.len(), 5);
                acknowledged.fetch_add(5, Ordering::Relaxed);
                if ended {
                    after += 1;
                    if after == 20 {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            unreachable!("twenty batches after the failover")
        });
    }

    // The failover, once the workers are well under way.
    let started = eventually(Duration::from_secs(30), || async {
        granted.load(Ordering::Relaxed) >= 100 && acknowledged.load(Ordering::Relaxed) >= 50
    })
    .await;
    assert!(started, "the workers did not start");
    let promoted = cluster.clone();
    tokio::task::spawn_blocking(move || promoted.failover(replica))
        .await
        .expect("the failover");
    failed_over.store(true, Ordering::Release);
    assert_eq!(
        cluster.master_of_slot(slot),
        replica,
        "the replica serves the org now"
    );

    while let Some(done) = workers.join_next().await {
        done.expect("a worker");
    }

    // Decisions: never more than the allocation, and every grant counted
    // (the budget ends used up exactly; a grant counted but not answered
    // is one of the calls that failed with UNAVAILABLE).
    let usage = gov
        .get_usage(quota::GetUsageRequest {
            org_id: org.into(),
            resource: quota::Resource::ApiRequests.into(),
            top_consumers: 0,
        })
        .await
        .expect("GetUsage")
        .into_inner();
    let granted = granted.load(Ordering::Relaxed);
    let failures = unavailable.load(Ordering::Relaxed);
    assert_eq!(usage.used, ALLOCATION);
    assert!(granted <= ALLOCATION, "granted {granted} of {ALLOCATION}");
    assert!(
        granted + failures >= ALLOCATION,
        "granted {granted}, {failures} calls unavailable"
    );
    assert!(
        granted_after.load(Ordering::Relaxed) > 0,
        "no grant after the failover"
    );

    // Ingest: every acknowledged failure is one current error, counted once
    // however many times its batch was sent.
    let mut err = SyncErrorsClient::new(errors_service.channel().await);
    let health = err
        .get_sync_health(errors::GetSyncHealthRequest { org_id: org.into() })
        .await
        .expect("GetSyncHealth")
        .into_inner();
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    assert_eq!(health.current_errors, acknowledged);
    assert_eq!(health.impacted_records, acknowledged);
    let category = health
        .categories
        .iter()
        .find(|c| c.category() == tx::ErrorCategory::PropertyValues)
        .expect("the errors' category");
    assert_eq!(category.current_errors, acknowledged);
    drop((coalescing, single, errors_service));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binaries_take_a_cluster_from_a_flag_or_the_environment() {
    let cluster = syncgov_tests::cluster::lease();
    let seeds = cluster.seeds().join(",");
    let governor = Process::start(
        "quota-governor",
        &["--listen", "127.0.0.1:0", "--redis-cluster-nodes", &seeds],
    );
    let errors_service = Process::start_with_env(
        "sync-errors",
        &["--listen", "127.0.0.1:0"],
        &[("SYNC_ERRORS_REDIS_CLUSTER_NODES", &seeds)],
    );
    for (addr, service) in [
        (governor.addr(), "syncgov.quota.v1.QuotaGovernor"),
        (errors_service.addr(), "syncgov.syncerrors.v1.SyncErrors"),
    ] {
        // The service's name is known to health once the store was checked.
        let serving = eventually(Duration::from_secs(20), || async move {
            let mut health = HealthClient::new(syncgov_tests::channel(addr).await);
            let reply = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await;
            reply.is_ok_and(|r| r.into_inner().status() == ServingStatus::Serving)
        })
        .await;
        assert!(serving, "{service} does not serve on the cluster");
    }
    let mut gov = QuotaGovernorClient::new(syncgov_tests::channel(governor.addr()).await);
    set_budget(&mut gov, "acme", quota::Resource::ApiRequests.into(), 10).await;
    let reply = gov
        .acquire_tokens(acquire_request("acme", 3))
        .await
        .expect("AcquireTokens")
        .into_inner();
    assert!(reply.granted, "{reply:?}");
    for (binary, flag) in [
        ("quota-governor", "QUOTA_GOVERNOR_REDIS_CLUSTER_NODES"),
        ("sync-errors", "SYNC_ERRORS_REDIS_CLUSTER_NODES"),
    ] {
        let help = std::process::Command::new(syncgov_tests::binary(binary))
            .arg("--help")
            .output()
            .expect("run --help");
        let help = String::from_utf8_lossy(&help.stdout);
        assert!(
            help.contains("--redis-cluster-nodes") && help.contains(flag),
            "{binary} --help lacks the cluster setting"
        );
    }
    assert!(governor.terminate().success());
    assert!(errors_service.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_out_of_reach_is_unavailable() {
    // Nodes nobody listens on: the services start (connecting lazily) and
    // answer UNAVAILABLE within their Redis timeout, acknowledging nothing.
    let seeds: Vec<quota_governor::config::RedisUrl> = (1..=2)
        .map(|n| {
            format!("redis://{}", syncgov_tests::nowhere(n))
                .parse()
                .unwrap()
        })
        .collect();
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            redis_cluster_nodes: seeds.clone(),
            redis_timeout: Duration::from_millis(300),
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let errors_service = Service::sync_errors(ErrorsSettings {
        server: ServerSettings {
            redis_cluster_nodes: seeds,
            redis_timeout: Duration::from_millis(300),
            ..ServerSettings::default()
        },
        ..ErrorsSettings::default()
    })
    .await;
    let mut gov = QuotaGovernorClient::new(governor.channel().await);
    let status = gov
        .acquire_tokens(acquire_request("acme", 1))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let mut err = SyncErrorsClient::new(errors_service.channel().await);
    let status = err
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![too_long("k1", "c1")],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    drop((governor, errors_service));
}
