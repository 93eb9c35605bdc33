//! The governor's fleet views over real gRPC, on every store: every org's
//! budgets (`ListBudgets`), every org's suspensions (`ListSuspensions`
//! without an org), and the orgs nearest their limits (`ListUsage`), each a
//! page at a time with tokens that resume exactly where a page ended; bad
//! page sizes and tokens refused naming the field; and callers whose token
//! names some orgs seeing those orgs only, in every view.

use std::collections::BTreeSet;
use std::path::PathBuf;

use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::{Backend, PATIENCE, Service, Store, TempDir, eventually, on_every_store};
use tonic::Code;

on_every_store!(
    budgets_are_listed_by_org_a_page_at_a_time,
    suspensions_of_every_org_are_listed_by_reason,
    usage_lists_the_orgs_nearest_their_limits_first,
    fleet_views_refuse_bad_pages_naming_the_field,
    a_token_for_some_orgs_sees_only_those_orgs_in_every_view,
);

const ADMIN: &str = "admin-fleet-0123456789abcdef01234";
const OPERATOR: &str = "operator-acme-globex-0123456789ab";
const WORKER: &str = "worker-acme-0123456789abcdef01234";
const ORG_ADMIN: &str = "admin-initech-0123456789abcdef012";

/// A governor on `backend` that checks tokens: an admin of every org, an
/// operator of `acme` and `globex`, a worker of `acme`, an admin of
/// `initech` only.
struct Fleet {
    _store: Store,
    _dir: TempDir,
    governor: Service,
}

impl Fleet {
    async fn start(backend: Backend) -> Self {
        Self::on(backend.start()).await
    }

    async fn on(store: Store) -> Self {
        let dir = TempDir::new("fleet");
        let tokens: PathBuf = dir.path().join("tokens");
        std::fs::write(
            &tokens,
            format!(
                "{ADMIN} admin * root\n{OPERATOR} operator acme,globex ops\n\
                 {WORKER} worker acme pool-a\n{ORG_ADMIN} admin initech initech-admin\n"
            ),
        )
        .unwrap();
        let governor = Service::governor(Settings {
            server: ServerSettings {
                redis_url: store.redis_url(),
                redis_cluster_nodes: store.cluster_nodes(),
                security: SecuritySettings {
                    auth_token_file: Some(tokens),
                    ..SecuritySettings::default()
                },
                ..ServerSettings::default()
            },
            ..Settings::default()
        })
        .await;
        Self {
            _store: store,
            _dir: dir,
            governor,
        }
    }

    async fn client(&self, token: &str) -> QuotaGovernorClient<AuthChannel> {
        QuotaGovernorClient::new(AuthChannel::new(
            self.governor.channel().await,
            Bearer::fixed(token).unwrap(),
        ))
    }
}

type Client = QuotaGovernorClient<AuthChannel>;

async fn set_budget(c: &mut Client, org: &str, resource: pb::Resource, allocation: u64) {
    c.set_budget(pb::SetBudgetRequest {
        expected_revision: String::new(),
        org_id: org.into(),
        resource: resource.into(),
        budget: Some(pb::Budget {
            org_limit: 10_000,
            allocation,
            ..Default::default()
        }),
    })
    .await
    .expect("SetBudget");
}

/// Every budget `c` sees, `page_size` at a time: (org, resource, allocation).
async fn all_budgets(
    c: &mut Client,
    resource: pb::Resource,
    page_size: u32,
) -> (Vec<(String, i32, u64)>, usize) {
    let (mut seen, mut pages, mut token) = (Vec::new(), 0, String::new());
    loop {
        let page = c
            .list_budgets(pb::ListBudgetsRequest {
                resource: resource.into(),
                page_size,
                page_token: token,
            })
            .await
            .expect("ListBudgets")
            .into_inner();
        pages += 1;
        assert!(page.budgets.len() <= page_size as usize);
        seen.extend(
            page.budgets
                .into_iter()
                .map(|b| (b.org_id, b.resource, b.budget.expect("a budget").allocation)),
        );
        if page.next_page_token.is_empty() {
            return (seen, pages);
        }
        token = page.next_page_token;
    }
}

/// Every suspension `c` sees, `page_size` at a time: (org, reason).
async fn all_suspensions(
    c: &mut Client,
    reason: tx::SuspensionReason,
    page_size: u32,
) -> Vec<(String, i32)> {
    let (mut seen, mut token) = (Vec::new(), String::new());
    loop {
        let page = c
            .list_suspensions(pb::ListSuspensionsRequest {
                org_id: String::new(),
                reason: reason.into(),
                page_size,
                page_token: token,
            })
            .await
            .expect("ListSuspensions")
            .into_inner();
        seen.extend(page.suspensions.into_iter().map(|s| (s.org_id, s.reason)));
        if page.next_page_token.is_empty() {
            return seen;
        }
        token = page.next_page_token;
    }
}

