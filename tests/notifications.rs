//! Error notifications over real gRPC and real HTTP: settings, immediate
//! notifications debounced per type, digests exactly once per period with two
//! replicas sharing Redis, signatures, and retries until delivered.

use std::time::Duration;

use sync_errors::config::Settings;
use sync_errors::notify;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::PATIENCE;
use syncgov_tests::{RedisServer, Service, WebhookReceiver, WebhookRequest, eventually};
use tonic::Code;
use tonic::transport::Channel;

const SECRET: &str = "a-secret-of-sixteen-or-more";

fn failure(key: &str, record: &str, too_long: bool) -> pb::Failure {
    let (status_code, message) = if too_long {
        (
            "STRING_TOO_LONG",
            "Description: data value too large: x (max length=255)",
        )
    } else {
        ("INVALID_EMAIL_ADDRESS", "invalid email address: XX")
    };
    text_failure(key, record, status_code, message)
}

/// A failure of a third type, neither too long nor an email: a required
/// field Salesforce says is missing. Tests send it last, as a marker: an
/// org's notifications go out in the order they were queued, so once its
/// notice has arrived every notice queued before it has too.
fn marker(key: &str, record: &str) -> pb::Failure {
    text_failure(
        key,
        record,
        "REQUIRED_FIELD_MISSING",
        "Required fields are missing: [LastName]",
    )
}

fn text_failure(key: &str, record: &str, status_code: &str, message: &str) -> pb::Failure {
    pb::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: record.into(),
        status_code: status_code.into(),
        message: message.into(),
        ..Default::default()
    }
}

async fn ingest(c: &mut SyncErrorsClient<Channel>, failures: Vec<pb::Failure>) {
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "acme".into(),
        failures,
    })
    .await
    .expect("IngestErrors");
}

