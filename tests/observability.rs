//! Traces: both services, started as their binaries with the standard
//! `OTEL_*` variables, export to an OTLP receiver started by the test. One
//! IngestErrors call that carries a `traceparent` makes one trace that runs
//! through sync-errors and on into the governor's Suspend.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_tests::PATIENCE;
use syncgov_tests::{Process, RedisServer, eventually};
use tokio_stream::wrappers::TcpListenerStream;

/// A received span with the service that sent it.
#[derive(Clone, Debug)]
struct Received {
    service: String,
    span: opentelemetry_proto::tonic::trace::v1::Span,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<String> {
        self.span
            .attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref())
            .and_then(|v| v.value.as_ref())
            .map(|v| match v {
                Value::StringValue(s) => s.clone(),
                Value::IntValue(i) => i.to_string(),
                Value::BoolValue(b) => b.to_string(),
                Value::DoubleValue(d) => d.to_string(),
                other => format!("{other:?}"),
            })
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn trace_id(&self) -> String {
        Self::hex(&self.span.trace_id)
    }

    fn span_id(&self) -> String {
        Self::hex(&self.span.span_id)
    }

    fn parent_id(&self) -> String {
        Self::hex(&self.span.parent_span_id)
    }
}

/// An OTLP/gRPC trace receiver that keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| a.value.as_ref())
                .and_then(|v| match &v.value {
                    Some(Value::StringValue(s)) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push(Received {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

impl Receiver {
    async fn start() -> (Self, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let receiver = Self::default();
        let server = tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener));
        tokio::spawn(server);
        (receiver, format!("http://{addr}"))
    }

    fn of_trace(&self, trace_id: &str) -> Vec<Received> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .filter(|s| s.trace_id() == trace_id)
            .cloned()
            .collect()
    }
}

/// The standard variables that turn traces on, towards `endpoint`.
fn otel_env(endpoint: &str, service: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        ("OTEL_SERVICE_NAME", service.to_owned()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=test".to_owned(),
        ),
        // Export within a tenth of a second rather than five.
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ]
}

