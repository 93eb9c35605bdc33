//! The audit trail over real gRPC: who changed a budget or a suspension,
//! resynced errors or changed notification settings, with the value before
//! and after, on every store (memory, a `redis-server`, a Redis Cluster);
//! who may read it (admins everything, scoped operators their orgs,
//! workers nothing); secrets never in it; its bound on events; and
//! `syncctl audit` merging both services' trails.

use std::path::PathBuf;
use std::time::Duration;

use quota_governor::config::Settings as GovernorSettings;
use serde_json::Value;
use sync_errors::config::Settings as ErrorsSettings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use syncgov_kit::tls::ClientTls;
use syncgov_tests::pki::Pki;
use syncgov_tests::syncerrors::failure;
use syncgov_tests::{Backend, Service, Store, TempDir, binary, on_every_store};
use tonic::Code;

const WORKER: &str = "worker-acme-0123456789abcdef0123";
const OPERATOR: &str = "operator-acme-0123456789abcdef01";
const ADMIN: &str = "admin-0123456789abcdef0123456789";
const SERVICE: &str = "service-0123456789abcdef01234567";

/// The webhook secret and the token in the webhook's path: neither may
/// ever be recorded.
const WEBHOOK_SECRET: &str = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtMTIz";
const URL_TOKEN: &str = "T0K3NinPath9f8e7d";

/// One caller of each role: a worker and an operator of `acme`, an admin
/// and a service for every org, each with a name.
fn token_file(dir: &TempDir) -> PathBuf {
    let path = dir.path().join("tokens");
    std::fs::write(
        &path,
        format!(
            "{WORKER} worker acme pool-a\n{OPERATOR} operator acme ops-acme\n\
             {ADMIN} admin * root\n{SERVICE} service * sync-errors\n"
        ),
    )
    .unwrap();
    path
}

/// Server settings on `store`, with the callers above and `max_events`.
fn server(store: &Store, dir: &TempDir, max_events: u64) -> ServerSettings {
    ServerSettings {
        redis_url: store.redis_url(),
        redis_cluster_nodes: store.cluster_nodes(),
        // What these tests prove does not depend on speed.
        redis_timeout: Duration::from_secs(10),
        audit_max_events: max_events,
        security: SecuritySettings {
            auth_token_file: Some(token_file(dir)),
            ..SecuritySettings::default()
        },
        ..ServerSettings::default()
    }
}

async fn governor_as(service: &Service, token: &str) -> QuotaGovernorClient<AuthChannel> {
    QuotaGovernorClient::new(AuthChannel::new(
        service.channel().await,
        Bearer::fixed(token).unwrap(),
    ))
}

async fn errors_as(service: &Service, token: &str) -> SyncErrorsClient<AuthChannel> {
    SyncErrorsClient::new(AuthChannel::new(
        service.channel().await,
        Bearer::fixed(token).unwrap(),
    ))
}

fn set_budget(org: &str, allocation: u64, until: Option<i64>) -> quota::SetBudgetRequest {
    quota::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource: 0,
        budget: Some(quota::Budget {
            org_limit: 10_000,
            allocation,
            allocation_override: until.map(|seconds| quota::AllocationOverride {
                allocation: 2 * allocation,
                expires_at: Some(prost_types::Timestamp { seconds, nanos: 0 }),
            }),
            ..Default::default()
        }),
    }
}

fn json(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn list(org: &str) -> quota::ListAuditEventsRequest {
    quota::ListAuditEventsRequest {
        org_id: org.into(),
        ..Default::default()
    }
}

/// Seconds since the epoch, a day from now: an override still running.
fn tomorrow() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    now.as_secs() as i64 + 86_400
}

