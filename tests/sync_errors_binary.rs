//! The sync-error service's binary: it serves health and reflection and
//! stops cleanly on SIGTERM, lists every setting in `--help` and refuses
//! bad ones, and its `classify` command turns JSON lines of error texts
//! into JSON lines of classifications.

use std::io::Write;
use std::time::Duration;

use syncgov_tests::{Process, health, health_becomes};
use tonic_health::pb::health_check_response::ServingStatus;

#[test]
fn the_classify_command_reads_and_writes_json_lines() {
    let mut child = std::process::Command::new(syncgov_tests::binary("sync-errors"))
        .arg("classify")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run sync-errors classify");
    let input = concat!(
        r#"{"id": "a", "status_code": "STRING_TOO_LONG", "message": "Name: data value too large", "fields": ["Name"]}"#,
        "\n",
        r#"{"status_code": "INVALID_SESSION_ID", "message": "Session expired or invalid", "fields": []}"#,
        "\n",
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        lines[0],
        serde_json::json!({"id": "a", "level": "record", "category": "PROPERTY_VALUES", "type": "STRING_TOO_LONG"})
    );
    assert_eq!(
        lines[1],
        serde_json::json!({"id": null, "level": "suspension", "reason": "SALESFORCE_AUTH_FAILED"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_health_and_reflection_and_stops_on_sigterm() {
    let service = Process::start("sync-errors", &["--listen", "127.0.0.1:0"]);
    // Registered from the start, SERVING once the store has answered.
    let first = health(service.addr(), sync_errors::app::SERVICE_NAME).await;
    assert!(
        [ServingStatus::NotServing, ServingStatus::Serving].contains(&first),
        "{first:?}"
    );
    assert!(
        health_becomes(
            service.addr(),
            sync_errors::app::SERVICE_NAME,
            ServingStatus::Serving,
            Duration::from_secs(10)
        )
        .await
    );
    let names = syncgov_tests::reflected_services(service.addr()).await;
    assert!(
        names.contains(&"syncgov.syncerrors.v1.SyncErrors".to_owned()),
        "{names:?}"
    );
    for elsewhere in [
        "syncgov.quota.v1.QuotaGovernor",
        "envoy.service.ratelimit.v3.RateLimitService",
    ] {
        assert!(!names.contains(&elsewhere.to_owned()), "{names:?}");
    }
    let status = service.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_lists_every_setting() {
    let out = std::process::Command::new(syncgov_tests::binary("sync-errors"))
        .arg("--help")
        .output()
        .expect("run sync-errors --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--redis-url",
        "--resync-max-attempts",
        "--resync-backoff",
        "SYNC_ERRORS_REDIS_URL",
        "classify",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
    let bad = std::process::Command::new(syncgov_tests::binary("sync-errors"))
        .args(["--resync-max-attempts", "0"])
        .output()
        .expect("run sync-errors");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--resync-max-attempts"));
}
