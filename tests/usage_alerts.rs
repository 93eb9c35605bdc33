//! Usage alerts over real gRPC, on every store: each threshold of a budget
//! (80, 90 and 100 % by default, of the allocation and of the org limit)
//! is one alert per crossing in `WatchUsageAlerts`, never repeated while
//! usage stays above it, however many governor replicas check; a budget's
//! own thresholds are checked and refused naming the field; a token for
//! some orgs watches only those; and, with sync-errors reading the alerts,
//! each crossing reaches the org's webhook once, naming the threshold.
//!
//! Every wait is for a condition, with a generous deadline; no assertion
//! rests on how long something took.

use std::path::PathBuf;
use std::time::Duration;

use quota_governor::config::Settings;
use sync_errors::config::Settings as SyncErrorsSettings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::{
    Backend, PATIENCE, RedisServer, Service, Store, TempDir, WebhookReceiver, early_in_a_bucket,
    eventually, on_every_store,
};
use tonic::Code;
use tonic::codec::Streaming;

on_every_store!(
    a_level_moves_once_for_replicas_that_read_it_alike,
    each_crossing_is_one_alert_and_usage_above_it_is_not,
    a_budget_s_own_thresholds_are_checked_and_alerted,
    a_token_for_some_orgs_watches_only_those_orgs,
);

/// On the shared stores only: replicas of the embedded store share nothing.
mod replicas {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis() {
        super::two_replicas_append_each_crossing_once(syncgov_tests::Backend::Redis).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cluster() {
        super::two_replicas_append_each_crossing_once(syncgov_tests::Backend::Cluster).await
    }
}

const ADMIN: &str = "admin-alerts-0123456789abcdef0123";
const OPERATOR: &str = "operator-acme-0123456789abcdef012";

type Client = QuotaGovernorClient<AuthChannel>;

/// Governor replicas on one store that check usage often, with tokens: an
/// admin of every org and an operator of `acme` only.
struct Alerting {
    _store: Store,
    _dir: TempDir,
    governors: Vec<Service>,
}

impl Alerting {
    async fn start(backend: Backend, replicas: usize) -> Self {
        let store = backend.start();
        let dir = TempDir::new("alerts");
        let tokens: PathBuf = dir.path().join("tokens");
        std::fs::write(
            &tokens,
            format!("{ADMIN} admin * root\n{OPERATOR} operator acme ops\n"),
        )
        .unwrap();
        let mut governors = Vec::new();
        for _ in 0..replicas {
            governors.push(
                Service::governor(Settings {
                    usage_alert_interval: Duration::from_millis(50),
                    server: ServerSettings {
                        redis_url: store.redis_url(),
                        redis_cluster_nodes: store.cluster_nodes(),
                        security: SecuritySettings {
                            auth_token_file: Some(tokens.clone()),
                            ..SecuritySettings::default()
                        },
                        ..ServerSettings::default()
                    },
                    ..Settings::default()
                })
                .await,
            );
        }
        Self {
            _store: store,
            _dir: dir,
            governors,
        }
    }

    /// A client of replica `i` with `token`.
    async fn client(&self, i: usize, token: &str) -> Client {
        QuotaGovernorClient::new(AuthChannel::new(
            self.governors[i].channel().await,
            Bearer::fixed(token).unwrap(),
        ))
    }
}

fn budget(allocation: u64, thresholds: &[u32]) -> pb::Budget {
    pb::Budget {
        org_limit: 1_000,
        allocation,
        alert_thresholds_percent: thresholds.to_vec(),
        ..Default::default()
    }
}

async fn set_budget(c: &mut Client, org: &str, budget: pb::Budget) -> Result<(), tonic::Status> {
    c.set_budget(pb::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource: pb::Resource::ApiRequests.into(),
        budget: Some(budget),
    })
    .await
    .map(drop)
}

async fn acquire(c: &mut Client, org: &str, count: u64) {
    let reply = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
            count,
            priority: pb::Priority::Critical.into(),
            ..Default::default()
        })
        .await
        .expect("AcquireTokens")
        .into_inner();
    assert!(reply.granted, "{org}: {reply:?}");
}

