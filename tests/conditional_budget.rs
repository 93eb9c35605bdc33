//! Conditional SetBudget over real gRPC, on every store (memory, a
//! `redis-server`, a Redis Cluster): a write names the revision it read,
//! and lands only if the budget is still that one. Two editors who read
//! the same budget cannot overwrite each other unseen: the first wins, the
//! second is refused naming the budget as it now is, nothing is lost, and
//! only the write that happened is in the audit trail.

use quota_governor::config::{DefaultBudget, Settings};
use quota_governor::domain::Budget;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_tests::governor::{Env, budget, set_budget};
use syncgov_tests::{Backend, on_every_store};
use tonic::Code;
use tonic::transport::Channel;

on_every_store!(
    of_two_writers_who_read_one_revision_the_first_wins,
    of_many_concurrent_writers_of_one_revision_exactly_one_wins,
    no_revision_writes_unconditionally,
    a_malformed_or_unknown_revision_is_refused_and_writes_nothing,
    the_default_budgets_revision_expects_no_budget_of_the_orgs_own,
);

/// `org`'s API request budget and its revision.
async fn read(c: &mut QuotaGovernorClient<Channel>, org: &str) -> (pb::Budget, String) {
    let reply = c
        .get_budget(pb::GetBudgetRequest {
            org_id: org.into(),
            resource: pb::Resource::ApiRequests.into(),
        })
        .await
        .expect("GetBudget")
        .into_inner();
    (reply.budget.expect("a budget"), reply.revision)
}

/// Writes `budget` to `org` if its revision is still `expected`.
async fn write_if(
    c: &mut QuotaGovernorClient<Channel>,
    org: &str,
    budget: pb::Budget,
    expected: &str,
) -> Result<pb::SetBudgetResponse, tonic::Status> {
    c.set_budget(pb::SetBudgetRequest {
        org_id: org.into(),
        resource: pb::Resource::ApiRequests.into(),
        budget: Some(budget),
        expected_revision: expected.into(),
    })
    .await
    .map(tonic::Response::into_inner)
}

/// The audit trail's SetBudget events of `org`: the allocation each wrote.
async fn audited_allocations(c: &mut QuotaGovernorClient<Channel>, org: &str) -> Vec<u64> {
    c.list_audit_events(pb::ListAuditEventsRequest {
        org_id: org.into(),
        action: "SetBudget".into(),
        ..Default::default()
    })
    .await
    .expect("ListAuditEvents")
    .into_inner()
    .events
    .iter()
    .map(|e| {
        let after: serde_json::Value = serde_json::from_str(&e.after).expect("JSON after");
        after["allocation"].as_u64().expect("an allocation")
    })
    .collect()
}

fn with_allocation(allocation: u64) -> pb::Budget {
    budget(100_000, allocation)
}

async fn of_two_writers_who_read_one_revision_the_first_wins(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", with_allocation(10_000)).await;
    let (_, seen_by_both) = read(c, "acme").await;
    assert_eq!(seen_by_both.len(), 16, "{seen_by_both}");

    let first = write_if(c, "acme", with_allocation(20_000), &seen_by_both)
        .await
        .expect("the first writer wins");
    assert_ne!(first.revision, seen_by_both);
    let (now, revision) = read(c, "acme").await;
    assert_eq!(now.allocation, 20_000);
    assert_eq!(revision, first.revision, "the reply names what is stored");

    let err = write_if(c, "acme", with_allocation(30_000), &seen_by_both)
        .await
        .expect_err("the second writer read a budget that is gone");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    let said = err.message();
    assert!(said.starts_with("expected_revision: "), "{said}");
    assert!(
        said.contains("allocation 20000 of org limit 100000"),
        "{said}"
    );
    assert!(said.contains(&first.revision), "{said}");
    assert_eq!(read(c, "acme").await.0.allocation, 20_000, "nothing lost");
    assert_eq!(
        audited_allocations(c, "acme").await,
        [20_000, 10_000],
        "the refused write is not in the trail"
    );

    // Read again, decide again: now it lands.
    let (_, fresh) = read(c, "acme").await;
    write_if(c, "acme", with_allocation(30_000), &fresh)
        .await
        .expect("a write on the fresh revision");
    assert_eq!(read(c, "acme").await.0.allocation, 30_000);
    env.governor.shutdown().await;
}

