//! `syncctl`'s fleet views as an operator runs them: the built binary
//! against both services on real gRPC: `budgets list`, `suspensions list
//! --all`, `usage --top N` and `errors top`, as tables that fit 100 columns
//! (org ids of the longest kind included), as `--output json`, a page at a
//! time with the token a page prints, and the exit code of bad input.

use std::time::Duration;

use serde_json::Value;
use syncgov_api::quota::v1 as qpb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as epb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::syncerrors::failure;
use syncgov_tests::{Service, binary};

/// Longest a single `syncctl` run may take before the test calls it hung:
/// a guard against a stuck test, not a measurement.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The widest a table line may be.
const COLUMNS: usize = 100;

/// What one run of `syncctl` did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "syncctl failed: {self:#?}");
        &self.stdout
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// Stdout, checked to fit [`COLUMNS`].
    fn table(&self) -> &str {
        let out = self.ok();
        for line in out.lines().filter(|l| !l.starts_with("next page:")) {
            assert!(
                line.chars().count() <= COLUMNS,
                "a line wider than {COLUMNS} columns ({}):\n{line}",
                line.chars().count()
            );
        }
        out
    }
}

/// Both services on the embedded store, and `syncctl` pointed at them.
struct Fleet {
    governor: Service,
    errors: Service,
}

impl Fleet {
    async fn start() -> Self {
        Self {
            governor: Service::governor(quota_governor::config::Settings::default()).await,
            errors: Service::sync_errors(sync_errors::config::Settings::default()).await,
        }
    }