/// Every alert `c` may see (of `org` only, when not empty), from the first.
async fn watch(c: &mut Client, org: &str) -> Streaming<pb::WatchUsageAlertsResponse> {
    c.watch_usage_alerts(pb::WatchUsageAlertsRequest {
        org_id: org.into(),
        cursor: "0-0".into(),
    })
    .await
    .expect("WatchUsageAlerts")
    .into_inner()
}

/// The next alert of `alerts`: (org, of, threshold, used, limit).
async fn next(
    alerts: &mut Streaming<pb::WatchUsageAlertsResponse>,
) -> (String, pb::UsageAlertOf, u32, u64, u64) {
    let alert = tokio::time::timeout(PATIENCE, alerts.message())
        .await
        .expect("an alert in time")
        .expect("the stream stays up")
        .expect("an alert");
    (
        alert.org_id.clone(),
        alert.of(),
        alert.threshold_percent,
        alert.used,
        alert.limit,
    )
}

const ALLOCATION: pb::UsageAlertOf = pb::UsageAlertOf::Allocation;

/// The store's check-and-set, on two handles of one store (two replicas;
/// one store twice without Redis): of replicas that read the same level,
/// one moves it and appends the crossing; the other changes nothing.
async fn a_level_moves_once_for_replicas_that_read_it_alike(backend: Backend) {
    use quota_governor::alerts::{AlertKey, Crossing, Of};
    use quota_governor::domain::{AlertThresholds, Budget, OrgId, Resource, Rules};
    use quota_governor::store::conn::Endpoint;
    use quota_governor::store::memory::MemoryStore;
    use quota_governor::store::redis::RedisStore;
    use quota_governor::store::{BudgetKey, LevelMove, QuotaStore};
    use quota_governor::window::WindowShape;

    async fn check<S: QuotaStore>(a: &S, b: &S) {
        let key = AlertKey {
            org: OrgId::parse("acme").unwrap(),
            resource: Resource::ApiRequests,
            of: Of::Allocation,
        };
        let crossing = Crossing {
            key: key.clone(),
            threshold: 80,
            used: 80,
            limit: 100,
        };
        let LevelMove::Moved(Some(alert)) = a
            .move_alert_level(&key, 0, 80, Some(&crossing))
            .await
            .unwrap()
        else {
            panic!("the first replica moves the level");
        };
        assert_eq!(alert.crossing, crossing);
        assert_eq!(
            b.move_alert_level(&key, 0, 80, Some(&crossing))
                .await
                .unwrap(),
            LevelMove::Stale,
            "the second replica read the same level: nothing to tell"
        );
        assert_eq!(
            b.alerts_after(Default::default(), 10).await.unwrap(),
            std::slice::from_ref(&alert)
        );
        assert_eq!(b.last_alert().await.unwrap(), alert.cursor);
        assert_eq!(b.alert_levels().await.unwrap(), [(key.clone(), 80)]);
        // Re-armed once, appending nothing.
        assert_eq!(
            b.move_alert_level(&key, 80, 0, None).await.unwrap(),
            LevelMove::Moved(None)
        );
        assert_eq!(
            a.move_alert_level(&key, 80, 0, None).await.unwrap(),
            LevelMove::Stale
        );
        assert!(a.alert_levels().await.unwrap().is_empty());
        assert_eq!(a.alerts_after(alert.cursor, 10).await.unwrap(), []);
        // Where the check stops reading: the lowest threshold a budget
        // names of its own.
        assert_eq!(a.alert_floor().await.unwrap(), None);
        let budget = |t: &[u64]| Budget {
            alert_thresholds: Some(AlertThresholds::new(t).unwrap()),
            ..Budget::new(1_000, 100)
        };
        let acme = BudgetKey {
            org: key.org.clone(),
            resource: Resource::ApiRequests,
        };
        let globex = BudgetKey {
            org: OrgId::parse("globex").unwrap(),
            resource: Resource::BulkBatches,
        };
        a.set_budget(&acme, &budget(&[50, 90])).await.unwrap();
        a.set_budget(&globex, &budget(&[30])).await.unwrap();
        assert_eq!(b.alert_floor().await.unwrap(), Some(30));
        a.delete_budget(&globex).await.unwrap();
        assert_eq!(b.alert_floor().await.unwrap(), Some(50));
        a.set_budget(&acme, &Budget::new(1_000, 100)).await.unwrap();
        assert_eq!(b.alert_floor().await.unwrap(), None);
    }

    let rules = Rules {
        shape: WindowShape::new(Duration::from_secs(60), Duration::from_secs(1)).unwrap(),
        org_margin_percent: 2,
        probe: Default::default(),
    };
    let store = backend.start();
    match Endpoint::from_settings(store.redis_url().as_ref(), &store.cluster_nodes()) {
        None => {
            let one = MemoryStore::new(rules);
            check(&one, &one).await;
        }
        Some((endpoint, _)) => {
            let open = || RedisStore::open(&endpoint, rules, Duration::from_secs(10), false, None);
            check(&open().unwrap(), &open().unwrap()).await;
        }
    }
}

