//! E-mail notifications against a real SMTP server on loopback
//! (`smtp_sink.py`, aiosmtpd), and the channels' choices over real gRPC:
//! with two sync-errors replicas sharing Redis every event is mailed once
//! to every recipient and posted once to the webhook (here in the Slack
//! format); an org whose e-mail carries suspensions but not errors gets
//! only suspension mail; subjects, senders, recipients and both bodies are
//! read back, with what came from outside escaped in the HTML; AUTH works
//! and the password shows in no log; recipients are checked (a CR or LF is
//! refused naming the field) and need an SMTP server; an update changes
//! only the fields its mask names; mail that fails (a refused recipient,
//! nobody listening) is counted by reason and shown failing in the
//! settings; each channel keeps its own frequency (e-mail a daily digest
//! while the webhook hears of errors at once).
//!
//! Every wait is for a condition, with a deadline; no assertion rests on
//! how long something took.

use std::time::Duration;

use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::smtp::SmtpSink;
use syncgov_tests::{PATIENCE, RedisServer, Service, TempDir, WebhookReceiver, eventually};
use tonic::Code;
use tonic::transport::Channel;

const SECRET: &str = "a-secret-of-sixteen-or-more";
const FROM: &str = "syncgov <alerts@syncgov.example>";

fn too_long(key: &str) -> pb::Failure {
    pb::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: "c1".into(),
        status_code: "STRING_TOO_LONG".into(),
        message: "Description: data value too large: x (max length=255)".into(),
        direction: pb::Direction::ToSalesforce.into(),
        ..Default::default()
    }
}

fn choices(errors: bool, suspensions: bool, usage_alerts: bool) -> Option<pb::NotificationChoices> {
    Some(pb::NotificationChoices {
        errors,
        suspensions,
        usage_alerts,
    })
}

