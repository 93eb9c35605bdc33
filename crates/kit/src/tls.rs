//! TLS for listeners and clients, on rustls. A server's certificate and key
//! (and, for mutual TLS, the CA its clients' certificates must chain to) are
//! read from PEM files and read again when they change, so a rotated
//! certificate takes effect without a restart; connections already open
//! keep the one they started with.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

use crate::reload::Reloading;
use crate::task::BoxFuture;

/// How long a client has to finish its handshake: a stalled one must not
/// hold a connection slot.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener's TLS files.
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The certificate chain, PEM, leaf first.
    pub cert: PathBuf,
    /// Its private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// With mutual TLS: the CA every client certificate must chain to.
    pub client_ca: Option<PathBuf>,
}

impl ServerTls {
    /// Every file, to watch for rotation.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.cert.clone(), self.key.clone()];
        files.extend(self.client_ca.iter().cloned());
        files
    }

    /// Builds the rustls configuration from the files.
    pub fn load(&self) -> anyhow::Result<ServerConfig> {
        let certs = certificates(&self.cert)?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .with_context(|| format!("{}: no usable private key", self.key.display()))?;
        let provider = Arc::new(default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS versions")?;
        let builder = match &self.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots
                        .add(cert)
                        .with_context(|| format!("{}: not a CA certificate", ca.display()))?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .with_context(|| format!("{}: client CA", ca.display()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(certs, key).with_context(|| {
            format!(
                "{} and {} do not match",
                self.cert.display(),
                self.key.display()
            )
        })?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(config)
    }

    /// The configuration, and the watcher that rebuilds it every `every`
    /// once a file changed.
    pub fn reloading(
        &self,
        every: Duration,
    ) -> anyhow::Result<(Arc<Reloading<ServerConfig>>, BoxFuture)> {
        let config = Reloading::new(self.load()?);
        let this = self.clone();
        let watch = config.watch("TLS certificate", self.files(), every, move || this.load());
        Ok((config, watch))
    }
}

fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
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

/// Accepted connections after their TLS handshake, each with the server
/// configuration current when it arrived. Handshakes run concurrently, so a
/// slow client does not hold up the others; failed ones are logged and
/// dropped. Accepting stops when the stream is dropped.
pub fn incoming(
    listener: TcpListener,
    config: Arc<Reloading<ServerConfig>>,
) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = tx.closed() => return,
                accepted = listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let acceptor = TlsAcceptor::from(config.get());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Ok(tls)).await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// How a client reaches a TLS server: the CA it trusts and, for mutual TLS,
/// its own certificate and key.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// The CA the server's certificate must chain to; TLS is on when set.
    pub ca: Option<PathBuf>,
    /// The client certificate, for mutual TLS.
    pub cert: Option<PathBuf>,
    /// Its key.
    pub key: Option<PathBuf>,
    /// The name the server's certificate must carry, when it is not the
    /// host of the address.
    pub domain: Option<String>,
}

impl ClientTls {
    /// An endpoint for `url` (`host:port` is taken as `http://host:port`,
    /// or `https://` when TLS is on), with TLS when configured.
    pub fn endpoint(&self, url: &str) -> anyhow::Result<Endpoint> {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        let url = match url.split_once("://") {
            // With TLS on, an http:// address is reached over https.
            Some(("http", rest)) if self.ca.is_some() => format!("https://{rest}"),
            Some(_) => url.to_owned(),
            None => format!("{scheme}://{url}"),
        };
        let endpoint =
            Endpoint::from_shared(url.clone()).with_context(|| format!("{url:?} is not a URL"))?;
        let Some(ca) = &self.ca else {
            anyhow::ensure!(
                self.cert.is_none() && self.key.is_none(),
                "a client certificate needs the CA to trust (--tls-ca)"
            );
            anyhow::ensure!(
                !url.starts_with("https://"),
                "{url}: https needs the CA to trust (--tls-ca)"
            );
            return Ok(endpoint);
        };
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => anyhow::bail!("a client certificate and its key go together"),
        }
        if let Some(domain) = &self.domain {
            config = config.domain_name(domain.clone());
        }
        endpoint.tls_config(config).context("TLS settings")
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
