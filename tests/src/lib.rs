//! The black-box test harness: real `redis-server` processes on unix sockets
//! in temporary directories, the services started on port 0 (in-process, or
//! as the shipped binaries), and gRPC clients for them. Everything started
//! here is stopped when its handle is dropped, by the PID we started.

pub mod cluster;
pub mod console;
pub mod governor;
pub mod outage;
pub mod pki;
pub mod smtp;
pub mod syncerrors;
pub mod webdriver;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use syncgov_kit::settings::RedisUrl;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The longest a test waits for something that must happen (a state a
/// background task reaches, a service that recovers, a load that gets
/// going): generous, so that a loaded machine only makes a test slower,
/// never fails it. A test that waits this long has failed.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty, uniquely named directory.
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "syncgov-{label}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `redis-server` listening only on a unix socket in its own directory:
/// no port to collide on, and a restart comes back at the same address.
pub struct RedisServer {
    dir: TempDir,
    child: Option<Child>,
    append_only: bool,
}

impl RedisServer {
    /// Starts a server that keeps nothing on disk.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts a server; with `append_only` it logs every write to an AOF in
    /// its directory, fsynced before the write is answered (`appendfsync
    /// always`), so a restart finds every acknowledged write again. With
    /// Redis's default `everysec`, a write can be answered while it waits in
    /// Redis's buffer for a slow fsync (up to 2 s on a busy disk), and a
    /// SIGKILL then loses it.
    pub fn start_with(append_only: bool) -> Self {
        let mut server = Self {
            dir: TempDir::new("redis"),
            child: None,
            append_only,
        };
        server.launch();
        server
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    fn launch(&mut self) {
        let socket = self.socket();
        let _ = std::fs::remove_file(&socket);
        let child = Command::new("redis-server")
            .args([
                "--port",
                "0",
                "--save",
                "",
                "--daemonize",
                "no",
                "--unixsocketperm",
                "700",
            ])
            .arg("--unixsocket")
            .arg(&socket)
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", if self.append_only { "yes" } else { "no" }])
            .args(["--appendfsync", "always"])
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (apt-get install redis-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(&socket) {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start; see {}",
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The URL services connect with.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// A plain client for checks the services do not expose.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a valid redis url")
    }

    /// Kills the server (SIGKILL): as abrupt as a crash.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again at the same socket, with the same data
    /// directory.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// True when a Redis answers PING on the unix socket.
fn ping(socket: &Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}

/// Where a service under test keeps its data: the behaviour suites run
/// every scenario on each (see [`on_every_store!`]).
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    /// The embedded store, in the service's memory.
    Memory,
    /// One `redis-server` of the test's own.
    Redis,
    /// A Redis Cluster of 3 masters, shared with other tests one at a time.
    Cluster,
}

impl Backend {
    /// Starts what the backend needs: nothing, a `redis-server`, or a lease
    /// on a pooled cluster (emptied for this test).
    pub fn start(self) -> Store {
        match self {
            Backend::Memory => Store {
                redis: None,
                cluster: None,
            },
            Backend::Redis => Store {
                redis: Some(RedisServer::start()),
                cluster: None,
            },
            Backend::Cluster => Store {
                redis: None,
                cluster: Some(cluster::lease()),
            },
        }
    }
}

/// The store a [`Backend`] started for one test; it runs as long as this
/// lives.
pub struct Store {
    redis: Option<RedisServer>,
    cluster: Option<cluster::ClusterLease>,
}

impl Store {
    /// The Redis URL for the services' settings (a single Redis only).
    pub fn redis_url(&self) -> Option<RedisUrl> {
        self.redis
            .as_ref()
            .map(|redis| redis.url().parse().expect("a valid redis url"))
    }

    /// The cluster's seed nodes for the services' settings (a cluster only).
    pub fn cluster_nodes(&self) -> Vec<RedisUrl> {
        self.cluster.as_ref().map_or_else(Vec::new, |cluster| {
            cluster
                .seeds()
                .iter()
                .map(|seed| seed.parse().expect("a valid cluster node"))
                .collect()
        })
    }

    /// The single Redis, for checks the services do not expose.
    pub fn redis(&self) -> Option<&RedisServer> {
        self.redis.as_ref()
    }
}

/// Runs each named scenario, an `async fn(Backend)` of the calling module,
/// as one test per store: `memory::NAME`, `redis::NAME` and `cluster::NAME`.
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Memory).await })*
        }
        mod redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Redis).await })*
        }
        mod cluster {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::Backend::Cluster).await })*
        }
    };
}

/// A service running inside the test process, on a port of its own; it
/// shuts down when dropped.
pub struct Service {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Service {
    /// Starts a quota governor with `settings` (its listen address is
    /// ignored: it binds 127.0.0.1:0).
    pub async fn governor(settings: quota_governor::config::Settings) -> Self {
        let listener = Self::listener().await;
        let app = quota_governor::app::build_with_listener(settings, listener)
            .expect("the governor builds");
        Self::spawn(app.local_addr(), |stopped| app.run(stopped))
    }

    /// Starts a quota governor listening at `addr` (a port chosen earlier,
    /// for a governor that starts after its clients).
    pub async fn governor_at(settings: quota_governor::config::Settings, addr: SocketAddr) -> Self {
        syncgov_kit::telemetry::init_for_tests();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind the chosen port");
        let app = quota_governor::app::build_with_listener(settings, listener)
            .expect("the governor builds");
        Self::spawn(app.local_addr(), |stopped| app.run(stopped))
    }

