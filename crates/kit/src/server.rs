//! Server plumbing shared by the services: reflection, health that follows
//! the store, and serving until shutdown with a grace period.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tonic::transport::server::{Router, TcpIncoming};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// The gRPC reflection services (`v1`, and `v1alpha` for older clients such
/// as Python's grpcio-reflection) over `descriptor_sets`, health's included.
pub fn reflection(
    descriptor_sets: &[&'static [u8]],
) -> anyhow::Result<(
    tonic_reflection::server::v1::ServerReflectionServer<
        impl tonic_reflection::server::v1::ServerReflection,
    >,
    tonic_reflection::server::v1alpha::ServerReflectionServer<
        impl tonic_reflection::server::v1alpha::ServerReflection,
    >,
)> {
    let mut v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    let mut v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    for set in descriptor_sets {
        v1 = v1.register_encoded_file_descriptor_set(set);
        v1alpha = v1alpha.register_encoded_file_descriptor_set(set);
    }
    Ok((v1.build_v1()?, v1alpha.build_v1alpha()?))
}

/// Reports `status` for the whole server ("") and for `service`.
pub async fn set_health(health: &HealthReporter, service: &str, status: ServingStatus) {
    health.set_service_status("", status).await;
    health.set_service_status(service, status).await;
}

/// Checks the store with `ping` every `interval` and reports it through the
/// health service: SERVING while it answers, NOT_SERVING while it does not.
/// Runs until dropped.
pub async fn watch_store<P, F, E>(
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

/// Serves `router` on `listener` until `shutdown` resolves; then reports
/// NOT_SERVING, stops accepting calls, and gives in-flight calls up to
/// `grace` to finish. `background` (the store watcher) runs meanwhile.
pub async fn serve(
    router: Router,
    listener: TcpListener,
    health: HealthReporter,
    service: &'static str,
    background: impl Future<Output = ()> + Send + 'static,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> anyhow::Result<()> {
    let watcher = tokio::spawn(background);
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        watcher.abort();
        set_health(&health, service, ServingStatus::NotServing).await;
        let _ = stopping_tx.send(());
    };
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let serve = router.serve_with_incoming_shutdown(incoming, signal);
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
