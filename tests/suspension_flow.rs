//! The two services together: suspension-level failures reported to
//! sync-errors stop the org at the governor, through the outbox, and the org
//! comes back by itself when it may.

use std::time::Duration;

use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings as SyncErrorsSettings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::PATIENCE;
use syncgov_tests::{RedisServer, Service, eventually, free_addr};
use tonic::transport::Channel;

fn failure(key: &str, status_code: &str, message: &str) -> errors::Failure {
    errors::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: "c1".into(),
        status_code: status_code.into(),
        message: message.into(),
        direction: errors::Direction::ToSalesforce.into(),
        ..Default::default()
    }
}

async fn acquire(c: &mut QuotaGovernorClient<Channel>, org: &str) -> quota::AcquireTokensResponse {
    c.acquire_tokens(quota::AcquireTokensRequest {
        org_id: org.into(),
        resource: 0,
        count: 1,
        priority: quota::Priority::Critical.into(),
        client_id: String::new(),
        min_count: 0,
        object: String::new(),
        operation: String::new(),
    })
    .await
    .expect("AcquireTokens")
    .into_inner()
}

/// Waits up to 10 s for the governor to deny `org` for `reason`.
async fn suspended_for(
    c: &QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
) -> bool {
    eventually(PATIENCE, || {
        let mut c = c.clone();
        let org = org.to_owned();
        async move {
            let reply = acquire(&mut c, &org).await;
            reply.deny_reason() == quota::DenyReason::Suspended
                && reply.suspension_reason == reason as i32
        }
    })
    .await
}