async fn each_crossing_is_one_alert_and_usage_above_it_is_not(backend: Backend) {
    let env = Alerting::start(backend, 1).await;
    let mut c = env.client(0, ADMIN).await;
    set_budget(&mut c, "acme", budget(100, &[])).await.unwrap();
    set_budget(&mut c, "globex", budget(10, &[])).await.unwrap();
    let mut alerts = watch(&mut c, "").await;
    // The org-wide estimate at the end counts the grants from the report's
    // bucket on: the grants and the report must share one bucket.
    early_in_a_bucket().await;
    acquire(&mut c, "acme", 80).await;
    assert_eq!(
        next(&mut alerts).await,
        ("acme".into(), ALLOCATION, 80, 80, 100)
    );
    acquire(&mut c, "acme", 10).await;
    assert_eq!(next(&mut alerts).await.2, 90);
    // At 95 %, above 90 and below 100: no alert. Another org's crossing,
    // told by a check that read acme at 95 % too (and before it: acme
    // ranks first), is the next alert.
    acquire(&mut c, "acme", 5).await;
    acquire(&mut c, "globex", 8).await;
    assert_eq!(
        next(&mut alerts).await,
        ("globex".into(), ALLOCATION, 80, 8, 10)
    );
    acquire(&mut c, "acme", 5).await;
    assert_eq!(
        next(&mut alerts).await,
        ("acme".into(), ALLOCATION, 100, 100, 100)
    );
    // The org limit, from the org-wide view: 800 of 1 000 reported, and
    // the 100 granted in the bucket of the report counted on top (the
    // governor's estimate errs high), is a jump past 80 %, told as 90 %.
    c.report_org_usage(pb::ReportOrgUsageRequest {
        org_id: "acme".into(),
        used: 800,
        max: 1_000,
        ..Default::default()
    })
    .await
    .expect("ReportOrgUsage");
    assert_eq!(
        next(&mut alerts).await,
        ("acme".into(), pb::UsageAlertOf::OrgLimit, 90, 900, 1_000)
    );
}

