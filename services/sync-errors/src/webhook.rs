//! One webhook POST, over HTTP/1.1, plain or TLS (rustls), to an address
//! the destination policy allows.
//!
//! Each delivery resolves the URL's host itself, asks the policy about each
//! address (`destination.rs`), and connects to a checked address, so a DNS
//! answer cannot move a delivery after the check. It then refuses a peer
//! that is this very process's own listener (its gRPC or admin port, on
//! this host), which no allow-list is meant to open. Every step is bounded:
//! resolving and connecting by the connect timeout, the whole exchange by
//! the delivery timeout. Only the response's status line is read; its body
//! is never buffered. Redirects are not followed (a 3xx is a failure).
//!
//! A connection is made per delivery and closed after it: deliveries are
//! rare next to their cost, and nothing is kept open to a destination whose
//! address or policy may change.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::destination::{Host, Policy, Scheme, WebhookUrl};

/// Addresses of one host tried at most, in the order the resolver gave.
const MAX_ADDRESSES: usize = 8;

/// Why a delivery failed. The text is what operators read in the delivery
/// status; [`Failure::reason`] is the metric's label.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The destination is not one deliveries may reach.
    #[error("refused by the destination policy: {0}")]
    Policy(String),
    /// The host's name did not resolve.
    #[error("cannot resolve {host}: {error}")]
    Resolve {
        /// The host.
        host: String,
        /// What the resolver said.
        error: String,
    },
    /// No address of the host took the connection.
    #[error("cannot connect to {addr}: {error}")]
    Connect {
        /// The last address tried.
        addr: SocketAddr,
        /// What the system said.
        error: String,
    },
    /// The TLS handshake failed (certificate, name, protocol).
    #[error("TLS with {host} failed: {error}")]
    Tls {
        /// The host.
        host: String,
        /// What rustls said.
        error: String,
    },
    /// A step took longer than it may.
    #[error("no answer in time while {0}")]
    Timeout(&'static str),
    /// The webhook answered, but not with 2xx.
    #[error("the webhook answered HTTP {0}")]
    Status(u16),
    /// The exchange broke off (connection closed, not HTTP).
    #[error("HTTP exchange failed: {0}")]
    Http(String),
}

impl Failure {
    /// The `reason` label of the delivery metric.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Policy(_) => "policy",
            Failure::Resolve { .. } => "dns",
            Failure::Connect { .. } => "connect",
            Failure::Tls { .. } => "tls",
            Failure::Timeout(_) => "timeout",
            Failure::Status(_) => "status",
            Failure::Http(_) => "http",
        }
    }

    /// Whether the destination did not respond at all (it timed out or
    /// refused the connection): the kind of failure a destination that
    /// keeps having is spared for a while, so that it ties up no delivery.
    pub fn unresponsive(&self) -> bool {
        matches!(self, Failure::Timeout(_) | Failure::Connect { .. })
    }
}

/// Delivers webhook POSTs under a destination policy.
#[derive(Clone)]
pub struct Deliverer {
    /// Which addresses may be reached.
    policy: Arc<Policy>,
    /// Trust roots (the system's, plus the configured CA), ALPN http/1.1.
    tls: TlsConnector,
    /// Longest wait to resolve a name or open a connection.
    connect_timeout: Duration,
    /// Longest wait for a whole delivery, from resolving to the status line.
    timeout: Duration,
    /// This process's own listening ports: never a destination.
    own_ports: Vec<u16>,
}

/// How the deliverer is set up.
#[derive(Clone, Debug)]
pub struct DelivererSettings {
    /// Which addresses may be reached.
    pub policy: Policy,
    /// A CA file (PEM) trusted besides the system's roots.
    pub extra_ca: Option<std::path::PathBuf>,
    /// Longest wait to resolve a name or open a connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole delivery.
    pub timeout: Duration,
    /// This process's own listening ports.
    pub own_ports: Vec<u16>,
}