async fn update(
    c: &mut SyncErrorsClient<Channel>,
    org: &str,
    settings: pb::NotificationSettings,
    paths: &[&str],
) -> Result<pb::UpdateNotificationSettingsResponse, tonic::Status> {
    c.update_notification_settings(pb::UpdateNotificationSettingsRequest {
        org_id: org.into(),
        settings: Some(settings),
        update_mask: (!paths.is_empty()).then(|| prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    })
    .await
    .map(tonic::Response::into_inner)
}

async fn get(c: &mut SyncErrorsClient<Channel>, org: &str) -> pb::NotificationSettings {
    c.get_notification_settings(pb::GetNotificationSettingsRequest { org_id: org.into() })
        .await
        .expect("GetNotificationSettings")
        .into_inner()
        .settings
        .expect("settings")
}

async fn suspend(
    q: &mut QuotaGovernorClient<Channel>,
    org: &str,
    reason: tx::SuspensionReason,
    detail: &str,
) {
    q.suspend(quota::SuspendRequest {
        org_id: org.into(),
        reason: reason.into(),
        detail: detail.into(),
    })
    .await
    .expect("Suspend");
}

async fn clear(q: &mut QuotaGovernorClient<Channel>, org: &str, reason: tx::SuspensionReason) {
    q.clear_suspension(quota::ClearSuspensionRequest {
        org_id: org.into(),
        reason: reason.into(),
    })
    .await
    .expect("ClearSuspension");
}

fn subjects_of(mails: &[serde_json::Value], org: &str) -> Vec<String> {
    let prefix = format!("[syncgov] {org}: ");
    mails
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .filter(|s| s.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_mail_and_post_each_event_once_per_channel() {
    let redis = RedisServer::start();
    let sink = SmtpSink::start();
    let hook = WebhookReceiver::start(0).await;
    let governor = Service::governor(GovernorSettings::default()).await;
    let settings = || Settings {
        governor_addr: Some(format!("http://{}", governor.addr())),
        notification_retry: Duration::from_millis(300),
        webhook_allow: vec!["127.0.0.1/32".parse().unwrap()],
        smtp_url: Some(sink.url()),
        smtp_from: Some(FROM.into()),
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            ..ServerSettings::default()
        },
        ..Settings::default()
    };
    let replicas = [
        Service::sync_errors(settings()).await,
        Service::sync_errors(settings()).await,
    ];
    let mut c = SyncErrorsClient::new(replicas[0].channel().await);
    // acme: e-mail only, suspensions but not errors.
    let acme_to = ["ops@acme.example", "admin@acme.example"];
    update(
        &mut c,
        "acme",
        pb::NotificationSettings {
            enabled: true,
            frequency: pb::NotificationFrequency::Immediately.into(),
            email: choices(false, true, true),
            email_recipients: acme_to.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        },
        &[],
    )
    .await
    .expect("acme's settings");
    // globex: every kind, by e-mail and to a Slack-format webhook.
    update(
        &mut c,
        "globex",
        pb::NotificationSettings {
            enabled: true,
            frequency: pb::NotificationFrequency::Immediately.into(),
            webhook_url: hook.url(),
            webhook_secret: SECRET.into(),
            webhook_format: pb::WebhookFormat::Slack.into(),
            email_recipients: vec!["ops@globex.example".into()],
            ..Default::default()
        },
        &[],
    )
    .await
    .expect("globex's settings");
    let stored = get(&mut c, "acme").await;
    assert_eq!(stored.email, choices(false, true, true));
    assert_eq!(
        stored.webhook,
        choices(true, true, true),
        "all on unless said"
    );

    for org in ["acme", "globex"] {
        c.ingest_errors(pb::IngestErrorsRequest {
            org_id: org.into(),
            failures: vec![too_long(&format!("{org}-1"))],
        })
        .await
        .expect("IngestErrors");
    }

    // Wait until the replicas read the governor's events (a warm-up event
    // of an org without notifications moves where their reading stands).
    let mut q = QuotaGovernorClient::new(governor.channel().await);
    let conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    suspend(&mut q, "warm-up", tx::SuspensionReason::Unknown, "").await;
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

    let storage = tx::SuspensionReason::SalesforceStorageLimitExceeded;
    let hostile = "<b>STORAGE_LIMIT_EXCEEDED</b> & \"more\"";
    suspend(&mut q, "acme", storage, hostile).await;
    suspend(&mut q, "globex", storage, "STORAGE_LIMIT_EXCEEDED").await;
    clear(&mut q, "acme", storage).await;
    // Markers: an org's notices go out in order, so once its marker has
    // come, everything queued before it has too (a repeat included).
    let marker = tx::SuspensionReason::SalesforceApiDisabled;
    suspend(&mut q, "acme", marker, "API_DISABLED_FOR_ORG").await;
    suspend(&mut q, "globex", marker, "API_DISABLED_FOR_ORG").await;
    let marker_subject =
        |org: &str| format!("[syncgov] {org}: integration suspended (API access disabled)");
    let slack_texts = || -> Vec<String> {
        hook.requests()
            .iter()
            .map(|r| {
                let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
                assert_eq!(
                    body.as_object().map(|o| o.len()),
                    Some(1),
                    "only text: {body}"
                );
                body["text"].as_str().expect("a text").to_owned()
            })
            .collect()
    };
    let arrived = eventually(PATIENCE, || async {
        let mails = sink.messages();
        subjects_of(&mails, "acme").contains(&marker_subject("acme"))
            && subjects_of(&mails, "globex").contains(&marker_subject("globex"))
            && slack_texts()
                .iter()
                .any(|t| t.starts_with(&marker_subject("globex")))
    })
    .await;
    assert!(arrived, "the markers did not come: {:#?}", sink.messages());

    let mails = sink.messages();
    // acme: suspensions only, each event once, to both recipients at once.
    assert_eq!(
        subjects_of(&mails, "acme"),
        vec![
            "[syncgov] acme: integration suspended (storage full)".to_owned(),
            "[syncgov] acme: suspension cleared (storage full)".to_owned(),
            marker_subject("acme"),
        ],
        "errors are off for acme's e-mail; one mail per event"
    );
    let guidance =
        sync_errors::taxonomy::SuspensionReason::SalesforceStorageLimitExceeded.guidance();
    for mail in mails
        .iter()
        .filter(|m| m["subject"].as_str().unwrap().contains(" acme: "))
    {
        let mut to: Vec<&str> = mail["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        to.sort();
        assert_eq!(to, vec!["admin@acme.example", "ops@acme.example"], "{mail}");
        assert_eq!(mail["from"], FROM, "{mail}");
        assert_eq!(mail["content_type"], "multipart/alternative", "{mail}");
        assert!(
            mail["message_id"]
                .as_str()
                .unwrap()
                .contains("syncgov@syncgov.example"),
            "{mail}"
        );
    }
    let suspended = mails
        .iter()
        .find(|m| m["subject"] == "[syncgov] acme: integration suspended (storage full)")
        .unwrap();
    let text = suspended["text"].as_str().unwrap();
    let html = suspended["html"].as_str().unwrap();
    assert!(text.contains("SALESFORCE_STORAGE_LIMIT_EXCEEDED"), "{text}");
    assert!(
        text.contains(hostile),
        "the plain text quotes the detail: {text}"
    );
    assert!(text.contains(guidance), "{text}");
    assert!(
        html.contains("&lt;b&gt;STORAGE_LIMIT_EXCEEDED&lt;/b&gt; &amp; &quot;more&quot;"),
        "{html}"
    );
    assert!(
        !html.contains("<b>STORAGE"),
        "nothing from outside is markup: {html}"
    );
    let cleared = mails
        .iter()
        .find(|m| m["subject"] == "[syncgov] acme: suspension cleared (storage full)")
        .unwrap();
    assert!(
        cleared["text"].as_str().unwrap().contains("by an operator"),
        "{cleared}"
    );

    // globex: every kind, once by e-mail and once to the webhook.
    let globex = vec![
        "[syncgov] globex: new sync errors (STRING_TOO_LONG)".to_owned(),
        "[syncgov] globex: integration suspended (storage full)".to_owned(),
        marker_subject("globex"),
    ];
    assert_eq!(subjects_of(&mails, "globex"), globex);
    for mail in mails
        .iter()
        .filter(|m| m["subject"].as_str().unwrap().contains(" globex: "))
    {
        assert_eq!(
            mail["rcpt_tos"],
            serde_json::json!(["ops@globex.example"]),
            "{mail}"
        );
    }
    let texts = slack_texts();
    let firsts: Vec<String> = texts
        .iter()
        .map(|t| t.lines().next().unwrap().to_owned())
        .collect();
    assert_eq!(firsts, globex, "one post per event: {texts:#?}");
    assert!(texts[0].contains("STRING_TOO_LONG"), "{}", texts[0]);
}

/// Starts the sync-errors binary on memory with `args`, its logs (debug
/// and up) in `log`; returns it and its address.
fn binary_with_log(args: &[&str], log: &std::path::Path) -> (Killed, std::net::SocketAddr) {
    let file = std::fs::File::create(log).expect("the log file");
    let child = Killed(
        std::process::Command::new(syncgov_tests::binary("sync-errors"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "debug")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start sync-errors"),
    );
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let addr = text
            .lines()
            .filter(|l| l.contains("listening on"))
            .flat_map(|l| l.split(|c: char| c.is_whitespace() || c == '"'))
            .find_map(|w| w.parse::<std::net::SocketAddr>().ok());
        if let Some(addr) = addr {
            return (child, addr);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no listening line: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_auth_delivers_and_the_password_never_shows() {
    const PASSWORD: &str = "s3cret-smtp-pa55word";
    let sink = SmtpSink::start_with_auth("syncgov", PASSWORD);
    let dir = TempDir::new("smtp-auth");
    let good = dir.path().join("good");
    let bad = dir.path().join("bad");
    std::fs::write(&good, format!("{PASSWORD}\n")).unwrap();
    std::fs::write(&bad, "wrong-password-here\n").unwrap();
    let url = sink.url();
    let start = |file: &std::path::Path, log: &str| {
        let (child, addr) = binary_with_log(
            &[
                "--smtp-url",
                &url,
                "--smtp-username",
                "syncgov",
                "--smtp-password-file",
                file.to_str().unwrap(),
                "--smtp-from",
                FROM,
                "--notification-retry",
                "200ms",
            ],
            &dir.path().join(log),
        );
        (child, addr)
    };
    let on = |to: &str| pb::NotificationSettings {
        enabled: true,
        email_recipients: vec![to.into()],
        ..Default::default()
    };

    // A wrong password: the server refuses, the service says so and retries,
    // and nothing arrives.
    let (_refused, addr) = start(&bad, "refused.log");
    let mut c = SyncErrorsClient::new(syncgov_tests::channel(addr).await);
    update(&mut c, "acme", on("ops@acme.example"), &[])
        .await
        .unwrap();
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "acme".into(),
        failures: vec![too_long("a-1")],
    })
    .await
    .unwrap();
    let log = dir.path().join("refused.log");
    let warned = eventually(PATIENCE, || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("not e-mailed")
            .count()
            >= 2
    })
    .await;
    assert!(warned, "{}", std::fs::read_to_string(&log).unwrap());
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());

    // The right one: the mail arrives, authenticated.
    let (_accepted, addr) = start(&good, "accepted.log");
    let mut c = SyncErrorsClient::new(syncgov_tests::channel(addr).await);
    update(&mut c, "globex", on("ops@globex.example"), &[])
        .await
        .unwrap();
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "globex".into(),
        failures: vec![too_long("g-1")],
    })
    .await
    .unwrap();
    assert!(
        eventually(PATIENCE, || async { !sink.messages().is_empty() }).await,
        "no mail came"
    );
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["authenticated"], true);
    assert_eq!(
        mails[0]["subject"],
        "[syncgov] globex: new sync errors (STRING_TOO_LONG)"
    );
    assert_eq!(
        mails[0]["rcpt_tos"],
        serde_json::json!(["ops@globex.example"])
    );
    for log in ["refused.log", "accepted.log"] {
        let text = std::fs::read_to_string(dir.path().join(log)).unwrap();
        assert!(
            text.contains("e-mail"),
            "the log says something of e-mail: {text}"
        );
        assert!(!text.contains(PASSWORD), "{log} shows the password");
        assert!(
            !text.contains("wrong-password-here"),
            "{log} shows the password"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipients_are_checked_and_need_an_smtp_server() {
    // Without an SMTP server: refused, naming the setting.
    let plain = Service::sync_errors(Settings::default()).await;
    let mut c = SyncErrorsClient::new(plain.channel().await);
    let with = |to: Vec<String>| pb::NotificationSettings {
        enabled: true,
        email_recipients: to,
        ..Default::default()
    };
    let err = update(&mut c, "acme", with(vec!["ops@acme.example".into()]), &[])
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(
        err.message().contains("settings.email_recipients"),
        "{err:?}"
    );
    assert!(err.message().contains("--smtp-url"), "{err:?}");

    // With one: header injection and the bounds are refused, naming the field.
    let sink = SmtpSink::start();
    let service = Service::sync_errors(Settings {
        smtp_url: Some(sink.url()),
        smtp_from: Some(FROM.into()),
        ..Settings::default()
    })
    .await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    let refused = |to: &[&str]| with(to.iter().map(|a| a.to_string()).collect());
    for (to, field) in [
        (
            refused(&[
                "ops@acme.example",
                "x@acme.example\r\nBcc: spy@evil.example",
            ]),
            "settings.email_recipients[1]",
        ),
        (
            refused(&["ops@acme.example\nX-Injected: 1"]),
            "settings.email_recipients[0]",
        ),
        (refused(&["not an address"]), "settings.email_recipients[0]"),
        (
            refused(&["a@acme.example", "A@acme.example"]),
            "settings.email_recipients[1]",
        ),
        (
            with((0..21).map(|i| format!("u{i}@acme.example")).collect()),
            "settings.email_recipients",
        ),
    ] {
        let err = update(&mut c, "acme", to.clone(), &[]).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{to:?}: {err:?}");
        assert!(err.message().starts_with(field), "{to:?}: {err:?}");
    }
    assert!(sink.messages().is_empty());

    // An update changes only what its mask names; the rest stays.
    let full = pb::NotificationSettings {
        enabled: true,
        frequency: pb::NotificationFrequency::Daily.into(),
        webhook_url: "https://hooks.example.com/syncgov".into(),
        webhook_secret: SECRET.into(),
        email_recipients: vec!["ops@acme.example".into()],
        webhook_format: pb::WebhookFormat::Slack.into(),
        ..Default::default()
    };
    update(&mut c, "acme", full, &[])
        .await
        .expect("the settings");
    let before = get(&mut c, "acme").await;
    let after = update(
        &mut c,
        "acme",
        pb::NotificationSettings {
            email: choices(false, false, false),
            ..Default::default()
        },
        &["email.errors"],
    )
    .await
    .expect("one choice")
    .settings
    .unwrap();
    assert_eq!(
        after.email,
        choices(false, true, true),
        "only email.errors changed"
    );
    assert_eq!(
        pb::NotificationSettings {
            email: before.email,
            ..after.clone()
        },
        before
    );
    // Switching off keeps the URL, the secret and the recipients.
    let off = update(
        &mut c,
        "acme",
        pb::NotificationSettings::default(),
        &["enabled"],
    )
    .await
    .expect("off");
    let off_settings = off.settings.unwrap();
    assert!(!off_settings.enabled);
    assert_eq!(
        off_settings.webhook_url,
        "https://hooks.example.com/syncgov"
    );
    assert_eq!(
        off_settings.email_recipients,
        vec!["ops@acme.example".to_owned()]
    );
    assert_eq!(
        off_settings.frequency,
        pb::NotificationFrequency::Daily as i32
    );
    assert!(off.webhook_secret_set);
    // A path that is not a field is refused, naming the mask.
    let err = update(
        &mut c,
        "acme",
        pb::NotificationSettings::default(),
        &["webhook.nope"],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("update_mask"), "{err:?}");
    // Older clients (no mask, no newer fields) keep the newer fields.
    update(
        &mut c,
        "acme",
        pb::NotificationSettings {
            enabled: true,
            frequency: pb::NotificationFrequency::Weekly.into(),
            webhook_url: "https://hooks.example.com/syncgov".into(),
            ..Default::default()
        },
        &[],
    )
    .await
    .expect("an older client's update");
    let kept = get(&mut c, "acme").await;
    assert_eq!(kept.email_recipients, vec!["ops@acme.example".to_owned()]);
    assert_eq!(kept.webhook_format, pb::WebhookFormat::Slack as i32);
    assert_eq!(kept.email, choices(false, true, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_smtp_server_is_verified_against_the_ca_file() {
    let pki = syncgov_tests::pki::Pki::new("smtp");
    let issued = pki.issue("smtp", &["localhost"]);
    for (mode, url) in [
        ("starttls", "smtp://localhost:{port}?tls=required"),
        ("implicit", "smtps://localhost:{port}"),
    ] {
        let sink = SmtpSink::start_tls(mode, &issued.cert, &issued.key);
        let url = url.replace("{port}", &sink.port().to_string());
        let service = Service::sync_errors(Settings {
            smtp_url: Some(url.clone()),
            smtp_from: Some(FROM.into()),
            smtp_ca_file: Some(pki.ca()),
            ..Settings::default()
        })
        .await;
        let mut c = SyncErrorsClient::new(service.channel().await);
        let on = pb::NotificationSettings {
            enabled: true,
            email_recipients: vec!["ops@acme.example".into()],
            ..Default::default()
        };
        update(&mut c, "acme", on, &[]).await.unwrap();
        c.ingest_errors(pb::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![too_long("a-1")],
        })
        .await
        .unwrap();
        assert!(
            eventually(PATIENCE, || async { !sink.messages().is_empty() }).await,
            "{mode}: no mail came over TLS"
        );
        let mails = sink.messages();
        assert_eq!(mails.len(), 1, "{mode}: {mails:?}");
        assert_eq!(mails[0]["tls"], true, "{mode}: {mails:?}");
    }

    // Without the CA the server's certificate is not trusted: nothing is
    // sent, and the service says why.
    let sink = SmtpSink::start_tls("starttls", &issued.cert, &issued.key);
    let dir = TempDir::new("smtp-tls");
    let url = format!("smtp://localhost:{}?tls=required", sink.port());
    let (_service, addr) = binary_with_log(
        &[
            "--smtp-url",
            &url,
            "--smtp-from",
            FROM,
            "--notification-retry",
            "200ms",
        ],
        &dir.path().join("untrusted.log"),
    );
    let mut c = SyncErrorsClient::new(syncgov_tests::channel(addr).await);
    let on = pb::NotificationSettings {
        enabled: true,
        email_recipients: vec!["ops@acme.example".into()],
        ..Default::default()
    };
    update(&mut c, "acme", on, &[]).await.unwrap();
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "acme".into(),
        failures: vec![too_long("a-1")],
    })
    .await
    .unwrap();
    let log = dir.path().join("untrusted.log");
    let refused = eventually(PATIENCE, || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("not e-mailed")
    })
    .await;
    assert!(refused, "{}", std::fs::read_to_string(&log).unwrap());
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());
}