async fn budget_and_suspension_changes_are_recorded(backend: Backend) {
    let dir = TempDir::new("audit");
    let store = backend.start();
    let governor = Service::governor(GovernorSettings {
        server: server(&store, &dir, 1_000),
        ..GovernorSettings::default()
    })
    .await;
    let mut admin = governor_as(&governor, ADMIN).await;
    let mut service = governor_as(&governor, SERVICE).await;
    let until = tomorrow();

    admin
        .set_budget(set_budget("acme", 1_000, None))
        .await
        .unwrap();
    admin
        .set_budget(set_budget("acme", 1_500, Some(until)))
        .await
        .unwrap();
    admin
        .set_budget(set_budget("globex", 700, None))
        .await
        .unwrap();
    service
        .suspend(quota::SuspendRequest {
            org_id: "acme".into(),
            reason: tx::SuspensionReason::SalesforceApiDisabled.into(),
            detail: "API_DISABLED_FOR_ORG".into(),
        })
        .await
        .unwrap();
    let cleared = admin
        .clear_suspension(quota::ClearSuspensionRequest {
            org_id: "acme".into(),
            reason: tx::SuspensionReason::SalesforceApiDisabled.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cleared.cleared);
    // Clearing it again changes nothing, and is recorded as such: a retry
    // after a failed write must leave an event too.
    admin
        .clear_suspension(quota::ClearSuspensionRequest {
            org_id: "acme".into(),
            reason: tx::SuspensionReason::SalesforceApiDisabled.into(),
        })
        .await
        .unwrap();

    let events = admin
        .list_audit_events(list("acme"))
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ClearSuspension",
            "ClearSuspension",
            "Suspend",
            "SetBudget",
            "SetBudget"
        ],
        "newest first: {events:#?}"
    );
    let [again, clear, suspend, raised, first] = &events[..] else {
        unreachable!()
    };
    assert_eq!(again.actor, "root");
    assert_eq!(
        (json(&again.before), json(&again.after)),
        (Value::Null, Value::Null)
    );
    assert_eq!(clear.actor, "root");
    assert_eq!(clear.target, "SALESFORCE_API_DISABLED");
    assert_eq!(json(&clear.before)["detail"], "API_DISABLED_FOR_ORG");
    assert_eq!(json(&clear.after), Value::Null);
    assert_eq!(suspend.actor, "system:sync-errors");
    assert_eq!(json(&suspend.before), Value::Null);
    assert_eq!(json(&suspend.after)["reason"], "SALESFORCE_API_DISABLED");
    assert_eq!(first.actor, "root");
    assert_eq!(json(&first.before), Value::Null);
    assert_eq!(json(&first.after)["allocation"], 1_000);
    assert_eq!(json(&raised.before)["allocation"], 1_000);
    assert_eq!(json(&raised.after)["allocation"], 1_500);
    assert_eq!(json(&raised.after)["override"]["allocation"], 3_000);
    assert_eq!(
        json(&raised.after)["override"]["expires_at_ms"],
        until * 1_000
    );
    for e in &events {
        assert_eq!(e.org_id, "acme");
        let at = e.at.as_ref().expect("a time");
        assert!(at.seconds > 1_700_000_000, "the store's clock: {at:?}");
    }
    for pair in events.windows(2) {
        assert!(pair[0].id != pair[1].id);
        let at = |e: &quota::AuditEvent| e.at.as_ref().map(|t| (t.seconds, t.nanos));
        assert!(at(&pair[0]) >= at(&pair[1]), "newest first: {pair:#?}");
    }

    // Filters: an actor, an action; pages of one meet without gaps.
    let by_service = admin
        .list_audit_events(quota::ListAuditEventsRequest {
            actor: "system:sync-errors".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(by_service.len(), 1);
    assert_eq!(by_service[0].action, "Suspend");
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .list_audit_events(quota::ListAuditEventsRequest {
                action: "SetBudget".into(),
                page_size: 1,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        paged.extend(page.events.into_iter().map(|e| e.org_id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
        assert!(paged.len() <= 3, "pages end: {paged:?}");
    }
    assert_eq!(paged, ["globex", "acme", "acme"]);

    // A scoped operator sees its org only; a worker sees nothing.
    let mut operator = governor_as(&governor, OPERATOR).await;
    let seen = operator
        .list_audit_events(list(""))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|e| e.org_id == "acme"), "{seen:#?}");
    let refused = operator
        .list_audit_events(list("globex"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut worker = governor_as(&governor, WORKER).await;
    let refused = worker.list_audit_events(list("acme")).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let everything = admin.list_audit_events(list("")).await.unwrap();
    assert_eq!(everything.into_inner().events.len(), 6);
}

async fn resyncs_and_notification_settings_are_recorded_without_secrets(backend: Backend) {
    let dir = TempDir::new("audit-errors");
    let store = backend.start();
    let receiver = format!("http://127.0.0.1:9/hooks/{URL_TOKEN}");
    let service = Service::sync_errors(ErrorsSettings {
        server: server(&store, &dir, 1_000),
        webhook_allow: vec!["127.0.0.1/32".parse().unwrap()],
        ..ErrorsSettings::default()
    })
    .await;
    let mut worker = errors_as(&service, WORKER).await;
    let mut operator = errors_as(&service, OPERATOR).await;

    let ingested = worker
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![failure("k1", "Contact", "003A", "email")],
        })
        .await
        .unwrap()
        .into_inner();
    let error_id = ingested.results[0].error_id.clone();
    let queued = operator
        .resync_errors(errors::ResyncErrorsRequest {
            org_id: "acme".into(),
            error_ids: vec![error_id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let job = queued.results[0].job_id.clone();
    assert!(!job.is_empty(), "{queued:?}");
    // Sent again (as after a failed write): nothing more queued, and still
    // recorded.
    let again = operator
        .resync_errors(errors::ResyncErrorsRequest {
            org_id: "acme".into(),
            error_ids: vec![error_id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.results[0].skipped, "already queued");

    let settings = |secret: &str| errors::UpdateNotificationSettingsRequest {
        org_id: "acme".into(),
        settings: Some(errors::NotificationSettings {
            enabled: true,
            frequency: errors::NotificationFrequency::Daily.into(),
            webhook_url: receiver.clone(),
            webhook_secret: secret.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    operator
        .update_notification_settings(settings(WEBHOOK_SECRET))
        .await
        .unwrap();
    // Again without the secret: it is kept.
    operator
        .update_notification_settings(settings(""))
        .await
        .unwrap();

    let events = operator
        .list_audit_events(errors::ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "UpdateNotificationSettings",
            "UpdateNotificationSettings",
            "ResyncErrors",
            "ResyncErrors"
        ],
        "{events:#?}"
    );
    assert_eq!(json(&events[2].after)["queued"], 0);
    assert_eq!(json(&events[2].after)["already_queued"], 1);
    let resync = &events[3];
    assert_eq!(resync.actor, "ops-acme");
    assert_eq!(json(&resync.after)["jobs"][0], job.as_str());
    assert_eq!(json(&resync.after)["queued"], 1);
    let (kept, set) = (&events[0], &events[1]);
    assert_eq!(json(&set.before)["webhook_secret"], "unset");
    assert_eq!(json(&set.after)["webhook_secret"], "set");
    assert_eq!(json(&kept.after)["webhook_secret"], "kept");
    assert_eq!(json(&set.after)["frequency"], "daily");
    let url = json(&set.after)["webhook_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:9/… (sha256:"), "{url}");

    // Neither the secret nor the URL's token is anywhere in the trail:
    // not in the replies, nor in what the store holds.
    let everything = format!("{events:?}");
    assert!(!everything.contains(WEBHOOK_SECRET) && !everything.contains(URL_TOKEN));
    if let Some(redis) = store.redis() {
        let mut conn = redis.client().get_connection().unwrap();
        let raw: Vec<(String, Vec<(String, String)>)> = ::redis::cmd("XRANGE")
            .arg(sync_errors::app::AUDIT_KEY)
            .arg("-")
            .arg("+")
            .query(&mut conn)
            .unwrap();
        assert_eq!(raw.len(), 4);
        let stored = format!("{raw:?}");
        assert!(stored.contains("UpdateNotificationSettings"));
        assert!(!stored.contains(WEBHOOK_SECRET) && !stored.contains(URL_TOKEN));
        assert!(
            !stored.contains("c2VjcmV0"),
            "no part of the secret: {stored}"
        );
    }

    // A record resolved by hand is recorded; one resolved by a worker's
    // successful sync is routine and is not.
    worker
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![failure("k2", "Contact", "003B", "email")],
        })
        .await
        .unwrap();
    let resolve = |record: &str| errors::ResolveRecordRequest {
        org_id: "acme".into(),
        object_type: "Contact".into(),
        crm_record_id: record.into(),
    };
    let by_worker = worker.resolve_record(resolve("003B")).await.unwrap();
    assert_eq!(by_worker.into_inner().resolved, 1);
    let by_hand = operator.resolve_record(resolve("003A")).await.unwrap();
    assert_eq!(by_hand.into_inner().resolved, 1);
    let resolved = operator
        .list_audit_events(errors::ListAuditEventsRequest {
            action: "ResolveRecord".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(resolved.len(), 1, "{resolved:#?}");
    assert_eq!(resolved[0].target, "Contact 003A");
    assert_eq!(resolved[0].actor, "ops-acme");
    assert_eq!(json(&resolved[0].after)["resolved"], 1);

    // A worker may not read the trail.
    let refused = worker
        .list_audit_events(errors::ListAuditEventsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
}

async fn events_older_than_the_retention_are_no_longer_listed(backend: Backend) {
    let dir = TempDir::new("audit-age");
    let store = backend.start();
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            audit_retention: Duration::from_secs(1),
            ..server(&store, &dir, 1_000)
        },
        ..GovernorSettings::default()
    })
    .await;
    let mut admin = governor_as(&governor, ADMIN).await;
    // Acknowledged, so recorded; then it ages out of the trail.
    admin
        .set_budget(set_budget("acme", 100, None))
        .await
        .unwrap();
    if let Some(redis) = store.redis() {
        let mut conn = redis.client().get_connection().unwrap();
        let length: u64 = ::redis::cmd("XLEN")
            .arg(quota_governor::app::AUDIT_KEY)
            .query(&mut conn)
            .unwrap();
        assert_eq!(length, 1, "the change was recorded");
    }
    let aged_out = syncgov_tests::eventually(syncgov_tests::PATIENCE, || {
        let mut admin = admin.clone();
        async move {
            let page = admin.list_audit_events(list("")).await.unwrap();
            page.into_inner().events.is_empty()
        }
    })
    .await;
    assert!(aged_out, "an event older than --audit-retention is listed");
}

on_every_store!(
    budget_and_suspension_changes_are_recorded,
    resyncs_and_notification_settings_are_recorded_without_secrets,
    events_older_than_the_retention_are_no_longer_listed,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trail_keeps_only_its_newest_events() {
    let dir = TempDir::new("audit-bound");
    let store = Backend::Redis.start();
    let governor = Service::governor(GovernorSettings {
        server: server(&store, &dir, 3),
        ..GovernorSettings::default()
    })
    .await;
    let mut admin = governor_as(&governor, ADMIN).await;
    for allocation in 1..=6 {
        admin
            .set_budget(set_budget("acme", allocation * 100, None))
            .await
            .unwrap();
    }
    let events = admin
        .list_audit_events(list(""))
        .await
        .unwrap()
        .into_inner()
        .events;
    let kept: Vec<_> = events
        .iter()
        .map(|e| json(&e.after)["allocation"].as_u64().unwrap())
        .collect();
    assert_eq!(kept, [600, 500, 400]);
    let mut conn = store.redis().unwrap().client().get_connection().unwrap();
    let length: u64 = ::redis::cmd("XLEN")
        .arg(quota_governor::app::AUDIT_KEY)
        .query(&mut conn)
        .unwrap();
    assert_eq!(length, 3, "the stream itself holds no more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_are_refused_naming_the_field() {
    let dir = TempDir::new("audit-input");
    let store = Backend::Memory.start();
    let governor = Service::governor(GovernorSettings {
        server: server(&store, &dir, 10),
        ..GovernorSettings::default()
    })
    .await;
    let mut admin = governor_as(&governor, ADMIN).await;
    let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
    let cases = [
        (list("not an org!"), "org_id"),
        (
            quota::ListAuditEventsRequest {
                page_size: 1_001,
                ..Default::default()
            },
            "page_size",
        ),
        (
            quota::ListAuditEventsRequest {
                from: at(20),
                to: at(10),
                ..Default::default()
            },
            "from",
        ),
        (
            quota::ListAuditEventsRequest {
                actor: "x".repeat(129),
                ..Default::default()
            },
            "actor",
        ),
        (
            quota::ListAuditEventsRequest {
                page_token: "zz".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            quota::ListAuditEventsRequest {
                to: at(i64::MAX),
                ..Default::default()
            },
            "to",
        ),
    ];
    for (request, field) in cases {
        let status = admin.list_audit_events(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(status.message().contains(field), "{field}: {status:?}");
    }
    // A page token is good with its own filters only.
    admin.set_budget(set_budget("acme", 1, None)).await.unwrap();
    admin.set_budget(set_budget("acme", 2, None)).await.unwrap();
    let page = admin
        .list_audit_events(quota::ListAuditEventsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    let status = admin
        .list_audit_events(quota::ListAuditEventsRequest {
            page_size: 1,
            actor: "someone".into(),
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncctl_audit_merges_both_services() {
    let governor = Service::governor(GovernorSettings::default()).await;
    let errors_service = Service::sync_errors(ErrorsSettings {
        webhook_allow: vec!["127.0.0.1/32".parse().unwrap()],
        ..ErrorsSettings::default()
    })
    .await;
    let mut g = QuotaGovernorClient::new(governor.channel().await);
    let mut e = SyncErrorsClient::new(errors_service.channel().await);
    g.set_budget(set_budget("acme", 100, None)).await.unwrap();
    e.update_notification_settings(errors::UpdateNotificationSettingsRequest {
        org_id: "acme".into(),
        settings: Some(errors::NotificationSettings {
            enabled: false,
            frequency: errors::NotificationFrequency::Weekly.into(),
            webhook_url: String::new(),
            webhook_secret: String::new(),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    g.set_budget(set_budget("globex", 200, None)).await.unwrap();

    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(binary("syncctl"));
        command
            .args(["--governor", &format!("http://{}", governor.addr())])
            .args([
                "--sync-errors",
                &format!("http://{}", errors_service.addr()),
            ])
            .args(args)
            .env_remove("SYNCCTL_GOVERNOR")
            .env_remove("SYNCCTL_SYNC_ERRORS")
            .env_remove("SYNCGOV_TOKEN")
            .env_remove("SYNCGOV_TOKEN_FILE");
        command
    };
    let out = tokio::task::spawn_blocking({
        let mut command = run(&["audit", "--output", "json"]);
        move || command.output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = value["events"].as_array().unwrap();
    let mut seen: Vec<(String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["service"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["org_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert!(events.iter().all(|e| e["actor"] == "anonymous"));
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "errors".into(),
                "UpdateNotificationSettings".into(),
                "acme".into()
            ),
            ("governor".into(), "SetBudget".into(), "acme".into()),
            ("governor".into(), "SetBudget".into(), "globex".into()),
        ]
    );

    // One service, one org, and the table.
    let out = tokio::task::spawn_blocking({
        let mut command = run(&["audit", "--service", "governor", "--org", "globex"]);
        move || command.output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("WHEN") && lines[0].contains("CHANGE"),
        "{table}"
    );
    assert!(lines[1].contains("anonymous") && lines[1].contains("globex"));
    assert!(
        lines[1].contains("SetBudget") && lines[1].contains("api: + allocation=200"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_event_cannot_be_written_is_not_acknowledged() {
    let dir = TempDir::new("audit-unwritten");
    let store = Backend::Redis.start();
    let governor = Service::governor(GovernorSettings {
        server: server(&store, &dir, 10),
        ..GovernorSettings::default()
    })
    .await;
    let mut admin = governor_as(&governor, ADMIN).await;
    // The trail's key holds something that is not a stream: every write
    // to it fails after the change itself was made. (A store that went
    // away is UNAVAILABLE; a key of the wrong type is the store's data
    // gone wrong, INTERNAL, through the kit's one mapping.)
    let mut conn = store.redis().unwrap().client().get_connection().unwrap();
    let () = ::redis::cmd("SET")
        .arg(quota_governor::app::AUDIT_KEY)
        .arg("not a stream")
        .query(&mut conn)
        .unwrap();
    let status = admin
        .set_budget(set_budget("acme", 100, None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    // Once the trail can be written, the same call again is acknowledged
    // and recorded.
    let () = ::redis::cmd("DEL")
        .arg(quota_governor::app::AUDIT_KEY)
        .query(&mut conn)
        .map(|_: u64| ())
        .unwrap();
    admin
        .set_budget(set_budget("acme", 100, None))
        .await
        .unwrap();
    let events = admin
        .list_audit_events(list("acme"))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(
        json(&events[0].before)["allocation"],
        100,
        "the retry sees the change made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_mutual_tls_without_tokens_the_actor_is_the_certificate_s_subject() {
    let pki = Pki::new("audit");
    let server = pki.issue("server", &["localhost", "127.0.0.1"]);
    let client = pki.issue_named("client", &["localhost"], "ops-laptop-7");
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            security: SecuritySettings {
                tls_cert: Some(server.cert.clone()),
                tls_key: Some(server.key.clone()),
                tls_client_ca: Some(pki.ca()),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let tls = ClientTls {
        ca: Some(pki.ca()),
        cert: Some(client.cert.clone()),
        key: Some(client.key.clone()),
        domain: Some("localhost".into()),
    };
    let channel = tls
        .endpoint(&governor.addr().to_string())
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let mut c = QuotaGovernorClient::new(channel);
    c.set_budget(set_budget("acme", 100, None)).await.unwrap();
    let events = c
        .list_audit_events(list("acme"))
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor, "CN=ops-laptop-7");
}
