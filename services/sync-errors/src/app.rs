//! Builds the sync-error service from settings and a bound listener. Used by
//! `main` and by the tests alike.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use syncgov_api::syncerrors::v1::sync_errors_server::SyncErrorsServer;
use syncgov_kit::audit::{AuditLog, Change};
use syncgov_kit::auth::Bearer;
use syncgov_kit::server::{self, Prepared, Router, Served};
use syncgov_kit::task::BoxFuture;
use syncgov_kit::tls::ClientTls;
use tokio::net::TcpListener;
use tonic_health::server::HealthReporter;

use crate::config::Settings;
use crate::grpc::SyncErrorsService;
use crate::rules::{Rules, RulesHandle};
use crate::store::ErrorStore;
use crate::store::conn::Endpoint;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;
use crate::webhook::{Deliverer, DelivererSettings};

/// Name of the service for the health protocol.
pub const SERVICE_NAME: &str = "syncgov.syncerrors.v1.SyncErrors";

/// What the service's reflection advertises: its own API only.
const SERVED: Served = Served {
    descriptor_sets: &[syncgov_api::FILE_DESCRIPTOR_SET],
    services: &[SERVICE_NAME],
    streaming: &["/syncgov.syncerrors.v1.SyncErrors/ExportErrorsCsv"],
};

/// Binds the listen address and opens the store.
pub async fn build(settings: Settings) -> anyhow::Result<Prepared> {
    let listen = settings.server.listen;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    build_with_listener(settings, listener)
}

/// As [`build`], on a listener the caller bound.
pub fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Prepared> {
    let base = server::base_router(SERVED, crate::access::policy(), &settings.server)?;
    // This process's own ports are never a webhook's destination.
    let mut own_ports = vec![listener.local_addr()?.port()];
    own_ports.extend(settings.server.admin_listen.map(|a| a.port()));
    let deliverer = Deliverer::new(DelivererSettings {
        policy: settings.webhook_policy(),
        extra_ca: settings.webhook_ca_file.clone(),
        connect_timeout: settings.webhook_connect_timeout,
        timeout: settings.webhook_timeout,
        own_ports,
    })
    .context("--webhook-ca-file")?;
    // A bad SMTP setting stops the service before it binds anything more.
    let mailer = match settings.mailer_settings()? {
        Some(mailer) => Some(crate::smtp::Mailer::new(&mailer)?),
        None => None,
    };
    let policy = settings.queue_policy();
    // A bad rules file stops the service before it binds anything more.
    let rules = match &settings.rules {
        Some(path) => read_rules(path)?,
        None => Rules::default(),
    };
    let rules = Arc::new(RulesHandle::new(rules));
    let (router, background, store_description) = match Endpoint::from_settings(
        settings.server.redis_url.as_ref(),
        &settings.server.redis_cluster_nodes,
    ) {
        Some((endpoint, description)) => {
            let store = RedisStore::open(
                &endpoint,
                settings.server.redis_timeout,
                policy,
                settings.server.durability(),
            )?;
            let (router, background) = serve_on(
                store,
                base.router,
                &base.health,
                &settings,
                Deliveries { deliverer, mailer },
                rules.clone(),
            )?;
            (router, background, description)
        }
        None => {
            let store = MemoryStore::new(policy);
            let (router, background) = serve_on(
                store,
                base.router,
                &base.health,
                &settings,
                Deliveries { deliverer, mailer },
                rules.clone(),
            )?;
            (router, background, "in memory".to_owned())
        }
    };
    Ok(Prepared {
        listener,
        router,
        health: base.health,
        service: SERVICE_NAME,
        background,
        grace: settings.server.shutdown_grace,
        store_description,
        transport: base.transport,
        drain: base.drain,
    })
}

/// How notifications leave: webhooks, and e-mail when an SMTP server is set.
struct Deliveries {
    deliverer: Deliverer,
    mailer: Option<crate::smtp::Mailer>,
}

/// The service's audit trail: one stream, in one cluster slot of its own.
pub const AUDIT_KEY: &str = "syncgov:errors:{audit}:events";

/// The service over `store`: its route, and what runs beside it.
fn serve_on<S: ErrorStore>(
    store: S,
    router: Router,
    health: &HealthReporter,
    settings: &Settings,
    deliveries: Deliveries,
    rules: Arc<RulesHandle>,
) -> anyhow::Result<(Router, BoxFuture)> {
    let store = Arc::new(store);
    let policy = deliveries.deliverer.policy().clone();
    let email = deliveries.mailer.is_some();
    let background = background(store.clone(), health, settings, deliveries)?;
    let audit = settings.server.audit_log(AUDIT_KEY)?;
    let reload: BoxFuture = match &settings.rules {
        Some(path) => Box::pin(watch_rules(
            path.clone(),
            settings.rules_reload,
            rules.clone(),
            audit.clone(),
        )),
        None => Box::pin(async {}),
    };
    let background: BoxFuture = Box::pin(async move {
        tokio::join!(background, reload);
    });
    let service = SyncErrorsService::with_rules(store, policy, rules, audit).with_email(email);
    let router = router.add_service(SyncErrorsServer::new(service));
    Ok((router, background))
}