/// `GET /metrics` of an admin port, as Prometheus would scrape it.
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

/// The value of the series whose line starts with `series` (name and
/// labels), if scraped.
fn value_of(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
}

/// Starts sync-errors on memory mailing through `smtp_url`, its metrics on
/// an admin port; turns acme's e-mail on and reports an error; waits until
/// the settings say e-mail is failing. Returns the status they show and
/// the metrics then.
async fn mail_fails(smtp_url: &str) -> (pb::NotificationDeliveryStatus, String) {
    let admin = syncgov_tests::free_addr();
    let admin_arg = admin.to_string();
    let service = syncgov_tests::Process::start(
        "sync-errors",
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &admin_arg,
            "--smtp-url",
            smtp_url,
            "--smtp-from",
            FROM,
            "--smtp-timeout",
            "2s",
            "--notification-retry",
            "100ms",
        ],
    );
    let mut c = SyncErrorsClient::new(syncgov_tests::channel(service.addr()).await);
    let on = pb::NotificationSettings {
        enabled: true,
        email_recipients: vec!["nobody@acme.example".into()],
        ..Default::default()
    };
    update(&mut c, "acme", on, &[]).await.unwrap();
    let reply = c
        .get_notification_settings(pb::GetNotificationSettingsRequest {
            org_id: "acme".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let fresh = reply.email_delivery.expect("e-mail has a status once on");
    assert_eq!(fresh.consecutive_failures, 0, "{fresh:?}");
    assert!(reply.delivery.is_some_and(|d| d.consecutive_failures == 0));
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "acme".into(),
        failures: vec![too_long("a-1")],
    })
    .await
    .unwrap();
    let email_status = |mut c: SyncErrorsClient<Channel>| async move {
        c.get_notification_settings(pb::GetNotificationSettingsRequest {
            org_id: "acme".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .email_delivery
        .expect("e-mail has a status")
    };
    let failing = eventually(PATIENCE, || {
        let c = c.clone();
        async move { email_status(c).await.failing }
    })
    .await;
    let status = email_status(c.clone()).await;
    assert!(failing, "e-mail never shown failing: {status:?}");
    // The gauge is read by this replica's notifier after each attempt.
    let gauge =
        "syncgov_errors_notifications_failing{channel=\"email\",syncgov_service=\"sync-errors\"}";
    let seen = eventually(PATIENCE, || async {
        let text = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .unwrap();
        value_of(&text, gauge) == Some(1.0)
    })
    .await;
    let text = scrape(admin);
    assert!(seen, "{gauge} is not 1 in:\n{text}");
    drop(service);
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_mail_is_counted_by_reason_and_shown_in_the_settings() {
    let failed = |reason: &str| {
        format!(
            "syncgov_errors_notifications_deliveries_total{{channel=\"email\",reason=\"{reason}\",result=\"failed\",syncgov_service=\"sync-errors\"}}"
        )
    };
    let webhook_failed = "syncgov_errors_notifications_deliveries_total{channel=\"webhook\",reason=\"connect\",result=\"failed\",syncgov_service=\"sync-errors\"}";
    let webhook_gauge =
        "syncgov_errors_notifications_failing{channel=\"webhook\",syncgov_service=\"sync-errors\"}";

    // A server that refuses the recipient: nothing arrives, each attempt
    // counts as a refused recipient, and the settings say why.
    let sink = SmtpSink::start_refusing_recipients();
    let (status, text) = mail_fails(&sink.url()).await;
    assert!(status.consecutive_failures >= 3, "{status:?}");
    assert!(
        status.last_failure.contains("550"),
        "the refusal is told: {status:?}"
    );
    assert!(status.last_failure_at.is_some() && status.last_success_at.is_none());
    let refused = value_of(&text, &failed("recipient")).unwrap_or(0.0);
    assert!(refused >= 3.0, "{}: {refused}\n{text}", failed("recipient"));
    assert_eq!(value_of(&text, &failed("connect")), Some(0.0), "{text}");
    // The webhook channel has its own series, untouched.
    assert_eq!(value_of(&text, webhook_failed), Some(0.0), "{text}");
    assert_eq!(value_of(&text, webhook_gauge), Some(0.0), "{text}");
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());

    // Nobody listening: a connection failure.
    let closed = format!("smtp://{}", syncgov_tests::nowhere(1));
    let (status, text) = mail_fails(&closed).await;
    assert!(status.consecutive_failures >= 3, "{status:?}");
    assert!(!status.last_failure.is_empty(), "{status:?}");
    let unreachable = value_of(&text, &failed("connect")).unwrap_or(0.0);
    assert!(
        unreachable >= 3.0,
        "{}: {unreachable}\n{text}",
        failed("connect")
    );
    assert_eq!(value_of(&text, &failed("recipient")), Some(0.0), "{text}");
}

/// E-mail on a daily digest while the webhook hears of errors at once, on
/// `backend`: the webhook gets each new type now, the mail one digest of
/// them all, and neither the other's notices. A channel sent back to the
/// default frequency follows it again.
async fn each_channel_keeps_its_own_frequency(backend: syncgov_tests::Backend) {
    let store = backend.start();
    let sink = SmtpSink::start();
    let hook = WebhookReceiver::start(0).await;
    let service = Service::sync_errors(Settings {
        digest_day: Duration::from_secs(1),
        notification_retry: Duration::from_millis(300),
        webhook_allow: vec!["127.0.0.1/32".parse().unwrap()],
        smtp_url: Some(sink.url()),
        smtp_from: Some(FROM.into()),
        server: ServerSettings {
            redis_url: store.redis_url(),
            redis_cluster_nodes: store.cluster_nodes(),
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    // Without a mask: frequency (immediately) for every channel but e-mail.
    update(
        &mut c,
        "acme",
        pb::NotificationSettings {
            enabled: true,
            frequency: pb::NotificationFrequency::Immediately.into(),
            email_frequency: pb::NotificationFrequency::Daily.into(),
            webhook_url: hook.url(),
            webhook_secret: SECRET.into(),
            email_recipients: vec!["ops@acme.example".into()],
            ..Default::default()
        },
        &[],
    )
    .await
    .expect("acme's settings");
    let stored = get(&mut c, "acme").await;
    assert_eq!(
        (stored.webhook_frequency, stored.email_frequency),
        (
            pb::NotificationFrequency::Unspecified as i32,
            pb::NotificationFrequency::Daily as i32
        ),
        "the webhook follows frequency; e-mail has its own"
    );

    let failure = failure_on;
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "acme".into(),
        failures: vec![
            too_long("a-1"),
            failure(
                "a-2",
                "c2",
                "STRING_TOO_LONG",
                "Description: data value too large: y (max length=255)",
            ),
            failure(
                "a-3",
                "c3",
                "INVALID_EMAIL_ADDRESS",
                "invalid email address: XX",
            ),
        ],
    })
    .await
    .unwrap();

    // The webhook: one notice per new type, now.
    assert!(
        eventually(PATIENCE, || async { hook.requests().len() >= 2 }).await,
        "the webhook heard nothing"
    );
    // E-mail: one digest of the three, once its day is over.
    assert!(
        eventually(PATIENCE, || async { !sink.messages().is_empty() }).await,
        "no digest was mailed"
    );
    let mails = sink.messages();
    assert_eq!(
        subjects_of(&mails, "acme"),
        ["[syncgov] acme: sync error digest, 3 new errors"],
        "{mails:#?}"
    );
    // A whole day later nothing more has come by either channel: no
    // digest to the webhook, no immediate notice by e-mail.
    let day_after = syncgov_kit::clock::now_ms() / 1000 + 2;
    assert!(
        eventually(PATIENCE, || async {
            syncgov_kit::clock::now_ms() / 1000 >= day_after
        })
        .await
    );
    let posted: Vec<serde_json::Value> = hook
        .requests()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(posted.len(), 2, "{posted:#?}");
    assert!(posted.iter().all(|p| p["kind"] == "errors"), "{posted:#?}");
    let mut types: Vec<&str> = posted
        .iter()
        .map(|p| p["types"][0]["type"].as_str().unwrap())
        .collect();
    types.sort_unstable();
    assert_eq!(types, ["INVALID_EMAIL", "STRING_TOO_LONG"]);
    assert_eq!(sink.messages().len(), 1, "{:#?}", sink.messages());

    // Back to the default (path email_frequency, UNSPECIFIED): a new type is
    // mailed at once too.
    update(
        &mut c,
        "acme",
        pb::NotificationSettings::default(),
        &["email_frequency"],
    )
    .await
    .unwrap();
    assert_eq!(
        get(&mut c, "acme").await.email_frequency,
        pb::NotificationFrequency::Unspecified as i32
    );
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "acme".into(),
        failures: vec![failure(
            "a-4",
            "c4",
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            "npsp.TDTM_Opportunity: execution of AfterInsert\n\ncaused by: System.DmlException: Insert failed.",
        )],
    })
    .await
    .unwrap();
    assert!(
        eventually(PATIENCE, || async {
            sink.messages().len() == 2 && hook.requests().len() == 3
        })
        .await,
        "the new type went to both: {:#?}",
        sink.messages()
    );
    let mails = sink.messages();
    assert!(
        subjects_of(&mails, "acme")[1].starts_with("[syncgov] acme: new sync errors"),
        "{mails:#?}"
    );
    // A frequency that is none is refused naming its field.
    let err = update(
        &mut c,
        "acme",
        pb::NotificationSettings {
            webhook_frequency: 7,
            ..Default::default()
        },
        &["webhook_frequency"],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("settings.webhook_frequency:"),
        "{}",
        err.message()
    );
    drop(store);
}

