//! TLS for listeners and clients, on rustls. A server's certificate and key
//! (and, for mutual TLS, the CA its clients' certificates must chain to) are
//! read from PEM files and read again when they change, so a rotated
//! certificate takes effect without a restart; connections already open
//! keep the one they started with.
//!
//! A certificate is taken only while it is valid: one that expired, or is
//! not valid yet, is refused at start (the service does not start) and on
//! reload (the one in use stays, with a warning), as a certificate that
//! does not match its key is. The expiry of the certificate in use is a
//! metric (`syncgov_tls_certificate_expiry_seconds`, Unix time), and a
//! warning is logged while it is less than [`EXPIRY_WARNING`] away.
//!
//! One certificate serves two listeners: the gRPC port (HTTP/2; client
//! certificates required under mutual TLS) and the admin port (HTTP/1.1;
//! no client certificate asked, so that the kubelet's probes and an
//! ordinary Prometheus scrape, which have none, still get in).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// How long before its certificate expires a server starts warning: long
/// enough to renew by hand when an automatic renewal failed.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// How often the warning is repeated while the certificate in use is close
/// to its expiry (it is also given at start and at every reload).
const EXPIRY_REMINDER: Duration = Duration::from_secs(12 * 3600);

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

/// When a certificate chain may be used: from the latest `notBefore` to the
/// earliest `notAfter` of its certificates, in seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// Not valid before this.
    pub not_before: i64,
    /// Not valid after this.
    pub not_after: i64,
}

impl Validity {
    /// The validity of `chain`: what every certificate in it allows (a
    /// client refuses the chain as soon as any of them has expired).
    pub fn of_chain(chain: &[CertificateDer<'_>]) -> anyhow::Result<Self> {
        let mut validity = Validity {
            not_before: i64::MIN,
            not_after: i64::MAX,
        };
        for (i, der) in chain.iter().enumerate() {
            let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| {
                anyhow::anyhow!("certificate {} of the chain: not X.509: {e}", i + 1)
            })?;
            let own = cert.validity();
            validity.not_before = validity.not_before.max(own.not_before.timestamp());
            validity.not_after = validity.not_after.min(own.not_after.timestamp());
        }
        Ok(validity)
    }

    /// Refuses a chain not valid at `now` (seconds since the Unix epoch),
    /// saying when it was or will be.
    pub fn check(&self, now: i64) -> anyhow::Result<()> {
        if now > self.not_after {
            anyhow::bail!(
                "the certificate expired at {} ({} ago): renew it",
                rfc3339(self.not_after),
                ago(now - self.not_after)
            );
        }
        if now < self.not_before {
            anyhow::bail!(
                "the certificate is not valid before {} (in {}): check the clocks, or issue one valid now",
                rfc3339(self.not_before),
                ago(self.not_before - now)
            );
        }
        Ok(())
    }
}

/// What one certificate and key give: the configuration of each listener,
/// and when the certificate may be used.
pub struct ServerConfigs {
    /// The gRPC listener's: HTTP/2, client certificates of the client CA
    /// required under mutual TLS.
    pub grpc: Arc<ServerConfig>,
    /// The admin port's: HTTP/1.1, no client certificate asked.
    pub admin: Arc<ServerConfig>,
    /// When the certificate chain is valid.
    pub validity: Validity,
}

impl ServerTls {
    /// Every file, to watch for rotation.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.cert.clone(), self.key.clone()];
        files.extend(self.client_ca.iter().cloned());
        files
    }

    /// Builds the rustls configurations from the files, refusing a
    /// certificate that is not valid now. Logs nothing: [`ServerTls::reloading`]
    /// tells of the certificate it takes.
    pub fn load(&self) -> anyhow::Result<ServerConfigs> {
        let certs = certificates(&self.cert)?;
        let validity = Validity::of_chain(&certs)
            .and_then(|validity| {
                validity.check(unix_now())?;
                Ok(validity)
            })
            .with_context(|| self.cert.display().to_string())?;
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .with_context(|| format!("{}: no usable private key", self.key.display()))?;
        let provider = Arc::new(default_provider());
        let builder = || {
            ServerConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .context("TLS versions")
        };
        let grpc = match &self.client_ca {
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots
                        .add(cert)
                        .with_context(|| format!("{}: not a CA certificate", ca.display()))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(roots.into(), provider.clone())
                        .build()
                        .with_context(|| format!("{}: client CA", ca.display()))?;
                builder()?.with_client_cert_verifier(verifier)
            }
            None => builder()?.with_no_client_auth(),
        };
        let mismatch = || {
            format!(
                "{} and {} do not match",
                self.cert.display(),
                self.key.display()
            )
        };
        let mut grpc = grpc
            .with_single_cert(certs.clone(), key.clone_key())
            .with_context(mismatch)?;
        grpc.alpn_protocols = vec![b"h2".to_vec()];
        // The admin port serves probes and metrics to callers that have no
        // client certificate: the kubelet, Prometheus.
        let mut admin = builder()?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .with_context(mismatch)?;
        admin.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerConfigs {
            grpc: Arc::new(grpc),
            admin: Arc::new(admin),
            validity,
        })
    }

    /// The configurations, and the watcher that rebuilds them every `every`
    /// once a file changed (keeping those in use when the new files are
    /// not usable) and warns while the certificate in use is close to its
    /// expiry.
    pub fn reloading(
        &self,
        every: Duration,
    ) -> anyhow::Result<(Arc<Reloading<ServerConfigs>>, BoxFuture)> {
        let configs = self.load()?;
        announce(&self.cert, configs.validity);
        let configs = Reloading::new(configs);
        let this = self.clone();
        let reload = configs.watch("TLS certificate", self.files(), every, move || {
            let loaded = this.load()?;
            // Only a loaded certificate is taken: told here, once it is.
            announce(&this.cert, loaded.validity);
            Ok(loaded)
        });
        let remind = remind_of_expiry(configs.clone(), self.cert.clone());
        Ok((
            configs,
            Box::pin(async move {
                tokio::join!(reload, remind);
            }),
        ))
    }
}

