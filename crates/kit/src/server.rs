//! Server plumbing shared by the services: the routes every service has
//! (health, reflection), health that follows the store, serving until
//! shutdown with a grace period (streams ended at once, see
//! [`crate::drain`]), and the life of a service binary.

use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::layer::util::{Identity, Stack};

use crate::auth::{AuthLayer, Policy};
use crate::drain::{Drain, DrainLayer};
use crate::fairness::CallerLimitLayer;
use crate::reload::Reloading;
use crate::rpc_metrics::{RpcMethods, RpcMetricsLayer};
use crate::rpc_trace::RpcTraceLayer;
use crate::security::SecuritySettings;
use crate::settings::{RedisUrl, parse_cluster_node, parse_duration};
use crate::task::BoxFuture;
use crate::telemetry::{self, LogFormat};
use crate::tls::ServerConfigs;

/// The routes of a service, each call in its server span with its
/// server's drain at hand, its caller checked and held to its bound.
pub type Router = tonic::transport::server::Router<
    Stack<
        CallerLimitLayer,
        Stack<AuthLayer, Stack<DrainLayer, Stack<RpcTraceLayer, Stack<RpcMetricsLayer, Identity>>>>,
    >,
>;

/// A service ready to serve: listener bound, store opened, routes built.
/// Both `main` and the tests run exactly this.
pub struct Prepared {
    /// The bound listener.
    pub listener: TcpListener,
    /// Every route: the service's, health and reflection.
    pub router: Router,
    /// Reports health; set NOT_SERVING when shutdown begins.
    pub health: HealthReporter,
    /// The service's full name, for health.
    pub service: &'static str,
    /// Everything that runs beside the server while it serves: the store's
    /// health watch and the service's own followers; stopped at shutdown.
    pub background: BoxFuture,
    /// How long in-flight calls get after shutdown begins.
    pub grace: Duration,
    /// Where the data is kept, for the start-up line (passwords hidden).
    pub store_description: String,
    /// TLS of the listener, and the watcher of its files.
    pub transport: Transport,
    /// Fired when shutdown begins, to end the streams ([`Base::drain`]).
    pub drain: Drain,
}

/// How connections are taken: plain TCP or TLS, whose files are re-read as
/// they are rotated.
pub struct Transport {
    tls: Option<Arc<Reloading<ServerConfigs>>>,
    watch: BoxFuture,
}

impl Transport {
    /// True when the listener speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// What every service's router starts from.
pub struct Base {
    /// Health, reflection, and the layers every call goes through.
    pub router: Router,
    /// Reports health.
    pub health: HealthReporter,
    /// Plain TCP or TLS.
    pub transport: Transport,
    /// Fired by [`Prepared::run`] as soon as shutdown begins; every call
    /// finds it with [`Drain::of`], and streaming handlers end their
    /// streams with it ([`Drain::end_stream`]). Goes into
    /// [`Prepared::drain`].
    pub drain: Drain,
}

impl Prepared {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where the data is kept.
    pub fn store_description(&self) -> &str {
        &self.store_description
    }

    /// Serves until `shutdown` resolves, then stops taking new calls, reports
    /// NOT_SERVING, ends open streams with UNAVAILABLE (its drain), and lets
    /// in-flight calls finish for up to the grace period.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        serve(self, shutdown).await
    }
}

/// The settings every syncgov server has: where it listens, where its data
/// lives, its timeouts and bounds, its logs and its security. Each service
/// flattens them into its own settings and gives them its environment
/// prefix ([`crate::settings::with_env_prefix`]) and its default address.
#[derive(Clone, Debug, clap::Args)]
pub struct ServerSettings {
    /// Address the gRPC server listens on (0.0.0.0:PORT in a container).
    #[arg(long)]
    pub listen: SocketAddr,

    /// Redis URL (`redis://[:password@]host:port/db`, `rediss://` for TLS, or
    /// `redis+unix:///path/to/socket`). Without it the data lives in this
    /// process's memory: one replica, nothing kept across restarts.
    #[arg(long)]
    pub redis_url: Option<RedisUrl>,

