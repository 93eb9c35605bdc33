//! Builds the sync-error service from settings and a bound listener, and runs
//! it until shutdown. Used by `main` and by the tests alike.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use syncgov_api::syncerrors::v1::sync_errors_server::SyncErrorsServer;
use syncgov_kit::server;
use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic_health::server::HealthReporter;

use crate::config::Settings;
use crate::grpc::SyncErrorsService;
use crate::store::ErrorStore;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;

/// Name of the service for the health protocol.
pub const SERVICE_NAME: &str = "syncgov.syncerrors.v1.SyncErrors";

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The service ready to serve: listener bound, store opened.
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
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        Self::build_with_listener(settings, listener)
    }

    /// As [`build`](Self::build), on a listener the caller bound.
    pub fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
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
                        settings.redis_timeout,
                        settings.retry_policy(),
                    )?);
                    let watch = watch(store.clone(), health.clone(), interval);
                    let service = SyncErrorsService::new(store);
                    (
                        router.add_service(SyncErrorsServer::new(service)),
                        watch,
                        format!("redis at {url}"),
                    )
                }
                None => {
                    let store = Arc::new(MemoryStore::new(settings.retry_policy()));
                    let watch = watch(store.clone(), health.clone(), interval);
                    let service = SyncErrorsService::new(store);
                    (
                        router.add_service(SyncErrorsServer::new(service)),
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

    /// Where errors are kept, for the start-up line (passwords hidden).
    pub fn store_description(&self) -> &str {
        &self.store_description
    }

    /// Serves until `shutdown` resolves, then drains for the grace period.
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
fn watch<S: ErrorStore>(store: Arc<S>, health: HealthReporter, interval: Duration) -> BoxFuture {
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