/// Reads and checks an operator rules file.
pub fn read_rules(path: &std::path::Path) -> anyhow::Result<Rules> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--rules: cannot read {}", path.display()))?;
    Rules::parse(&text).with_context(|| format!("--rules: {} is refused", path.display()))
}

/// Re-reads the rules file every `every` and puts it in force when it
/// changed and reads well, recording the change in `audit` (each replica
/// records the change it puts in force); a file that does not read well is
/// logged, with the line at fault, and the rules in force stay.
async fn watch_rules(
    path: std::path::PathBuf,
    every: Duration,
    rules: Arc<RulesHandle>,
    audit: AuditLog,
) {
    let mut last = std::fs::read(&path).ok();
    loop {
        tokio::time::sleep(every).await;
        let now = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "rules file unreadable; the rules in force stay");
                continue;
            }
        };
        if last.as_deref() == Some(now.as_slice()) {
            continue;
        }
        last = Some(now.clone());
        match Rules::parse(&String::from_utf8_lossy(&now)) {
            Ok(new) => {
                tracing::info!(path = %path.display(), rules = new.len(), "rules reloaded");
                let change = Change {
                    actor: format!("rules file {}", path.display()),
                    action: "RulesFile",
                    org: String::new(),
                    target: String::new(),
                    before: Some(crate::audit::rules(&rules.get())),
                    after: Some(crate::audit::rules(&new)),
                };
                rules.set(new);
                if let Err(e) = audit.record(change).await {
                    tracing::warn!(error = %e, "cannot record the rules' change in the audit trail");
                }
            }
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "rules file refused; the rules in force stay");
            }
        }
    }
}

/// What runs beside the server: health following the store's ping, the
/// notifier, and the relay that tells the governor about suspensions (when
/// one is set).
fn background<S: ErrorStore>(
    store: Arc<S>,
    health: &HealthReporter,
    settings: &Settings,
    deliveries: Deliveries,
) -> anyhow::Result<BoxFuture> {
    let pinged = store.clone();
    let ping = move || {
        let store = pinged.clone();
        async move { store.ping().await }
    };
    let health_watch = server::store_watch(
        ping,
        health.clone(),
        SERVICE_NAME,
        settings.server.health_interval,
    );
    let pacing = crate::notifier::Pacing {
        day: settings.digest_day,
        retry: settings.notification_retry,
        // Look often enough to catch every digest period and retry.
        tick: (settings.digest_day / 10).clamp(Duration::from_millis(100), Duration::from_secs(1)),
        concurrency: settings.notification_concurrency as usize,
    };
    if let Some(mailer) = &deliveries.mailer {
        tracing::info!(
            server = mailer.server(),
            "notification e-mails go through SMTP"
        );
    }
    let notifier = crate::notifier::run(
        store.clone(),
        pacing,
        deliveries.deliverer,
        deliveries.mailer,
    );
    let queue = crate::metrics::watch_queue(store.clone());
    let fleet = crate::metrics::watch_fleet(store.clone());
    crate::metrics::count_from_zero();
    let indexed = store.clone();
    let index_existing = async move {
        // Until the top-orgs view holds the orgs counted before it, once.
        while let Err(e) = indexed.index_existing().await {
            tracing::debug!(error = %e, "cannot fill the top-orgs view now");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    };
    let watch: BoxFuture = Box::pin(async move {
        tokio::join!(health_watch, notifier, queue, fleet, index_existing);
    });
    let Some(addr) = &settings.governor_addr else {
        return Ok(watch);
    };
    let tls = ClientTls {
        ca: settings.governor_tls_ca.clone(),
        cert: settings.governor_tls_cert.clone(),
        key: settings.governor_tls_key.clone(),
        domain: None,
    };
    let channel = tls
        .endpoint(addr)
        .with_context(|| format!("--governor-addr {addr}"))?
        .connect_timeout(settings.server.redis_timeout.max(Duration::from_secs(1)))
        .timeout(Duration::from_secs(5))
        .connect_lazy();
    let (bearer, token_watch): (Bearer, BoxFuture) = match &settings.governor_token_file {
        Some(path) => Bearer::from_file(path, settings.server.security.reload_interval)
            .context("--governor-token-file")?,
        None => (Bearer::none(), Box::pin(async {})),
    };
    let governor =
        syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient::with_interceptor(
            channel, bearer,
        );
    let relay = crate::relay::run(store.clone(), governor.clone(), Duration::from_millis(500));
    let notices = crate::notifier::watch_suspensions(store.clone(), governor.clone());
    let usage_alerts = crate::notifier::watch_usage_alerts(store, governor);
    Ok(Box::pin(async move {
        tokio::join!(watch, relay, notices, usage_alerts, token_watch);
    }))
}
