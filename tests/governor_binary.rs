//! The quota governor as a server: the shipped binary serves and stops
//! cleanly on SIGTERM, refuses bad settings before it listens and lists
//! them all in `--help`; the server lists its services through reflection,
//! refuses messages over its size limit and answers a call held up by the
//! store at its request timeout.

use std::time::Duration;

use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::PATIENCE;
use syncgov_tests::governor::{budget, set_budget};
use syncgov_tests::{Process, RedisServer, Service, eventually, health_becomes};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_stops_cleanly_on_sigterm() {
    let governor = Process::start("quota-governor", &["--listen", "127.0.0.1:0"]);
    // NOT_SERVING until the store's first answer, which a loaded machine
    // may give after the port opens.
    assert!(health_becomes(governor.addr(), "", ServingStatus::Serving, PATIENCE).await);
    let status = governor.terminate();
    assert!(status.success(), "{status:?}");
}

/// One worker thread runs the single-threaded scheduler: two such replicas
/// of the shipped binary on one Redis, 64 callers spread over both, grant
/// exactly the allocation of 10 000, coalescing or not, and stop cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_one_thread_replicas_grant_exactly_the_allocation() {
    let redis = RedisServer::start();
    let url = redis.url();
    for coalesce in ["true", "false"] {
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--worker-threads",
            "1",
            "--coalesce",
            coalesce,
            "--redis-url",
            &url,
        ];
        let replicas = [
            Process::start("quota-governor", &args),
            Process::start("quota-governor", &args),
        ];
        let org = format!("one-thread-{coalesce}");
        let mut admin = QuotaGovernorClient::new(syncgov_tests::channel(replicas[0].addr()).await);
        set_budget(&mut admin, &org, budget(1_000_000, 10_000)).await;
        let mut callers = Vec::new();
        for i in 0..64 {
            let addr = replicas[i % 2].addr();
            let org = org.clone();
            callers.push(tokio::spawn(async move {
                let mut c = QuotaGovernorClient::new(syncgov_tests::channel(addr).await);
                let mut granted = 0u64;
                loop {
                    let reply = c
                        .acquire_tokens(pb::AcquireTokensRequest {
                            org_id: org.clone(),
                            count: 1,
                            // The whole allocation: lower priorities hold
                            // back a share.
                            priority: pb::Priority::Critical.into(),
                            ..Default::default()
                        })
                        .await
                        .expect("a decision")
                        .into_inner();
                    if !reply.granted {
                        return granted;
                    }
                    granted += 1;
                }
            }));
        }
        let mut granted = 0;
        for caller in callers {
            granted += caller.await.unwrap();
        }
        assert_eq!(
            granted, 10_000,
            "coalescing {coalesce}: the allocation, not more"
        );
        for replica in replicas {
            let status = replica.terminate();
            assert!(status.success(), "coalescing {coalesce}: {status:?}");
        }
    }
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("syncgov-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for the log");
    let path = dir.join("governor.log");
    let file = std::fs::File::create(&path).expect("the log file");
    let mut child = std::process::Command::new(syncgov_tests::binary("quota-governor"))
        .args(["--listen", "127.0.0.1:0", "--log-format", "text"])
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::piped())
        .stderr(file)
        .spawn()
        .expect("start quota-governor");
    // The start-up line comes once the server listens: the log lines of
    // starting (authentication is off, the store) are written by then.
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the start-up line");
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&path).expect("read the log");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(log.contains("authentication is off"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file: {log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_the_services() {
    let governor = Service::governor(Settings::default()).await;
    let names = syncgov_tests::reflected_services(governor.addr()).await;
    assert!(
        names.contains(&"syncgov.quota.v1.QuotaGovernor".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"envoy.service.ratelimit.v3.RateLimitService".to_owned()),
        "{names:?}"
    );
    // One descriptor set holds both services' APIs; only what answers here
    // is listed.
    assert!(
        !names.contains(&"syncgov.syncerrors.v1.SyncErrors".to_owned()),
        "{names:?}"
    );
}

#[test]
fn bad_settings_stop_the_binary_before_it_listens() {
    let run = |args: &[&str]| {
        std::process::Command::new(syncgov_tests::binary("quota-governor"))
            .args(args)
            .output()
            .expect("run quota-governor")
    };
    let out = run(&[
        "--listen",
        "127.0.0.1:0",
        "--window",
        "10s",
        "--bucket",
        "3s",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--window and --bucket") && stderr.contains("whole number of buckets"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing listened: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = run(&["--default-budget", "500"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ALLOCATION/ORG_LIMIT"));

    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--redis-url",
        "--window",
        "--bucket",
        "--default-budget",
        "QUOTA_GOVERNOR_REDIS_URL",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_and_slow_calls_are_refused() {
    let redis = RedisServer::start();
    let settings = Settings {
        server: ServerSettings {
            redis_url: Some(redis.url().parse().unwrap()),
            redis_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_millis(300),
            ..ServerSettings::default()
        },
        ..Settings::default()
    };
    let governor = Service::governor(settings).await;
    let mut c = QuotaGovernorClient::new(governor.channel().await)
        .max_encoding_message_size(16 * 1024 * 1024);
    set_budget(&mut c, "acme", budget(100, 10)).await;

    // Over the 4 MiB a server decodes: refused before any work.
    let huge = pb::AcquireTokensRequest {
        org_id: "acme".into(),
        count: 1,
        client_id: "x".repeat(5 * 1024 * 1024),
        ..Default::default()
    };
    let err = c.acquire_tokens(huge).await.unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");

    // A store that hangs longer than the request timeout: the caller hears
    // back at the timeout, not when the store answers.
    let mut conn = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // CLIENT PAUSE WRITE holds every write (the decision script) until the
    // test unpauses the store, however long the call takes to arrive.
    let _: () = ::redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(120_000)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
    let err = c
        .acquire_tokens(pb::AcquireTokensRequest {
            org_id: "acme".into(),
            count: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.code() == Code::Cancelled && err.message().contains("Timeout"),
        "{err:?}"
    );
    let _: () = ::redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut conn)
        .await
        .unwrap();
    // Once the store answers again, so does the governor.
    let back = eventually(PATIENCE, || {
        let mut c = c.clone();
        async move {
            c.acquire_tokens(pb::AcquireTokensRequest {
                org_id: "acme".into(),
                count: 1,
                ..Default::default()
            })
            .await
            .is_ok_and(|r| r.get_ref().granted)
        }
    })
    .await;
    assert!(back, "no grant once the store answered again");
}
