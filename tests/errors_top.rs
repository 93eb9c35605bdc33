//! sync-errors' fleet view over real gRPC, on every store: the orgs with the
//! most current errors, UNKNOWN errors and dead resync jobs
//! (`ListTopOrgs`), a page at a time, kept in order as errors are ingested,
//! resolved, resynced and end dead; bad input refused naming the field; and
//! a caller whose token names some orgs seeing those orgs only.

use std::path::PathBuf;

use sync_errors::config::Settings;
use syncgov_api::syncerrors::v1 as pb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::syncerrors::{claim, claim_within, complete, failure};
use syncgov_tests::{Backend, PATIENCE, Service, Store, TempDir, on_every_store};
use tonic::Code;
use tonic::transport::Channel;

on_every_store!(
    the_orgs_with_the_most_errors_come_first,
    the_top_refuses_bad_pages_naming_the_field,
    a_token_for_some_orgs_sees_only_those_orgs_in_the_top,
);

/// sync-errors on `backend` with `settings`, the store kept running.
async fn start(backend: Backend, settings: Settings) -> (Store, Service) {
    let store = backend.start();
    let service = Service::sync_errors(Settings {
        server: ServerSettings {
            redis_url: store.redis_url(),
            redis_cluster_nodes: store.cluster_nodes(),
            ..settings.server
        },
        ..settings
    })
    .await;
    (store, service)
}

/// `n` failures of `kind` on distinct records of `org`, keys from `key`.
async fn ingest<C>(c: &mut SyncErrorsClient<C>, org: &str, key: &str, n: usize, kind: &str)
where
    C: tonic::client::GrpcService<tonic::body::Body> + Send,
    C::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <C::ResponseBody as tonic::codegen::Body>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let failures = (0..n)
        .map(|i| match kind {
            "unknown" => pb::Failure {
                status_code: "SOMETHING_NEW".into(),
                message: "A brand new failure.".into(),
                fields: Vec::new(),
                ..failure(
                    &format!("{key}-{i}"),
                    "Contact",
                    &format!("{key}-{i}"),
                    "email",
                )
            },
            kind => failure(
                &format!("{key}-{i}"),
                "Contact",
                &format!("{key}-{i}"),
                kind,
            ),
        })
        .collect();
    c.ingest_errors(pb::IngestErrorsRequest {
        org_id: org.into(),
        failures,
    })
    .await
    .expect("IngestErrors");
}

/// Every org of the view by `order`, `page_size` at a time: (org, count).
async fn top<C>(
    c: &mut SyncErrorsClient<C>,
    order: pb::TopOrgsOrder,
    page_size: u32,
) -> Vec<(String, u64)>
where
    C: tonic::client::GrpcService<tonic::body::Body> + Send,
    C::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <C::ResponseBody as tonic::codegen::Body>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let (mut seen, mut token) = (Vec::new(), String::new());
    loop {
        let page = c
            .list_top_orgs(pb::ListTopOrgsRequest {
                order_by: order.into(),
                page_size,
                page_token: token,
            })
            .await
            .expect("ListTopOrgs")
            .into_inner();
        assert!(page.orgs.len() <= page_size as usize);
        seen.extend(page.orgs.into_iter().map(|o| {
            let count = match order {
                pb::TopOrgsOrder::UnknownErrors => o.unknown_errors,
                pb::TopOrgsOrder::DeadJobs => o.dead_jobs,
                _ => o.current_errors,
            };
            (o.org_id, count)
        }));
        if page.next_page_token.is_empty() {
            return seen;
        }
        token = page.next_page_token;
    }
}

fn pairs(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(o, n)| (o.to_string(), *n)).collect()
}

