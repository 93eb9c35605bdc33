//! Metrics as a real Prometheus sees them. Both services run as their
//! binaries; a Prometheus of the test's own (Debian's `prometheus`, on
//! loopback, with its own configuration and data directory) scrapes both
//! admin ports every second under one shared job, as a generic pod scrape
//! would. The test drives grants, denials, suspensions, ingests, a resync,
//! a webhook delivery, e-mails to a server nobody runs and a short Redis
//! outage, then evaluates every expression of the Grafana dashboard
//! through Prometheus's HTTP API: each returns data, and the counts (and
//! the fleet's current errors per category) match what the test did. `promtool check
//! metrics` passes on what both admin ports serve.
//!
//! Also here: `/readyz` answers 503 from the moment a service begins
//! draining, while a call still holds it in its grace period.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_tests::{PATIENCE, Process, RedisServer, TempDir, WebhookReceiver, eventually};

/// The scrape interval of the test's Prometheus.
const SCRAPE_EVERY: &str = "1s";

/// A Prometheus of the test's own, killed (by its PID) when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts Prometheus on a free loopback port, scraping `targets` under
    /// the one job `syncgov`.
    fn start(targets: &[SocketAddr]) -> Self {
        let dir = TempDir::new("prometheus");
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: {SCRAPE_EVERY}\n  evaluation_interval: {SCRAPE_EVERY}\n\
             scrape_configs:\n  - job_name: syncgov\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write the Prometheus configuration");
        let addr = syncgov_tests::free_addr();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).expect("a log file"))
            .spawn()
            .expect("prometheus must be installed (apt-get install prometheus)");
        Self {
            child,
            addr,
            _dir: dir,
        }
    }

    /// `GET path` of the HTTP API, its JSON `data`.
    async fn get(&self, path: String) -> Option<serde_json::Value> {
        let addr = self.addr;
        let body = tokio::task::spawn_blocking(move || http_get(addr, &path))
            .await
            .expect("the request task")?;
        let reply: serde_json::Value = serde_json::from_str(&body).ok()?;
        (reply["status"] == "success").then(|| reply["data"].clone())
    }

    /// Evaluates `expr` at `time` (Unix seconds; now when `None`): each
    /// series' labels and value.
    async fn query(&self, expr: &str, time: Option<f64>) -> Vec<Sample> {
        let mut path = format!("/api/v1/query?query={}", encode(expr));
        if let Some(time) = time {
            path.push_str(&format!("&time={time:.3}"));
        }
        let Some(data) = self.get(path).await else {
            return Vec::new();
        };
        data["result"]
            .as_array()
            .map(|series| {
                series
                    .iter()
                    .map(|s| Sample {
                        labels: s["metric"]
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        value: s["value"][1]
                            .as_str()
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(f64::NAN),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The values of `label` on the series of `metric`, as Grafana's
    /// `label_values(metric, label)` asks for them.
    async fn label_values(&self, metric: &str, label: &str) -> Vec<String> {
        let path = format!("/api/v1/label/{label}/values?match[]={}", encode(metric));
        self.get(path)
            .await
            .and_then(|data| {
                data.as_array().map(|values| {
                    values
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
            })
            .unwrap_or_default()
    }

    /// The one value of `expr` now, if it has exactly one series.
    async fn value(&self, expr: &str) -> Option<f64> {
        match self.query(expr, None).await.as_slice() {
            [one] => Some(one.value),
            _ => None,
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One series of a query's result.
#[derive(Clone, Debug)]
struct Sample {
    labels: BTreeMap<String, String>,
    value: f64,
}

impl Sample {
    fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }
}

/// Percent-encodes a query parameter.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A plain HTTP/1.0 GET (so the body is never chunked): the body of a 200,
/// else `None`.
fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?;
    (status == "200").then(|| body.to_owned())
}

/// The status of `GET path` on an admin port, 0 when it does not answer.
fn http_status(addr: SocketAddr, path: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").is_err() {
        return 0;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Runs `promtool check metrics` on what `admin` serves at `/metrics`;
/// panics with its findings unless it is clean.
fn promtool_check(admin: SocketAddr) {
    use std::io::Write;
    let text = http_get(admin, "/metrics").expect("the admin port serves /metrics");
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (apt-get install prometheus)");
    child
        .stdin
        .take()
        .expect("a pipe")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let output = child.wait_with_output().expect("promtool runs");
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && findings.trim().is_empty(),
        "promtool check metrics on {admin}: {findings}\n{text}"
    );
}

/// The label a deny reason has in the metrics (`DENY_REASON_SUSPENDED`:
/// `suspended`).
fn deny_label(reason: i32) -> String {
    quota::DenyReason::try_from(reason)
        .map(|r| {
            r.as_str_name()
                .trim_start_matches("DENY_REASON_")
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// What the test did, counted from the services' replies.
#[derive(Default, Debug)]
struct Tally {
    /// Decisions by `(outcome, reason)`.
    decisions: BTreeMap<(String, String), u64>,
    /// Tokens granted by `org_id` label.
    tokens: BTreeMap<String, u64>,
    /// Calls each service answered UNAVAILABLE while Redis was away.
    unavailable: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn decisions_total(&self) -> u64 {
        self.decisions.values().sum()
    }
}

/// Asks the governor for one token for `org` and counts the decision.
async fn acquire(
    client: &mut QuotaGovernorClient<tonic::transport::Channel>,
    tally: &mut Tally,
    org: &str,
) -> quota::AcquireTokensResponse {
    let reply = client
        .acquire_tokens(quota::AcquireTokensRequest {
            org_id: org.into(),
            count: 1,
            priority: quota::Priority::Critical.into(),
            ..Default::default()
        })
        .await
        .expect("AcquireTokens")
        .into_inner();
    let org_label = if org == "acme" { "acme" } else { "other" };
    let key = if reply.granted {
        *tally.tokens.entry(org_label.to_owned()).or_default() += reply.granted_count.max(1);
        ("granted".to_owned(), String::new())
    } else {
        ("denied".to_owned(), deny_label(reply.deny_reason))
    };
    *tally.decisions.entry(key).or_default() += 1;
    reply
}

fn failure(key: &str, status_code: &str, message: &str) -> errors::Failure {
    errors::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: format!("rec-{key}"),
        status_code: status_code.into(),
        message: message.into(),
        fields: vec!["Description".into()],
        direction: errors::Direction::ToSalesforce.into(),
        ..Default::default()
    }
}

/// Every PromQL expression of the dashboard, with the panel it is in.
fn dashboard_expressions() -> (serde_json::Value, Vec<(String, String)>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/observability/grafana-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read the dashboard"))
            .expect("the dashboard is JSON");
    let mut expressions = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["datasource"]["type"] != "prometheus" {
            continue;
        }
        for target in panel["targets"].as_array().expect("targets") {
            expressions.push((
                panel["title"].as_str().unwrap_or("").to_owned(),
                target["expr"].as_str().expect("a PromQL target").to_owned(),
            ));
        }
    }
    (dashboard, expressions)
}

/// Every alert of the PrometheusRule, with its expression.
fn alert_rules() -> Vec<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/observability/prometheus-rule.yaml");
    let rule: serde_json::Value =
        serde_norway::from_str(&std::fs::read_to_string(path).expect("read the rules"))
            .expect("the rules are YAML");
    let mut rules = Vec::new();
    for group in rule["spec"]["groups"].as_array().expect("groups") {
        for r in group["rules"].as_array().expect("rules") {
            rules.push((
                r["alert"].as_str().expect("an alert").to_owned(),
                r["expr"].as_str().expect("an expression").to_owned(),
            ));
        }
    }
    rules
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_answers_from_a_real_prometheus() {
    let started = Instant::now();
    // Append-only, so that the data (a suspension, budgets) outlives the
    // outage.
    let mut redis = RedisServer::start_with(true);
    let url = redis.url();
    let (governor_admin, errors_admin) = (syncgov_tests::free_addr(), syncgov_tests::free_addr());
    let governor = Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &url,
            "--redis-timeout",
            "500ms",
            "--admin-listen",
            &governor_admin.to_string(),
            "--metrics-orgs",
            "acme",
        ],
    );
    let governor_url = format!("http://{}", governor.addr());
    let sync_errors = Process::start(
        "sync-errors",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &url,
            "--redis-timeout",
            "500ms",
            "--admin-listen",
            &errors_admin.to_string(),
            "--governor-addr",
            &governor_url,
            "--webhook-allow",
            "127.0.0.0/8",
            "--notification-retry",
            "200ms",
            // A port no test binds: e-mails fail to connect.
            "--smtp-url",
            &format!("smtp://{}", syncgov_tests::nowhere(1)),
            "--smtp-from",
            "syncgov <alerts@syncgov.example>",
        ],
    );
    let prometheus = Prometheus::start(&[governor_admin, errors_admin]);

    // Both services scraped, their counters at 0, before anything happens:
    // so the first event of each is an increase Prometheus sees.
    let scraped = eventually(PATIENCE, || async {
        prometheus
            .query(
                "syncgov_store_errors_total{kind=\"unavailable\"} == 0",
                None,
            )
            .await
            .len()
            == 2
    })
    .await;
    assert!(scraped, "Prometheus never scraped both services at zero");

    let mut tally = Tally::default();
    let mut governor_client =
        QuotaGovernorClient::new(syncgov_tests::channel(governor.addr()).await);
    // initech has a budget too: its org-limit suspension (below) then holds
    // until a report says the org has calls again. Without one there is
    // nothing to protect, and the governor's sweep would end it within a
    // second, before Prometheus or the test could see it.
    for (org, allocation) in [("acme", 3), ("globex", 100), ("initech", 100)] {
        governor_client
            .set_budget(quota::SetBudgetRequest {
                expected_revision: String::new(),
                org_id: org.into(),
                resource: 0,
                budget: Some(quota::Budget {
                    org_limit: 1_000,
                    allocation,
                    ..Default::default()
                }),
            })
            .await
            .expect("SetBudget");
    }
    // A first decision, scraped before the others: the latency and usage
    // histograms appear with it, so the later decisions are an increase.
    acquire(&mut governor_client, &mut tally, "globex").await;
    let histogram_scraped = eventually(PATIENCE, || async {
        !prometheus
            .query("syncgov_quota_decision_duration_seconds_count", None)
            .await
            .is_empty()
    })
    .await;
    assert!(histogram_scraped, "the latency histogram never scraped");

    // Grants, then denials once acme's allocation of 3 is spent.
    for org in ["acme", "acme", "acme", "acme", "acme", "globex", "globex"] {
        acquire(&mut governor_client, &mut tally, org).await;
    }

    // sync-errors: a webhook for acme, record-level failures, one
    // suspension-level failure for initech (relayed to the governor).
    let receiver = WebhookReceiver::start(0).await;
    let mut errors_client = SyncErrorsClient::new(syncgov_tests::channel(sync_errors.addr()).await);
    errors_client
        .update_notification_settings(errors::UpdateNotificationSettingsRequest {
            org_id: "acme".into(),
            settings: Some(errors::NotificationSettings {
                enabled: true,
                frequency: errors::NotificationFrequency::Immediately.into(),
                webhook_url: receiver.url(),
                webhook_secret: "a-webhook-secret-of-enough-length".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("UpdateNotificationSettings");
    // globex is told by e-mail only, through a server nobody runs.
    errors_client
        .update_notification_settings(errors::UpdateNotificationSettingsRequest {
            org_id: "globex".into(),
            settings: Some(errors::NotificationSettings {
                enabled: true,
                email_recipients: vec!["ops@globex.example".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("UpdateNotificationSettings");
    errors_client
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "globex".into(),
            failures: vec![failure("g1", "", "Something nobody has seen before.")],
        })
        .await
        .expect("IngestErrors");
    let too_long = "Description: data value too large: x (max length=255)";
    let ingested = errors_client
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![
                failure("r1", "STRING_TOO_LONG", too_long),
                failure("r2", "STRING_TOO_LONG", too_long),
            ],
        })
        .await
        .expect("IngestErrors")
        .into_inner();
    errors_client
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "initech".into(),
            failures: vec![failure(
                "s1",
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            )],
        })
        .await
        .expect("IngestErrors");

    // A resync of both errors, claimed by a worker: one succeeds (its
    // error resolved), one fails (its error resyncing again after a
    // back-off).
    errors_client
        .resync_errors(errors::ResyncErrorsRequest {
            org_id: "acme".into(),
            error_ids: ingested
                .results
                .iter()
                .map(|r| r.error_id.clone())
                .collect(),
        })
        .await
        .expect("ResyncErrors");
    let jobs = errors_client
        .claim_resync_jobs(errors::ClaimResyncJobsRequest {
            worker_id: "worker-1".into(),
            max_jobs: 2,
            visibility_timeout: None,
        })
        .await
        .expect("ClaimResyncJobs")
        .into_inner()
        .jobs;
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let outcomes = [
        errors::complete_resync_job_request::Outcome::Success(true),
        errors::complete_resync_job_request::Outcome::Failure(failure(
            "r2-retry",
            "STRING_TOO_LONG",
            too_long,
        )),
    ];
    for (job, outcome) in jobs.into_iter().zip(outcomes) {
        errors_client
            .complete_resync_job(errors::CompleteResyncJobRequest {
                job_id: job.job_id,
                lease_id: job.lease_id,
                outcome: Some(outcome),
            })
            .await
            .expect("CompleteResyncJob");
    }

    // The suspension reaches the governor, as the dashboard's panel shows
    // it; initech is then denied.
    let (_, expressions) = dashboard_expressions();
    let (_, active) = expressions
        .iter()
        .find(|(_, expr)| expr.contains("syncgov_quota_suspensions_active"))
        .expect("a panel of active suspensions");
    let active = active.replace("$job", "syncgov");
    let suspended = eventually(PATIENCE, || async {
        prometheus
            .query(&active, None)
            .await
            .iter()
            .any(|s| s.label("reason") == "SALESFORCE_API_LIMIT_EXCEEDED" && s.value == 1.0)
    })
    .await;
    assert!(suspended, "initech's suspension never showed in {active}");
    let denied = acquire(&mut governor_client, &mut tally, "initech").await;
    assert!(!denied.granted, "a suspended org is denied: {denied:?}");

    // The webhook delivery.
    let delivered = eventually(PATIENCE, || async { !receiver.requests().is_empty() }).await;
    assert!(delivered, "no webhook delivery");

    // A short Redis outage: each service answers UNAVAILABLE meanwhile.
    redis.stop();
    for _ in 0..2 {
        let status = governor_client
            .acquire_tokens(quota::AcquireTokensRequest {
                org_id: "globex".into(),
                count: 1,
                priority: quota::Priority::Critical.into(),
                ..Default::default()
            })
            .await
            .expect_err("no decision without the store");
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        *tally.unavailable.entry("quota-governor").or_default() += 1;
    }
    let status = errors_client
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            failures: vec![failure("r3", "STRING_TOO_LONG", too_long)],
        })
        .await
        .expect_err("no ingest without the store");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    *tally.unavailable.entry("sync-errors").or_default() += 1;
    redis.restart();

    // Prometheus has the final counts once it shows them.
    let deliveries = receiver.requests().len() as f64;
    let decisions = tally.decisions_total() as f64;
    let settled = eventually(PATIENCE, || async {
        prometheus.value("sum(syncgov_quota_decisions_total)").await == Some(decisions)
            && prometheus
                .value("sum(syncgov_store_errors_total{kind=\"unavailable\"})")
                .await
                .is_some_and(|n| n >= 3.0)
            && prometheus
                .value("sum(syncgov_errors_notifications_deliveries_total{channel=\"webhook\",result=\"delivered\"})")
                .await
                == Some(deliveries)
            && prometheus
                .value("sum(syncgov_errors_notifications_deliveries_total{channel=\"email\",reason=\"connect\"})")
                .await
                .is_some_and(|n| n >= 3.0)
            && prometheus
                .value("max(syncgov_errors_notifications_failing{channel=\"email\"})")
                .await
                == Some(1.0)
            && prometheus.value("sum(syncgov_errors_current)").await == Some(3.0)
            && prometheus
                .value("sum(syncgov_errors_resync_jobs_total)")
                .await
                == Some(2.0)
    })
    .await;
    let mut shown = Vec::new();
    for expr in [
        "sum(syncgov_quota_decisions_total)",
        "sum(syncgov_store_errors_total{kind=\"unavailable\"})",
        "sum(syncgov_errors_notifications_deliveries_total{channel=\"webhook\",result=\"delivered\"})",
        "sum(syncgov_errors_notifications_deliveries_total{channel=\"email\",reason=\"connect\"})",
        "max(syncgov_errors_notifications_failing{channel=\"email\"})",
        "sum(syncgov_errors_current)",
        "sum(syncgov_errors_resync_jobs_total)",
    ] {
        shown.push((expr, prometheus.value(expr).await));
    }
    assert!(
        settled,
        "Prometheus never showed the final counts: {tally:?}, {deliveries} deliveries; it shows {shown:#?}"
    );

    // Each service's last scrape: evaluated exactly there, a rate over a
    // window reaching back before the first scrape is the increase over
    // the window divided by its length, with no extrapolation (each
    // counter's first sample is 0, and the window ends on the last one).
    let mut at = BTreeMap::new();
    for service in ["quota-governor", "sync-errors"] {
        let samples = prometheus
            .query(
                &format!(
                    "timestamp(syncgov_store_errors_total{{kind=\"unavailable\",syncgov_service=\"{service}\"}})"
                ),
                None,
            )
            .await;
        assert_eq!(samples.len(), 1, "{service}: {samples:?}");
        at.insert(service, samples[0].value);
    }
    let window = started.elapsed().as_secs() + 60;

    // The dashboard's variables, as Grafana fills them in: each has values
    // (the job both services share; the two services apart), and a
    // variable set to all of them stands for their alternation.
    let (dashboard, expressions) = dashboard_expressions();
    let mut variables: Vec<(String, String)> = Vec::new();
    for variable in dashboard["templating"]["list"]
        .as_array()
        .expect("variables")
        .iter()
        .filter(|v| v["type"] == "query")
    {
        let name = variable["name"].as_str().expect("a name").to_owned();
        let mut query = variable["query"].as_str().expect("its query").to_owned();
        for (earlier, value) in &variables {
            query = query.replace(&format!("${earlier}"), value);
        }
        let (metric, label) = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|q| q.rsplit_once(", "))
            .expect("label_values(metric, label)");
        let mut values = prometheus.label_values(metric, label).await;
        values.sort();
        let expected: &[&str] = match name.as_str() {
            "job" => &["syncgov"],
            "service" => &["quota-governor", "sync-errors"],
            other => panic!("a variable this test does not know: {other}"),
        };
        assert_eq!(values, expected, "the values of ${name}");
        variables.push((name, values.join("|")));
    }
    assert_eq!(variables.len(), 2, "{variables:?}");

    let mut results: BTreeMap<String, BTreeMap<&str, Vec<Sample>>> = BTreeMap::new();
    for (title, expr) in &expressions {
        let mut promql = expr.replace("$__rate_interval", &format!("{window}s"));
        for (name, value) in &variables {
            promql = promql.replace(&format!("${name}"), value);
        }
        assert!(!promql.contains('$'), "a variable left in {promql}");
        for (service, time) in &at {
            let samples = prometheus.query(&promql, Some(*time)).await;
            assert!(
                !samples.is_empty(),
                "\"{title}\": no data at {service}'s last scrape for {promql}"
            );
            results
                .entry(expr.clone())
                .or_default()
                .insert(service, samples);
        }
    }
    assert!(expressions.len() >= 15, "{expressions:?}");

    // Key values. `count` turns a rate over the window back into a count.
    let count = |v: f64| (v * window as f64).round() as u64;
    let series = |fragment: &str, service: &str| -> Vec<Sample> {
        let (_, by_service) = results
            .iter()
            .find(|(expr, _)| expr.contains(fragment))
            .unwrap_or_else(|| panic!("no dashboard expression with {fragment}"));
        by_service[service].clone()
    };
    let by = |samples: &[Sample], label: &str, value: &str| -> f64 {
        samples
            .iter()
            .find(|s| s.label(label) == value)
            .map_or(0.0, |s| s.value)
    };

    let outcomes = series(
        "sum by (outcome) (rate(syncgov_quota_decisions_total",
        "quota-governor",
    );
    for outcome in ["granted", "denied"] {
        let expected: u64 = tally
            .decisions
            .iter()
            .filter(|((o, _), _)| o == outcome)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            count(by(&outcomes, "outcome", outcome)),
            expected,
            "{outcome}: {outcomes:?}"
        );
    }
    let denials = series(
        "sum by (reason) (rate(syncgov_quota_decisions_total",
        "quota-governor",
    );
    for ((outcome, reason), n) in &tally.decisions {
        if outcome == "denied" {
            assert_eq!(
                count(by(&denials, "reason", reason)),
                *n,
                "{reason}: {denials:?}"
            );
        }
    }
    assert!(
        tally
            .decisions
            .contains_key(&("denied".to_owned(), "suspended".to_owned())),
        "{tally:?}"
    );
    let tokens = series("syncgov_quota_tokens_granted_total", "quota-governor");
    for (org, n) in &tally.tokens {
        assert_eq!(count(by(&tokens, "org_id", org)), *n, "{org}: {tokens:?}");
    }
    for fragment in [
        "histogram_quantile(0.5,",
        "histogram_quantile(0.99,",
        "syncgov_quota_usage_ratio_bucket",
    ] {
        let quantiles = series(fragment, "quota-governor");
        assert!(
            quantiles.iter().any(|s| s.value.is_finite()),
            "{fragment}: {quantiles:?}"
        );
    }
    let suspensions = series("syncgov_quota_suspensions_active", "quota-governor");
    assert_eq!(
        suspensions.len(),
        13,
        "every reason, zero or not: {suspensions:?}"
    );

    let categories = series(
        "sum by (category) (rate(syncgov_errors_ingested_total",
        "sync-errors",
    );
    assert_eq!(
        count(by(&categories, "category", "PROPERTY_VALUES")),
        2,
        "{categories:?}"
    );
    assert_eq!(
        count(by(&categories, "category", "SUSPENSION")),
        1,
        "{categories:?}"
    );
    assert!(
        categories.iter().all(|s| !s.label("category").is_empty()),
        "{categories:?}"
    );
    let reasons = series("level=\"suspension\"", "sync-errors");
    assert_eq!(
        count(by(&reasons, "reason", "SALESFORCE_API_LIMIT_EXCEEDED")),
        1,
        "{reasons:?}"
    );
    let resyncs = series("syncgov_errors_resync_jobs_total", "sync-errors");
    for (outcome, state) in [
        ("success", "ERROR_STATE_RESOLVED"),
        ("failure", "ERROR_STATE_RESYNCING"),
    ] {
        let ended = resyncs
            .iter()
            .find(|s| s.label("outcome") == outcome && s.label("state") == state)
            .unwrap_or_else(|| panic!("no {outcome} -> {state}: {resyncs:?}"));
        assert_eq!(count(ended.value), 1, "{outcome} -> {state}: {resyncs:?}");
    }
    let deliveries_series = series(
        "syncgov_errors_notifications_deliveries_total",
        "sync-errors",
    );
    let delivery = |channel: &str, result: &str| {
        deliveries_series
            .iter()
            .find(|s| s.label("channel") == channel && s.label("result") == result)
            .map_or(0, |s| count(s.value))
    };
    assert_eq!(
        delivery("webhook", "delivered"),
        deliveries as u64,
        "{deliveries_series:?}"
    );
    assert_eq!(delivery("webhook", "failed"), 0, "{deliveries_series:?}");
    assert_eq!(delivery("email", "delivered"), 0, "{deliveries_series:?}");
    assert!(delivery("email", "failed") >= 3, "{deliveries_series:?}");
    // Every e-mail failed to connect, and only that.
    let mail_failures = series("channel=\"email\",result=\"failed\"", "sync-errors");
    assert_eq!(mail_failures.len(), 9, "every reason: {mail_failures:?}");
    for sample in &mail_failures {
        let n = count(sample.value);
        match sample.label("reason") {
            "connect" => assert!(n >= 3, "{mail_failures:?}"),
            _ => assert_eq!(n, 0, "{mail_failures:?}"),
        }
    }
    let failing = series("syncgov_errors_notifications_failing", "sync-errors");
    assert_eq!(by(&failing, "channel", "email"), 1.0, "{failing:?}");
    assert_eq!(by(&failing, "channel", "webhook"), 0.0, "{failing:?}");

    // The fleet's state: acme's r2 still resyncing and the failure its
    // worker reported (on a record of its own; r1 resolved), globex's
    // unknown error; nothing dead.
    for fragment in ["syncgov_errors_current", "syncgov_errors_impacted_records"] {
        let state = series(fragment, "sync-errors");
        assert_eq!(state.len(), 8, "every category: {state:?}");
        for sample in &state {
            let expected = match sample.label("category") {
                "PROPERTY_VALUES" => 2.0,
                "OTHER" => 1.0,
                _ => 0.0,
            };
            assert_eq!(sample.value, expected, "{fragment}: {state:?}");
        }
    }
    let dead = series("syncgov_errors_resync_dead", "sync-errors");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].value, 0.0, "{dead:?}");
    let queue = series("syncgov_errors_resync_queue", "sync-errors");
    assert_eq!(queue.len(), 2, "{queue:?}");

    for (service, expected) in &tally.unavailable {
        let store = series("syncgov_store_errors_total", service);
        let unavailable = store
            .iter()
            .find(|s| s.label("syncgov_service") == *service && s.label("kind") == "unavailable")
            .unwrap_or_else(|| panic!("{service}: {store:?}"));
        // At least the calls this test made; a follower's stream (sync-errors
        // follows the governor's suspensions and usage alerts) that met the
        // outage is refused UNAVAILABLE too, and counts, when it happens to.
        assert!(
            count(unavailable.value) >= *expected,
            "{service}: {store:?}"
        );
    }
    let refused = series("syncgov_calls_refused_total", "quota-governor");
    assert!(
        refused
            .iter()
            .any(|s| s.label("syncgov_service") == "sync-errors")
            && refused
                .iter()
                .any(|s| s.label("syncgov_service") == "quota-governor"),
        "both services apart under one job: {refused:?}"
    );

    // Every call answered, by method and status: the decisions (OK) and
    // the calls refused while Redis was away (14, UNAVAILABLE).
    let calls = series(
        "sum by (syncgov_service, rpc_method) (rate(syncgov_rpc_server_calls_total",
        "quota-governor",
    );
    let governor_calls = |method: &str| {
        calls
            .iter()
            .find(|s| {
                s.label("syncgov_service") == "quota-governor" && s.label("rpc_method") == method
            })
            .map_or(0, |s| count(s.value))
    };
    let unavailable = tally.unavailable["quota-governor"];
    assert_eq!(
        governor_calls("AcquireTokens"),
        tally.decisions_total() + unavailable,
        "{calls:?}"
    );
    let failed = series("rpc_grpc_status_code!=", "quota-governor");
    let failed_acquires: Vec<(&str, u64)> = failed
        .iter()
        .filter(|s| s.label("rpc_method") == "AcquireTokens" && count(s.value) > 0)
        .map(|s| (s.label("rpc_grpc_status_code"), count(s.value)))
        .collect();
    assert_eq!(failed_acquires, [("14", unavailable)], "{failed:?}");
    assert!(
        calls
            .iter()
            .all(|s| !s.label("rpc_method").is_empty() && !s.label("syncgov_service").is_empty()),
        "{calls:?}"
    );
    let builds = series("syncgov_build_info", "quota-governor");
    for service in ["quota-governor", "sync-errors"] {
        assert!(
            builds.iter().any(|s| s.label("syncgov_service") == service
                && s.label("version") == env!("CARGO_PKG_VERSION")
                && s.value == 1.0),
            "{service}: {builds:?}"
        );
    }

    // The alerts: Prometheus takes every rule's expression, and every
    // metric a rule reads is one the services export.
    let names = prometheus
        .get("/api/v1/label/__name__/values".to_owned())
        .await
        .expect("the metric names");
    let names: Vec<&str> = names
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    let rules = alert_rules();
    assert!(rules.len() >= 5, "{rules:?}");
    let metric = regex::Regex::new(r"syncgov_[a-z_]+").expect("a pattern");
    for (alert, expr) in &rules {
        let accepted = prometheus
            .get(format!("/api/v1/query?query={}", encode(expr)))
            .await;
        assert!(accepted.is_some(), "{alert}: Prometheus refused {expr}");
        // `syncgov_service` is the label, not a metric.
        for read in metric
            .find_iter(expr)
            .filter(|m| m.as_str() != "syncgov_service")
        {
            assert!(
                names.contains(&read.as_str()),
                "{alert} reads {}, which no service exports",
                read.as_str()
            );
        }
    }

    for admin in [governor_admin, errors_admin] {
        tokio::task::spawn_blocking(move || promtool_check(admin))
            .await
            .expect("promtool");
    }
    drop((governor, sync_errors, prometheus));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_from_the_moment_draining_begins() {
    let redis = RedisServer::start();
    let admin = syncgov_tests::free_addr();
    let governor = Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &redis.url(),
            // A call held by a paused Redis stays in flight.
            "--redis-timeout",
            "60s",
            "--shutdown-grace",
            "60s",
            "--admin-listen",
            &admin.to_string(),
        ],
    );
    let ready = eventually(PATIENCE, || async move {
        tokio::task::spawn_blocking(move || http_status(admin, "/readyz"))
            .await
            .unwrap()
            == 200
    })
    .await;
    assert!(ready, "never ready");

    // Writes (and scripts) wait while Redis is paused; the health check's
    // PING does not.
    let mut redis_connection = redis
        .client()
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis");
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(60_000)
        .arg("WRITE")
        .query_async(&mut redis_connection)
        .await
        .expect("CLIENT PAUSE");
    let mut client = QuotaGovernorClient::new(syncgov_tests::channel(governor.addr()).await);
    let in_flight = tokio::spawn(async move {
        client
            .acquire_tokens(quota::AcquireTokensRequest {
                org_id: "acme".into(),
                count: 1,
                priority: quota::Priority::Critical.into(),
                ..Default::default()
            })
            .await
    });
    // The call is in the server, its script held by the pause: only then
    // may draining begin (a call not yet received is refused, not drained).
    let held = eventually(PATIENCE, || {
        let mut conn = redis_connection.clone();
        async move {
            let clients: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            clients.lines().any(|c| {
                let field = |name: &str| {
                    c.split(' ')
                        .find_map(|f| f.strip_prefix(name))
                        .unwrap_or_default()
                };
                field("flags=").contains('b') && field("cmd=").starts_with("eval")
            })
        }
    })
    .await;
    let clients: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(&mut redis_connection)
        .await
        .unwrap_or_else(|e| e.to_string());
    assert!(held, "the call never reached the store: {clients}");
    // Still ready while the call waits.
    assert_eq!(
        tokio::task::spawn_blocking(move || http_status(admin, "/readyz"))
            .await
            .unwrap(),
        200
    );

    // SIGTERM: draining begins, the call holds the server in its grace
    // period, and the admin port says it is not ready.
    let pid = governor.pid().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
    let not_ready = eventually(PATIENCE, || async move {
        tokio::task::spawn_blocking(move || http_status(admin, "/readyz"))
            .await
            .unwrap()
            == 503
    })
    .await;
    assert!(not_ready, "/readyz still 200 while draining");
    assert!(!in_flight.is_finished(), "the call is still in flight");
    assert_eq!(
        tokio::task::spawn_blocking(move || http_status(admin, "/livez"))
            .await
            .unwrap(),
        200,
        "alive while draining"
    );

    let _: () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query_async(&mut redis_connection)
        .await
        .expect("CLIENT UNPAUSE");
    let finished = tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the call finishes once Redis answers")
        .expect("the call task");
    assert!(
        finished.is_ok(),
        "the call in flight is answered: {finished:?}"
    );
    drop(governor);
}