async fn a_budget_s_own_thresholds_are_checked_and_alerted(backend: Backend) {
    let env = Alerting::start(backend, 1).await;
    let mut c = env.client(0, ADMIN).await;
    for bad in [
        &[90, 80][..],
        &[80, 80],
        &[0],
        &[101],
        &[10, 20, 30, 40, 50, 60],
    ] {
        let refused = set_budget(&mut c, "acme", budget(10, bad))
            .await
            .expect_err("bad thresholds are refused");
        assert_eq!(refused.code(), Code::InvalidArgument, "{bad:?}");
        assert!(
            refused
                .message()
                .contains("budget.alert_thresholds_percent"),
            "{bad:?}: {}",
            refused.message()
        );
    }
    // 50 % is below every default threshold: the check reads down to it.
    set_budget(&mut c, "acme", budget(10, &[50])).await.unwrap();
    let kept = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            resource: pb::Resource::ApiRequests.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kept.budget.unwrap().alert_thresholds_percent, [50]);
    let mut alerts = watch(&mut c, "acme").await;
    acquire(&mut c, "acme", 5).await;
    assert_eq!(
        next(&mut alerts).await,
        ("acme".into(), ALLOCATION, 50, 5, 10)
    );
    // Past 80 % and 100 %, which this budget does not name: nothing. The
    // next alert is another org's.
    acquire(&mut c, "acme", 5).await;
    set_budget(&mut c, "globex", budget(10, &[])).await.unwrap();
    acquire(&mut c, "globex", 8).await;
    let mut every = watch(&mut c, "").await;
    assert_eq!(next(&mut every).await.2, 50);
    assert_eq!(
        next(&mut every).await,
        ("globex".into(), ALLOCATION, 80, 8, 10)
    );
}