/// Records the expiry of the certificate now in use, and warns when it is
/// close.
fn announce(file: &Path, validity: Validity) {
    static EXPIRY: std::sync::OnceLock<opentelemetry::metrics::Gauge<i64>> =
        std::sync::OnceLock::new();
    EXPIRY
        .get_or_init(|| {
            opentelemetry::global::meter("syncgov")
                .i64_gauge("syncgov.tls.certificate.expiry_seconds")
                .with_unit("s")
                .with_description(
                    "When the TLS certificate in use expires (the earliest notAfter of its chain), Unix time in seconds",
                )
                .build()
        })
        .record(validity.not_after, &[crate::service_label::service()]);
    warn_if_close(file, validity, unix_now());
}

/// Warns when the certificate expires within [`EXPIRY_WARNING`] of `now`.
fn warn_if_close(file: &Path, validity: Validity, now: i64) {
    let left = validity.not_after - now;
    if left <= EXPIRY_WARNING.as_secs() as i64 {
        tracing::warn!(
            file = %file.display(),
            expires_at = %rfc3339(validity.not_after),
            left = %ago(left.max(0)),
            "the TLS certificate expires soon: renew it"
        );
    }
}

/// Repeats the expiry warning every [`EXPIRY_REMINDER`] while the
/// certificate in use is close to it. Runs until dropped.
async fn remind_of_expiry(configs: Arc<Reloading<ServerConfigs>>, file: PathBuf) {
    loop {
        tokio::time::sleep(EXPIRY_REMINDER).await;
        warn_if_close(&file, configs.get().validity, unix_now());
    }
}

/// Seconds since the Unix epoch.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A Unix time as RFC 3339, for messages.
fn rfc3339(unix: i64) -> String {
    let time = u64::try_from(unix)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
    match time {
        Some(time) => humantime::format_rfc3339_seconds(time).to_string(),
        None => format!("{unix} (Unix time)"),
    }
}

/// A length of time in seconds, roughly, for messages: `3days 4h`.
fn ago(seconds: i64) -> String {
    let seconds = seconds.max(0) as u64;
    // Whole minutes past an hour, whole hours past a day: enough to act on.
    let rounded = if seconds >= 86_400 {
        seconds - seconds % 3600
    } else if seconds >= 3600 {
        seconds - seconds % 60
    } else {
        seconds
    };
    humantime::format_duration(Duration::from_secs(rounded)).to_string()
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
    config: Arc<Reloading<ServerConfigs>>,
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
            let acceptor = TlsAcceptor::from(config.get().grpc.clone());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate valid from `not_before` to `not_after`
    /// (Unix seconds).
    fn certificate(not_before: i64, not_after: i64) -> CertificateDer<'static> {
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_before = epoch + Duration::from_secs(not_before as u64);
        params.not_after = epoch + Duration::from_secs(not_after as u64);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn a_chain_is_valid_while_all_its_certificates_are() {
        let now = unix_now();
        let leaf = certificate(now - 100, now + 90 * 86_400);
        let intermediate = certificate(now - 50, now + 10 * 86_400);
        let validity = Validity::of_chain(&[leaf.clone(), intermediate]).unwrap();
        assert_eq!(
            validity,
            Validity {
                not_before: now - 50,
                not_after: now + 10 * 86_400
            }
        );
        assert!(validity.check(now).is_ok());
        assert_eq!(
            Validity::of_chain(&[leaf]).unwrap().not_after,
            now + 90 * 86_400
        );
    }

    #[test]
    fn an_expired_or_early_certificate_is_refused_saying_when() {
        // 2020-01-01 to 2020-12-31.
        let expired = Validity::of_chain(&[certificate(1_577_836_800, 1_609_372_800)]).unwrap();
        let e = expired.check(unix_now()).unwrap_err().to_string();
        assert!(
            e.starts_with("the certificate expired at 2020-12-31T00:00:00Z ("),
            "{e}"
        );
        let early = Validity {
            not_before: 2_000_000_000,
            not_after: 2_100_000_000,
        };
        let e = early.check(1_999_996_400).unwrap_err().to_string();
        assert!(
            e.contains("not valid before 2033-05-18T03:33:20Z (in 1h)"),
            "{e}"
        );
        assert!(early.check(2_000_000_000).is_ok(), "from its first second");
        assert!(early.check(2_100_000_000).is_ok(), "to its last");
        assert!(early.check(2_100_000_001).is_err());
    }

    #[test]
    fn something_else_than_x509_is_refused() {
        let e = Validity::of_chain(&[CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01])])
            .unwrap_err();
        assert!(e.to_string().contains("not X.509"), "{e}");
    }
}
