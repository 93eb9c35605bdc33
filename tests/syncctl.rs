//! `syncctl`, the operator's command line, as an operator runs it: the
//! built binary against services on real gRPC, every subcommand's happy
//! path with its printed tables and its `--output json`, and the failures
//! scripts branch on (exit 3 unreachable, 4 rejected input, 5 not found).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use syncgov_api::quota::v1 as qpb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as epb;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::{RedisServer, Service, TempDir, binary};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// Longest a single `syncctl` run may take before the test calls it hung:
/// a guard against a stuck test, not a measurement.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// What one run of `syncctl` did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "syncctl failed: {self:#?}");
        &self.stdout
    }

    /// Asserts success and parses stdout as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(self.ok())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs `syncctl` with exactly `args` and `envs` (the caller's own SYNCCTL_*
/// variables removed), feeding `stdin`.
async fn run_raw(args: &[&str], envs: &[(&str, &str)], stdin: &str) -> Run {
    let mut command = tokio::process::Command::new(binary("syncctl"));
    command
        .args(args)
        .env_remove("SYNCCTL_GOVERNOR")
        .env_remove("SYNCCTL_SYNC_ERRORS")
        .env_remove("SYNCCTL_WEBHOOK_SECRET")
        .env_remove("SYNCCTL_ORG")
        .env_remove("SYNCCTL_OUTPUT")
        // Tables are fitted to COLUMNS when set: only the tests that set
        // it see wrapped lines.
        .env_remove("COLUMNS")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start syncctl");
    let mut input = child.stdin.take().expect("piped stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    let output = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("syncctl finishes")
        .expect("syncctl runs");
    Run {
        code: output.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// Where the services under test are, as syncctl's flags.
struct Ctl {
    governor: String,
    sync_errors: String,
}

impl Ctl {
    fn at(governor: SocketAddr, sync_errors: SocketAddr) -> Self {
        Self {
            governor: format!("http://{governor}"),
            sync_errors: format!("http://{sync_errors}"),
        }
    }

    fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec![
            "--governor",
            self.governor.as_str(),
            "--sync-errors",
            self.sync_errors.as_str(),
        ];
        all.extend_from_slice(args);
        all
    }

    async fn run(&self, args: &[&str]) -> Run {
        run_raw(&self.args(args), &[], "").await
    }

    async fn run_with(&self, args: &[&str], envs: &[(&str, &str)], stdin: &str) -> Run {
        run_raw(&self.args(args), envs, stdin).await
    }
}

/// A governor (on Redis when given one) and a sync-error service, in this
/// process, with clients for arranging what syncctl then reads.
struct Env {
    governor: Service,
    errors: Service,
    quota: QuotaGovernorClient<Channel>,
    sync: SyncErrorsClient<Channel>,
    ctl: Ctl,
    _redis: Option<RedisServer>,
}

impl Env {
    async fn start() -> Self {
        Self::start_on(None).await
    }

    async fn start_on(redis: Option<RedisServer>) -> Self {
        let governor_settings = quota_governor::config::Settings {
            server: ServerSettings {
                redis_url: redis
                    .as_ref()
                    .map(|r| r.url().parse().expect("a redis url")),
                ..ServerSettings::default()
            },
            ..Default::default()
        };
        let errors_settings = sync_errors::config::Settings {
            // The notifications test's webhook, a loopback port nobody
            // answers on.
            webhook_allow: vec!["127.0.0.1:9".parse().expect("an allowed webhook")],
            server: ServerSettings {
                redis_url: redis
                    .as_ref()
                    .map(|r| r.url().parse().expect("a redis url")),
                ..ServerSettings::default()
            },
            ..Default::default()
        };
        let governor = Service::governor(governor_settings).await;
        let errors = Service::sync_errors(errors_settings).await;
        let quota = QuotaGovernorClient::new(governor.channel().await);
        let sync = SyncErrorsClient::new(errors.channel().await);
        let ctl = Ctl::at(governor.addr(), errors.addr());
        Self {
            governor,
            errors,
            quota,
            sync,
            ctl,
            _redis: redis,
        }
    }

    async fn acquire(&mut self, org: &str, count: u64) {
        let reply = self
            .quota
            .acquire_tokens(qpb::AcquireTokensRequest {
                org_id: org.into(),
                resource: qpb::Resource::ApiRequests as i32,
                count,
                priority: qpb::Priority::Normal as i32,
                ..Default::default()
            })
            .await
            .expect("AcquireTokens")
            .into_inner();
        assert!(reply.granted, "{reply:?}");
    }

    /// Takes `count` tokens as `client_id`, for `operation` on `object`.
    async fn acquire_as(&mut self, org: &str, count: u64, who: (&str, &str, &str)) {
        let reply = self
            .quota
            .acquire_tokens(qpb::AcquireTokensRequest {
                org_id: org.into(),
                resource: qpb::Resource::ApiRequests as i32,
                count,
                client_id: who.0.into(),
                object: who.1.into(),
                operation: who.2.into(),
                ..Default::default()
            })
            .await
            .expect("AcquireTokens")
            .into_inner();
        assert!(reply.granted, "{reply:?}");
    }

    async fn suspend(&mut self, org: &str, reason: tx::SuspensionReason, detail: &str) {
        self.quota
            .suspend(qpb::SuspendRequest {
                org_id: org.into(),
                reason: reason as i32,
                detail: detail.into(),
            })
            .await
            .expect("Suspend");
    }

    async fn ingest(&mut self, org: &str, failures: Vec<epb::Failure>) -> Vec<epb::IngestResult> {
        let mut results = Vec::new();
        for batch in failures.chunks(1_000) {
            results.extend(
                self.sync
                    .ingest_errors(epb::IngestErrorsRequest {
                        org_id: org.into(),
                        failures: batch.to_vec(),
                    })
                    .await
                    .expect("IngestErrors")
                    .into_inner()
                    .results,
            );
        }
        results
    }
}

/// A failure with a text Salesforce really returns.
fn failure(key: &str, object: &str, record: &str, kind: &str) -> epb::Failure {
    let (status_code, message, fields): (&str, &str, &[&str]) = match kind {
        "too_long" => (
            "STRING_TOO_LONG",
            "Description: data value too large: <<customer data>>  (max length=255): [Description]",
            &["Description"],
        ),
        "email" => ("INVALID_EMAIL_ADDRESS", "invalid email address: XX", &[]),
        "daily_limit" => (
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
            &[],
        ),
        other => panic!("no failure text {other}"),
    };
    epb::Failure {
        idempotency_key: key.into(),
        object_type: object.into(),
        crm_record_id: record.into(),
        direction: epb::Direction::ToSalesforce as i32,
        status_code: status_code.into(),
        message: message.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    }
}

/// `n` too-long failures on distinct Contact records.
fn too_long(n: usize) -> Vec<epb::Failure> {
    (0..n)
        .map(|i| failure(&format!("k{i}"), "Contact", &format!("c{i}"), "too_long"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budgets_are_set_shown_and_deleted_on_redis() {
    let env = Env::start_on(Some(RedisServer::start())).await;
    let ctl = &env.ctl;
    let set = ctl
        .run(&[
            "budget",
            "set",
            "--org",
            "acme",
            "--org-limit",
            "100000",
            "--allocation",
            "50000",
            "--shares",
            "60/90/100",
            "--override-allocation",
            "80000",
            "--override-until",
            "6h",
        ])
        .await;
    let text = set.ok();
    assert!(text.contains("org limit   100,000"), "{text}");
    assert!(text.contains("allocation  50,000"), "{text}");
    assert!(
        text.contains("retry 60 %, normal 90 %, critical 100 %"),
        "{text}"
    );
    assert!(text.contains("override    80,000 until "), "{text}");

    let got = ctl
        .run(&["budget", "get", "--org", "acme", "--output", "json"])
        .await
        .json();
    assert_eq!(got["org_id"], "acme");
    assert_eq!(got["resource"], "api");
    assert_eq!(got["is_default"], false);
    assert_eq!(got["budget"]["org_limit"], 100_000);
    assert_eq!(got["budget"]["allocation"], 50_000);
    assert_eq!(got["budget"]["shares"]["retry_percent"], 60);
    assert_eq!(got["budget"]["allocation_override"]["allocation"], 80_000);
    assert!(
        got["budget"]["allocation_override"]["expires_at"].is_string(),
        "{got}"
    );
    // The other resource has a budget of its own: none.
    let bulk = ctl
        .run(&["budget", "get", "--org", "acme", "--resource", "bulk"])
        .await;
    assert_eq!(bulk.code, 5, "{bulk:#?}");

    let deleted = ctl.run(&["budget", "delete", "--org", "acme"]).await;
    assert!(deleted.ok().contains("deleted the api budget of acme"));
    let again = ctl
        .run(&["budget", "delete", "--org", "acme", "--output", "json"])
        .await
        .json();
    assert_eq!(again["deleted"], false);
    let missing = ctl.run(&["budget", "get", "--org", "acme"]).await;
    assert_eq!(missing.code, 5, "{missing:#?}");
    assert!(missing.stderr.contains("org_id"), "{missing:#?}");
    assert!(missing.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_is_put_in_shadow_mode_and_back() {
    let env = Env::start_on(Some(RedisServer::start())).await;
    let ctl = &env.ctl;
    let set = |shadow: Option<&'static str>| {
        let mut args = vec![
            "budget",
            "set",
            "--org",
            "acme",
            "--org-limit",
            "1000",
            "--allocation",
            "100",
        ];
        if let Some(value) = shadow {
            args.extend(["--shadow", value]);
        }
        args
    };
    let on = ctl.run(&set(Some("true"))).await;
    let text = on.ok();
    assert!(text.contains("shadow      yes"), "{text}");
    let got = ctl
        .run(&["budget", "get", "--org", "acme", "--output", "json"])
        .await
        .json();
    assert_eq!(got["budget"]["shadow"], true, "{got}");
    let list = ctl.run(&["budgets", "list"]).await;
    let listed = list.ok();
    assert!(listed.contains("SHADOW"), "{listed}");
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("acme") && l.trim_end().ends_with("yes")),
        "{listed}"
    );
    // `budget set` replaces the whole budget: without the flag, enforced.
    let off = ctl.run(&set(None)).await;
    let text = off.ok();
    assert!(!text.contains("shadow"), "{text}");
    let got = ctl
        .run(&["budget", "get", "--org", "acme", "--output", "json"])
        .await
        .json();
    assert_eq!(got["budget"]["shadow"], false, "{got}");
    let list = ctl.run(&["budgets", "list"]).await;
    let listed = list.ok();
    assert!(
        !listed.contains("SHADOW"),
        "no column without one: {listed}"
    );
    let bad = ctl.run(&set(Some("maybe"))).await;
    assert_ne!(bad.code, 0, "{bad:#?}");
    assert!(bad.stderr.contains("--shadow"), "{bad:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_4_with_the_services_message_naming_the_field() {
    let env = Env::start().await;
    let ctl = &env.ctl;
    let over = ctl
        .run(&[
            "budget",
            "set",
            "--org",
            "acme",
            "--org-limit",
            "100",
            "--allocation",
            "500",
        ])
        .await;
    assert_eq!(over.code, 4, "{over:#?}");
    assert!(over.stderr.contains("budget.allocation"), "{over:#?}");
    assert!(over.stderr.contains("quota-governor rejected"), "{over:#?}");

    let shares = ctl
        .run(&[
            "budget",
            "set",
            "--org",
            "acme",
            "--org-limit",
            "100",
            "--allocation",
            "50",
            "--shares",
            "90/60/100",
        ])
        .await;
    assert_eq!(shares.code, 4, "{shares:#?}");
    assert!(shares.stderr.contains("budget.shares"), "{shares:#?}");

    let org = ctl
        .run(&["suspensions", "list", "--org", "not an org!"])
        .await;
    assert_eq!(org.code, 4, "{org:#?}");
    assert!(org.stderr.contains("org_id"), "{org:#?}");

    let page = ctl
        .run(&["errors", "list", "--org", "acme", "--page-size", "1000"])
        .await;
    assert_eq!(page.code, 4, "{page:#?}");
    assert!(page.stderr.contains("page_size"), "{page:#?}");

    // What clap refuses never reaches a service: exit 2.
    let typo = ctl
        .run(&["budget", "set", "--org", "acme", "--org-limit", "many"])
        .await;
    assert_eq!(typo.code, 2, "{typo:#?}");
    let reason = ctl
        .run(&["suspensions", "clear", "--org", "acme", "--reason", "tired"])
        .await;
    assert_eq!(reason.code, 2, "{reason:#?}");
    assert!(
        reason.stderr.contains("SALESFORCE_AUTH_FAILED"),
        "{reason:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_shows_the_numbers_and_the_last_day_as_a_chart() {
    let mut env = Env::start().await;
    env.ctl
        .run(&[
            "budget",
            "set",
            "--org",
            "acme",
            "--org-limit",
            "100000",
            "--allocation",
            "50000",
        ])
        .await
        .ok();
    env.acquire("acme", 120).await;
    env.acquire("acme", 30).await;

    let run = env.ctl.run(&["usage", "--org", "acme"]).await;
    let text = run.ok();
    assert!(text.starts_with("usage of acme (api)\n"), "{text}");
    assert!(
        text.contains("used        150 of 50,000 allocated (0.3 %); org limit 100,000"),
        "{text}"
    );
    assert!(text.contains("next free   150 calls at "), "{text}");
    assert!(text.contains("RETRY     37,500     37,350"), "{text}");
    assert!(text.contains("CRITICAL  50,000     49,850"), "{text}");
    assert!(text.contains("calls per 1 h slice, last 24 h"), "{text}");
    // Every call is in the newest slice: its column is full on every row
    // and the scale's top is 150.
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.contains('┤') || l.contains('│'))
        .collect();
    assert_eq!(rows.len(), 8, "{text}");
    assert!(rows[0].trim_start().starts_with("150 ┤"), "{text}");
    assert!(rows.iter().all(|r| r.ends_with('█')), "{text}");
    assert_eq!(
        rows.iter()
            .map(|r| r.chars().filter(|c| *c == '█').count())
            .sum::<usize>(),
        8,
        "one full column: {text}"
    );

    let json = env
        .ctl
        .run(&["usage", "--org", "acme", "--output", "json"])
        .await
        .json();
    assert_eq!(json["used"], 150);
    assert_eq!(json["allocation"], 50_000);
    assert_eq!(json["org_limit"], 100_000);
    assert_eq!(json["next_free_calls"], 150);
    assert_eq!(json["window"], 86_400);
    let series = json["series"].as_array().expect("a series");
    assert_eq!(series.len(), 24);
    assert_eq!(
        series
            .iter()
            .map(|p| p["calls"].as_u64().unwrap())
            .sum::<u64>(),
        150
    );
    let priorities: Vec<&str> = json["remaining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["priority"].as_str().unwrap())
        .collect();
    assert_eq!(priorities, ["RETRY", "NORMAL", "CRITICAL"]);
    // 150 calls in the last hour leave 49,850 for far more than a day.
    assert!(
        text.contains("calls/hour the allocation does not run out within the 24 h window"),
        "{text}"
    );
    assert!(json["exhausted_at"].is_null(), "{json}");
    assert_eq!(json["recent_calls"], 150);
    assert!(json["calls_per_hour"].as_f64().unwrap() >= 150.0, "{json}");

    // With 50 left at that rate, it runs out within the hour.
    env.ctl
        .run(&[
            "budget",
            "set",
            "--org",
            "initech",
            "--org-limit",
            "1000",
            "--allocation",
            "200",
        ])
        .await
        .ok();
    env.acquire("initech", 150).await;
    let soon = env.ctl.run(&["usage", "--org", "initech"]).await;
    let text = soon.ok();
    assert!(
        text.contains("calls/hour the allocation runs out at ") && text.contains(" UTC (in "),
        "{text}"
    );
    let json = env
        .ctl
        .run(&["usage", "--org", "initech", "--output", "json"])
        .await
        .json();
    assert!(json["exhausted_at"].is_string(), "{json}");

    let unknown = env.ctl.run(&["usage", "--org", "globex"]).await;
    assert_eq!(unknown.code, 5, "{unknown:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_service_exits_3_and_says_how_to_point_at_another() {
    let nowhere = syncgov_tests::nowhere(1);
    let ctl = Ctl::at(nowhere, nowhere);
    let governor = ctl.run(&["usage", "--org", "acme"]).await;
    assert_eq!(governor.code, 3, "{governor:#?}");
    for part in [
        "quota-governor",
        &nowhere.to_string(),
        "--governor",
        "SYNCCTL_GOVERNOR",
    ] {
        assert!(governor.stderr.contains(part), "{part}: {governor:#?}");
    }
    let errors = ctl.run(&["errors", "health", "--org", "acme"]).await;
    assert_eq!(errors.code, 3, "{errors:#?}");
    for part in [
        "sync-errors",
        &nowhere.to_string(),
        "--sync-errors",
        "SYNCCTL_SYNC_ERRORS",
    ] {
        assert!(errors.stderr.contains(part), "{part}: {errors:#?}");
    }

    // The environment points at a running service when no flag is given.
    let env = Env::start().await;
    let governor_url = format!("http://{}", env.governor.addr());
    let listed = run_raw(
        &["suspensions", "list", "--org", "acme"],
        &[("SYNCCTL_GOVERNOR", &governor_url)],
        "",
    )
    .await;
    assert!(listed.ok().contains("no active suspensions"), "{listed:#?}");
    // A bare host:port works too.
    let bare = env.errors.addr().to_string();
    let health = run_raw(
        &["--sync-errors", &bare, "errors", "health", "--org", "acme"],
        &[],
        "",
    )
    .await;
    assert!(health.ok().contains("0 current errors"), "{health:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_org_and_the_output_may_come_from_the_environment() {
    let mut env = Env::start().await;
    env.quota
        .set_budget(qpb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: "acme".into(),
            resource: qpb::Resource::ApiRequests as i32,
            budget: Some(qpb::Budget {
                org_limit: 1_000,
                allocation: 100,
                ..Default::default()
            }),
        })
        .await
        .expect("SetBudget");
    env.acquire("acme", 7).await;
    let yaml = env
        .ctl
        .run_with(
            &["usage"],
            &[("SYNCCTL_ORG", "acme"), ("SYNCCTL_OUTPUT", "yaml")],
            "",
        )
        .await;
    let usage: Value = serde_norway::from_str(yaml.ok()).expect("YAML");
    assert_eq!(usage["org_id"], "acme", "{yaml:#?}");
    assert_eq!(usage["used"], 7, "{yaml:#?}");
    // A flag wins over the environment; -o is --output.
    let json = env
        .ctl
        .run_with(
            &["budget", "get", "--org", "acme", "-o", "json"],
            &[("SYNCCTL_ORG", "globex"), ("SYNCCTL_OUTPUT", "yaml")],
            "",
        )
        .await;
    assert_eq!(json.json()["org_id"], "acme", "{json:#?}");
    // Without an org anywhere, usage says what it needs.
    let neither = env.ctl.run(&["usage"]).await;
    assert_eq!(neither.code, 2, "{neither:#?}");
    assert!(neither.stderr.contains("SYNCCTL_ORG"), "{neither:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_address_and_a_store_down_are_told_apart_from_an_unreachable_service() {
    let mut env = Env::start_on(Some(RedisServer::start())).await;
    // Each service's address given for the other.
    let swapped = Ctl::at(env.errors.addr(), env.governor.addr());
    let usage = swapped.run(&["usage", "--org", "acme"]).await;
    assert_eq!(usage.code, 3, "{usage:#?}");
    for part in [
        "does not serve quota-governor",
        "sync-errors?",
        "--governor",
    ] {
        assert!(usage.stderr.contains(part), "{part}: {usage:#?}");
    }
    let health = swapped.run(&["errors", "health", "--org", "acme"]).await;
    assert_eq!(health.code, 3, "{health:#?}");
    for part in [
        "does not serve sync-errors",
        "quota-governor?",
        "--sync-errors",
    ] {
        assert!(health.stderr.contains(part), "{part}: {health:#?}");
    }

    // The services are up; their Redis is not.
    env._redis.as_mut().expect("a redis").stop();
    let usage = env.ctl.run(&["usage", "--org", "acme"]).await;
    assert_eq!(usage.code, 3, "{usage:#?}");
    assert!(
        usage.stderr.contains("quota-governor at http://")
            && usage.stderr.contains("is up, but its Redis is unreachable"),
        "{usage:#?}"
    );
    let health = env.ctl.run(&["errors", "health", "--org", "acme"]).await;
    assert_eq!(health.code, 3, "{health:#?}");
    assert!(
        health.stderr.contains("sync-errors at http://")
            && health
                .stderr
                .contains("is up, but its Redis is unreachable"),
        "{health:#?}"
    );
}

/// Reads one line of a child's stdout, or fails the test if none comes.
async fn next_line(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) -> String {
    tokio::time::timeout(HANG_GUARD, lines.next_line())
        .await
        .expect("a line in time")
        .expect("readable stdout")
        .expect("a line before the end")
}

/// Interrupts a child as Ctrl-C would and returns its exit code.
async fn interrupt(mut child: tokio::process::Child) -> i32 {
    let pid = child.id().expect("still running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
    tokio::time::timeout(HANG_GUARD, child.wait())
        .await
        .expect("syncctl stops")
        .expect("an exit status")
        .code()
        .expect("an exit code, not death by signal")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspensions_are_listed_cleared_and_watched() {
    let mut env = Env::start().await;
    env.suspend(
        "acme",
        tx::SuspensionReason::SalesforceAuthFailed,
        "INVALID_SESSION_ID: Session expired or invalid",
    )
    .await;
    env.suspend("globex", tx::SuspensionReason::SalesforceOrgLocked, "")
        .await;

    let listed = env.ctl.run(&["suspensions", "list", "--org", "acme"]).await;
    let text = listed.ok();
    assert!(text.contains("SALESFORCE_AUTH_FAILED"), "{text}");
    assert!(text.contains("by an operator"), "{text}");
    assert!(
        text.contains("INVALID_SESSION_ID: Session expired"),
        "{text}"
    );
    assert!(
        !text.contains("SALESFORCE_ORG_LOCKED"),
        "only acme's: {text}"
    );
    let json = env
        .ctl
        .run(&["suspensions", "list", "--org", "acme", "--output", "json"])
        .await
        .json();
    let list = json["suspensions"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["reason"], "SALESFORCE_AUTH_FAILED");
    assert_eq!(list[0]["clearing"], "OPERATOR");
    assert!(!list[0]["guidance"].as_str().unwrap().is_empty());
    // The guidance shows in the table too.
    assert!(
        text.contains(list[0]["guidance"].as_str().unwrap()),
        "{text}"
    );

    let cleared = env
        .ctl
        .run(&[
            "suspensions",
            "clear",
            "--org",
            "acme",
            "--reason",
            "salesforce-auth-failed",
        ])
        .await;
    assert!(
        cleared
            .ok()
            .contains("cleared the SALESFORCE_AUTH_FAILED suspension of acme"),
        "{cleared:#?}"
    );
    let again = env
        .ctl
        .run(&[
            "suspensions",
            "clear",
            "--org",
            "acme",
            "--reason",
            "SALESFORCE_AUTH_FAILED",
            "--output",
            "json",
        ])
        .await
        .json();
    assert_eq!(again["cleared"], false);

    // Watching acme from the start of the feed: its suspension, then the
    // clear, one JSON object per line; globex's event is filtered out.
    let args = env.ctl.args(&[
        "suspensions",
        "watch",
        "--org",
        "acme",
        "--from-cursor",
        "0-0",
        "--output",
        "json",
    ]);
    let mut child = tokio::process::Command::new(binary("syncctl"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start syncctl");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let began: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
    let ended: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
    assert_eq!(
        (&began["org_id"], &began["kind"], &began["reason"]),
        (
            &Value::from("acme"),
            &Value::from("SUSPENDED"),
            &Value::from("SALESFORCE_AUTH_FAILED")
        )
    );
    assert_eq!(ended["kind"], "CLEARED");
    assert_eq!(ended["automatic"], false);
    // Events that happen while it watches arrive too.
    env.suspend(
        "acme",
        tx::SuspensionReason::MissingFieldMappings,
        "none mapped",
    )
    .await;
    let live: Value = serde_json::from_str(&next_line(&mut lines).await).unwrap();
    assert_eq!(live["reason"], "MISSING_FIELD_MAPPINGS");
    assert_eq!(interrupt(child).await, 0, "Ctrl-C ends a watch cleanly");

    // The table form: one line per event, resumable after the printed cursor.
    let args = env.ctl.args(&[
        "suspensions",
        "watch",
        "--from-cursor",
        began["cursor"].as_str().unwrap(),
    ]);
    let mut child = tokio::process::Command::new(binary("syncctl"))
        .args(&args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start syncctl");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = next_line(&mut lines).await;
    // Every org's events after acme's first: globex was suspended next.
    assert!(line.contains("SUSPENDED"), "{line}");
    assert!(line.contains("globex"), "{line}");
    assert!(line.contains("SALESFORCE_ORG_LOCKED"), "{line}");
    assert!(line.contains("cursor="), "{line}");
    let line = next_line(&mut lines).await;
    assert!(line.contains("CLEARED"), "{line}");
    assert!(line.contains("by an operator"), "{line}");
    assert_eq!(interrupt(child).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orgs_suspension_history_is_a_table_of_suspensions_and_pages() {
    let mut env = Env::start().await;
    env.suspend(
        "acme",
        tx::SuspensionReason::SalesforceAuthFailed,
        "INVALID_SESSION_ID: Session expired or invalid; the connected app's refresh token was revoked by an admin",
    )
    .await;
    env.quota
        .clear_suspension(qpb::ClearSuspensionRequest {
            org_id: "acme".into(),
            reason: tx::SuspensionReason::SalesforceAuthFailed as i32,
        })
        .await
        .expect("ClearSuspension");
    env.suspend("globex", tx::SuspensionReason::MissingFieldMappings, "")
        .await;
    env.suspend("acme", tx::SuspensionReason::SalesforceOrgLocked, "locked")
        .await;

    // One row per suspension, newest first; globex's is not acme's.
    let text = env
        .ctl
        .run(&["suspensions", "history", "--org", "acme"])
        .await
        .ok()
        .to_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("REASON") && lines[0].contains("HOW IT ENDED"),
        "{text}"
    );
    let locked = lines
        .iter()
        .position(|l| l.contains("SALESFORCE_ORG_LOCKED"));
    let auth = lines
        .iter()
        .position(|l| l.contains("SALESFORCE_AUTH_FAILED"));
    assert!(locked < auth && locked.is_some(), "newest first: {text}");
    assert!(lines[locked.unwrap()].contains("suspended now"), "{text}");
    assert!(lines[auth.unwrap()].contains("by an operator"), "{text}");
    assert!(text.contains("INVALID_SESSION_ID"), "{text}");
    assert!(!text.contains("MISSING_FIELD_MAPPINGS"), "{text}");
    assert!(!text.contains("next page"), "one page holds it all: {text}");
    // Fitted to the terminal like the other tables.
    let narrow = env
        .ctl
        .run_with(
            &["suspensions", "history", "--org", "acme"],
            &[("COLUMNS", "80")],
            "",
        )
        .await;
    assert_fits(narrow.ok(), 80);

    let json = env
        .ctl
        .run(&[
            "suspensions",
            "history",
            "--org",
            "acme",
            "--output",
            "json",
        ])
        .await
        .json();
    let rows = json["suspensions"].as_array().expect("suspensions");
    assert_eq!(rows.len(), 2, "{json:#}");
    assert_eq!(
        (&rows[0]["reason"], &rows[0]["how"], &rows[0]["ended"]),
        (
            &Value::from("SALESFORCE_ORG_LOCKED"),
            &Value::from("SUSPENDED_NOW"),
            &Value::Null
        )
    );
    assert_eq!(rows[1]["how"], "OPERATOR");
    let (began, ended) = (rows[1]["began"].as_str(), rows[1]["ended"].as_str());
    assert!(
        began.is_some() && ended.is_some() && began <= ended,
        "{json:#}"
    );
    assert_eq!(json["next_page_token"], "");
    let every: Vec<Value> = json["events"].as_array().expect("events").clone();
    assert_eq!(every.len(), 3);

    // A page of one event at a time: each event once, in the same order,
    // and the table names the token of the next page.
    let first = env
        .ctl
        .run(&[
            "suspensions",
            "history",
            "--org",
            "acme",
            "--page-size",
            "1",
        ])
        .await;
    assert!(
        first.ok().contains("next page: --page-token "),
        "{first:#?}"
    );
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let mut args = vec![
            "suspensions",
            "history",
            "--org",
            "acme",
            "--page-size",
            "1",
        ];
        if !token.is_empty() {
            args.extend(["--page-token", token.as_str()]);
        }
        args.extend(["--output", "json"]);
        let page = env.ctl.run(&args).await.json();
        paged.extend(page["events"].as_array().expect("events").iter().cloned());
        token = page["next_page_token"]
            .as_str()
            .expect("a token")
            .to_owned();
        if token.is_empty() {
            break;
        }
        assert!(paged.len() <= every.len(), "no page repeats");
    }
    assert_eq!(paged, every);

    // A token of another org, or a size out of bounds, is refused.
    let other = env
        .ctl
        .run(&[
            "suspensions",
            "history",
            "--org",
            "globex",
            "--page-token",
            "bm9uc2Vuc2U",
        ])
        .await;
    assert_eq!(other.code, 4, "{other:#?}");
    assert!(other.stderr.contains("page_token"), "{other:#?}");
    let big = env
        .ctl
        .run(&[
            "suspensions",
            "history",
            "--org",
            "acme",
            "--page-size",
            "101",
        ])
        .await;
    assert_ne!(big.code, 0, "{big:#?}");
    assert!(big.stderr.contains("page-size"), "{big:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_show_as_health_cards_lists_details_and_records() {
    let mut env = Env::start().await;
    let mut failures = too_long(3);
    failures.push(failure("e1", "Lead", "l1", "email"));
    failures.push(failure("e2", "Lead", "l2", "email"));
    failures.push(failure("d1", "Contact", "c9", "daily_limit"));
    env.ingest("acme", failures).await;
    let ctl = &env.ctl;

    let health = ctl.run(&["errors", "health", "--org", "acme"]).await;
    let text = health.ok();
    assert!(
        text.contains("sync health of acme: 5 current errors on 5 records"),
        "{text}"
    );
    assert!(
        text.contains("PROPERTY_VALUES: 5 errors, 5 records"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("STRING_TOO_LONG"))
        .expect("a STRING_TOO_LONG row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..4], ["STRING_TOO_LONG", "3", "3", "0"], "{row}");
    assert!(text.contains("recent suspension-level failures"), "{text}");
    assert!(text.contains("SALESFORCE_API_LIMIT_EXCEEDED"), "{text}");
    let json = ctl
        .run(&["errors", "health", "--org", "acme", "--output", "json"])
        .await
        .json();
    assert_eq!(json["current_errors"], 5);
    let types = &json["categories"][0]["types"];
    assert_eq!(types[0]["type"], "STRING_TOO_LONG");
    assert_eq!(types[0]["impacted_records"], 3);
    // The guidance printed is the service's.
    assert!(
        text.contains(types[0]["guidance"].as_str().unwrap()),
        "{text}"
    );

    // Paging: two, then the last one, with the token printed between.
    let first = ctl
        .run(&[
            "errors",
            "list",
            "--org",
            "acme",
            "--type",
            "string-too-long",
            "--page-size",
            "2",
        ])
        .await;
    let text = first.ok();
    assert_eq!(text.matches("STRING_TOO_LONG").count(), 2, "{text}");
    let token = text
        .lines()
        .find_map(|l| l.strip_prefix("next page: --page-token "))
        .expect("a next page token");
    let second = ctl
        .run(&[
            "errors",
            "list",
            "--org",
            "acme",
            "--type",
            "STRING_TOO_LONG",
            "--page-size",
            "2",
            "--page-token",
            token,
            "--output",
            "json",
        ])
        .await
        .json();
    assert_eq!(second["errors"].as_array().unwrap().len(), 1);
    assert_eq!(second["next_page_token"], "");
    let leads = ctl
        .run(&[
            "errors", "list", "--org", "acme", "--object", "Lead", "--output", "json",
        ])
        .await
        .json();
    let leads = leads["errors"].as_array().unwrap();
    assert_eq!(leads.len(), 2);
    assert!(leads.iter().all(|e| e["object_type"] == "Lead"
        && e["type"] == "INVALID_EMAIL"
        && e["category"] == "PROPERTY_VALUES"));

    let id = leads[0]["error_id"].as_str().unwrap();
    let shown = ctl.run(&["errors", "show", "--org", "acme", id]).await;
    let text = shown.ok();
    assert!(text.contains(&format!("error id         {id}")), "{text}");
    assert!(text.contains("invalid email address: XX"), "{text}");
    assert!(text.contains("PROPERTY_VALUES/INVALID_EMAIL"), "{text}");
    let shown = ctl
        .run(&["errors", "show", "--org", "acme", id, "--output", "json"])
        .await
        .json();
    assert_eq!(shown["error_id"], id);
    assert_eq!(shown["state"], "OPEN");
    let unknown = ctl
        .run(&[
            "errors",
            "show",
            "--org",
            "acme",
            "e000000000000000000000000",
        ])
        .await;
    assert_eq!(unknown.code, 5, "{unknown:#?}");

    let records = ctl
        .run(&[
            "errors",
            "records",
            "--org",
            "acme",
            "--type",
            "STRING_TOO_LONG",
        ])
        .await;
    let text = records.ok();
    for record in ["c0", "c1", "c2"] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(record)),
            "{record}: {text}"
        );
    }
    let json = ctl
        .run(&[
            "errors",
            "records",
            "--org",
            "acme",
            "--type",
            "INVALID_EMAIL",
            "--output",
            "json",
        ])
        .await
        .json();
    assert_eq!(json["records"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_queues_what_it_is_given_and_relays_the_refusal_of_more_than_100() {
    let mut env = Env::start().await;
    let mut failures = too_long(101);
    failures.push(failure("e1", "Lead", "l1", "email"));
    failures.push(failure("e2", "Lead", "l2", "email"));
    let results = env.ingest("acme", failures).await;
    let ids: Vec<&str> = results.iter().map(|r| r.error_id.as_str()).collect();
    let ctl = &env.ctl;

    let queued = ctl
        .run(&["errors", "resync", "--org", "acme", ids[0], ids[1]])
        .await;
    let text = queued.ok();
    assert!(text.contains("queued 2 of 2"), "{text}");
    assert!(
        text.contains(&format!("{}  queued as job", ids[0])),
        "{text}"
    );
    let again = ctl
        .run(&[
            "errors", "resync", "--org", "acme", ids[0], "--output", "json",
        ])
        .await
        .json();
    assert_eq!(again["results"][0]["skipped"], "already queued");
    assert_eq!(again["results"][0]["job_id"], "");

    // 101 ids: the service refuses, and its advice is printed.
    let mut args = vec!["errors", "resync", "--org", "acme"];
    args.extend(&ids[..101]);
    let refused = ctl.run(&args).await;
    assert_eq!(refused.code, 4, "{refused:#?}");
    assert!(refused.stderr.contains("error_ids"), "{refused:#?}");
    assert!(
        refused.stderr.contains("re-import the records"),
        "{refused:#?}"
    );
    assert!(refused.stdout.is_empty());

    // By filter: the 101 too-long errors are refused the same way…
    let refused = ctl
        .run(&[
            "errors",
            "resync",
            "--org",
            "acme",
            "--type",
            "STRING_TOO_LONG",
        ])
        .await;
    assert_eq!(refused.code, 4, "{refused:#?}");
    assert!(
        refused
            .stderr
            .contains("the filter selects more than 100 errors"),
        "{refused:#?}"
    );
    assert!(
        refused.stderr.contains("re-import the records"),
        "{refused:#?}"
    );
    // …and the two Lead errors are queued.
    let leads = ctl
        .run(&[
            "errors", "resync", "--org", "acme", "--object", "Lead", "--output", "json",
        ])
        .await
        .json();
    let results = leads["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(
        results
            .iter()
            .all(|r| !r["job_id"].as_str().unwrap().is_empty())
    );
    let listed = ctl
        .run(&[
            "errors",
            "list",
            "--org",
            "acme",
            "--state",
            "resyncing",
            "--output",
            "json",
        ])
        .await
        .json();
    assert_eq!(listed["errors"].as_array().unwrap().len(), 4);

    // Ids and a filter at once, or neither, is a usage error.
    let both = ctl
        .run(&[
            "errors", "resync", "--org", "acme", ids[0], "--object", "Lead",
        ])
        .await;
    assert_eq!(both.code, 2, "{both:#?}");
    let neither = ctl.run(&["errors", "resync", "--org", "acme"]).await;
    assert_eq!(neither.code, 2, "{neither:#?}");
}

/// The rows of a CSV file: header, then records.
fn read_csv(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_path(path).expect("a readable CSV file");
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .expect("well-formed rows");
    (header, records)
}

/// Names of the files in `dir`.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a readable directory")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_arrives_whole_under_its_name() {
    let mut env = Env::start().await;
    env.ingest("acme", too_long(1_200)).await;
    env.ingest("acme", vec![failure("e1", "Lead", "l1", "email")])
        .await;
    let dir = TempDir::new("syncctl-export");
    let out = dir.path().join("errors.csv");
    let out_arg = out.to_str().unwrap();

    let run = env
        .ctl
        .run(&["errors", "export", "--org", "acme", "--out", out_arg])
        .await;
    assert!(run.ok().contains("exported 1,201 rows"), "{run:#?}");
    assert_eq!(files_in(dir.path()), ["errors.csv"]);
    let (header, rows) = read_csv(&out);
    assert_eq!(header[0], "error_id");
    assert!(header.iter().any(|h| h == "crm_record_id"));
    assert_eq!(rows.len(), 1_201);
    let record_column = header.iter().position(|h| h == "crm_record_id").unwrap();
    let records: std::collections::HashSet<&str> = rows.iter().map(|r| &r[record_column]).collect();
    assert_eq!(records.len(), 1_201, "every error once");

    // Filtered, over the file just written, with the summary as JSON.
    let json = env
        .ctl
        .run(&[
            "errors", "export", "--org", "acme", "--object", "Lead", "--out", out_arg, "--output",
            "json",
        ])
        .await
        .json();
    assert_eq!(json["rows"], 1);
    assert_eq!(
        json["bytes"].as_u64().unwrap(),
        std::fs::metadata(&out).unwrap().len()
    );
    let (_, rows) = read_csv(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][record_column], "l1");
    assert_eq!(files_in(dir.path()), ["errors.csv"]);

    // To stdout, for a pipe: the same rows as the file, the summary on stderr.
    let piped = env
        .ctl
        .run(&["errors", "export", "--org", "acme", "--out", "-"])
        .await;
    let mut reader = csv::Reader::from_reader(piped.ok().as_bytes());
    let streamed: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    let streamed_header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(streamed_header, header);
    assert_eq!(streamed.len(), 1_201, "{}", piped.stderr);
    assert!(
        piped.stderr.contains("exported 1,201 rows") && piped.stderr.contains("to stdout"),
        "{piped:#?}"
    );
    assert_eq!(files_in(dir.path()), ["errors.csv"], "no file for -");
}

/// A loopback proxy to `upstream` that passes requests through whole but
/// cuts each connection once `limit` bytes of replies went back: a service
/// that goes away in the middle of a stream.
async fn cutting_proxy(
    upstream: SocketAddr,
    limit: usize,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let requests = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let mut passed = 0;
                let mut buffer = vec![0u8; 16 * 1024];
                while passed < limit {
                    let n = match server_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n.min(limit - passed),
                    };
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    passed += n;
                }
                requests.abort();
            });
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_whose_service_goes_away_leaves_no_file() {
    let mut env = Env::start().await;
    // About 280 bytes a row: 1 500 rows are far more than the cut lets by.
    env.ingest("acme", too_long(1_500)).await;
    let (proxy, proxy_task) = cutting_proxy(env.errors.addr(), 64 * 1024).await;
    let dir = TempDir::new("syncctl-export-cut");
    let out = dir.path().join("errors.csv");
    let ctl = Ctl::at(env.governor.addr(), proxy);
    let run = ctl
        .run(&[
            "errors",
            "export",
            "--org",
            "acme",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    assert_ne!(run.code, 0, "{run:#?}");
    assert!(run.stderr.contains("no file written"), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert_eq!(
        files_in(dir.path()),
        Vec::<String>::new(),
        "neither FILE nor FILE.partial"
    );
    proxy_task.abort();

    // A service that is not there at all: exit 3, no file either.
    let nowhere = Ctl::at(env.governor.addr(), syncgov_tests::nowhere(1));
    let run = nowhere
        .run(&[
            "errors",
            "export",
            "--org",
            "acme",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 3, "{run:#?}");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());

    // A refused request (a malformed org) leaves nothing behind either.
    let run = env
        .ctl
        .run(&[
            "errors",
            "export",
            "--org",
            "no such org!",
            "--out",
            out.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 4, "{run:#?}");
    assert!(run.stderr.contains("org_id"), "{run:#?}");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_read_and_replaced() {
    let env = Env::start().await;
    let ctl = &env.ctl;
    let fresh = ctl.run(&["notifications", "get", "--org", "acme"]).await;
    let text = fresh.ok();
    assert!(text.contains("enabled     no"), "{text}");
    assert!(text.contains("secret      not set"), "{text}");

    // Turning them on without a secret is refused, naming the field.
    let refused = ctl
        .run(&[
            "notifications",
            "set",
            "--org",
            "acme",
            "--enabled",
            "true",
            "--webhook-url",
            "http://127.0.0.1:9/hooks",
        ])
        .await;
    assert_eq!(refused.code, 4, "{refused:#?}");
    assert!(refused.stderr.contains("webhook_secret"), "{refused:#?}");

    // The secret from the environment, kept out of the command line.
    let set = ctl
        .run_with(
            &[
                "notifications",
                "set",
                "--org",
                "acme",
                "--enabled",
                "true",
                "--frequency",
                "daily",
                "--webhook-url",
                "http://127.0.0.1:9/hooks",
                "--output",
                "json",
            ],
            &[("SYNCCTL_WEBHOOK_SECRET", "a-secret-of-enough-length")],
            "",
        )
        .await
        .json();
    assert_eq!(set["enabled"], true);
    assert_eq!(set["frequency"], "DAILY");
    assert_eq!(set["webhook_url"], "http://127.0.0.1:9/hooks");
    assert_eq!(set["webhook_secret_set"], true);
    assert!(!set.to_string().contains("a-secret-of-enough-length"));

    let got = ctl.run(&["notifications", "get", "--org", "acme"]).await;
    let text = got.ok();
    assert!(text.contains("enabled     yes"), "{text}");
    assert!(text.contains("frequency   DAILY"), "{text}");
    assert!(text.contains("secret      set"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_set_changes_only_the_flags_given() {
    let env = Env::start().await;
    let ctl = &env.ctl;
    let set = |flags: &'static [&'static str]| async move {
        let mut args = vec!["notifications", "set", "--org", "acme", "--output", "json"];
        args.extend_from_slice(flags);
        ctl.run_with(&args, &[], "").await
    };
    let full = ctl
        .run_with(
            &[
                "notifications",
                "set",
                "--org",
                "acme",
                "--enabled",
                "true",
                "--frequency",
                "daily",
                "--webhook-url",
                "http://127.0.0.1:9/hooks",
                "--output",
                "json",
            ],
            &[("SYNCCTL_WEBHOOK_SECRET", "a-secret-of-enough-length")],
            "",
        )
        .await
        .json();
    assert_eq!(
        full["webhook"]["suspensions"], true,
        "all kinds on unless said"
    );

    // One choice: only it changes.
    let one = set(&["--webhook-suspensions", "false"]).await.json();
    assert_eq!(one["webhook"]["suspensions"], false);
    assert_eq!(one["webhook"]["errors"], true);
    assert_eq!(one["email"]["suspensions"], true);
    assert_eq!(one["enabled"], true);
    assert_eq!(one["frequency"], "DAILY");
    assert_eq!(one["webhook_url"], "http://127.0.0.1:9/hooks");
    assert_eq!(one["webhook_secret_set"], true);
    assert_eq!(one["webhook_format"], "JSON");

    let slack = set(&["--webhook-format", "slack"]).await.json();
    assert_eq!(slack["webhook_format"], "SLACK");
    assert_eq!(slack["webhook"]["suspensions"], false, "kept");

    // A channel's own frequency, and back to the default.
    let weekly = set(&["--webhook-frequency", "weekly"]).await.json();
    assert_eq!(weekly["webhook_frequency"], "WEEKLY");
    assert_eq!(weekly["email_frequency"], "DEFAULT");
    assert_eq!(weekly["frequency"], "DAILY", "kept");
    let got = ctl.run(&["notifications", "get", "--org", "acme"]).await;
    let text = got.ok();
    assert!(text.contains("webhook at  WEEKLY"), "{text}");
    assert!(text.contains("e-mail at   default (DAILY)"), "{text}");
    let back = set(&["--webhook-frequency", "default"]).await.json();
    assert_eq!(back["webhook_frequency"], "DEFAULT");
    let wrong = set(&["--email-frequency", "hourly"]).await;
    assert_eq!(wrong.code, 2, "{wrong:#?}");
    assert!(wrong.stderr.contains("or default"), "{wrong:#?}");

    // Turning off without --webhook-url keeps the URL (and the secret).
    let off = set(&["--enabled", "false"]).await.json();
    assert_eq!(off["enabled"], false);
    assert_eq!(off["webhook_url"], "http://127.0.0.1:9/hooks");
    assert_eq!(off["webhook_secret_set"], true);
    assert_eq!(off["frequency"], "DAILY");
    assert_eq!(off["webhook_format"], "SLACK");

    // Nothing to change is a usage error, and sends nothing.
    let nothing = set(&[]).await;
    assert_eq!(nothing.code, 2, "{nothing:#?}");
    // Recipients on a service without SMTP: refused, naming the setting.
    let refused = set(&["--email-recipients", "ops@acme.example"]).await;
    assert_eq!(refused.code, 4, "{refused:#?}");
    assert!(refused.stderr.contains("--smtp-url"), "{refused:#?}");
    let got = ctl.run(&["notifications", "get", "--org", "acme"]).await;
    let text = got.ok();
    assert!(text.contains("webhook of  errors, usage alerts"), "{text}");
    assert!(text.contains("e-mail to   -"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classify_answers_as_the_local_filter_does() {
    let env = Env::start().await;
    let input = concat!(
        r#"{"id": 7, "status_code": "STRING_TOO_LONG", "message": "Last Name: data value too large", "fields": ["LastName"]}"#,
        "\n\n",
        r#"{"status_code": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}"#,
        "\n",
        r#"{"id": "x", "status_code": "INVALID_EMAIL_ADDRESS", "message": "invalid email address: XX"}"#,
        "\n",
        r#"{"id": "y"}"#,
        "\n"
    );
    let remote = env.ctl.run_with(&["classify"], &[], input).await;
    let lines: Vec<Value> = remote
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["id"], 7);
    assert_eq!(lines[0]["category"], "PROPERTY_VALUES");
    assert_eq!(lines[0]["type"], "STRING_TOO_LONG");
    assert_eq!(lines[1]["level"], "suspension");
    assert_eq!(lines[1]["reason"], "SALESFORCE_API_LIMIT_EXCEEDED");
    assert_eq!(lines[2]["type"], "INVALID_EMAIL");
    assert_eq!(lines[3]["type"], "UNKNOWN");

    // Byte for byte what `sync-errors classify` prints.
    let mut local = tokio::process::Command::new(binary("sync-errors"))
        .arg("classify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start sync-errors classify");
    let mut stdin = local.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let local = tokio::time::timeout(HANG_GUARD, local.wait_with_output())
        .await
        .expect("it finishes")
        .expect("it runs");
    assert!(local.status.success());
    assert_eq!(remote.stdout, String::from_utf8(local.stdout).unwrap());

    // A malformed line stops it with its number, after the lines before it.
    let bad = env
        .ctl
        .run_with(
            &["classify"],
            &[],
            "{\"message\": \"ok\"}\n\nnot json\n{}\n",
        )
        .await;
    assert_eq!(bad.code, 4, "{bad:#?}");
    assert!(bad.stderr.contains("line 3"), "{bad:#?}");
    assert_eq!(bad.stdout.lines().count(), 1, "{bad:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_help_need_no_service() {
    let nowhere = syncgov_tests::nowhere(1);
    let ctl = Ctl::at(nowhere, nowhere);
    let bash = ctl.run(&["completions", "bash"]).await;
    assert!(bash.ok().contains("_syncctl()"), "{bash:#?}");
    assert!(bash.stdout.contains("suspensions"), "subcommands complete");
    let zsh = ctl.run(&["completions", "zsh"]).await;
    assert!(zsh.ok().starts_with("#compdef syncctl"), "{zsh:#?}");
    let fish = ctl.run(&["completions", "fish"]).await;
    assert!(fish.ok().contains("complete -c syncctl"), "{fish:#?}");
    let tcsh = ctl.run(&["completions", "tcsh"]).await;
    assert_eq!(tcsh.code, 2, "{tcsh:#?}");

    let help = ctl.run(&["--help"]).await;
    let text = help.ok();
    assert!(text.contains("Exit codes:"), "{text}");
    for line in [
        "0  done",
        "2  bad arguments",
        "3  a service is unreachable",
        "4  the service rejected the input",
        "5  not found",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    for env in ["SYNCCTL_GOVERNOR", "SYNCCTL_SYNC_ERRORS"] {
        assert!(text.contains(env), "{env}: {text}");
    }
}

/// Runs the demo's own binary with `args`: it starts both services in its
/// process, so it needs no address.
async fn run_demo(args: &[&str]) -> Run {
    let child = tokio::process::Command::new(binary("syncgov-demo"))
        .args(args)
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start syncgov-demo");
    let output = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("syncgov-demo finishes")
        .expect("syncgov-demo runs");
    Run {
        code: output.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// The events of a demo's summary, in order: (org, kind, reason).
fn demo_events(summary: &serde_json::Value) -> Vec<(String, String, String)> {
    summary["suspension_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (text("org_id"), text("kind"), text("reason"))
        })
        .collect()
}

/// Where `(org, kind, reason)` first is among `events`.
fn position(
    events: &[(String, String, String)],
    org: &str,
    kind: &str,
    reason: &str,
) -> Option<usize> {
    events
        .iter()
        .position(|e| e == &(org.to_owned(), kind.to_owned(), reason.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_tells_the_whole_story_in_json() {
    // What happened, not how fast: the story is driven by counts and
    // events, and the run goes on until it is told.
    let run = run_demo(&["--duration", "10s", "--output", "json"]).await;
    let summary = run.json();
    let granted = summary["tokens_granted"].as_u64().unwrap();
    assert!(granted > 0, "{summary:#}");
    let failures = summary["failures_reported"].as_u64().unwrap();
    assert!(failures > 0, "{summary:#}");
    assert!(
        summary["calls_refused_by_salesforce"].as_u64().unwrap() > 0,
        "the bulk load lands on a call, which Salesforce refuses: {summary:#}"
    );
    let denied = summary["tokens_denied"].as_object().unwrap();
    for reason in [
        "SUSPENDED (SALESFORCE_API_LIMIT_EXCEEDED)",
        "SUSPENDED (INTEGRATION_API_LIMIT_EXCEEDED)",
    ] {
        assert!(denied.contains_key(reason), "{reason}: {summary:#}");
    }
    let events = demo_events(&summary);
    let at = |org, kind, reason| position(&events, org, kind, reason);
    // The refused calls suspend acme-corp; it comes back by itself once the
    // bulk load's calls leave the window, after it was suspended.
    let suspended = at("acme-corp", "SUSPENDED", "SALESFORCE_API_LIMIT_EXCEEDED");
    let cleared = at("acme-corp", "CLEARED", "SALESFORCE_API_LIMIT_EXCEEDED");
    assert!(suspended.is_some() && cleared > suspended, "{events:?}");
    // globex runs out of its allocation.
    assert!(
        at("globex", "SUSPENDED", "INTEGRATION_API_LIMIT_EXCEEDED").is_some(),
        "{events:?}"
    );
    // Every clear follows a suspension of its org for its reason.
    for (i, (org, kind, reason)) in events.iter().enumerate() {
        if kind == "CLEARED" {
            assert!(
                at(org, "SUSPENDED", reason).is_some_and(|s| s < i),
                "{org} cleared of {reason} before it was suspended: {events:?}"
            );
        }
    }
    let orgs = summary["orgs"].as_array().unwrap();
    assert_eq!(orgs.len(), 2);
    let used: u64 = orgs.iter().map(|o| o["used"].as_u64().unwrap()).sum();
    assert!(used > 0 && used <= granted, "{used} of {granted}");
    for org in orgs {
        assert!(org["used"].as_u64().unwrap() <= org["allocation"].as_u64().unwrap());
        assert!(org["current_errors"].as_u64().unwrap() > 0, "{org:#}");
    }
    let globex = orgs.iter().find(|o| o["org_id"] == "globex").unwrap();
    assert_eq!(globex["allocation"], 600);
}

/// The counts of a progress line: tokens granted and denied, failures
/// reported.
fn progress_counts(line: &str) -> [u64; 3] {
    let number = |after: &str| -> u64 {
        let rest = &line[line
            .find(after)
            .unwrap_or_else(|| panic!("{after:?} in {line:?}"))
            + after.len()..];
        rest.chars()
            .take_while(|c| c.is_ascii_digit() || *c == ',')
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("a number after {after:?} in {line:?}"))
    };
    [number("] granted "), number(", denied "), number(" | ")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_progress_usage_health_and_history() {
    let run = run_demo(&["--duration", "6s"]).await;
    let text = run.ok();
    for part in [
        "both on their embedded stores",
        "] granted ",
        " errors, 8 categories",
        "== API calls of acme-corp (the last window) ==",
        "calls per 125 ms slice, last 3 s (times UTC)",
        "== Sync health of globex ==",
        "current errors on",
        "== Suspension history ==",
        "== Summary ==",
        "failures reported: ",
    ] {
        assert!(text.contains(part), "{part:?} missing from:\n{text}");
    }
    // Its own lines, before the reports, fit an 80-column terminal (the
    // reports' tables fit the terminal they are given; a pipe gets them
    // whole).
    let wide: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("=="))
        .filter(|l| l.chars().count() > 80)
        .collect();
    assert!(wide.is_empty(), "lines over 80 columns: {wide:#?}");
    // The history is one table: a header, then one event a line, the
    // reasons in one column.
    let history: Vec<&str> = text
        .split("== Suspension history ==\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a suspension history")
        .lines()
        .collect();
    assert!(history[0].starts_with("WHEN "), "{text}");
    let event = |words: &[&str]| {
        history.iter().any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.len() > words.len() && cells[1..=words.len()] == *words
        })
    };
    assert!(
        event(&["SUSPENDED", "acme-corp", "SALESFORCE_API_LIMIT_EXCEEDED"]),
        "{text}"
    );
    assert!(
        event(&[
            "CLEARED",
            "acme-corp",
            "SALESFORCE_API_LIMIT_EXCEEDED",
            "automatically"
        ]),
        "{text}"
    );
    assert!(
        event(&["SUSPENDED", "globex", "INTEGRATION_API_LIMIT_EXCEEDED"]),
        "{text}"
    );
    let reason_at = history[0].find("REASON").expect("a REASON column");
    for line in &history[1..] {
        assert!(
            line[reason_at..].starts_with("SALESFORCE_")
                || line[reason_at..].starts_with("INTEGRATION_"),
            "a reason out of its column: {line}\n{text}"
        );
    }
    // A progress line every ninth of the run (more if the run went on
    // until the story was told), each with running counts that never go
    // back.
    let progress: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    assert!(
        progress.len() >= 9,
        "{} progress lines:\n{text}",
        progress.len()
    );
    let counts: Vec<[u64; 3]> = progress.iter().map(|l| progress_counts(l)).collect();
    for pair in counts.windows(2) {
        assert!(
            (0..3).all(|i| pair[0][i] <= pair[1][i]),
            "counts went back: {pair:?}\n{text}"
        );
    }
    assert!(counts.last().unwrap()[0] > 0, "{text}");

    // The lines README.md quotes from the demo are lines it prints, with
    // other numbers and times.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let excerpt = readme
        .split("An excerpt:")
        .nth(1)
        .and_then(|rest| rest.split("```text").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("README.md quotes the demo after \"An excerpt:\"");
    for quoted in excerpt
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "...")
    {
        // `…` at either end stands for what the excerpt leaves out there;
        // a trailing `...` for the rest of a list, after its `: `.
        let (open_start, rest) = match quoted.strip_prefix('\u{2026}') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, quoted),
        };
        let (open_end, core) = if let Some(rest) = rest.strip_suffix('\u{2026}') {
            (true, rest.trim_end())
        } else if let Some(rest) = rest.strip_suffix("...") {
            (
                true,
                &rest[..rest.rfind(": ").map_or(rest.len(), |i| i + 1)],
            )
        } else {
            (false, rest)
        };
        let core = demo_line_shape(core);
        let printed = text
            .lines()
            .map(|line| demo_line_shape(line.trim()))
            .any(|line| match (open_start, open_end) {
                (false, false) => line == core,
                (false, true) => line.starts_with(&core),
                (true, false) => line.ends_with(&core),
                (true, true) => line.contains(&core),
            });
        assert!(
            printed,
            "README.md quotes {quoted:?}, which the demo never prints:\n{text}"
        );
    }

    let short = run_demo(&["--duration", "2s"]).await;
    assert_eq!(short.code, 2, "{short:#?}");
    assert!(short.stderr.contains("must be 6s to 1h"), "{short:#?}");
}

/// A demo line with its numbers, times and cursors blanked, and runs of
/// spaces kept as they are: what stays the same from run to run.
fn demo_line_shape(line: &str) -> String {
    let mut shape = String::new();
    let mut in_number = false;
    for c in line.chars() {
        if c.is_ascii_digit() || (in_number && matches!(c, ',' | '.' | ':' | '-' | 'T' | 'Z')) {
            if !in_number {
                shape.push('#');
            }
            in_number = true;
        } else {
            in_number = false;
            shape.push(c);
        }
    }
    shape
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_shows_who_took_the_tokens() {
    let mut env = Env::start().await;
    env.ctl
        .run(&[
            "budget",
            "set",
            "--org",
            "acme",
            "--org-limit",
            "100000",
            "--allocation",
            "50000",
        ])
        .await
        .ok();
    env.acquire_as("acme", 70, ("sync-worker-2", "Contact", "upsert"))
        .await;
    env.acquire_as("acme", 30, ("sync-worker-1", "Account", "query"))
        .await;
    env.acquire_as("acme", 20, ("sync-worker-1", "", "")).await;

    let text = env
        .ctl
        .run(&["usage", "--org", "acme"])
        .await
        .ok()
        .to_owned();
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("top consumers"))
        .take(5)
        .collect();
    assert_eq!(
        table,
        [
            "top consumers (tokens granted in the window; releases not subtracted)",
            "CLIENT         OBJECT   OPERATION  TOKENS  SHARE OF USED",
            "sync-worker-2  Contact  upsert         70         58.3 %",
            "sync-worker-1  Account  query          30         25.0 %",
            "sync-worker-1  -        -              20         16.7 %",
        ],
        "{text}"
    );

    // Two rows: the third consumer's tokens are summed.
    let text = env
        .ctl
        .run(&["usage", "--org", "acme", "--consumers", "2"])
        .await
        .ok()
        .to_owned();
    assert!(text.contains("(1 more)"), "{text}");
    // None asked for: no table.
    let text = env
        .ctl
        .run(&["usage", "--org", "acme", "--consumers", "0"])
        .await
        .ok()
        .to_owned();
    assert!(!text.contains("top consumers"), "{text}");
    // Past the bound: refused before any call.
    let run = env
        .ctl
        .run(&["usage", "--org", "acme", "--consumers", "33"])
        .await;
    assert_ne!(run.code, 0, "{run:?}");

    let json = env
        .ctl
        .run(&["usage", "--org", "acme", "--output", "json"])
        .await
        .json();
    assert_eq!(json["consumer_count"], 3);
    assert_eq!(json["consumer_cap"], 32);
    assert_eq!(json["other_tokens"], 0);
    assert_eq!(json["top_consumers"][0]["client_id"], "sync-worker-2");
    assert_eq!(json["top_consumers"][0]["object"], "Contact");
    assert_eq!(json["top_consumers"][0]["operation"], "upsert");
    assert_eq!(json["top_consumers"][0]["tokens"], 70);
    assert_eq!(json["top_consumers"][2]["tokens"], 20);
}

/// Every line of `text` at most `width` characters wide.
fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= width,
            "a line of {} columns:\n{line}\nin:\n{text}",
            line.chars().count()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_fit_the_width_columns_gives_and_pipes_get_whole_lines() {
    let mut env = Env::start().await;
    let mut failures = too_long(3);
    failures.push(failure("e1", "Lead", "l1", "email"));
    failures.push(failure("d1", "Contact", "c9", "daily_limit"));
    env.ingest("acme", failures).await;
    let ctl = &env.ctl;
    let narrow = [("COLUMNS", "80")];

    for args in [
        &["errors", "health", "--org", "acme"][..],
        &["errors", "list", "--org", "acme"][..],
    ] {
        let wide = ctl.run(args).await.ok().to_owned();
        let fitted = ctl.run_with(args, &narrow, "").await.ok().to_owned();
        assert_fits(&fitted, 80);
        // Piped without COLUMNS, a row is one line, and wider than 80.
        assert!(wide.lines().any(|l| l.chars().count() > 80), "{wide}");
        // Nothing is lost: the same words, whatever the layout (the
        // error list's blocks add only their `seen`, `last` and `time`).
        let words = |t: &str| {
            let mut w: Vec<String> = t
                .split_whitespace()
                .filter(|w| !["seen", "last", "times", "time,", "times,"].contains(w))
                .map(|w| w.trim_end_matches(',').to_owned())
                .collect();
            w.sort();
            w
        };
        let headers = [
            "ERROR", "ID", "STATE", "TYPE", "OBJECT", "RECORD", "SEEN", "LAST", "MESSAGE",
        ];
        let cells = |t: &str| {
            words(t)
                .into_iter()
                .filter(|w| !headers.contains(&w.as_str()))
                .collect::<Vec<_>>()
        };
        assert_eq!(cells(&wide), cells(&fitted), "{wide}\n---\n{fitted}");
    }
    // The guidance wraps within its column instead of running on.
    let health = ctl
        .run_with(&["errors", "health", "--org", "acme"], &narrow, "")
        .await;
    let text = health.ok();
    let at = text
        .lines()
        .find_map(|l| l.find("GUIDANCE"))
        .expect("a GUIDANCE column");
    let continued = text
        .lines()
        .filter(|l| l.len() > at && l[..at].trim().is_empty())
        .count();
    assert!(continued > 0, "{text}");
    // --width wins over COLUMNS.
    let flagged = ctl
        .run_with(
            &["errors", "health", "--org", "acme", "--width", "60"],
            &narrow,
            "",
        )
        .await;
    assert_fits(flagged.ok(), 60);
}

/// A sync-error service whose org `acme` has `failures`, queueing
/// at most `max_queued` resync jobs per org, with an operator token of
/// `acme` and one of `globex` in its token file.
async fn resync_env(
    dir: &TempDir,
    failures: Vec<epb::Failure>,
    max_queued: u32,
) -> (Service, SyncErrorsClient<syncgov_kit::auth::AuthChannel>) {
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!(
            "{ACME_OPERATOR} operator acme ops\n{GLOBEX_OPERATOR} operator globex other\n\
             {ACME_WORKER} worker acme pool\n"
        ),
    )
    .expect("write the token file");
    let service = Service::sync_errors(sync_errors::config::Settings {
        resync_max_queued_per_org: max_queued,
        server: ServerSettings {
            security: syncgov_kit::security::SecuritySettings {
                auth_token_file: Some(tokens),
                ..Default::default()
            },
            ..ServerSettings::default()
        },
        ..Default::default()
    })
    .await;
    let as_caller = |token: &str| {
        let bearer = syncgov_kit::auth::Bearer::fixed(token).expect("a token");
        let channel = service.channel();
        async move { SyncErrorsClient::new(syncgov_kit::auth::AuthChannel::new(channel.await, bearer)) }
    };
    let client = as_caller(ACME_OPERATOR).await;
    let mut worker = as_caller(ACME_WORKER).await;
    for batch in failures.chunks(1_000) {
        worker
            .ingest_errors(epb::IngestErrorsRequest {
                org_id: "acme".into(),
                failures: batch.to_vec(),
            })
            .await
            .expect("IngestErrors");
    }
    (service, client)
}

const ACME_OPERATOR: &str = "operator-acme-0123456789abcdef01";
const GLOBEX_OPERATOR: &str = "operator-globex-0123456789abcdef";
const ACME_WORKER: &str = "worker-acme-0123456789abcdef0123";

/// Runs `syncctl` against `service` with `token`.
async fn resync_run(service: &Service, token: &str, args: &[&str]) -> Run {
    let addr = format!("http://{}", service.addr());
    let mut all = vec!["--sync-errors", addr.as_str(), "--token", token];
    all.extend_from_slice(args);
    run_raw(&all, &[], "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_all_queues_a_large_selection_in_batches_of_100() {
    let dir = TempDir::new("resync");
    let mut failures = too_long(250);
    failures.extend((0..150).map(|i| failure(&format!("m{i}"), "Lead", &format!("l{i}"), "email")));
    let (service, mut client) = resync_env(&dir, failures, 10_000).await;

    // --all: the 250 too-long errors, in three calls.
    let all = resync_run(
        &service,
        ACME_OPERATOR,
        &[
            "errors",
            "resync",
            "--org",
            "acme",
            "--type",
            "STRING_TOO_LONG",
            "--all",
        ],
    )
    .await;
    let text = all.ok();
    assert!(
        text.contains("queued 250 of 250 errors in 3 calls"),
        "{text}"
    );
    assert!(
        all.stderr.is_empty(),
        "no bar when stderr is not a terminal: {all:#?}"
    );

    // --limit 120 of every current error: those already being resynced
    // are left out, so 120 of the 150 e-mail errors, in two calls.
    let limited = resync_run(
        &service,
        ACME_OPERATOR,
        &[
            "errors", "resync", "--org", "acme", "--limit", "120", "-o", "json",
        ],
    )
    .await
    .json();
    assert_eq!(limited["queued"], 120, "{limited}");
    assert_eq!(limited["selected"], 120, "{limited}");
    assert_eq!(limited["calls"], 2, "{limited}");
    // And the rest.
    let rest = resync_run(
        &service,
        ACME_OPERATOR,
        &["errors", "resync", "--org", "acme", "--all"],
    )
    .await;
    assert!(
        rest.ok().contains("queued 30 of 30 errors in 1 call\n"),
        "{rest:#?}"
    );

    // Every one of the 250 is being resynced now.
    let mut resyncing = 0;
    let mut page_token = String::new();
    loop {
        let page = client
            .list_errors(epb::ListErrorsRequest {
                org_id: "acme".into(),
                filter: Some(epb::ErrorFilter {
                    state: epb::ErrorState::Resyncing as i32,
                    ..Default::default()
                }),
                page_size: 500,
                page_token,
            })
            .await
            .expect("ListErrors")
            .into_inner();
        resyncing += page.errors.len();
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(resyncing, 400);

    // The service's own trail: one ResyncErrors call per batch.
    let trail = client
        .list_audit_events(epb::ListAuditEventsRequest {
            org_id: "acme".into(),
            action: "ResyncErrors".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("ListAuditEvents")
        .into_inner();
    let mut targets: Vec<&str> = trail.events.iter().map(|e| e.target.as_str()).collect();
    targets.sort();
    // 250 in 100 + 100 + 50, 120 in 100 + 20, then 30.
    assert_eq!(
        targets,
        [
            "100 errors",
            "100 errors",
            "100 errors",
            "20 errors",
            "30 errors",
            "50 errors"
        ]
    );

    // Nothing left to queue.
    let again = resync_run(
        &service,
        ACME_OPERATOR,
        &["errors", "resync", "--org", "acme", "--all"],
    )
    .await;
    assert!(again.ok().contains("no errors to resync"), "{again:#?}");

    // --all and ids together is a usage error.
    let both = resync_run(
        &service,
        ACME_OPERATOR,
        &["errors", "resync", "--org", "acme", "--all", "e0123"],
    )
    .await;
    assert_eq!(both.code, 2, "{both:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_all_in_three_calls_and_a_partial_one_exits_non_zero() {
    let dir = TempDir::new("resync");
    // Room for 200 jobs: of 250 errors, 50 are not queued.
    let (service, _client) = resync_env(&dir, too_long(250), 200).await;
    let partial = resync_run(
        &service,
        ACME_OPERATOR,
        &["errors", "resync", "--org", "acme", "--all"],
    )
    .await;
    assert_eq!(partial.code, 1, "{partial:#?}");
    // As docs/SYNCCTL.md shows it.
    assert_eq!(
        partial.stdout,
        "queued 200 of 250 errors in 3 calls\nnot queued: 50 errors\nWHY         ERRORS\n\
         queue full      50\n",
        "{partial:#?}"
    );
    assert_eq!(
        partial.stderr, "syncctl: 50 of 250 errors not queued\n  50: queue full\n",
        "{partial:#?}"
    );

    // A token without the role for the org: refused, nothing queued, and
    // the exit code says so.
    let refused = resync_run(
        &service,
        GLOBEX_OPERATOR,
        &["errors", "resync", "--org", "acme", "--all"],
    )
    .await;
    assert_eq!(refused.code, 6, "{refused:#?}");
    assert!(
        refused.stderr.contains("nothing was queued"),
        "{refused:#?}"
    );
    assert!(refused.stdout.is_empty(), "{refused:#?}");
}

/// A TCP proxy to `upstream` that passes the first `limit` bytes a client
/// sends, then drops the connection both ways: a service that goes away
/// in the middle of a run of calls.
async fn request_cutting_proxy(upstream: SocketAddr, limit: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let replies = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                });
                let mut passed = 0;
                let mut buffer = vec![0u8; 16 * 1024];
                loop {
                    let n = match client_read.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if passed + n > limit || server_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    passed += n;
                }
                // Dropping every half closes both connections.
                replies.abort();
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_lost_on_the_way_is_not_queued_and_the_resync_fails_with_a_summary() {
    let dir = TempDir::new("resync");
    let (service, _client) = resync_env(&dir, too_long(250), 10_000).await;
    // The listing and the first batch of 100 ids (about 3 KB) pass; the
    // second batch's request is cut off, and with it the connection: the
    // service never sees that batch.
    let proxy = request_cutting_proxy(service.addr(), 4_500).await;
    let addr = format!("http://{proxy}");
    let run = run_raw(
        &[
            "--sync-errors",
            &addr,
            "--token",
            ACME_OPERATOR,
            "errors",
            "resync",
            "--org",
            "acme",
            "--all",
        ],
        &[],
        "",
    )
    .await;
    // The second batch failed; the third went on a new connection.
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("queued 150 of 250 errors in 3 calls"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("not queued: 100 errors"), "{run:#?}");
    assert!(
        run.stderr.contains("100 of 250 errors not queued"),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("100: batch failed: sync-errors"),
        "{run:#?}"
    );
}