async fn set_budget(c: &mut QuotaGovernorClient<Channel>, org: &str) {
    c.set_budget(quota::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource: 0,
        budget: Some(quota::Budget {
            org_limit: 5_000,
            allocation: 1_000,
            ..Default::default()
        }),
    })
    .await
    .expect("SetBudget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daily_limit_failure_suspends_the_org_and_it_comes_back_by_itself() {
    let governor = Service::governor(GovernorSettings::default()).await;
    let sync_errors = Service::sync_errors(SyncErrorsSettings {
        governor_addr: Some(format!("http://{}", governor.addr())),
        ..SyncErrorsSettings::default()
    })
    .await;
    let mut quota = QuotaGovernorClient::new(governor.channel().await);
    let mut errors = SyncErrorsClient::new(sync_errors.channel().await);
    set_budget(&mut quota, "acme").await;
    assert!(acquire(&mut quota, "acme").await.granted);

    errors
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![failure(
                "k1",
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            )],
        })
        .await
        .unwrap();
    assert!(
        suspended_for(
            &quota,
            "acme",
            tx::SuspensionReason::SalesforceApiLimitExceeded
        )
        .await,
        "the governor never suspended the org"
    );
    let listed = quota
        .list_suspensions(quota::ListSuspensionsRequest {
            org_id: "acme".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed.suspensions[0].detail,
        "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."
    );

    // Salesforce says the org has calls again: the suspension ends by itself.
    quota
        .report_org_usage(quota::ReportOrgUsageRequest {
            org_id: "acme".into(),
            limit_info: "api-usage=1200/5000".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let back = eventually(PATIENCE, || {
        let mut c = quota.clone();
        async move { acquire(&mut c, "acme").await.granted }
    })
    .await;
    assert!(back, "the org never came back");
}

/// A governor that is down: its address takes connections and drops them
/// at once, and counts them.
struct DownGovernor {
    addr: std::net::SocketAddr,
    connections: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl DownGovernor {
    async fn at(addr: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the governor's address");
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(socket);
            }
        });
        Self {
            addr,
            connections,
            task,
        }
    }

    fn connections(&self) -> u64 {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops listening; the address is free for the governor again.
    async fn stop(self) -> std::net::SocketAddr {
        self.task.abort();
        let _ = self.task.await;
        self.addr
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_delivers_after_the_governor_restarts() {
    let redis = RedisServer::start();
    let governor_addr = free_addr();
    let sync_errors = Service::sync_errors(SyncErrorsSettings {
        governor_addr: Some(format!("http://{governor_addr}")),
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    })
    .await;
    let mut errors = SyncErrorsClient::new(sync_errors.channel().await);
    // The governor runs, then goes away: in its place a listener that
    // takes each connection and drops it, counting them.
    Service::governor_at(GovernorSettings::default(), governor_addr)
        .await
        .shutdown()
        .await;
    let down = DownGovernor::at(governor_addr).await;
    let failures = vec![
        failure(
            "k1",
            "UNABLE_TO_LOCK_ROW",
            "unable to obtain exclusive access to this record or 1 records: 0015g00000XyZ",
        ),
        failure("k2", "INVALID_SESSION_ID", "Session expired or invalid"),
    ];
    errors
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            failures,
        })
        .await
        .unwrap();
    // The governor is down meanwhile: the service keeps trying to reach it
    // (connections after the ingest), and the outbox keeps both entries.
    let since_ingest = down.connections();
    assert!(
        eventually(PATIENCE, || async {
            down.connections() >= since_ingest + 2
        })
        .await,
        "nothing tried to reach the governor while it was down"
    );
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let kept: u64 = ::redis::cmd("LLEN")
        .arg("syncgov:errors:{acme}:outbox")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept, 2, "the outbox keeps what the governor has not taken");
    let governor_addr = down.stop().await;

    let governor = Service::governor_at(GovernorSettings::default(), governor_addr).await;
    let quota = QuotaGovernorClient::new(governor.channel().await);
    let delivered = eventually(Duration::from_secs(40), || {
        let mut c = quota.clone();
        async move {
            let listed = c
                .list_suspensions(quota::ListSuspensionsRequest {
                    org_id: "acme".into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            listed.suspensions.len() == 2
        }
    })
    .await;
    assert!(
        delivered,
        "the outbox was not delivered once the governor was back"
    );
    let mut c = quota.clone();
    let reply = acquire(&mut c, "acme").await;
    assert_eq!(reply.deny_reason(), quota::DenyReason::Suspended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspensions_and_clears_are_notified_once_with_two_replicas() {
    use syncgov_tests::WebhookReceiver;
    let redis = RedisServer::start();
    let receiver = WebhookReceiver::start(0).await;
    let governor = Service::governor(GovernorSettings::default()).await;
    let settings = || SyncErrorsSettings {
        governor_addr: Some(format!("http://{}", governor.addr())),
        notification_retry: Duration::from_millis(300),
        // The test's webhook receiver, on loopback.
        webhook_allow: vec!["127.0.0.1/32".parse().unwrap()],
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    };
    let replicas = [
        Service::sync_errors(settings()).await,
        Service::sync_errors(settings()).await,
    ];
    let mut errors = SyncErrorsClient::new(replicas[0].channel().await);
    errors
        .update_notification_settings(errors::UpdateNotificationSettingsRequest {
            org_id: "acme".into(),
            settings: Some(errors::NotificationSettings {
                enabled: true,
                frequency: errors::NotificationFrequency::Weekly.into(),
                webhook_url: receiver.url(),
                webhook_secret: "a-secret-of-sixteen-or-more".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    // Wait until the replicas read the governor's events: a warm-up event
    // (of an org without notifications) moves where their reading stands.
    let mut quota = QuotaGovernorClient::new(governor.channel().await);
    let conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let warm_up = tx::SuspensionReason::Unknown;
    quota
        .suspend(quota::SuspendRequest {
            org_id: "warm-up".into(),
            reason: warm_up.into(),
            detail: String::new(),
        })
        .await
        .unwrap();
    quota
        .clear_suspension(quota::ClearSuspensionRequest {
            org_id: "warm-up".into(),
            reason: warm_up.into(),
        })
        .await
        .unwrap();
    let reading = eventually(PATIENCE, || {
        let mut conn = conn.clone();
        async move {
            let cursor: Option<String> = ::redis::cmd("GET")
                .arg("syncgov:errors:suspension-cursor")
                .query_async(&mut conn)
                .await
                .unwrap();
            cursor.is_some()
        }
    })
    .await;
    assert!(reading, "sync-errors never read the governor's events");
    let reason = tx::SuspensionReason::SalesforceStorageLimitExceeded;
    quota
        .suspend(quota::SuspendRequest {
            org_id: "acme".into(),
            reason: reason.into(),
            detail: "STORAGE_LIMIT_EXCEEDED".into(),
        })
        .await
        .unwrap();
    quota
        .suspend(quota::SuspendRequest {
            org_id: "globex".into(),
            reason: reason.into(),
            detail: String::new(),
        })
        .await
        .unwrap();
    quota
        .clear_suspension(quota::ClearSuspensionRequest {
            org_id: "acme".into(),
            reason: reason.into(),
        })
        .await
        .unwrap();

    // A marker event after them: its notice is queued after theirs, and
    // an org's notices go out in order, so once it has come every notice
    // queued before it has too, a second one of the same event included.
    let marker = tx::SuspensionReason::SalesforceApiDisabled;
    quota
        .suspend(quota::SuspendRequest {
            org_id: "acme".into(),
            reason: marker.into(),
            detail: "API_DISABLED_FOR_ORG".into(),
        })
        .await
        .unwrap();
    let is_marker = |b: &serde_json::Value| b["suspension"]["reason"] == "SALESFORCE_API_DISABLED";
    assert!(
        eventually(PATIENCE, || async {
            receiver
                .requests()
                .iter()
                .any(|r| is_marker(&serde_json::from_slice(&r.body).unwrap()))
        })
        .await,
        "the notices did not come"
    );
    let mut bodies: Vec<serde_json::Value> = receiver
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(is_marker(bodies.last().unwrap()), "{bodies:?}");
    bodies.pop();
    assert_eq!(
        bodies.len(),
        2,
        "one notice per event, however many replicas read it: {bodies:?}"
    );
    // Each notice is its own delivery: they may arrive in either order
    // (each says when its event happened).
    let of_kind = |kind: &str| {
        bodies
            .iter()
            .find(|b| b["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} notice: {bodies:?}"))
    };
    let suspended = of_kind("suspended");
    assert_eq!(
        suspended["suspension"]["reason"],
        "SALESFORCE_STORAGE_LIMIT_EXCEEDED"
    );
    assert_eq!(suspended["suspension"]["detail"], "STORAGE_LIMIT_EXCEEDED");
    let cleared = of_kind("cleared");
    // The times put them back in order.
    let at = |b: &serde_json::Value| b["suspension"]["at"].as_str().unwrap().to_owned();
    assert!(at(suspended) <= at(cleared), "{bodies:?}");
    assert!(
        bodies.iter().all(|b| b["org_id"] == "acme"),
        "globex has no notifications"
    );
}