async fn enable(
    c: &mut SyncErrorsClient<Channel>,
    url: &str,
    frequency: pb::NotificationFrequency,
) {
    c.update_notification_settings(pb::UpdateNotificationSettingsRequest {
        org_id: "acme".into(),
        settings: Some(pb::NotificationSettings {
            enabled: true,
            frequency: frequency.into(),
            webhook_url: url.into(),
            webhook_secret: SECRET.into(),
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .expect("UpdateNotificationSettings");
}

fn json(request: &WebhookRequest) -> serde_json::Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// Signed with the org's secret: the Standard Webhooks signature over the
/// id, the timestamp and the body, and the former body-only one.
fn signed_right(request: &WebhookRequest) -> bool {
    let header = |name: &str| request.headers.get(name).cloned().unwrap_or_default();
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap_or_default();
    header("webhook-signature")
        == notify::sign_delivery(SECRET, &header("webhook-id"), timestamp, &request.body)
        && header("x-syncgov-signature") == notify::sign(SECRET, &request.body)
}

/// The tests' receivers listen on loopback, which webhooks reach only when
/// allowed.
fn loopback() -> Vec<sync_errors::destination::Allowed> {
    vec!["127.0.0.1/32".parse().unwrap()]
}

fn quick() -> Settings {
    Settings {
        digest_day: Duration::from_secs(1),
        notification_retry: Duration::from_millis(300),
        webhook_allow: loopback(),
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_kept_and_the_secret_never_read_back() {
    let service = Service::sync_errors(Settings {
        webhook_allow: loopback(),
        ..Settings::default()
    })
    .await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    let got = c
        .get_notification_settings(pb::GetNotificationSettingsRequest {
            org_id: "acme".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !got.settings.unwrap().enabled && !got.webhook_secret_set,
        "off until set"
    );

    let update = |settings: pb::NotificationSettings| pb::UpdateNotificationSettingsRequest {
        org_id: "acme".into(),
        settings: Some(settings),
        ..Default::default()
    };
    let on = pb::NotificationSettings {
        enabled: true,
        frequency: pb::NotificationFrequency::Weekly.into(),
        webhook_url: "http://127.0.0.1:9/hooks".into(),
        webhook_secret: String::new(),
        ..Default::default()
    };
    let err = c
        .update_notification_settings(update(on.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("settings.webhook_secret:"),
        "{}",
        err.message()
    );

    let stored = c
        .update_notification_settings(update(pb::NotificationSettings {
            webhook_secret: SECRET.into(),
            ..on.clone()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(stored.webhook_secret_set);
    assert!(
        stored.settings.as_ref().unwrap().webhook_secret.is_empty(),
        "the secret is never read back"
    );
    // An update without a secret keeps the one set.
    let kept = c
        .update_notification_settings(update(on.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(kept.webhook_secret_set);
    let got = c
        .get_notification_settings(pb::GetNotificationSettingsRequest {
            org_id: "acme".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.settings.unwrap().frequency,
        pb::NotificationFrequency::Weekly as i32
    );

    for (bad, field) in [
        (
            pb::NotificationSettings {
                webhook_url: "ftp://x".into(),
                ..on.clone()
            },
            "settings.webhook_url",
        ),
        (
            pb::NotificationSettings {
                frequency: 9,
                ..on.clone()
            },
            "settings.frequency",
        ),
        (
            pb::NotificationSettings {
                webhook_secret: "short".into(),
                ..on.clone()
            },
            "settings.webhook_secret",
        ),
    ] {
        let err = c
            .update_notification_settings(update(bad))
            .await
            .unwrap_err();
        assert!(
            err.message().starts_with(&format!("{field}:")),
            "{field}: {}",
            err.message()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_notifications_go_out_once_per_type_per_minute() {
    let receiver = WebhookReceiver::start(0).await;
    let service = Service::sync_errors(quick()).await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    enable(
        &mut c,
        &receiver.url(),
        pb::NotificationFrequency::Immediately,
    )
    .await;
    ingest(
        &mut c,
        vec![
            failure("k1", "c1", true),
            failure("k2", "c2", true),
            failure("k3", "c3", false),
        ],
    )
    .await;
    assert!(eventually(PATIENCE, || async { receiver.requests().len() >= 2 }).await);
    ingest(&mut c, vec![failure("k4", "c4", true)]).await;
    // A notice for k4 would be queued before the marker's, and so arrive
    // before it.
    ingest(&mut c, vec![marker("k5", "c5")]).await;
    assert!(
        eventually(PATIENCE, || async { receiver.requests().len() >= 3 }).await,
        "the marker's notice did not come"
    );

    let requests = receiver.requests();
    let types: Vec<String> = requests
        .iter()
        .map(|r| json(r)["types"][0]["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types.len(),
        3,
        "one per type, the third error of a type within the minute adds none: {types:?}"
    );
    let mut first_two = types[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["INVALID_EMAIL", "STRING_TOO_LONG"]);
    assert!(
        !["INVALID_EMAIL", "STRING_TOO_LONG"].contains(&types[2].as_str()),
        "the marker's type comes last: {types:?}"
    );
    for r in &requests {
        assert_eq!(json(r)["kind"], "errors");
        assert!(signed_right(r), "a valid signature");
        assert_eq!(
            r.headers.get("idempotency-key").map(String::as_str),
            json(r)["id"].as_str()
        );
        assert_eq!(
            r.headers.get("webhook-id").map(String::as_str),
            json(r)["id"].as_str()
        );
    }
}

/// The debounce lasts a minute, on Redis: the marker that holds back a
/// type's next notice expires a minute after the notice, and once it has
/// (deleted here, as the minute passing would) the type is announced again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immediate_notifications_come_again_once_the_minute_is_over() {
    let redis = RedisServer::start();
    let receiver = WebhookReceiver::start(0).await;
    let service = Service::sync_errors(Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..quick()
    })
    .await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    enable(
        &mut c,
        &receiver.url(),
        pb::NotificationFrequency::Immediately,
    )
    .await;
    ingest(&mut c, vec![failure("k1", "c1", true)]).await;
    assert!(
        eventually(PATIENCE, || async { receiver.requests().len() == 1 }).await,
        "no notice"
    );
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let markers: Vec<String> = ::redis::cmd("KEYS")
        .arg("syncgov:errors:{acme}:notify:imm:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(markers.len(), 1, "{markers:?}");
    let ttl: i64 = ::redis::cmd("PTTL")
        .arg(&markers[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        (1..=60_000).contains(&ttl),
        "held back for a minute: {ttl} ms left"
    );

    let () = ::redis::cmd("DEL")
        .arg(&markers[0])
        .query_async(&mut conn)
        .await
        .map(|_: i64| ())
        .unwrap();
    ingest(&mut c, vec![failure("k2", "c2", true)]).await;
    assert!(
        eventually(PATIENCE, || async { receiver.requests().len() == 2 }).await,
        "the type was not announced again once its minute was over"
    );
    for r in receiver.requests() {
        assert_eq!(json(&r)["types"][0]["type"], "STRING_TOO_LONG");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_goes_out_exactly_once_per_period_with_two_replicas() {
    let redis = RedisServer::start();
    let receiver = WebhookReceiver::start(0).await;
    let settings = || Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..quick()
    };
    let replicas = [
        Service::sync_errors(settings()).await,
        Service::sync_errors(settings()).await,
    ];
    let mut c = SyncErrorsClient::new(replicas[0].channel().await);
    enable(&mut c, &receiver.url(), pb::NotificationFrequency::Daily).await;

    ingest(
        &mut c,
        vec![
            failure("k1", "c1", true),
            failure("k2", "c2", true),
            failure("k3", "c3", false),
        ],
    )
    .await;
    assert!(
        eventually(PATIENCE, || async { !receiver.requests().is_empty() }).await,
        "no digest came"
    );
    ingest(&mut c, vec![failure("k4", "c4", false)]).await;
    assert!(
        eventually(PATIENCE, || async { receiver.requests().len() >= 2 }).await,
        "no second digest"
    );
    // Periods with nothing new send nothing, and none is sent twice: once a
    // whole period with nothing new has passed, a marker error goes in; its
    // digest, of a later period, comes third, after whatever was queued
    // before it.
    let second: u64 = json(&receiver.requests()[1])["period"].as_u64().unwrap();
    let day_ms = quick().digest_day.as_millis() as i64;
    let empty_period_over = eventually(PATIENCE, || async {
        syncgov_kit::clock::now_ms() / day_ms >= second as i64 + 2
    })
    .await;
    assert!(empty_period_over);
    ingest(&mut c, vec![marker("k5", "c5")]).await;
    assert!(
        eventually(PATIENCE, || async { receiver.requests().len() >= 3 }).await,
        "no digest of the marker"
    );

    let mut digests: Vec<serde_json::Value> = receiver.requests().iter().map(json).collect();
    assert_eq!(digests.len(), 3, "{digests:?}");
    let third = digests.pop().unwrap();
    assert!(
        third["period"].as_u64().unwrap() >= second + 2,
        "the marker's digest is of a later period: {third}"
    );
    assert_eq!(third["types"][0]["new_errors"], 1, "{third}");
    assert!(receiver.requests().iter().all(signed_right));
    let first = &digests[0];
    assert_eq!(first["kind"], "digest");
    assert_eq!(first["types"][0]["type"], "STRING_TOO_LONG");
    assert_eq!(first["types"][0]["new_errors"], 2);
    assert_eq!(first["types"][1]["type"], "INVALID_EMAIL");
    assert_eq!(first["types"][1]["new_errors"], 1);
    assert_eq!(digests[1]["types"][0]["new_errors"], 1);
    assert_ne!(
        first["period"], digests[1]["period"],
        "one digest per period"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_tried_again_with_the_same_key() {
    let receiver = WebhookReceiver::start(1).await;
    let service = Service::sync_errors(quick()).await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    enable(
        &mut c,
        &receiver.url(),
        pb::NotificationFrequency::Immediately,
    )
    .await;
    ingest(&mut c, vec![failure("k1", "c1", true)]).await;
    assert!(
        eventually(PATIENCE, || async { receiver.requests().len() >= 2 }).await,
        "never retried"
    );
    // Another delivery of the first notice would come before the marker's.
    ingest(&mut c, vec![marker("k2", "c2")]).await;
    assert!(
        eventually(PATIENCE, || async { receiver.requests().len() >= 3 }).await,
        "the marker's notice did not come"
    );
    let mut requests = receiver.requests();
    assert_eq!(
        requests.len(),
        3,
        "delivered once it was taken, then no more"
    );
    requests.pop();
    assert_eq!((requests[0].status, requests[1].status), (500, 200));
    assert_eq!(
        requests[0].headers.get("idempotency-key"),
        requests[1].headers.get("idempotency-key")
    );
    assert_eq!(requests[0].body, requests[1].body);
}