    /// Nodes of a Redis Cluster to keep the data in, instead of --redis-url:
    /// comma-separated `host:port` or `redis://[:password@]host:port`. A few
    /// are enough; the client finds the others, and follows failovers.
    #[arg(
        long,
        value_delimiter = ',',
        value_parser = parse_cluster_node,
        conflicts_with = "redis_url"
    )]
    pub redis_cluster_nodes: Vec<RedisUrl>,

    /// Longest wait for Redis to connect or answer before a call fails with
    /// UNAVAILABLE.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub redis_timeout: Duration,

    /// Replicas every grant and every ingest must reach (Redis `WAIT`)
    /// before it is acknowledged, so that a failover to a replica loses
    /// nothing acknowledged; fewer within --redis-wait-timeout answers
    /// UNAVAILABLE (safe to retry). 0: acknowledged once the master has it.
    #[arg(long, default_value_t = 0)]
    pub redis_wait_replicas: u32,

    /// Longest wait for --redis-wait-replicas replicas to acknowledge.
    #[arg(long, default_value = "100ms", value_parser = parse_duration)]
    pub redis_wait_timeout: Duration,

    /// How often the store is checked for the gRPC health service.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub health_interval: Duration,

    /// How long in-flight calls may take to finish after SIGTERM; open
    /// streams are ended at once with UNAVAILABLE.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Threads serving calls; 0 means one per CPU. On a small node shared
    /// with Redis, fewer threads than CPUs can serve more calls per second;
    /// 1 runs every call on one thread in turn, so the replies of calls
    /// that finish together leave in one write.
    #[arg(long, default_value_t = 0)]
    pub worker_threads: usize,

    /// Calls one connection may have in flight; more wait their turn, so
    /// one busy caller cannot take every worker from the others.
    #[arg(long, default_value_t = 256)]
    pub max_concurrent_calls_per_connection: usize,

    /// Calls one caller (a token's subject, else an IP address) may have in
    /// flight across all its connections; more are refused with
    /// RESOURCE_EXHAUSTED. 0 turns the bound off.
    #[arg(long, default_value_t = 1024)]
    pub max_concurrent_calls_per_caller: usize,

    /// Streams one caller may have open at once (decision streams, watches,
    /// exports), counted among its calls too; more are refused with
    /// RESOURCE_EXHAUSTED. Each open stream holds memory and a task. 0
    /// turns this bound off.
    #[arg(long, default_value_t = 100)]
    pub max_streams_per_caller: usize,

    /// Longest a call may take before it answers (CANCELLED "Timeout
    /// expired" afterwards, safe to retry); a caller's shorter grpc-timeout
    /// wins. Streams' messages are not bounded by it.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Address of the admin port serving Prometheus metrics at `/metrics`
    /// and probes at `/livez` and `/readyz` (for example 0.0.0.0:9464).
    /// Unset: no admin port.
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,

    /// Orgs whose metrics carry their own `org_id` label (comma-separated);
    /// all others share `other`, so that metrics stay bounded however many
    /// orgs there are.
    #[arg(long, value_delimiter = ',')]
    pub metrics_orgs: Vec<String>,

    /// Log format: text for terminals, json for log collectors. Levels
    /// come from RUST_LOG (default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// How long the audit trail keeps an operator's or admin's change
    /// (older events are dropped on the next change and never listed).
    #[arg(long, default_value = "90d", value_parser = parse_duration)]
    pub audit_retention: Duration,

    /// Most events the audit trail keeps, the newest (at least 1).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub audit_max_events: u64,

    /// TLS and authentication of the listener.
    #[command(flatten)]
    pub security: SecuritySettings,
}

impl ServerSettings {
    /// The defaults `--help` shows, listening on `listen`.
    pub fn listening_on(listen: SocketAddr) -> Self {
        Self {
            listen,
            redis_url: None,
            redis_cluster_nodes: Vec::new(),
            redis_timeout: Duration::from_secs(1),
            redis_wait_replicas: 0,
            redis_wait_timeout: Duration::from_millis(100),
            health_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            worker_threads: 0,
            max_concurrent_calls_per_connection: 256,
            max_concurrent_calls_per_caller: 1024,
            max_streams_per_caller: 100,
            request_timeout: Duration::from_secs(30),
            admin_listen: None,
            metrics_orgs: Vec::new(),
            log_format: LogFormat::Text,
            audit_retention: Duration::from_secs(90 * 86_400),
            audit_max_events: 100_000,
            security: SecuritySettings::default(),
        }
    }

    /// The audit trail's bounds.
    pub fn audit_retention(&self) -> crate::audit::Retention {
        crate::audit::Retention {
            max_age: self.audit_retention,
            max_events: self.audit_max_events,
        }
    }

    /// The audit trail in the store these settings name, under `key` (a
    /// hash-tagged stream key); in memory without Redis.
    pub fn audit_log(&self, key: &str) -> Result<crate::audit::AuditLog, crate::store::StoreError> {
        let retention = self.audit_retention();
        match crate::redis_conn::Endpoint::from_settings(
            self.redis_url.as_ref(),
            &self.redis_cluster_nodes,
        ) {
            Some((endpoint, _)) => Ok(crate::audit::AuditLog::redis(
                endpoint.connect(self.redis_timeout)?,
                key.to_owned(),
                retention,
            )),
            None => Ok(crate::audit::AuditLog::memory(retention)),
        }
    }