async fn of_many_concurrent_writers_of_one_revision_exactly_one_wins(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", with_allocation(1_000)).await;
    let (_, seen) = read(c, "acme").await;
    let writers: Vec<_> = (1..=8u64)
        .map(|i| {
            let mut c = c.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                write_if(&mut c, "acme", with_allocation(1_000 + i), &seen)
                    .await
                    .map(|_| 1_000 + i)
                    .map_err(|e| e.code())
            })
        })
        .collect();
    let mut won = Vec::new();
    for writer in writers {
        match writer.await.expect("the writer ran") {
            Ok(allocation) => won.push(allocation),
            Err(code) => assert_eq!(code, Code::FailedPrecondition),
        }
    }
    assert_eq!(won.len(), 1, "exactly one write lands: {won:?}");
    assert_eq!(read(c, "acme").await.0.allocation, won[0]);
    assert_eq!(audited_allocations(c, "acme").await, [won[0], 1_000]);
    env.governor.shutdown().await;
}

async fn no_revision_writes_unconditionally(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", with_allocation(10_000)).await;
    let (_, old) = read(c, "acme").await;
    set_budget(c, "acme", with_allocation(20_000)).await;
    // The budgets file and `syncctl budget apply` write this way.
    let reply = write_if(c, "acme", with_allocation(30_000), "")
        .await
        .expect("no revision: no condition");
    let (now, revision) = read(c, "acme").await;
    assert_eq!(now.allocation, 30_000);
    assert_eq!(reply.revision, revision);
    assert_ne!(revision, old);
    env.governor.shutdown().await;
}

async fn a_malformed_or_unknown_revision_is_refused_and_writes_nothing(backend: Backend) {
    let mut env = Env::start(backend, Settings::default()).await;
    let c = &mut env.client;
    set_budget(c, "acme", with_allocation(10_000)).await;
    for bad in [
        "abc",
        "0123456789abcdeg",
        "0123456789abcdef0",
        " 123456789abcdef",
    ] {
        let err = write_if(c, "acme", with_allocation(1), bad)
            .await
            .expect_err("malformed");
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}: {err:?}");
        assert!(
            err.message()
                .starts_with("expected_revision: must be 16 hexadecimal digits"),
            "{err:?}"
        );
    }
    let (_, revision) = read(c, "acme").await;
    let unknown = if revision == "0000000000000000" {
        "0000000000000001"
    } else {
        "0000000000000000"
    };
    let err = write_if(c, "acme", with_allocation(1), unknown)
        .await
        .expect_err("a revision never read");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    // The revision of a deleted budget is refused too: it is not there.
    c.delete_budget(pb::DeleteBudgetRequest {
        org_id: "acme".into(),
        resource: pb::Resource::ApiRequests.into(),
    })
    .await
    .expect("DeleteBudget");
    let err = write_if(c, "acme", with_allocation(1), &revision)
        .await
        .expect_err("the budget read was deleted");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("deleted (no budget)"), "{err:?}");
    let gone = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "acme".into(),
            resource: pb::Resource::ApiRequests.into(),
        })
        .await
        .expect_err("nothing was written");
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(audited_allocations(c, "acme").await, [10_000]);
    env.governor.shutdown().await;
}

async fn the_default_budgets_revision_expects_no_budget_of_the_orgs_own(backend: Backend) {
    let settings = Settings {
        default_budget: Some(DefaultBudget(Budget::new(50_000, 5_000))),
        ..Settings::default()
    };
    let mut env = Env::start(backend, settings).await;
    let c = &mut env.client;
    let reply = c
        .get_budget(pb::GetBudgetRequest {
            org_id: "newcomer".into(),
            resource: pb::Resource::ApiRequests.into(),
        })
        .await
        .expect("GetBudget")
        .into_inner();
    assert!(reply.is_default);
    let default_revision = reply.revision;
    write_if(c, "newcomer", with_allocation(7_000), &default_revision)
        .await
        .expect("the org still has no budget of its own");
    let (own, own_revision) = read(c, "newcomer").await;
    assert_eq!(own.allocation, 7_000);
    assert_ne!(own_revision, default_revision);
    let err = write_if(c, "newcomer", with_allocation(9_000), &default_revision)
        .await
        .expect_err("a budget of its own was set meanwhile");
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert_eq!(read(c, "newcomer").await.0.allocation, 7_000);
    env.governor.shutdown().await;
}
