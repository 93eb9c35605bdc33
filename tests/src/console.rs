//! The console's test bench: both services in-process with authentication
//! on (a token file naming an admin, operators and a worker), the console
//! in-process in front of them, orgs with budgets, usage, suspensions and
//! sync errors, and a small HTTP/1.1 client that keeps cookies as a
//! browser does (and can be told not to, to play a forged request).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use quota_governor::config::Settings as GovernorSettings;
use sync_errors::config::Settings as SyncErrorsSettings;
use syncgov_api::quota::v1 as quota;
use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1 as errors;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_api::taxonomy::v1 as tx;
use syncgov_kit::auth::{AuthChannel, Bearer};
use syncgov_kit::security::SecuritySettings;
use syncgov_kit::server::ServerSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Backend, Service, Store, TempDir};

/// An admin of every org.
pub const ADMIN: &str = "admin-console-0123456789abcdef0123";
/// An operator of `acme` and `initech`.
pub const OPERATOR: &str = "operator-acme-0123456789abcdef0123";
/// A worker of `acme`.
pub const WORKER: &str = "worker-acme-0123456789abcdef012345";
/// An operator of `globex` only.
pub const GLOBEX: &str = "operator-globex-0123456789abcdef01";

/// Both services with authentication on, the console in front of them,
/// and the token file; everything stops when dropped.
pub struct Bench {
    /// The governor.
    pub governor: Service,
    /// The sync-error service.
    pub sync_errors: Service,
    /// The console's address.
    pub console: SocketAddr,
    _running: Console,
    _dir: TempDir,
    /// The services' store (nothing for the memory store), kept running as
    /// long as the bench.
    _store: Store,
}

