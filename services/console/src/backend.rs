//! The two services as the console reaches them: one channel each, opened
//! lazily at start and shared by every page, and per request a client on it
//! that carries the signed-in person's own bearer token. The console holds
//! no credential of its own, so it can never show or do more than the
//! person could with syncctl.

use std::time::Duration;

use syncgov_api::quota::v1::quota_governor_client::QuotaGovernorClient;
use syncgov_api::syncerrors::v1::sync_errors_client::SyncErrorsClient;
use syncgov_kit::auth::{AuthChannel, Bearer};
use tonic::transport::Channel;

use crate::config::Settings;
use crate::session::Session;

/// How long to wait for a TCP connection to a service.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Channels to both services.
#[derive(Clone)]
pub struct Backend {
    governor: Channel,
    sync_errors: Channel,
}

impl Backend {
    /// Channels to the services `settings` name; nothing connects until the
    /// first call, so the console starts while a service is still starting.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        use anyhow::Context;
        let tls = settings.client_tls();
        let open = |url: &str, flag: &str| -> anyhow::Result<Channel> {
            Ok(tls
                .endpoint(url)
                .with_context(|| format!("{flag} {url:?}"))?
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(settings.call_timeout)
                .connect_lazy())
        };
        Ok(Self {
            governor: open(&settings.governor, "--governor")?,
            sync_errors: open(&settings.sync_errors, "--sync-errors")?,
        })
    }

    /// A governor client calling as the person of `session`.
    pub fn governor(&self, session: &Session) -> QuotaGovernorClient<AuthChannel> {
        QuotaGovernorClient::new(with_token(self.governor.clone(), session))
    }

    /// A sync-error service client calling as the person of `session`.
    pub fn sync_errors(&self, session: &Session) -> SyncErrorsClient<AuthChannel> {
        SyncErrorsClient::new(with_token(self.sync_errors.clone(), session))
    }
}

/// `channel` sending the session's token (none for a session entered
/// without one). Tokens were checked printable at sign-in.
fn with_token(channel: Channel, session: &Session) -> AuthChannel {
    let bearer = if session.anonymous() {
        Bearer::none()
    } else {
        Bearer::fixed(&session.token).unwrap_or_else(|_| Bearer::none())
    };
    tonic::service::interceptor::InterceptedService::new(channel, bearer)
}