    async fn run(&self, args: &[&str]) -> Run {
        let governor = format!("http://{}", self.governor.addr());
        let errors = format!("http://{}", self.errors.addr());
        let output = tokio::process::Command::new(binary("syncctl"))
            .args(["--governor", &governor, "--sync-errors", &errors])
            .args(args)
            .env_remove("SYNCCTL_GOVERNOR")
            .env_remove("SYNCCTL_SYNC_ERRORS")
            // Tables are fitted to COLUMNS when set; these check 100.
            .env_remove("COLUMNS")
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(HANG_GUARD, output)
            .await
            .expect("syncctl finishes")
            .expect("syncctl runs");
        Run {
            code: output.status.code().expect("an exit code, not a signal"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Every page of a listing, following the token each page prints.
    async fn pages(&self, args: &[&str]) -> Vec<String> {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut all: Vec<&str> = args.to_vec();
            if let Some(token) = &token {
                all.extend(["--page-token", token.as_str()]);
            }
            let page = self.run(&all).await.table().to_owned();
            token = page
                .lines()
                .find_map(|l| l.strip_prefix("next page: --page-token "))
                .map(str::to_owned);
            pages.push(page);
            if token.is_none() {
                return pages;
            }
        }
    }
}

/// An org id of the longest kind: 64 characters.
fn long_org() -> String {
    format!("org-{}", "x".repeat(60))
}

/// The org ids of a table's rows, in order (the first column).
fn first_column(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty() && !l.starts_with("next page:"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_views_print_tables_within_100_columns_and_json() {
    let fleet = Fleet::start().await;
    let mut g = QuotaGovernorClient::new(fleet.governor.channel().await);
    let orgs = ["acme", "globex", "initech", &long_org()].map(str::to_owned);
    for (i, org) in orgs.iter().enumerate() {
        g.set_budget(qpb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: org.clone(),
            resource: qpb::Resource::ApiRequests.into(),
            budget: Some(qpb::Budget {
                org_limit: 1_000_000_000,
                allocation: 100,
                // The widest cells a budget row can have, on one org.
                allocation_override: (i == 0).then(|| qpb::AllocationOverride {
                    allocation: 999_999_999,
                    expires_at: Some(prost_types::Timestamp::from(
                        std::time::SystemTime::now() + Duration::from_secs(300 * 86_400),
                    )),
                }),
                ..Default::default()
            }),
        })
        .await
        .unwrap();
        g.acquire_tokens(qpb::AcquireTokensRequest {
            org_id: org.clone(),
            resource: qpb::Resource::ApiRequests.into(),
            count: 1 + i as u64,
            priority: qpb::Priority::Critical.into(),
            ..Default::default()
        })
        .await
        .unwrap();
        g.suspend(qpb::SuspendRequest {
            org_id: org.clone(),
            reason: tx::SuspensionReason::SalesforceConcurrentLimitExceeded.into(),
            detail: "a note".into(),
        })
        .await
        .unwrap();
    }

    // budgets list: every org, a page at a time.
    let pages = fleet.pages(&["budgets", "list", "--page-size", "3"]).await;
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages[0].starts_with("ORG"), "{}", pages[0]);
    let listed: Vec<String> = pages.iter().flat_map(|p| first_column(p)).collect();
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert_eq!(&listed[..3], ["acme", "globex", "initech"]);
    assert!(listed[3].starts_with("org-xxx") && listed[3].ends_with('…'));
    let json = fleet
        .run(&["budgets", "list", "--resource", "api", "--output", "json"])
        .await
        .json();
    let budgets = json["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 4);
    assert_eq!(budgets[3]["org_id"], long_org().as_str());
    assert_eq!(budgets[0]["resource"], "api");
    assert_eq!(budgets[0]["budget"]["allocation"], 100);
    assert_eq!(json["next_page_token"], "");

    // suspensions list --all.
    let table = fleet.run(&["suspensions", "list", "--all"]).await;
    let table = table.table();
    assert_eq!(first_column(table).len(), 4, "{table}");
    assert!(
        table.contains("SALESFORCE_CONCURRENT_LIMIT_EXCEEDED"),
        "{table}"
    );
    let json = fleet
        .run(&[
            "suspensions",
            "list",
            "--all",
            "--reason",
            "salesforce-auth-failed",
            "--output",
            "json",
        ])
        .await
        .json();
    assert_eq!(json["suspensions"].as_array().unwrap().len(), 0);

    // usage --top N: the org that used most first.
    let run = fleet.run(&["usage", "--top", "2"]).await;
    let top = run.table();
    assert_eq!(
        first_column(&top[top.find('\n').unwrap() + 1..]).len(),
        2,
        "{top}"
    );
    assert!(top.contains("next page: --page-token"), "{top}");
    let json = fleet
        .run(&["usage", "--top", "20", "--output", "json"])
        .await
        .json();
    let ranked: Vec<&str> = json["orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["org_id"].as_str().unwrap())
        .collect();
    assert_eq!(ranked[0], long_org());
    assert_eq!(&ranked[1..], ["initech", "globex", "acme"]);
    assert_eq!(json["orgs"][0]["used"], 4);
    assert!(json["orgs"][0]["share_used"].as_f64().unwrap() > 0.0);

    // errors top.
    let mut e = SyncErrorsClient::new(fleet.errors.channel().await);
    for (i, org) in orgs.iter().enumerate() {
        e.ingest_errors(epb::IngestErrorsRequest {
            org_id: org.clone(),
            failures: (0..=i)
                .map(|n| failure(&format!("k{n}"), "Contact", &format!("c{n}"), "email"))
                .collect(),
        })
        .await
        .unwrap();
    }
    let run = fleet.run(&["errors", "top"]).await;
    let top = run.table();
    let rows = first_column(&top[top.find('\n').unwrap() + 1..]);
    assert_eq!(rows.len(), 4, "{top}");
    assert_eq!(&rows[1..], ["initech", "globex", "acme"]);
    let json = fleet
        .run(&["errors", "top", "--by", "unknown", "--output", "json"])
        .await
        .json();
    assert_eq!(json["orgs"].as_array().unwrap().len(), 0);
    assert_eq!(json["by"], "unknown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_views_refuse_bad_input_with_the_exit_codes_of_every_command() {
    let fleet = Fleet::start().await;
    // Neither one org nor the top: a usage error.
    let run = fleet.run(&["usage"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = fleet.run(&["suspensions", "list"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    let run = fleet.run(&["usage", "--top", "0"]).await;
    assert_eq!(run.code, 2, "{run:?}");
    // The service refuses: rejected input.
    let run = fleet.run(&["budgets", "list", "--page-size", "5000"]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("page_size"), "{run:?}");
    let run = fleet
        .run(&["errors", "top", "--page-token", "not-a-token"])
        .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("page_token"), "{run:?}");
}