    /// Starts a sync-error service with `settings` (its listen address is
    /// ignored: it binds 127.0.0.1:0).
    pub async fn sync_errors(settings: sync_errors::config::Settings) -> Self {
        let listener = Self::listener().await;
        let app =
            sync_errors::app::build_with_listener(settings, listener).expect("sync-errors builds");
        Self::spawn(app.local_addr(), |stopped| app.run(stopped))
    }

    async fn listener() -> tokio::net::TcpListener {
        syncgov_kit::telemetry::init_for_tests();
        tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port")
    }

    fn spawn<F, Fut>(addr: SocketAddr, run: F) -> Self
    where
        F: FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run(Box::pin(async move {
            let _ = stopped.await;
        })));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A connected channel to it.
    pub async fn channel(&self) -> Channel {
        channel(self.addr).await
    }

    /// Stops it and waits until it has stopped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A loopback address with a port free now, for a server started later.
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// A connected channel to `addr`.
pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("a valid uri")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .connect()
        .await
        .expect("connect to the service")
}

/// The health status `service` reports at `addr` ("" for the whole server).
pub async fn health(addr: SocketAddr, service: &str) -> ServingStatus {
    let mut client = HealthClient::new(channel(addr).await);
    let reply = client
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .expect("the health service answers");
    ServingStatus::try_from(reply.into_inner().status).unwrap_or(ServingStatus::Unknown)
}

/// Waits up to `limit` for `service` at `addr` to report `status`; says
/// whether it did. Health follows the store from a background check.
pub async fn health_becomes(
    addr: SocketAddr,
    service: &str,
    status: ServingStatus,
    limit: Duration,
) -> bool {
    eventually(limit, || async { health(addr, service).await == status }).await
}

/// The services a server lists through gRPC reflection (v1).
pub async fn reflected_services(addr: SocketAddr) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(channel(addr).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection answers")
        .into_inner();
    match replies
        .message()
        .await
        .expect("a reply")
        .expect("one reply")
        .message_response
    {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection reply {other:?}"),
    }
}

/// Polls `probe` every 50 ms until it returns true or `limit` passes, and
/// says whether it did. For states reached by a background task (health),
/// not for measuring time.
pub async fn eventually<F, Fut>(limit: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if probe().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A loopback address nothing listens on, the `n`th: a port below 1024,
/// which no test binds. A freed ephemeral port (see [`free_addr`]) could be
/// taken by another test's server while a test counts on it staying shut.
pub fn nowhere(n: u16) -> SocketAddr {
    assert!((1..1024).contains(&n), "a port below 1024");
    SocketAddr::from(([127, 0, 0, 1], n))
}

/// Waits, when little of it is left, for the next bucket of the governor's
/// window (the default width, aligned on the clock), so that what a test
/// does within a few seconds falls in one bucket: the org-wide estimate
/// counts the grants from a report's bucket on.
pub async fn early_in_a_bucket() {
    let bucket = quota_governor::config::Settings::default()
        .bucket
        .as_millis();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_millis();
    let left = bucket - now % bucket;
    if left < bucket / 3 {
        let left = u64::try_from(left).expect("a bucket is short");
        tokio::time::sleep(Duration::from_millis(left + 100)).await;
    }
}

/// Path of a binary of this workspace, built beside the test binary.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

/// A service started as its shipped binary; killed when dropped.
pub struct Process {
    child: Child,
    addr: SocketAddr,
}

impl Process {
    /// Starts binary `name` with `args` (which should include a listen address
    /// of port 0) and waits for its "listening on ADDR" line.
    pub fn start(name: &str, args: &[&str]) -> Self {
        Self::start_with_env(name, args, &[])
    }

    /// As [`Process::start`], with `envs` set in its environment.
    pub fn start_with_env(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(binary(name))
            .args(args)
            .env("RUST_LOG", "warn")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the service binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the start-up line");
        let addr = line
            .split_whitespace()
            .find_map(|word| word.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no address in start-up line {line:?}"));
        Self { child, addr }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id, for signals a test sends itself.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {pid}");
        self.child.wait().expect("wait for the service")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver on a loopback port: records every HTTP request and
/// answers 200, or 500 to the first `failures` requests (to exercise
/// retries). Stops when dropped.
pub struct WebhookReceiver {
    addr: SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<WebhookRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

/// One request a [`WebhookReceiver`] got.
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    /// Header names in lower case, and their values.
    pub headers: std::collections::HashMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
}

impl WebhookReceiver {
    /// Starts a receiver that fails the first `failures` requests.
    pub async fn start(failures: usize) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("an address");
        let requests: std::sync::Arc<std::sync::Mutex<Vec<WebhookRequest>>> = Default::default();
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    loop {
                        // Read one request: headers, then content-length bytes.
                        let head_end = loop {
                            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                                break i + 4;
                            }
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buffer[..head_end]).to_string();
                        let headers: std::collections::HashMap<String, String> = head
                            .lines()
                            .skip(1)
                            .filter_map(|l| l.split_once(':'))
                            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                            .collect();
                        let length: usize = headers
                            .get("content-length")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        while buffer.len() < head_end + length {
                            let mut chunk = [0u8; 4096];
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let body = buffer[head_end..head_end + length].to_vec();
                        buffer.drain(..head_end + length);
                        let status = {
                            let mut seen = seen.lock().expect("the record");
                            let status = if seen.len() < failures { 500 } else { 200 };
                            seen.push(WebhookRequest {
                                headers,
                                body,
                                status,
                            });
                            status
                        };
                        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                        if socket.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/hooks/syncgov", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<WebhookRequest> {
        self.requests.lock().expect("the record").clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