async fn the_orgs_with_the_most_errors_come_first(backend: Backend) {
    let (_store, service) = start(
        backend,
        Settings {
            resync_max_attempts: 1,
            ..Settings::default()
        },
    )
    .await;
    let c = &mut SyncErrorsClient::new(service.channel().await);
    // Errors of four orgs; two tie, and ties come in org order.
    ingest(c, "delta", "d", 2, "too_long").await;
    ingest(c, "alpha", "a", 5, "too_long").await;
    ingest(c, "charlie", "c", 3, "email").await;
    ingest(c, "bravo", "b", 3, "email").await;
    ingest(c, "bravo", "bu", 2, "unknown").await;
    ingest(c, "delta", "du", 1, "unknown").await;
    // The same failures again are the same errors: nothing moves.
    ingest(c, "delta", "d", 2, "too_long").await;

    let expected = pairs(&[("alpha", 5), ("bravo", 5), ("charlie", 3), ("delta", 3)]);
    for page_size in [1, 3, 20] {
        assert_eq!(
            top(c, pb::TopOrgsOrder::Unspecified, page_size).await,
            expected
        );
    }
    assert_eq!(
        top(c, pb::TopOrgsOrder::UnknownErrors, 1).await,
        pairs(&[("bravo", 2), ("delta", 1)])
    );
    assert!(top(c, pb::TopOrgsOrder::DeadJobs, 5).await.is_empty());

    // A resolved record takes its error out: alpha falls behind bravo.
    let resolved = c
        .resolve_record(pb::ResolveRecordRequest {
            org_id: "alpha".into(),
            object_type: "Contact".into(),
            crm_record_id: "a-0".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resolved.resolved, 1);
    assert_eq!(
        top(c, pb::TopOrgsOrder::CurrentErrors, 2).await,
        pairs(&[("bravo", 5), ("alpha", 4), ("charlie", 3), ("delta", 3)])
    );

    // A resync that fails its only attempt ends dead.
    let listed = c
        .list_errors(pb::ListErrorsRequest {
            org_id: "charlie".into(),
            page_size: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<String> = listed.errors.into_iter().map(|e| e.error_id).collect();
    c.resync_errors(pb::ResyncErrorsRequest {
        org_id: "charlie".into(),
        error_ids: ids,
    })
    .await
    .unwrap();
    let jobs = claim(
        &mut SyncErrorsClient::new(service.channel().await),
        "w1",
        10,
        60_000,
    )
    .await;
    assert_eq!(jobs.len(), 2);
    let plain = &mut SyncErrorsClient::<Channel>::new(service.channel().await);
    for job in &jobs {
        let done = complete(plain, job, false).await.unwrap();
        assert_eq!(done.state, pb::ErrorState::Dead as i32);
    }
    assert_eq!(
        top(c, pb::TopOrgsOrder::DeadJobs, 5).await,
        pairs(&[("charlie", 2)])
    );
    // Queued again, they are dead no more.
    c.resync_errors(pb::ResyncErrorsRequest {
        org_id: "charlie".into(),
        error_ids: jobs.iter().map(|j| j.error_id.clone()).collect(),
    })
    .await
    .unwrap();
    assert!(top(c, pb::TopOrgsOrder::DeadJobs, 5).await.is_empty());
    // A resync that succeeds resolves its error; the org moves with it.
    for _ in 0..2 {
        let job = claim_within(plain, "w1", PATIENCE).await;
        assert_eq!(job.len(), 1, "the resync comes due");
        let done = complete(plain, &job[0], true).await.unwrap();
        assert_eq!(done.state, pb::ErrorState::Resolved as i32, "{job:?}");
    }
    // The view agrees with each org's own counters (a failed attempt
    // recorded its new failure as an error of its own type).
    for (org, count) in top(c, pb::TopOrgsOrder::CurrentErrors, 10).await {
        let health = c
            .get_sync_health(pb::GetSyncHealthRequest {
                org_id: org.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(health.current_errors, count, "{org}");
    }
}

async fn the_top_refuses_bad_pages_naming_the_field(backend: Backend) {
    let (_store, service) = start(backend, Settings::default()).await;
    let c = &mut SyncErrorsClient::new(service.channel().await);
    ingest(c, "alpha", "a", 2, "email").await;
    ingest(c, "bravo", "b", 1, "email").await;
    let refused = |r: Result<tonic::Response<pb::ListTopOrgsResponse>, tonic::Status>| {
        let status = r.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        status.message().to_owned()
    };
    let m = refused(
        c.list_top_orgs(pb::ListTopOrgsRequest {
            page_size: 1_001,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("page_size: must be at most 1000"), "{m}");
    let m = refused(
        c.list_top_orgs(pb::ListTopOrgsRequest {
            order_by: 99,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("order_by:"), "{m}");
    for token in ["zz", "0a", "not a token"] {
        let m = refused(
            c.list_top_orgs(pb::ListTopOrgsRequest {
                page_token: token.into(),
                ..Default::default()
            })
            .await,
        );
        assert!(m.starts_with("page_token:"), "{m}");
    }
    // A token of one order is no good for another.
    let first = c
        .list_top_orgs(pb::ListTopOrgsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let m = refused(
        c.list_top_orgs(pb::ListTopOrgsRequest {
            order_by: pb::TopOrgsOrder::DeadJobs.into(),
            page_size: 1,
            page_token: first.next_page_token,
        })
        .await,
    );
    assert!(m.starts_with("page_token:"), "{m}");
}

const ADMIN: &str = "admin-top-0123456789abcdef0123456";
const OPERATOR: &str = "operator-acme-globex-0123456789ab";
const WORKER: &str = "worker-acme-0123456789abcdef01234";

async fn a_token_for_some_orgs_sees_only_those_orgs_in_the_top(backend: Backend) {
    let dir = TempDir::new("top");
    let tokens: PathBuf = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "{ADMIN} admin * root\n{OPERATOR} operator acme,globex ops\n\
             {WORKER} worker acme pool-a\n"
        ),
    )
    .unwrap();
    let (_store, service) = start(
        backend,
        Settings {
            server: ServerSettings {
                security: SecuritySettings {
                    auth_token_file: Some(tokens),
                    ..SecuritySettings::default()
                },
                ..ServerSettings::default()
            },
            ..Settings::default()
        },
    )
    .await;
    let as_caller = async |token: &str| {
        SyncErrorsClient::new(AuthChannel::new(
            service.channel().await,
            Bearer::fixed(token).unwrap(),
        ))
    };
    let admin = &mut as_caller(ADMIN).await;
    for (i, org) in ["acme", "globex", "initech", "umbrella"].iter().enumerate() {
        ingest(admin, org, org, 1 + 2 * i, "email").await;
        ingest(admin, org, &format!("{org}-u"), 1 + i, "unknown").await;
    }
    assert_eq!(
        top(admin, pb::TopOrgsOrder::CurrentErrors, 3).await,
        pairs(&[("umbrella", 11), ("initech", 8), ("globex", 5), ("acme", 2)])
    );
    let operator = &mut as_caller(OPERATOR).await;
    for page_size in [1, 2, 10] {
        assert_eq!(
            top(operator, pb::TopOrgsOrder::CurrentErrors, page_size).await,
            pairs(&[("globex", 5), ("acme", 2)])
        );
        assert_eq!(
            top(operator, pb::TopOrgsOrder::UnknownErrors, page_size).await,
            pairs(&[("globex", 2), ("acme", 1)])
        );
    }
    // The view is an operator's: a worker's token does not open it.
    let worker = &mut as_caller(WORKER).await;
    let status = worker
        .list_top_orgs(pb::ListTopOrgsRequest::default())
        .await
        .expect_err("a worker reads no fleet view of errors");
    assert_eq!(status.code(), Code::PermissionDenied);
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orgs_counted_before_the_view_existed_are_listed() {
    let store = Backend::Redis.start();
    let redis = store.redis().expect("a redis").client();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    // As a service without the view left an org's counters (32: UNKNOWN).
    let _: () = ::redis::cmd("HSET")
        .arg("syncgov:errors:{old-org}:counts")
        .arg(&["e", "4", "r", "4", "e:t:32", "4"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let service = Service::sync_errors(Settings {
        server: ServerSettings {
            redis_url: store.redis_url(),
            ..ServerSettings::default()
        },
        ..Settings::default()
    })
    .await;
    let c = SyncErrorsClient::new(service.channel().await);
    let listed =
        syncgov_tests::eventually(PATIENCE, || {
            let mut c = c.clone();
            async move {
                top(&mut c, pb::TopOrgsOrder::UnknownErrors, 10).await == pairs(&[("old-org", 4)])
            }
        })
        .await;
    assert!(listed, "an org counted before the view is in it");
}
