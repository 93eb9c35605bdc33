//! Who may call what, and over what: bearer tokens (a static token file,
//! HS256, RS256 and EdDSA JWTs, with their times) checked for role and org
//! on both services (an admin's or a service's included), sync-errors' own
//! credential towards the governor, TLS and mutual TLS with certificates
//! made here (refused when expired or not valid yet, their expiry a
//! metric), the admin port's probes under mutual TLS, and files rotated
//! while the services run.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings as SyncErrorsSettings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use syncgov_kit::tls::ClientTls;
use syncgov_tests::PATIENCE;
use syncgov_tests::pki::{Issued, Pki};
use syncgov_tests::{Service, TempDir, binary, eventually};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const WORKER: &str = "worker-acme-0123456789abcdef0123";
const OPERATOR: &str = "operator-acme-0123456789abcdef01";
const ADMIN: &str = "admin-0123456789abcdef0123456789";
const SERVICE: &str = "service-0123456789abcdef01234567";

/// A token file naming one caller of each role.
fn token_file(dir: &TempDir) -> PathBuf {
    let path = dir.path().join("tokens");
    std::fs::write(
        &path,
        format!(
            "# token role orgs name\n{WORKER} worker acme pool-a\n{OPERATOR} operator acme ops\n\
             {ADMIN} admin * root\n{SERVICE} service * sync-errors\n"
        ),
    )
    .unwrap();
    path
}

fn quick_reload(security: SecuritySettings) -> SecuritySettings {
    SecuritySettings {
        reload_interval: Duration::from_millis(100),
        ..security
    }
}

async fn plain(addr: std::net::SocketAddr) -> Channel {
    syncgov_tests::channel(addr).await
}

fn as_caller(channel: Channel, token: Option<&str>) -> AuthChannel {
    let bearer = match token {
        Some(token) => Bearer::fixed(token).unwrap(),
        None => Bearer::none(),
    };
    AuthChannel::new(channel, bearer)
}

fn governor_as(channel: &Channel, token: Option<&str>) -> QuotaGovernorClient<AuthChannel> {
    QuotaGovernorClient::new(as_caller(channel.clone(), token))
}

fn budget(org: &str) -> quota::SetBudgetRequest {
    quota::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource: 0,
        budget: Some(quota::Budget {
            org_limit: 10_000,
            allocation: 1_000,
            ..Default::default()
        }),
    }
}

fn ask(org: &str) -> quota::AcquireTokensRequest {
    quota::AcquireTokensRequest {
        org_id: org.into(),
        resource: 0,
        count: 1,
        // Within a worker token's default ceiling.
        priority: quota::Priority::Normal.into(),
        ..Default::default()
    }
}

/// A report of one failure that suspends `org`: Salesforce's daily limit.
fn daily_limit_failure(org: &str) -> errors::IngestErrorsRequest {
    errors::IngestErrorsRequest {
        org_id: org.into(),
        failures: vec![errors::Failure {
            idempotency_key: "k1".into(),
            object_type: "Contact".into(),
            crm_record_id: "c1".into(),
            status_code: "REQUEST_LIMIT_EXCEEDED".into(),
            message: "TotalRequests Limit exceeded.".into(),
            direction: errors::Direction::ToSalesforce.into(),
            ..Default::default()
        }],
    }
}

