//! The fleet's state gauges of sync-errors, read off its admin port as
//! Prometheus scrapes it: current errors and impacted records per category,
//! and dead resync jobs, exact after every kind of change a test can make —
//! ingest, resolve, resync (to dead, out of dead, to resolved), reclassify,
//! and, on Redis, a resolved error expiring — on the memory store and on
//! Redis, the binary started as an operator would.

use std::collections::BTreeMap;
use std::time::Duration;

use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_tests::syncerrors::{claim, complete, failure, ingest, resync};
use syncgov_tests::{PATIENCE, Process, RedisServer, TempDir, eventually};
use tonic::transport::Channel;

/// Every category, as the taxonomy names them.
const CATEGORIES: [&str; 8] = [
    "ASSOCIATIONS",
    "CUSTOM_CODE",
    "DUPLICATES",
    "PERMISSIONS",
    "PICKLIST",
    "PROPERTY_MAPPINGS",
    "PROPERTY_VALUES",
    "OTHER",
];

/// A text an operator rule moves from CUSTOM_VALIDATION_RULE to
/// INVALID_SALESFORCE_ID.
const PARTNER: &str = "Please choose an active partner account.";

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
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// What the gauges should read: per category (current errors, impacted
/// records), every other category at zero; and the dead jobs.
fn lines(state: &[(&str, u64, u64)], dead: u64) -> Vec<String> {
    let of: BTreeMap<&str, (u64, u64)> = state.iter().map(|&(c, e, r)| (c, (e, r))).collect();
    let mut lines = vec![format!(
        "syncgov_errors_resync_dead{{syncgov_service=\"sync-errors\"}} {dead}"
    )];
    for category in CATEGORIES {
        let (errors, records) = of.get(category).copied().unwrap_or_default();
        lines.push(format!(
            "syncgov_errors_current{{category=\"{category}\",syncgov_service=\"sync-errors\"}} {errors}"
        ));
        lines.push(format!(
            "syncgov_errors_impacted_records{{category=\"{category}\",syncgov_service=\"sync-errors\"}} {records}"
        ));
    }
    lines
}

/// Waits until the scrape holds every line of `expected` (the gauges are
/// measured every few seconds), and fails naming what it read.
async fn gauges_read(admin: std::net::SocketAddr, step: &str, expected: Vec<String>) {
    let wanted = expected.clone();
    let reached = eventually(PATIENCE, || {
        let wanted = wanted.clone();
        async move {
            let text = tokio::task::spawn_blocking(move || scrape(admin))
                .await
                .unwrap();
            wanted.iter().all(|line| text.lines().any(|l| l == line))
        }
    })
    .await;
    if !reached {
        let text = scrape(admin);
        let seen: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("syncgov_errors_current")
                    || l.starts_with("syncgov_errors_impacted")
                    || l.starts_with("syncgov_errors_resync_dead")
            })
            .collect();
        panic!("after {step}: wanted {expected:#?}\nread {seen:#?}");
    }
}

fn text(key: &str, record: &str, status: &str, message: &str) -> pb::Failure {
    pb::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: record.into(),
        status_code: status.into(),
        message: message.into(),
        ..Default::default()
    }
}