/// A console running in the test process; it stops when dropped.
pub struct Console {
    /// Its address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Console {
    /// Starts a console with `settings` on a free loopback port (the
    /// listen address of `settings` is ignored).
    pub async fn start(settings: syncgov_console::config::Settings) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let app = syncgov_console::app::build_with_listener(settings, listener)
            .expect("the console builds");
        let addr = app.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run(Box::pin(async move {
            let _ = stopped.await;
        })));
        Self {
            addr,
            stop: Some(stop),
        }
    }

    /// An HTTP client of it with no cookies yet.
    pub fn client(&self) -> Client {
        Client {
            addr: self.addr,
            cookies: BTreeMap::new(),
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Bench {
    /// Starts the services on the memory store and the console, and seeds
    /// them (see [`Bench::seed`]).
    pub async fn start() -> Self {
        Self::on(Backend::Memory).await
    }

    /// As [`Bench::start`], with both services on `backend`'s store: on
    /// Redis, one `redis-server` of the test's own holds both (their keys
    /// never meet: `syncgov:quota:` and `syncgov:errors:`), as a deployment
    /// may.
    pub async fn on(backend: Backend) -> Self {
        let store = backend.start();
        let dir = TempDir::new("console");
        let tokens = dir.path().join("tokens");
        std::fs::write(
            &tokens,
            format!(
                "{ADMIN} admin * root\n{OPERATOR} operator acme,initech ops\n\
                 {WORKER} worker acme pool\n{GLOBEX} operator globex globex-ops\n"
            ),
        )
        .expect("write the token file");
        let security = SecuritySettings {
            auth_token_file: Some(tokens),
            ..SecuritySettings::default()
        };
        let governor = Service::governor(GovernorSettings {
            server: ServerSettings {
                security: security.clone(),
                redis_url: store.redis_url(),
                redis_cluster_nodes: store.cluster_nodes(),
                ..ServerSettings::default()
            },
            ..GovernorSettings::default()
        })
        .await;
        let sync_errors = Service::sync_errors(SyncErrorsSettings {
            server: ServerSettings {
                security,
                redis_url: store.redis_url(),
                redis_cluster_nodes: store.cluster_nodes(),
                ..ServerSettings::default()
            },
            ..SyncErrorsSettings::default()
        })
        .await;
        let console = Console::start(syncgov_console::config::Settings::local(
            "127.0.0.1:0".parse().expect("an address"),
            &governor.addr().to_string(),
            &sync_errors.addr().to_string(),
        ))
        .await;
        let bench = Self {
            governor,
            sync_errors,
            console: console.addr,
            _running: console,
            _dir: dir,
            _store: store,
        };
        bench.seed().await;
        if let Some(redis) = bench._store.redis() {
            // Both services keep what the seed made in this Redis, not in
            // memory.
            let mut conn = redis
                .client()
                .get_multiplexed_async_connection()
                .await
                .expect("connect to the test's Redis");
            for prefix in ["syncgov:quota:*", "syncgov:errors:*"] {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(prefix)
                    .query_async(&mut conn)
                    .await
                    .expect("KEYS");
                assert!(!keys.is_empty(), "no {prefix} key in the test's Redis");
            }
        }
        bench
    }

    /// A governor client calling with `token`.
    pub async fn governor_as(&self, token: &str) -> QuotaGovernorClient<AuthChannel> {
        QuotaGovernorClient::new(with(self.governor.channel().await, token))
    }

    /// A sync-error service client calling with `token`.
    pub async fn sync_errors_as(&self, token: &str) -> SyncErrorsClient<AuthChannel> {
        SyncErrorsClient::new(with(self.sync_errors.channel().await, token))
    }

    /// `acme`: a budget of 10 000 with 1 200 calls used, suspended for
    /// missing field permissions, 3 values too long and 2 bad e-mails on
    /// Contact. `globex`: suspended because its org is locked, one error.
    /// `initech`: a budget and nothing wrong.
    async fn seed(&self) {
        let mut admin = self.governor_as(ADMIN).await;
        for (org, allocation) in [("acme", 10_000), ("globex", 5_000), ("initech", 2_000)] {
            admin
                .set_budget(quota::SetBudgetRequest {
                    org_id: org.into(),
                    resource: quota::Resource::ApiRequests as i32,
                    budget: Some(quota::Budget {
                        org_limit: 100_000,
                        allocation,
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .await
                .expect("SetBudget");
        }
        let mut worker = self.governor_as(WORKER).await;
        for _ in 0..3 {
            let granted = worker
                .acquire_tokens(quota::AcquireTokensRequest {
                    org_id: "acme".into(),
                    count: 400,
                    ..Default::default()
                })
                .await
                .expect("AcquireTokens")
                .into_inner();
            assert!(granted.granted, "acme has room for 400 calls");
        }
        for (org, reason) in [
            ("acme", tx::SuspensionReason::MissingFieldPermissions),
            ("globex", tx::SuspensionReason::SalesforceOrgLocked),
        ] {
            admin
                .suspend(quota::SuspendRequest {
                    org_id: org.into(),
                    reason: reason as i32,
                    detail: "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY seen by a worker".into(),
                })
                .await
                .expect("Suspend");
        }
        let mut errors_admin = self.sync_errors_as(ADMIN).await;
        let mut failures = Vec::new();
        for i in 0..3 {
            failures.push(crate::syncerrors::failure(
                &format!("long-{i}"),
                "Contact",
                &format!("crm-long-{i}"),
                "too_long",
            ));
        }
        for i in 0..2 {
            failures.push(crate::syncerrors::failure(
                &format!("mail-{i}"),
                "Contact",
                &format!("crm-mail-{i}"),
                "email",
            ));
        }
        for (org, failures) in [
            ("acme", failures),
            (
                "globex",
                vec![crate::syncerrors::failure(
                    "g-0",
                    "Lead",
                    "crm-globex-0",
                    "email",
                )],
            ),
        ] {
            errors_admin
                .ingest_errors(errors::IngestErrorsRequest {
                    org_id: org.into(),
                    failures,
                })
                .await
                .expect("IngestErrors");
        }
    }

    /// The errors of `org` in `state` (every current one with 0), by record.
    pub async fn errors_of(&self, org: &str, state: errors::ErrorState) -> Vec<errors::SyncError> {
        self.sync_errors_as(ADMIN)
            .await
            .list_errors(errors::ListErrorsRequest {
                org_id: org.into(),
                filter: Some(errors::ErrorFilter {
                    state: state as i32,
                    ..Default::default()
                }),
                page_size: 500,
                page_token: String::new(),
            })
            .await
            .expect("ListErrors")
            .into_inner()
            .errors
    }

    /// The active suspensions of `org`.
    pub async fn suspensions_of(&self, org: &str) -> Vec<quota::Suspension> {
        self.governor_as(ADMIN)
            .await
            .list_suspensions(quota::ListSuspensionsRequest {
                org_id: org.into(),
                ..Default::default()
            })
            .await
            .expect("ListSuspensions")
            .into_inner()
            .suspensions
    }

    /// An HTTP client of the console with no cookies yet.
    pub fn client(&self) -> Client {
        Client {
            addr: self.console,
            cookies: BTreeMap::new(),
        }
    }
}

fn with(channel: tonic::transport::Channel, token: &str) -> AuthChannel {
    tonic::service::interceptor::InterceptedService::new(
        channel,
        Bearer::fixed(token).expect("a printable token"),
    )
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Every header, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// The first value of header `name` (lower case), or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every `Set-Cookie` value naming cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.as_str())
            .find(|v| v.starts_with(&format!("{name}=")))
    }

    /// The value of the first field `name` of the page (hidden fields
    /// written as `name="NAME" value="…"`), or `None`.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self.body.find(&marker)? + marker.len();
        Some(self.body[start..].split('"').next()?.to_owned())
    }

    /// The hidden fields the budget forms carry back (what the page showed
    /// of the budget), as form pairs.
    pub fn seen(&self) -> Vec<(&'static str, String)> {
        syncgov_console::stale::FIELDS
            .iter()
            .map(|&name| {
                let value = self
                    .field(name)
                    .unwrap_or_else(|| panic!("no {name} field in {}", self.body));
                (name, value)
            })
            .collect()
    }

    /// The value of the first hidden `csrf` field of the page.
    pub fn csrf(&self) -> String {
        let marker = r#"name="csrf" value=""#;
        let start = self
            .body
            .find(marker)
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.body))
            + marker.len();
        self.body[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A cookie-keeping HTTP/1.1 client of the console.
#[derive(Clone)]
pub struct Client {
    addr: SocketAddr,
    /// Cookies by name, as the console set them.
    pub cookies: BTreeMap<String, String>,
}

impl Client {
    /// A client of the console at `addr`, with no cookies yet.
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            addr,
            cookies: BTreeMap::new(),
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, "").await
    }

    /// `POST path` with `fields` form-encoded.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        self.send("POST", path, &body.finish()).await
    }

    /// `POST path` with `fields` and the hidden fields of `page` that say
    /// which budget it showed (as the org page's budget forms post).
    pub async fn post_seen(&mut self, path: &str, page: &Reply, fields: &[(&str, &str)]) -> Reply {
        let seen = page.seen();
        let mut all = fields.to_vec();
        all.extend(seen.iter().map(|(k, v)| (*k, v.as_str())));
        self.post(path, &all).await
    }

    /// Signs in with `token` (none: without a token); returns the answer
    /// to the sign-in post.
    pub async fn sign_in(&mut self, token: Option<&str>) -> Reply {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        match token {
            Some(token) => {
                self.post("/sign-in", &[("csrf", &csrf), ("token", token)])
                    .await
            }
            None => {
                self.post("/sign-in", &[("csrf", &csrf), ("without_token", "1")])
                    .await
            }
        }
    }

    /// Follows a 303 from `reply` with a GET.
    pub async fn follow(&mut self, reply: &Reply) -> Reply {
        assert_eq!(reply.status, 303, "a redirect: {}", reply.body);
        let to = reply.header("location").to_owned();
        self.get(&to).await
    }

    async fn send(&mut self, method: &str, path: &str, body: &str) -> Reply {
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect to the console");
        let cookies: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if !cookies.is_empty() {
            request.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
        }
        if method == "POST" {
            request.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read the answer");
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").expect("a header block");
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked {
            dechunk(body)
        } else {
            body.to_owned()
        };
        for (_, value) in headers.iter().filter(|(n, _)| n == "set-cookie") {
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((name, v)) = pair.split_once('=') {
                if v.is_empty() || value.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), v.to_owned());
                }
            }
        }
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// A chunked body's data.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}