    /// How many replicas must acknowledge a write, and how long to wait
    /// for them; `None` when writes are acknowledged once the master has
    /// them.
    pub fn durability(&self) -> Option<crate::redis_conn::Durability> {
        (self.redis_wait_replicas > 0).then_some(crate::redis_conn::Durability {
            replicas: self.redis_wait_replicas,
            timeout: self.redis_wait_timeout,
        })
    }

    /// Checks the settings that only make sense together; the error names
    /// the flags and the rule. The store's timeout bounds every call, the
    /// wait for replicas included, so a wait as long would be cut short and
    /// answer a bare time-out rather than the replicas missing.
    pub fn check(&self) -> Result<(), String> {
        if self.redis_wait_replicas > 0 && self.redis_wait_timeout >= self.redis_timeout {
            return Err(format!(
                "--redis-wait-timeout ({:?}) must be shorter than --redis-timeout ({:?}), \
                 which bounds every store call, the wait for replicas included",
                self.redis_wait_timeout, self.redis_timeout
            ));
        }
        Ok(())
    }

    /// The bounds on what one caller may ask.
    pub fn limits(&self) -> Limits {
        Limits {
            per_connection: self.max_concurrent_calls_per_connection,
            per_caller: self.max_concurrent_calls_per_caller,
            streams_per_caller: self.max_streams_per_caller,
            request_timeout: self.request_timeout,
        }
    }
}

impl Default for ServerSettings {
    /// The defaults, on a port the system picks.
    fn default() -> Self {
        Self::listening_on(SocketAddr::from(([127, 0, 0, 1], 0)))
    }
}

/// Bounds on what one caller may ask of a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Calls one connection may have in flight; more wait their turn, so
    /// one busy caller cannot take every worker from the others.
    pub per_connection: usize,
    /// Calls one caller may have in flight across its connections (0: no
    /// bound); see [`crate::fairness`].
    pub per_caller: usize,
    /// Streams one caller may have open, among its calls (0: no bound of
    /// their own).
    pub streams_per_caller: usize,
    /// Longest a call may take before it answers (a caller's shorter
    /// `grpc-timeout` wins); a stream's messages are not bounded by it.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_connection: 256,
            per_caller: 1024,
            streams_per_caller: 100,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What a service serves: the descriptor sets its messages come from, the
/// full names of its services (what reflection advertises, health always
/// added, so that a `grpcurl list` shows only what answers here), and the
/// paths of its streaming methods (which the per-caller bound counts apart).
#[derive(Clone, Copy, Debug)]
pub struct Served {
    /// Encoded `FileDescriptorSet`s holding the services' definitions.
    pub descriptor_sets: &'static [&'static [u8]],
    /// Full names of the services served, such as `syncgov.quota.v1.QuotaGovernor`.
    pub services: &'static [&'static str],
    /// Paths of the methods whose replies are streams, such as
    /// `/syncgov.quota.v1.QuotaGovernor/WatchSuspensions`.
    pub streaming: &'static [&'static str],
}