/// The id of `org`'s current error on `record`.
async fn error_on(c: &mut SyncErrorsClient<Channel>, org: &str, record: &str) -> String {
    let page = c
        .list_errors(pb::ListErrorsRequest {
            org_id: org.into(),
            page_size: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    page.errors
        .into_iter()
        .find(|e| e.crm_record_id == record)
        .map(|e| e.error_id)
        .unwrap_or_else(|| panic!("{org} has no current error on {record}"))
}

async fn gauges_follow_every_change(redis: Option<&RedisServer>) {
    let dir = TempDir::new("fleet-gauges");
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "rules: []\n").unwrap();
    let admin = syncgov_tests::free_addr();
    let admin_arg = admin.to_string();
    let url = redis.map(RedisServer::url);
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        &admin_arg,
        "--resync-max-attempts",
        "1",
        "--rules",
        rules.to_str().unwrap(),
        "--rules-reload",
        "100ms",
    ];
    if let Some(url) = &url {
        args.extend(["--redis-url", url.as_str()]);
    }
    let service = Process::start("sync-errors", &args);
    let c = &mut SyncErrorsClient::new(syncgov_tests::channel(service.addr()).await);

    // Ingest: acme has two too-long values and an unknown error on c1 (a
    // record with two categories); globex a validation rule.
    ingest(
        c,
        "acme",
        vec![
            failure("a1", "Contact", "c1", "too_long"),
            failure("a2", "Contact", "c2", "too_long"),
            text("a3", "c1", "", "Something nobody has seen before happened."),
            // A repeat counts nothing.
            failure("a1", "Contact", "c1", "too_long"),
        ],
    )
    .await;
    ingest(
        c,
        "globex",
        vec![text(
            "g1",
            "g1",
            "FIELD_FILTER_VALIDATION_EXCEPTION",
            PARTNER,
        )],
    )
    .await;
    let after_ingest = [
        ("PROPERTY_VALUES", 2, 2),
        ("OTHER", 1, 1),
        ("CUSTOM_CODE", 1, 1),
    ];
    gauges_read(admin, "ingest", lines(&after_ingest, 0)).await;

    // Resolve: c2's error goes.
    let resolved = c
        .resolve_record(pb::ResolveRecordRequest {
            org_id: "acme".into(),
            object_type: "Contact".into(),
            crm_record_id: "c2".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.resolved, 1);
    let after_resolve = [
        ("PROPERTY_VALUES", 1, 1),
        ("OTHER", 1, 1),
        ("CUSTOM_CODE", 1, 1),
    ];
    gauges_read(admin, "resolve", lines(&after_resolve, 0)).await;

    // Resync: the only attempt fails, the error is dead and still current.
    let too_long = c
        .list_errors(pb::ListErrorsRequest {
            org_id: "acme".into(),
            filter: Some(pb::ErrorFilter {
                category: syncgov_api::taxonomy::v1::ErrorCategory::PropertyValues.into(),
                ..Default::default()
            }),
            page_size: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .errors;
    assert_eq!(too_long.len(), 1);
    let id = too_long[0].error_id.clone();
    resync(c, "acme", vec![id.clone()]).await;
    let jobs = claim(c, "w1", 10, 60_000).await;
    assert_eq!(jobs.len(), 1);
    let done = complete(c, &jobs[0], false).await.unwrap();
    assert_eq!(done.state, pb::ErrorState::Dead as i32);
    gauges_read(admin, "a resync ending dead", lines(&after_resolve, 1)).await;

    // Reclassify: an operator rule moves globex's error to another category.
    std::fs::write(
        &rules,
        "rules:\n  - name: partner-filter\n    message: \"(?i)active partner\"\n    type: INVALID_SALESFORCE_ID\n",
    )
    .unwrap();
    let moved = eventually(PATIENCE, || {
        let mut c = c.clone();
        async move {
            c.reclassify_errors(pb::ReclassifyErrorsRequest {
                org_id: "globex".into(),
                dry_run: false,
            })
            .await
            .unwrap()
            .into_inner()
            .moved
                == 1
        }
    })
    .await;
    assert!(moved, "the rule was not taken");
    let after_reclassify = [
        ("PROPERTY_VALUES", 1, 1),
        ("OTHER", 1, 1),
        ("PROPERTY_MAPPINGS", 1, 1),
    ];
    gauges_read(admin, "reclassify", lines(&after_reclassify, 1)).await;

    // Queued again, the error is dead no more; its resync succeeds.
    resync(c, "acme", vec![id]).await;
    gauges_read(
        admin,
        "a resync of a dead error",
        lines(&after_reclassify, 0),
    )
    .await;
    let jobs = claim(c, "w1", 10, 60_000).await;
    assert_eq!(jobs.len(), 1);
    complete(c, &jobs[0], true).await.unwrap();
    let after_success = [("OTHER", 1, 1), ("PROPERTY_MAPPINGS", 1, 1)];
    gauges_read(admin, "a resync succeeding", lines(&after_success, 0)).await;

    // Expiry: resolved errors leave the store when their time is up; the
    // gauges, which never counted them, stay; the same failure reported
    // again afterwards is a new current error.
    if let Some(redis) = redis {
        let mut conn = redis
            .client()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("syncgov:errors:{acme}:e:*")
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut expired = 0;
        for key in keys {
            let state: Option<String> = redis::cmd("HGET")
                .arg(&key)
                .arg("s")
                .query_async(&mut conn)
                .await
                .unwrap();
            if state.as_deref() == Some("4") {
                let () = redis::cmd("PEXPIRE")
                    .arg(&key)
                    .arg(1)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                expired += 1;
            }
        }
        assert_eq!(expired, 2, "c1's and c2's too-long errors were resolved");
        tokio::time::sleep(Duration::from_millis(20)).await;
        gauges_read(admin, "expiry", lines(&after_success, 0)).await;
    }
    ingest(c, "acme", vec![failure("a4", "Contact", "c2", "too_long")]).await;
    let back = [
        ("PROPERTY_VALUES", 1, 1),
        ("OTHER", 1, 1),
        ("PROPERTY_MAPPINGS", 1, 1),
    ];
    gauges_read(admin, "a resolved error back", lines(&back, 0)).await;
    assert!(!error_on(c, "acme", "c2").await.is_empty());
    drop(service);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_gauges_follow_every_change_on_memory() {
    gauges_follow_every_change(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_gauges_follow_every_change_on_redis() {
    let redis = RedisServer::start();
    gauges_follow_every_change(Some(&redis)).await;
}
