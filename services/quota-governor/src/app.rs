//! Builds the governor from settings and a bound listener, and runs it until
//! shutdown. Used by `main` and by the tests alike, so the tests start the
//! very server that ships, on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use syncgov_api::quota::v1::quota_governor_server::QuotaGovernorServer;
use syncgov_kit::server;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic_health::server::HealthReporter;

use crate::config::Settings;
use crate::grpc::GovernorService;
use crate::store::QuotaStore;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;

/// Name of the governor's service for the health protocol.
pub const SERVICE_NAME: &str = "syncgov.quota.v1.QuotaGovernor";

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A governor ready to serve: listener bound, store opened.
pub struct Application {
    listener: TcpListener,
    router: Router,
    health: HealthReporter,
    /// Keeps the health status in step with the store; runs while serving.
    store_watch: BoxFuture,
    shutdown_grace: Duration,
    store_description: String,
}

impl Application {
    /// Opens the store named by `settings` and binds the listen address.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // Refuse bad settings before anything binds.
        settings.window_shape().context("--window and --bucket")?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        Self::build_with_listener(settings, listener)
    }

    /// As [`build`](Self::build), on a listener the caller bound (tests bind
    /// `127.0.0.1:0`).
    pub fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        let shape = settings.window_shape().context("--window and --bucket")?;
        let default_budget = settings.default_budget.map(|d| d.0);
        let (health, health_service) = tonic_health::server::health_reporter();
        let (reflection_v1, reflection_v1alpha) =
            server::reflection(&[syncgov_api::FILE_DESCRIPTOR_SET])?;
        let router = Server::builder()
            // Fail fast on a peer that vanished instead of holding its streams.
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);

        let interval = settings.health_interval;
        let (router, store_watch, store_description): (Router, BoxFuture, String) =
            match &settings.redis_url {
                Some(url) => {
                    let store = Arc::new(RedisStore::open(
                        url.expose(),
                        shape,
                        settings.redis_timeout,
                    )?);
                    let watch = watch(store.clone(), health.clone(), interval);
                    let service = GovernorService::new(store, default_budget);
                    (
                        router.add_service(QuotaGovernorServer::new(service)),
                        watch,
                        format!("redis at {url}"),
                    )
                }
                None => {
                    let store = Arc::new(MemoryStore::new(shape));
                    let watch = watch(store.clone(), health.clone(), interval);
                    let service = GovernorService::new(store, default_budget);
                    (
                        router.add_service(QuotaGovernorServer::new(service)),
                        watch,
                        "in memory".to_owned(),
                    )
                }
            };

        Ok(Self {
            listener,
            router,
            health,
            store_watch,
            shutdown_grace: settings.shutdown_grace,
            store_description,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where budgets are kept, for the start-up line (passwords hidden).
    pub fn store_description(&self) -> &str {
        &self.store_description
    }

    /// Serves until `shutdown` resolves, then stops taking new calls, reports
    /// NOT_SERVING, and lets in-flight calls finish for up to the grace period.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            health,
            store_watch,
            shutdown_grace,
            ..
        } = self;
        server::serve(
            router,
            listener,
            health,
            SERVICE_NAME,
            store_watch,
            shutdown,
            shutdown_grace,
        )
        .await
    }
}

/// The store watcher for the health service.
fn watch<S: QuotaStore>(store: Arc<S>, health: HealthReporter, interval: Duration) -> BoxFuture {
    Box::pin(server::watch_store(
        move || {
            let store = store.clone();
            async move { store.ping().await }
        },
        health,
        SERVICE_NAME,
        interval,
    ))
}