impl Deliverer {
    /// A deliverer trusting the system's roots and `settings.extra_ca`; an
    /// unreadable CA file is an error (at start, before anything binds).
    pub fn new(settings: DelivererSettings) -> anyhow::Result<Self> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (system, _) = roots.add_parsable_certificates(native.certs);
        if let Some(path) = &settings.extra_ca {
            for cert in ca_file(path)? {
                roots
                    .add(cert)
                    .with_context(|| format!("{}: not a CA certificate", path.display()))?;
            }
        }
        if roots.is_empty() {
            tracing::warn!(
                "no trusted CA certificates (system roots: none found; no --webhook-ca-file): \
                 every https:// delivery will fail"
            );
        } else {
            tracing::debug!(system, total = roots.len(), "webhook trust roots loaded");
        }
        let mut config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .context("TLS versions")?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            policy: Arc::new(settings.policy),
            tls: TlsConnector::from(Arc::new(config)),
            connect_timeout: settings.connect_timeout,
            timeout: settings.timeout,
            own_ports: settings.own_ports,
        })
    }

    /// The policy deliveries follow.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// POSTs `body` with `headers` to `url`; `Ok` when the webhook answered
    /// 2xx.
    pub async fn post(
        &self,
        url: &WebhookUrl,
        headers: &[(&'static str, String)],
        body: Bytes,
    ) -> Result<(), Failure> {
        let deadline = Instant::now() + self.timeout;
        let stream = self.connect(url, deadline).await?;
        match url.scheme {
            Scheme::Http => self.exchange(stream, url, headers, body, deadline).await,
            Scheme::Https => {
                let name = match &url.host {
                    Host::Name(name) => ServerName::try_from(name.clone()),
                    Host::Ip(ip) => Ok(ServerName::from(*ip)),
                }
                .map_err(|e| Failure::Tls {
                    host: url.host.to_string(),
                    error: e.to_string(),
                })?;
                let tls = tokio::time::timeout_at(deadline, self.tls.connect(name, stream))
                    .await
                    .map_err(|_| Failure::Timeout("shaking hands (TLS)"))?
                    .map_err(|e| Failure::Tls {
                        host: url.host.to_string(),
                        error: e.to_string(),
                    })?;
                self.exchange(tls, url, headers, body, deadline).await
            }
        }
    }

    /// Resolves the host, and connects to the first address the policy
    /// allows that takes the connection.
    async fn connect(&self, url: &WebhookUrl, deadline: Instant) -> Result<TcpStream, Failure> {
        let step = (Instant::now() + self.connect_timeout).min(deadline);
        let host = match &url.host {
            Host::Name(name) => name.clone(),
            Host::Ip(ip) => ip.to_string(),
        };
        let addrs: Vec<SocketAddr> =
            tokio::time::timeout_at(step, tokio::net::lookup_host((host.as_str(), url.port)))
                .await
                .map_err(|_| Failure::Timeout("resolving the host"))?
                .map_err(|e| Failure::Resolve {
                    host: host.clone(),
                    error: e.to_string(),
                })?
                .take(MAX_ADDRESSES)
                .collect();
        let mut failure = None;
        for addr in addrs {
            if let Err(why) = self.policy.check_addr(url, addr) {
                failure.get_or_insert(Failure::Policy(why));
                continue;
            }
            let step = (Instant::now() + self.connect_timeout).min(deadline);
            match tokio::time::timeout_at(step, TcpStream::connect(addr)).await {
                Ok(Ok(stream)) => {
                    self.not_own_listener(&stream)?;
                    return Ok(stream);
                }
                Ok(Err(e)) => {
                    failure = Some(Failure::Connect {
                        addr,
                        error: e.to_string(),
                    })
                }
                Err(_) => failure = Some(Failure::Timeout("connecting")),
            }
        }
        Err(failure.unwrap_or_else(|| Failure::Resolve {
            host,
            error: "no address".into(),
        }))
    }

    /// Refuses a connection to this process's own gRPC or admin port: a
    /// peer on this host (its address is the connection's own, or
    /// loopback) on one of those ports.
    fn not_own_listener(&self, stream: &TcpStream) -> Result<(), Failure> {
        let (Ok(peer), Ok(local)) = (stream.peer_addr(), stream.local_addr()) else {
            return Ok(());
        };
        let this_host = peer.ip() == local.ip() || peer.ip().is_loopback();
        if this_host && self.own_ports.contains(&peer.port()) {
            return Err(Failure::Policy(format!(
                "{peer} is this service's own port"
            )));
        }
        Ok(())
    }

    /// Sends the request over `io` and reads the status line, by `deadline`.
    async fn exchange<T>(
        &self,
        io: T,
        url: &WebhookUrl,
        headers: &[(&'static str, String)],
        body: Bytes,
        deadline: Instant,
    ) -> Result<(), Failure>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut request = hyper::Request::post(url.target.as_str())
            .header(hyper::header::HOST, url.authority())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("syncgov-sync-errors/", env!("CARGO_PKG_VERSION")),
            );
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| Failure::Http(e.to_string()))?;
        let exchange = async {
            let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
                .await
                .map_err(|e| Failure::Http(e.to_string()))?;
            // The connection is driven here, beside the request, so that
            // both end together: nothing outlives the delivery.
            let mut connection = std::pin::pin!(connection);
            let response = tokio::select! {
                biased;
                response = sender.send_request(request) => response,
                closed = &mut connection => {
                    return Err(Failure::Http(match closed {
                        Ok(()) => "the connection closed before an answer".to_owned(),
                        Err(e) => e.to_string(),
                    }));
                }
            };
            response.map_err(|e| Failure::Http(e.to_string()))
        };
        let response = tokio::time::timeout_at(deadline, exchange)
            .await
            .map_err(|_| Failure::Timeout("waiting for the answer"))??;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(Failure::Status(status.as_u16()))
        }
    }
}

/// The certificates of a CA file (PEM).
fn ca_file(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not PEM certificates", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{}: holds no certificate",
        path.display()
    );
    Ok(certs)
}
