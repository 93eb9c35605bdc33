//! Budgets as code, end to end: `syncctl budget apply` and `budget export`
//! (the built binary) against the governor over real gRPC on a real
//! `redis-server` (and the Redis Cluster), and the governor's own
//! `--budgets-file`: applied at start, applied again when it changes, a bad
//! change ignored with the last good file in force. The example file of
//! deploy/ is read here too, so it cannot go stale.

use std::path::{Path, PathBuf};
use std::time::Duration;

use quota_governor::config::Settings;
use serde_json::Value;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use syncgov_tests::{
    Backend, PATIENCE, Process, RedisServer, Service, Store, TempDir, binary, eventually,
};
use tonic::Code;
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
    fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "syncctl failed: {self:#?}");
        &self.stdout
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs `syncctl` against the governor at `addr`, with `token` if any.
async fn syncctl(addr: std::net::SocketAddr, token: Option<&str>, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(binary("syncctl"));
    command
        .args(["--governor", &format!("http://{addr}")])
        .args(args)
        .env_remove("SYNCCTL_GOVERNOR")
        .env_remove("SYNCGOV_TOKEN")
        .env_remove("SYNCGOV_TOKEN_FILE")
        .kill_on_drop(true);
    if let Some(token) = token {
        command.env("SYNCGOV_TOKEN", token);
    }
    let output = tokio::time::timeout(HANG_GUARD, command.output())
        .await
        .expect("syncctl finishes")
        .expect("syncctl runs");
    Run {
        code: output.status.code().expect("an exit code, not a signal"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

/// The governor on `store`, with `security` and the other settings given.
async fn governor_on(store: &Store, settings: Settings) -> Service {
    Service::governor(Settings {
        server: ServerSettings {
            redis_url: store.redis_url(),
            redis_cluster_nodes: store.cluster_nodes(),
            ..settings.server
        },
        ..settings
    })
    .await
}

/// Writes `text` as `name` in `dir`, and returns its path as text.
fn write(dir: &TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write the file");
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// The budget of `org`'s `resource`, or the status refusing it.
async fn get(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    resource: pb::Resource,
) -> Result<pb::Budget, Code> {
    client
        .get_budget(pb::GetBudgetRequest {
            org_id: org.into(),
            resource: resource.into(),
        })
        .await
        .map(|r| r.into_inner().budget.expect("a budget"))
        .map_err(|s| s.code())
}

async fn set(
    client: &mut QuotaGovernorClient<Channel>,
    org: &str,
    resource: pb::Resource,
    b: pb::Budget,
) {
    client
        .set_budget(pb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: org.into(),
            resource: resource.into(),
            budget: Some(b),
        })
        .await
        .expect("set a budget");
}

fn budget(org_limit: u64, allocation: u64) -> pb::Budget {
    pb::Budget {
        org_limit,
        allocation,
        ..Default::default()
    }
}

/// Two budgets of acme: API requests with an override 30 days ahead, bulk
/// batches with shares of their own.
fn fleet_file(api_allocation: u64) -> String {
    format!(
        "budgets:\n\
         \x20 - org_id: acme\n\
         \x20   resource: api\n\
         \x20   org_limit: 1000\n\
         \x20   allocation: {api_allocation}\n\
         \x20   override:\n\
         \x20     allocation: 900\n\
         \x20     expires_at: {}\n\
         \x20 - org_id: acme\n\
         \x20   resource: bulk\n\
         \x20   org_limit: 100\n\
         \x20   allocation: 40\n\
         \x20   shares:\n\
         \x20     retry_percent: 50\n\
         \x20     normal_percent: 80\n\
         \x20     critical_percent: 100\n",
        future()
    )
}

/// A time 30 days from now, as the file writes it.
fn future() -> String {
    let at = std::time::SystemTime::now() + Duration::from_secs(30 * 86_400);
    humantime::format_rfc3339_seconds(at).to_string()
}

async fn apply_creates_then_finds_nothing_to_change(backend: Backend) {
    let store = backend.start();
    let governor = governor_on(&store, Settings::default()).await;
    let mut client = QuotaGovernorClient::new(governor.channel().await);
    let dir = TempDir::new("budgets-apply");
    let file = write(&dir, "budgets.yaml", &fleet_file(500));

    // A dry run lists both creations and writes nothing.
    let dry = syncctl(
        governor.addr(),
        None,
        &["budget", "apply", "-f", &file, "--dry-run"],
    )
    .await;
    let out = dry.ok();
    assert!(out.contains("create  acme  api       planned"), "{out}");
    assert!(out.contains("create  acme  bulk      planned"), "{out}");
    assert!(
        out.contains("dry run, nothing applied: would create 2, update 0, delete 0"),
        "{out}"
    );
    assert_eq!(
        get(&mut client, "acme", pb::Resource::ApiRequests).await,
        Err(Code::NotFound)
    );
    assert_eq!(
        get(&mut client, "acme", pb::Resource::BulkBatches).await,
        Err(Code::NotFound)
    );

    // Applied: GetBudget shows every field of the file.
    let applied = syncctl(governor.addr(), None, &["budget", "apply", "-f", &file]).await;
    assert!(
        applied
            .ok()
            .contains("applied: created 2, updated 0, deleted 0; 0 unchanged"),
        "{applied:#?}"
    );
    let api = get(&mut client, "acme", pb::Resource::ApiRequests)
        .await
        .unwrap();
    assert_eq!((api.org_limit, api.allocation), (1000, 500));
    let o = api.allocation_override.expect("the override is set");
    assert_eq!(o.allocation, 900);
    let expected = humantime::parse_rfc3339(&future()).unwrap();
    let set_at = std::time::UNIX_EPOCH + Duration::from_secs(o.expires_at.unwrap().seconds as u64);
    let off = expected
        .duration_since(set_at)
        .or_else(|_| set_at.duration_since(expected))
        .unwrap();
    // `future()` was called twice, a moment apart: the same second or the next.
    assert!(off <= Duration::from_secs(5), "{off:?}");
    let bulk = get(&mut client, "acme", pb::Resource::BulkBatches)
        .await
        .unwrap();
    assert_eq!((bulk.org_limit, bulk.allocation), (100, 40));
    let shares = bulk.shares.unwrap();
    assert_eq!(
        (
            shares.retry_percent,
            shares.normal_percent,
            shares.critical_percent
        ),
        (50, 80, 100)
    );

    // Written back to the same file with the override's time as set, a
    // second apply changes nothing and says so.
    let exported = syncctl(governor.addr(), None, &["budget", "export"]).await;
    let file = write(&dir, "exported.yaml", exported.ok());
    let again = syncctl(governor.addr(), None, &["budget", "apply", "-f", &file]).await;
    assert_eq!(
        again.ok(),
        "nothing to change: 2 budgets already as the file says\n"
    );
    let json = syncctl(
        governor.addr(),
        None,
        &["--output", "json", "budget", "apply", "-f", &file],
    )
    .await;
    let json = json.json();
    assert_eq!(json["counts"]["unchanged"], 2, "{json}");
    assert_eq!(json["counts"]["create"], 0, "{json}");

    // One field changed: an update naming it, before and after.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("allocation: 500", "allocation: 600");
    let file = write(&dir, "changed.yaml", &text);
    let changed = syncctl(
        governor.addr(),
        None,
        &["--output", "json", "budget", "apply", "-f", &file],
    )
    .await;
    let json = changed.json();
    assert_eq!(changed.code, 0, "{changed:#?}");
    assert_eq!(json["counts"]["update"], 1, "{json}");
    assert_eq!(json["changes"][0]["change"], "update");
    assert_eq!(json["changes"][0]["result"], "applied");
    assert_eq!(
        json["changes"][0]["fields"],
        serde_json::json!([{"field": "allocation", "before": "500", "after": "600"}])
    );
    let api = get(&mut client, "acme", pb::Resource::ApiRequests)
        .await
        .unwrap();
    assert_eq!(api.allocation, 600);
}

syncgov_tests::on_every_store!(apply_creates_then_finds_nothing_to_change);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_failure_names_what_was_applied_and_what_failed() {
    // The embedded store holding two budgets at most: the third is refused
    // (RESOURCE_EXHAUSTED) after the first two were written.
    let governor = Service::governor(Settings {
        memory_max_orgs: 2,
        ..Settings::default()
    })
    .await;
    let mut client = QuotaGovernorClient::new(governor.channel().await);
    let dir = TempDir::new("budgets-partial");
    let file = write(
        &dir,
        "budgets.yaml",
        "budgets:\n  - org_id: acme\n    org_limit: 10\n    allocation: 5\n\
         \x20 - org_id: globex\n    org_limit: 10\n    allocation: 5\n\
         \x20 - org_id: initech\n    org_limit: 10\n    allocation: 5\n",
    );
    let run = syncctl(governor.addr(), None, &["budget", "apply", "-f", &file]).await;
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("create  acme     api       applied"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("create  globex   api       applied"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("create  initech  api       failed   "),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("--memory-max-orgs"),
        "the reason is shown: {run:#?}"
    );
    assert!(
        run.stdout
            .ends_with("applied: created 2, updated 0, deleted 0; 0 unchanged; 1 failed\n"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("1 of 3 changes failed"), "{run:#?}");
    let json = syncctl(
        governor.addr(),
        None,
        &["--output", "json", "budget", "apply", "-f", &file],
    )
    .await;
    assert_eq!(json.code, 1);
    let json = json.json();
    assert_eq!(json["counts"]["unchanged"], 2, "{json}");
    assert_eq!(json["counts"]["failed"], 1, "{json}");
    assert_eq!(json["changes"][2]["result"], "failed");
    assert!(
        json["changes"][2]["error"]
            .as_str()
            .unwrap()
            .contains("--memory-max-orgs")
    );
    assert!(
        get(&mut client, "acme", pb::Resource::ApiRequests)
            .await
            .is_ok()
    );
    assert_eq!(
        get(&mut client, "initech", pb::Resource::ApiRequests).await,
        Err(Code::NotFound)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_only_visible_budgets_the_file_leaves_out() {
    let store = Backend::Redis.start();
    let governor = governor_on(&store, Settings::default()).await;
    let mut client = QuotaGovernorClient::new(governor.channel().await);
    set(
        &mut client,
        "acme",
        pb::Resource::ApiRequests,
        budget(1000, 100),
    )
    .await;
    set(
        &mut client,
        "globex",
        pb::Resource::ApiRequests,
        budget(1000, 100),
    )
    .await;
    set(
        &mut client,
        "globex",
        pb::Resource::BulkBatches,
        budget(10, 5),
    )
    .await;
    let dir = TempDir::new("budgets-prune");
    let file = write(
        &dir,
        "budgets.yaml",
        "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 100\n",
    );

    let dry = syncctl(
        governor.addr(),
        None,
        &["budget", "apply", "-f", &file, "--prune", "--dry-run"],
    )
    .await;
    let out = dry.ok();
    assert!(
        out.contains("delete  globex  api       planned  was org_limit 1000, allocation 100"),
        "{out}"
    );
    assert!(
        !out.contains("bulk"),
        "a file of API budgets leaves bulk ones alone: {out}"
    );
    assert!(
        out.ends_with("would create 0, update 0, delete 1; 1 unchanged\n"),
        "{out}"
    );
    assert!(
        get(&mut client, "globex", pb::Resource::ApiRequests)
            .await
            .is_ok()
    );

    // Without --prune, nothing is deleted.
    let plain = syncctl(governor.addr(), None, &["budget", "apply", "-f", &file]).await;
    assert_eq!(
        plain.ok(),
        "nothing to change: 1 budget already as the file says\n"
    );

    let pruned = syncctl(
        governor.addr(),
        None,
        &["budget", "apply", "-f", &file, "--prune"],
    )
    .await;
    assert!(
        pruned
            .ok()
            .contains("applied: created 0, updated 0, deleted 1; 1 unchanged"),
        "{pruned:#?}"
    );
    assert_eq!(
        get(&mut client, "globex", pb::Resource::ApiRequests).await,
        Err(Code::NotFound)
    );
    assert!(
        get(&mut client, "globex", pb::Resource::BulkBatches)
            .await
            .is_ok()
    );
    assert!(
        get(&mut client, "acme", pb::Resource::ApiRequests)
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_names_its_line_and_field_and_changes_nothing() {
    let store = Backend::Redis.start();
    let governor = governor_on(&store, Settings::default()).await;
    let mut client = QuotaGovernorClient::new(governor.channel().await);
    set(
        &mut client,
        "acme",
        pb::Resource::ApiRequests,
        budget(1000, 100),
    )
    .await;
    let dir = TempDir::new("budgets-invalid");
    let cases = [
        (
            // The first entry is good: it must not be applied either.
            "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 200\n\
             \x20 - org_id: globex\n    org_limit: 10\n    allocation: 20\n",
            "line 7: budgets[1] (org_id \"globex\"): allocation: must be at most org_limit",
        ),
        (
            "budgets:\n  - org_id: acme\n    org_limit: 1000\n    alocation: 200\n",
            "line 4",
        ),
        (
            "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 200\n\
             \x20 - org_id: acme\n    resource: api\n    org_limit: 1000\n    allocation: 300\n",
            "line 5: budgets[1] (org_id \"acme\"): the budget of acme (api) is already given on line 2",
        ),
        (
            "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 200\n    override:\n\
             \x20     allocation: 300\n      expires_at: 2030-13-01T00:00:00Z\n",
            "line 7: budgets[0] (org_id \"acme\"): override.expires_at: must be an RFC 3339 time",
        ),
    ];
    for (i, (text, said)) in cases.into_iter().enumerate() {
        let file = write(&dir, &format!("bad-{i}.yaml"), text);
        let run = syncctl(governor.addr(), None, &["budget", "apply", "-f", &file]).await;
        assert_eq!(run.code, 4, "{run:#?}");
        assert!(run.stderr.contains(said), "expected {said:?}: {run:#?}");
        assert!(run.stderr.contains("nothing was applied"), "{run:#?}");
        assert_eq!(run.stdout, "");
    }
    // The typo is named as such.
    let file = write(&dir, "typo.yaml", cases_typo());
    let run = syncctl(governor.addr(), None, &["budget", "apply", "-f", &file]).await;
    assert!(run.stderr.contains("unknown field `alocation`"), "{run:#?}");
    assert_eq!(
        get(&mut client, "acme", pb::Resource::ApiRequests)
            .await
            .unwrap()
            .allocation,
        100
    );
    assert_eq!(
        get(&mut client, "globex", pb::Resource::ApiRequests).await,
        Err(Code::NotFound)
    );
}

fn cases_typo() -> &'static str {
    "budgets:\n  - org_id: acme\n    org_limit: 1000\n    alocation: 200\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scoped_token_applies_nothing_outside_its_orgs() {
    const ROOT: &str = "admin-root-0123456789abcdef012345";
    const ACME_ADMIN: &str = "admin-of-acme-0123456789abcdef01";
    let store = Backend::Redis.start();
    let dir = TempDir::new("budgets-scoped");
    let tokens = dir.path().join("tokens");
    std::fs::write(
        &tokens,
        format!("{ROOT} admin * root\n{ACME_ADMIN} admin acme acme-admin\n"),
    )
    .unwrap();
    let governor = governor_on(
        &store,
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
    let root = Bearer::fixed(ROOT).unwrap();
    let mut client = QuotaGovernorClient::new(AuthChannel::new(governor.channel().await, root));
    client
        .set_budget(pb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: "globex".into(),
            resource: pb::Resource::ApiRequests.into(),
            budget: Some(budget(1000, 100)),
        })
        .await
        .unwrap();

    // acme's admin, with a file naming globex too: refused before any write.
    let both = write(
        &dir,
        "both.yaml",
        "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 200\n\
         \x20 - org_id: globex\n    org_limit: 1000\n    allocation: 300\n",
    );
    let run = syncctl(
        governor.addr(),
        Some(ACME_ADMIN),
        &["budget", "apply", "-f", &both],
    )
    .await;
    assert_eq!(run.code, 6, "{run:#?}");
    assert!(run.stderr.contains("nothing was applied"), "{run:#?}");
    assert!(run.stderr.contains("line 5: globex (api)"), "{run:#?}");
    assert!(
        run.stderr.contains("may not touch org \"globex\""),
        "{run:#?}"
    );
    let read = |org: &'static str| {
        let mut client = client.clone();
        async move {
            client
                .get_budget(pb::GetBudgetRequest {
                    org_id: org.into(),
                    resource: pb::Resource::ApiRequests.into(),
                })
                .await
                .map(|r| r.into_inner().budget.unwrap().allocation)
                .map_err(|s| s.code())
        }
    };
    assert_eq!(
        read("acme").await,
        Err(Code::NotFound),
        "acme was not applied either"
    );
    assert_eq!(read("globex").await, Ok(100));

    // Its own org only, with --prune: applied, and globex (which it cannot
    // see) is left alone.
    let own = write(
        &dir,
        "own.yaml",
        "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 200\n",
    );
    let run = syncctl(
        governor.addr(),
        Some(ACME_ADMIN),
        &["budget", "apply", "-f", &own, "--prune"],
    )
    .await;
    assert!(
        run.ok()
            .contains("applied: created 1, updated 0, deleted 0; 0 unchanged"),
        "{run:#?}"
    );
    assert_eq!(read("acme").await, Ok(200));
    assert_eq!(read("globex").await, Ok(100));

    // Its export holds its own org only.
    let exported = syncctl(governor.addr(), Some(ACME_ADMIN), &["budget", "export"]).await;
    assert!(exported.ok().contains("org_id: \"acme\""), "{exported:#?}");
    assert!(!exported.ok().contains("globex"), "{exported:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trips_through_apply() {
    let store = Backend::Redis.start();
    let governor = governor_on(&store, Settings::default()).await;
    let mut client = QuotaGovernorClient::new(governor.channel().await);
    let in_a_week = std::time::SystemTime::now() + Duration::from_secs(7 * 86_400);
    set(
        &mut client,
        "00D5g000000acmeEAA",
        pb::Resource::ApiRequests,
        pb::Budget {
            org_limit: 100_000,
            allocation: 50_000,
            shares: Some(pb::PriorityShares {
                retry_percent: 40,
                normal_percent: 90,
                critical_percent: 100,
            }),
            allocation_override: Some(pb::AllocationOverride {
                allocation: 80_000,
                expires_at: Some(prost_types::Timestamp::from(in_a_week)),
            }),
            shadow: true,
            alert_thresholds_percent: vec![50, 75, 100],
        },
    )
    .await;
    // An org id YAML would read as a number.
    set(
        &mut client,
        "12345",
        pb::Resource::BulkBatches,
        budget(10, 3),
    )
    .await;
    let dir = TempDir::new("budgets-export");
    let exported = syncctl(governor.addr(), None, &["budget", "export"]).await;
    let text = exported.ok().to_owned();
    let file = syncgov_kit::budgets_file::parse(&text, syncgov_kit::clock::now_ms())
        .unwrap_or_else(|e| panic!("{e}:\n{text}"));
    assert_eq!(file.entries.len(), 2, "{text}");
    assert_eq!(file.entries[0].key.org.as_str(), "00D5g000000acmeEAA");
    assert_eq!(file.entries[1].key.org.as_str(), "12345");
    assert_eq!(file.entries[0].budget.shares.retry, 40);
    assert!(file.entries[0].budget.shadow && !file.entries[1].budget.shadow);
    assert_eq!(
        file.entries[0].budget.thresholds().as_slice(),
        [50, 75, 100]
    );
    assert_eq!(file.entries[1].budget.alert_thresholds, None);
    assert_eq!(
        file.entries[0]
            .budget
            .allocation_override
            .map(|o| o.allocation),
        Some(80_000)
    );
    let path = write(&dir, "exported.yaml", &text);
    let again = syncctl(
        governor.addr(),
        None,
        &["budget", "apply", "-f", &path, "--prune"],
    )
    .await;
    assert_eq!(
        again.ok(),
        "nothing to change: 2 budgets already as the file says\n"
    );
    // Only API budgets asked for: the bulk one is not printed.
    let api = syncctl(
        governor.addr(),
        None,
        &["budget", "export", "--resource", "api"],
    )
    .await;
    assert!(!api.ok().contains("12345"), "{api:#?}");
}

/// The budgets file of the deploy/ example: every budget valid today (an
/// override that has ended would only be a warning).
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/components/budgets-file/budgets.yaml")
}

#[test]
fn the_deploy_example_is_a_valid_budgets_file() {
    let text = std::fs::read_to_string(example()).expect("the example file");
    let file = syncgov_kit::budgets_file::parse(&text, syncgov_kit::clock::now_ms())
        .unwrap_or_else(|e| panic!("deploy/components/budgets-file/budgets.yaml: {e}"));
    assert_eq!(file.entries.len(), 4);
    assert_eq!(file.resources().len(), 2);
}

#[test]
fn the_example_of_the_docs_is_a_valid_budgets_file() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/BUDGETS.md");
    let docs = std::fs::read_to_string(path).expect("docs/BUDGETS.md");
    let example = docs
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in docs/BUDGETS.md");
    let file = syncgov_kit::budgets_file::parse(example, syncgov_kit::clock::now_ms())
        .unwrap_or_else(|e| panic!("docs/BUDGETS.md's example: {e}"));
    assert!(!file.entries.is_empty());
}

/// The governor's settings for a budgets file checked every 100 ms.
fn with_budgets_file(store: &Store, path: &Path, prune: bool) -> Settings {
    Settings {
        budgets_file: Some(path.to_owned()),
        budgets_file_prune: prune,
        server: ServerSettings {
            redis_url: store.redis_url(),
            redis_cluster_nodes: store.cluster_nodes(),
            security: SecuritySettings {
                reload_interval: Duration::from_millis(100),
                ..SecuritySettings::default()
            },
            ..ServerSettings::default()
        },
        ..Settings::default()
    }
}

/// Waits until `org`'s API budget has `allocation` (`None`: has none).
async fn until_allocation(
    client: &QuotaGovernorClient<Channel>,
    org: &str,
    allocation: Option<u64>,
) {
    until_allocation_of(client, org, pb::Resource::ApiRequests, allocation).await;
}

/// Waits until `org`'s budget of `resource` has `allocation` (`None`: has
/// none): a file's budgets are written one after another, so one budget
/// seen says nothing of the next.
async fn until_allocation_of(
    client: &QuotaGovernorClient<Channel>,
    org: &str,
    resource: pb::Resource,
    allocation: Option<u64>,
) {
    let reached = eventually(PATIENCE, || {
        let mut client = client.clone();
        let org = org.to_owned();
        async move {
            let now = get(&mut client, &org, resource).await;
            match allocation {
                Some(a) => now.map(|b| b.allocation) == Ok(a),
                None => now == Err(Code::NotFound),
            }
        }
    })
    .await;
    assert!(reached, "{org}'s allocation never became {allocation:?}");
}

/// Two replicas of the governor on one store, both given the same file
/// (as from one ConfigMap), with pruning.
async fn two_replicas_apply_one_budgets_file_at_start_and_on_change(backend: Backend) {
    let store = backend.start();
    let dir = TempDir::new("budgets-governor");
    let path = dir.path().join("budgets.yaml");
    std::fs::copy(example(), &path).unwrap();
    let first = Service::governor(with_budgets_file(&store, &path, true)).await;
    let second = Service::governor(with_budgets_file(&store, &path, true)).await;
    let replicas = [
        QuotaGovernorClient::new(first.channel().await),
        QuotaGovernorClient::new(second.channel().await),
    ];

    // At start: every budget of the example, read through either replica.
    for client in &replicas {
        until_allocation(client, "00D5g000000acmeEAA", Some(50_000)).await;
        until_allocation(client, "00D5g000000globexE", Some(120_000)).await;
        until_allocation_of(
            client,
            "00D5g000000globexE",
            pb::Resource::BulkBatches,
            Some(5_000),
        )
        .await;
    }

    // An operator's SetBudget in between...
    let mut c = replicas[0].clone();
    set(
        &mut c,
        "00D5g000000acmeEAA",
        pb::Resource::ApiRequests,
        budget(100_000, 1),
    )
    .await;
    // ...and the file wins on its next change: acme changed, globex's API
    // budget taken out (pruned: it was in the previous file), a new org.
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("allocation: 50000", "allocation: 45000")
        .replace(
            "  - org_id: 00D5g000000globexE\n    resource: api\n",
            "  - org_id: 00D5g000000umbrlE\n    resource: api\n",
        );
    std::fs::write(&path, &text).unwrap();
    for client in &replicas {
        until_allocation(client, "00D5g000000acmeEAA", Some(45_000)).await;
        until_allocation(client, "00D5g000000umbrlE", Some(120_000)).await;
        until_allocation(client, "00D5g000000globexE", None).await;
        let mut c = client.clone();
        let bulk = get(&mut c, "00D5g000000globexE", pb::Resource::BulkBatches).await;
        assert_eq!(bulk.map(|b| b.allocation), Ok(5_000), "still in the file");
    }

    // The audit trail tells the operator's change from the file's.
    let mut c = replicas[0].clone();
    let events = c
        .list_audit_events(pb::ListAuditEventsRequest {
            org_id: "00D5g000000acmeEAA".into(),
            ..Default::default()
        })
        .await
        .expect("the trail reads")
        .into_inner()
        .events;
    let allocation = |json: &str| -> Option<u64> {
        serde_json::from_str::<Value>(json).ok()?["allocation"].as_u64()
    };
    let by_file: Vec<_> = events
        .iter()
        .filter(|e| e.action == "BudgetsFile" && e.target == "api")
        .collect();
    assert!(
        by_file
            .iter()
            .all(|e| e.actor == format!("budgets file {}", path.display())),
        "{by_file:?}"
    );
    assert!(
        by_file
            .iter()
            .any(|e| allocation(&e.before) == Some(1) && allocation(&e.after) == Some(45_000)),
        "the file's change over the operator's is recorded: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.action == "SetBudget" && allocation(&e.after) == Some(1)),
        "{events:?}"
    );
    // The budget the file prunes is recorded as gone.
    let globex = c
        .list_audit_events(pb::ListAuditEventsRequest {
            org_id: "00D5g000000globexE".into(),
            ..Default::default()
        })
        .await
        .expect("the trail reads")
        .into_inner()
        .events;
    assert!(
        globex
            .iter()
            .any(|e| e.action == "BudgetsFile" && e.target == "api" && e.after.is_empty()),
        "{globex:?}"
    );
}

/// The governor's own file on every store (a module of its own: the
/// scenarios of `apply` have taken the store modules' names).
mod governor_file {
    use super::*;

    pub(super) async fn two_replicas(backend: Backend) {
        two_replicas_apply_one_budgets_file_at_start_and_on_change(backend).await;
    }

    syncgov_tests::on_every_store!(two_replicas);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_change_is_ignored_and_the_last_good_file_stays() {
    let redis = RedisServer::start();
    let dir = TempDir::new("budgets-bad-change");
    let path = dir.path().join("budgets.yaml");
    std::fs::write(
        &path,
        "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 100\n",
    )
    .unwrap();
    let admin = syncgov_tests::free_addr();
    let url = redis.url();
    let governor = Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &url,
            "--admin-listen",
            &admin.to_string(),
            "--budgets-file",
            path.to_str().unwrap(),
            "--reload-interval",
            "100ms",
        ],
    );
    let client = QuotaGovernorClient::new(syncgov_tests::channel(governor.addr()).await);
    until_allocation(&client, "acme", Some(100)).await;
    let loads = |outcome: &'static str| async move {
        let text = tokio::task::spawn_blocking(move || http_get(admin, "/metrics"))
            .await
            .unwrap()
            .unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with("syncgov_quota_budgets_file_loads_total{"))
            .filter(|l| l.contains(&format!("outcome=\"{outcome}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    assert!(eventually(PATIENCE, || async { loads("applied").await >= 1.0 }).await);
    assert_eq!(loads("refused").await, 0.0);

    // A change whose first entry is good and second bad: none of it is set.
    std::fs::write(
        &path,
        "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 300\n\
         \x20 - org_id: globex\n    org_limit: 10\n    allocation: 20\n",
    )
    .unwrap();
    assert!(
        eventually(PATIENCE, || async { loads("refused").await >= 1.0 }).await,
        "the bad change is counted as refused"
    );
    let mut c = client.clone();
    assert_eq!(
        get(&mut c, "acme", pb::Resource::ApiRequests)
            .await
            .map(|b| b.allocation),
        Ok(100)
    );
    assert_eq!(
        get(&mut c, "globex", pb::Resource::ApiRequests).await,
        Err(Code::NotFound)
    );

    // An empty file (one caught half written, say) is refused too.
    std::fs::write(&path, "").unwrap();
    assert!(
        eventually(PATIENCE, || async { loads("refused").await >= 2.0 }).await,
        "the empty file is counted as refused"
    );
    assert_eq!(
        get(&mut c, "acme", pb::Resource::ApiRequests)
            .await
            .map(|b| b.allocation),
        Ok(100)
    );

    // Fixed: applied.
    std::fs::write(
        &path,
        "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 300\n",
    )
    .unwrap();
    until_allocation(&client, "acme", Some(300)).await;
}

#[test]
fn a_bad_budgets_file_refuses_the_start_naming_its_line() {
    let dir = TempDir::new("budgets-start");
    let path = dir.path().join("budgets.yaml");
    std::fs::write(
        &path,
        "budgets:\n  - org_id: acme\n    org_limit: 1000\n    allocation: 1001\n",
    )
    .unwrap();
    let out = std::process::Command::new(binary("quota-governor"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--budgets-file",
            path.to_str().unwrap(),
        ])
        .output()
        .expect("run the governor");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "line 4: budgets[0] (org_id \"acme\"): allocation: must be at most org_limit"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing listened");
}

/// `GET path` over HTTP/1.0, the body of a 200.
fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    (head.split_whitespace().nth(1)? == "200").then(|| body.to_owned())
}