/// The routes every service has, health and reflection (of `served`),
/// with the transport and bounds of `settings`, callers checked against
/// `policy` when its security turns authentication on; the service adds
/// its own routes to the router. Messages over 4 MiB are refused (tonic's
/// default decoding limit) with OUT_OF_RANGE.
pub fn base_router(
    served: Served,
    policy: Policy,
    settings: &ServerSettings,
) -> anyhow::Result<Base> {
    let limits = settings.limits();
    let security = settings.security.load()?;
    if security.verifier.is_none() {
        tracing::warn!("authentication is off: every caller may call every method");
    }
    let (health, health_service) = tonic_health::server::health_reporter();
    let (reflection_v1, reflection_v1alpha) = reflection(served)?;
    let drain = Drain::new();
    // The stack, outermost first. The connection-level settings come before
    // any layer: they bound what one connection may hold whoever it is.
    let router = Server::builder()
        // Fail fast on a peer that vanished instead of holding its streams.
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        // One connection cannot take every worker: its calls beyond the
        // bound wait their turn instead of being refused. HTTP/2 streams are
        // bounded the same, so that streams, which hold their place for
        // their whole life, cannot pile up on one connection either.
        .concurrency_limit_per_connection(limits.per_connection.max(1))
        .max_concurrent_streams(u32::try_from(limits.per_connection.max(1)).unwrap_or(u32::MAX))
        // A call that hangs (a store that neither answers nor fails) ends
        // with CANCELLED; the caller's shorter grpc-timeout wins.
        .timeout(limits.request_timeout)
        // Outermost of the layers: every call is counted by method and
        // status, refused ones included, so that an alert on errors sees
        // refusals too.
        .layer(RpcMetricsLayer::new(served_methods(served)))
        // Then every call has its server span
        // and trace context, refused ones included: a refusal is traced and
        // counted like any other answer.
        .layer(RpcTraceLayer)
        // Every call can find its server's drain, so that a streaming
        // handler ends its stream when shutdown begins instead of holding
        // the server for its grace period. Costs a clone of an Arc.
        .layer(DrainLayer::new(drain.clone()))
        // Then who is calling, before the call costs anything: an unknown
        // or unentitled caller is refused before it holds a slot of the
        // per-caller bound or reaches a handler.
        .layer(AuthLayer::new(security.verifier, policy))
        // Last, the per-caller bound: it needs the principal the layer
        // above put in the request (a token's subject names the caller
        // across its connections and addresses).
        .layer(CallerLimitLayer::new(
            limits.per_caller,
            limits.streams_per_caller,
            served.streaming,
        ))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    Ok(Base {
        router,
        health,
        transport: Transport {
            tls: security.tls,
            watch: security.watch,
        },
        drain,
    })
}

/// The store watcher of a service, boxed to run beside its server.
pub fn store_watch<P, F, E>(
    ping: P,
    health: HealthReporter,
    service: &'static str,
    interval: Duration,
) -> BoxFuture
where
    P: FnMut() -> F + Send + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + 'static,
{
    Box::pin(watch_store(ping, health, service, interval))
}

/// The life of a service binary: a runtime with the settings' worker
/// threads (0: one per CPU), logs and traces (see [`telemetry::init`]), the
/// service built by `build`, the admin port, a line on stdout saying where
/// it listens, and serving until SIGTERM or Ctrl-C; then the last spans are
/// flushed. Bad settings (unreadable, malformed or expired security files
/// included) exit with 2 before anything listens; a failure while serving
/// exits with 1.
pub fn run_binary<B, Fut>(name: &str, settings: &ServerSettings, build: B) -> ExitCode
where
    B: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<Prepared>>,
{
    let (worker_threads, log_format, admin_listen) = (
        settings.worker_threads,
        settings.log_format,
        settings.admin_listen,
    );
    // One thread: the single-threaded scheduler, which runs woken tasks in
    // the order they woke. The multi-threaded one runs the task a finished
    // call wakes (its connection) next, so every reply went out in a write
    // of its own; in order, the replies of calls finished together leave in
    // one write.
    let mut runtime = if worker_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut runtime = tokio::runtime::Builder::new_multi_thread();
        if worker_threads > 0 {
            runtime.worker_threads(worker_threads);
        }
        runtime
    };
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (telemetry, metrics) = runtime.block_on(async {
        (
            telemetry::init(log_format, "info", name),
            crate::metrics::init(name),
        )
    });
    let code = runtime.block_on(async {
        // The files are read again when the service is built; read here
        // first so that a bad one stops the binary before any port is bound.
        if let Err(e) = settings.security.check() {
            eprintln!("{name}: {e:#}");
            return ExitCode::from(2);
        }
        let admin = match admin_listen {
            Some(addr) => match crate::metrics::bind(addr).await {
                Ok(listener) => Some((addr, listener)),
                Err(e) => {
                    eprintln!("{name}: {e:#}");
                    return ExitCode::from(2);
                }
            },
            None => None,
        };
        let app = match build().await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("{name}: {e:#}");
                return ExitCode::from(2);
            }
        };
        if let Some((addr, listener)) = admin {
            tracing::info!(%addr, "metrics at /metrics, probes at /livez and /readyz");
            let readiness = crate::metrics::Readiness {
                health: Arc::new(tonic_health::server::HealthService::from_health_reporter(
                    app.health.clone(),
                )),
                service: app.service,
                drain: app.drain.clone(),
            };
            tokio::spawn(crate::metrics::serve(
                listener,
                metrics.scrape.clone(),
                Some(readiness),
                app.transport.tls.clone(),
            ));
        }
        let scheme = if app.transport.is_tls() { "TLS" } else { "plain TCP" };
        tracing::info!(addr = %app.local_addr(), store = app.store_description(), scheme, "{name} listening");
        println!(
            "{name} listening on {} ({scheme}, store: {})",
            app.local_addr(),
            app.store_description()
        );
        match app.run(crate::shutdown::signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: {e:#}");
                ExitCode::FAILURE
            }
        }
    });
    // The exporter blocks while it flushes: off the runtime's threads.
    runtime.block_on(async {
        let _ = tokio::task::spawn_blocking(move || {
            telemetry.shutdown();
            let _ = metrics.provider.shutdown();
        })
        .await;
    });
    code
}