/// Every org of the usage view `c` sees, `page_size` at a time.
async fn all_usage(c: &mut Client, page_size: u32) -> Vec<pb::OrgUsage> {
    let (mut seen, mut token) = (Vec::new(), String::new());
    loop {
        let page = c
            .list_usage(pb::ListUsageRequest {
                resource: pb::Resource::ApiRequests.into(),
                page_size,
                page_token: token,
            })
            .await
            .expect("ListUsage")
            .into_inner();
        seen.extend(page.orgs);
        if page.next_page_token.is_empty() {
            return seen;
        }
        token = page.next_page_token;
    }
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

fn org(i: usize) -> String {
    format!("org-{i:02}")
}

async fn budgets_are_listed_by_org_a_page_at_a_time(backend: Backend) {
    let fleet = Fleet::start(backend).await;
    let c = &mut fleet.client(ADMIN).await;
    // Set out of order: the list comes in org order whatever the order set.
    for i in (0..23).rev() {
        set_budget(c, &org(i), pb::Resource::ApiRequests, 100 + i as u64).await;
    }
    for i in [3, 11, 17] {
        set_budget(c, &org(i), pb::Resource::BulkBatches, 7).await;
    }
    let (every, pages) = all_budgets(c, pb::Resource::Unspecified, 5).await;
    let mut expected: Vec<(String, i32, u64)> = (0..23)
        .map(|i| (org(i), pb::Resource::ApiRequests as i32, 100 + i as u64))
        .chain([3, 11, 17].map(|i| (org(i), pb::Resource::BulkBatches as i32, 7)))
        .collect();
    expected.sort();
    assert_eq!(every, expected);
    assert!(pages >= 6, "26 budgets, 5 a page: {pages} pages");

    let (bulk, _) = all_budgets(c, pb::Resource::BulkBatches, 2).await;
    assert_eq!(
        bulk.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["org-03", "org-11", "org-17"]
    );

    // A deleted budget leaves the list; the default budget is never in it.
    c.delete_budget(pb::DeleteBudgetRequest {
        org_id: org(11),
        resource: pb::Resource::BulkBatches.into(),
    })
    .await
    .unwrap();
    let (bulk, pages) = all_budgets(c, pb::Resource::BulkBatches, 100).await;
    assert_eq!(
        bulk.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["org-03", "org-17"]
    );
    assert_eq!(pages, 1);
}

async fn suspensions_of_every_org_are_listed_by_reason(backend: Backend) {
    let fleet = Fleet::start(backend).await;
    let c = &mut fleet.client(ADMIN).await;
    let locked = tx::SuspensionReason::SalesforceOrgLocked;
    let auth = tx::SuspensionReason::SalesforceAuthFailed;
    let mut expected = BTreeSet::new();
    for i in 0..12 {
        let reason = if i % 3 == 0 { auth } else { locked };
        suspend(c, &org(i), reason).await;
        expected.insert((org(i), reason as i32));
    }
    // One org suspended for two reasons.
    suspend(c, &org(4), auth).await;
    expected.insert((org(4), auth as i32));

    let every = all_suspensions(c, tx::SuspensionReason::Unspecified, 4).await;
    let orgs: Vec<&str> = every.iter().map(|s| s.0.as_str()).collect();
    assert!(orgs.is_sorted(), "in org order: {orgs:?}");
    assert_eq!(every.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(every.len(), expected.len(), "each once: {every:?}");

    let only_auth = all_suspensions(c, auth, 2).await;
    assert_eq!(
        only_auth,
        ["org-00", "org-03", "org-04", "org-06", "org-09"]
            .map(|o| (o.to_owned(), auth as i32))
            .to_vec()
    );

    // A cleared suspension leaves the list at once.
    let cleared = c
        .clear_suspension(pb::ClearSuspensionRequest {
            org_id: org(3),
            reason: auth.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(cleared.cleared);
    let only_auth = all_suspensions(c, auth, 100).await;
    assert!(!only_auth.iter().any(|s| s.0 == org(3)), "{only_auth:?}");

    // One org's, as before paging: every one in one reply, oldest first.
    let of_one = c
        .list_suspensions(pb::ListSuspensionsRequest {
            org_id: org(4),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        of_one
            .suspensions
            .iter()
            .map(|s| s.reason)
            .collect::<Vec<_>>(),
        [locked as i32, auth as i32]
    );
    assert!(of_one.next_page_token.is_empty());
    // One org's of one reason.
    let of_one = c
        .list_suspensions(pb::ListSuspensionsRequest {
            org_id: org(4),
            reason: auth.into(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(of_one.suspensions.len(), 1);
    assert_eq!(of_one.suspensions[0].reason, auth as i32);
}

async fn suspend(c: &mut Client, org: &str, reason: tx::SuspensionReason) {
    c.suspend(pb::SuspendRequest {
        org_id: org.into(),
        reason: reason.into(),
        detail: "an operator's note".into(),
    })
    .await
    .expect("Suspend");
}

async fn usage_lists_the_orgs_nearest_their_limits_first(backend: Backend) {
    let fleet = Fleet::start(backend).await;
    let c = &mut fleet.client(ADMIN).await;
    // Org i has used i tenths of its allocation of 100.
    for i in 0..10 {
        set_budget(c, &org(i), pb::Resource::ApiRequests, 100).await;
        if i > 0 {
            acquire(c, &org(i), 10 * i as u64).await;
        }
    }
    let top = c
        .list_usage(pb::ListUsageRequest {
            resource: pb::Resource::ApiRequests.into(),
            page_size: 3,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        top.orgs
            .iter()
            .map(|o| o.org_id.as_str())
            .collect::<Vec<_>>(),
        ["org-09", "org-08", "org-07"]
    );
    let first = &top.orgs[0];
    assert_eq!((first.used, first.allocation), (90, 100));
    assert!((first.share_used - 0.9).abs() < 1e-9, "{first:?}");
    assert!(!top.next_page_token.is_empty());

    let every = all_usage(c, 4).await;
    assert_eq!(
        every.iter().map(|o| o.org_id.clone()).collect::<Vec<_>>(),
        (0..10).rev().map(org).collect::<Vec<_>>()
    );

    // The org as a whole nearer its limit than the integration to its
    // allocation: that share ranks it.
    let report = c
        .report_org_usage(pb::ReportOrgUsageRequest {
            org_id: org(1),
            resource: pb::Resource::ApiRequests.into(),
            used: 9_500,
            max: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(report.accepted);
    let top = all_usage(c, 1).await;
    assert_eq!(top[0].org_id, org(1));
    assert!(
        top[0].org_share > 0.95 && top[0].share_used == top[0].org_share,
        "{:?}",
        top[0]
    );

    // Another resource has a view of its own.
    let bulk = c
        .list_usage(pb::ListUsageRequest {
            resource: pb::Resource::BulkBatches.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(bulk.orgs.is_empty());
}

/// The message of a call refused as INVALID_ARGUMENT.
fn refused<T: std::fmt::Debug>(reply: Result<T, tonic::Status>) -> String {
    let status = reply.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status.message().to_owned()
}

async fn fleet_views_refuse_bad_pages_naming_the_field(backend: Backend) {
    let fleet = Fleet::start(backend).await;
    let c = &mut fleet.client(ADMIN).await;
    for i in 0..3 {
        set_budget(c, &org(i), pb::Resource::ApiRequests, 100).await;
    }
    let m = refused(
        c.list_budgets(pb::ListBudgetsRequest {
            page_size: 1_001,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("page_size: must be at most 1000"), "{m}");
    let m = refused(
        c.list_usage(pb::ListUsageRequest {
            page_size: 5_000,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("page_size:"), "{m}");
    let m = refused(
        c.list_suspensions(pb::ListSuspensionsRequest {
            page_size: 1_001,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("page_size:"), "{m}");
    for token in ["zz", "not a token", "0a0b", &"ab".repeat(600)] {
        let m = refused(
            c.list_budgets(pb::ListBudgetsRequest {
                page_token: token.into(),
                ..Default::default()
            })
            .await,
        );
        assert!(m.starts_with("page_token:"), "{m}");
    }
    // A token is good with the filter it was read with only.
    let page = c
        .list_budgets(pb::ListBudgetsRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let m = refused(
        c.list_budgets(pb::ListBudgetsRequest {
            resource: pb::Resource::BulkBatches.into(),
            page_size: 1,
            page_token: page.next_page_token.clone(),
        })
        .await,
    );
    assert!(m.starts_with("page_token:"), "{m}");
    let m = refused(
        c.list_usage(pb::ListUsageRequest {
            page_token: page.next_page_token,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("page_token:"), "{m}");
    let m = refused(
        c.list_suspensions(pb::ListSuspensionsRequest {
            reason: 999,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("reason:"), "{m}");
    let m = refused(
        c.list_budgets(pb::ListBudgetsRequest {
            resource: 999,
            ..Default::default()
        })
        .await,
    );
    assert!(m.starts_with("resource:"), "{m}");
}

/// What `c` sees in each view, `page_size` at a time: the orgs with
/// budgets, the suspensions, the usage view's orgs in order.
async fn views(
    c: &mut Client,
    page_size: u32,
) -> (BTreeSet<String>, Vec<(String, i32)>, Vec<String>) {
    let (budgets, _) = all_budgets(c, pb::Resource::Unspecified, page_size).await;
    let budgets: BTreeSet<String> = budgets.into_iter().map(|b| b.0).collect();
    let suspensions = all_suspensions(c, tx::SuspensionReason::Unspecified, page_size).await;
    let usage: Vec<String> = all_usage(c, page_size)
        .await
        .into_iter()
        .map(|o| o.org_id)
        .collect();
    (budgets, suspensions, usage)
}

async fn a_token_for_some_orgs_sees_only_those_orgs_in_every_view(backend: Backend) {
    let fleet = Fleet::start(backend).await;
    let admin = &mut fleet.client(ADMIN).await;
    let orgs = ["acme", "globex", "initech", "umbrella", "a-first", "zeta"];
    for (i, org) in orgs.iter().enumerate() {
        set_budget(admin, org, pb::Resource::ApiRequests, 100).await;
        set_budget(admin, org, pb::Resource::BulkBatches, 10).await;
        acquire(admin, org, 10 + i as u64).await;
        suspend(admin, org, tx::SuspensionReason::SalesforceOrgLocked).await;
    }
    suspend(admin, "globex", tx::SuspensionReason::SalesforceAuthFailed).await;

    // Every org for a token of every org.
    let (budgets, suspensions, usage) = views(admin, 2).await;
    assert_eq!(budgets.len(), orgs.len());
    assert_eq!(suspensions.len(), orgs.len() + 1);
    assert_eq!(usage.len(), orgs.len());

    // An operator of acme and globex: those two, whatever the page size.
    for page_size in [1, 2, 100] {
        let operator = &mut fleet.client(OPERATOR).await;
        let (budgets, suspensions, usage) = views(operator, page_size).await;
        assert_eq!(
            budgets,
            BTreeSet::from(["acme".to_owned(), "globex".to_owned()])
        );
        let seen: BTreeSet<&str> = suspensions.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(seen, BTreeSet::from(["acme", "globex"]));
        assert_eq!(suspensions.len(), 3, "{suspensions:?}");
        // globex used more of its allocation than acme.
        assert_eq!(usage, ["globex", "acme"]);
    }

    // A worker of acme: acme only.
    let worker = &mut fleet.client(WORKER).await;
    let (budgets, suspensions, usage) = views(worker, 10).await;
    assert_eq!(budgets, BTreeSet::from(["acme".to_owned()]));
    assert_eq!(
        suspensions,
        [(
            "acme".to_owned(),
            tx::SuspensionReason::SalesforceOrgLocked as i32
        )]
    );
    assert_eq!(usage, ["acme"]);
    // Naming another org is refused, as every call naming it is.
    let status = worker
        .list_suspensions(pb::ListSuspensionsRequest {
            org_id: "globex".into(),
            ..Default::default()
        })
        .await
        .expect_err("another org's suspensions");
    assert_eq!(status.code(), Code::PermissionDenied);

    // An admin's token for one org does not widen to the fleet.
    let org_admin = &mut fleet.client(ORG_ADMIN).await;
    let (budgets, suspensions, usage) = views(org_admin, 10).await;
    assert_eq!(budgets, BTreeSet::from(["initech".to_owned()]));
    assert_eq!(suspensions.len(), 1);
    assert_eq!(usage, ["initech"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_and_suspensions_stored_before_the_indexes_are_listed() {
    let store = Backend::Redis.start();
    let redis = store.redis().expect("a redis").client();
    let mut conn = redis.get_multiplexed_async_connection().await.unwrap();
    // As a governor without the fleet indexes left them.
    let _: () = ::redis::cmd("HSET")
        .arg("syncgov:quota:{old-org}:api:budget")
        .arg(&[
            "l", "10000", "a", "100", "sr", "75", "sn", "95", "sc", "100",
        ])
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = ::redis::cmd("HSET")
        .arg("syncgov:quota:{susp}:active")
        .arg("old-org\u{1f}6")
        .arg(r#"{"d":"locked","s":1,"b":1000,"p":0,"u":0}"#)
        .query_async(&mut conn)
        .await
        .unwrap();
    let fleet = Fleet::on(store).await;
    let c = fleet.client(ADMIN).await;
    let listed = eventually(PATIENCE, || {
        let mut c = c.clone();
        async move {
            let (budgets, _) = all_budgets(&mut c, pb::Resource::Unspecified, 10).await;
            let suspensions = all_suspensions(&mut c, tx::SuspensionReason::Unspecified, 10).await;
            budgets == [("old-org".to_owned(), pb::Resource::ApiRequests as i32, 100)]
                && suspensions
                    == [(
                        "old-org".to_owned(),
                        tx::SuspensionReason::SalesforceOrgLocked as i32,
                    )]
        }
    })
    .await;
    assert!(listed, "what was stored before the indexes is listed");
}