fn borrowed<'a>(vars: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    vars.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ingest_is_one_trace_through_both_services() {
    let (receiver, endpoint) = Receiver::start().await;
    let redis = RedisServer::start();
    let url = redis.url();
    let governor_env = otel_env(&endpoint, "quota-governor");
    let errors_env = otel_env(&endpoint, "sync-errors");
    let governor = Process::start_with_env(
        "quota-governor",
        &["--listen", "127.0.0.1:0", "--redis-url", &url],
        &borrowed(&governor_env),
    );
    let governor_addr = format!("http://{}", governor.addr());
    let sync_errors = Process::start_with_env(
        "sync-errors",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &url,
            "--governor-addr",
            &governor_addr,
        ],
        &borrowed(&errors_env),
    );

    // The worker's own span: the parent the whole trace hangs from.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let worker_span = "00f067aa0ba902b7";
    let mut client = SyncErrorsClient::new(syncgov_tests::channel(sync_errors.addr()).await);
    let mut request = tonic::Request::new(errors::IngestErrorsRequest {
        org_id: "acme".into(),
        failures: vec![errors::Failure {
            idempotency_key: "k1".into(),
            object_type: "Contact".into(),
            crm_record_id: "c1".into(),
            status_code: "REQUEST_LIMIT_EXCEEDED".into(),
            message: "TotalRequests Limit exceeded.".into(),
            direction: errors::Direction::ToSalesforce.into(),
            ..Default::default()
        }],
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{worker_span}-01").parse().unwrap(),
    );
    client.ingest_errors(request).await.expect("IngestErrors");

    let arrived = eventually(Duration::from_secs(20), || {
        let receiver = receiver.clone();
        async move {
            // The governor's span, and the relay's that ends after it.
            let spans = receiver.of_trace(trace_id);
            [SpanKind::Server, SpanKind::Client].iter().all(|kind| {
                spans.iter().any(|s| {
                    s.span.name == "syncgov.quota.v1.QuotaGovernor/Suspend"
                        && s.span.kind == *kind as i32
                })
            })
        }
    })
    .await;
    let spans = receiver.of_trace(trace_id);
    let names: Vec<(String, String, String, String)> = spans
        .iter()
        .map(|s| {
            (
                s.service.clone(),
                s.span.name.clone(),
                s.span_id(),
                s.parent_id(),
            )
        })
        .collect();
    assert!(arrived, "no Suspend span in the trace: {names:#?}");
    let find = |service: &str, name: &str, kind: SpanKind| -> Received {
        spans
            .iter()
            .find(|s| s.service == service && s.span.name == name && s.span.kind == kind as i32)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind:?} span {name} of {service}: {names:#?}"))
    };
    let children_of = |parent: &Received| -> Vec<Received> {
        spans
            .iter()
            .filter(|s| s.parent_id() == parent.span_id())
            .cloned()
            .collect()
    };

    // sync-errors' server span, under the worker's span, after the RPC
    // conventions.
    let ingest = find(
        "sync-errors",
        "syncgov.syncerrors.v1.SyncErrors/IngestErrors",
        SpanKind::Server,
    );
    assert_eq!(ingest.parent_id(), worker_span);
    assert_eq!(ingest.attribute("rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        ingest.attribute("rpc.service").as_deref(),
        Some("syncgov.syncerrors.v1.SyncErrors")
    );
    assert_eq!(
        ingest.attribute("rpc.method").as_deref(),
        Some("IngestErrors")
    );
    assert_eq!(
        ingest.attribute("rpc.grpc.status_code").as_deref(),
        Some("0")
    );

    // Its handler says what happened; under it, classification and the
    // Redis call.
    let handler = children_of(&ingest)
        .into_iter()
        .find(|s| s.span.name == "ingest_errors")
        .unwrap_or_else(|| panic!("no handler span under the server span: {names:#?}"));
    assert_eq!(handler.attribute("org_id").as_deref(), Some("acme"));
    assert_eq!(handler.attribute("failures").as_deref(), Some("1"));
    assert_eq!(handler.attribute("suspensions").as_deref(), Some("1"));
    assert_eq!(
        handler.attribute("classifications").as_deref(),
        Some("SALESFORCE_API_LIMIT_EXCEEDED")
    );
    let steps = children_of(&handler);
    assert!(
        steps.iter().any(|s| s.span.name == "classify"),
        "{names:#?}"
    );
    let store = steps
        .iter()
        .find(|s| s.span.name == "EVALSHA ingest")
        .unwrap_or_else(|| panic!("no Redis span: {names:#?}"));
    assert_eq!(store.attribute("db.system").as_deref(), Some("redis"));
    assert_eq!(store.attribute("db.operation").as_deref(), Some("EVALSHA"));
    assert_eq!(store.span.kind, SpanKind::Client as i32);

    // The relay's call to the governor continues the ingest's trace...
    let relay = find(
        "sync-errors",
        "syncgov.quota.v1.QuotaGovernor/Suspend",
        SpanKind::Client,
    );
    assert_eq!(relay.parent_id(), handler.span_id());
    assert_eq!(
        relay.attribute("suspension_reason").as_deref(),
        Some("SALESFORCE_API_LIMIT_EXCEEDED")
    );
    // ...and the governor's server span hangs from it.
    let suspend = find(
        "quota-governor",
        "syncgov.quota.v1.QuotaGovernor/Suspend",
        SpanKind::Server,
    );
    assert_eq!(suspend.parent_id(), relay.span_id());
    assert_eq!(suspend.attribute("rpc.method").as_deref(), Some("Suspend"));
    assert_eq!(
        suspend.attribute("rpc.grpc.status_code").as_deref(),
        Some("0")
    );
    let governor_steps: Vec<Received> = spans
        .iter()
        .filter(|s| s.service == "quota-governor" && s.span.name == "EVALSHA suspend")
        .cloned()
        .collect();
    assert_eq!(governor_steps.len(), 1, "{names:#?}");
    assert_eq!(
        governor_steps[0].attribute("db.system").as_deref(),
        Some("redis")
    );

    drop((governor, sync_errors));
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_port_shows_the_counters_moving() {
    use syncgov_api::quota::v1 as quota;
    use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;

    let redis = RedisServer::start();
    let url = redis.url();
    let admin = syncgov_tests::free_addr().to_string();
    let governor = Process::start(
        "quota-governor",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &url,
            "--admin-listen",
            &admin,
            "--metrics-orgs",
            "acme",
        ],
    );
    let admin: std::net::SocketAddr = admin.parse().unwrap();
    let mut client = QuotaGovernorClient::new(syncgov_tests::channel(governor.addr()).await);
    for org in ["acme", "globex"] {
        client
            .set_budget(quota::SetBudgetRequest {
                expected_revision: String::new(),
                org_id: org.into(),
                resource: 0,
                budget: Some(quota::Budget {
                    org_limit: 100,
                    allocation: 3,
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    // Before any decision, every counter is there at 0.
    let zeros = [
        "syncgov_quota_decisions_total{org_id=\"acme\",outcome=\"granted\",reason=\"\",syncgov_service=\"quota-governor\"} 0",
        "syncgov_quota_decisions_total{org_id=\"other\",outcome=\"denied\",reason=\"suspended\",syncgov_service=\"quota-governor\"} 0",
        "syncgov_quota_tokens_granted_total{org_id=\"acme\",syncgov_service=\"quota-governor\"} 0",
        "syncgov_store_errors_total{kind=\"unavailable\",syncgov_service=\"quota-governor\"} 0",
        "syncgov_calls_refused_total{reason=\"unknown_grant\",syncgov_service=\"quota-governor\"} 0",
    ];
    let at_zero = eventually(PATIENCE, || async move {
        let text = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .unwrap();
        zeros.iter().all(|line| text.contains(line))
    })
    .await;
    let before = scrape(admin);
    assert!(at_zero, "{zeros:#?} not all in:\n{before}");
    for org in ["acme", "acme", "acme", "acme", "globex"] {
        client
            .acquire_tokens(quota::AcquireTokensRequest {
                org_id: org.into(),
                count: 1,
                priority: quota::Priority::Critical.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let expected = [
        "syncgov_quota_decisions_total{org_id=\"acme\",outcome=\"granted\",reason=\"\",syncgov_service=\"quota-governor\"} 3",
        "syncgov_quota_decisions_total{org_id=\"acme\",outcome=\"denied\",reason=\"allocation_exhausted\",syncgov_service=\"quota-governor\"} 1",
        "syncgov_quota_decisions_total{org_id=\"other\",outcome=\"granted\",reason=\"\",syncgov_service=\"quota-governor\"} 1",
        "syncgov_quota_tokens_granted_total{org_id=\"acme\",syncgov_service=\"quota-governor\"} 3",
        "syncgov_quota_decision_duration_seconds_count{outcome=\"granted\",reason=\"\",syncgov_service=\"quota-governor\"} 4",
        "syncgov_quota_suspensions_active{reason=\"INTEGRATION_API_LIMIT_EXCEEDED\",syncgov_service=\"quota-governor\"} 1",
    ];
    // The endpoint shows a collection at most a second old.
    let moved = eventually(PATIENCE, || async move {
        let text = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .unwrap();
        expected.iter().all(|line| text.contains(line))
    })
    .await;
    let text = scrape(admin);
    assert!(moved, "{expected:#?} not all in:\n{text}");
    assert!(
        text.contains("# TYPE syncgov_quota_decision_duration_seconds histogram"),
        "{text}"
    );
    drop(governor);
}

/// Shadow mode on `store_args` (nothing: the memory store): 150 calls
/// against an allocation of 100 are all granted, and the 50 the allocation
/// would have denied are counted by the shadow counter, from 0.
async fn shadow_denials_are_counted(store_args: &[&str]) {
    use syncgov_api::quota::v1 as quota;
    use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;

    let admin = syncgov_tests::free_addr().to_string();
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--admin-listen",
        &admin,
        "--metrics-orgs",
        "acme",
    ];
    args.extend_from_slice(store_args);
    let governor = Process::start("quota-governor", &args);
    let admin: std::net::SocketAddr = admin.parse().unwrap();
    let mut client = QuotaGovernorClient::new(syncgov_tests::channel(governor.addr()).await);
    client
        .set_budget(quota::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: "acme".into(),
            resource: 0,
            budget: Some(quota::Budget {
                org_limit: 1_000,
                allocation: 100,
                shadow: true,
                ..Default::default()
            }),
        })
        .await
        .unwrap();
    let zeros = [
        "syncgov_quota_shadow_denials_total{org_id=\"acme\",reason=\"allocation_exhausted\",syncgov_service=\"quota-governor\"} 0",
        "syncgov_quota_shadow_denials_total{org_id=\"other\",reason=\"priority_share_exhausted\",syncgov_service=\"quota-governor\"} 0",
    ];
    let at_zero = eventually(PATIENCE, || async move {
        let text = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .unwrap();
        zeros.iter().all(|line| text.contains(line))
    })
    .await;
    let before = scrape(admin);
    assert!(at_zero, "{zeros:#?} not all in:\n{before}");
    let mut granted = 0;
    for _ in 0..150 {
        let reply = client
            .acquire_tokens(quota::AcquireTokensRequest {
                org_id: "acme".into(),
                count: 1,
                priority: quota::Priority::Critical.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        granted += u64::from(reply.granted);
    }
    assert_eq!(granted, 150);
    let expected = [
        "syncgov_quota_shadow_denials_total{org_id=\"acme\",reason=\"allocation_exhausted\",syncgov_service=\"quota-governor\"} 50",
        "syncgov_quota_shadow_denials_total{org_id=\"acme\",reason=\"priority_share_exhausted\",syncgov_service=\"quota-governor\"} 0",
        "syncgov_quota_decisions_total{org_id=\"acme\",outcome=\"granted\",reason=\"\",syncgov_service=\"quota-governor\"} 150",
        "syncgov_quota_decisions_total{org_id=\"acme\",outcome=\"denied\",reason=\"allocation_exhausted\",syncgov_service=\"quota-governor\"} 0",
    ];
    let moved = eventually(PATIENCE, || async move {
        let text = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .unwrap();
        expected.iter().all(|line| text.contains(line))
    })
    .await;
    let text = scrape(admin);
    assert!(moved, "{expected:#?} not all in:\n{text}");
    drop(governor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_denials_are_counted_on_memory() {
    shadow_denials_are_counted(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_denials_are_counted_on_redis() {
    let redis = RedisServer::start();
    let url = redis.url();
    shadow_denials_are_counted(&["--redis-url", &url]).await;
}

#[test]
fn the_dashboard_uses_only_metrics_the_services_document() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dashboard =
        std::fs::read_to_string(root.join("deploy/observability/grafana-dashboard.json")).unwrap();
    let docs = std::fs::read_to_string(root.join("docs/OBSERVABILITY.md")).unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    assert!(parsed["panels"].as_array().is_some_and(|p| p.len() >= 10));
    let mut names: Vec<String> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("syncgov_"))
        .map(|w| {
            w.trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count")
                .to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        assert!(
            docs.contains(&format!("`{name}`")),
            "{name} is charted but not documented"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_errors_counts_ingests_and_measures_its_queue() {
    let redis = RedisServer::start();
    let url = redis.url();
    let admin = syncgov_tests::free_addr().to_string();
    let service = Process::start(
        "sync-errors",
        &[
            "--listen",
            "127.0.0.1:0",
            "--redis-url",
            &url,
            "--admin-listen",
            &admin,
        ],
    );
    let admin: std::net::SocketAddr = admin.parse().unwrap();
    let mut client = SyncErrorsClient::new(syncgov_tests::channel(service.addr()).await);
    let failure = |key: &str, record: &str| errors::Failure {
        idempotency_key: key.into(),
        object_type: "Contact".into(),
        crm_record_id: record.into(),
        status_code: "STRING_TOO_LONG".into(),
        message: "Description: data value too large: x (max length=255)".into(),
        fields: vec!["Description".into()],
        direction: errors::Direction::ToSalesforce.into(),
        ..Default::default()
    };
    let reply = client
        .ingest_errors(errors::IngestErrorsRequest {
            org_id: "acme".into(),
            // The repeat of k1 is not counted again.
            failures: vec![
                failure("k1", "c1"),
                failure("k2", "c2"),
                failure("k1", "c1"),
            ],
        })
        .await
        .unwrap()
        .into_inner();
    client
        .resync_errors(errors::ResyncErrorsRequest {
            org_id: "acme".into(),
            error_ids: vec![reply.results[0].error_id.clone()],
        })
        .await
        .unwrap();
    let expected = [
        "syncgov_errors_ingested_total{category=\"PROPERTY_VALUES\",level=\"record\",reason=\"STRING_TOO_LONG\",syncgov_service=\"sync-errors\"} 2",
        "syncgov_errors_ingested_total{category=\"SUSPENSION\",level=\"suspension\",reason=\"SALESFORCE_API_LIMIT_EXCEEDED\",syncgov_service=\"sync-errors\"} 0",
        "syncgov_errors_resync_queue{state=\"waiting\",syncgov_service=\"sync-errors\"} 1",
        "syncgov_errors_resync_queue{state=\"claimed\",syncgov_service=\"sync-errors\"} 0",
    ];
    let moved = eventually(Duration::from_secs(15), || async move {
        let text = tokio::task::spawn_blocking(move || scrape(admin))
            .await
            .unwrap();
        expected.iter().all(|line| text.contains(line))
    })
    .await;
    let text = scrape(admin);
    assert!(moved, "{expected:#?} not all in:\n{text}");
    drop(service);
}
