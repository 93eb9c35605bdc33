//! How syncctl reaches a [`Target`]: a connected channel that carries the
//! bearer token, the two services' clients on it, and the [`Failure`] a
//! call's gRPC status becomes.

use std::time::Duration;

use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::auth::AuthChannel;
use tonic::transport::Channel;

use crate::error::Failure;
use crate::target::Target;

/// How long to wait for a TCP connection before calling a service
/// unreachable: loopback and cluster addresses answer in milliseconds.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl Target {
    /// A connected channel that sends the bearer token, if any. With
    /// `timeout`, every call on it gives up after that long; streams that
    /// run until interrupted pass `None`.
    pub async fn connect(&self, timeout: Option<Duration>) -> Result<AuthChannel, Failure> {
        let bearer = self
            .security
            .bearer()
            .map_err(|e| Failure::usage(format!("{e:#}")))?;
        let endpoint = self
            .security
            .tls()
            .endpoint(&self.url)
            .map_err(|e| Failure::usage(format!("{} {:?}: {e:#}", self.flag, self.url)))?
            .connect_timeout(CONNECT_TIMEOUT);
        let endpoint = match timeout {
            Some(t) => endpoint.timeout(t),
            None => endpoint,
        };
        let channel: Channel = endpoint
            .connect()
            .await
            .map_err(|e| Failure::unreachable(self, &e))?;
        Ok(tonic::service::interceptor::InterceptedService::new(
            channel, bearer,
        ))
    }

    /// A governor client.
    pub async fn governor_client(
        &self,
        timeout: Option<Duration>,
    ) -> Result<QuotaGovernorClient<AuthChannel>, Failure> {
        Ok(QuotaGovernorClient::new(self.connect(timeout).await?))
    }

    /// A sync-error service client.
    pub async fn sync_errors_client(
        &self,
        timeout: Option<Duration>,
    ) -> Result<SyncErrorsClient<AuthChannel>, Failure> {
        Ok(SyncErrorsClient::new(self.connect(timeout).await?))
    }

    /// Maps a gRPC status of this service to a failure.
    pub fn failed(&self, status: tonic::Status) -> Failure {
        Failure::status(self, &status)
    }
}