/// A failure on record `record` of a given status and message.
fn failure_on(key: &str, record: &str, status: &str, message: &str) -> pb::Failure {
    pb::Failure {
        crm_record_id: record.into(),
        status_code: status.into(),
        message: message.into(),
        ..too_long(key)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_channel_keeps_its_own_frequency_on_memory() {
    each_channel_keeps_its_own_frequency(syncgov_tests::Backend::Memory).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_channel_keeps_its_own_frequency_on_redis() {
    each_channel_keeps_its_own_frequency(syncgov_tests::Backend::Redis).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_channel_keeps_its_own_frequency_on_a_cluster() {
    each_channel_keeps_its_own_frequency(syncgov_tests::Backend::Cluster).await;
}

/// Each channel on its own: with the mail server away, the webhook still
/// hears of a new error at once, and only once while the mail is tried
/// again and again; the mail goes out, alone, once its server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_mail_server_does_not_hold_back_the_webhook() {
    let smtp_addr = syncgov_tests::free_addr();
    let hook = WebhookReceiver::start(0).await;
    let service = Service::sync_errors(Settings {
        notification_retry: Duration::from_millis(100),
        webhook_allow: vec!["127.0.0.1/32".parse().unwrap()],
        smtp_url: Some(format!("smtp://{smtp_addr}")),
        smtp_from: Some(FROM.into()),
        smtp_timeout: Duration::from_secs(2),
        ..Settings::default()
    })
    .await;
    let mut c = SyncErrorsClient::new(service.channel().await);
    update(
        &mut c,
        "acme",
        pb::NotificationSettings {
            enabled: true,
            frequency: pb::NotificationFrequency::Immediately.into(),
            webhook_url: hook.url(),
            webhook_secret: SECRET.into(),
            email_recipients: vec!["ops@acme.example".into()],
            ..Default::default()
        },
        &[],
    )
    .await
    .expect("acme's settings");
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: "acme".into(),
        failures: vec![too_long("a-1")],
    })
    .await
    .expect("IngestErrors");

    let posted = eventually(PATIENCE, || async { !hook.requests().is_empty() }).await;
    assert!(posted, "the webhook waited for the mail server");
    // The mail keeps failing meanwhile, and the webhook is not posted again.
    let failing = eventually(PATIENCE, || {
        let mut c = c.clone();
        async move {
            get_status(&mut c)
                .await
                .is_some_and(|s| s.consecutive_failures >= 3)
        }
    })
    .await;
    assert!(failing, "the mail was not tried again");
    assert_eq!(hook.requests().len(), 1, "posted again on the mail's retry");

    // The mail server comes back: the mail goes out, the webhook still once.
    let sink = SmtpSink::start_on(smtp_addr);
    let mailed = eventually(PATIENCE, || async { !sink.messages().is_empty() }).await;
    assert!(mailed, "the mail never went out");
    assert_eq!(sink.messages().len(), 1, "{:?}", sink.messages());
    assert_eq!(hook.requests().len(), 1);
}

async fn get_status(c: &mut SyncErrorsClient<Channel>) -> Option<pb::NotificationDeliveryStatus> {
    c.get_notification_settings(pb::GetNotificationSettingsRequest {
        org_id: "acme".into(),
    })
    .await
    .ok()?
    .into_inner()
    .email_delivery
}