/// The gRPC reflection services (`v1`, and `v1alpha` for older clients such
/// as Python's grpcio-reflection) advertising `served`'s services and
/// health, and themselves.
fn reflection(
    served: Served,
) -> anyhow::Result<(
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
)> {
    let builder = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH_SERVICE)
            .with_service_name(REFLECTION_V1)
            .with_service_name(REFLECTION_V1ALPHA);
        for set in served.descriptor_sets {
            builder = builder.register_encoded_file_descriptor_set(set);
        }
        // Only what answers here: one descriptor set holds both services'
        // definitions, and a listed service that answers UNIMPLEMENTED
        // misleads whoever browses the server.
        for service in served.services {
            builder = builder.with_service_name(*service);
        }
        builder
    };
    Ok((builder().build_v1()?, builder().build_v1alpha()?))
}

/// The health service's full name, always advertised.
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// Every method a server of `served` answers: the service's own, health's
/// and reflection's.
fn served_methods(served: Served) -> RpcMethods {
    let mut sets: Vec<&[u8]> = served.descriptor_sets.to_vec();
    sets.extend([
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ]);
    let mut services: Vec<&str> = served.services.to_vec();
    services.extend([HEALTH_SERVICE, REFLECTION_V1, REFLECTION_V1ALPHA]);
    RpcMethods::from_descriptors(&sets, &services)
}
/// The reflection services' own names, advertised as servers list them.
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
/// The older reflection service's name.
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// Reports `status` for the whole server ("") and for `service`.
async fn set_health(health: &HealthReporter, service: &str, status: ServingStatus) {
    health.set_service_status("", status).await;
    health.set_service_status(service, status).await;
}

/// Checks the store with `ping` every `interval` and reports it through the
/// health service: SERVING while it answers, NOT_SERVING while it does not.
/// Runs until dropped.
async fn watch_store<P, F, E>(
    mut ping: P,
    health: HealthReporter,
    service: &'static str,
    interval: Duration,
) where
    P: FnMut() -> F,
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut last = None;
    loop {
        let status = match ping().await {
            Ok(()) => ServingStatus::Serving,
            Err(e) => {
                if last != Some(ServingStatus::NotServing) {
                    tracing::warn!(error = %e, "store unreachable; reporting NOT_SERVING");
                }
                ServingStatus::NotServing
            }
        };
        if last != Some(status) {
            if last.is_some() && status == ServingStatus::Serving {
                tracing::info!("store reachable again; reporting SERVING");
            }
            set_health(&health, service, status).await;
            last = Some(status);
        }
        tokio::time::sleep(interval).await;
    }
}

/// Serves `prepared` until `shutdown` resolves; then reports
/// NOT_SERVING, stops accepting calls, and gives in-flight calls up to
/// its grace period to finish. The background work runs meanwhile.
async fn serve(
    prepared: Prepared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Prepared {
        listener,
        router,
        health,
        service,
        background,
        grace,
        transport,
        drain,
        store_description: _,
    } = prepared;
    // Until the store's first answer, a health check hears NOT_SERVING for
    // the service and the server: not "service not registered", and not the
    // SERVING a new health reporter starts the server with.
    set_health(&health, service, ServingStatus::NotServing).await;
    let watcher = tokio::spawn(async move {
        tokio::join!(background, transport.watch);
    });
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        watcher.abort();
        // Waited for, so that a store check under way cannot report
        // SERVING after the NOT_SERVING below.
        let _ = watcher.await;
        set_health(&health, service, ServingStatus::NotServing).await;
        // Streams never finish by themselves: end them now, so that the
        // grace period is spent only on calls that will finish.
        drain.begin();
        let _ = stopping_tx.send(());
    };
    let serve: BoxFuture<Result<(), tonic::transport::Error>> = match transport.tls {
        None => {
            let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
            Box::pin(router.serve_with_incoming_shutdown(incoming, signal))
        }
        Some(config) => {
            let incoming = crate::tls::incoming(listener, config);
            Box::pin(router.serve_with_incoming_shutdown(incoming, signal))
        }
    };
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = serve => result.context("gRPC server failed")?,
        () = deadline => tracing::warn!(?grace, "grace period over; dropping the calls still open"),
    }
    tracing::info!("stopped");
    Ok(())
}