async fn a_token_for_some_orgs_watches_only_those_orgs(backend: Backend) {
    let env = Alerting::start(backend, 1).await;
    let mut admin = env.client(0, ADMIN).await;
    let mut operator = env.client(0, OPERATOR).await;
    for org in ["acme", "globex"] {
        set_budget(&mut admin, org, budget(10, &[])).await.unwrap();
    }
    let refused = operator
        .watch_usage_alerts(pb::WatchUsageAlertsRequest {
            org_id: "globex".into(),
            cursor: String::new(),
        })
        .await
        .expect_err("another org's alerts are refused");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let refused = operator
        .watch_usage_alerts(pb::WatchUsageAlertsRequest {
            org_id: "acme".into(),
            cursor: "not-a-cursor".into(),
        })
        .await
        .expect_err("a bad cursor is refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("cursor"), "{refused:?}");
    // globex crosses first: the operator's watch of every org it may see
    // skips it.
    let mut everyone = watch(&mut admin, "").await;
    let mut own = watch(&mut operator, "").await;
    acquire(&mut admin, "globex", 8).await;
    assert_eq!(next(&mut everyone).await.0, "globex");
    acquire(&mut admin, "acme", 8).await;
    assert_eq!(next(&mut everyone).await.0, "acme");
    assert_eq!(next(&mut own).await.0, "acme");
}

async fn two_replicas_append_each_crossing_once(backend: Backend) {
    let env = Alerting::start(backend, 2).await;
    let mut first = env.client(0, ADMIN).await;
    let mut second = env.client(1, ADMIN).await;
    set_budget(&mut first, "acme", budget(100, &[]))
        .await
        .unwrap();
    set_budget(&mut first, "zz-last", budget(10, &[]))
        .await
        .unwrap();
    let mut alerts = watch(&mut second, "").await;
    acquire(&mut first, "acme", 85).await;
    assert_eq!(next(&mut alerts).await.2, 80);
    acquire(&mut second, "acme", 5).await;
    assert_eq!(next(&mut alerts).await.2, 90);
    acquire(&mut first, "acme", 10).await;
    assert_eq!(next(&mut alerts).await.2, 100);
    // Both replicas keep checking acme at 100 %; a crossing of another org
    // after it is the next alert, not a repeat.
    acquire(&mut second, "zz-last", 9).await;
    assert_eq!(
        next(&mut alerts).await,
        ("zz-last".into(), ALLOCATION, 90, 9, 10)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_crossing_reaches_the_webhook_once_with_two_replicas_of_each_service() {
    let redis = RedisServer::start();
    let receiver = WebhookReceiver::start(0).await;
    let governor_settings = || Settings {
        usage_alert_interval: Duration::from_millis(50),
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..Settings::default()
    };
    let governors = [
        Service::governor(governor_settings()).await,
        Service::governor(governor_settings()).await,
    ];
    let settings = |i: usize| SyncErrorsSettings {
        governor_addr: Some(format!("http://{}", governors[i].addr())),
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
        Service::sync_errors(settings(0)).await,
        Service::sync_errors(settings(1)).await,
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
    let mut quota = [
        QuotaGovernorClient::new(governors[0].channel().await),
        QuotaGovernorClient::new(governors[1].channel().await),
    ];
    let set = |org: &str, allocation| pb::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource: 0,
        budget: Some(budget(allocation, &[])),
    };
    let grant = |org: &str, count| pb::AcquireTokensRequest {
        org_id: org.into(),
        count,
        priority: pb::Priority::Critical.into(),
        ..Default::default()
    };
    // sync-errors reads alerts from the time it first connects: a warm-up
    // alert (of an org without notifications) shows that it reads.
    quota[0].set_budget(set("warm-up", 10)).await.unwrap();
    quota[0].acquire_tokens(grant("warm-up", 9)).await.unwrap();
    let conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let reading = eventually(PATIENCE, || {
        let mut conn = conn.clone();
        async move {
            let cursor: Option<String> = ::redis::cmd("GET")
                .arg("syncgov:errors:usage-alert-cursor")
                .query_async(&mut conn)
                .await
                .unwrap();
            cursor.is_some()
        }
    })
    .await;
    assert!(
        reading,
        "sync-errors never read the governor's usage alerts"
    );

    let usage_notices = || {
        receiver
            .requests()
            .iter()
            .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap())
            .filter(|body| body["kind"] == "usage")
            .collect::<Vec<_>>()
    };
    let thresholds = |notices: &[serde_json::Value]| {
        notices
            .iter()
            .map(|n| n["usage"]["threshold_percent"].as_u64().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    quota[0].set_budget(set("acme", 100)).await.unwrap();
    // Each step through a replica of its own, each notice awaited.
    for (step, (replica, count)) in [(0, 80), (1, 10), (0, 5), (1, 5)].into_iter().enumerate() {
        let reply = quota[replica]
            .acquire_tokens(grant("acme", count))
            .await
            .unwrap()
            .into_inner();
        assert!(reply.granted, "{reply:?}");
        let expected: &[u64] = [&[80][..], &[80, 90], &[80, 90], &[80, 90, 100]][step];
        if step == 2 {
            // 95 %: nothing new to tell, which the next step shows.
            continue;
        }
        let arrived = eventually(PATIENCE, || async {
            usage_notices().len() >= expected.len()
        })
        .await;
        assert!(arrived, "step {step}: {:?}", usage_notices());
        assert_eq!(thresholds(&usage_notices()), expected, "step {step}");
    }
    let notices = usage_notices();
    assert_eq!(notices[2]["org_id"], "acme");
    assert_eq!(notices[2]["usage"]["of"], "allocation");
    assert_eq!(notices[2]["usage"]["used"], 100);
    assert_eq!(notices[2]["usage"]["allocation"], 100);
    assert_eq!(notices[2]["usage"]["percent"], 100);
    // Each with an id of its own: one notice per crossing.
    let ids: std::collections::BTreeSet<_> = notices
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "{notices:?}");
}

/// Runs `syncctl` against `governor` with the admin's token: (exit code,
/// stdout, stderr).
async fn syncctl(governor: &Service, args: &[&str]) -> (i32, String, String) {
    let output = tokio::process::Command::new(syncgov_tests::binary("syncctl"))
        .args(["--governor", &format!("http://{}", governor.addr())])
        .args(args)
        .env_remove("SYNCCTL_GOVERNOR")
        .env_remove("SYNCGOV_TOKEN_FILE")
        .env("SYNCGOV_TOKEN", ADMIN)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .expect("syncctl finishes")
        .expect("syncctl runs");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncctl_sets_and_shows_a_budget_s_thresholds() {
    let env = Alerting::start(Backend::Memory, 1).await;
    let governor = &env.governors[0];
    let set = |org: &'static str, extra: &'static [&'static str]| async move {
        let mut args = vec![
            "budget",
            "set",
            "--org",
            org,
            "--org-limit",
            "1000",
            "--allocation",
            "100",
        ];
        args.extend_from_slice(extra);
        syncctl(governor, &args).await
    };
    let (code, _, stderr) = set("acme", &["--alert-thresholds", "90,75"]).await;
    assert_ne!(code, 0);
    assert!(
        stderr.contains("budget.alert_thresholds_percent: must be ascending"),
        "{stderr}"
    );
    assert_eq!(set("acme", &["--alert-thresholds", "75,90"]).await.0, 0);
    assert_eq!(set("globex", &[]).await.0, 0);
    let (code, shown, _) = syncctl(governor, &["budget", "get", "--org", "acme"]).await;
    assert_eq!(code, 0);
    assert!(
        shown.contains("alerts      at 75, 90 % of the allocation and of the org limit\n"),
        "{shown}"
    );
    let (_, shown, _) = syncctl(governor, &["budget", "get", "--org", "globex"]).await;
    assert!(
        shown.contains("at 80, 90, 100 % of the allocation and of the org limit (the defaults)"),
        "{shown}"
    );
    let (_, json, _) = syncctl(governor, &["-o", "json", "budget", "get", "--org", "acme"]).await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json["budget"]["alert_thresholds_percent"],
        serde_json::json!([75, 90]),
        "{json}"
    );
}

/// `GET /metrics` of an admin port.
fn scrape(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the admin port");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Waits until every line of `lines` is in a scrape of `admin`; the last
/// scrape when some never are.
async fn scraped(
    admin: std::net::SocketAddr,
    lines: &'static [&'static str],
) -> Result<(), String> {
    let all = eventually(PATIENCE, || async move {
        let text = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .unwrap();
        lines.iter().all(|line| text.contains(line))
    })
    .await;
    all.then_some(()).ok_or_else(|| scrape(admin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_port_counts_alerts_and_the_budgets_above_each_threshold() {
    let admin = syncgov_tests::free_addr().to_string();
    let governor = syncgov_tests::Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &admin,
            "--usage-alert-interval",
            "100ms",
        ],
    );
    let admin: std::net::SocketAddr = admin.parse().unwrap();
    // Before any alert, the default thresholds are there at 0.
    scraped(admin, &[
        "syncgov_quota_usage_alerts_total{of=\"allocation\",syncgov_service=\"quota-governor\",threshold=\"80\"} 0",
        "syncgov_quota_usage_alerts_total{of=\"org_limit\",syncgov_service=\"quota-governor\",threshold=\"100\"} 0",
        "syncgov_quota_orgs_above_threshold{of=\"allocation\",syncgov_service=\"quota-governor\",threshold=\"90\"} 0",
    ])
    .await
    .unwrap_or_else(|text| panic!("not at 0:\n{text}"));
    let mut c = QuotaGovernorClient::new(syncgov_tests::channel(governor.addr()).await);
    for (org, count) in [("acme", 9), ("globex", 8)] {
        c.set_budget(pb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: org.into(),
            resource: 0,
            budget: Some(budget(10, &[])),
        })
        .await
        .unwrap();
        let reply = c
            .acquire_tokens(pb::AcquireTokensRequest {
                org_id: org.into(),
                count,
                priority: pb::Priority::Critical.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(reply.granted);
    }
    scraped(admin, &[
        "syncgov_quota_usage_alerts_total{of=\"allocation\",syncgov_service=\"quota-governor\",threshold=\"90\"} 1",
        "syncgov_quota_usage_alerts_total{of=\"allocation\",syncgov_service=\"quota-governor\",threshold=\"80\"} 1",
        "syncgov_quota_orgs_above_threshold{of=\"allocation\",syncgov_service=\"quota-governor\",threshold=\"80\"} 2",
        "syncgov_quota_orgs_above_threshold{of=\"allocation\",syncgov_service=\"quota-governor\",threshold=\"90\"} 1",
        "syncgov_quota_orgs_above_threshold{of=\"allocation\",syncgov_service=\"quota-governor\",threshold=\"100\"} 0",
        "syncgov_quota_orgs_above_threshold{of=\"org_limit\",syncgov_service=\"quota-governor\",threshold=\"80\"} 0",
    ])
    .await
    .unwrap_or_else(|text| panic!("not counted:\n{text}"));
    drop(governor);
}