/// The code and message of a failed call.
fn refusal<T: std::fmt::Debug>(result: Result<T, tonic::Status>) -> (Code, String) {
    let status = result.expect_err("the call must be refused");
    (status.code(), status.message().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_need_a_token_for_their_role_and_their_org() {
    let dir = TempDir::new("auth");
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            security: SecuritySettings {
                auth_token_file: Some(token_file(&dir)),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let channel = plain(governor.addr()).await;

    // Probes need no credential.
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("health stays open");
    assert_eq!(health.into_inner().status, 1);

    let (code, message) = refusal(
        governor_as(&channel, None)
            .acquire_tokens(ask("acme"))
            .await,
    );
    assert_eq!(code, Code::Unauthenticated);
    assert!(message.contains("bearer token is required"), "{message}");
    let (code, message) = refusal(
        governor_as(&channel, Some("not-a-token-we-issued-at-all"))
            .acquire_tokens(ask("acme"))
            .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (Code::Unauthenticated, "token refused: unknown token")
    );

    // Budgets are the admin's.
    let (code, message) = refusal(
        governor_as(&channel, Some(WORKER))
            .set_budget(budget("acme"))
            .await,
    );
    assert_eq!(
        (code, message.as_str()),
        (Code::PermissionDenied, "role worker may not call SetBudget")
    );
    let (code, _) = refusal(
        governor_as(&channel, Some(OPERATOR))
            .set_budget(budget("acme"))
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);
    let mut admin = governor_as(&channel, Some(ADMIN));
    admin
        .set_budget(budget("acme"))
        .await
        .expect("admins set budgets");
    admin
        .set_budget(budget("globex"))
        .await
        .expect("of every org");

    // A worker takes tokens of its own orgs only.
    let mut worker = governor_as(&channel, Some(WORKER));
    let reply = worker
        .acquire_tokens(ask("acme"))
        .await
        .expect("its own org")
        .into_inner();
    assert!(reply.granted);
    let (code, message) = refusal(worker.acquire_tokens(ask("globex")).await);
    assert_eq!(
        (code, message.as_str()),
        (
            Code::PermissionDenied,
            "pool-a may not touch org \"globex\""
        )
    );
    // On a stream, each message's org is checked: the first for another
    // org ends it.
    let messages = [ask("acme"), ask("globex"), ask("acme")]
        .into_iter()
        .map(|request| quota::AcquireTokensStreamRequest {
            request: Some(request),
        });
    let mut replies = worker
        .acquire_tokens_stream(tokio_stream::iter(messages))
        .await
        .expect("a worker may stream")
        .into_inner();
    let first = replies
        .message()
        .await
        .expect("the first reply")
        .expect("one");
    assert!(first.response.is_some_and(|r| r.granted));
    let status = replies
        .message()
        .await
        .expect_err("globex is not the worker's");
    assert_eq!(status.code(), Code::PermissionDenied);

    // An operator reads its orgs but spends nothing.
    let mut operator = governor_as(&channel, Some(OPERATOR));
    let (code, _) = refusal(operator.acquire_tokens(ask("acme")).await);
    assert_eq!(code, Code::PermissionDenied);
    let usage = operator
        .get_usage(quota::GetUsageRequest {
            org_id: "acme".into(),
            resource: 0,
            top_consumers: 0,
        })
        .await
        .expect("an operator reads its org's usage")
        .into_inner();
    assert_eq!(
        usage.used, 2,
        "the worker's two tokens, one of them streamed"
    );
    let (code, _) = refusal(
        operator
            .get_usage(quota::GetUsageRequest {
                org_id: "globex".into(),
                resource: 0,
                top_consumers: 0,
            })
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);
    let (code, message) = refusal(
        operator
            .watch_suspensions(quota::WatchSuspensionsRequest::default())
            .await,
    );
    assert_eq!(
        code,
        Code::PermissionDenied,
        "every org's suspensions: {message}"
    );
    operator
        .watch_suspensions(quota::WatchSuspensionsRequest {
            org_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("its own org's suspensions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_error_service_checks_roles_and_orgs_too() {
    let dir = TempDir::new("auth");
    let service = Service::sync_errors(SyncErrorsSettings {
        server: ServerSettings {
            security: SecuritySettings {
                auth_token_file: Some(token_file(&dir)),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    })
    .await;
    let channel = plain(service.addr()).await;
    let client = |token| SyncErrorsClient::new(as_caller(channel.clone(), token));
    let ingest = |org: &str| errors::IngestErrorsRequest {
        org_id: org.into(),
        failures: vec![errors::Failure {
            idempotency_key: "k1".into(),
            object_type: "Contact".into(),
            crm_record_id: "c1".into(),
            status_code: "REQUIRED_FIELD_MISSING".into(),
            message: "Required fields are missing: [LastName]".into(),
            direction: errors::Direction::ToSalesforce.into(),
            ..Default::default()
        }],
    };
    let health = |org: &str| errors::GetSyncHealthRequest { org_id: org.into() };

    let (code, _) = refusal(client(None).ingest_errors(ingest("acme")).await);
    assert_eq!(code, Code::Unauthenticated);
    client(Some(WORKER))
        .ingest_errors(ingest("acme"))
        .await
        .expect("a worker reports its org's failures");
    let (code, _) = refusal(client(Some(WORKER)).ingest_errors(ingest("globex")).await);
    assert_eq!(code, Code::PermissionDenied);
    let (code, _) = refusal(client(Some(WORKER)).get_sync_health(health("acme")).await);
    assert_eq!(
        code,
        Code::PermissionDenied,
        "health cards are the operator's"
    );

    let cards = client(Some(OPERATOR))
        .get_sync_health(health("acme"))
        .await
        .expect("an operator reads its org")
        .into_inner();
    assert_eq!(cards.current_errors, 1);
    let (code, _) = refusal(
        client(Some(OPERATOR))
            .get_sync_health(health("globex"))
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);

    // The job queue is shared by every org: only an every-org worker claims.
    let claim = errors::ClaimResyncJobsRequest {
        worker_id: "w1".into(),
        max_jobs: 1,
        ..Default::default()
    };
    let (code, message) = refusal(client(Some(WORKER)).claim_resync_jobs(claim.clone()).await);
    assert_eq!(code, Code::PermissionDenied);
    assert!(message.contains("spans every org"), "{message}");
    client(Some(ADMIN))
        .claim_resync_jobs(claim)
        .await
        .expect("admins may");
}

/// A JWT with `claims`, signed with `key` by `algorithm`.
fn jwt(algorithm: Algorithm, key: &EncodingKey, claims: serde_json::Value) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), &claims, key).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An RSA key pair made with `openssl`: (private PEM, public key file).
fn rsa_keys(dir: &Path) -> (Vec<u8>, PathBuf) {
    let private = dir.join("rsa.pem");
    let public = dir.join("rsa.pub.pem");
    let run = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("openssl makes the RSA test key");
        assert!(status.success(), "openssl {args:?}");
    };
    run(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        private.to_str().unwrap(),
    ]);
    run(&[
        "pkey",
        "-in",
        private.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    (std::fs::read(&private).unwrap(), public)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwts_are_checked_for_signature_expiry_and_audience() {
    let dir = TempDir::new("jwt");
    let secret = "an-hs256-secret-of-at-least-thirty-two-bytes";
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, secret).unwrap();
    let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let ed_public = dir.path().join("ed.pub.pem");
    std::fs::write(&ed_public, ed.public_key_pem()).unwrap();
    let (rsa_private, rsa_public) = rsa_keys(dir.path());
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            security: SecuritySettings {
                auth_jwt_secret_files: vec![secret_file],
                auth_jwt_public_keys: vec![ed_public, rsa_public],
                auth_issuer: Some("https://issuer.example".into()),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let channel = plain(governor.addr()).await;
    let hs = EncodingKey::from_secret(secret.as_bytes());
    let ed_key = EncodingKey::from_ed_pem(ed.serialize_pem().as_bytes()).unwrap();
    let rsa_key = EncodingKey::from_rsa_pem(&rsa_private).unwrap();
    let claims = |role: &str, orgs: serde_json::Value| {
        serde_json::json!({
            "sub": format!("{role}-1"), "role": role, "orgs": orgs,
            "aud": "syncgov", "iss": "https://issuer.example", "exp": now() + 600,
        })
    };

    let admin = jwt(
        Algorithm::EdDSA,
        &ed_key,
        claims("admin", serde_json::json!("*")),
    );
    governor_as(&channel, Some(&admin))
        .set_budget(budget("acme"))
        .await
        .expect("an EdDSA admin token");
    let worker = jwt(
        Algorithm::HS256,
        &hs,
        claims("worker", serde_json::json!(["acme"])),
    );
    let reply = governor_as(&channel, Some(&worker))
        .acquire_tokens(ask("acme"))
        .await
        .expect("an HS256 worker token")
        .into_inner();
    assert!(reply.granted);
    let rsa_worker = jwt(
        Algorithm::RS256,
        &rsa_key,
        claims("worker", serde_json::json!("acme")),
    );
    governor_as(&channel, Some(&rsa_worker))
        .acquire_tokens(ask("acme"))
        .await
        .expect("an RS256 worker token");
    let (code, _) = refusal(
        governor_as(&channel, Some(&worker))
            .acquire_tokens(ask("globex"))
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);

    let mut expired = claims("worker", serde_json::json!(["acme"]));
    expired["exp"] = (now() - 3_600).into();
    let mut other_audience = claims("worker", serde_json::json!(["acme"]));
    other_audience["aud"] = "someone-else".into();
    let mut other_issuer = claims("worker", serde_json::json!(["acme"]));
    other_issuer["iss"] = "https://elsewhere.example".into();
    let next_year = now() + 365 * 86_400;
    let mut not_yet_valid = claims("worker", serde_json::json!(["acme"]));
    not_yet_valid["nbf"] = next_year.into();
    not_yet_valid["exp"] = (next_year + 600).into();
    let mut issued_in_the_future = claims("worker", serde_json::json!(["acme"]));
    issued_in_the_future["iat"] = next_year.into();
    let mut no_expiry = claims("worker", serde_json::json!(["acme"]));
    no_expiry.as_object_mut().unwrap().remove("exp");
    let mut unknown_role = claims("king", serde_json::json!(["acme"]));
    unknown_role["sub"] = "k".into();
    let forged = EncodingKey::from_secret(b"a-different-secret-also-thirty-two-bytes");
    let cases = [
        (
            "expired",
            jwt(Algorithm::HS256, &hs, expired),
            "ExpiredSignature",
        ),
        (
            "other audience",
            jwt(Algorithm::HS256, &hs, other_audience),
            "InvalidAudience",
        ),
        (
            "other issuer",
            jwt(Algorithm::HS256, &hs, other_issuer),
            "InvalidIssuer",
        ),
        (
            "not valid before next year",
            jwt(Algorithm::EdDSA, &ed_key, not_yet_valid),
            "ImmatureSignature",
        ),
        (
            "issued next year",
            jwt(Algorithm::HS256, &hs, issued_in_the_future),
            "issued in the future",
        ),
        ("no expiry", jwt(Algorithm::HS256, &hs, no_expiry), "exp"),
        (
            "forged",
            jwt(
                Algorithm::HS256,
                &forged,
                claims("admin", serde_json::json!("*")),
            ),
            "InvalidSignature",
        ),
        (
            "unknown role",
            jwt(Algorithm::HS256, &hs, unknown_role),
            "unknown role",
        ),
        (
            "not accepted algorithm",
            jwt(
                Algorithm::HS512,
                &hs,
                claims("admin", serde_json::json!("*")),
            ),
            "not accepted",
        ),
    ];
    for (case, token, reason) in cases {
        let (code, message) = refusal(
            governor_as(&channel, Some(&token))
                .acquire_tokens(ask("acme"))
                .await,
        );
        assert_eq!(code, Code::Unauthenticated, "{case}: {message}");
        assert!(message.contains(reason), "{case}: {message}");
    }

    // Within the leeway of a minute, as for `exp`: clocks differ.
    let mut just_issued = claims("worker", serde_json::json!(["acme"]));
    just_issued["nbf"] = (now() + 20).into();
    just_issued["iat"] = (now() + 20).into();
    governor_as(&channel, Some(&jwt(Algorithm::HS256, &hs, just_issued)))
        .acquire_tokens(ask("acme"))
        .await
        .expect("a token from a clock a little ahead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_service_tokens_reach_only_the_orgs_they_name() {
    const ACME_ADMIN: &str = "admin-of-acme-0123456789abcdef01";
    const ACME_SERVICE: &str = "service-of-acme-0123456789abcdef";
    let dir = TempDir::new("scoped");
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "{ACME_ADMIN} admin acme acme-admin\n{ACME_SERVICE} service acme acme-relay\n\
             {ADMIN} admin * root\n"
        ),
    )
    .unwrap();
    let security = SecuritySettings {
        auth_token_file: Some(tokens),
        ..SecuritySettings::default()
    };
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            security: security.clone(),
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let channel = plain(governor.addr()).await;

    // An admin of acme is acme's admin: budgets of acme, of no other org.
    let mut acme_admin = governor_as(&channel, Some(ACME_ADMIN));
    acme_admin
        .set_budget(budget("acme"))
        .await
        .expect("its own org's budget");
    let (code, message) = refusal(acme_admin.set_budget(budget("globex")).await);
    assert_eq!(
        (code, message.as_str()),
        (
            Code::PermissionDenied,
            "acme-admin may not touch org \"globex\""
        )
    );
    let (code, _) = refusal(acme_admin.acquire_tokens(ask("globex")).await);
    assert_eq!(
        code,
        Code::PermissionDenied,
        "nor spends another org's calls"
    );
    // Calls that span every org need `*`, an admin's too.
    let (code, message) = refusal(
        acme_admin
            .watch_suspensions(quota::WatchSuspensionsRequest::default())
            .await,
    );
    assert_eq!(code, Code::PermissionDenied, "{message}");
    assert!(message.contains("spans every org"), "{message}");
    acme_admin
        .watch_suspensions(quota::WatchSuspensionsRequest {
            org_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("its own org's suspensions");
    governor_as(&channel, Some(ADMIN))
        .set_budget(budget("globex"))
        .await
        .expect("an admin of every org");

    // A service token for acme suspends acme only.
    let suspend = |org: &str| quota::SuspendRequest {
        org_id: org.into(),
        reason: 1,
        detail: "relayed".into(),
    };
    let mut relay = governor_as(&channel, Some(ACME_SERVICE));
    relay.suspend(suspend("acme")).await.expect("acme");
    let (code, _) = refusal(relay.suspend(suspend("globex")).await);
    assert_eq!(code, Code::PermissionDenied);

    // The same on sync-errors: the shared job queue spans every org.
    let sync_errors = Service::sync_errors(SyncErrorsSettings {
        server: ServerSettings {
            security,
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    })
    .await;
    let errors_as = |token| SyncErrorsClient::new(as_caller(channel_to(&sync_errors), token));
    let claim = errors::ClaimResyncJobsRequest {
        worker_id: "w1".into(),
        max_jobs: 1,
        ..Default::default()
    };
    let (code, message) = refusal(
        errors_as(Some(ACME_ADMIN))
            .claim_resync_jobs(claim.clone())
            .await,
    );
    assert_eq!(code, Code::PermissionDenied, "{message}");
    errors_as(Some(ADMIN))
        .claim_resync_jobs(claim)
        .await
        .expect("an admin of every org claims");
    let (code, _) = refusal(
        errors_as(Some(ACME_ADMIN))
            .get_sync_health(errors::GetSyncHealthRequest {
                org_id: "globex".into(),
            })
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);
    errors_as(Some(ACME_ADMIN))
        .get_sync_health(errors::GetSyncHealthRequest {
            org_id: "acme".into(),
        })
        .await
        .expect("its own org's health");
}

/// A channel to `service` that connects on first use.
fn channel_to(service: &Service) -> Channel {
    Channel::from_shared(format!("http://{}", service.addr()))
        .unwrap()
        .connect_lazy()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_file_takes_effect_without_a_restart() {
    let dir = TempDir::new("rotate");
    let file = dir.path().join("tokens");
    let log = dir.path().join("stderr");
    let old = "old-admin-token-0123456789abcdef";
    let new = "new-admin-token-0123456789abcdef";
    std::fs::write(&file, format!("{old} admin *\n")).unwrap();
    let governor = LoggingProcess::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--auth-token-file",
            file.to_str().unwrap(),
            "--reload-interval",
            "100ms",
        ],
        &log,
    );
    let channel = plain(governor.addr).await;
    governor_as(&channel, Some(old))
        .set_budget(budget("acme"))
        .await
        .expect("the first token");

    // A broken file is not taken: once the service has looked at it and
    // said so, the old tokens still work.
    std::fs::write(&file, "broken-line\n").unwrap();
    refused_on_reload(&log).await;
    governor_as(&channel, Some(old))
        .set_budget(budget("acme"))
        .await
        .expect("a malformed rotation keeps the tokens in use");

    std::fs::write(&file, format!("{new} admin *   \n")).unwrap();
    let rotated = eventually(PATIENCE, || {
        let channel = channel.clone();
        async move {
            governor_as(&channel, Some(new))
                .set_budget(budget("acme"))
                .await
                .is_ok()
                && governor_as(&channel, Some(old))
                    .set_budget(budget("acme"))
                    .await
                    .is_err()
        }
    })
    .await;
    assert!(rotated, "the new token never replaced the old one");
}

/// The warning a service logs each time it finds changed files it cannot
/// use and keeps the ones in use.
const NOT_TAKEN: &str = "changed files not usable; keeping the previous ones";

/// Waits until the service logging to `log` has refused the files as they
/// are now: two more refusals than when called, so that at least one check
/// began after the files were written.
async fn refused_on_reload(log: &Path) {
    let count = || read_log(log).matches(NOT_TAKEN).count();
    let before = count();
    assert!(
        eventually(PATIENCE, || async { count() >= before + 2 }).await,
        "the service never refused the new files:\n{}",
        read_log(log)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_errors_tells_the_governor_with_its_own_credential() {
    let dir = TempDir::new("s2s");
    let tokens = token_file(&dir);
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            security: SecuritySettings {
                auth_token_file: Some(tokens.clone()),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let service_token = dir.path().join("service-token");
    std::fs::write(&service_token, format!("{SERVICE}\n")).unwrap();
    let sync_errors = Service::sync_errors(SyncErrorsSettings {
        governor_addr: Some(format!("http://{}", governor.addr())),
        governor_token_file: Some(service_token),
        server: ServerSettings {
            security: SecuritySettings {
                auth_token_file: Some(tokens),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..SyncErrorsSettings::default()
    })
    .await;
    let governor_channel = plain(governor.addr()).await;
    let mut admin = governor_as(&governor_channel, Some(ADMIN));
    admin.set_budget(budget("acme")).await.unwrap();

    // The worker may not suspend an org itself...
    let (code, _) = refusal(
        governor_as(&governor_channel, Some(WORKER))
            .suspend(quota::SuspendRequest {
                org_id: "acme".into(),
                reason: 1,
                detail: "by hand".into(),
            })
            .await,
    );
    assert_eq!(code, Code::PermissionDenied);
    // ...but the failure it reports does, through sync-errors' credential.
    SyncErrorsClient::new(as_caller(plain(sync_errors.addr()).await, Some(WORKER)))
        .ingest_errors(daily_limit_failure("acme"))
        .await
        .unwrap();
    let suspended = eventually(PATIENCE, || {
        let mut admin = admin.clone();
        async move {
            admin
                .list_suspensions(quota::ListSuspensionsRequest {
                    org_id: "acme".into(),
                    ..Default::default()
                })
                .await
                .is_ok_and(|r| !r.into_inner().suspensions.is_empty())
        }
    })
    .await;
    assert!(suspended, "the governor never heard of the suspension");
}

/// A governor serving TLS with `server`, requiring client certificates of
/// `client_ca` when given, reloading its files every 100 ms.
async fn tls_governor(
    server: &Issued,
    client_ca: Option<PathBuf>,
    tokens: Option<PathBuf>,
) -> Service {
    Service::governor(GovernorSettings {
        server: ServerSettings {
            security: quick_reload(SecuritySettings {
                tls_cert: Some(server.cert.clone()),
                tls_key: Some(server.key.clone()),
                tls_client_ca: client_ca,
                auth_token_file: tokens,
                ..SecuritySettings::default()
            }),
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await
}

/// Checks health over TLS trusting `ca`, as `client` when given.
async fn tls_check(
    addr: std::net::SocketAddr,
    ca: &Path,
    client: Option<&Issued>,
) -> Result<(), String> {
    let tls = ClientTls {
        ca: Some(ca.to_owned()),
        cert: client.map(|c| c.cert.clone()),
        key: client.map(|c| c.key.clone()),
        domain: Some("localhost".into()),
    };
    let endpoint = tls
        .endpoint(&addr.to_string())
        .map_err(|e| format!("{e:#}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|_| ())
        .map_err(|e| format!("check: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_speak_tls_and_mutual_tls() {
    let pki = Pki::new("ours");
    let stranger = Pki::new("theirs");
    let server = pki.issue("server", &["localhost", "127.0.0.1"]);
    let governor = tls_governor(&server, None, None).await;
    tls_check(governor.addr(), &pki.ca(), None)
        .await
        .expect("TLS with the right CA");
    assert!(
        tls_check(governor.addr(), &stranger.ca(), None)
            .await
            .is_err(),
        "a server certificate from a CA the client does not trust"
    );
    let plain_reply = HealthClient::new(
        Channel::from_shared(format!("http://{}", governor.addr()))
            .unwrap()
            .connect_lazy(),
    )
    .check(HealthCheckRequest::default())
    .await;
    assert!(plain_reply.is_err(), "plain text to a TLS listener");

    let mutual = tls_governor(&server, Some(pki.ca()), None).await;
    let ours = pki.issue("worker", &["worker"]);
    let theirs = stranger.issue("intruder", &["intruder"]);
    tls_check(mutual.addr(), &pki.ca(), Some(&ours))
        .await
        .expect("a client certificate of our CA");
    assert!(
        tls_check(mutual.addr(), &pki.ca(), None).await.is_err(),
        "no client certificate"
    );
    assert!(
        tls_check(mutual.addr(), &pki.ca(), Some(&theirs))
            .await
            .is_err(),
        "a client certificate of another CA"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_certificate_is_served_without_a_restart() {
    let first = Pki::new("first");
    let second = Pki::new("second");
    let server = first.issue("server", &["localhost"]);
    let governor = tls_governor(&server, None, None).await;
    tls_check(governor.addr(), &first.ca(), None)
        .await
        .expect("the first certificate");

    let next = second.issue("next", &["localhost"]);
    std::fs::copy(&next.key, &server.key).unwrap();
    std::fs::copy(&next.cert, &server.cert).unwrap();
    let rotated = eventually(PATIENCE, || async {
        tls_check(governor.addr(), &second.ca(), None).await.is_ok()
    })
    .await;
    assert!(rotated, "new connections never got the new certificate");
    assert!(
        tls_check(governor.addr(), &first.ca(), None).await.is_err(),
        "the old certificate is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncctl_and_sync_errors_speak_tls_with_tokens() {
    let dir = TempDir::new("ctl");
    let pki = Pki::new("ctl");
    let server = pki.issue("server", &["localhost", "127.0.0.1"]);
    let tokens = token_file(&dir);
    let governor = tls_governor(&server, Some(pki.ca()), Some(tokens.clone())).await;
    let client = pki.issue("client", &["syncctl"]);
    let service_token = dir.path().join("service-token");
    std::fs::write(&service_token, SERVICE).unwrap();
    let sync_errors = Service::sync_errors(SyncErrorsSettings {
        governor_addr: Some(format!("https://localhost:{}", governor.addr().port())),
        governor_token_file: Some(service_token),
        governor_tls_ca: Some(pki.ca()),
        governor_tls_cert: Some(client.cert.clone()),
        governor_tls_key: Some(client.key.clone()),
        ..SyncErrorsSettings::default()
    })
    .await;
    let admin_token = dir.path().join("admin-token");
    std::fs::write(&admin_token, ADMIN).unwrap();

    let syncctl = |args: &[&str], token: Option<&Path>| {
        let mut command = std::process::Command::new(binary("syncctl"));
        command
            .args([
                "--governor",
                &format!("localhost:{}", governor.addr().port()),
            ])
            .args(["--sync-errors", &sync_errors.addr().to_string()])
            .args(["--tls-ca", pki.ca().to_str().unwrap()])
            .args(["--tls-client-cert", client.cert.to_str().unwrap()])
            .args(["--tls-client-key", client.key.to_str().unwrap()])
            .args(args)
            .env_remove("SYNCGOV_TOKEN")
            .env_remove("SYNCGOV_TOKEN_FILE");
        if let Some(token) = token {
            command.arg("--token-file").arg(token);
        }
        command.output().expect("syncctl runs")
    };
    let set = syncctl(
        &[
            "budget",
            "set",
            "--org",
            "acme",
            "--org-limit",
            "10000",
            "--allocation",
            "5000",
        ],
        Some(&admin_token),
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let got = syncctl(
        &["budget", "get", "--org", "acme", "--output", "json"],
        Some(&admin_token),
    );
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(got["budget"]["allocation"], 5_000);

    let anonymous = syncctl(&["budget", "get", "--org", "acme"], None);
    assert_eq!(anonymous.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&anonymous.stderr);
    assert!(stderr.contains("--token-file"), "{stderr}");

    // sync-errors reaches the mutual-TLS governor with its certificate and
    // token: a suspension it relays lands there.
    let mut errors_client = SyncErrorsClient::new(plain(sync_errors.addr()).await);
    errors_client
        .ingest_errors(daily_limit_failure("acme"))
        .await
        .unwrap();
    let relayed = eventually(PATIENCE, || async {
        let listed = syncctl(
            &["suspensions", "list", "--org", "acme", "--output", "json"],
            Some(&admin_token),
        );
        listed.status.success()
            && String::from_utf8_lossy(&listed.stdout).contains("SALESFORCE_API_LIMIT")
    })
    .await;
    assert!(
        relayed,
        "the suspension never reached the governor over mutual TLS"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_caller_cannot_take_every_slot() {
    let dir = TempDir::new("fair");
    let redis = syncgov_tests::RedisServer::start();
    let other = "worker-acme-second-0123456789abc";
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!("{WORKER} worker acme pool-a\n{other} worker acme pool-b\n{ADMIN} admin * root\n"),
    )
    .unwrap();
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            max_concurrent_calls_per_caller: 2,
            // The store is held until the test lets it go, far longer than
            // the default timeout would allow.
            redis_timeout: Duration::from_secs(120),
            security: SecuritySettings {
                auth_token_file: Some(tokens),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let channel = plain(governor.addr()).await;
    governor_as(&channel, Some(ADMIN))
        .set_budget(budget("acme"))
        .await
        .unwrap();

    // Hold the store so calls stay in flight: every write (the decision
    // script) waits until the test unpauses it, however long the calls
    // take to arrive.
    let conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pause = |what: &'static str| {
        let mut conn = conn.clone();
        async move {
            let mut cmd = ::redis::cmd("CLIENT");
            match what {
                "pause" => cmd.arg("PAUSE").arg(120_000).arg("WRITE"),
                _ => cmd.arg("UNPAUSE"),
            };
            let () = cmd.query_async(&mut conn).await.unwrap();
        }
    };
    pause("pause").await;
    // Six calls of one caller at once, while the store holds them: two
    // get in and wait for the store, four are refused at once.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let mut c = governor_as(&channel, Some(WORKER));
        calls.spawn(async move { c.acquire_tokens(ask("acme")).await });
    }
    for _ in 0..4 {
        let refused = tokio::time::timeout(Duration::from_secs(30), calls.join_next())
            .await
            .expect("four calls are refused while two hold the caller's slots")
            .unwrap()
            .unwrap();
        let status = refused.expect_err("refused, not answered: the store is held");
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert!(status.message().contains("pool-a"), "{status:?}");
    }
    // Another caller is not held up by pool-a's bound: while pool-a's two
    // calls still hold its slots, pool-b's call gets past the bound to the
    // handler, which refuses its input without touching the store; the
    // same call from pool-a is refused by the bound before that.
    let no_tokens = quota::AcquireTokensRequest {
        count: 0,
        ..ask("acme")
    };
    let past_the_bound = governor_as(&channel, Some(other))
        .acquire_tokens(no_tokens.clone())
        .await
        .unwrap_err();
    assert_eq!(
        past_the_bound.code(),
        Code::InvalidArgument,
        "{past_the_bound:?}"
    );
    let held_back = governor_as(&channel, Some(WORKER))
        .acquire_tokens(no_tokens)
        .await
        .unwrap_err();
    assert_eq!(held_back.code(), Code::ResourceExhausted, "{held_back:?}");
    assert_eq!(calls.len(), 2, "pool-a's two calls are still held");
    pause("unpause").await;
    let mut granted = 0;
    while let Some(call) = calls.join_next().await {
        let reply = call.unwrap().expect("a call holding a slot is answered");
        assert!(reply.get_ref().granted);
        granted += 1;
    }
    assert_eq!(granted, 2, "two calls held the caller's two slots");
}

/// The status line of `GET path` on an HTTPS admin port whose
/// certificate chains to `ca`.
async fn admin_get(addr: std::net::SocketAddr, ca: &Path, path: &str) -> String {
    admin_response(addr, ca, path)
        .await
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The whole response to `GET path` on an HTTPS admin port whose
/// certificate chains to `ca`, presenting no client certificate.
async fn admin_response(addr: std::net::SocketAddr, ca: &Path, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the admin port");
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake");
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut response = Vec::new();
    // The server may close without a TLS close_notify: what came is enough.
    let _ = tls.read_to_end(&mut response).await;
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_service_answers_https_probes_on_its_admin_port() {
    let pki = Pki::new("probe");
    let server = pki.issue("server", &["localhost", "127.0.0.1"]);
    let mut redis = syncgov_tests::RedisServer::start();
    let url = redis.url();
    let admin: std::net::SocketAddr = syncgov_tests::free_addr();
    let admin_text = admin.to_string();
    let governor = syncgov_tests::Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &url,
            "--admin-listen",
            &admin_text,
            "--tls-cert",
            server.cert.to_str().unwrap(),
            "--tls-key",
            server.key.to_str().unwrap(),
        ],
    );
    tls_check(governor.addr(), &pki.ca(), None)
        .await
        .expect("the binary speaks TLS");
    let ca = pki.ca();
    let ready = eventually(PATIENCE, || {
        let ca = ca.clone();
        async move {
            admin_get(admin, &ca, "/readyz")
                .await
                .starts_with("HTTP/1.1 200")
        }
    })
    .await;
    assert!(
        ready,
        "never ready: {}",
        admin_get(admin, &ca, "/readyz").await
    );
    assert!(
        admin_get(admin, &ca, "/livez")
            .await
            .starts_with("HTTP/1.1 200")
    );
    assert!(
        admin_get(admin, &ca, "/metrics")
            .await
            .starts_with("HTTP/1.1 200"),
        "metrics over HTTPS too"
    );
    let plain = std::net::TcpStream::connect(admin).and_then(|mut s| {
        use std::io::{Read, Write};
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut reply = String::new();
        let _ = s.read_to_string(&mut reply);
        Ok(reply)
    });
    assert!(
        !plain.unwrap_or_default().starts_with("HTTP/1.1 200"),
        "plain HTTP to a TLS admin port"
    );

    // Redis away: not ready, still alive.
    redis.stop();
    let unready = eventually(PATIENCE, || {
        let ca = ca.clone();
        async move {
            admin_get(admin, &ca, "/readyz")
                .await
                .starts_with("HTTP/1.1 503")
        }
    })
    .await;
    assert!(unready, "still ready with Redis away");
    assert!(
        admin_get(admin, &ca, "/livez")
            .await
            .starts_with("HTTP/1.1 200")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_generator_speaks_tls_with_a_token() {
    let dir = TempDir::new("loadgen");
    let pki = Pki::new("load");
    let server = pki.issue("server", &["localhost"]);
    let governor = tls_governor(&server, None, Some(token_file(&dir))).await;
    let admin_token = dir.path().join("admin-token");
    std::fs::write(&admin_token, ADMIN).unwrap();
    let addr = format!("https://localhost:{}", governor.addr().port());
    let load = |token: Option<&Path>| {
        let mut command = std::process::Command::new(binary("loadgen"));
        command
            .args([
                "acquire",
                "--addr",
                &addr,
                "--orgs",
                "3",
                "--concurrency",
                "2",
            ])
            // A run of 600 calls, however long they take: every org's
            // normal share is spent, then the calls are denied.
            .args([
                "--requests",
                "600",
                "--duration",
                "10m",
                "--warmup",
                "0s",
                "--allocation",
                "50",
            ])
            .args(["--tls-ca", pki.ca().to_str().unwrap()])
            .env_remove("SYNCGOV_TOKEN")
            .env_remove("SYNCGOV_TOKEN_FILE");
        if let Some(token) = token {
            command.arg("--token-file").arg(token);
        }
        command.output().expect("loadgen runs")
    };
    let run = load(Some(&admin_token));
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Three orgs of 50 tokens, asked at normal priority (95 %, 47 each):
    // exactly 141 grants, the rest denied, and no call failed.
    assert!(stdout.contains("ok 141  denied 459  failed 0"), "{stdout}");

    let refused = load(None);
    assert!(!refused.status.success(), "no token, no budgets set");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("bearer token is required"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// A day, in seconds.
const DAY: u64 = 86_400;

/// `now` moved by `days` (negative: in the past), to the second.
fn days_from_now(days: i64) -> SystemTime {
    let now = UNIX_EPOCH + Duration::from_secs(now());
    if days >= 0 {
        now + Duration::from_secs(days as u64 * DAY)
    } else {
        now - Duration::from_secs(days.unsigned_abs() * DAY)
    }
}

#[test]
fn a_certificate_not_valid_now_stops_the_binary_before_it_listens() {
    let pki = Pki::new("dates");
    let expired = pki.issue_valid(
        "expired",
        &["localhost"],
        UNIX_EPOCH + Duration::from_secs(1_577_836_800), // 2020-01-01
        UNIX_EPOCH + Duration::from_secs(1_609_372_800), // 2020-12-31
    );
    let early = pki.issue_valid(
        "early",
        &["localhost"],
        days_from_now(365),
        days_from_now(730),
    );
    for (service, issued, rule) in [
        (
            "quota-governor",
            &expired,
            "the certificate expired at 2020-12-31T00:00:00Z",
        ),
        (
            "sync-errors",
            &expired,
            "the certificate expired at 2020-12-31T00:00:00Z",
        ),
        (
            "quota-governor",
            &early,
            "the certificate is not valid before",
        ),
    ] {
        let admin = syncgov_tests::free_addr().to_string();
        let out = std::process::Command::new(binary(service))
            .args(["--listen", "127.0.0.1:0", "--admin-listen", &admin])
            .arg("--tls-cert")
            .arg(&issued.cert)
            .arg("--tls-key")
            .arg(&issued.key)
            .output()
            .expect("run the service");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{service}: {stderr}");
        assert!(
            stderr.contains(rule) && stderr.contains(issued.cert.to_str().unwrap()),
            "{service}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{service} listened: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            std::net::TcpStream::connect(&admin).is_err(),
            "the admin port was never bound"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_not_valid_now_is_not_taken_on_reload() {
    let dir = TempDir::new("stale");
    let log = dir.path().join("stderr");
    let first = Pki::new("in-use");
    let stale = Pki::new("stale");
    let third = Pki::new("renewed");
    let server = first.issue("server", &["localhost"]);
    let governor = LoggingProcess::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            server.cert.to_str().unwrap(),
            "--tls-key",
            server.key.to_str().unwrap(),
            "--reload-interval",
            "100ms",
        ],
        &log,
    );
    tls_check(governor.addr, &first.ca(), None)
        .await
        .expect("the first certificate");

    // A matching pair that expired in 2020, then one valid from next year:
    // neither is taken, the certificate in use stays.
    let expired = stale.issue_valid(
        "expired",
        &["localhost"],
        UNIX_EPOCH + Duration::from_secs(1_577_836_800),
        UNIX_EPOCH + Duration::from_secs(1_609_372_800),
    );
    let early = stale.issue_valid(
        "early",
        &["localhost"],
        days_from_now(365),
        days_from_now(730),
    );
    for refused in [&expired, &early] {
        std::fs::copy(&refused.key, &server.key).unwrap();
        std::fs::copy(&refused.cert, &server.cert).unwrap();
        // Once the service has looked at the new files and refused them.
        refused_on_reload(&log).await;
        tls_check(governor.addr, &first.ca(), None)
            .await
            .expect("the certificate in use is kept");
        assert!(
            tls_check(governor.addr, &stale.ca(), None).await.is_err(),
            "a certificate not valid now was served"
        );
    }

    // The watcher still runs: a valid certificate is taken.
    let renewed = third.issue("renewed", &["localhost"]);
    std::fs::copy(&renewed.key, &server.key).unwrap();
    std::fs::copy(&renewed.cert, &server.cert).unwrap();
    let rotated = eventually(PATIENCE, || async {
        tls_check(governor.addr, &third.ca(), None).await.is_ok()
    })
    .await;
    assert!(rotated, "the valid certificate was never taken");
}

/// A service binary started with `args`, its log (stderr) written to
/// `log`; killed when dropped.
struct LoggingProcess {
    child: std::process::Child,
    addr: std::net::SocketAddr,
}

impl LoggingProcess {
    fn start(name: &str, args: &[&str], log: &Path) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(binary(name))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("start the service");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split_whitespace()
            .find_map(|word| word.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}: {}", read_log(log)));
        Self { child, addr }
    }
}

impl Drop for LoggingProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_s_expiry_is_a_metric_and_warned_of_when_close() {
    let dir = TempDir::new("expiry");
    let pki = Pki::new("expiry");
    let expires = days_from_now(3);
    let server = pki.issue_valid("server", &["localhost"], days_from_now(-30), expires);
    let admin: std::net::SocketAddr = syncgov_tests::free_addr();
    let log = dir.path().join("stderr");
    let governor = LoggingProcess::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &admin.to_string(),
            "--tls-cert",
            server.cert.to_str().unwrap(),
            "--tls-key",
            server.key.to_str().unwrap(),
        ],
        &log,
    );
    tls_check(governor.addr, &pki.ca(), None)
        .await
        .expect("a certificate three days from its expiry is still served");
    let warned = read_log(&log);
    assert!(
        warned.contains("the TLS certificate expires soon") && warned.contains("WARN"),
        "{warned}"
    );

    let expected = format!(
        "syncgov_tls_certificate_expiry_seconds{{syncgov_service=\"quota-governor\"}} {}",
        expires.duration_since(UNIX_EPOCH).unwrap().as_secs()
    );
    // The scrape is refreshed every second.
    let deadline = std::time::Instant::now() + PATIENCE;
    let metrics = loop {
        let metrics = admin_response(admin, &pki.ca(), "/metrics").await;
        if metrics.lines().any(|line| line == expected) {
            break metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {expected:?} in\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        metrics.contains("# TYPE syncgov_tls_certificate_expiry_seconds gauge"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_mutual_tls_the_admin_port_still_answers_probes_and_scrapes() {
    let pki = Pki::new("mutual-admin");
    let server = pki.issue("server", &["localhost", "127.0.0.1"]);
    let client = pki.issue("worker", &["worker"]);
    let redis = syncgov_tests::RedisServer::start();
    let admin: std::net::SocketAddr = syncgov_tests::free_addr();
    let governor = syncgov_tests::Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &redis.url(),
            "--admin-listen",
            &admin.to_string(),
            "--tls-cert",
            server.cert.to_str().unwrap(),
            "--tls-key",
            server.key.to_str().unwrap(),
            "--tls-client-ca",
            pki.ca().to_str().unwrap(),
        ],
    );
    // The gRPC port wants a client certificate...
    assert!(
        tls_check(governor.addr(), &pki.ca(), None).await.is_err(),
        "gRPC without a client certificate"
    );
    tls_check(governor.addr(), &pki.ca(), Some(&client))
        .await
        .expect("gRPC with a client certificate");
    // ...the admin port does not: the kubelet and Prometheus have none.
    let ca = pki.ca();
    let ready = eventually(PATIENCE, || {
        let ca = ca.clone();
        async move {
            admin_get(admin, &ca, "/readyz")
                .await
                .starts_with("HTTP/1.1 200")
        }
    })
    .await;
    assert!(
        ready,
        "readiness without a client certificate: {:?}",
        admin_get(admin, &ca, "/readyz").await
    );
    assert!(
        admin_get(admin, &ca, "/metrics")
            .await
            .starts_with("HTTP/1.1 200"),
        "a scrape without a client certificate"
    );
    assert!(
        admin_get(admin, &ca, "/livez")
            .await
            .starts_with("HTTP/1.1 200")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_may_not_suspend_nor_clear_suspensions() {
    let dir = TempDir::new("roles");
    let governor = Service::governor(GovernorSettings {
        server: ServerSettings {
            security: SecuritySettings {
                auth_token_file: Some(token_file(&dir)),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..GovernorSettings::default()
    })
    .await;
    let channel = plain(governor.addr()).await;
    let reason = syncgov_api::taxonomy::v1::SuspensionReason::SalesforceAuthFailed;
    governor_as(&channel, Some(SERVICE))
        .suspend(quota::SuspendRequest {
            org_id: "acme".into(),
            reason: reason.into(),
            detail: "INVALID_SESSION_ID: Session expired or invalid".into(),
        })
        .await
        .expect("sync-errors' service token suspends");

    // acme's own worker may neither end the suspension nor set another.
    let (code, message) = refusal(
        governor_as(&channel, Some(WORKER))
            .clear_suspension(quota::ClearSuspensionRequest {
                org_id: "acme".into(),
                reason: reason.into(),
            })
            .await,
    );
    assert_eq!(code, Code::PermissionDenied, "{message}");
    let (code, message) = refusal(
        governor_as(&channel, Some(WORKER))
            .suspend(quota::SuspendRequest {
                org_id: "acme".into(),
                reason: syncgov_api::taxonomy::v1::SuspensionReason::Unknown.into(),
                detail: String::new(),
            })
            .await,
    );
    assert_eq!(code, Code::PermissionDenied, "{message}");
    let listed = governor_as(&channel, Some(OPERATOR))
        .list_suspensions(quota::ListSuspensionsRequest {
            org_id: "acme".into(),
            ..Default::default()
        })
        .await
        .expect("an operator lists")
        .into_inner()
        .suspensions;
    assert_eq!(listed.len(), 1, "the worker changed nothing: {listed:?}");

    // acme's operator may end it.
    let cleared = governor_as(&channel, Some(OPERATOR))
        .clear_suspension(quota::ClearSuspensionRequest {
            org_id: "acme".into(),
            reason: reason.into(),
        })
        .await
        .expect("an operator clears")
        .into_inner();
    assert!(cleared.cleared);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_and_key_that_do_not_match_are_refused() {
    let dir = TempDir::new("mismatch");
    let ours = Pki::new("pair");
    let theirs = Pki::new("other-pair");
    let server = ours.issue("server", &["localhost"]);
    let other = theirs.issue("other", &["localhost"]);

    // At start: the binary stops before it listens, naming the problem.
    let out = std::process::Command::new(binary("quota-governor"))
        .args(["--listen", "127.0.0.1:0"])
        .arg("--tls-cert")
        .arg(&server.cert)
        .arg("--tls-key")
        .arg(&other.key)
        .output()
        .expect("run the governor");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty(), "it listened");
    assert!(
        stderr.contains("key"),
        "the refusal names the key: {stderr}"
    );

    // On rotation: a key that does not match the certificate is not
    // taken; the pair in use stays until the files agree again.
    let log = dir.path().join("stderr");
    let governor = LoggingProcess::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            server.cert.to_str().unwrap(),
            "--tls-key",
            server.key.to_str().unwrap(),
            "--reload-interval",
            "100ms",
        ],
        &log,
    );
    tls_check(governor.addr, &ours.ca(), None)
        .await
        .expect("the pair in use");
    std::fs::copy(&other.key, &server.key).unwrap();
    refused_on_reload(&log).await;
    tls_check(governor.addr, &ours.ca(), None)
        .await
        .expect("the pair in use is kept");
    std::fs::copy(&other.cert, &server.cert).unwrap();
    let rotated = eventually(PATIENCE, || async {
        tls_check(governor.addr, &theirs.ca(), None).await.is_ok()
    })
    .await;
    assert!(rotated, "the matching pair was never taken");
}

/// A `redis-server` that wants a password, on a loopback port and a unix
/// socket; killed when dropped.
struct GuardedRedis {
    child: std::process::Child,
    port: u16,
    socket: PathBuf,
    _dir: TempDir,
}

impl GuardedRedis {
    fn start(password: &str) -> Self {
        let dir = TempDir::new("guarded");
        let socket = dir.path().join("redis.sock");
        let port = syncgov_tests::free_addr().port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                password,
            ])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server");
        let up = std::time::Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(std::time::Instant::now() < up, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            child,
            port,
            socket,
            _dir: dir,
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for GuardedRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_password_never_appears_in_logs() {
    const PASSWORD: &str = "s3cr3t-redis-pa55word";
    const WRONG: &str = "wr0ng-redis-pa55word";
    let dir = TempDir::new("password");
    let mut redis = GuardedRedis::start(PASSWORD);
    let tcp = format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port);
    let mut logs = Vec::new();

    // The governor, the URL in a flag, text logs at debug: it serves,
    // then Redis goes away under it.
    let log = dir.path().join("governor");
    let governor = std::process::Command::new(binary("quota-governor"))
        .args(["--listen", "127.0.0.1:0", "--health-interval", "100ms"])
        .args(["--redis-url", &tcp])
        .env("RUST_LOG", "debug")
        .stdout(std::fs::File::create(dir.path().join("governor.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the governor");
    let governor = KilledOnDrop(governor);
    let started = eventually(PATIENCE, || async {
        read_log(&dir.path().join("governor.out")).contains("listening on")
    })
    .await;
    assert!(started, "{}", read_log(&log));
    let line = read_log(&dir.path().join("governor.out"));
    let addr: std::net::SocketAddr = line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("an address");
    let mut c = QuotaGovernorClient::new(plain(addr).await);
    c.set_budget(budget("acme")).await.expect("SetBudget");
    c.acquire_tokens(ask("acme")).await.expect("AcquireTokens");
    redis.stop();
    let down = syncgov_tests::health_becomes(
        addr,
        "",
        tonic_health::pb::health_check_response::ServingStatus::NotServing,
        Duration::from_secs(10),
    )
    .await;
    assert!(down, "health never followed Redis down");
    assert!(c.acquire_tokens(ask("acme")).await.is_err());
    drop(governor);
    logs.push((
        "the governor",
        read_log(&dir.path().join("governor.out")) + &read_log(&log),
    ));

    // sync-errors, the unix socket's URL (password in its query) in the
    // environment, JSON logs at debug.
    let redis = GuardedRedis::start(PASSWORD);
    let log = dir.path().join("sync-errors");
    let unix = format!("redis+unix://{}?pass={PASSWORD}", redis.socket.display());
    let out = run_briefly(
        "sync-errors",
        &["--listen", "127.0.0.1:0", "--log-format", "json"],
        &[
            ("SYNC_ERRORS_REDIS_URL", unix.as_str()),
            ("RUST_LOG", "debug"),
        ],
        &log,
        tonic_health::pb::health_check_response::ServingStatus::Serving,
    )
    .await;
    logs.push(("sync-errors", out));

    // A wrong password: the refusal is logged, the password is not.
    let wrong = format!("redis://:{WRONG}@127.0.0.1:{}", redis.port);
    let out = run_briefly(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--health-interval",
            "100ms",
            "--redis-url",
            &wrong,
        ],
        &[("RUST_LOG", "debug")],
        &dir.path().join("wrong"),
        tonic_health::pb::health_check_response::ServingStatus::NotServing,
    )
    .await;
    assert!(out.contains("NOT_SERVING"), "the refusal is logged: {out}");
    logs.push(("the governor with a wrong password", out));

    for (who, text) in logs {
        assert!(text.contains("listening on"), "{who}: {text}");
        assert!(text.contains("***"), "{who} shows the URL masked: {text}");
        for secret in [PASSWORD, WRONG] {
            assert!(!text.contains(secret), "{who} logged the password: {text}");
        }
    }
}

/// A child process killed when dropped.
struct KilledOnDrop(std::process::Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `name` until its health reports `status` (its store checked and
/// judged), then kills it: everything it printed, stdout and stderr.
async fn run_briefly(
    name: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    log: &Path,
    status: tonic_health::pb::health_check_response::ServingStatus,
) -> String {
    let out = log.with_extension("out");
    let child = std::process::Command::new(binary(name))
        .args(args)
        .envs(envs.iter().copied())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start the service");
    let child = KilledOnDrop(child);
    let both = || read_log(&out) + &read_log(log);
    let started = eventually(PATIENCE, || async {
        read_log(&out).contains("listening on")
    })
    .await;
    assert!(started, "{name}: {}", both());
    let addr: std::net::SocketAddr = read_log(&out)
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("an address");
    let judged = syncgov_tests::health_becomes(addr, "", status, PATIENCE).await;
    assert!(judged, "{name} never reported {status:?}: {}", both());
    if status == tonic_health::pb::health_check_response::ServingStatus::NotServing {
        // NOT_SERVING is reported from the start, before the store is first
        // asked: wait for the store's refusal itself to be logged.
        let logged = eventually(PATIENCE, || async { both().contains("NOT_SERVING") }).await;
        assert!(
            logged,
            "{name} never logged the store's refusal: {}",
            both()
        );
    }
    drop(child);
    both()
}
