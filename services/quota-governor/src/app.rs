//! Builds the governor from settings and a bound listener. Used by `main` and
//! by the tests alike, so the tests start the very server that ships, on
//! port 0.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use syncgov_api::envoy::service::ratelimit::v3::rate_limit_service_server::RateLimitServiceServer;
use syncgov_api::quota::v1::quota_governor_server::QuotaGovernorServer;
use syncgov_kit::budgets_file::BudgetsFile;
use syncgov_kit::metrics::OrgLabels;
use syncgov_kit::reload::Fingerprint;
use syncgov_kit::server::{self, Prepared, Router, Served};
use syncgov_kit::task::BoxFuture;
use tokio::net::TcpListener;
use tonic_health::server::HealthReporter;

use crate::config::Settings;
use crate::feed::Feed;
use crate::governor::{Governor, Options};
use crate::grpc::GovernorService;
use crate::outage::{EmergencyBudget, OutagePolicy};
use crate::rls::{RlsService, RlsSettings};
use crate::store::QuotaStore;
use crate::store::conn::Endpoint;
use crate::store::memory::MemoryStore;
use crate::store::redis::RedisStore;

/// Name of the governor's service for the health protocol.
pub const SERVICE_NAME: &str = "syncgov.quota.v1.QuotaGovernor";

/// What the governor's reflection advertises: its own API and Envoy's.
const SERVED: Served = Served {
    descriptor_sets: &[syncgov_api::FILE_DESCRIPTOR_SET],
    services: &[SERVICE_NAME, "envoy.service.ratelimit.v3.RateLimitService"],
    streaming: &[
        "/syncgov.quota.v1.QuotaGovernor/AcquireTokensStream",
        "/syncgov.quota.v1.QuotaGovernor/WatchSuspensions",
        "/syncgov.quota.v1.QuotaGovernor/WatchUsageAlerts",
    ],
};

/// The governor's audit trail: one stream, in one cluster slot of its own.
pub const AUDIT_KEY: &str = "syncgov:quota:{audit}:events";

/// Checks the settings, then binds the listen address and opens the store.
pub async fn build(settings: Settings) -> anyhow::Result<Prepared> {
    // Refuse bad settings before anything binds.
    settings.window_shape().context("--window and --bucket")?;
    let listen = settings.server.listen;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    build_with_listener(settings, listener)
}

/// As [`build`], on a listener the caller bound (tests bind `127.0.0.1:0`).
pub fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Prepared> {
    let rules = settings.rules().context("--window and --bucket")?;
    // A bad budgets file refuses the start, naming its line. What the file
    // looked like is taken first, so that a change made while it is read
    // is applied too.
    let budgets = match &settings.budgets_file {
        Some(path) => {
            let seen = syncgov_kit::reload::fingerprint(std::slice::from_ref(path));
            Some((seen, crate::budgets_file::load(path)?))
        }
        None => None,
    };
    let base = server::base_router(SERVED, crate::access::policy(), &settings.server)?;
    let (router, background, store_description) = match Endpoint::from_settings(
        settings.server.redis_url.as_ref(),
        &settings.server.redis_cluster_nodes,
    ) {
        Some((endpoint, description)) => {
            let store = RedisStore::open(
                &endpoint,
                rules,
                settings.server.redis_timeout,
                settings.coalesce,
                settings.server.durability(),
            )?;
            let (router, background) =
                serve_on(store, base.router, &base.health, &settings, budgets)?;
            (router, background, description)
        }
        None => {
            let store = MemoryStore::bounded(rules, settings.memory_max_orgs);
            let (router, background) =
                serve_on(store, base.router, &base.health, &settings, budgets)?;
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

/// The governor over `store`: its routes (the governor's own API and
/// Envoy's rate limit service, over one decision path), and what runs
/// beside them.
fn serve_on<S: QuotaStore>(
    store: S,
    router: Router,
    health: &HealthReporter,
    settings: &Settings,
    budgets: Option<(Fingerprint, BudgetsFile)>,
) -> anyhow::Result<(Router, BoxFuture)> {
    let rules = settings.rules()?;
    let store = Arc::new(store);
    let feed = Arc::new(Feed::default());
    let default_budget = settings.default_budget.map(|d| d.0);
    let governor = Arc::new(Governor::new(
        store.clone(),
        feed.clone(),
        Options {
            rules,
            default_budget,
            emergency: emergency_budget(settings),
            metric_orgs: OrgLabels::new(&settings.server.metrics_orgs),
            usage_alert_interval: settings.usage_alert_interval,
        },
    ));
    let rls = RlsSettings {
        domain: settings.rls_domain.clone(),
        unmapped: settings.rls_unmapped,
        window_ms: rules.shape.window_ms(),
    };
    let keys = governor.clone().keep_grant_key();
    // One trail for the calls and the budgets file, so that a memory
    // store's trail holds both.
    let audit = settings.server.audit_log(AUDIT_KEY)?;
    let budgets = budgets
        .zip(settings.budgets_file.clone())
        .map(|((seen, first), path)| {
            let source = crate::budgets_file::Source {
                path,
                prune: settings.budgets_file_prune,
                every: settings.server.security.reload_interval,
            };
            crate::budgets_file::keep_applied(governor.clone(), source, seen, first, audit.clone())
        });
    let every = Duration::from_millis(rules.shape.bucket_ms()).min(Duration::from_secs(1));
    let clear = governor.clone().clear_when_due(every);
    let alerts = governor.clone().keep_usage_alerts();
    let router = router
        .add_service(QuotaGovernorServer::new(GovernorService::new(
            governor.clone(),
            audit,
        )))
        .add_service(RateLimitServiceServer::new(RlsService::new(governor, rls)));

    // Beside the server: health following the store's ping, the suspension
    // feed's follower, the automatic clears (checked every bucket, at most
    // every second, so a clear is told within a bucket), the grant key read
    // again now and then, the store's own housekeeping, and the budgets
    // file kept applied, and usage checked against the alert thresholds.
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
    let follow = feed.clone().follow(store.clone());
    let housekeeping = store.clone().housekeeping();
    let background = Box::pin(async move {
        let budgets = async move {
            if let Some(budgets) = budgets {
                budgets.await;
            }
        };
        tokio::join!(
            health_watch,
            follow,
            clear,
            keys,
            housekeeping,
            budgets,
            alerts
        );
    });
    Ok((router, background))
}

/// The emergency budget when the governor runs fail-open.
fn emergency_budget(settings: &Settings) -> Option<EmergencyBudget> {
    (settings.store_outage == OutagePolicy::FailOpen).then(|| {
        EmergencyBudget::new(
            settings.emergency_budget,
            settings.emergency_window.as_millis() as i64,
        )
    })
}
